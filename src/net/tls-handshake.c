/* TLS handshake steps on a worker pool: wolfSSL_accept() over memory buffers, results to the loop. */
#define WOLFSSL_OPTIONS_IGNORE_SYS /* keep our own _FORTIFY_SOURCE */
#include <wolfssl/options.h>  /* first: the library's build configuration */

#include "net/tls-handshake.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/failpoint.h"

#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Steps outstanding per worker before tls_hs_submit() says -EAGAIN (the caller then
   runs the step on the loop): a connection has at most one, so this only bounds a
   storm of new connections. */
#define TLS_HS_PENDING_PER_WORKER 1024
/* wolfSSL_accept() calls that took no input before the step gives up and waits for
   more (guards against a library that makes no progress; as in tls.c). */
#define TLS_HS_IDLE_SPINS 64

struct tls_hs_pool {
	/* permanent */
	struct ring_handler h;   /* the eventfd read; first: 16-byte aligned */
	uint64_t val;
	struct workq *q;
	struct ring *ring;
	tls_hs_done_fn *done;
	unsigned nice;           /* added to each worker's niceness */
	int stopping;            /* atomic: cuts a test delay short */
};

/* The pool a job runs in, for the test delay: kept beside the job by submit. */
struct hs_slot {
	struct tls_hs_job job;
	struct tls_hs_pool *pool;
};

static void hs_run(struct workq_job *wj)
{
	struct hs_slot *slot = container_of(wj, struct hs_slot, job.job);
	struct tls_hs_job *job = &slot->job;
	unsigned spins = 0;

	/* the first step on this thread lowers its priority (Linux: per thread) */
	static __thread bool niced;
	if (!niced) {
		niced = true;
		int tid = (int)syscall(SYS_gettid);
		errno = 0;
		int base = getpriority(PRIO_PROCESS, (id_t)tid);
		if (errno == 0 && slot->pool->nice > 0)
			(void)setpriority(PRIO_PROCESS, (id_t)tid,
					  MIN(base + (int)slot->pool->nice, 19));
	}
	/* the test delay (failpoint "tls-handshake=<N>ms"): a slow handshake */
	failpoint_sleep("tls-handshake", &slot->pool->stopping);
	if (job->ssl == NULL) {
		job->ssl = wolfSSL_new(job->wctx);
		if (job->ssl == NULL) {
			job->result = -1;
			job->err = MEMORY_E;
			return;
		}
		job->own_ssl = true;
		wolfSSL_SetIOReadCtx(job->ssl, job->c);
		wolfSSL_SetIOWriteCtx(job->ssl, job->c);
	}
	for (;;) {
		size_t off = job->in_off;
		job->starved = false;
		int ret = wolfSSL_accept(job->ssl);
		if (ret == WOLFSSL_SUCCESS) {
			job->result = 1;
			return;
		}
		int err = wolfSSL_get_error(job->ssl, ret);
		if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE) {
			job->result = -1;
			job->err = err;
			return;
		}
		job->result = 0;
		if (job->starved)
			return;
		if (job->in_off != off)
			spins = 0;
		else if (++spins > TLS_HS_IDLE_SPINS)
			return;
	}
}

static void hs_release(struct workq_job *wj)
{
	tls_hs_job_free(&container_of(wj, struct hs_slot, job.job)->job);
}

/* Each worker thread's FP_ECC cache (Debian's build) is thread-local: freed here,
   as wolfSSL_Cleanup() frees the loop thread's. */
static void hs_thread_exit(void)
{
#ifdef FP_ECC
	wc_ecc_fp_free();
#endif
}

static const struct workq_ops hs_ops = {
	.run = hs_run,
	.release = hs_release,
	.thread_exit = hs_thread_exit,
};

