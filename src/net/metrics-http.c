/* The metrics endpoint: HTTP/1.1 on the server's ring, one request per connection. */
#include "net/metrics-http.h"
#include "net/server.h"
#include "loop/udata.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/common.h"
#include "core/error.h"
#include "core/log.h"
#include "core/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * A connection's life: accepted (multishot accept on the endpoint's listener),
 * one recv at a time into req[] until the head is complete (or too big, or
 * malformed), then the reply is built in full and sent (a send per part the
 * socket takes), then our side is shut down (SHUT_WR: the client sees the end)
 * and what the client still sends is read and dropped until it closes (a
 * lingering close: closing with unread input would reset the connection and
 * could destroy the reply before the client read it, e.g. a 400 to an oversized
 * request); then the socket is shut down and freed once no operation is in
 * flight. The timeout bounds the whole life: a client that sends nothing, or
 * never reads its reply or never closes, is closed after HTTP_TIMEOUT_MS.
 * Buffers: req[] belongs to the recv in flight until its completion; reply.data
 * to the send in flight. Neither is freed while pending != 0 (the ring may still
 * write into req[]).
 */
struct http_conn {
	struct ring_handler recv_h;   /* completions: the recv, then the sends */
	struct ring_handler send_h;
	struct metrics_http *h;
	struct http_conn *prev, *next;
	int fd;
	unsigned pending;             /* ring operations whose CQE has not arrived */
	bool closing;                 /* shut down: no more operations are submitted */
	bool draining;                /* replied: input is read and dropped until EOF */
	struct timer timeout;
	struct buf reply;
	size_t sent;
	size_t len;                   /* request bytes in req */
	char req[HTTP_REQUEST_MAX];
};

struct metrics_http {
	struct ring_handler accept_h;
	struct net_server *srv;
	int fd;
	int port;
	bool armed;
	bool stopped;
	struct timer retry;           /* out of descriptors: accept again later */
	char spec[80];
	struct http_conn *conns;
	unsigned n_conns;
};

#define set_error error_set

/* ---- request parsing --------------------------------------------------------- */

static bool is_tchar(unsigned char ch)
{
	/* RFC 9110 §5.6.2 token characters */
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static int parse_request_line(const char *p, size_t n, struct http_request *req,
			      const char **error_r)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return set_error(error_r, "malformed request line");
	req->method = p;
	req->method_len = i;
	size_t t = ++i;
	while (i < n && (unsigned char)p[i] > ' ' && p[i] != 0x7f)
		i++;
	if (i == t || i >= n || p[i] != ' ')
		return set_error(error_r, "malformed request target");
	if (p[t] != '/')
		return set_error(error_r, "request target is not a path");
	req->path = p + t;
	req->path_len = 0;
	while (t + req->path_len < i && p[t + req->path_len] != '?' && p[t + req->path_len] != '#')
		req->path_len++;
	i++;
	if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || p[i + 7] < '0' || p[i + 7] > '9')
		return set_error(error_r, "not an HTTP/1.x request");
	req->minor = (unsigned)(p[i + 7] - '0');
	return 0;
}

static int parse_field(const char *p, size_t n, struct http_request *req, const char **error_r)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	/* RFC 9112 §5.1: no whitespace between the name and the colon */
	if (i == 0 || i >= n || p[i] != ':')
		return set_error(error_r, "malformed header field");
	for (size_t k = i + 1; k < n; k++) {
		unsigned char ch = (unsigned char)p[k];
		if ((ch < ' ' && ch != '\t') || ch == 0x7f)
			return set_error(error_r, "control character in a header field");
	}
	if (i == 4 && strncasecmp(p, "host", 4) == 0)
		req->hosts++;
	return 0;
}

int http_request_parse(const char *data, size_t len, struct http_request *req_r,
		       const char **error_r)
{
	struct http_request req = { 0 };
	bool have_line = false;
	size_t pos = 0;
	for (;;) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		if (nl == NULL) {
			/* a request line cannot hold control characters: no need to wait
			   for the rest of a TLS hello or a binary probe */
			for (size_t i = pos; !have_line && i < len; i++)
				if (((unsigned char)data[i] < ' ' && data[i] != '\r') ||
				    data[i] == 0x7f)
					return set_error(error_r, "not an HTTP request");
			return 0;
		}
		const char *p = data + pos;
		size_t n = (size_t)(nl - p);
		pos += n + 1;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\r', n) != NULL || memchr(p, '\0', n) != NULL)
			return set_error(error_r, "stray CR or NUL");
		if (n == 0) {
			if (!have_line)
				continue;    /* RFC 9112 §2.2: empty lines before the request */
			break;
		}
		if (!have_line) {
			if (parse_request_line(p, n, &req, error_r) < 0)
				return -1;
			have_line = true;
		} else if (p[0] == ' ' || p[0] == '\t') {
			return set_error(error_r, "obsolete line folding");
		} else if (parse_field(p, n, &req, error_r) < 0) {
			return -1;
		}
	}
	/* RFC 9112 §3.2: exactly one Host in HTTP/1.1 */
	if (req.hosts > 1 || (req.minor >= 1 && req.hosts == 0))
		return set_error(error_r, "an HTTP/1.1 request needs one Host field");
	*req_r = req;
	return 1;
}

