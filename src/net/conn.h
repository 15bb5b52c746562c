/* A client connection: socket, transport, output queue, ring operations, timers. The
   protocol that runs over it is reached only through the handler the server installed. */
#ifndef NET_CONN_H
#define NET_CONN_H

#include "core/outq.h"
#include "net/transport.h"
#include "loop/timer.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct net_server;
struct ipentry;
struct sendbuf;
struct conn;

/* Output queued beyond this suspends a command (FETCH) and input processing; the
   protocol is told (drained) when the queue falls under half of it. */
#define CONN_OUT_HIGH_WATER (256 * 1024)

/*
 * What the connection layer calls on the protocol running over a connection (the
 * IMAP session is one; Dovecot's connection_vfuncs, nginx's c->read->handler). ctx
 * is what create() returned. Every call happens on the loop thread, never from
 * inside another handler call of the same connection.
 */
struct conn_handler {
	/* A connection was accepted (its greeting may be queued now). Returns the
	   protocol's context; never NULL. */
	void *(*create)(void *server_ctx, struct conn *c);
	/* Plaintext input, valid only during the call. */
	void (*input)(void *ctx, const unsigned char *data, size_t len);
	/* The output queue fell under CONN_OUT_HIGH_WATER / 2. */
	void (*drained)(void *ctx);
	/* A wake-up asked for with conn_wake_soon() or conn_wake_at() is due. */
	void (*wake)(void *ctx);
	/* Seconds of inactivity allowed now (0 = unlimited). */
	unsigned (*idle_timeout)(void *ctx);
	/* The idle timeout expired, or the server shuts down: queue a goodbye (the
	   connection then closes after flushing it). */
	void (*timed_out)(void *ctx);
	void (*shutdown)(void *ctx);
	/* Free ctx (the connection is going away). */
	void (*destroy)(void *ctx);
};

struct conn {
	/* permanent */
	struct net_server *srv;
	int fd;
	unsigned long id;
	char addr[64];               /* "ip:port" for logs */
	struct sockaddr_storage peer;
	struct ipentry *ip;          /* per-address counters (NULL for rejected conns) */
	bool tls_listener;           /* accepted on a TLS listener (net_stats index) */
	const struct transport_vfuncs *tv;
	void *tctx;
	void *proto;                 /* the handler's context; NULL for a rejected conn */
	struct conn *prev, *next;    /* server's list of connections */

	/* output: text and references queued by the protocol, flushed once per turn */
	struct outq out;
	/* what the transport sends: &out, or with COMPRESS the deflated queue */
	struct outq *txq;
	struct compress_state *z;    /* COMPRESS=DEFLATE (net/compress.h), NULL when off */
	struct sendbuf *sending;     /* iovecs of the send in flight */
	struct conn *next_dirty;
	bool dirty;
	bool out_held;               /* conn_hold_output(): nothing is sent meanwhile */
	struct conn *next_reap;
	bool reap_queued;

	/* wake-ups for the protocol: the next loop turn, or a deadline */
	struct conn *next_wake;
	bool wake_queued;
	bool proto_wake;             /* the protocol asked for the wake-up */
	bool inflate_due;            /* pending compressed input is to be inflated */
	struct timer wake_timer;

	/* ring operation state */
	unsigned pending;            /* operations whose final CQE has not arrived */
	bool recv_armed;
	bool recv_paused;            /* stopped reading (back-pressure) */
	bool closing;                /* no more input is processed */
	bool close_after_flush;
	bool shut;                   /* shutdown(2) done, waiting for pending ops */
	bool authenticated;          /* conn_set_authenticated() was called */

	uint64_t last_active_ms;
	struct timer idle_timer;
	struct timer linger_timer;

	/* admission (net/admit.c): with reverse lookups the greeting waits for the name */
	struct tls_ctx *implicit_tls;  /* implicit TLS to start once admitted, or NULL */
	char *host;                  /* the forward-confirmed host name, or NULL */
	bool lookup_pending;         /* its lookup is queued or running */
	bool hup_armed;              /* a poll for the client's hang-up meanwhile */
	struct timer lookup_timer;
	/* a PROXY listener's header and what came with it (net/proxyproto.c), or NULL */
	struct proxy_wait *pw;
};

struct tls_ctx;

/* Accept a new socket: set it up (with implicit TLS when tls is non-NULL) and hand
   it to admission (net/admit.h), which refuses it, starts it, or starts it once its
   reverse lookup is done; with proxy, a PROXY protocol header is read first
   (net/proxyproto.h). Returns the connection or NULL after closing fd. */
