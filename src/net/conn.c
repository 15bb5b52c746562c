/* Connection lifecycle: accept, multishot recv, batched sendmsg, close. */
#include "net/conn.h"
#include "core/alloc.h"
#include "net/server.h"
#include "net/admit.h"
#include "loop/udata.h"
#include "core/common.h"
#include "core/log.h"
#include "core/probes.h"
#include "net/compress.h"
#include "net/proxyproto.h"
#include "net/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEND_IOV_MAX 64
#define LINGER_MS 5000

/* The msghdr and iovecs of one sendmsg in flight. Lifecycle: taken from a free
   list when a send is submitted, returned when its CQE arrives. Two sizes: most
   sends carry a few iovecs (an untagged line to each of thousands of idlers), so
   they take a small buffer; a FETCH of many bodies takes a full one. */
#define SEND_IOV_SMALL 4
struct sendbuf {
	struct sendbuf *next;
	struct msghdr msg;
	unsigned cap;
	struct iovec iov[];
};
/* marks a plain send (one iovec, no msghdr to copy) in flight */
static struct sendbuf send_single;
static __thread struct sendbuf *sendbuf_free[2];
static __thread unsigned sendbuf_free_n[2];
static const unsigned sendbuf_cache_max[2] = { 1024, 64 };

static struct sendbuf *sendbuf_get(int n)
{
	unsigned k = n > SEND_IOV_SMALL;
	struct sendbuf *b = sendbuf_free[k];
	if (b != NULL) {
		sendbuf_free[k] = b->next;
		sendbuf_free_n[k]--;
		return b;
	}
	unsigned cap = k ? SEND_IOV_MAX : SEND_IOV_SMALL;
	b = xmalloc(sizeof(*b) + cap * sizeof(struct iovec));
	b->cap = cap;
	return b;
}

static void sendbuf_put(struct sendbuf *b)
{
	if (b == &send_single)
		return;
	unsigned k = b->cap > SEND_IOV_SMALL;
	if (sendbuf_free_n[k] >= sendbuf_cache_max[k]) {
		free(b);
		return;
	}
	b->next = sendbuf_free[k];
	sendbuf_free[k] = b;
	sendbuf_free_n[k]++;
}

void conn_cache_free(void)
{
	for (unsigned k = 0; k < 2; k++) {
		while (sendbuf_free[k] != NULL) {
			struct sendbuf *b = sendbuf_free[k];

			sendbuf_free[k] = b->next;
			free(b);
		}
		sendbuf_free_n[k] = 0;
	}
}

void conn_format_addr(const struct sockaddr_storage *ss, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
		snprintf(out, size, "%s:%d", ip, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
		snprintf(out, size, "[%s]:%d", ip, port);
	} else {
		snprintf(out, size, "unknown");
	}
}

static void arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = ring_sqe(&c->srv->ring);
	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = RING_BGID;
	io_uring_sqe_set_data64(sqe, udata_make(c, OP_RECV));
	c->recv_armed = true;
	c->pending++;
}

static void cancel_recv(struct conn *c)
{
	if (!c->recv_armed)
		return;
	struct io_uring_sqe *sqe = ring_sqe(&c->srv->ring);
	io_uring_prep_cancel64(sqe, udata_make(c, OP_RECV), 0);
	io_uring_sqe_set_data64(sqe, udata_make(NULL, OP_NONE));
}

static void idle_fired(struct timer *t);

/* Queued output that can still reach the client: none when a TLS handshake has
   not completed (nothing can be encrypted for a client that never finishes it). */
static bool unsent_plaintext(const struct conn *c)
{
	if (conn_unsent(c) == 0)
		return false;
	return !c->tv->secure || tls_conn_handshake_done(c);
}

void conn_idle_reset(struct conn *c)
{
	timer_cancel(&c->srv->timers, &c->idle_timer);
	conn_touch(c);
}

void conn_touch(struct conn *c)
{
	c->last_active_ms = clock_ms();
	if (c->idle_timer.idx == 0 && c->proto != NULL && !c->closing) {
		unsigned secs = c->srv->handler->idle_timeout(c->proto);
		if (secs != 0)
			timer_set(&c->srv->timers, &c->idle_timer,
				  c->last_active_ms + (uint64_t)secs * 1000u, idle_fired);
	}
}

