/* Worker thread pool: a queue, a running list and a done list under one lock, and an
   eventfd that wakes the loop when results wait. */
#include "core/workq.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct workq {
	/* permanent */
	const struct workq_ops *ops;
	int efd;
	unsigned n_threads;
	unsigned max_pending;
	pthread_mutex_t lock;
	pthread_cond_t cond;  /* signalled when a job is queued or on stop */

	/* protected by lock */
	struct workq_job *queue_head, **queue_tail;
	struct workq_job *running;
	struct workq_job *done_head, **done_tail;
	struct workq_job *collecting; /* taken by workq_collect(), not handed back yet */
	unsigned outstanding; /* submitted and not yet collected */
	bool notified;        /* eventfd written since the last collect */
	bool stopping;

	pthread_t threads[];
};

static void release_list(struct workq *q, struct workq_job *job)
{
	while (job != NULL) {
		struct workq_job *next = job->next;

		q->ops->release(job);
		job = next;
	}
}

static void *workq_thread(void *arg)
{
	struct workq *q = arg;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct workq_job *job;
		bool wake;

		while (q->queue_head == NULL && !q->stopping)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->stopping)
			break;
		job = q->queue_head;
		q->queue_head = job->next;
		if (q->queue_head == NULL)
			q->queue_tail = &q->queue_head;
		job->next = q->running;
		job->pprev = &q->running;
		if (q->running != NULL)
			q->running->pprev = &job->next;
		q->running = job;
		pthread_mutex_unlock(&q->lock);

		q->ops->run(job);

		pthread_mutex_lock(&q->lock);
		*job->pprev = job->next;
		if (job->next != NULL)
			job->next->pprev = job->pprev;
		job->next = NULL;
		*q->done_tail = job;
		q->done_tail = &job->next;
		/* One eventfd write per batch: later completions before the next
		   collect ride on the same wake-up. */
		wake = !q->notified;
		q->notified = true;
		if (wake) {
			uint64_t one = 1;

			/* Cannot fail short of counter overflow; a failed write only
			   delays results until the next wake-up. */
			if (write(q->efd, &one, sizeof(one)) < 0) {
				/* ignored */
			}
		}
	}
	pthread_mutex_unlock(&q->lock);
	if (q->ops->thread_exit != NULL)
		q->ops->thread_exit();
	return NULL;
}

/* Stops and joins the first n threads. */
static void workq_stop(struct workq *q, unsigned n)
{
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	for (unsigned i = 0; i < n; i++)
		pthread_join(q->threads[i], NULL);
}

struct workq *workq_create(const char *name, unsigned n_threads, unsigned max_pending,
			   const struct workq_ops *ops, const char **error_r)
{
	struct workq *q;
	sigset_t all, old;
	unsigned started = 0;
	int err = 0;

	if (n_threads == 0 || n_threads > WORKQ_MAX_THREADS) {
		*error_r = "thread count out of range";
		return NULL;
	}
	if (max_pending == 0) {
		*error_r = "queue bound out of range";
		return NULL;
	}
	q = calloc(1, sizeof(*q) + n_threads * sizeof(q->threads[0]));
	if (q == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	q->ops = ops;
	q->n_threads = n_threads;
	q->max_pending = max_pending;
	q->queue_tail = &q->queue_head;
	q->done_tail = &q->done_head;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0) {
		*error_r = "eventfd() failed";
		free(q);
		return NULL;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);

	/* Workers inherit a full signal mask: signals belong to the loop thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (; started < n_threads; started++) {
		err = pthread_create(&q->threads[started], NULL, workq_thread, q);
		if (err != 0)
			break;
		pthread_setname_np(q->threads[started], name);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		workq_stop(q, started);
		pthread_cond_destroy(&q->cond);
		pthread_mutex_destroy(&q->lock);
		close(q->efd);
		free(q);
		*error_r = "pthread_create() failed";
		return NULL;
	}
	return q;
}

int workq_fd(const struct workq *q)
{
	return q->efd;
}

int workq_submit(struct workq *q, struct workq_job *job)
{
	job->next = NULL;
	job->pprev = NULL;
	job->cancelled = false;
	pthread_mutex_lock(&q->lock);
	if (q->outstanding >= q->max_pending) {
		pthread_mutex_unlock(&q->lock);
		return -EAGAIN;
	}
	q->outstanding++;
	*q->queue_tail = job;
	q->queue_tail = &job->next;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

unsigned workq_collect(struct workq *q, workq_done_fn *done, void *arg)
{
	struct workq_job *job;
	unsigned n = 0;

	pthread_mutex_lock(&q->lock);
	q->collecting = q->done_head;
	q->done_head = NULL;
	q->done_tail = &q->done_head;
	q->notified = false;
	for (job = q->collecting; job != NULL; job = job->next)
		n++;
	/* Released before the callbacks run, so they can submit again. */
	q->outstanding -= n;
	pthread_mutex_unlock(&q->lock);

	for (;;) {
		bool cancelled = false;

		/* one at a time: a callback may cancel a job further down the list */
		pthread_mutex_lock(&q->lock);
		job = q->collecting;
		if (job != NULL) {
			q->collecting = job->next;
			cancelled = job->cancelled;
		}
		pthread_mutex_unlock(&q->lock);
		if (job == NULL)
			break;
		if (!cancelled)
			done(job, arg);
		q->ops->release(job);
	}
	return n;
}

void workq_cancel(struct workq *q, void *cookie)
{
	struct workq_job *dropped = NULL;

	pthread_mutex_lock(&q->lock);
	/* queued: never run */
	struct workq_job **pp = &q->queue_head;
	q->queue_tail = &q->queue_head;
	while (*pp != NULL) {
		struct workq_job *job = *pp;
		if (job->cookie == cookie) {
			*pp = job->next;
			q->outstanding--;
			job->next = dropped;
			dropped = job;
			continue;
		}
		q->queue_tail = &job->next;
		pp = &job->next;
	}
	/* running, or done: dropped at collect */
	for (struct workq_job *job = q->running; job != NULL; job = job->next)
		if (job->cookie == cookie)
			job->cancelled = true;
	for (struct workq_job *job = q->done_head; job != NULL; job = job->next)
		if (job->cookie == cookie)
			job->cancelled = true;
	for (struct workq_job *job = q->collecting; job != NULL; job = job->next)
		if (job->cookie == cookie)
			job->cancelled = true;
	pthread_mutex_unlock(&q->lock);
	release_list(q, dropped);
}

unsigned workq_outstanding(struct workq *q)
{
	pthread_mutex_lock(&q->lock);
	unsigned n = q->outstanding;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void workq_destroy(struct workq **qp)
{
	struct workq *q = *qp;

	if (q == NULL)
		return;
	*qp = NULL;
	workq_stop(q, q->n_threads);
	release_list(q, q->queue_head);
	release_list(q, q->done_head);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	close(q->efd);
	free(q);
}
