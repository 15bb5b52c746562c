/* TLS handshakes on worker threads: a connection's handshake step (wolfSSL_accept()
   over the ciphertext buffered so far) runs on a pool; its output comes back to the
   loop through the pool's eventfd, read on the ring. Who owns a connection's WOLFSSL
   when: docs/architecture.md, "TLS handshakes on worker threads". */
#ifndef NET_TLS_HANDSHAKE_H
#define NET_TLS_HANDSHAKE_H

#include "core/workq.h"
#include "loop/ring.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct WOLFSSL;
struct WOLFSSL_CTX;

/* Upper bound for tls_hs_pool_create()'s n_workers (the tls-workers option). */
#define TLS_HS_MAX_WORKERS 64

/* One handshake step. Built on the loop by tls_hs_job_new(), owned by the pool from
   tls_hs_submit() until it is handed back (and then released by the pool). While it
   runs, the worker owns ssl and the job's buffers; the loop touches neither. */
struct tls_hs_job {
	struct workq_job job;        /* cookie: the connection */
	struct conn *c;
	/* the connection's WOLFSSL; NULL: the step creates it from wctx first (so
	   that wolfSSL_new(), its allocations and RNG seeding, is not on the loop)
	   and sets own_ssl until the loop adopts it */
	struct WOLFSSL *ssl;
	struct WOLFSSL_CTX *wctx;
	bool own_ssl;
	/* ciphertext fed to wolfSSL, consumed from in_off */
	unsigned char *in;
	size_t in_off, in_len;
	/* what wolfSSL wrote meanwhile (handshake messages, a ticket, an alert) */
	unsigned char *out;
	size_t out_len, out_cap;
	/* the result: 1 handshake done, 0 more input needed, -1 failed (err is
	   wolfSSL_get_error()'s code) */
	int result;
	int err;
	bool starved;                /* the recv callback ran out of input */
};

/* Called on the loop thread with each step that comes back; the job is released
   right after (so copy what is kept). */
typedef void tls_hs_done_fn(struct tls_hs_job *job);

struct tls_hs_pool;

/* Start n_workers (1..TLS_HS_MAX_WORKERS) handshake threads, each running at nice
   (0..19) above the process's own niceness, so that under CPU contention the loop
   thread is scheduled first; done receives the finished steps. Returns the pool, or
   NULL with *error_r (static). */
struct tls_hs_pool *tls_hs_pool_create(unsigned n_workers, unsigned nice,
				       tls_hs_done_fn *done, const char **error_r);

/* Arm the read of the pool's eventfd on ring (on the loop's thread). */
void tls_hs_pool_attach(struct tls_hs_pool *p, struct ring *ring);

/* A step for connection c over ssl (NULL: the step creates it from wctx, with c as
   its I/O context) holding a copy of a (alen bytes) followed by b (blen bytes).
   Never NULL (allocation failure aborts, as xmalloc does). */
struct tls_hs_job *tls_hs_job_new(struct conn *c, struct WOLFSSL *ssl,
				  struct WOLFSSL_CTX *wctx,
				  const unsigned char *a, size_t alen,
				  const unsigned char *b, size_t blen);

/* Free a job that was not submitted, or released: a WOLFSSL the step created and
   nobody adopted (own_ssl) is freed with it. */
void tls_hs_job_free(struct tls_hs_job *job);

/* Queue job. Returns 0 (the pool owns it until it is handed to done), or -EAGAIN when
   too many steps are outstanding (the caller keeps the job). */
int tls_hs_submit(struct tls_hs_pool *p, struct tls_hs_job *job);

/* The I/O callbacks' side while a step runs (worker thread): copy up to sz input
   bytes into buf (returns the count, or 0 with job->starved set when none is left);
   append sz output bytes (returns sz). */
int tls_hs_io_recv(struct tls_hs_job *job, char *buf, int sz);
int tls_hs_io_send(struct tls_hs_job *job, const char *buf, int sz);

/* Hand every finished step to done now (loop thread), without the ring: what the
   eventfd read does. For callers without a ring (unit tests). Returns the count. */
unsigned tls_hs_pool_collect(struct tls_hs_pool *p);

/* The pool's eventfd (readable when finished steps wait; see workq_fd()). */
int tls_hs_pool_fd(const struct tls_hs_pool *p);

/* Stop the threads (a step under way finishes first; a test delay is cut short) and
   drop every step not handed back yet, without calling done. Call before freeing the
   connections whose steps may be outstanding. p may be NULL. */
void tls_hs_pool_stop(struct tls_hs_pool *p);

/* Free the pool (stopping it first if needed); *p becomes NULL. Call after the ring
   is gone (its pending read points into the pool). *p may be NULL. */
void tls_hs_pool_destroy(struct tls_hs_pool **p);

#endif
