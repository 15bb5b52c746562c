/* The server object: configuration, ring, listeners, connections, auth. Internal. */
#ifndef NET_SERVER_H
#define NET_SERVER_H

#include "uimap/uimap.h"
#include "loop/ring.h"
#include "loop/timer.h"
#include "net/iptable.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

struct conn;
struct auth_worker;
struct cmd_registry;

struct listener {
	struct uimap_server *srv;
	int fd;
	bool tls;
	bool armed;
	int port;
	char name[80];
	struct timer retry_timer;
} __attribute__((aligned(16)));

struct uimap_server {
	struct uimap_config cfg;      /* strings owned by the server */
	struct ring ring;
	bool ring_ready;
	struct timer_heap timers;

	struct listener *listeners;
	unsigned n_listeners;
	bool bound;

	struct conn *conns;           /* every open connection */
	unsigned n_conns;
	unsigned long next_conn_id;
	struct conn *dirty;           /* connections with output to flush this turn */
	struct conn *reap;            /* closed connections to free at the end of the turn */
	struct iptable ips;

	const struct uimap_auth_backend *auth;
	void *auth_ctx;
	bool auth_owned;              /* auth_ctx is our passwd-file context */
	struct auth_worker *auth_worker;
	uint64_t auth_val;            /* eventfd read buffer */
	bool auth_armed;

	struct cmd_registry *commands; /* extra commands from the embedder */

	struct uimap_store *store;
	bool store_owned;             /* the default in-memory store */
	struct session *wake_list;    /* sessions whose mailbox changed (IDLE push) */

	struct persist *persist;      /* snapshot + journal, NULL without data_dir */
	bool fsync_inflight;
	uint64_t fsync_seq;
	bool snapshot_polling;
	struct conn *held;            /* connections whose output waits for the journal */
	struct timer persist_timer;   /* 1 s: periodic fsync, snapshot triggers */
	bool snapshot_requested;      /* SIGUSR1 */

	struct tls_ctx *tls;          /* NULL without cert/key */

	bool handle_signals;
	int signal_fd;
	struct signalfd_siginfo siginfo;
	int wake_fd;
	uint64_t wake_val;
	volatile sig_atomic_t stop_requested;
	bool stopping;
	struct timer shutdown_timer;
};

/* Begin the clean shutdown: stop accepting, BYE to every client. */
void server_begin_shutdown(struct uimap_server *srv);

/* Connection bookkeeping used by conn.c. */
void server_conn_added(struct uimap_server *srv, struct conn *c);
void server_conn_removed(struct uimap_server *srv, struct conn *c);

#endif
