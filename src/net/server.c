/* The server: listeners, the io_uring loop with its one switch, shutdown, public API. */
#include "net/server.h"
#include "net/conn.h"
#include "loop/udata.h"
#include "auth/auth-worker.h"
#include "imap/cmd.h"
#include "imap/session.h"
#include "core/common.h"
#include "core/log.h"
#include "core/probes.h"
#include "persist/persist.h"
#include "net/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <poll.h>
#include <unistd.h>

#define SQ_ENTRIES 1024
#define CQ_ENTRIES 16384
#define RECV_BUFS 256
#define RECV_BUF_SIZE 16384
#define SHUTDOWN_MS 5000

UIMAP_EXPORT const char *uimap_version(void)
{
	return UIMAP_VERSION;
}

static __thread char errbuf[512];

static int set_error(const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int set_error(const char **error_r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	if (error_r != NULL)
		*error_r = errbuf;
	return -1;
}

static const char *dup_owned(struct uimap_config *cfg, const char *s)
{
	if (s == NULL)
		return NULL;
	char *copy = strdup(s);
	if (copy == NULL || cfg->n_owned_ >= N_ELEMENTS(cfg->owned_)) {
		fprintf(stderr, "uimap: out of memory\n");
		abort();
	}
	cfg->owned_[cfg->n_owned_++] = copy;
	return copy;
}

UIMAP_EXPORT int uimap_server_new(const struct uimap_config *cfg, struct uimap_server **server_r,
				  const char **error_r)
{
	struct uimap_server *srv = aligned_alloc(16, (sizeof(*srv) + 15) & ~(size_t)15);
	if (srv == NULL)
		return set_error(error_r, "out of memory");
	memset(srv, 0, sizeof(*srv));
	srv->cfg = *cfg;
	srv->cfg.n_owned_ = 0;
	for (unsigned i = 0; i < cfg->n_listen; i++)
		srv->cfg.listen[i] = dup_owned(&srv->cfg, cfg->listen[i]);
	for (unsigned i = 0; i < cfg->n_tls_listen; i++)
		srv->cfg.tls_listen[i] = dup_owned(&srv->cfg, cfg->tls_listen[i]);
	srv->cfg.cert_file = dup_owned(&srv->cfg, cfg->cert_file);
	srv->cfg.key_file = dup_owned(&srv->cfg, cfg->key_file);
	srv->cfg.passwd_file = dup_owned(&srv->cfg, cfg->passwd_file);
	srv->cfg.data_dir = dup_owned(&srv->cfg, cfg->data_dir);
	if (srv->cfg.n_listen == 0 && srv->cfg.n_tls_listen == 0) {
		srv->cfg.listen[0] = dup_owned(&srv->cfg, "127.0.0.1:1430");
		srv->cfg.n_listen = 1;
	}
	srv->signal_fd = -1;
	srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->wake_fd < 0) {
		int e = errno;
		uimap_server_free(&srv);
		return set_error(error_r, "eventfd: %s", strerror(e));
	}
	srv->commands = cmd_registry_new();
	if (uimap_store_memory_new(NULL, &srv->store) < 0) {
		uimap_server_free(&srv);
		return set_error(error_r, "cannot create the mail store");
	}
	srv->store_owned = true;
	if (srv->cfg.data_dir != NULL) {
		struct persist_settings ps;
		const char *err;
		persist_settings_from_config(&ps, &srv->cfg);
		if (persist_open(srv->store, &ps, &srv->persist, &err) < 0) {
			uimap_server_free(&srv);
			return set_error(error_r, "%s", err);
		}
		const struct persist_load_stats *st = persist_load_stats(srv->persist);
		log_info("loaded %llu user(s), %llu message(s) from %s (snapshot %.3f s, "
			 "journal %llu record(s) %.3f s)",
			 (unsigned long long)st->users, (unsigned long long)st->messages,
			 srv->cfg.data_dir, st->snapshot_seconds,
			 (unsigned long long)st->journal_records, st->journal_seconds);
		const char *report = persist_load_report(srv->persist);
		if (report != NULL && report[0] != '\0')
			log_warn("%s", report);
	}
	log_level = srv->cfg.log_level;
	if (srv->cfg.passwd_file != NULL) {
		const char *err;
		void *ctx = uimap_auth_passwd_file_open(srv->cfg.passwd_file, &err);
		if (ctx == NULL) {
			uimap_server_free(&srv);
			return set_error(error_r, "%s", err);
		}
		srv->auth = &uimap_auth_passwd_file;
		srv->auth_ctx = ctx;
		srv->auth_owned = true;
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

UIMAP_EXPORT void uimap_server_set_store(struct uimap_server *srv, struct uimap_store *store)
{
	/* the journal follows the default store only */
	persist_close(&srv->persist);
	if (srv->store_owned)
		uimap_store_free(&srv->store);
	srv->store = store;
	srv->store_owned = false;
}

UIMAP_EXPORT struct uimap_store *uimap_server_store(struct uimap_server *srv)
{
	return srv->store;
}

UIMAP_EXPORT int uimap_server_add_command(struct uimap_server *srv,
					  const struct uimap_command *cmd)
{
	return cmd_registry_add(srv->commands, cmd);
}

/* Split "HOST:PORT" / "[V6]:PORT" into host and port strings. */
static int split_hostport(const char *spec, char *host, size_t hsize, char *port, size_t psize)
{
	const char *colon;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');
		if (end == NULL || end[1] != ':')
			return -1;
		if ((size_t)(end - spec - 1) >= hsize)
			return -1;
		memcpy(host, spec + 1, (size_t)(end - spec - 1));
		host[end - spec - 1] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL || (size_t)(colon - spec) >= hsize)
			return -1;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
	}
	if (strlen(colon + 1) == 0 || strlen(colon + 1) >= psize)
		return -1;
	for (const char *p = colon + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	strcpy(port, colon + 1);
	return 0;
}

static int listener_open(struct listener *l, const char *spec, bool tls, const char **error_r)
{
	char host[256], port[16];
	if (split_hostport(spec, host, sizeof(host), port, sizeof(port)) < 0)
		return set_error(error_r, "listen address '%s' is not HOST:PORT", spec);
	struct addrinfo hints, *res;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	const char *h = host;
	if (strcmp(host, "*") == 0 || host[0] == '\0') {
		h = NULL;
		hints.ai_family = AF_INET6;
	}
	int gai = getaddrinfo(h, port, &hints, &res);
	if (gai != 0)
		return set_error(error_r, "listen address '%s': %s", spec, gai_strerror(gai));
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		return set_error(error_r, "socket: %s", strerror(errno));
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, h == NULL ? &zero : &one, sizeof(int));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
		int e = errno;
		close(fd);
		freeaddrinfo(res);
		return set_error(error_r, "cannot listen on %s: %s", spec, strerror(e));
	}
	freeaddrinfo(res);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	l->port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
					  : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	l->fd = fd;
	l->tls = tls;
	snprintf(l->name, sizeof(l->name), "%s%s", spec, tls ? " (tls)" : "");
	return 0;
}

