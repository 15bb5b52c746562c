/* The public server API: wires the connection server, IMAP sessions, the store,
   persistence, authentication workers and signals together. */
#include "imap/server.h"
#include "imap/cmd.h"
#include "imap/session.h"
#include "imap/usercount.h"
#include "auth/auth-worker.h"
#include "auth/penalty.h"
#include "core/common.h"
#include "core/error.h"
#include "core/log.h"
#include "core/pidfile.h"
#include "core/privdrop.h"
#include "net/tls.h"
#include "net/transport.h"
#include "persist/persist.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

UIMAP_EXPORT const char *uimap_version(void)
{
	return UIMAP_VERSION;
}

#define set_error error_set

UIMAP_EXPORT int uimap_server_new(const struct uimap_config *cfg, struct uimap_server **server_r,
				  const char **error_r)
{
	struct uimap_server *srv = aligned_alloc(16, (sizeof(*srv) + 15) & ~(size_t)15);
	if (srv == NULL)
		return set_error(error_r, "out of memory");
	memset(srv, 0, sizeof(*srv));
	srv->signal_fd = -1;
	srv->cfg = uimap_config_copy(cfg);
	if (srv->cfg->listen.n == 0 && srv->cfg->tls_listen.n == 0 &&
	    srv->cfg->proxy_listen.n == 0 && srv->cfg->tls_proxy_listen.n == 0)
		(void)uimap_config_set(srv->cfg, "listen", "127.0.0.1:1430", NULL);
	if (net_server_init(&srv->net, srv->cfg, &session_handler, srv, error_r) < 0) {
		uimap_server_free(&srv);
		return -1;
	}
	srv->net_ready = true;
	srv->net.metrics_render = imap_metrics_render;
	srv->net.metrics_render_ctx = srv;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	srv->metrics.started_unix_ms = (uint64_t)now.tv_sec * 1000u +
				       (uint64_t)now.tv_nsec / 1000000u;
	srv->commands = cmd_registry_new();
	/* the ID response's defaults; embedders change them with uimap_server_set_id() */
	(void)uimap_server_set_id(srv, "name", "uimap", NULL);
	(void)uimap_server_set_id(srv, "version", UIMAP_VERSION, NULL);
	srv->penalty = auth_penalty_new();
	srv->users = usercount_new();
	if (uimap_store_memory_new(NULL, &srv->store) < 0) {
		uimap_server_free(&srv);
		return set_error(error_r, "cannot create the mail store");
	}
	srv->store_owned = true;
	if (log_open(&srv->log, srv->cfg, error_r) < 0) {
		srv->log = (struct logger){ .fd = -1, .syslog_fd = -1 };
		uimap_server_free(&srv);
		return -1;
	}
	srv->log_ready = true;
	log_use(&srv->log);
	if (srv->cfg->data_dir != NULL) {
		struct persist_settings ps;
		const char *err;
		persist_settings_from_config(&ps, srv->cfg);
		if (persist_open(srv->store, &ps, &srv->persist, &err) < 0) {
			uimap_server_free(&srv);
			return set_error(error_r, "%s", err);
		}
		const struct persist_load_stats *st = persist_load_stats(srv->persist);
		log_info("loaded %llu user(s), %llu message(s) from %s (snapshot %.3f s, "
			 "journal %llu record(s) %.3f s)",
			 (unsigned long long)st->users, (unsigned long long)st->messages,
			 srv->cfg->data_dir, st->snapshot_seconds,
			 (unsigned long long)st->journal_records, st->journal_seconds);
		const char *report = persist_load_report(srv->persist);
		if (report != NULL && report[0] != '\0')
			log_warn("%s", report);
	}
	if (srv->cfg->passwd_file != NULL) {
		const char *err;
		void *ctx = uimap_auth_passwd_file_open(srv->cfg->passwd_file, &err);
		if (ctx == NULL) {
			uimap_server_free(&srv);
			return set_error(error_r, "%s", err);
		}
		srv->auth = &uimap_auth_passwd_file;
		srv->auth_ctx = ctx;
		srv->auth_owned = true;
	}
	if (srv->cfg->master_passwd_file != NULL) {
		const char *err;
		srv->master_ctx = uimap_auth_passwd_file_open(srv->cfg->master_passwd_file, &err);
		if (srv->master_ctx == NULL) {
			uimap_server_free(&srv);
			return set_error(error_r, "master users: %s", err);
		}
	}
	*server_r = srv;
	return 0;
}