/* ---- connections -------------------------------------------------------------- */

static void hconn_recv_done(struct ring_handler *rh, int res, unsigned flags);
static void hconn_send_done(struct ring_handler *rh, int res, unsigned flags);

static void hconn_free(struct http_conn *c)
{
	struct metrics_http *h = c->h;
	timer_cancel(&h->srv->timers, &c->timeout);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->n_conns--;
	if (c->fd >= 0)
		close(c->fd);
	buf_free(&c->reply);
	free(c);
}

/* Close: shut the socket down (operations in flight complete), free when none is. */
static void hconn_close(struct http_conn *c)
{
	if (!c->closing) {
		c->closing = true;
		timer_cancel(&c->h->srv->timers, &c->timeout);
		shutdown(c->fd, SHUT_RDWR);
	}
	if (c->pending == 0)
		hconn_free(c);
}

static void hconn_timeout(struct timer *t)
{
	struct http_conn *c = container_of(t, struct http_conn, timeout);
	hconn_close(c);
}

static void hconn_arm_recv(struct http_conn *c)
{
	struct io_uring_sqe *sqe = ring_sqe(&c->h->srv->ring);
	io_uring_prep_recv(sqe, c->fd, c->req + c->len, sizeof(c->req) - c->len, 0);
	io_uring_sqe_set_data64(sqe, udata_make(&c->recv_h, OP_HANDLER));
	c->pending++;
}

static void hconn_arm_send(struct http_conn *c)
{
	struct io_uring_sqe *sqe = ring_sqe(&c->h->srv->ring);
	io_uring_prep_send(sqe, c->fd, c->reply.data + c->sent, c->reply.len - c->sent,
			   MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, udata_make(&c->send_h, OP_HANDLER));
	c->pending++;
}

static void reply_head(struct http_conn *c, const char *status, const char *type,
		       size_t length, const char *extra)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			 "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
			 status, type, length, extra);
	buf_append(&c->reply, head, (size_t)n);
}

/* A short reply with a text body (errors). */
static void reply_text(struct http_conn *c, const char *status, const char *extra)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "%s\n", status);
	reply_head(c, status, "text/plain; charset=utf-8", (size_t)n, extra);
	buf_append(&c->reply, body, (size_t)n);
}

