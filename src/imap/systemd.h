/* What systemd gives a service and expects from it: readiness notifications
   (Type=notify), the watchdog, and listening sockets passed by socket activation.
   Every function is a no-op when uimap is built without libsystemd or when the
   process was not started by systemd. */
#ifndef IMAP_SYSTEMD_H
#define IMAP_SYSTEMD_H

#include "net/server.h"   /* struct timer, the loop's heap */

#include <stdint.h>

struct net_server;

/* Send a state ("READY=1", "STOPPING=1", ...) to $NOTIFY_SOCKET; ignored without. */
void systemd_notify(const char *state);

/* Adopt the sockets systemd passed ($LISTEN_FDS for this pid) as the server's
   listeners instead of the configured ones: a socket named "imaps" or "tls"
   (FileDescriptorName=) serves implicit TLS, any other plain IMAP. Call before
   net_server_bind(); net->tls must be set when a TLS socket is passed. Returns the
   number adopted (0: none were passed), or -1 with *error_r (not a listening
   stream socket, TLS socket without a certificate). The variables are removed from
   the environment. */
int systemd_adopt_listeners(struct net_server *net, const char **error_r);

struct systemd_watchdog {
	struct timer timer;
	struct timer_heap *timers;
	uint64_t interval_ms;          /* 0: the watchdog is off */
};

/* When systemd runs a watchdog for this process ($WATCHDOG_USEC), send
   "WATCHDOG=1" from the loop at half its period, so a stuck loop gets the service
   restarted. timers is the loop's heap and must outlive w. */
void systemd_watchdog_start(struct systemd_watchdog *w, struct timer_heap *timers);

/* Stop the pings (at shutdown). Harmless when never started. */
void systemd_watchdog_stop(struct systemd_watchdog *w);

#endif
