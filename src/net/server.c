/* The connection server: listeners, the io_uring loop with its one switch, shutdown. */
#include "net/server.h"
#include "net/conn.h"
#include "net/admit.h"
#include "net/rdns.h"
#include "net/metrics-http.h"
#include "net/tls.h"
#include "net/tls-handshake.h"
#include "loop/udata.h"
#include "core/common.h"
#include "core/error.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define SQ_ENTRIES 1024
#define CQ_ENTRIES 16384
#define RECV_BUFS 256
#define RECV_BUF_SIZE 16384
#define SHUTDOWN_MS 5000

#define set_error error_set

int net_server_init(struct net_server *srv, const struct uimap_config *cfg,
		    const struct conn_handler *handler, void *handler_ctx,
		    const char **error_r)
{
	memset(srv, 0, sizeof(*srv));
	srv->cfg = cfg;
	srv->handler = handler;
	srv->handler_ctx = handler_ctx;
	if (access_rules_init(&srv->access, &cfg->allow, &cfg->deny, &cfg->cidr_allow,
			      &cfg->cidr_deny, error_r) < 0)
		return -1;
	struct strlist none = { 0 };
	if (access_rules_init(&srv->trusted, &none, &none, &cfg->trusted_proxy, &none,
			      error_r) < 0) {
		access_rules_free(&srv->access);
		return -1;
	}
	if (cfg->reverse_lookups &&
	    (cfg->reverse_lookup_workers == 0 || cfg->reverse_lookup_workers > RDNS_MAX_WORKERS))
		return set_error(error_r, "reverse-lookup-workers must be 1..%u", RDNS_MAX_WORKERS);
	if (cfg->tls_workers > TLS_HS_MAX_WORKERS)
		return set_error(error_r, "tls-workers must be 0..%u", TLS_HS_MAX_WORKERS);
	if (cfg->tls_worker_nice > 19)
		return set_error(error_r, "tls-worker-nice must be 0..19");
	srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->wake_fd < 0)
		return set_error(error_r, "eventfd: %s", strerror(errno));
	return 0;
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

int net_listen(const char *spec, int *fd_r, int *port_r, const char **error_r)
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
	*port_r = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
					  : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	*fd_r = fd;
	return 0;
}

static int listener_open(struct listener *l, const char *spec, bool tls, bool proxy,
			 const char **error_r)
{
	if (net_listen(spec, &l->fd, &l->port, error_r) < 0)
		return -1;
	l->tls = tls;
	l->proxy = proxy;
	snprintf(l->name, sizeof(l->name), "%s%s", spec,
		 proxy ? (tls ? " (tls, proxy)" : " (proxy)") : (tls ? " (tls)" : ""));
	return 0;
}

int net_server_bind(struct net_server *srv, const char **error_r)
{
	if (srv->bound)
		return 0;
	const struct uimap_config *cfg = srv->cfg;
	if ((cfg->tls_listen.n > 0 || cfg->tls_proxy_listen.n > 0) && srv->tls == NULL)
		return set_error(error_r, "--tls-listen needs --cert and --key");
	/* a PROXY header is believed only from a trusted proxy: without one, every
	   connection on such a listener would be refused */
	if ((cfg->proxy_listen.n > 0 || cfg->tls_proxy_listen.n > 0) &&
	    cfg->trusted_proxy.n == 0)
		return set_error(error_r, "--listen-proxy-protocol needs --trusted-proxy");
	const struct strlist *lists[4] = { &cfg->listen, &cfg->tls_listen, &cfg->proxy_listen,
					   &cfg->tls_proxy_listen };
	unsigned n = 0;
	for (unsigned k = 0; k < 4; k++)
		n += lists[k]->n;
	srv->listeners = aligned_alloc(16, (n ? n : 1) * sizeof(struct listener));
	if (srv->listeners == NULL)
		return set_error(error_r, "out of memory");
	memset(srv->listeners, 0, (n ? n : 1) * sizeof(struct listener));
	unsigned i = 0;
	for (unsigned k = 0; k < 4; k++) {
		for (unsigned j = 0; j < lists[k]->n; j++, i++) {
			struct listener *l = &srv->listeners[i];
			l->srv = srv;
			l->fd = -1;
			if (listener_open(l, lists[k]->v[j], k & 1, k >= 2, error_r) < 0)
				return -1;
			srv->n_listeners = i + 1;
		}
	}
	if (srv->cfg->metrics_listen != NULL && srv->metrics == NULL) {
		srv->metrics = metrics_http_bind(srv, srv->cfg->metrics_listen, error_r);
		if (srv->metrics == NULL)
			return -1;
	}
	srv->bound = true;
	return 0;
}

