/* Unit tests for the auth worker thread pool. */
#include <criterion/criterion.h>
#include <crypt.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth-worker.h"

/* A fake backend: user "u<n>" with password "p<n>" matches; user "err" fails with
   an error; user "bad" returns an out-of-contract value without an error. */
static int fake_verify(void *ctx, const char *user, const char *password,
		       const char **error_r)
{
	int *calls = ctx;

	if (calls != NULL)
		__atomic_add_fetch(calls, 1, __ATOMIC_RELAXED);
	if (strcmp(user, "err") == 0) {
		*error_r = "boom";
		return -1;
	}
	if (strcmp(user, "bad") == 0)
		return 7;
	if (user[0] != 'u' || password[0] != 'p')
		return 0;
	return strcmp(user + 1, password + 1) == 0 ? 1 : 0;
}

static const struct uimap_auth_backend fake_backend = {
	.name = "fake",
	.blocking = true,
	.verify_plain = fake_verify,
};

struct result {
	int result;
	const char *error;
	unsigned seen;
};

static void on_done(void *cookie, int result, const char *error, void *arg)
{
	struct result *r = cookie;
	unsigned *count = arg;

	r->result = result;
	r->error = error;
	r->seen++;
	(*count)++;
}

/* Polls the eventfd like the loop would and collects until want results arrived. */
static unsigned wait_collect(struct auth_worker *w, unsigned want, auth_worker_done_fn *done,
			     void *arg, unsigned *count)
{
	unsigned wakeups = 0;

	while (*count < want) {
		struct pollfd pfd = { .fd = auth_worker_fd(w), .events = POLLIN };
		uint64_t counter;
		int ret = poll(&pfd, 1, 30000);

		cr_assert_eq(ret, 1, "timed out with %u/%u results", *count, want);
		cr_assert_eq(read(pfd.fd, &counter, sizeof(counter)), (ssize_t)sizeof(counter));
		cr_assert_geq(counter, 1);
		wakeups++;
		auth_worker_collect(w, done, arg);
	}
	return wakeups;
}

Test(auth_worker, create_bounds)
{
	const char *error = NULL;
	struct auth_worker *w = auth_worker_create(0, &error);

	cr_assert_null(w);
	cr_assert_not_null(error);
	error = NULL;
	cr_assert_null(auth_worker_create(AUTH_WORKER_MAX_THREADS + 1, &error));
	cr_assert_not_null(error);
	auth_worker_destroy(&w); /* NULL is fine */
	w = auth_worker_create(1, &error);
	cr_assert_not_null(w, "%s", error);
	cr_assert_geq(auth_worker_fd(w), 0);
	auth_worker_destroy(&w);
	cr_assert_null(w);
}

Test(auth_worker, fifty_jobs)
{
	enum { N = 50 };
	struct result results[N];
	const char *error = NULL;
	struct auth_worker *w = auth_worker_create(4, &error);
	unsigned count = 0, wakeups;
	int calls = 0;

	cr_assert_not_null(w, "%s", error);
	memset(results, 0, sizeof(results));
	for (int i = 0; i < N; i++) {
		char user[16], pass[16];

		snprintf(user, sizeof(user), "u%d", i);
		/* every third password is wrong */
		snprintf(pass, sizeof(pass), "p%d", i % 3 == 0 ? i + 1 : i);
		results[i].result = 42;
		cr_assert_eq(auth_worker_submit(w, &fake_backend, &calls, user, pass,
						&results[i]), 0);
	}
	/* Nothing is reported before the loop collects. */
	for (int i = 0; i < N; i++)
		cr_assert_eq(results[i].seen, 0);
	wakeups = wait_collect(w, N, on_done, &count, &count);
	cr_assert_eq(count, N);
	cr_assert_leq(wakeups, N);
	cr_assert_eq(calls, N);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(results[i].seen, 1, "job %d seen %u times", i, results[i].seen);
		cr_assert_eq(results[i].result, i % 3 == 0 ? 0 : 1, "job %d", i);
		cr_assert_null(results[i].error);
	}
	/* Nothing more arrives. */
	cr_assert_eq(auth_worker_collect(w, on_done, &count), 0);
	auth_worker_destroy(&w);
}

