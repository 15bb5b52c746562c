/* Background snapshots without fork(): the loop encodes users in short slices while
   changes go on, a writer thread writes the bytes (message blobs are immutable and
   referenced, so it reads them in place) and makes the file durable.

   Each user is encoded with no change to that user in between (a change restarts
   its encoding), so its section is the user's state as of one journal position,
   recorded in the section (as_of); replay skips that user's records up to it
   (format.h, version 3). Users are consistent one by one, which is all the journal
   needs: every record names its user. */
#include "persist/persist-private.h"
#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#define SLICE_US 200            /* loop time per slice */
#define CHECK_EVERY 16          /* messages between looks at the clock */
#define MAX_RESTARTS 4          /* then a user is encoded in one go */

/* What the loop hands the writer: one user's new blobs, then its section. */
struct snapbg_job {
	struct snapbg_job *next;
	bool end;
	bool abort;                        /* end: do not make it the snapshot */
	const struct uimap_blob **blobs;   /* references, dropped when all is written */
	size_t n_blobs;
	uint64_t first_id;
	struct buf section;
	uint32_t count;
	uint32_t last_uidvalidity;         /* end */
	struct blob_map map;               /* end: the loop is done with it */
	struct store_user **users;         /* end: likewise */
};

struct snapbg {
	struct persist *p;
	uint64_t seq, jno;                 /* the journal position it starts from */
	/* loop side */
	struct store_user **users;         /* as of the start (users are never freed) */
	size_t n_users, next_user;
	struct store_user *cur;            /* being encoded */
	bool dirty;                        /* cur changed since its encoding began */
	unsigned restarts;                 /* of cur */
	size_t box;                        /* cur's mailbox being encoded */
	uint32_t after_uid;                /* its last message encoded */
	uint32_t box_written;
	uint32_t user_count;
	struct buf section;
	struct blob_map map;
	uint64_t next_id;
	const struct uimap_blob **blobs;   /* cur's new blobs (references) */
	size_t n_blobs, cap_blobs;
	bool encoded;                      /* the end job is queued */
	bool cancel;                       /* atomic: given up (snapbg_cancel) */
	uint64_t loop_us, longest_us, longest_cpu_us, slices, total_restarts;
	/* writer side */
	pthread_t thread;                  /* when own_thread */
	bool own_thread;                   /* else the kept one runs it */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct snapbg_job *head, **tail;
	int efd;
	int spare_fd;                      /* journal jno + 1, made ahead */
	bool done;                         /* the writer has finished (under lock) */
	int status;
	uint64_t bytes;
	char error[512];                   /* the writer's */
	char loop_error[512];              /* the loop's */
};

static void job_queue(struct snapbg *bg, struct snapbg_job *job)
{
	pthread_mutex_lock(&bg->lock);
	*bg->tail = job;
	bg->tail = &job->next;
	pthread_cond_signal(&bg->cond);
	pthread_mutex_unlock(&bg->lock);
}