static void idle_fired(struct timer *t)
{
	struct conn *c = container_of(t, struct conn, idle_timer);
	if (c->closing || c->proto == NULL)
		return;
	unsigned secs = c->srv->handler->idle_timeout(c->proto);
	if (secs == 0)
		return;
	uint64_t deadline = c->last_active_ms + (uint64_t)secs * 1000u;
	uint64_t now = clock_ms();
	if (deadline > now) {
		/* activity since the timer was set: lazily re-arm */
		timer_set(&c->srv->timers, t, deadline, idle_fired);
		return;
	}
	log_write(UIMAP_LOG_INFO, c->id, c->addr, "idle timeout after %u s", secs);
	c->srv->handler->timed_out(c->proto);
	conn_mark_dirty(c);
	conn_close(c, true);
}

struct conn *conn_accept(struct net_server *srv, int fd, const struct sockaddr_storage *peer,
			 struct tls_ctx *tls, bool proxy)
{
	struct conn *c = aligned_alloc(16, (sizeof(struct conn) + 15) & ~(size_t)15);
	if (c == NULL) {
		close(fd);
		return NULL;
	}
	memset(c, 0, sizeof(*c));
	c->srv = srv;
	c->fd = fd;
	c->id = ++srv->next_conn_id;
	c->peer = *peer;
	c->tv = &transport_plain;
	c->txq = &c->out;
	conn_format_addr(peer, c->addr, sizeof(c->addr));
	c->tls_listener = tls != NULL;
	srv->stats.accepted[c->tls_listener]++;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	server_conn_added(srv, c);
	if (proxy)
		proxyproto_accept(c, tls);
	else
		admit_accept(c, tls);
	return c;
}

void conn_start(struct conn *c, struct tls_ctx *tls)
{
	struct net_server *srv = c->srv;
	/* implicit TLS: the greeting below is sent once the handshake is done */
	if (tls != NULL && tls_conn_start(c, tls, TLS_START_IMPLICIT) < 0) {
		conn_close(c, false);
		return;
	}
	log_write(UIMAP_LOG_DEBUG, c->id, c->addr, "connected");
	PROBE1(conn__open, c->id);
	c->proto = srv->handler->create(srv->handler_ctx, c);
	conn_touch(c);
	conn_recv_start(c);
	conn_mark_dirty(c);
	/* a PROXY listener: what followed the header, through the transport now */
	proxyproto_start(c);
}

void conn_recv_start(struct conn *c)
{
	if (!c->recv_armed && !c->closing && !c->recv_paused)
		arm_recv(c);
}

void conn_mark_dirty(struct conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = c->srv->dirty;
	c->srv->dirty = c;
}

static void deliver_plain(struct conn *c, const unsigned char *data, size_t len)
{
	c->srv->handler->input(c->proto, data, len);
	if (c->out.bytes > 0)
		conn_mark_dirty(c);
}

/* The inflater's sink: plaintext for the protocol, one bounded step at a time;
   stops while the protocol has paused the input (its stash is full). */
static bool inflate_sink(void *ctx, const unsigned char *data, size_t len)
{
	struct conn *c = ctx;
	if (c->closing || c->proto == NULL)
		return false;
	deliver_plain(c, data, len);
	return !c->recv_paused && !c->closing;
}

static void queue_wake(struct conn *c)
{
	if (c->wake_queued)
		return;
	c->wake_queued = true;
	c->next_wake = c->srv->wakes;
	c->srv->wakes = c;
}

/* Inflate the pending compressed input at the next loop turn. */
static void inflate_later(struct conn *c)
{
	c->inflate_due = true;
	queue_wake(c);
}

static void compress_failed(struct conn *c, const char *what)
{
	log_write(UIMAP_LOG_INFO, c->id, c->addr, "COMPRESS: %s; closing", what);
	conn_close(c, false);
}