Test(auth_worker, errors_are_passed_on)
{
	struct result r[3] = { 0 };
	const char *error = NULL;
	struct auth_worker *w = auth_worker_create(2, &error);
	unsigned count = 0;

	cr_assert_not_null(w, "%s", error);
	cr_assert_eq(auth_worker_submit(w, &fake_backend, NULL, "err", "x", &r[0]), 0);
	cr_assert_eq(auth_worker_submit(w, &fake_backend, NULL, "bad", "x", &r[1]), 0);
	cr_assert_eq(auth_worker_submit(w, &fake_backend, NULL, "u1", "p1", &r[2]), 0);
	wait_collect(w, 3, on_done, &count, &count);
	cr_assert_eq(r[0].result, -1);
	cr_assert_str_eq(r[0].error, "boom");
	cr_assert_eq(r[1].result, -1, "out-of-contract result not mapped to -1");
	cr_assert_not_null(r[1].error);
	cr_assert_eq(r[2].result, 1);
	cr_assert_null(r[2].error);
	auth_worker_destroy(&w);
}

Test(auth_worker, invalid_backend)
{
	static const struct uimap_auth_backend empty = { .name = "empty" };
	const char *error = NULL;
	struct auth_worker *w = auth_worker_create(1, &error);

	cr_assert_not_null(w, "%s", error);
	cr_assert_eq(auth_worker_submit(w, &empty, NULL, "u", "p", NULL), -EINVAL);
	auth_worker_destroy(&w);
}

/* Records the password buffer the worker handed to the backend, to check later
   that it was wiped; also reports whether every signal was blocked. */
static const char *seen_password;
static int seen_all_blocked = -1;

static int recording_verify(void *ctx, const char *user, const char *password,
			    const char **error_r)
{
	sigset_t cur;

	seen_password = password;
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	seen_all_blocked = sigismember(&cur, SIGTERM) == 1 && sigismember(&cur, SIGINT) == 1 &&
			   sigismember(&cur, SIGUSR1) == 1;
	return strcmp(password, "correct horse") == 0;
}

static const struct uimap_auth_backend recording_backend = {
	.name = "recording",
	.blocking = true,
	.verify_plain = recording_verify,
};

static void check_wiped(void *cookie, int result, const char *error, void *arg)
{
	unsigned *count = arg;

	/* The job (and so the password copy) is still alive during the callback. */
	cr_assert_not_null(seen_password);
	for (size_t i = 0; i < strlen("correct horse"); i++)
		cr_assert_eq(seen_password[i], '\0', "password byte %zu not wiped", i);
	cr_assert_eq(result, 1);
	cr_assert_eq(cookie, (void *)0x1234);
	(*count)++;
}

Test(auth_worker, password_copy_wiped_and_signals_blocked)
{
	char password[] = "correct horse";
	const char *error = NULL;
	struct auth_worker *w = auth_worker_create(1, &error);
	unsigned count = 0;

	cr_assert_not_null(w, "%s", error);
	cr_assert_eq(auth_worker_submit(w, &recording_backend, NULL, "user", password,
					(void *)0x1234), 0);
	/* The caller's buffer may be reused at once: the pool has a copy. */
	memset(password, 'x', sizeof(password) - 1);
	wait_collect(w, 1, check_wiped, &count, &count);
	cr_assert_neq(seen_password, password);
	cr_assert_eq(seen_all_blocked, 1, "worker thread does not block signals");
	auth_worker_destroy(&w);
}