static void writer_run(struct snapbg *bg)
{
	struct persist *p = bg->p;
	struct snap_out *out = NULL;
	struct snapbg_job *done_head = NULL;
	const char *error = NULL;
	int r;

	/* background work: the loop thread comes first whenever it is runnable */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 10);
	r = snap_out_open(p->dir_fd, p->data_dir, &out, &error);
	if (r < 0)
		snprintf(bg->error, sizeof(bg->error), "%s", error);
	else
		snap_out_set_cancel(out, &bg->cancel);
	/* the journal after the one just started, so that the next snapshot's
	   rotation waits for no fsync on the loop (a failure: it is made then) */
	if (p->journal_on)
		bg->spare_fd = jnl_create(p->dir_fd, bg->jno + 1);
	for (;;) {
		struct snapbg_job *job;

		pthread_mutex_lock(&bg->lock);
		while (bg->head == NULL)
			pthread_cond_wait(&bg->cond, &bg->lock);
		job = bg->head;
		bg->head = job->next;
		if (bg->head == NULL)
			bg->tail = &bg->head;
		pthread_mutex_unlock(&bg->lock);
		if (job->end) {
			if (job->abort && r == 0)
				r = __atomic_load_n(&bg->cancel, __ATOMIC_RELAXED) ? -ECANCELED
										 : -EFAULT;
			if (r == 0) {
				r = snap_out_finish(out, p->dir_fd, p->data_dir,
						    job->last_uidvalidity, bg->seq, bg->jno,
						    &bg->bytes, &error);
				out = NULL;
				if (r < 0)
					snprintf(bg->error, sizeof(bg->error), "%s", error);
				else /* durable: the journals it covers can go */
					jnl_delete_before(p->dir_fd, bg->jno);
			}
			/* megabytes the loop need not spend its time freeing */
			blob_map_free(&job->map);
			free(job->users);
			free(job);
			break;
		}
		if (r == 0 && __atomic_load_n(&bg->cancel, __ATOMIC_RELAXED))
			r = -ECANCELED;
		if (r == 0) {
			snap_out_blobs(out, job->blobs, job->n_blobs, job->first_id);
			snap_out_user(out, job->section.data, job->section.len, job->count);
		}
		buf_free(&job->section);
		/* the blobs stay referenced until the loop is done with their ids */
		job->next = done_head;
		done_head = job;
	}
	snap_out_abort(out, p->dir_fd);
	while (done_head != NULL) {
		struct snapbg_job *job = done_head;

		done_head = job->next;
		for (size_t i = 0; i < job->n_blobs; i++) {
			struct uimap_blob *b = (struct uimap_blob *)job->blobs[i];

			uimap_blob_unref(&b);
		}
		free(job->blobs);
		free(job);
	}
	uint64_t one = 1;

	if (write(bg->efd, &one, sizeof(one)) < 0) {
		/* an eventfd write only fails on overflow */
	}
	/* last: the loop may free bg once done is seen */
	pthread_mutex_lock(&bg->lock);
	bg->status = r;
	bg->done = true;
	pthread_cond_broadcast(&bg->cond);
	pthread_mutex_unlock(&bg->lock);
}

/* A thread of its own, for a snapshot without a kept writer thread. */
static void *writer_main(void *arg)
{
	writer_run(arg);
	return NULL;
}

/* The kept writer thread: one snapshot after another, until told to quit. */
struct snapbg_thread {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct snapbg *next;
	bool quit;
};

static void *kept_main(void *arg)
{
	struct snapbg_thread *t = arg;

	for (;;) {
		struct snapbg *bg;

		pthread_mutex_lock(&t->lock);
		while (t->next == NULL && !t->quit)
			pthread_cond_wait(&t->cond, &t->lock);
		bg = t->next;
		t->next = NULL;
		pthread_mutex_unlock(&t->lock);
		if (bg == NULL)
			return NULL;
		writer_run(bg);
	}
}

int snapbg_thread_start(struct snapbg_thread **t_r)
{
	struct snapbg_thread *t = xcalloc(1, sizeof(*t));
	int r;

	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	r = pthread_create(&t->thread, NULL, kept_main, t);
	if (r != 0) {
		pthread_mutex_destroy(&t->lock);
		pthread_cond_destroy(&t->cond);
		free(t);
		return -r;
	}
	*t_r = t;
	return 0;
}

void snapbg_thread_stop(struct snapbg_thread **tp)
{
	struct snapbg_thread *t = *tp;

	if (t == NULL)
		return;
	*tp = NULL;
	pthread_mutex_lock(&t->lock);
	t->quit = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
	free(t);
}

int snapbg_start(struct persist *p, struct snapbg **bg_r)
{
	struct snapbg *bg = xcalloc(1, sizeof(*bg));
	struct memstore *ms = p->ms;
	uint64_t n_msgs = 0;
	int r;

	bg->p = p;
	bg->spare_fd = -1;
	bg->seq = p->seq;
	bg->jno = p->jno;
	bg->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (bg->efd < 0) {
		r = -errno;
		free(bg);
		return r;
	}
	bg->n_users = ms->n_users;
	bg->users = xmalloc((ms->n_users + 1) * sizeof(*bg->users));
	memcpy(bg->users, ms->users, ms->n_users * sizeof(*bg->users));
	for (size_t u = 0; u < ms->n_users; u++)
		n_msgs += ms->users[u]->n_messages;
	blob_map_init(&bg->map, n_msgs);
	bg->tail = &bg->head;
	pthread_mutex_init(&bg->lock, NULL);
	pthread_cond_init(&bg->cond, NULL);
	if (p->snap_thread != NULL) {
		/* the kept thread: no thread to create while the loop waits */
		struct snapbg_thread *t = p->snap_thread;

		pthread_mutex_lock(&t->lock);
		t->next = bg;
		pthread_cond_signal(&t->cond);
		pthread_mutex_unlock(&t->lock);
		*bg_r = bg;
		return 0;
	}
	bg->own_thread = true;
	r = pthread_create(&bg->thread, NULL, writer_main, bg);
	if (r != 0) {
		close(bg->efd);
		blob_map_free(&bg->map);
		free(bg->users);
		free(bg);
		return -r;
	}
	*bg_r = bg;
	return 0;
}