UIMAP_EXPORT void uimap_server_set_auth(struct uimap_server *srv,
					const struct uimap_auth_backend *backend, void *ctx)
{
	if (srv->auth_owned)
		uimap_auth_passwd_file_close(srv->auth_ctx);
	srv->auth_owned = false;
	srv->auth = backend;
	srv->auth_ctx = ctx;
}

UIMAP_EXPORT int uimap_server_set_store(struct uimap_server *srv, struct uimap_store *store,
					const char **error_r)
{
	/* the journal follows the default store's change hook only */
	if (srv->persist != NULL)
		return set_error(error_r, "data_dir (%s) needs the default in-memory store; "
				 "an embedder's store keeps its own data", srv->cfg->data_dir);
	if (srv->store_owned)
		uimap_store_free(&srv->store);
	srv->store = store;
	srv->store_owned = false;
	return 0;
}

UIMAP_EXPORT struct uimap_store *uimap_server_store(struct uimap_server *srv)
{
	return srv->store;
}

UIMAP_EXPORT void uimap_server_set_log_callback(struct uimap_server *srv,
					       void (*fn)(void *ctx, enum uimap_log_level level,
							  const char *line),
					       void *ctx)
{
	srv->log.callback = fn;
	srv->log.callback_ctx = ctx;
	/* the embedder takes the lines instead of stderr (a log file or syslog stays) */
	if (!srv->log.fd_owned)
		srv->log.fd = fn != NULL || srv->cfg->syslog ? -1 : STDERR_FILENO;
}

UIMAP_EXPORT int uimap_server_add_command(struct uimap_server *srv,
					  const struct uimap_command *cmd)
{
	return cmd_registry_add(srv->commands, cmd);
}

UIMAP_EXPORT int uimap_server_bind(struct uimap_server *srv, const char **error_r)
{
	if (srv->net.bound)
		return 0;
	if ((srv->cfg->cert_file == NULL) != (srv->cfg->key_file == NULL))
		return set_error(error_r, "TLS needs both a certificate (--cert) and a key (--key)");
	if (srv->cfg->tls_listen.n > 0 && srv->cfg->cert_file == NULL)
		return set_error(error_r, "--tls-listen needs --cert and --key");
	if (srv->cfg->tls_proxy_listen.n > 0 && srv->cfg->cert_file == NULL)
		return set_error(error_r, "--tls-listen-proxy-protocol needs --cert and --key");
	if (srv->cfg->cert_file != NULL && srv->tls == NULL) {
		const char *err;
		srv->tls = tls_ctx_new(srv->cfg->cert_file, srv->cfg->key_file, &err);
		if (srv->tls == NULL)
			return set_error(error_r, "%s", err);
	}
	srv->net.tls = srv->tls;
	/* started by a systemd socket unit: its sockets replace listen/tls-listen */
	int adopted = systemd_adopt_listeners(&srv->net, error_r);
	if (adopted != 0)
		return adopted < 0 ? -1 : 0;
	return net_server_bind(&srv->net, error_r);
}

UIMAP_EXPORT int uimap_server_port(const struct uimap_server *srv, unsigned i)
{
	if (!srv->net.bound || i >= srv->net.n_listeners)
		return -1;
	return srv->net.listeners[i].port;
}

/* ---- completions of the modules above the connection layer ----------------- */