/* A backend that blocks until released, to fill the queue. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int gate_calls;

static int gated_verify(void *ctx, const char *user, const char *password,
			const char **error_r)
{
	pthread_mutex_lock(&gate_lock);
	gate_calls++;
	while (!gate_open)
		pthread_cond_wait(&gate_cond, &gate_lock);
	pthread_mutex_unlock(&gate_lock);
	return 1;
}

static const struct uimap_auth_backend gated_backend = {
	.name = "gated",
	.blocking = true,
	.verify_plain = gated_verify,
};

static void must_not_be_called(void *cookie, int result, const char *error, void *arg)
{
	cr_assert_fail("callback called for a discarded job");
}

static void open_gate(void)
{
	pthread_mutex_lock(&gate_lock);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cond);
	pthread_mutex_unlock(&gate_lock);
}

Test(auth_worker, bounded_queue_and_discard_on_destroy)
{
	const char *error = NULL;
	struct auth_worker *w = auth_worker_create(2, &error);
	unsigned count = 0;

	cr_assert_not_null(w, "%s", error);
	for (int i = 0; i < AUTH_WORKER_MAX_PENDING; i++)
		cr_assert_eq(auth_worker_submit(w, &gated_backend, NULL, "u", "p", NULL), 0,
			     "job %d", i);
	cr_assert_eq(auth_worker_submit(w, &gated_backend, NULL, "u", "p", NULL), -EAGAIN);
	cr_assert_eq(auth_worker_collect(w, must_not_be_called, NULL), 0);
	/* Let the two running jobs finish: the rest are still queued. Destroy joins
	   the threads and drops everything without calling back. */
	open_gate();
	auth_worker_destroy(&w);
	cr_assert_null(w);
	cr_assert_leq(gate_calls, AUTH_WORKER_MAX_PENDING);
	(void)count;
}

static void count_done(void *cookie, int result, const char *error, void *arg)
{
	(*(unsigned *)arg)++;
}

Test(auth_worker, slots_freed_by_collect)
{
	const char *error = NULL;
	struct auth_worker *w = auth_worker_create(4, &error);
	unsigned count = 0;

	cr_assert_not_null(w, "%s", error);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < AUTH_WORKER_MAX_PENDING; i++)
			cr_assert_eq(auth_worker_submit(w, &fake_backend, NULL, "u1", "p1",
							NULL), 0, "round %d job %d", round, i);
		wait_collect(w, (unsigned)(round + 1) * AUTH_WORKER_MAX_PENDING, count_done,
			     &count, &count);
	}
	cr_assert_eq(count, 3 * AUTH_WORKER_MAX_PENDING);
	auth_worker_destroy(&w);
}

/* The done callback may submit follow-up jobs (it runs without the pool's lock). */
struct chain {
	struct auth_worker *w;
	unsigned done, remaining;
};

static void chain_done(void *cookie, int result, const char *error, void *arg)
{
	struct chain *c = arg;

	cr_assert_eq(result, 1);
	c->done++;
	if (c->remaining > 0) {
		c->remaining--;
		cr_assert_eq(auth_worker_submit(c->w, &fake_backend, NULL, "u7", "p7", NULL), 0);
	}
}

Test(auth_worker, submit_from_callback)
{
	const char *error = NULL;
	struct chain c = { .remaining = 9 };

	c.w = auth_worker_create(2, &error);
	cr_assert_not_null(c.w, "%s", error);
	cr_assert_eq(auth_worker_submit(c.w, &fake_backend, NULL, "u7", "p7", NULL), 0);
	wait_collect(c.w, 10, chain_done, &c, &c.done);
	cr_assert_eq(c.done, 10);
	auth_worker_destroy(&c.w);
}

/* A check that returns 1 only once all 8 of its jobs are running at the same time
   (0 after 20 s without that: the pool did not run them in parallel). */
static pthread_mutex_t meet_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t meet_cond = PTHREAD_COND_INITIALIZER;
static int meet_running;

static int meeting_verify(void *ctx, const char *user, const char *password,
			  const char **error_r)
{
	struct timespec deadline;
	int met;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 20;
	pthread_mutex_lock(&meet_lock);
	meet_running++;
	pthread_cond_broadcast(&meet_cond);
	while (meet_running < 8 &&
	       pthread_cond_timedwait(&meet_cond, &meet_lock, &deadline) == 0)
		;
	met = meet_running >= 8;
	pthread_mutex_unlock(&meet_lock);
	return met;
}

static const struct uimap_auth_backend meeting_backend = {
	.name = "meeting",
	.blocking = true,
	.verify_plain = meeting_verify,
};

static void all_met(void *cookie, int result, const char *error, void *arg)
{
	cr_assert_eq(result, 1, "a job ran while the others were not running");
	(*(unsigned *)arg)++;
}