int snapbg_fd(const struct snapbg *bg)
{
	return bg->efd;
}

void snapbg_changed(struct snapbg *bg, const char *user)
{
	if (bg->cur != NULL && strcmp(bg->cur->name, user) == 0)
		bg->dirty = true;
}

static void drop_blobs(struct snapbg *bg)
{
	for (size_t i = 0; i < bg->n_blobs; i++) {
		struct uimap_blob *b = (struct uimap_blob *)bg->blobs[i];

		uimap_blob_unref(&b);
	}
	free(bg->blobs);
	bg->blobs = NULL;
	bg->n_blobs = bg->cap_blobs = 0;
}

/* Begin (or begin again) the user cur. */
static void user_begin(struct snapbg *bg)
{
	snap_encode_user_head(&bg->section, bg->cur);
	bg->box = 0;
	bg->after_uid = 0;
	bg->box_written = 0;
	bg->user_count = 0;
	bg->dirty = false;
	if (bg->box < bg->cur->n_boxes)
		snap_encode_box_head(&bg->section, bg->cur->boxes[0]);
}

/* Encode cur onwards until the deadline (0: no deadline). 1 when cur is complete,
   0 when out of time, -EFAULT when the store's counters disagree. */
static int user_run(struct snapbg *bg, uint64_t deadline)
{
	struct store_user *user = bg->cur;
	unsigned since_check = 0;

	while (bg->box < user->n_boxes) {
		const struct mailbox *box = user->boxes[bg->box];

		/* resumed by UID: the array may have been compacted between slices (a
		   UID is below UIDNEXT, so after_uid + 1 cannot wrap) */
		for (uint32_t i = mailbox_lower_bound(box, bg->after_uid + 1); i < box->n_msgs;
		     i++) {
			const struct store_msg *msg = &box->msgs[i];
			uint64_t id;

			if (msg->state != MSG_LIVE)
				continue;
			if (bg->box_written == box->n_live)
				return -EFAULT;
			id = blob_map_get(&bg->map, msg->blob, bg->next_id);
			if (id == UINT64_MAX) {
				id = bg->next_id++;
				if (bg->n_blobs == bg->cap_blobs) {
					bg->cap_blobs = bg->cap_blobs == 0 ? 256 : 2 * bg->cap_blobs;
					bg->blobs = xrealloc(bg->blobs,
							     bg->cap_blobs * sizeof(*bg->blobs));
				}
				bg->blobs[bg->n_blobs++] = uimap_blob_ref(msg->blob);
			}
			snap_encode_msg(&bg->section, msg, id);
			bg->box_written++;
			bg->after_uid = msg->uid;
			if (deadline != 0 && ++since_check == CHECK_EVERY) {
				since_check = 0;
				if (clock_us() >= deadline)
					return 0;
			}
		}
		if (bg->box_written != box->n_live)
			return -EFAULT;
		bg->user_count += bg->box_written;
		bg->box++;
		bg->after_uid = 0;
		bg->box_written = 0;
		if (bg->box < user->n_boxes)
			snap_encode_box_head(&bg->section, user->boxes[bg->box]);
	}
	return 1;
}

/* cur is complete and unchanged: its blobs and section go to the writer. */
static void user_done(struct snapbg *bg)
{
	struct snapbg_job *job = xcalloc(1, sizeof(*job));

	/* nothing of this user changed since its encoding began: its state is the
	   one after the last record so far */
	snap_encode_user_tail(&bg->section, bg->cur, bg->p->seq);
	job->blobs = bg->blobs;
	job->n_blobs = bg->n_blobs;
	job->first_id = bg->next_id - bg->n_blobs;
	job->section = bg->section;
	job->count = bg->user_count;
	bg->section = (struct buf){ 0 };
	bg->blobs = NULL;
	bg->n_blobs = bg->cap_blobs = 0;
	job_queue(bg, job);
	bg->cur = NULL;
	bg->next_user++;
}

/* The calling thread's CPU time: a slice's wall time also counts the time the
   thread was not running (another process on its CPU). */
static uint64_t thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The end job: the writer finishes the file, or (abort) removes it. The blob map and
   the user list go with it (the writer frees megabytes the loop need not). */