struct conn *conn_accept(struct net_server *srv, int fd, const struct sockaddr_storage *peer,
			 struct tls_ctx *tls, bool proxy);

/* Arm the receive if it is not armed (conn_start() does; a PROXY listener reads
   its header before). */
void conn_recv_start(struct conn *c);

/* Start an admitted connection: implicit TLS (when tls is non-NULL), the protocol
   (which queues its greeting) and the receive. */
void conn_start(struct conn *c, struct tls_ctx *tls);

/* Queue the connection for a send at the end of this loop turn. */
void conn_mark_dirty(struct conn *c);

/* Hand plaintext to the protocol (called by the transport). */
void conn_deliver(struct conn *c, const unsigned char *data, size_t len);

/* Close the connection. With flush, what is queued is sent first (bounded by a
   linger timeout; held output is not waited for); without, it is dropped. Safe to
   call more than once. */
void conn_close(struct conn *c, bool flush);

/* Stop / resume receiving (input back-pressure). */
void conn_pause_recv(struct conn *c);
void conn_resume_recv(struct conn *c);

/* Hold (true) or release (false) the output: while held nothing queued is sent
   (a reply waiting for its change to reach the disk). */
void conn_hold_output(struct conn *c, bool hold);

/* Call the handler's wake() at the start of the next loop turn (once, however often
   this is called before). */
void conn_wake_soon(struct conn *c);

/* Call the handler's wake() at when_ms (clock_ms() time); a later call moves it,
   0 cancels it. */
void conn_wake_at(struct conn *c, uint64_t when_ms);

/* Re-arm the idle timer from now with the protocol's current timeout (after a
   state change such as login). */
void conn_idle_reset(struct conn *c);

/* Reset the idle timer after activity. */
void conn_touch(struct conn *c);

/* Start TLS on the connection (STARTTLS) with the server's certificate: bytes
   queued before go out in plaintext first. Returns 0, or -1 when the server has
   no TLS or it failed to start. */
int conn_starttls(struct conn *c);

/* Whether the server can start TLS on this connection (it has a certificate and
   the connection is not secure yet). */
bool conn_can_starttls(const struct conn *c);

/* Ring completion handlers (called from the server's one switch). */
void conn_handle_recv(struct conn *c, int res, unsigned flags);
void conn_handle_send(struct conn *c, int res);

/* Submit a send for the connection if it has data and none is in flight. */
void conn_flush(struct conn *c);

/* Free every connection queued for freeing that no longer has anything pending. */
void conn_reap(struct net_server *srv);
/* Free the calling thread's cached send buffers (when its loop ends, and at free). */
void conn_cache_free(void);

/* Run the wake-ups asked for with conn_wake_soon() (once per loop turn). */
void conn_run_wakes(struct net_server *srv);

/* Free the connection now, whatever is pending (the ring is going away). */
void conn_destroy(struct conn *c);

/* Re-check whether a closed connection can be freed (e.g. after an asynchronous
   protocol operation finished). */
void conn_check_free(struct conn *c);

/* The client authenticated: it no longer counts against the per-address limit
   of unauthenticated connections. */
void conn_set_authenticated(struct conn *c);

/* Turn on COMPRESS=DEFLATE (RFC 4978) in both directions: what is queued now (the
   tagged OK) is sent uncompressed, everything queued later is deflated (and then
   encrypted under TLS); input is inflated from the next byte the transport
   delivers. Returns 0, -EALREADY when it is on, or -ENOMEM. */
int conn_compress(struct conn *c);

/* Compressed input the protocol received in plaintext (bytes pipelined after the
   COMPRESS command in the same read): inflated and delivered at the next loop
   turn, ahead of later input. Closes the connection on overflow. */
void conn_compress_input(struct conn *c, const unsigned char *data, size_t len);

/* Whether COMPRESS is on. */
static inline bool conn_is_compressed(const struct conn *c)
{
	return c->z != NULL;
}

/* Bytes queued but not yet sent: the protocol's queue, and the compressed one. */
static inline size_t conn_unsent(const struct conn *c)
{
	return c->out.bytes + (c->txq != &c->out ? c->txq->bytes : 0);
}

/* Whether the transport is TLS. */
static inline bool conn_is_secure(const struct conn *c)
{
	return c->tv->secure != 0;
}

/* "ip:port" or "[ip6]:port" of ss into out (size bytes). */
void conn_format_addr(const struct sockaddr_storage *ss, char *out, size_t size);

#endif