UIMAP_EXPORT int uimap_server_bind(struct uimap_server *srv, const char **error_r)
{
	if (srv->bound)
		return 0;
	if ((srv->cfg.cert_file == NULL) != (srv->cfg.key_file == NULL))
		return set_error(error_r, "TLS needs both a certificate (--cert) and a key (--key)");
	if (srv->cfg.n_tls_listen > 0 && srv->cfg.cert_file == NULL)
		return set_error(error_r, "--tls-listen needs --cert and --key");
	if (srv->cfg.cert_file != NULL && srv->tls == NULL) {
		const char *err;
		srv->tls = tls_ctx_new(srv->cfg.cert_file, srv->cfg.key_file, &err);
		if (srv->tls == NULL)
			return set_error(error_r, "%s", err);
	}
	int ret = ring_init(&srv->ring, SQ_ENTRIES, CQ_ENTRIES, RECV_BUFS, RECV_BUF_SIZE);
	if (ret < 0)
		return set_error(error_r, "io_uring set-up failed: %s", strerror(-ret));
	srv->ring_ready = true;
	unsigned n = srv->cfg.n_listen + srv->cfg.n_tls_listen;
	srv->listeners = aligned_alloc(16, n * sizeof(struct listener));
	if (srv->listeners == NULL)
		return set_error(error_r, "out of memory");
	memset(srv->listeners, 0, n * sizeof(struct listener));
	for (unsigned i = 0; i < n; i++) {
		struct listener *l = &srv->listeners[i];
		l->srv = srv;
		l->fd = -1;
		bool tls = i >= srv->cfg.n_listen;
		const char *spec = tls ? srv->cfg.tls_listen[i - srv->cfg.n_listen]
				       : srv->cfg.listen[i];
		if (listener_open(l, spec, tls, error_r) < 0)
			return -1;
		srv->n_listeners = i + 1;
	}
	srv->bound = true;
	return 0;
}