int net_server_adopt(struct net_server *srv, const int *fds, const bool *tls, unsigned n,
		     const char **error_r)
{
	if (srv->bound)
		return set_error(error_r, "listeners are bound already");
	srv->listeners = aligned_alloc(16, n * sizeof(struct listener));
	if (srv->listeners == NULL)
		return set_error(error_r, "out of memory");
	memset(srv->listeners, 0, n * sizeof(struct listener));
	for (unsigned i = 0; i < n; i++) {
		struct listener *l = &srv->listeners[i];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char host[INET6_ADDRSTRLEN] = "?", port[8] = "0";
		if (tls[i] && srv->tls == NULL)
			return set_error(error_r, "a TLS socket was passed without --cert and --key");
		l->srv = srv;
		l->fd = fds[i];
		l->tls = tls[i];
		if (getsockname(fds[i], (struct sockaddr *)&ss, &sl) == 0)
			(void)getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
					  sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
		l->port = atoi(port);
		snprintf(l->name, sizeof(l->name), "%s%s%s:%s (systemd%s)",
			 strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port,
			 tls[i] ? ", tls" : "");
		srv->n_listeners = i + 1;
	}
	srv->bound = true;
	return 0;
}

static void arm_accept(struct listener *l)
{
	struct io_uring_sqe *sqe = ring_sqe(&l->srv->ring);
	io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, udata_make(l, OP_ACCEPT));
	l->armed = true;
}

static void arm_wake(struct net_server *srv)
{
	struct io_uring_sqe *sqe = ring_sqe(&srv->ring);
	io_uring_prep_read(sqe, srv->wake_fd, &srv->wake_val, sizeof(srv->wake_val), 0);
	io_uring_sqe_set_data64(sqe, udata_make(srv, OP_WAKE));
}

static void accept_retry(struct timer *t)
{
	struct listener *l = container_of(t, struct listener, retry_timer);
	if (!l->srv->stopping && !l->armed)
		arm_accept(l);
}

static void handle_accept(struct listener *l, int res, unsigned flags)
{
	struct net_server *srv = l->srv;
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
			conn_accept(srv, res, &peer, l->tls ? srv->tls : NULL, l->proxy);
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
	struct net_server *srv = container_of(t, struct net_server, shutdown_timer);
	for (struct conn *c = srv->conns; c != NULL; c = c->next)
		conn_close(c, false);
}

void net_server_begin_shutdown(struct net_server *srv)
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
	if (srv->metrics != NULL)
		metrics_http_shutdown(srv->metrics);
	for (struct conn *c = srv->conns; c != NULL; c = c->next) {
		if (c->proto != NULL && !c->closing)
			srv->handler->shutdown(c->proto);
		admit_shutdown(c);
		conn_mark_dirty(c);
		conn_close(c, true);
	}
	timer_set(&srv->timers, &srv->shutdown_timer, clock_ms() + SHUTDOWN_MS, shutdown_fired);
}

void server_conn_added(struct net_server *srv, struct conn *c)
{
	c->next = srv->conns;
	if (srv->conns != NULL)
		srv->conns->prev = c;
	srv->conns = c;
	srv->n_conns++;
}

void server_conn_removed(struct net_server *srv, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->n_conns--;
}

/* The one switch: each case hands the completion to the object that owns it. */
static void handle_cqe(struct net_server *srv, const struct io_uring_cqe *cqe)
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
	case OP_HUP:
		admit_handle_hup(ptr, cqe->res);
		break;
	case OP_WAKE:
		if (!srv->stop_requested && cqe->res != -ECANCELED)
			arm_wake(srv);
		break;
	case OP_HANDLER: {
		struct ring_handler *h = ptr;
		h->fn(h, cqe->res, cqe->flags);
		break;
	}
	case OP_NONE:
	case OP_KIND_MASK:
		break;
	}
}

static void flush_dirty(struct net_server *srv)
{
	while (srv->dirty != NULL) {
		struct conn *c = srv->dirty;
		srv->dirty = c->next_dirty;
		conn_flush(c);
	}
}

int net_server_ring(struct net_server *srv, const char **error_r)
{
	if (srv->ring_ready)
		return 0;
	/* SINGLE_ISSUER: the ring belongs to the thread that creates it, the one that
	   runs the loop (bind may happen on another) */
	int ret = ring_init(&srv->ring, SQ_ENTRIES, CQ_ENTRIES, RECV_BUFS, RECV_BUF_SIZE);
	if (ret < 0)
		return set_error(error_r, "io_uring set-up failed: %s", strerror(-ret));
	srv->ring_ready = true;
	return 0;
}