/* Build the whole reply to req (NULL: a bad request). */
static void respond(struct http_conn *c, const struct http_request *req)
{
	struct net_server *srv = c->h->srv;
	if (req == NULL) {
		reply_text(c, "400 Bad Request", "");
		return;
	}
	if (req->path_len != 8 || memcmp(req->path, "/metrics", 8) != 0) {
		reply_text(c, "404 Not Found", "");
		return;
	}
	bool head = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
	bool get = req->method_len == 3 && memcmp(req->method, "GET", 3) == 0;
	if (!get && !head) {
		reply_text(c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n");
		return;
	}
	struct buf body = { 0 };
	if (srv->metrics_render != NULL)
		srv->metrics_render(srv->metrics_render_ctx, &body);
	reply_head(c, "200 OK", METRICS_CONTENT_TYPE, body.len, "");
	if (get)
		buf_append(&c->reply, body.data, body.len);
	buf_free(&body);
}

static void start_reply(struct http_conn *c, const struct http_request *req)
{
	respond(c, req);
	c->sent = 0;
	hconn_arm_send(c);
}

static void hconn_recv_done(struct ring_handler *rh, int res, unsigned flags)
{
	struct http_conn *c = container_of(rh, struct http_conn, recv_h);
	(void)flags;
	c->pending--;
	if (c->closing || res <= 0) {
		/* closed by the peer, an error, or our own shutdown */
		hconn_close(c);
		return;
	}
	if (c->draining) {
		c->len = 0;
		hconn_arm_recv(c);
		return;
	}
	c->len += (size_t)res;
	struct http_request req;
	const char *error;
	int r = http_request_parse(c->req, c->len, &req, &error);
	if (r == 0 && c->len == sizeof(c->req)) {
		r = -1;
		error = "request head too large";
	}
	if (r < 0)
		log_debug("metrics: bad request: %s", error);
	if (r != 0)
		start_reply(c, r > 0 ? &req : NULL);
	else
		hconn_arm_recv(c);
}

static void hconn_send_done(struct ring_handler *rh, int res, unsigned flags)
{
	struct http_conn *c = container_of(rh, struct http_conn, send_h);
	(void)flags;
	c->pending--;
	if (c->closing || res <= 0) {
		hconn_close(c);
		return;
	}
	c->sent += (size_t)res;
	if (c->sent < c->reply.len) {
		hconn_arm_send(c);
		return;
	}
	shutdown(c->fd, SHUT_WR);
	c->draining = true;
	c->len = 0;
	hconn_arm_recv(c);
}

static void hconn_new(struct metrics_http *h, int fd)
{
	if (h->n_conns >= HTTP_CONNS_MAX) {
		/* a flood of scrapers: no state is kept for more than a few */
		close(fd);
		return;
	}
	struct http_conn *c = aligned_alloc(16, (sizeof(*c) + 15) & ~(size_t)15);
	if (c == NULL) {
		close(fd);
		return;
	}
	memset(c, 0, offsetof(struct http_conn, req));
	c->recv_h.fn = hconn_recv_done;
	c->send_h.fn = hconn_send_done;
	c->h = h;
	c->fd = fd;
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	h->n_conns++;
	timer_set(&h->srv->timers, &c->timeout, clock_ms() + HTTP_TIMEOUT_MS, hconn_timeout);
	hconn_arm_recv(c);
}

/* ---- the listener ------------------------------------------------------------- */

static void arm_accept(struct metrics_http *h)
{
	struct io_uring_sqe *sqe = ring_sqe(&h->srv->ring);
	io_uring_prep_multishot_accept(sqe, h->fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, udata_make(&h->accept_h, OP_HANDLER));
	h->armed = true;
}

static void accept_retry(struct timer *t)
{
	struct metrics_http *h = container_of(t, struct metrics_http, retry);
	if (!h->armed && !h->stopped && h->fd >= 0)
		arm_accept(h);
}

static void accept_done(struct ring_handler *rh, int res, unsigned flags)
{
	struct metrics_http *h = container_of(rh, struct metrics_http, accept_h);
	if (!(flags & IORING_CQE_F_MORE))
		h->armed = false;
	if (res >= 0) {
		if (h->stopped)
			close(res);
		else
			hconn_new(h, res);
	} else if (res != -ECANCELED && !h->stopped) {
		log_warn("accept on %s (metrics): %s", h->spec, strerror(-res));
		if (res == -EMFILE || res == -ENFILE || res == -ENOMEM) {
			/* out of descriptors: back off instead of spinning */
			if (!h->armed)
				timer_set(&h->srv->timers, &h->retry, clock_ms() + 100, accept_retry);
			return;
		}
	}
	if (!h->armed && !h->stopped && h->fd >= 0)
		arm_accept(h);
}

struct metrics_http *metrics_http_bind(struct net_server *srv, const char *spec,
				       const char **error_r)
{
	struct metrics_http *h = aligned_alloc(16, (sizeof(*h) + 15) & ~(size_t)15);
	if (h == NULL) {
		set_error(error_r, "out of memory");
		return NULL;
	}
	memset(h, 0, sizeof(*h));
	h->srv = srv;
	h->accept_h.fn = accept_done;
	if (net_listen(spec, &h->fd, &h->port, error_r) < 0) {
		free(h);
		return NULL;
	}
	snprintf(h->spec, sizeof(h->spec), "%s", spec);
	return h;
}

void metrics_http_start(struct metrics_http *h)
{
	if (h->armed || h->stopped)
		return;
	arm_accept(h);
	log_info("listening on %s (metrics) port %d", h->spec, h->port);
}

void metrics_http_shutdown(struct metrics_http *h)
{
	if (h->stopped)
		return;
	h->stopped = true;
	timer_cancel(&h->srv->timers, &h->retry);
	if (h->fd >= 0) {
		if (h->armed) {
			struct io_uring_sqe *sqe = ring_sqe(&h->srv->ring);
			io_uring_prep_cancel64(sqe, udata_make(&h->accept_h, OP_HANDLER), 0);
			io_uring_sqe_set_data64(sqe, udata_make(NULL, OP_NONE));
		}
		shutdown(h->fd, SHUT_RDWR);
		close(h->fd);
		h->fd = -1;
	}
	struct http_conn *next;
	for (struct http_conn *c = h->conns; c != NULL; c = next) {
		next = c->next;
		hconn_close(c);
	}
}

bool metrics_http_busy(const struct metrics_http *h)
{
	return h->conns != NULL;
}

void metrics_http_free(struct metrics_http **hp)
{
	struct metrics_http *h = *hp;
	if (h == NULL)
		return;
	*hp = NULL;
	while (h->conns != NULL)
		hconn_free(h->conns);
	timer_cancel(&h->srv->timers, &h->retry);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}