UIMAP_EXPORT int uimap_server_port(const struct uimap_server *srv, unsigned i)
{
	if (!srv->bound || i >= srv->n_listeners)
		return -1;
	return srv->listeners[i].port;
}

static void arm_accept(struct listener *l)
{
	struct io_uring_sqe *sqe = ring_sqe(&l->srv->ring);
	io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, udata_make(l, OP_ACCEPT));
	l->armed = true;
}

static void arm_read(struct uimap_server *srv, int fd, void *buf, unsigned len, enum op_kind op)
{
	struct io_uring_sqe *sqe = ring_sqe(&srv->ring);
	io_uring_prep_read(sqe, fd, buf, len, 0);
	io_uring_sqe_set_data64(sqe, udata_make(srv, op));
}

static void accept_retry(struct timer *t)
{
	struct listener *l = container_of(t, struct listener, retry_timer);
	if (!l->srv->stopping && !l->armed)
		arm_accept(l);
}

static void handle_accept(struct listener *l, int res, unsigned flags)
{
	struct uimap_server *srv = l->srv;
	if (!(flags & IORING_CQE_F_MORE))
		l->armed = false;
	if (res >= 0) {
		struct sockaddr_storage peer;
		socklen_t len = sizeof(peer);
		memset(&peer, 0, sizeof(peer));
		if (getpeername(res, (struct sockaddr *)&peer, &len) < 0) {
			close(res);
		} else if (srv->stopping) {
			close(res);
		} else {
			conn_accept(srv, res, &peer, l->tls ? srv->tls : NULL);
		}
	} else if (res != -ECANCELED) {
		log_warn("accept on %s: %s", l->name, strerror(-res));
		if (res == -EMFILE || res == -ENFILE || res == -ENOMEM) {
			/* out of descriptors: back off instead of spinning */
			if (!l->armed)
				timer_set(&srv->timers, &l->retry_timer, clock_ms() + 100,
					  accept_retry);
			return;
		}
	}
	if (!l->armed && !srv->stopping && l->fd >= 0)
		arm_accept(l);
}

static void shutdown_fired(struct timer *t)
{
	struct uimap_server *srv = container_of(t, struct uimap_server, shutdown_timer);
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		conn_close(c, false);
}

void server_begin_shutdown(struct uimap_server *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("shutting down: %u connection(s)", srv->n_conns);
	for (unsigned i = 0; i < srv->n_listeners; i++) {
		struct listener *l = &srv->listeners[i];
		timer_cancel(&srv->timers, &l->retry_timer);
		if (l->fd < 0)
			continue;
		if (l->armed) {
			struct io_uring_sqe *sqe = ring_sqe(&srv->ring);
			io_uring_prep_cancel64(sqe, udata_make(l, OP_ACCEPT), 0);
			io_uring_sqe_set_data64(sqe, udata_make(NULL, OP_NONE));
		}
		/* shutdown() makes the pending accept finish and frees the port now */
		shutdown(l->fd, SHUT_RDWR);
		close(l->fd);
		l->fd = -1;
	}
	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		if (c->session != NULL && !c->closing)
			session_server_shutdown(c->session);
		conn_mark_dirty(c);
		conn_close(c, true);
	}
	timer_set(&srv->timers, &srv->shutdown_timer, clock_ms() + SHUTDOWN_MS, shutdown_fired);
}

