/* Unit tests for the worker pool: the bound, completion order, cancellation (queued,
   running, and from inside a callback of the same collect), release accounting. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/workq.h"

struct job {
	struct workq_job wj;
	int value;
	int *gate;        /* run waits until *gate is non-zero (NULL: no wait) */
	int started, ran; /* atomic */
};

static int released;
static int done_sum, done_calls;
static struct workq *cancel_q;   /* the pool a callback cancels the other job on */
static void *cookie_a, *cookie_b;

static void job_run(struct workq_job *wj)
{
	struct job *j = (struct job *)wj;
	__atomic_store_n(&j->started, 1, __ATOMIC_RELEASE);
	while (j->gate != NULL && !__atomic_load_n(j->gate, __ATOMIC_ACQUIRE))
		usleep(1000);
	__atomic_store_n(&j->ran, 1, __ATOMIC_RELEASE);
}

static void job_release(struct workq_job *wj)
{
	__atomic_add_fetch(&released, 1, __ATOMIC_RELAXED);
	free(wj);
}

static const struct workq_ops ops = { job_run, job_release };

static struct job *job_new(int value, void *cookie, int *gate)
{
	struct job *j = calloc(1, sizeof(*j));
	j->value = value;
	j->gate = gate;
	j->wj.cookie = cookie;
	return j;
}

static void on_done(struct workq_job *wj, void *arg)
{
	struct job *j = (struct job *)wj;
	(void)arg;
	cr_assert(j->ran);
	done_sum += j->value;
	done_calls++;
	if (cancel_q != NULL)
		workq_cancel(cancel_q, wj->cookie == cookie_a ? cookie_b : cookie_a);
}

/* Waits on the eventfd and collects until the pool holds nothing. */
static void drain(struct workq *q)
{
	while (workq_outstanding(q) > 0) {
		struct pollfd pfd = { .fd = workq_fd(q), .events = POLLIN };
		uint64_t v;
		cr_assert_eq(poll(&pfd, 1, 10000), 1);
		cr_assert_eq(read(pfd.fd, &v, sizeof(v)), (ssize_t)sizeof(v));
		workq_collect(q, on_done, NULL);
	}
}

static void wait_flag(int *flag)
{
	for (int i = 0; i < 10000 && !__atomic_load_n(flag, __ATOMIC_ACQUIRE); i++)
		usleep(1000);
	cr_assert(__atomic_load_n(flag, __ATOMIC_ACQUIRE));
}

static void reset(void)
{
	released = done_sum = done_calls = 0;
	cancel_q = NULL;
}

Test(workq, bounds)
{
	const char *err = NULL;
	reset();
	cr_assert_null(workq_create("t", 0, 1, &ops, &err));
	cr_assert_not_null(err);
	cr_assert_null(workq_create("t", WORKQ_MAX_THREADS + 1, 1, &ops, &err));
	cr_assert_null(workq_create("t", 1, 0, &ops, &err));

	int gate = 0;
	struct workq *q = workq_create("t", 1, 3, &ops, &err);
	cr_assert_not_null(q, "%s", err);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(workq_submit(q, &job_new(1, NULL, &gate)->wj), 0);
	struct job *extra = job_new(1, NULL, NULL);
	cr_assert_eq(workq_submit(q, &extra->wj), -EAGAIN);   /* the caller keeps it */
	free(extra);
	cr_assert_eq(workq_outstanding(q), 3);
	__atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
	drain(q);
	cr_assert_eq(done_calls, 3);
	cr_assert_eq(released, 3);
	workq_destroy(&q);
	cr_assert_null(q);
}

Test(workq, cancel_queued_and_running)
{
	const char *err = NULL;
	int gate = 0, a, b;
	reset();
	struct workq *q = workq_create("t", 1, 16, &ops, &err);
	/* a runs (blocked on the gate), b's jobs wait behind it */
	struct job *running = job_new(1, &a, &gate);
	cr_assert_eq(workq_submit(q, &running->wj), 0);
	wait_flag(&running->started);
	cr_assert_eq(workq_submit(q, &job_new(10, &b, NULL)->wj), 0);
	cr_assert_eq(workq_submit(q, &job_new(100, &b, NULL)->wj), 0);
	cr_assert_eq(workq_submit(q, &job_new(1000, &a, NULL)->wj), 0);
	workq_cancel(q, &b);            /* queued: released at once */
	cr_assert_eq(released, 2);
	cr_assert_eq(workq_outstanding(q), 2);
	workq_cancel(q, &a);            /* one running (never handed back), one queued */
	cr_assert_eq(released, 3);
	__atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
	drain(q);
	cr_assert_eq(done_calls, 0);
	cr_assert_eq(released, 4);
	workq_destroy(&q);
}

Test(workq, callback_cancels_a_later_job_of_the_same_collect)
{
	const char *err = NULL;
	int gate = 0, first, second;
	reset();
	struct workq *q = workq_create("t", 2, 16, &ops, &err);
	struct job *j1 = job_new(1, &first, &gate), *j2 = job_new(2, &second, &gate);
	cr_assert_eq(workq_submit(q, &j1->wj), 0);
	cr_assert_eq(workq_submit(q, &j2->wj), 0);
	__atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
	/* both finished before one collect (done is queued right after ran is set) */
	cancel_q = q;
	cookie_a = &first;
	cookie_b = &second;
	wait_flag(&j1->ran);
	wait_flag(&j2->ran);
	usleep(20000);
	/* whichever callback runs first cancels the other: in the same batch it is
	   on the list being collected (the case this is about), else still done */
	drain(q);
	cr_assert_eq(done_calls, 1);
	cr_assert_eq(released, 2);
	workq_destroy(&q);
}

Test(workq, destroy_releases_everything)
{
	const char *err = NULL;
	int gate = 0;
	reset();
	struct workq *q = workq_create("t", 1, 64, &ops, &err);
	for (int i = 0; i < 10; i++)
		cr_assert_eq(workq_submit(q, &job_new(1, NULL, i == 0 ? &gate : NULL)->wj), 0);
	__atomic_store_n(&gate, 1, __ATOMIC_RELEASE);
	workq_destroy(&q);   /* the running one finishes, the rest are dropped */
	cr_assert_eq(released, 10);
	cr_assert_eq(done_calls, 0);
}