/* Stopping, and nothing left in flight: the loop ends. */
static bool server_finished(const struct net_server *srv)
{
	return srv->stopping && srv->n_conns == 0 &&
	       (srv->metrics == NULL || !metrics_http_busy(srv->metrics));
}

static int net_server_loop(struct net_server *srv, const char **error_r)
{
	if (net_server_bind(srv, error_r) < 0 || net_server_ring(srv, error_r) < 0)
		return -1;
	if (srv->cfg->reverse_lookups && srv->rdns == NULL) {
		const char *err;
		srv->rdns = rdns_create(srv->cfg->reverse_lookup_workers, admit_lookup_done, srv,
					&err);
		if (srv->rdns == NULL)
			return set_error(error_r, "reverse lookups: %s", err);
		rdns_attach(srv->rdns, &srv->ring);
	}
	if (srv->tls != NULL && srv->cfg->tls_workers > 0 && srv->tls_hs == NULL) {
		const char *err;
		srv->tls_hs = tls_workers_create(srv->cfg->tls_workers, srv->cfg->tls_worker_nice,
						 &err);
		if (srv->tls_hs == NULL)
			return set_error(error_r, "TLS workers: %s", err);
		tls_hs_pool_attach(srv->tls_hs, &srv->ring);
		log_info("TLS handshakes on %u worker thread(s)", srv->cfg->tls_workers);
	}
	for (unsigned i = 0; i < srv->n_listeners; i++) {
		arm_accept(&srv->listeners[i]);
		log_info("listening on %s port %d", srv->listeners[i].name,
			 srv->listeners[i].port);
	}
	if (srv->metrics != NULL)
		metrics_http_start(srv->metrics);
	arm_wake(srv);

	struct io_uring *ring = &srv->ring.uring;
	bool overflow_logged = false;
	uint64_t turn_start = 0;
	while (!server_finished(srv)) {
		if (srv->stop_requested && !srv->stopping)
			net_server_begin_shutdown(srv);
		conn_run_wakes(srv);
		bool busy = srv->before_wait != NULL && srv->before_wait(srv->before_wait_ctx);
		flush_dirty(srv);
		conn_reap(srv);
		if (server_finished(srv))
			break;
		ring_buf_publish(&srv->ring);

		struct __kernel_timespec ts, *tsp = NULL;
		/* wake-ups asked for meanwhile run next turn: do not sleep */
		int64_t wait = srv->wakes != NULL || busy ? 0 : timer_next_ms(&srv->timers, clock_ms());
		if (wait >= 0) {
			ts.tv_sec = wait / 1000;
			ts.tv_nsec = (wait % 1000) * 1000000;
			tsp = &ts;
		}
		struct io_uring_cqe *cqe;
		if (turn_start != 0) {
			uint64_t us = clock_us() - turn_start;
			metrics_observe(&srv->stats.turn, us);
			if (us > srv->stats.turn_max_us)
				srv->stats.turn_max_us = us;
		}
		int ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, tsp, NULL);
		turn_start = clock_us();
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
	return 0;
}

int net_server_run(struct net_server *srv, const char **error_r)
{
	int r = net_server_loop(srv, error_r);

	/* the free lists are this thread's: a server run on a thread that then exits
	   must not leave them behind (net_server_free may run on another thread) */
	outq_cache_free();
	conn_cache_free();
	return r;
}

void net_server_stop(struct net_server *srv)
{
	srv->stop_requested = 1;
	uint64_t one = 1;
	ssize_t r = write(srv->wake_fd, &one, sizeof(one));
	(void)r;
}

void net_server_deinit(struct net_server *srv)
{
	/* normally none are left after a clean run; the ring goes away below */
	srv->dirty = srv->reap = srv->wakes = NULL;
	/* no handshake step may still run on a connection freed below */
	tls_hs_pool_stop(srv->tls_hs);
	while (srv->conns != NULL)
		conn_destroy(srv->conns);
	for (unsigned i = 0; i < srv->n_listeners; i++)
		if (srv->listeners[i].fd >= 0)
			close(srv->listeners[i].fd);
	free(srv->listeners);
	srv->listeners = NULL;
	access_rules_free(&srv->access);
	access_rules_free(&srv->trusted);
	srv->n_listeners = 0;
	if (srv->ring_ready)
		ring_deinit(&srv->ring);
	srv->ring_ready = false;
	/* after the ring: its pending eventfd read points into the resolver */
	rdns_destroy(&srv->rdns);
	tls_hs_pool_destroy(&srv->tls_hs);
	/* after the ring: nothing the kernel may still write into is freed before */
	metrics_http_free(&srv->metrics);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	srv->wake_fd = -1;
	timer_heap_free(&srv->timers);
	iptable_free(&srv->ips);
	outq_cache_free();
	conn_cache_free();
}