void server_conn_added(struct uimap_server *srv, struct conn *c)
{
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
}

void server_conn_removed(struct uimap_server *srv, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->n_conns--;
}

static void auth_result(void *cookie, int result, const char *error, void *arg)
{
	(void)arg;
	session_auth_done(cookie, result, error);
}

/* Write this turn's journal records; start the group-commit fdatasync if due. */
static void persist_flush(struct uimap_server *srv)
{
	if (srv->persist == NULL || srv->fsync_inflight)
		return;
	struct persist_flush fl;
	if (persist_journal_flush_begin(srv->persist, &fl) < 0)
		log_error("journal write failed");
	if (!fl.need_fsync)
		return;
	struct io_uring_sqe *sqe = ring_sqe(&srv->ring);
	io_uring_prep_fsync(sqe, fl.fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, udata_make(srv, OP_FSYNC));
	srv->fsync_inflight = true;
	srv->fsync_seq = fl.seq;
}

static void release_held(struct uimap_server *srv)
{
	struct conn *c = srv->held;
	srv->held = NULL;
	while (c != NULL) {
		struct conn *next = c->next_held;
		c->held = false;
		conn_mark_dirty(c);
		c = next;
	}
}

static void snapshot_begin(struct uimap_server *srv, const char *why)
{
	uint64_t fork_us = 0;
	int r = persist_snapshot_start(srv->persist, &fork_us);
	if (r == -EBUSY)
		return;
	if (r < 0) {
		log_error("snapshot (%s) failed to start: %s", why, strerror(-r));
		return;
	}
	PROBE0(snapshot__start);
	log_info("snapshot (%s) started; fork paused the loop %llu us", why,
		 (unsigned long long)fork_us);
	int fd = persist_snapshot_fd(srv->persist);
	if (fd >= 0 && !srv->snapshot_polling) {
		struct io_uring_sqe *sqe = ring_sqe(&srv->ring);
		io_uring_prep_poll_add(sqe, fd, POLLIN);
		io_uring_sqe_set_data64(sqe, udata_make(srv, OP_SNAPSHOT));
		srv->snapshot_polling = true;
	}
}

static void persist_tick(struct timer *t)
{
	struct uimap_server *srv = container_of(t, struct uimap_server, persist_timer);
	if (srv->persist == NULL)
		return;
	/* periodic mode fsyncs here; a due snapshot starts */
	persist_flush(srv);
	if (srv->snapshot_requested || persist_snapshot_due(srv->persist)) {
		snapshot_begin(srv, srv->snapshot_requested ? "requested" : "due");
		srv->snapshot_requested = false;
	}
	timer_set(&srv->timers, t, clock_ms() + 1000, persist_tick);
}

/* SIGUSR2: memory accounting of the store and the connections, to the log. */
static void log_store_stats(struct uimap_server *srv)
{
	struct uimap_store_stats st;
	if (srv->store->vt->stats == NULL || srv->store->vt->stats(srv->store, &st) < 0) {
		log_info("stats: the store reports none");
		return;
	}
	log_info("stats: %u connection(s); store: %llu user(s), %llu mailbox(es), %llu message(s) "
		 "(%llu tombstones), %llu view(s), %llu message bytes, %llu metadata bytes "
		 "(%llu per message)",
		 srv->n_conns, (unsigned long long)st.users, (unsigned long long)st.mailboxes,
		 (unsigned long long)st.messages, (unsigned long long)st.tombstones,
		 (unsigned long long)st.views, (unsigned long long)st.message_bytes,
		 (unsigned long long)st.metadata_bytes, (unsigned long long)st.metadata_per_message);
}