static void auth_result(void *cookie, int result, const char *error, void *arg)
{
	(void)arg;
	session_auth_done(cookie, result, error);
}

static void auth_ready(struct ring_handler *h, int res, unsigned flags)
{
	struct uimap_server *srv = container_of(h, struct uimap_server, auth_h);
	(void)flags;
	auth_worker_collect(srv->auth_worker, auth_result, srv);
	/* also while stopping: a closing session waits for its job's result */
	if (res != -ECANCELED)
		ring_read(&srv->net.ring, auth_worker_fd(srv->auth_worker), &srv->auth_val,
			  sizeof(srv->auth_val), &srv->auth_h);
}

/* SIGUSR2: the loop's longest turn, memory accounting of the store and the connections,
   to the log. */
static void log_store_stats(struct uimap_server *srv)
{
	struct uimap_store_stats st;
	log_info("stats: loop: %llu turn(s), the longest %llu us since the last statistics",
		 (unsigned long long)srv->net.stats.turn.count,
		 (unsigned long long)srv->net.stats.turn_max_us);
	srv->net.stats.turn_max_us = 0;
	if (srv->store->vt->stats == NULL || srv->store->vt->stats(srv->store, &st) < 0) {
		log_info("stats: the store reports none");
		return;
	}
	log_info("stats: %u connection(s); store: %llu user(s), %llu mailbox(es), %llu message(s) "
		 "(%llu tombstones), %llu view(s), %llu message bytes, %llu metadata bytes "
		 "(%llu per message)",
		 srv->net.n_conns, (unsigned long long)st.users, (unsigned long long)st.mailboxes,
		 (unsigned long long)st.messages, (unsigned long long)st.tombstones,
		 (unsigned long long)st.views, (unsigned long long)st.message_bytes,
		 (unsigned long long)st.metadata_bytes, (unsigned long long)st.metadata_per_message);
}

static void signal_received(struct ring_handler *h, int res, unsigned flags)
{
	struct uimap_server *srv = container_of(h, struct uimap_server, signal_h);
	(void)flags;
	if (res == (int)sizeof(srv->siginfo)) {
		unsigned sig = srv->siginfo.ssi_signo;
		log_info("signal %u received", sig);
		if (sig == SIGINT || sig == SIGTERM) {
			systemd_notify("STOPPING=1");
			net_server_stop(&srv->net);
		}
		if (sig == SIGHUP)
			systemd_notify("RELOADING=1");
		if (sig == SIGHUP)
			server_reload_config(srv);
		if (sig == SIGHUP) {
			const char *err;
			/* logrotate moved the file: write to a new one */
			if (log_reopen(&srv->log, &err) < 0)
				log_error("log file reopen failed: %s", err);
			else if (srv->log.fd_owned)
				log_info("log file reopened");
		}
		if (sig == SIGHUP && srv->master_ctx != NULL) {
			const char *err;
			if (uimap_auth_passwd_file_reload(srv->master_ctx, &err) < 0)
				log_error("master passwd file reload failed, keeping the old one: %s",
					  err);
		}
		if (sig == SIGHUP && srv->auth_owned) {
			const char *err;
			/* users added or removed, passwords and quota rules changed */
			if (uimap_auth_passwd_file_reload(srv->auth_ctx, &err) < 0)
				log_error("passwd file reload failed, keeping the old one: %s", err);
			else
				log_info("passwd file reloaded");
		}
		if (sig == SIGHUP && srv->tls != NULL) {
			const char *err;
			if (tls_ctx_reload(srv->tls, srv->cfg->cert_file, srv->cfg->key_file, &err) < 0)
				log_error("TLS reload failed, keeping the old certificate: %s", err);
			else
				log_info("TLS certificate reloaded");
		}
		if (sig == SIGHUP)
			systemd_notify("READY=1");
		if (sig == SIGUSR2)
			log_store_stats(srv);
		if (sig == SIGUSR1 && srv->persist != NULL)
			persist_request_snapshot(srv->persist);
	}
	if (!srv->net.stopping && res != -ECANCELED)
		ring_read(&srv->net.ring, srv->signal_fd, &srv->siginfo, sizeof(srv->siginfo),
			  &srv->signal_h);
}

