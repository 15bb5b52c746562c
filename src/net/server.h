/* The connection server: the ring and its one switch, listeners, connections, timers,
   the loop. It knows nothing of IMAP: connections run the handler it was given. */
#ifndef NET_SERVER_H
#define NET_SERVER_H

#include "core/config.h"
#include "core/metrics.h"
#include "loop/ring.h"
#include "loop/timer.h"
#include "net/conn.h"
#include "net/access.h"
#include "net/iptable.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>

struct tls_ctx;
struct metrics_http;
struct buf;

struct listener {
	struct net_server *srv;
	int fd;
	bool tls;
	bool proxy;                  /* a PROXY protocol header comes first (net/proxyproto.h) */
	bool armed;
	int port;
	char name[80];
	struct timer retry_timer;
} __attribute__((aligned(16)));

/* The connection layer's counters: plain integers, loop thread only, read at a
   scrape. Index [0]: plain listeners, [1]: implicit-TLS listeners. */
struct net_stats {
	uint64_t accepted[2];         /* connections accepted (refused ones included) */
	uint64_t refused[2];          /* closed at once: access rules, limits, shutdown */
	uint64_t open[2];             /* admitted and not freed yet */
	uint64_t bytes_in, bytes_out; /* on the wire (TLS records included) */
	/* the loop's work between two waits (completions, timers, the work before the
	   wait), wall time: what every client waits behind; turn_max_us is the longest
	   since whoever reads it reset it (the SIGUSR2 statistics) */
	struct metrics_hist turn;
	uint64_t turn_max_us;
};

struct net_server {
	/* permanent */
	const struct uimap_config *cfg;   /* limits; owned by the caller */
	struct ring ring;
	bool ring_ready;
	struct timer_heap timers;
	struct tls_ctx *tls;              /* NULL without cert/key; owned by the caller */

	struct listener *listeners;
	unsigned n_listeners;
	bool bound;

	/* the protocol connections run, and its server-wide context */
	const struct conn_handler *handler;
	void *handler_ctx;
	/* called once per loop turn before the wait (the journal's group commit, the
	   store's work spread over turns); true: more work is left, poll, do not sleep */
	bool (*before_wait)(void *ctx);
	void *before_wait_ctx;

	struct conn *conns;               /* every open connection */
	unsigned n_conns;
	unsigned long next_conn_id;
	struct conn *dirty;               /* connections with output to flush this turn */
	struct conn *reap;                /* closed connections to free at the end of the turn */
	struct conn *wakes;               /* conn_wake_soon() for the next turn */
	struct iptable ips;
	struct access_rules access;       /* allow/deny rules on client addresses */
	struct access_rules trusted;      /* trusted proxies (only CIDR allow rules) */
	struct rdns *rdns;                /* reverse lookups; NULL when off */
	/* TLS handshake workers (net/tls-handshake.h); NULL: handshakes on the loop */
	struct tls_hs_pool *tls_hs;

	struct net_stats stats;
	/* the HTTP metrics endpoint (metrics-listen; NULL without) and what renders
	   its exposition: the protocol above appends the text to out */
	struct metrics_http *metrics;
	void (*metrics_render)(void *ctx, struct buf *out);
	void *metrics_render_ctx;

	int wake_fd;                      /* uimap_server_stop() from any thread */
	uint64_t wake_val;
	volatile sig_atomic_t stop_requested;
	bool stopping;
	struct timer shutdown_timer;
};

/* Initialise srv with cfg (borrowed for srv's lifetime) and the connection handler.
   Returns 0, or -1 with *error_r. */
int net_server_init(struct net_server *srv, const struct uimap_config *cfg,
		    const struct conn_handler *handler, void *handler_ctx,
		    const char **error_r);

/* Open a listening TCP socket on spec ("HOST:PORT", "[V6]:PORT", "*:PORT"; port 0
   picks a free one): *fd_r and the bound *port_r. Returns 0, or -1 with *error_r. */
int net_listen(const char *spec, int *fd_r, int *port_r, const char **error_r);

/* Bind every listener of cfg (TLS listeners need srv->tls), and the metrics
   endpoint when cfg has metrics-listen. Returns 0 (also when already bound), or -1
   with *error_r. */
int net_server_bind(struct net_server *srv, const char **error_r);

/* Serve on n sockets that already listen (systemd socket activation) instead of
   cfg's listeners: fds[i] serves implicit TLS when tls[i] (srv->tls must be set
   then). The server owns the descriptors from then on. Call instead of
   net_server_bind(). Returns 0, or -1 with *error_r. */
int net_server_adopt(struct net_server *srv, const int *fds, const bool *tls, unsigned n,
		     const char **error_r);

/* Create the ring on the calling thread, which must be the one that runs the loop
   (IORING_SETUP_SINGLE_ISSUER). Returns 0 (also when done already), or -1 with
   *error_r. net_server_run() does it; call it earlier to arm operations first. */
int net_server_ring(struct net_server *srv, const char **error_r);

/* Serve until a stop was requested and every connection is gone. Returns 0, or -1
   with *error_r when the ring fails. */
int net_server_run(struct net_server *srv, const char **error_r);

/* Ask the loop to stop (any thread, signal handlers included). */
void net_server_stop(struct net_server *srv);

/* Begin the clean shutdown: stop accepting, tell every connection's protocol, close
   them after their goodbyes (bounded in time). */
void net_server_begin_shutdown(struct net_server *srv);

/* Free everything srv holds (connections included); srv itself is the caller's. */
void net_server_deinit(struct net_server *srv);

/* Connection bookkeeping used by conn.c. */
void server_conn_added(struct net_server *srv, struct conn *c);
void server_conn_removed(struct net_server *srv, struct conn *c);

#endif
