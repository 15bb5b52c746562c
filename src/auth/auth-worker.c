/* Password checks on a worker pool (core/workq), off the event loop. */
#include "auth/auth-worker.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/workq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One password check (the pool's job). */
struct auth_job {
	struct workq_job job;
	const struct uimap_auth_backend *backend;
	void *backend_ctx;
	int result;
	const char *error;
	char *password;   /* points into data; wiped after the check */
	size_t password_len;
	char data[];      /* user NUL password NUL */
};

struct auth_worker {
	struct workq *q;
};

static void auth_job_run(struct workq_job *wj)
{
	struct auth_job *job = container_of(wj, struct auth_job, job);
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

static void auth_job_release(struct workq_job *wj)
{
	struct auth_job *job = container_of(wj, struct auth_job, job);

	if (job->password != NULL)
		explicit_bzero(job->password, job->password_len);
	free(job);
}

static const struct workq_ops auth_job_ops = {
	.run = auth_job_run,
	.release = auth_job_release,
};

struct auth_worker *auth_worker_create(unsigned n_threads, const char **error_r)
{
	if (n_threads == 0 || n_threads > AUTH_WORKER_MAX_THREADS) {
		*error_r = "thread count out of range";
		return NULL;
	}
	struct workq *q = workq_create("uimap-auth", n_threads, AUTH_WORKER_MAX_PENDING,
				       &auth_job_ops, error_r);
	if (q == NULL)
		return NULL;
	struct auth_worker *w = xmalloc(sizeof(*w));
	w->q = q;
	return w;
}

int auth_worker_fd(const struct auth_worker *w)
{
	return workq_fd(w->q);
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
	job->job.cookie = cookie;
	job->backend = backend;
	job->backend_ctx = backend_ctx;
	job->result = -1;
	job->error = NULL;
	memcpy(job->data, user, user_len + 1);
	job->password = job->data + user_len + 1;
	job->password_len = pass_len;
	memcpy(job->password, password, pass_len + 1);

	int r = workq_submit(w->q, &job->job);
	if (r < 0)
		auth_job_release(&job->job);
	return r;
}

struct collect_ctx {
	auth_worker_done_fn *done;
	void *arg;
};

static void auth_job_done(struct workq_job *wj, void *arg)
{
	struct auth_job *job = container_of(wj, struct auth_job, job);
	struct collect_ctx *ctx = arg;

	ctx->done(job->job.cookie, job->result, job->error, ctx->arg);
}

unsigned auth_worker_collect(struct auth_worker *w, auth_worker_done_fn *done, void *arg)
{
	struct collect_ctx ctx = { done, arg };

	return workq_collect(w->q, auth_job_done, &ctx);
}

void auth_worker_cancel(struct auth_worker *w, void *cookie)
{
	workq_cancel(w->q, cookie);
}

void auth_worker_destroy(struct auth_worker **wp)
{
	struct auth_worker *w = *wp;

	if (w == NULL)
		return;
	*wp = NULL;
	workq_destroy(&w->q);
	free(w);
}
