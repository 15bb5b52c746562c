/* A pool of threads running blocking jobs (password hashing, name lookups) off the
   event loop; finished jobs are handed back on the loop thread after the pool's
   eventfd fires. One kind of job per pool, described by its ops. */
#ifndef CORE_WORKQ_H
#define CORE_WORKQ_H

#include <stdbool.h>

/* Upper bound for workq_create()'s n_threads. */
#define WORKQ_MAX_THREADS 256

/* Embedded in the caller's job. Lifecycle: submitted (queued), running on a worker,
   done until collected; then, or when cancelled while still queued, or discarded by
   workq_destroy(), ops->release frees it. The pool owns it from workq_submit() on. */
struct workq_job {
	struct workq_job *next;
	struct workq_job **pprev;  /* running list only */
	void *cookie;              /* the owner, for workq_cancel() */
	bool cancelled;            /* the owner went away: never handed back */
};

struct workq_ops {
	/* Do the blocking work, on a worker thread, without the pool's lock; the
	   result is stored in the caller's job. */
	void (*run)(struct workq_job *job);
	/* Free the job (any thread that calls into the pool; never while run() runs). */
	void (*release)(struct workq_job *job);
	/* Optional: called on each worker thread just before it exits (frees what the
	   thread keeps for itself, e.g. a library's thread-local caches). */
	void (*thread_exit)(void);
};

struct workq;

/* Called by workq_collect() on the loop thread for each finished job that was not
   cancelled; the job is released right after. */
typedef void workq_done_fn(struct workq_job *job, void *arg);

/* Start n_threads (1..WORKQ_MAX_THREADS) worker threads named name (at most 15
   bytes), which block every signal, accepting up to max_pending (>= 1) uncollected
   jobs. ops must outlive the pool. Returns the pool, or NULL with *error_r (static
   storage). */
struct workq *workq_create(const char *name, unsigned n_threads, unsigned max_pending,
			   const struct workq_ops *ops, const char **error_r);

/* The pool's eventfd (EFD_NONBLOCK | EFD_CLOEXEC). It becomes readable when finished
   jobs are waiting; the loop reads the 8-byte counter, then calls workq_collect(). A
   wake-up may find nothing to collect. Owned by the pool. */
int workq_fd(const struct workq *q);

/* Queue job (its cookie set by the caller) for a worker thread. Returns 0 (the pool
   owns the job), or -EAGAIN when max_pending jobs are uncollected (the caller keeps
   the job). Running jobs whose owner cancelled them count until they finish. */
int workq_submit(struct workq *q, struct workq_job *job);

/* Call done(job, arg) for every job finished so far and not cancelled, in
   completion order, on the calling (loop) thread, then release it. The pool's lock
   is not held: done may submit or cancel jobs, but must not destroy the pool.
   Returns the number of jobs collected (cancelled ones included). */
unsigned workq_collect(struct workq *q, workq_done_fn *done, void *arg);

/* Forget every job submitted with cookie (its owner goes away): queued ones are
   released now, those running or done are never handed back. */
void workq_cancel(struct workq *q, void *cookie);

/* Jobs submitted and not yet collected (queued, running, or done). */
unsigned workq_outstanding(struct workq *q);

/* Stop and join the threads (running jobs finish first), release queued and
   finished jobs without calling any callback, close the eventfd, free the pool and
   set *q to NULL. *q may be NULL. */
void workq_destroy(struct workq **q);

#endif