void conn_deliver(struct conn *c, const unsigned char *data, size_t len)
{
	if (c->closing)
		return;
	if (c->proto == NULL) {
		/* not started: a PROXY listener's header, or bytes after it */
		proxyproto_input(c, data, len);
		return;
	}
	if (c->z == NULL) {
		deliver_plain(c, data, len);
		return;
	}
	if (compress_input(c->z, data, len, inflate_sink, c) < 0)
		compress_failed(c, "invalid compressed input");
	else if (compress_has_pending(c->z) && !c->recv_paused)
		inflate_later(c);
}

int conn_compress(struct conn *c)
{
	if (c->z != NULL)
		return -EALREADY;
	struct compress_state *z = compress_new();
	if (z == NULL)
		return -ENOMEM;
	c->z = z;
	/* what is queued (the tagged OK) leaves uncompressed, ahead of the stream;
	   bytes of a send in flight are at its head, consumed from it as before */
	struct outq *zq = compress_out(z);
	*zq = c->out;
	memset(&c->out, 0, sizeof(c->out));
	c->txq = zq;
	conn_mark_dirty(c);
	return 0;
}

void conn_compress_input(struct conn *c, const unsigned char *data, size_t len)
{
	if (c->z == NULL || c->closing)
		return;
	if (compress_defer(c->z, data, len) < 0) {
		compress_failed(c, "too much pending input");
		return;
	}
	if (compress_has_pending(c->z))
		inflate_later(c);
}

static void run_inflate(struct conn *c)
{
	if (c->z == NULL || c->closing || c->recv_paused || c->proto == NULL)
		return;
	if (compress_resume(c->z, inflate_sink, c) < 0)
		compress_failed(c, "invalid compressed input");
	else if (compress_has_pending(c->z) && !c->recv_paused && !c->closing)
		inflate_later(c);
}

void conn_hold_output(struct conn *c, bool hold)
{
	if (c->out_held == hold)
		return;
	c->out_held = hold;
	if (!hold)
		conn_mark_dirty(c);
}

void conn_wake_soon(struct conn *c)
{
	if (c->proto == NULL)
		return;
	c->proto_wake = true;
	queue_wake(c);
}

static void wake_unqueue(struct conn *c)
{
	if (!c->wake_queued)
		return;
	for (struct conn **pp = &c->srv->wakes; *pp != NULL; pp = &(*pp)->next_wake) {
		if (*pp == c) {
			*pp = c->next_wake;
			break;
		}
	}
	c->wake_queued = false;
}

void conn_run_wakes(struct net_server *srv)
{
	/* wakes asked for while these run wait for the next turn */
	struct conn *list = srv->wakes;
	srv->wakes = NULL;
	while (list != NULL) {
		struct conn *c = list;
		list = c->next_wake;
		c->wake_queued = false;
		if (c->inflate_due) {
			c->inflate_due = false;
			run_inflate(c);
		}
		if (c->proto_wake) {
			c->proto_wake = false;
			if (!c->closing && c->proto != NULL)
				srv->handler->wake(c->proto);
		}
	}
}

static void wake_fired(struct timer *t)
{
	struct conn *c = container_of(t, struct conn, wake_timer);
	if (!c->closing && c->proto != NULL)
		c->srv->handler->wake(c->proto);
}

void conn_wake_at(struct conn *c, uint64_t when_ms)
{
	if (when_ms == 0)
		timer_cancel(&c->srv->timers, &c->wake_timer);
	else
		timer_set(&c->srv->timers, &c->wake_timer, when_ms, wake_fired);
}

void conn_set_authenticated(struct conn *c)
{
	if (c->authenticated)
		return;
	c->authenticated = true;
	if (c->ip != NULL)
		c->ip->unauth--;
}

bool conn_can_starttls(const struct conn *c)
{
	return c->srv->tls != NULL && !conn_is_secure(c);
}

int conn_starttls(struct conn *c)
{
	if (!conn_can_starttls(c))
		return -1;
	return tls_conn_start(c, c->srv->tls, TLS_START_STARTTLS);
}

