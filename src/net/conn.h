/* A client connection: socket, transport, output queue, ring operations, timers. */
#ifndef NET_CONN_H
#define NET_CONN_H

#include "core/outq.h"
#include "net/transport.h"
#include "loop/timer.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct uimap_server;
struct session;
struct ipentry;
struct sendbuf;

/* Output queued beyond this suspends a command (FETCH) and input processing; the
   session resumes when the queue falls under half of it. */
#define CONN_OUT_HIGH_WATER (256 * 1024)

struct conn {
	/* permanent */
	struct uimap_server *srv;
	int fd;
	unsigned long id;
	char addr[64];               /* "ip:port" for logs */
	struct sockaddr_storage peer;
	struct ipentry *ip;          /* per-address counters (NULL for rejected conns) */
	const struct transport_vfuncs *tv;
	void *tctx;
	struct session *session;     /* NULL for a connection rejected with BYE */
	struct conn *prev, *next;    /* server's list of connections */

	/* output: text and references queued by the session, flushed once per turn */
	struct outq out;
	struct sendbuf *sending;     /* iovecs of the sendmsg in flight */
	struct conn *next_dirty;
	bool dirty;
	struct conn *next_reap;
	bool reap_queued;
	/* journal-fsync=always: output is held until this journal record is durable */
	uint64_t hold_seq;
	struct conn *next_held;
	bool held;

	/* ring operation state */
	unsigned pending;            /* operations whose final CQE has not arrived */
	bool recv_armed;
	bool recv_paused;            /* stopped reading (back-pressure) */
	bool closing;                /* no more input is processed */
	bool close_after_flush;
	bool shut;                   /* shutdown(2) done, waiting for pending ops */

	uint64_t last_active_ms;
	struct timer idle_timer;
	struct timer linger_timer;
};

struct tls_ctx;

/* Accept a new socket: set it up (with implicit TLS when tls is non-NULL) and arm
   its receive. Returns the connection (greeting queued) or NULL after closing fd. */
struct conn *conn_accept(struct uimap_server *srv, int fd, const struct sockaddr_storage *peer,
			 struct tls_ctx *tls);

/* Queue the connection for a send at the end of this loop turn. */
void conn_mark_dirty(struct conn *c);

/* Hand plaintext to the protocol session (called by the transport). */
void conn_deliver(struct conn *c, const unsigned char *data, size_t len);

/* Close the connection. With flush, what is queued is sent first (bounded by a
   linger timeout); without, it is dropped. Safe to call more than once. */
void conn_close(struct conn *c, bool flush);

/* Stop / resume receiving (input back-pressure). */
void conn_pause_recv(struct conn *c);
void conn_resume_recv(struct conn *c);

/* Re-arm the idle timer from now with the session's current timeout (after a
   state change such as login). */
void conn_idle_reset(struct conn *c);

/* Reset the idle timer after activity. */
void conn_touch(struct conn *c);

/* Ring completion handlers (called from the server's one switch). */
void conn_handle_recv(struct conn *c, int res, unsigned flags);
void conn_handle_send(struct conn *c, int res);

/* Submit a send for the connection if it has data and none is in flight. */
void conn_flush(struct conn *c);

/* Free every connection queued for freeing that no longer has anything pending. */
void conn_reap(struct uimap_server *srv);

/* Free the connection now, whatever is pending (the ring is going away). */
void conn_destroy(struct conn *c);

/* Re-check whether a closed connection can be freed (e.g. after an asynchronous
   session operation finished). */
void conn_check_free(struct conn *c);

/* Whether the transport is TLS. */
static inline bool conn_is_secure(const struct conn *c)
{
	return c->tv->secure != 0;
}

#endif
