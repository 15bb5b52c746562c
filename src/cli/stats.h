/* uimapctl stats: a running uimapd's metrics (--metrics-listen), fetched over HTTP. */
#ifndef CLI_STATS_H
#define CLI_STATS_H

/* Default port of the metrics endpoint uimapctl asks when none is given. */
#define STATS_DEFAULT_PORT "9143"

/* Run "uimapctl stats ARGS": [--host H] [--port P] | [--metrics HOST:PORT], [--raw].
   Fetches GET /metrics and prints a short summary (connections, logins, commands
   with the busiest ones, bytes, store, journal and snapshots), or with --raw the
   exposition text as received. Returns the exit status (0; 1 when the server
   cannot be reached or answers badly, with a message on stderr; 2 for bad
   arguments). */
int stats_run(int argc, char **argv);

#endif
