/* Reverse lookups on a worker pool: PTR, forward confirmation, results to the loop. */
#include "net/rdns.h"
#include "net/iptable.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/failpoint.h"
#include "core/workq.h"

#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct rdns {
	/* permanent */
	struct ring_handler h;   /* the eventfd read; first: 16-byte aligned */
	uint64_t val;
	struct workq *q;
	struct ring *ring;
	rdns_done_fn *done;
	void *done_arg;
	int stopping;            /* atomic: cuts a test delay short */
};

/* One lookup (the pool's job); its cookie is the caller's. */
struct rdns_job {
	struct workq_job job;
	struct rdns *d;
	struct sockaddr_storage peer;
	enum rdns_status status;
	char name[NI_MAXHOST];
};

const char *rdns_status_text(enum rdns_status status)
{
	switch (status) {
	case RDNS_FOUND: return "found";
	case RDNS_NO_NAME: return "no name";
	case RDNS_UNCONFIRMED: return "name does not resolve back";
	case RDNS_BAD_NAME: return "invalid name";
	}
	return "?";
}

bool rdns_name_valid(const char *name)
{
	size_t n = strlen(name), label = 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum(ch) && ch != '-' && ch != '_')
			return false;
		if (label == 0 && ch == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return true;   /* a trailing '.' (the root) is fine */
}

socklen_t rdns_lookup_addr(const struct sockaddr_storage *peer, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (peer->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)peer;
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			struct sockaddr_in *in = (struct sockaddr_in *)out;
			in->sin_family = AF_INET;
			in->sin_port = in6->sin6_port;
			memcpy(&in->sin_addr, &in6->sin6_addr.s6_addr[12], 4);
			return sizeof(*in);
		}
		memcpy(out, in6, sizeof(*in6));
		return sizeof(*in6);
	}
	memcpy(out, peer, sizeof(struct sockaddr_in));
	return sizeof(struct sockaddr_in);
}

bool rdns_confirms(const struct sockaddr_storage *peer, const struct addrinfo *list)
{
	unsigned char want[16], got[16];
	ip_key(peer, want);
	for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
		struct sockaddr_storage ss;
		if (ai->ai_addr == NULL || ai->ai_addrlen > sizeof(ss) ||
		    (ai->ai_family != AF_INET && ai->ai_family != AF_INET6))
			continue;
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
		ip_key(&ss, got);
		if (memcmp(want, got, sizeof(want)) == 0)
			return true;
	}
	return false;
}

static void rdns_run(struct workq_job *wj)
{
	struct rdns_job *job = container_of(wj, struct rdns_job, job);
	struct sockaddr_storage sa;
	struct addrinfo hints, *res;
	int err;

	/* the test delay (failpoint "rdns-lookup=<N>ms"): a hanging resolver */
	failpoint_sleep("rdns-lookup", &job->d->stopping);
	job->status = RDNS_NO_NAME;
	if (failpoint("rdns-lookup", &err))
		return;
	socklen_t len = rdns_lookup_addr(&job->peer, &sa);
	if (getnameinfo((struct sockaddr *)&sa, len, job->name, sizeof(job->name), NULL, 0,
			NI_NAMEREQD) != 0)
		return;
	if (!rdns_name_valid(job->name)) {
		job->status = RDNS_BAD_NAME;
		return;
	}
	for (char *p = job->name; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	job->status = RDNS_UNCONFIRMED;
	if (getaddrinfo(job->name, NULL, &hints, &res) != 0)
		return;
	if (rdns_confirms(&job->peer, res))
		job->status = RDNS_FOUND;
	freeaddrinfo(res);
}

static void rdns_release(struct workq_job *wj)
{
	free(container_of(wj, struct rdns_job, job));
}

static const struct workq_ops rdns_ops = {
	.run = rdns_run,
	.release = rdns_release,
};

struct rdns *rdns_create(unsigned n_workers, rdns_done_fn *done, void *arg,
			 const char **error_r)
{
	if (n_workers == 0 || n_workers > RDNS_MAX_WORKERS) {
		*error_r = "reverse-lookup-workers out of range (1..64)";
		return NULL;
	}
	struct rdns *d = aligned_alloc(16, (sizeof(*d) + 15) & ~(size_t)15);
	if (d == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	memset(d, 0, sizeof(*d));
	d->done = done;
	d->done_arg = arg;
	d->q = workq_create("uimap-rdns", n_workers, n_workers * RDNS_PENDING_PER_WORKER,
			    &rdns_ops, error_r);
	if (d->q == NULL) {
		free(d);
		return NULL;
	}
	return d;
}

static void rdns_job_done(struct workq_job *wj, void *arg)
{
	struct rdns_job *job = container_of(wj, struct rdns_job, job);
	struct rdns *d = arg;
	bool named = job->status == RDNS_FOUND || job->status == RDNS_UNCONFIRMED;

	d->done(job->job.cookie, job->status, named ? job->name : NULL, d->done_arg);
}

static void rdns_ready(struct ring_handler *h, int res, unsigned flags)
{
	struct rdns *d = container_of(h, struct rdns, h);
	(void)flags;
	workq_collect(d->q, rdns_job_done, d);
	/* also while stopping: a connection may still wait for its result */
	if (res != -ECANCELED)
		ring_read(d->ring, workq_fd(d->q), &d->val, sizeof(d->val), &d->h);
}

void rdns_attach(struct rdns *d, struct ring *ring)
{
	d->ring = ring;
	d->h.fn = rdns_ready;
	ring_read(ring, workq_fd(d->q), &d->val, sizeof(d->val), &d->h);
}

int rdns_submit(struct rdns *d, const struct sockaddr_storage *peer, void *cookie)
{
	struct rdns_job *job = xmalloc(sizeof(*job));
	job->job.cookie = cookie;
	job->d = d;
	job->peer = *peer;
	job->status = RDNS_NO_NAME;
	job->name[0] = '\0';
	int r = workq_submit(d->q, &job->job);
	if (r < 0)
		free(job);
	return r;
}

void rdns_cancel(struct rdns *d, void *cookie)
{
	workq_cancel(d->q, cookie);
}

void rdns_destroy(struct rdns **dp)
{
	struct rdns *d = *dp;
	if (d == NULL)
		return;
	*dp = NULL;
	__atomic_store_n(&d->stopping, 1, __ATOMIC_RELAXED);
	workq_destroy(&d->q);
	free(d);
}