static void queue_end(struct snapbg *bg, bool abort)
{
	struct snapbg_job *end = xcalloc(1, sizeof(*end));

	if (abort) {
		drop_blobs(bg);   /* a partly encoded user's */
		bg->cur = NULL;
	}
	end->end = true;
	end->abort = abort;
	end->last_uidvalidity = bg->p->ms->last_uidvalidity;
	end->map = bg->map;
	end->users = bg->users;
	bg->map = (struct blob_map){ 0 };
	bg->users = NULL;
	job_queue(bg, end);
	bg->encoded = true;
}

int snapbg_slice(struct snapbg *bg, bool unlimited)
{
	uint64_t t0 = clock_us(), deadline = unlimited ? 0 : t0 + SLICE_US;
	uint64_t cpu0 = thread_cpu_us();
	int r = 0;

	if (bg->encoded)
		return 1;
	while (bg->next_user < bg->n_users) {
		if (bg->cur == NULL) {
			bg->cur = bg->users[bg->next_user];
			bg->restarts = 0;
			user_begin(bg);
		} else if (bg->dirty) {
			/* changed meanwhile: what was encoded mixes two states. The blobs
			   keep their ids (they are written all the same). */
			bg->restarts++;
			bg->total_restarts++;
			user_begin(bg);
		}
		uint64_t user_deadline = bg->restarts >= MAX_RESTARTS ? 0 : deadline;

		r = user_run(bg, user_deadline);
		if (r < 0)
			break;
		if (r == 0)
			goto out;
		if (user_deadline == 0 && deadline != 0)
			log_warn("persist: snapshot: user %s changed during %u attempts: "
				 "encoded in one go (%llu us)", bg->cur->name, bg->restarts,
				 (unsigned long long)(clock_us() - t0));
		user_done(bg);
		if (deadline != 0 && clock_us() >= deadline) {
			r = 0;   /* more users to come */
			goto out;
		}
	}
	if (r < 0) {
		/* refuse to write a file that would not load */
		snprintf(bg->loop_error, sizeof(bg->loop_error), "%s/%s: not written: the "
			 "store's counters are inconsistent (user %s)", bg->p->data_dir,
			 SNAP_TMP_FILE, bg->cur->name);
	}
	queue_end(bg, r < 0);
	r = 1;
out:;
	uint64_t us = clock_us() - t0;

	uint64_t cpu = thread_cpu_us() - cpu0;

	bg->loop_us += us;
	bg->slices++;
	metrics_observe(&bg->p->metrics.snapshot_slice, us);
	if (us > bg->longest_us)
		bg->longest_us = us;
	if (cpu > bg->longest_cpu_us)
		bg->longest_cpu_us = cpu;
	return r;
}

void snapbg_cancel(struct snapbg *bg)
{
	__atomic_store_n(&bg->cancel, true, __ATOMIC_RELAXED);
	if (!bg->encoded) {
		snprintf(bg->loop_error, sizeof(bg->loop_error), "%s/%s: given up (shutdown)",
			 bg->p->data_dir, SNAP_TMP_FILE);
		queue_end(bg, true);
	}
}

bool snapbg_finished(struct snapbg *bg)
{
	bool done;

	pthread_mutex_lock(&bg->lock);
	done = bg->done;
	pthread_mutex_unlock(&bg->lock);
	return done;
}

int snapbg_end(struct snapbg *bg, struct snapbg_result *res)
{
	int r;

	while (!bg->encoded)
		(void)snapbg_slice(bg, true);
	pthread_mutex_lock(&bg->lock);
	while (!bg->done)
		pthread_cond_wait(&bg->cond, &bg->lock);
	pthread_mutex_unlock(&bg->lock);
	if (bg->own_thread)
		pthread_join(bg->thread, NULL);
	r = bg->status;
	*res = (struct snapbg_result){ .bytes = bg->bytes, .loop_us = bg->loop_us,
				       .longest_us = bg->longest_us,
				       .longest_cpu_us = bg->longest_cpu_us, .slices = bg->slices,
				       .restarts = bg->total_restarts, .seq = bg->seq,
				       .spare_fd = bg->spare_fd >= 0 ? bg->spare_fd : -1,
				       .spare_no = bg->jno + 1 };
	snprintf(res->error, sizeof(res->error), "%s",
		 bg->loop_error[0] != '\0' ? bg->loop_error : bg->error);
	drop_blobs(bg);
	blob_map_free(&bg->map);
	buf_free(&bg->section);
	free(bg->users);
	close(bg->efd);
	pthread_mutex_destroy(&bg->lock);
	pthread_cond_destroy(&bg->cond);
	free(bg);
	return r;
}