static void conn_free(struct conn *c)
{
	struct net_server *srv = c->srv;
	timer_cancel(&srv->timers, &c->idle_timer);
	timer_cancel(&srv->timers, &c->linger_timer);
	timer_cancel(&srv->timers, &c->wake_timer);
	wake_unqueue(c);
	admit_cancel(c);
	proxyproto_cancel(c);
	free(c->host);
	if (c->proto != NULL) {
		srv->handler->destroy(c->proto);
		c->proto = NULL;
	}
	if (c->tv->free != NULL)
		c->tv->free(c);
	outq_clear(&c->out);
	compress_free(&c->z);
	c->txq = &c->out;
	if (c->fd >= 0)
		close(c->fd);
	if (c->ip != NULL) {
		srv->stats.open[c->tls_listener]--;
		c->ip->conns--;
		if (!c->authenticated)
			c->ip->unauth--;
		iptable_maybe_drop(&srv->ips, c->ip, clock_ms(), 15 * 60 * 1000);
	}
	log_write(UIMAP_LOG_DEBUG, c->id, c->addr, "closed");
	PROBE1(conn__close, c->id);
	server_conn_removed(srv, c);
	free(c);
}

void conn_destroy(struct conn *c)
{
	c->dirty = c->reap_queued = false;
	conn_free(c);
}

static bool can_free(const struct conn *c)
{
	return c->shut && c->pending == 0 && !c->dirty;
}

/* Queue the connection to be freed at the end of the loop turn, once nothing
   refers to it any more; handlers may keep using c until they return. */
static void maybe_free(struct conn *c)
{
	if (c->reap_queued || !can_free(c))
		return;
	c->reap_queued = true;
	c->next_reap = c->srv->reap;
	c->srv->reap = c;
}

void conn_reap(struct net_server *srv)
{
	while (srv->reap != NULL) {
		struct conn *c = srv->reap;
		srv->reap = c->next_reap;
		c->reap_queued = false;
		if (can_free(c))
			conn_free(c);
	}
}

void conn_check_free(struct conn *c)
{
	maybe_free(c);
}

static void finish_close(struct conn *c)
{
	if (c->shut) {
		maybe_free(c);
		return;
	}
	c->shut = true;
	timer_cancel(&c->srv->timers, &c->linger_timer);
	cancel_recv(c);
	/* wakes any send still in flight; the fd is closed in conn_free() */
	shutdown(c->fd, SHUT_RDWR);
	maybe_free(c);
}

static void linger_fired(struct timer *t)
{
	struct conn *c = container_of(t, struct conn, linger_timer);
	finish_close(c);
}

void conn_close(struct conn *c, bool flush)
{
	if (!c->closing) {
		c->closing = true;
		timer_cancel(&c->srv->timers, &c->idle_timer);
		timer_cancel(&c->srv->timers, &c->wake_timer);
		admit_cancel(c);
		proxyproto_cancel(c);
		if (c->tv->shutdown != NULL)
			c->tv->shutdown(c);
		cancel_recv(c);
	}
	/* held output still goes out with flush once released (bounded by the linger
	   timer); without flush it is dropped with everything else */
	if (flush && (unsent_plaintext(c) || c->sending != NULL || tls_conn_pending(c) > 0)) {
		c->close_after_flush = true;
		conn_mark_dirty(c);
		if (c->linger_timer.idx == 0)
			timer_set(&c->srv->timers, &c->linger_timer, clock_ms() + LINGER_MS,
				  linger_fired);
		return;
	}
	finish_close(c);
}

void conn_pause_recv(struct conn *c)
{
	if (c->recv_paused)
		return;
	c->recv_paused = true;
	cancel_recv(c);
}

void conn_resume_recv(struct conn *c)
{
	if (!c->recv_paused)
		return;
	c->recv_paused = false;
	if (!c->recv_armed && !c->closing)
		arm_recv(c);
	/* compressed input kept while paused goes first, at the next turn */
	if (c->z != NULL && compress_has_pending(c->z))
		inflate_later(c);
}