static void handle_cqe(struct uimap_server *srv, const struct io_uring_cqe *cqe)
{
	void *ptr = udata_ptr(cqe->user_data);
	switch (udata_op(cqe->user_data)) {
	case OP_ACCEPT:
		handle_accept(ptr, cqe->res, cqe->flags);
		break;
	case OP_RECV:
		conn_handle_recv(ptr, cqe->res, cqe->flags);
		break;
	case OP_SEND:
		conn_handle_send(ptr, cqe->res);
		break;
	case OP_SIGNAL:
		if (cqe->res == (int)sizeof(srv->siginfo)) {
			log_info("signal %u received", srv->siginfo.ssi_signo);
			if (srv->siginfo.ssi_signo == SIGINT || srv->siginfo.ssi_signo == SIGTERM)
				srv->stop_requested = 1;
			if (srv->siginfo.ssi_signo == SIGHUP && srv->tls != NULL) {
				const char *err;
				if (tls_ctx_reload(srv->tls, srv->cfg.cert_file, srv->cfg.key_file,
						   &err) < 0)
					log_error("TLS reload failed, keeping the old certificate: %s",
						  err);
				else
					log_info("TLS certificate reloaded");
			}
			if (srv->siginfo.ssi_signo == SIGUSR2)
				log_store_stats(srv);
			if (srv->siginfo.ssi_signo == SIGUSR1 && srv->persist != NULL) {
				srv->snapshot_requested = true;
				timer_set(&srv->timers, &srv->persist_timer, clock_ms(), persist_tick);
			}
		}
		if (!srv->stopping && cqe->res != -ECANCELED)
			arm_read(srv, srv->signal_fd, &srv->siginfo, sizeof(srv->siginfo),
				 OP_SIGNAL);
		break;
	case OP_WAKE:
		if (!srv->stop_requested && cqe->res != -ECANCELED)
			arm_read(srv, srv->wake_fd, &srv->wake_val, sizeof(srv->wake_val), OP_WAKE);
		break;
	case OP_AUTH:
		auth_worker_collect(srv->auth_worker, auth_result, srv);
		if (cqe->res != -ECANCELED)
			arm_read(srv, auth_worker_fd(srv->auth_worker), &srv->auth_val,
				 sizeof(srv->auth_val), OP_AUTH);
		break;
	case OP_FSYNC:
		srv->fsync_inflight = false;
		if (cqe->res < 0)
			log_error("journal fdatasync: %s", strerror(-cqe->res));
		persist_journal_flush_done(srv->persist, srv->fsync_seq, cqe->res);
		release_held(srv);
		break;
	case OP_SNAPSHOT: {
		srv->snapshot_polling = false;
		const char *err = NULL;
		int r = persist_snapshot_poll(srv->persist, &err);
		if (r > 0) {
			PROBE0(snapshot__done);
			log_info("snapshot written");
		} else if (r < 0) {
			log_error("snapshot failed: %s", err ? err : strerror(-r));
		}
		break;
	}
	case OP_NONE:
	case OP_KIND_MASK:
		break;
	}
}