struct tls_hs_pool *tls_hs_pool_create(unsigned n_workers, unsigned nice,
				       tls_hs_done_fn *done, const char **error_r)
{
	if (n_workers == 0 || n_workers > TLS_HS_MAX_WORKERS) {
		*error_r = "tls-workers out of range (0..64)";
		return NULL;
	}
	struct tls_hs_pool *p = aligned_alloc(16, (sizeof(*p) + 15) & ~(size_t)15);
	if (p == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	memset(p, 0, sizeof(*p));
	p->done = done;
	p->nice = MIN(nice, 19u);
	p->q = workq_create("uimap-tls", n_workers, n_workers * TLS_HS_PENDING_PER_WORKER,
			    &hs_ops, error_r);
	if (p->q == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

static void hs_done(struct workq_job *wj, void *arg)
{
	struct tls_hs_pool *p = arg;
	p->done(&container_of(wj, struct hs_slot, job.job)->job);
}

unsigned tls_hs_pool_collect(struct tls_hs_pool *p)
{
	return p->q != NULL ? workq_collect(p->q, hs_done, p) : 0;
}

int tls_hs_pool_fd(const struct tls_hs_pool *p)
{
	return workq_fd(p->q);
}

static void hs_ready(struct ring_handler *h, int res, unsigned flags)
{
	struct tls_hs_pool *p = container_of(h, struct tls_hs_pool, h);
	(void)flags;
	if (p->q == NULL)
		return;
	tls_hs_pool_collect(p);
	/* also while stopping: a connection may still wait for its step */
	if (res != -ECANCELED)
		ring_read(p->ring, workq_fd(p->q), &p->val, sizeof(p->val), &p->h);
}

void tls_hs_pool_attach(struct tls_hs_pool *p, struct ring *ring)
{
	p->ring = ring;
	p->h.fn = hs_ready;
	ring_read(ring, workq_fd(p->q), &p->val, sizeof(p->val), &p->h);
}

struct tls_hs_job *tls_hs_job_new(struct conn *c, struct WOLFSSL *ssl,
				  struct WOLFSSL_CTX *wctx,
				  const unsigned char *a, size_t alen,
				  const unsigned char *b, size_t blen)
{
	struct hs_slot *slot = xmalloc(sizeof(*slot));
	struct tls_hs_job *job = &slot->job;
	memset(slot, 0, sizeof(*slot));
	job->job.cookie = c;
	job->c = c;
	job->ssl = ssl;
	job->wctx = wctx;
	job->in_len = alen + blen;
	job->in = xmalloc(job->in_len > 0 ? job->in_len : 1);
	if (alen > 0)
		memcpy(job->in, a, alen);
	if (blen > 0)
		memcpy(job->in + alen, b, blen);
	return job;
}

void tls_hs_job_free(struct tls_hs_job *job)
{
	if (job->own_ssl)
		wolfSSL_free(job->ssl);
	free(job->in);
	free(job->out);
	free(container_of(job, struct hs_slot, job));
}

int tls_hs_submit(struct tls_hs_pool *p, struct tls_hs_job *job)
{
	container_of(job, struct hs_slot, job)->pool = p;
	return workq_submit(p->q, &job->job);
}

int tls_hs_io_recv(struct tls_hs_job *job, char *buf, int sz)
{
	size_t k = MIN((size_t)sz, job->in_len - job->in_off);
	if (k == 0) {
		job->starved = true;
		return 0;
	}
	memcpy(buf, job->in + job->in_off, k);
	job->in_off += k;
	return (int)k;
}

int tls_hs_io_send(struct tls_hs_job *job, const char *buf, int sz)
{
	size_t n = (size_t)sz;
	if (job->out_len + n > job->out_cap) {
		job->out_cap = MAX(job->out_len + n, job->out_cap * 2);
		job->out = xrealloc(job->out, job->out_cap);
	}
	memcpy(job->out + job->out_len, buf, n);
	job->out_len += n;
	return sz;
}

void tls_hs_pool_stop(struct tls_hs_pool *p)
{
	if (p == NULL || p->q == NULL)
		return;
	__atomic_store_n(&p->stopping, 1, __ATOMIC_RELAXED);
	workq_destroy(&p->q);
}

void tls_hs_pool_destroy(struct tls_hs_pool **pp)
{
	struct tls_hs_pool *p = *pp;
	if (p == NULL)
		return;
	*pp = NULL;
	tls_hs_pool_stop(p);
	free(p);
}