void conn_handle_recv(struct conn *c, int res, unsigned flags)
{
	struct ring *r = &c->srv->ring;
	if (!(flags & IORING_CQE_F_MORE)) {
		c->recv_armed = false;
		c->pending--;
	}
	if (res > 0) {
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
		c->srv->stats.bytes_in += (unsigned)res;
		if (!c->closing) {
			conn_touch(c);
			if (c->tv->recv(c, ring_buf(r, bid), (size_t)res) < 0)
				conn_close(c, true);
		}
		ring_buf_recycle(r, bid);
	} else if (res == 0) {
		/* peer closed its side */
		if (!c->closing)
			log_write(UIMAP_LOG_DEBUG, c->id, c->addr, "client disconnected");
		conn_close(c, false);
	} else if (res == -ENOBUFS) {
		/* back-pressure: every buffer is in use; re-armed below */
		log_debug("recv: out of provided buffers");
	} else if (res != -ECANCELED) {
		if (!c->closing)
			log_write(UIMAP_LOG_DEBUG, c->id, c->addr, "recv: %s", strerror(-res));
		conn_close(c, false);
	}
	if (!c->recv_armed && !c->closing && !c->recv_paused)
		arm_recv(c);
	maybe_free(c);
}

void conn_flush(struct conn *c)
{
	c->dirty = false;
	if (c->out_held && !c->shut)
		return;
	if (c->sending != NULL || c->shut)
		goto out;
	/* COMPRESS: deflate what the protocol queued (in place), then the transport
	   sends (or encrypts) the compressed queue */
	if (c->z != NULL && compress_pump(c->z, &c->out) < 0) {
		compress_failed(c, "deflate failed");
		goto out;
	}
	struct iovec iov[SEND_IOV_MAX];
	int n = c->tv->send_iov(c, iov, SEND_IOV_MAX);
	if (n <= 0) {
		if (n < 0)
			conn_close(c, false);
		goto out;
	}
	struct io_uring_sqe *sqe = ring_sqe(&c->srv->ring);
	if (n == 1) {
		/* the common case (a reply, an IDLE push): a plain send */
		io_uring_prep_send(sqe, c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
		c->sending = &send_single;
	} else {
		struct sendbuf *b = sendbuf_get(n);
		memcpy(b->iov, iov, (size_t)n * sizeof(*iov));
		memset(&b->msg, 0, sizeof(b->msg));
		b->msg.msg_iov = b->iov;
		b->msg.msg_iovlen = (size_t)n;
		io_uring_prep_sendmsg(sqe, c->fd, &b->msg, MSG_NOSIGNAL);
		c->sending = b;
	}
	io_uring_sqe_set_data64(sqe, udata_make(c, OP_SEND));
	c->pending++;
	return;
out:
	if (c->close_after_flush && c->sending == NULL && !unsent_plaintext(c) &&
	    tls_conn_pending(c) == 0)
		finish_close(c);
	else
		maybe_free(c);
}

void conn_handle_send(struct conn *c, int res)
{
	c->pending--;
	sendbuf_put(c->sending);
	c->sending = NULL;
	if (res < 0) {
		if (!c->closing)
			log_write(UIMAP_LOG_DEBUG, c->id, c->addr, "send: %s", strerror(-res));
		outq_clear(&c->out);
		conn_close(c, false);
		maybe_free(c);
		return;
	}
	c->srv->stats.bytes_out += (unsigned)res;
	c->tv->sent(c, (size_t)res);
	if (conn_unsent(c) > 0 || c->close_after_flush) {
		conn_mark_dirty(c);
	}
	if (c->proto != NULL && !c->closing && c->out.bytes < CONN_OUT_HIGH_WATER / 2)
		c->srv->handler->drained(c->proto);
	maybe_free(c);
}

/* The plain transport: wire bytes are the output queue itself. */
static int plain_recv(struct conn *c, const unsigned char *data, size_t len)
{
	conn_deliver(c, data, len);
	return 0;
}

static int plain_send_iov(struct conn *c, struct iovec *iov, int max)
{
	return outq_iov(c->txq, iov, max);
}

static void plain_sent(struct conn *c, size_t n)
{
	outq_consume(c->txq, n);
}

const struct transport_vfuncs transport_plain = {
	.name = "plain",
	.recv = plain_recv,
	.send_iov = plain_send_iov,
	.sent = plain_sent,
	.shutdown = NULL,
	.free = NULL,
	.secure = 0,
};
