/* Thread pool that runs blocking password checks off the event loop. */
#include "auth/auth-worker.h"
#include "core/alloc.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* One password check. Lives on the queue, then on the running list while a worker
   checks it, then on the done list until collected (or discarded by destroy). */
struct auth_job {
	struct auth_job *next;
	struct auth_job **pprev;  /* running list only */
	const struct uimap_auth_backend *backend;
	void *backend_ctx;
	void *cookie;
	bool cancelled;   /* the owner went away: the result is dropped */
	int result;
	const char *error;
	char *password;   /* points into data; wiped after the check */
	size_t password_len;
	char data[];      /* user NUL password NUL */
};

struct auth_worker {
	/* permanent */
	int efd;
	unsigned n_threads;
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* signalled when a job is queued or on stop */

	/* protected by lock */
	struct auth_job *queue_head, **queue_tail;
	struct auth_job *running;
	struct auth_job *done_head, **done_tail;
	unsigned outstanding; /* submitted and not yet collected */
	bool notified;        /* eventfd written since the last collect */
	bool stopping;

	pthread_t threads[];
};

static void auth_job_free(struct auth_job *job)
{
	if (job->password != NULL)
		explicit_bzero(job->password, job->password_len);
	free(job);
}

static void auth_job_free_list(struct auth_job *job)
{
	while (job != NULL) {
		struct auth_job *next = job->next;

		auth_job_free(job);
		job = next;
	}
}

static void auth_job_run(struct auth_job *job)
{
	const char *user = job->data;
	const char *error = NULL;
	int ret;

	ret = job->backend->verify_plain(job->backend_ctx, user, job->password, &error);
	explicit_bzero(job->password, job->password_len);
	job->password = NULL;
	if (ret != 0 && ret != 1) {
		ret = -1;
		if (error == NULL)
			error = "Internal authentication error";
	} else {
		error = NULL;
	}
	job->result = ret;
	job->error = error;
}

static void *auth_worker_thread(void *arg)
{
	struct auth_worker *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct auth_job *job;
		bool wake;

		while (w->queue_head == NULL && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stopping)
			break;
		job = w->queue_head;
		w->queue_head = job->next;
		if (w->queue_head == NULL)
			w->queue_tail = &w->queue_head;
		job->next = w->running;
		job->pprev = &w->running;
		if (w->running != NULL)
			w->running->pprev = &job->next;
		w->running = job;
		pthread_mutex_unlock(&w->lock);

		auth_job_run(job);

		pthread_mutex_lock(&w->lock);
		*job->pprev = job->next;
		if (job->next != NULL)
			job->next->pprev = job->pprev;
		job->next = NULL;
		*w->done_tail = job;
		w->done_tail = &job->next;
		/* One eventfd write per batch: later completions before the next
		   collect ride on the same wake-up. */
		wake = !w->notified;
		w->notified = true;
		if (wake) {
			uint64_t one = 1;

			/* Cannot fail short of counter overflow; a failed write only
			   delays results until the next wake-up. */
			if (write(w->efd, &one, sizeof(one)) < 0) {
				/* ignored */
			}
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Stops and joins the first n threads. */
static void auth_worker_stop(struct auth_worker *w, unsigned n)
{
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(w->threads[i], NULL);
}

struct auth_worker *auth_worker_create(unsigned n_threads, const char **error_r)
{
	struct auth_worker *w;
	sigset_t all, old;
	unsigned started = 0;
	int err = 0;

	if (n_threads == 0 || n_threads > AUTH_WORKER_MAX_THREADS) {
		*error_r = "auth workers: thread count out of range";
		return NULL;
	}
	w = calloc(1, sizeof(*w) + n_threads * sizeof(w->threads[0]));
	if (w == NULL) {
		*error_r = "auth workers: out of memory";
		return NULL;
	}
	w->n_threads = n_threads;
	w->queue_tail = &w->queue_head;
	w->done_tail = &w->done_head;
	w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->efd < 0) {
		*error_r = "auth workers: eventfd() failed";
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);

	/* Workers inherit a full signal mask: signals belong to the loop thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; started < n_threads; started++) {
		err = pthread_create(&w->threads[started], NULL, auth_worker_thread, w);
		if (err != 0)
			break;
		pthread_setname_np(w->threads[started], "uimap-auth");
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		auth_worker_stop(w, started);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		close(w->efd);
		free(w);
		*error_r = "auth workers: pthread_create() failed";
		return NULL;
	}
	return w;
}

int auth_worker_fd(const struct auth_worker *w)
{
	return w->efd;
}

int auth_worker_submit(struct auth_worker *w, const struct uimap_auth_backend *backend,
		       void *backend_ctx, const char *user, const char *password,
		       void *cookie)
{
	size_t user_len = strlen(user), pass_len = strlen(password);
	struct auth_job *job;

	if (backend == NULL || backend->verify_plain == NULL)
		return -EINVAL;
	job = xmalloc(sizeof(*job) + user_len + 1 + pass_len + 1);
	job->next = NULL;
	job->backend = backend;
	job->backend_ctx = backend_ctx;
	job->cookie = cookie;
	job->cancelled = false;
	job->result = -1;
	job->error = NULL;
	memcpy(job->data, user, user_len + 1);
	job->password = job->data + user_len + 1;
	job->password_len = pass_len;
	memcpy(job->password, password, pass_len + 1);

	pthread_mutex_lock(&w->lock);
	if (w->outstanding >= AUTH_WORKER_MAX_PENDING) {
		pthread_mutex_unlock(&w->lock);
		auth_job_free(job);
		return -EAGAIN;
	}
	w->outstanding++;
	*w->queue_tail = job;
	w->queue_tail = &job->next;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

unsigned auth_worker_collect(struct auth_worker *w, auth_worker_done_fn *done, void *arg)
{
	struct auth_job *job, *list;
	unsigned n = 0;

	pthread_mutex_lock(&w->lock);
	list = w->done_head;
	w->done_head = NULL;
	w->done_tail = &w->done_head;
	w->notified = false;
	for (job = list; job != NULL; job = job->next)
		n++;
	/* Released before the callbacks run, so they can submit again. */
	w->outstanding -= n;
	pthread_mutex_unlock(&w->lock);

	while (list != NULL) {
		job = list;
		list = job->next;
		if (!job->cancelled)
			done(job->cookie, job->result, job->error, arg);
		auth_job_free(job);
	}
	return n;
}

void auth_worker_cancel(struct auth_worker *w, void *cookie)
{
	pthread_mutex_lock(&w->lock);
	/* queued: never checked */
	struct auth_job **pp = &w->queue_head;
	w->queue_tail = &w->queue_head;
	while (*pp != NULL) {
		struct auth_job *job = *pp;
		if (job->cookie == cookie) {
			*pp = job->next;
			w->outstanding--;
			auth_job_free(job);
			continue;
		}
		w->queue_tail = &job->next;
		pp = &job->next;
	}
	/* being checked, or checked: the result is dropped at collect */
	for (struct auth_job *job = w->running; job != NULL; job = job->next)
		if (job->cookie == cookie)
			job->cancelled = true;
	for (struct auth_job *job = w->done_head; job != NULL; job = job->next)
		if (job->cookie == cookie)
			job->cancelled = true;
	pthread_mutex_unlock(&w->lock);
}

void auth_worker_destroy(struct auth_worker **wp)
{
	struct auth_worker *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	auth_worker_stop(w, w->n_threads);
	auth_job_free_list(w->queue_head);
	auth_job_free_list(w->done_head);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	close(w->efd);
	free(w);
}