static void flush_dirty(struct uimap_server *srv)
{
	while (srv->dirty != NULL) {
		struct conn *c = srv->dirty;
		srv->dirty = c->next_dirty;
		conn_flush(c);
	}
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

UIMAP_EXPORT int uimap_server_run(struct uimap_server *srv, const char **error_r)
{
	if (uimap_server_bind(srv, error_r) < 0)
		return -1;
	if (srv->auth != NULL && srv->auth->init != NULL) {
		const char *err;
		if (srv->auth->init(srv->auth_ctx, &err) < 0)
			return set_error(error_r, "auth backend %s: %s", srv->auth->name, err);
	}
	/* auth-workers 0: hashes are checked on the loop (profiling under valgrind) */
	if (srv->auth != NULL && srv->auth->blocking && srv->auth_worker == NULL &&
	    srv->cfg.auth_workers > 0) {
		const char *err;
		srv->auth_worker = auth_worker_create(srv->cfg.auth_workers, &err);
		if (srv->auth_worker == NULL)
			return set_error(error_r, "auth workers: %s", err);
		arm_read(srv, auth_worker_fd(srv->auth_worker), &srv->auth_val,
			 sizeof(srv->auth_val), OP_AUTH);
	}
	for (unsigned i = 0; i < srv->n_listeners; i++) {
		arm_accept(&srv->listeners[i]);
		log_info("listening on %s port %d", srv->listeners[i].name,
			 srv->listeners[i].port);
	}
	if (srv->signal_fd >= 0)
		arm_read(srv, srv->signal_fd, &srv->siginfo, sizeof(srv->siginfo), OP_SIGNAL);
	arm_read(srv, srv->wake_fd, &srv->wake_val, sizeof(srv->wake_val), OP_WAKE);
	if (srv->persist != NULL)
		timer_set(&srv->timers, &srv->persist_timer, clock_ms() + 1000, persist_tick);

	struct io_uring *ring = &srv->ring.uring;
	bool overflow_logged = false;
	while (!(srv->stopping && srv->n_conns == 0)) {
		if (srv->stop_requested && !srv->stopping)
			server_begin_shutdown(srv);
		session_run_wakeups(srv);
		persist_flush(srv);
		flush_dirty(srv);
		conn_reap(srv);
		if (srv->stopping && srv->n_conns == 0)
			break;
		ring_buf_publish(&srv->ring);

		struct __kernel_timespec ts, *tsp = NULL;
		int64_t wait = timer_next_ms(&srv->timers, clock_ms());
		if (wait >= 0) {
			ts.tv_sec = wait / 1000;
			ts.tv_nsec = (wait % 1000) * 1000000;
			tsp = &ts;
		}
		struct io_uring_cqe *cqe;
		int ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, tsp, NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EBUSY && ret != -EAGAIN)
			return set_error(error_r, "io_uring wait: %s", strerror(-ret));

		unsigned head, seen = 0;
		io_uring_for_each_cqe(ring, head, cqe) {
			handle_cqe(srv, cqe);
			seen++;
		}
		io_uring_cq_advance(ring, seen);
		if (io_uring_cq_has_overflow(ring) && !overflow_logged) {
			/* the kernel keeps overflowed CQEs and hands them over later */
			log_warn("completion queue overflow: consider a larger CQ");
			overflow_logged = true;
		}
		timer_run(&srv->timers, clock_ms());
	}
	if (srv->persist != NULL) {
		/* a final snapshot on clean shutdown, then the journal is closed */
		const char *err = NULL;
		timer_cancel(&srv->timers, &srv->persist_timer);
		if (persist_snapshot_wait(srv->persist, &err) < 0)
			log_error("snapshot: %s", err ? err : "failed");
		if (persist_snapshot_start(srv->persist, NULL) == 0 &&
		    persist_snapshot_wait(srv->persist, &err) < 0)
			log_error("final snapshot: %s", err ? err : "failed");
		else
			log_info("final snapshot written");
	}
	log_info("stopped");
	return 0;
}

UIMAP_EXPORT void uimap_server_stop(struct uimap_server *srv)
{
	srv->stop_requested = 1;
	uint64_t one = 1;
	ssize_t r = write(srv->wake_fd, &one, sizeof(one));
	(void)r;
}

UIMAP_EXPORT void uimap_server_free(struct uimap_server **srvp)
{
	struct uimap_server *srv = *srvp;
	if (srv == NULL)
		return;
	*srvp = NULL;
	/* normally none are left after a clean run; the ring goes away below */
	srv->dirty = srv->reap = srv->held = NULL;
	while (srv->conns != NULL)
		conn_destroy(srv->conns);
	for (unsigned i = 0; i < srv->n_listeners; i++)
		if (srv->listeners[i].fd >= 0)
			close(srv->listeners[i].fd);
	free(srv->listeners);
	if (srv->auth_worker != NULL)
		auth_worker_destroy(&srv->auth_worker);
	if (srv->ring_ready)
		ring_deinit(&srv->ring);
	if (srv->auth != NULL && srv->auth->deinit != NULL && !srv->auth_owned)
		srv->auth->deinit(srv->auth_ctx);
	if (srv->auth_owned)
		uimap_auth_passwd_file_close(srv->auth_ctx);
	if (srv->signal_fd >= 0)
		close(srv->signal_fd);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	cmd_registry_free(&srv->commands);
	persist_close(&srv->persist);
	tls_ctx_free(&srv->tls);
	if (srv->store_owned)
		uimap_store_free(&srv->store);
	timer_heap_free(&srv->timers);
	iptable_free(&srv->ips);
	uimap_config_clear(&srv->cfg);
	outq_cache_free();
	free(srv);
}
