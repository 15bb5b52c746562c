/* Blocking password checks on worker threads (a core/workq pool), off the event loop. */
#ifndef AUTH_AUTH_WORKER_H
#define AUTH_AUTH_WORKER_H

#include "uimap/auth.h"

/* Jobs submitted but not yet collected; auth_worker_submit() fails beyond this. */
#define AUTH_WORKER_MAX_PENDING 4096
/* Upper bound for auth_worker_create()'s n_threads. */
#define AUTH_WORKER_MAX_THREADS 256

struct auth_worker;

/* Called by auth_worker_collect() on the loop thread for each finished job: result
   is what verify_plain returned (1 match, 0 no match, -1 internal error) and error
   is its static error text when result is -1, else NULL. */
typedef void auth_worker_done_fn(void *cookie, int result, const char *error, void *arg);

/* Start n_threads (1..AUTH_WORKER_MAX_THREADS) worker threads. They block every
   signal. Returns the pool, or NULL with *error_r (static storage). */
struct auth_worker *auth_worker_create(unsigned n_threads, const char **error_r);

/* The pool's eventfd (EFD_NONBLOCK | EFD_CLOEXEC). It becomes readable when finished
   jobs are waiting; the loop reads the 8-byte counter, then calls
   auth_worker_collect(). A wake-up may find nothing to collect. Owned by the pool. */
int auth_worker_fd(const struct auth_worker *w);

/* Queue backend->verify_plain(backend_ctx, user, password) for a worker thread.
   user and password are copied; the password copy is wiped once checked (or when
   the job is discarded). cookie is handed back to the done callback. Returns 0,
   -EAGAIN when AUTH_WORKER_MAX_PENDING jobs are uncollected, or -EINVAL when
   backend has no verify_plain. */
int auth_worker_submit(struct auth_worker *w, const struct uimap_auth_backend *backend,
		       void *backend_ctx, const char *user, const char *password,
		       void *cookie);

/* Call done(cookie, result, error, arg) for every job finished so far, in completion
   order, from the calling (loop) thread; the pool's lock is not held, so done may
   submit new jobs, but must not destroy the pool. Returns the number of calls. */
unsigned auth_worker_collect(struct auth_worker *w, auth_worker_done_fn *done, void *arg);

/* Forget every job submitted with cookie (its owner goes away): queued ones are
   dropped, the results of those being checked are never handed back. */
void auth_worker_cancel(struct auth_worker *w, void *cookie);

/* Stop and join the threads (jobs being checked run to completion first), discard
   queued and finished jobs without calling any callback, close the eventfd, free
   the pool and set *w to NULL. *w may be NULL. */
void auth_worker_destroy(struct auth_worker **w);

#endif
