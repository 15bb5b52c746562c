/* The IMAP server: the connection server running IMAP sessions, with the store,
   persistence, authentication and the command registry (the public uimap_server). */
#ifndef IMAP_SERVER_H
#define IMAP_SERVER_H

#include "uimap/uimap.h"
#include "net/server.h"
#include "imap/systemd.h"
#include "core/log.h"
#include "imap/metrics.h"

#include <stdbool.h>
#include <sys/signalfd.h>

struct auth_penalty;
struct usercount;
struct auth_worker;
struct cmd_registry;
struct persist;
struct tls_ctx;
struct session;

struct uimap_server {
	struct uimap_config *cfg;     /* the server's own copy */
	struct logger log;            /* the thread's logger while the server is in use */
	bool log_ready;
	struct net_server net;
	bool net_ready;

	const struct uimap_auth_backend *auth;
	void *auth_ctx;
	bool auth_owned;              /* auth_ctx is our passwd-file context */
	void *master_ctx;             /* master users' passwd-file (master-passwd), or NULL */
	struct auth_worker *auth_worker;
	struct ring_handler auth_h;   /* the workers' eventfd read */
	uint64_t auth_val;

	struct cmd_registry *commands; /* extra commands from the embedder */
	struct auth_penalty *penalty;  /* failed-login delays per (address, user) */
	struct usercount *users;       /* logged-in sessions per user */

	struct session *acting;       /* the session whose command runs now (its own
					 changes are not NOTIFY events to it) */
	struct uimap_store *store;
	bool store_owned;             /* the default in-memory store */
	struct persist *persist;      /* snapshot + journal, NULL without data_dir */

	struct tls_ctx *tls;          /* NULL without cert/key */

	struct {                      /* the ID response (uimap_server_set_id) */
		char *field, *value;
	} id[30];
	unsigned n_id;

	/* SIGHUP: a fresh configuration (uimap_server_set_config_loader) */
	struct uimap_config *(*config_loader)(void *ctx, const char **error_r);
	void *config_loader_ctx;

	struct systemd_watchdog watchdog; /* WATCHDOG=1 pings from the loop */

	bool handle_signals;
	int signal_fd;
	struct signalfd_siginfo siginfo;
	struct ring_handler signal_h;

	struct imap_metrics metrics;  /* commands and logins (imap/metrics.h) */
};

/* Reload the configuration through the embedder's loader, if any: apply what can
   change while serving, log what needs a restart (SIGHUP). */
void server_reload_config(struct uimap_server *srv);

/* Free the ID fields (uimap_server_free). */
void server_id_free(struct uimap_server *srv);

#endif