/* Once per loop turn, before the wait: the store's spread-out work (freeing a big
   deleted mailbox), then the journal's write and group commit. */
static bool server_before_wait(void *ctx)
{
	struct uimap_server *srv = ctx;
	bool busy = srv->store->vt->background != NULL && srv->store->vt->background(srv->store);
	if (srv->persist != NULL && persist_turn(srv->persist))
		busy = true;
	return busy;
}

UIMAP_EXPORT void uimap_server_handle_signals(struct uimap_server *srv)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	srv->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	srv->handle_signals = srv->signal_fd >= 0;
}

static int server_run(struct uimap_server *srv, const struct pidfile *pf, const char **error_r);


UIMAP_EXPORT int uimap_server_run(struct uimap_server *srv, const char **error_r)
{
	log_use(&srv->log);
	struct pidfile pf = { -1, -1, NULL };
	/* a second instance is refused before it binds anything */
	if (srv->cfg->pid_file != NULL && pidfile_claim(srv->cfg->pid_file, &pf, error_r) < 0)
		return -1;
	int ret = server_run(srv, &pf, error_r);
	pidfile_release(&pf);
	return ret;
}

static int server_run(struct uimap_server *srv, const struct pidfile *pf, const char **error_r)
{
	if (uimap_server_bind(srv, error_r) < 0 || net_server_ring(&srv->net, error_r) < 0)
		return -1;
	/* written once the listeners are bound: whoever reads it can connect */
	if (pf->fd >= 0) {
		int r = pidfile_write(pf, getpid());
		if (r < 0)
			return set_error(error_r, "pid file %s: %s", srv->cfg->pid_file, strerror(-r));
	}
	/* bound, certificates and users read, data directory open: root is not needed
	   any more */
	const struct uimap_config *cfg = srv->cfg;
	if (cfg->user != NULL || cfg->group != NULL || cfg->chroot_dir != NULL) {
		if (privdrop(cfg->user, cfg->group, cfg->chroot_dir, error_r) < 0)
			return -1;
		log_info("running as uid %u gid %u%s%s", (unsigned)getuid(), (unsigned)getgid(),
			 cfg->chroot_dir ? " in " : "", cfg->chroot_dir ? cfg->chroot_dir : "");
	}
	if (geteuid() == 0)
		log_warn("serving as root: every client bug would run with root's powers "
			 "(use --user)");
	/* systemd (Type=notify): serving from here on; nothing without NOTIFY_SOCKET */
	systemd_notify("READY=1\nSTATUS=serving");
	if (srv->auth != NULL && srv->auth->init != NULL) {
		const char *err;
		if (srv->auth->init(srv->auth_ctx, &err) < 0)
			return set_error(error_r, "auth backend %s: %s", srv->auth->name, err);
	}
	struct ring *ring = &srv->net.ring;
	/* auth-workers 0: hashes are checked on the loop (profiling under valgrind) */
	if (srv->auth != NULL && srv->auth->blocking && srv->auth_worker == NULL &&
	    srv->cfg->auth_workers > 0) {
		const char *err;
		srv->auth_worker = auth_worker_create(srv->cfg->auth_workers, &err);
		if (srv->auth_worker == NULL)
			return set_error(error_r, "auth workers: %s", err);
		srv->auth_h.fn = auth_ready;
		ring_read(ring, auth_worker_fd(srv->auth_worker), &srv->auth_val,
			  sizeof(srv->auth_val), &srv->auth_h);
	}
	if (srv->signal_fd >= 0) {
		srv->signal_h.fn = signal_received;
		ring_read(ring, srv->signal_fd, &srv->siginfo, sizeof(srv->siginfo), &srv->signal_h);
	}
	if (srv->persist != NULL)
		persist_attach(srv->persist, ring, &srv->net.timers);
	srv->net.before_wait = server_before_wait;
	srv->net.before_wait_ctx = srv;
	systemd_watchdog_start(&srv->watchdog, &srv->net.timers);
	int ret = net_server_run(&srv->net, error_r);
	systemd_watchdog_stop(&srv->watchdog);
	srv->net.before_wait = NULL;
	if (srv->persist != NULL)
		persist_detach(srv->persist);
	if (ret == 0)
		log_info("stopped");
	return ret;
}