Test(auth_worker, jobs_run_in_parallel)
{
	const char *error = NULL;
	struct auth_worker *w = auth_worker_create(8, &error);
	unsigned count = 0;

	cr_assert_not_null(w, "%s", error);
	/* each job waits until all 8 run at once: serially the first would never see
	   the others (an event, not a time, decides) */
	for (int i = 0; i < 8; i++)
		cr_assert_eq(auth_worker_submit(w, &meeting_backend, NULL, "u", "p", NULL), 0);
	wait_collect(w, 8, all_met, &count, &count);
	cr_assert_eq(count, 8);
	auth_worker_destroy(&w);
}

/* End to end with the real passwd-file backend and a yescrypt hash. */
Test(auth_worker, with_passwd_file_backend)
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE], path[] = "/tmp/uimap-worker-XXXXXX";
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	struct result r[4] = { 0 };
	const char *error = NULL;
	struct auth_worker *w;
	unsigned count = 0;
	void *ctx;
	FILE *f;
	int fd;

	cr_assert_not_null(cd);
	cr_assert_not_null(crypt_gensalt_rn("$y$", 5, NULL, 0, setting, sizeof(setting)));
	cr_assert_not_null(crypt_r("s3cret", setting, cd));
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "alice:%s\nbob:{PLAIN}bobpw\n", cd->output);
	fclose(f);
	free(cd);
	ctx = uimap_auth_passwd_file_open(path, &error);
	unlink(path);
	cr_assert_not_null(ctx, "%s", error);

	w = auth_worker_create(2, &error);
	cr_assert_not_null(w, "%s", error);
	cr_assert_eq(auth_worker_submit(w, &uimap_auth_passwd_file, ctx, "alice", "s3cret", &r[0]), 0);
	cr_assert_eq(auth_worker_submit(w, &uimap_auth_passwd_file, ctx, "alice", "s3cre", &r[1]), 0);
	cr_assert_eq(auth_worker_submit(w, &uimap_auth_passwd_file, ctx, "bob", "bobpw", &r[2]), 0);
	cr_assert_eq(auth_worker_submit(w, &uimap_auth_passwd_file, ctx, "carol", "x", &r[3]), 0);
	wait_collect(w, 4, on_done, &count, &count);
	cr_assert_eq(r[0].result, 1);
	cr_assert_eq(r[1].result, 0);
	cr_assert_eq(r[2].result, 1);
	cr_assert_eq(r[3].result, 0);
	auth_worker_destroy(&w);
	uimap_auth_passwd_file_close(ctx);
}

/* A cancelled owner's jobs never call back: queued ones are dropped at once (their
   slots are free again), running ones are checked but their result is dropped. */
static void cancel_done(void *cookie, int result, const char *error, void *arg)
{
	cr_assert_eq(cookie, (void *)0x2, "a cancelled job called back");
	(*(unsigned *)arg)++;
}

Test(auth_worker, cancel_drops_results)
{
	const char *error = NULL;
	struct auth_worker *w = auth_worker_create(1, &error);
	unsigned count = 0;

	cr_assert_not_null(w, "%s", error);
	gate_open = 0;
	/* one running (held at the gate), four queued for owner 1; one for owner 2 */
	for (int i = 0; i < 5; i++)
		cr_assert_eq(auth_worker_submit(w, &gated_backend, NULL, "u", "p", (void *)0x1), 0);
	cr_assert_eq(auth_worker_submit(w, &gated_backend, NULL, "u", "p", (void *)0x2), 0);
	for (;;) {
		pthread_mutex_lock(&gate_lock);
		int calls = gate_calls;
		pthread_mutex_unlock(&gate_lock);
		if (calls > 0)
			break;
		usleep(1000);
	}
	auth_worker_cancel(w, (void *)0x1);
	/* the queued four gave their slots back */
	for (int i = 0; i < AUTH_WORKER_MAX_PENDING - 2; i++)
		cr_assert_eq(auth_worker_submit(w, &fake_backend, NULL, "u1", "p1", (void *)0x2), 0,
			     "job %d", i);
	cr_assert_eq(auth_worker_submit(w, &fake_backend, NULL, "u1", "p1", (void *)0x2), -EAGAIN);
	open_gate();
	wait_collect(w, AUTH_WORKER_MAX_PENDING - 1, cancel_done, &count, &count);
	cr_assert_eq(count, AUTH_WORKER_MAX_PENDING - 1);
	auth_worker_destroy(&w);
}