UIMAP_EXPORT void uimap_server_stop(struct uimap_server *srv)
{
	net_server_stop(&srv->net);
}

UIMAP_EXPORT void uimap_server_free(struct uimap_server **srvp)
{
	struct uimap_server *srv = *srvp;
	if (srv == NULL)
		return;
	*srvp = NULL;
	if (srv->net_ready)
		net_server_deinit(&srv->net);
	if (srv->auth_worker != NULL)
		auth_worker_destroy(&srv->auth_worker);
	if (srv->auth != NULL && srv->auth->deinit != NULL && !srv->auth_owned)
		srv->auth->deinit(srv->auth_ctx);
	if (srv->auth_owned)
		uimap_auth_passwd_file_close(srv->auth_ctx);
	uimap_auth_passwd_file_close(srv->master_ctx);
	if (srv->signal_fd >= 0)
		close(srv->signal_fd);
	cmd_registry_free(&srv->commands);
	server_id_free(srv);
	auth_penalty_free(&srv->penalty);
	usercount_free(&srv->users);
	persist_close(&srv->persist);
	tls_ctx_free(&srv->tls);
	if (srv->store_owned)
		uimap_store_free(&srv->store);
	uimap_config_free(&srv->cfg);
	if (log_current() == &srv->log)
		log_use(NULL);
	if (srv->log_ready)
		log_close(&srv->log);
	free(srv);
}

UIMAP_EXPORT int uimap_server_foreach_connection(struct uimap_server *srv,
						 int (*fn)(void *ctx,
							   const struct uimap_connection_info *info),
						 void *ctx)
{
	for (struct conn *c = srv->net.conns; c != NULL; c = c->next) {
		const struct session *s = c->proto;
		if (s == NULL)
			continue;   /* refused at accept, closing */
		struct uimap_connection_info info = {
			.id = c->id, .addr = c->addr,
			.user = s->state != SESSION_NOT_AUTH ? s->user : NULL,
			.mailbox = s->selected, .tls = c->tv != &transport_plain,
			.idling = s->idling, .host = c->host,
		};
		int r = fn(ctx, &info);
		if (r != 0)
			return r;
	}
	return 0;
}

UIMAP_EXPORT unsigned uimap_server_user_connections(const struct uimap_server *srv,
						    const char *user)
{
	return usercount_get(srv->users, user);
}

struct mailbox_count {
	const char *user, *mailbox;
	unsigned n;
};

static int count_mailbox(void *ctx, const struct uimap_connection_info *info)
{
	struct mailbox_count *mc = ctx;
	if (info->user != NULL && info->mailbox != NULL && strcmp(info->user, mc->user) == 0 &&
	    (strcmp(info->mailbox, mc->mailbox) == 0 ||
	     (strcasecmp(info->mailbox, "INBOX") == 0 && strcasecmp(mc->mailbox, "INBOX") == 0)))
		mc->n++;
	return 0;
}

UIMAP_EXPORT unsigned uimap_server_mailbox_connections(struct uimap_server *srv,
						       const char *user, const char *mailbox)
{
	struct mailbox_count mc = { user, mailbox, 0 };
	uimap_server_foreach_connection(srv, count_mailbox, &mc);
	return mc.n;
}
