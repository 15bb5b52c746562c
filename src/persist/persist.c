/* Persistence lifecycle: load at open, journal group commit, background snapshots via fork. */
#include "persist/persist-private.h"

#include "core/alloc.h"
#include "core/failpoint.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


#define PERSIST_LOCK_FILE "lock"

void persist_reportf(struct buf *report, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (report->len > 0)
		report->data[report->len - 1] = '\n'; /* the previous NUL */
	buf_append(report, line, (size_t)n);
	buf_append(report, "", 1);
}

int persist_fsync_dir(int dir_fd)
{
	return fsync(dir_fd) < 0 ? -errno : 0;
}

int persist_read_file(int fd, unsigned char **data_r, size_t *len_r)
{
	struct stat st;
	unsigned char *data;
	size_t len, done = 0;

	if (fstat(fd, &st) < 0)
		return -errno;
	len = (size_t)st.st_size;
	data = malloc(len == 0 ? 1 : len);
	if (data == NULL)
		return -ENOMEM;
	while (done < len) {
		ssize_t n = pread(fd, data + done, len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			free(data);
			return r;
		}
		if (n == 0)
			break; /* shrank meanwhile */
		done += (size_t)n;
	}
	*data_r = data;
	*len_r = done;
	return 0;
}

void persist_settings_from_config(struct persist_settings *set, const struct uimap_config *cfg)
{
	*set = (struct persist_settings){
		.data_dir = cfg->data_dir,
		.snapshot_interval = cfg->snapshot_interval,
		.snapshot_changes = cfg->snapshot_changes,
		.journal_fsync = cfg->journal_fsync,
		.ignore_corrupt_snapshot = cfg->ignore_corrupt_snapshot,
	};
}

/* The snapshot, then the journals after it, into ms (empty), with the timings and
   the header fields in *stats. *last_no_r: the last journal's number (0: none). */
static int persist_load_files(struct memstore *ms, int dir_fd, const char *dir_name,
			      bool ignore, const struct persist_progress *progress,
			      uint64_t *last_no_r, struct persist_load_stats *stats,
			      struct buf *report, const char **error_r)
{
	uint64_t snap_seq = 0, t0, t1, t2;
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir_name, SNAP_FILE);
	t0 = clock_us();
	r = snap_load(ms, dir_fd, path, SNAP_FILE, ignore, &snap_seq, stats, report, progress,
		      error_r);
	if (r == -ENOENT)
		r = 0;
	if (r < 0)
		return r;
	t1 = clock_us();
	r = jnl_replay_all(ms, dir_fd, dir_name, snap_seq, ignore, &stats->last_seq, last_no_r,
			   stats, report, progress, error_r);
	if (r < 0)
		return r;
	t2 = clock_us();
	stats->snapshot_seconds = (double)(t1 - t0) / 1e6;
	stats->journal_seconds = (double)(t2 - t1) / 1e6;
	return 0;
}

int persist_load_dir(struct uimap_store *store, const char *data_dir, bool ignore_corrupt,
		     const struct persist_progress *progress, struct persist_load_stats *stats_r,
		     char **report_r, const char **error_r)
{
	struct memstore *ms = (struct memstore *)store;
	struct buf report = { 0 };
	uint64_t last_no;
	int fd, r;

	memset(stats_r, 0, sizeof(*stats_r));
	if (report_r != NULL)
		*report_r = NULL;
	if (store == NULL || store->vt != &uimap_store_memory_vtable || ms->n_users != 0) {
		error_set(error_r, "a data directory loads into an empty in-memory store");
		return -EINVAL;
	}
	fd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		error_set(error_r, "%s: %s", data_dir, strerror(errno));
		return r;
	}
	r = persist_load_files(ms, fd, data_dir, ignore_corrupt, progress, &last_no, stats_r,
			       &report, error_r);
	close(fd);
	if (r == 0 && report.len > 0 && report_r != NULL)
		*report_r = xstrdup((const char *)report.data);
	buf_free(&report);
	return r;
}

static void persist_free(struct persist *p)
{
	snapbg_thread_stop(&p->snap_thread);
	jnl_discard_pending(p);
	if (p->jfd >= 0)
		close(p->jfd);
	if (p->retired_fd >= 0)
		close(p->retired_fd);
	if (p->spare_fd >= 0)
		close(p->spare_fd);
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	if (p->dir_fd >= 0)
		close(p->dir_fd);
	buf_free(&p->buf);
	buf_free(&p->report);
	free(p->segs);
	free(p->data_dir);
	free(p);
}

int persist_open(struct uimap_store *store, const struct persist_settings *set,
		 struct persist **p_r, const char **error_r)
{
	struct memstore *ms = (struct memstore *)store;
	struct persist *p;
	uint64_t last_seq, last_no;
	int r;

	if (store == NULL || store->vt != &uimap_store_memory_vtable) {
		error_set(error_r, "persistence needs the in-memory store");
		return -EINVAL;
	}
	if (ms->n_users != 0) {
		error_set(error_r, "persistence must be opened on an empty store");
		return -EINVAL;
	}
	if (set == NULL || set->data_dir == NULL || set->data_dir[0] == '\0') {
		error_set(error_r, "persistence needs data_dir");
		return -EINVAL;
	}
	p = xcalloc(1, sizeof(*p));
	p->ms = ms;
	p->set = *set;
	p->jfd = p->retired_fd = p->spare_fd = p->lock_fd = p->dir_fd = -1;
	p->journal_on = set->journal_fsync != UIMAP_JOURNAL_FSYNC_OFF;
	p->data_dir = xstrdup(set->data_dir);
	p->set.data_dir = p->data_dir;
	if (mkdir(p->data_dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		error_set(error_r, "%s: %s", p->data_dir, strerror(errno));
		goto fail;
	}
	p->dir_fd = open(p->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dir_fd < 0) {
		r = -errno;
		error_set(error_r, "%s: %s", p->data_dir, strerror(errno));
		goto fail;
	}
	/* One process per data directory (a second would interleave journals). */
	p->lock_fd = openat(p->dir_fd, PERSIST_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (p->lock_fd < 0 || flock(p->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		error_set(error_r, "%s: %s", p->data_dir, r == -EBUSY
			     ? "in use by another process" : strerror(-r));
		goto fail;
	}
	(void)unlinkat(p->dir_fd, SNAP_TMP_FILE, 0);
	r = persist_load_files(ms, p->dir_fd, p->data_dir, set->ignore_corrupt_snapshot,
			       set->progress, &last_no, &p->load, &p->report, error_r);
	if (r < 0)
		goto fail;
	last_seq = p->load.last_seq;
	p->seq = p->written_seq = p->durable_seq = last_seq;
	p->jno = last_no + 1;
	if (p->journal_on) {
		p->jfd = jnl_create(p->dir_fd, p->jno);
		if (p->jfd < 0) {
			r = p->jfd;
			error_set(error_r, "%s: new journal: %s", p->data_dir, strerror(-r));
			goto fail;
		}
		p->jsize = p->alloc_end = JNL_HEADER_SIZE;
		/* the next one too, so that the first snapshot's rotation does not
		   wait for an fsync on the loop */
		p->spare_fd = jnl_create(p->dir_fd, p->jno + 1);
		p->spare_no = p->jno + 1;
	}
	p->last_sync_ms = p->last_snapshot_ms = clock_ms();
	/* Replayed changes count toward the next snapshot. */
	p->changes = p->load.journal_records;
	p->replayed_bytes = p->load.journal_bytes;
	log_info("persist: %s: %llu users, %llu messages (%.1f MB) in %.3f s; %llu journal "
		 "records in %.3f s", p->data_dir, (unsigned long long)p->load.users,
		 (unsigned long long)p->load.messages, (double)p->load.snapshot_bytes / 1e6,
		 p->load.snapshot_seconds, (unsigned long long)p->load.journal_records,
		 p->load.journal_seconds);
	if (p->report.len > 0)
		log_warn("persist: %s", (const char *)p->report.data);
	store_memory_set_change_hook(store, jnl_on_change, jnl_on_reserve, p);
	*p_r = p;
	return 0;
fail:
	persist_free(p);
	return r;
}

const struct persist_load_stats *persist_load_stats(const struct persist *p)
{
	return &p->load;
}

const char *persist_load_report(const struct persist *p)
{
	return p->report.len > 0 ? (const char *)p->report.data : "";
}

const struct persist_metrics *persist_metrics(const struct persist *p)
{
	return &p->metrics;
}

/* ---- health -------------------------------------------------------------------- */

#define JNL_ALLOC_STEP (4u << 20)    /* journal blocks preallocated at a time */
#define RETRY_NO_SPACE_MS 1000       /* a full disk is asked again at most this often */
#define REFUSAL_LOG_MS 60000         /* refusals are logged at most once a minute */

static const char *health_text(const struct persist *p)
{
	if (p->health == PERSIST_OK)
		return NULL;
	if (p->error == -ENOSPC || p->error == -EDQUOT)
		return "disk full";
	return p->health == PERSIST_BROKEN ? "journal write failed" : "cannot reserve disk space";
}

void persist_fail(struct persist *p, enum persist_health h, int err, const char *what)
{
	char name[64];

	if (h <= p->health)
		return;   /* already there (or worse): logged once */
	if (p->health == PERSIST_OK) {
		p->error_since_ms = clock_ms();
		p->refused = p->refused_logged = 0;
	}
	p->health = h;
	p->error = err;
	p->error_what = what;
	p->last_retry_ms = clock_ms();
	/* memory holds changes the disk may not: a snapshot makes them durable,
	   started at once (persist_turn) rather than at the next retry */
	if (h == PERSIST_BROKEN)
		p->repair_now = true;
	jnl_name(p->jno, name);
	log_error("persist: %s/%s: %s failed: %s; %s", p->data_dir, name, what, strerror(-err),
		  h == PERSIST_BROKEN
		  ? "changes not on disk were not acknowledged; refusing changes until a "
		    "snapshot succeeds"
		  : "nothing was lost; refusing changes until space is available");
}

/* Back to PERSIST_OK (a reservation or a snapshot succeeded). */
static void persist_recovered(struct persist *p, const char *how)
{
	if (p->health == PERSIST_OK)
		return;
	log_info("persist: %s: %s after %.1f s; %llu change(s) were refused meanwhile",
		 p->data_dir, how, (double)(clock_ms() - p->error_since_ms) / 1000.0,
		 (unsigned long long)p->refused);
	p->health = PERSIST_OK;
	p->error = 0;
	p->error_what = NULL;
}

/* Allocate the journal's blocks up to at least need (more, to go on with). */
static int jnl_allocate(struct persist *p, uint64_t need)
{
	uint64_t want = need + (need / 8 > JNL_ALLOC_STEP ? need / 8 : JNL_ALLOC_STEP);

	if (p->alloc_unsupported || need <= p->alloc_end)
		return 0;
	for (;;) {
		int fail;
		if (failpoint("journal-fallocate", &fail)) {
			errno = -fail;
		} else if (fallocate(p->jfd, FALLOC_FL_KEEP_SIZE, (off_t)p->alloc_end,
				     (off_t)(want - p->alloc_end)) == 0) {
			p->alloc_end = want;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EOPNOTSUPP) {
			/* a filesystem without preallocation: writes may still fail, and
			   the journal then breaks (see persist.h) */
			p->alloc_unsupported = true;
			log_warn("persist: %s: no fallocate on this filesystem: a full disk is "
				 "noticed only when the journal write fails", p->data_dir);
			return 0;
		}
		/* the step is optional: what this change needs is not */
		if (want > need) {
			want = need;
			continue;
		}
		return -errno;
	}
}

int persist_reserve(struct persist *p, uint64_t bytes, const char **why_r)
{
	uint64_t now;
	int r;

	if (!p->journal_on)
		return 0;
	if (p->health != PERSIST_OK) {
		now = clock_ms();
		if (p->health == PERSIST_BROKEN || now - p->last_retry_ms < RETRY_NO_SPACE_MS)
			goto refuse;
		p->last_retry_ms = now;
	}
	r = jnl_allocate(p, p->jsize + p->buf.len + p->pending_blob_bytes + bytes);
	if (r == 0) {
		persist_recovered(p, "the journal has space again");
		return 0;
	}
	persist_fail(p, PERSIST_NO_SPACE, r, "journal space reservation");
refuse:
	p->refused++;
	now = clock_ms();
	if (p->refused > 1 && now - p->last_refusal_log_ms >= REFUSAL_LOG_MS) {
		log_warn("persist: %llu change(s) refused since %.0f s ago (%s)",
			 (unsigned long long)(p->refused - p->refused_logged),
			 (double)(now - p->error_since_ms) / 1000.0, health_text(p));
		p->refused_logged = p->refused;
		p->last_refusal_log_ms = now;
	}
	if (why_r != NULL)
		*why_r = health_text(p);
	return -EIO;
}

int jnl_on_reserve(void *ctx, uint64_t bytes)
{
	return persist_reserve(ctx, bytes, NULL);
}

enum persist_health persist_health(const struct persist *p, int *err_r, const char **text_r)
{
	if (err_r != NULL)
		*err_r = p->error;
	if (text_r != NULL)
		*text_r = health_text(p);
	return p->health;
}

/* ---- journal ------------------------------------------------------------------- */

uint64_t persist_journal_seq(const struct persist *p)
{
	return p->seq;
}

uint64_t persist_journal_durable_seq(const struct persist *p)
{
	return p->durable_seq;
}

bool persist_journal_is_durable(const struct persist *p, uint64_t seq)
{
	if (!p->journal_on || p->set.journal_fsync != UIMAP_JOURNAL_FSYNC_ALWAYS)
		return true;
	return seq <= p->durable_seq;
}

int persist_journal_flush_begin(struct persist *p, struct persist_flush *fl)
{
	int r;

	*fl = (struct persist_flush){ .fd = -1 };
	if (!p->journal_on)
		return 0;
	r = jnl_write_pending(p);
	if (r < 0)
		return r;
	if (p->sync_inflight)
		return 0; /* the records wait for the next group */
	if (p->retired_fd >= 0 && p->durable_seq >= p->retired_seq) {
		close(p->retired_fd);
		p->retired_fd = -1;
	}
	/* The journal before the last rotation first: durable_seq must never pass
	   records that are not on disk. */
	if (p->retired_fd >= 0 && p->durable_seq < p->retired_seq) {
		*fl = (struct persist_flush){ .fd = p->retired_fd, .need_fsync = true,
					      .seq = p->retired_seq };
		p->sync_inflight = true;
		return 0;
	}
	if (p->written_seq <= p->durable_seq)
		return 0;
	uint64_t now = clock_ms();

	if (p->set.journal_fsync == UIMAP_JOURNAL_FSYNC_PERIODIC && now - p->last_sync_ms < 1000)
		return 0;
	*fl = (struct persist_flush){ .fd = p->jfd, .need_fsync = true, .seq = p->written_seq };
	p->sync_inflight = true;
	p->last_sync_ms = now;
	return 0;
}

int persist_journal_flush_done(struct persist *p, uint64_t seq, int res)
{
	p->sync_inflight = false;
	if (res < 0) {
		/* After a failed fsync the page cache state is unknown (fsyncgate):
		   never report those records durable. */
		persist_fail(p, PERSIST_BROKEN, res, "journal fsync");
		return res;
	}
	if (seq > p->durable_seq)
		p->durable_seq = seq;
	if (p->retired_fd >= 0 && p->durable_seq >= p->retired_seq) {
		close(p->retired_fd);
		p->retired_fd = -1;
	}
	return 0;
}

int persist_journal_sync(struct persist *p)
{
	int r;

	if (!p->journal_on)
		return 0;
	r = jnl_write_pending(p);
	if (r < 0)
		return r;
	if (p->retired_fd >= 0 && p->durable_seq < p->retired_seq) {
		if (fdatasync(p->retired_fd) < 0) {
			persist_fail(p, PERSIST_BROKEN, -errno, "journal fsync");
			return p->error;
		}
		p->durable_seq = p->retired_seq;
	}
	if (p->retired_fd >= 0 && !p->sync_inflight) {
		close(p->retired_fd);
		p->retired_fd = -1;
	}
	if (p->written_seq > p->durable_seq) {
		if (fdatasync(p->jfd) < 0) {
			persist_fail(p, PERSIST_BROKEN, -errno, "journal fsync");
			return p->error;
		}
		p->durable_seq = p->written_seq;
	}
	return 0;
}

/* Start journal jno + 1: the records so far stay in the current file. */
static int persist_rotate(struct persist *p)
{
	int fd;

	if (!p->journal_on) {
		p->jno++;
		return 0;
	}
	if (p->retired_fd >= 0) {
		if (p->sync_inflight)
			return -EBUSY;
		/* broken: the snapshot about to start saves everything; the old journal
		   is not to be trusted or waited for */
		if (p->health != PERSIST_BROKEN && p->durable_seq < p->retired_seq) {
			if (fdatasync(p->retired_fd) < 0) {
				persist_fail(p, PERSIST_BROKEN, -errno, "journal fsync");
				return p->error;
			}
			p->durable_seq = p->retired_seq;
		}
		close(p->retired_fd);
		p->retired_fd = -1;
	}
	(void)jnl_write_pending(p);
	if (p->spare_fd >= 0 && p->spare_no == p->jno + 1) {
		/* made ahead by the last snapshot's writer: no fsync on the loop */
		fd = p->spare_fd;
		p->spare_fd = -1;
	} else {
		fd = jnl_create(p->dir_fd, p->jno + 1);
		if (fd < 0)
			return fd;
	}
	if (p->health == PERSIST_BROKEN) {
		if (!p->sync_inflight)
			close(p->jfd);
		else
			p->retired_fd = p->jfd, p->retired_seq = p->written_seq;
	} else if (p->sync_inflight || p->durable_seq < p->written_seq) {
		p->retired_fd = p->jfd;
		p->retired_seq = p->written_seq;
	} else {
		close(p->jfd);
	}
	p->jfd = fd;
	p->jno++;
	p->jsize = p->alloc_end = JNL_HEADER_SIZE;
	p->jdropped = 0;
	return 0;
}

/* ---- snapshots ------------------------------------------------------------------ */

bool persist_snapshot_due(const struct persist *p)
{
	if (p->bg != NULL || p->changes == 0)
		return false;
	if (p->set.snapshot_changes != 0 && p->changes >= p->set.snapshot_changes)
		return true;
	return p->set.snapshot_interval != 0 &&
	       clock_ms() - p->last_snapshot_ms >= (uint64_t)p->set.snapshot_interval * 1000;
}

int persist_snapshot_fd(const struct persist *p)
{
	return p->bg != NULL ? snapbg_fd(p->bg) : -1;
}

uint64_t persist_journal_bytes(const struct persist *p)
{
	return p->replayed_bytes + p->jsize + p->buf.len + p->pending_blob_bytes;
}

uint64_t persist_store_bytes(const struct persist *p)
{
	uint64_t bytes = 0;

	for (size_t u = 0; u < p->ms->n_users; u++)
		bytes += p->ms->users[u]->n_bytes;
	return bytes;
}

bool persist_snapshot_running(const struct persist *p)
{
	return p->bg != NULL;
}

int persist_snapshot_start(struct persist *p, uint64_t *pause_us_r)
{
	uint64_t t0 = clock_us(), pause;
	int r;

	if (p->bg != NULL)
		return -EBUSY;
	r = persist_rotate(p);
	if (r < 0)
		return r;
	/* no fork(): the loop encodes users in slices (persist_snapshot_step), a
	   thread writes them */
	r = snapbg_start(p, &p->bg);
	if (r < 0)
		return r;
	pause = clock_us() - t0;
	if (pause_us_r != NULL)
		*pause_us_r = pause;
	metrics_observe(&p->metrics.snapshot_fork, pause);
	p->snap_start_us = t0;
	p->snap_seq = p->seq;
	p->snap_repairs = p->health == PERSIST_BROKEN;
	p->snap_changes = p->changes;
	p->changes = 0;
	p->last_snapshot_ms = clock_ms();
	return 0;
}

bool persist_snapshot_step(struct persist *p)
{
	return p->bg != NULL && snapbg_slice(p->bg, false) == 0;
}

int persist_snapshot_now(struct persist *p, const char **error_r)
{
	uint64_t seq, bytes = 0;
	int r;

	if (p->bg != NULL) {
		error_set(error_r, "%s: a snapshot is being written", p->data_dir);
		return -EBUSY;
	}
	r = persist_rotate(p);
	if (r < 0) {
		error_set(error_r, "%s: new journal: %s", p->data_dir, strerror(-r));
		return r;
	}
	seq = p->seq;
	r = snap_write_file(p->ms, p->dir_fd, p->data_dir, SNAP_FILE, seq, p->jno, &bytes, error_r);
	if (r < 0)
		return r;
	jnl_delete_before(p->dir_fd, p->jno);
	/* the journals deleted held nothing the snapshot does not */
	if (p->written_seq < seq)
		p->written_seq = seq;
	if (p->durable_seq < seq)
		p->durable_seq = seq;
	p->changes = 0;
	p->last_snapshot_ms = clock_ms();
	log_info("persist: snapshot of %llu bytes written", (unsigned long long)bytes);
	return 0;
}

/* The writer has finished (or is waited for): 1 done, -errno failed. */
static int persist_snapshot_finish(struct persist *p, const char **error_r)
{
	struct snapbg_result res;
	uint64_t t0 = clock_us();
	int status = snapbg_end(p->bg, &res);
	uint64_t end_us = clock_us() - t0;

	p->bg = NULL;
	if (status == 0)
		p->replayed_bytes = 0;   /* those journals are gone */
	if (res.spare_fd >= 0) {
		if (p->spare_fd >= 0)
			close(p->spare_fd);
		p->spare_fd = res.spare_fd;
		p->spare_no = res.spare_no;
	}
	if (status == 0) {
		struct persist_metrics *m = &p->metrics;
		m->last_snapshot_us = clock_us() - p->snap_start_us;
		metrics_observe(&m->snapshot, m->last_snapshot_us);
		m->snapshots_ok++;
		m->snapshot_restarts += res.restarts;
		m->last_snapshot_bytes = res.bytes;
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		m->last_snapshot_unix_ms = (uint64_t)now.tv_sec * 1000u +
					   (uint64_t)now.tv_nsec / 1000000u;
		/* the writer removed the journals it covers */
		log_info("persist: snapshot of %llu bytes written in %.2f s; the loop spent "
			 "%llu us on it in %llu slices (longest %llu us, %llu us of CPU) and %llu us "
			 "ending it, %llu user(s) encoded again after a change",
			 (unsigned long long)res.bytes, (double)m->last_snapshot_us / 1e6,
			 (unsigned long long)res.loop_us, (unsigned long long)res.slices,
			 (unsigned long long)res.longest_us, (unsigned long long)res.longest_cpu_us,
			 (unsigned long long)end_us, (unsigned long long)res.restarts);
		if (p->snap_repairs && p->health == PERSIST_BROKEN) {
			/* memory as of the snapshot is on disk (no change was taken while
			   broken), and the journal after it is a fresh file: they match */
			if (p->written_seq < p->snap_seq)
				p->written_seq = p->snap_seq;
			if (p->durable_seq < p->snap_seq)
				p->durable_seq = p->snap_seq;
			persist_recovered(p, "a snapshot repaired the journal");
		}
		return 1;
	}
	error_set(error_r, "%s", res.error[0] != '\0' ? res.error : strerror(-status));
	p->metrics.snapshots_failed++;
	/* still to be saved by the next one */
	p->changes += p->snap_changes;
	return status;
}

int persist_snapshot_poll(struct persist *p, const char **error_r)
{
	if (p->bg == NULL || !snapbg_finished(p->bg))
		return 0;
	return persist_snapshot_finish(p, error_r);
}

int persist_snapshot_cancel(struct persist *p, const char **error_r)
{
	if (p->bg == NULL)
		return 0;
	snapbg_cancel(p->bg);
	return persist_snapshot_finish(p, error_r);
}

int persist_snapshot_wait(struct persist *p, const char **error_r)
{
	if (p->bg == NULL)
		return 0;
	return persist_snapshot_finish(p, error_r);
}

void persist_close(struct persist **pp)
{
	struct persist *p = *pp;
	const char *error;

	*pp = NULL;
	if (p == NULL)
		return;
	store_memory_set_change_hook(&p->ms->pub, NULL, NULL, NULL);
	if (p->journal_on && p->health != PERSIST_BROKEN && persist_journal_sync(p) < 0)
		log_error("persist: journal sync at close: %s", strerror(-p->error));
	if (p->bg != NULL)
		(void)persist_snapshot_wait(p, &error);
	persist_free(p);
}

/* ---- lower level ---------------------------------------------------------------- */

static int persist_open_parent(const char *path, char *dir, size_t dir_size, const char **base_r)
{
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL) {
		snprintf(dir, dir_size, ".");
		*base_r = path;
	} else {
		snprintf(dir, dir_size, "%.*s", slash == path ? 1 : (int)(slash - path), path);
		*base_r = slash + 1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int persist_snapshot_write(struct uimap_store *store, const char *path, uint64_t journal_seq,
			   uint64_t journal_no, const char **error_r)
{
	char dir[4096];
	const char *base;
	int fd = persist_open_parent(path, dir, sizeof(dir), &base), r;

	if (fd < 0) {
		error_set(error_r, "%s: %s", dir, strerror(-fd));
		return fd;
	}
	r = snap_write_file((struct memstore *)store, fd, dir, base, journal_seq, journal_no,
			    NULL, error_r);
	close(fd);
	return r;
}

int persist_snapshot_load(struct uimap_store *store, const char *path, bool ignore_corrupt,
			  uint64_t *journal_seq_r, struct persist_load_stats *stats,
			  const char **error_r)
{
	struct memstore *ms = (struct memstore *)store;
	struct persist_load_stats local = { 0 };
	struct buf report = { 0 };
	char dir[4096];
	const char *base;
	uint64_t seq = 0;
	int fd, r;

	if (store->vt != &uimap_store_memory_vtable || ms->n_users != 0) {
		error_set(error_r, "a snapshot loads into an empty in-memory store");
		return -EINVAL;
	}
	fd = persist_open_parent(path, dir, sizeof(dir), &base);
	if (fd < 0) {
		error_set(error_r, "%s: %s", dir, strerror(-fd));
		return fd;
	}
	r = snap_load(ms, fd, path, base, ignore_corrupt, &seq, stats != NULL ? stats : &local,
		      &report, NULL, error_r);
	close(fd);
	if (r == -ENOENT)
		error_set(error_r, "%s: %s", path, strerror(ENOENT));
	if (r == 0 && report.len > 0)
		log_warn("persist: %s", (const char *)report.data);
	buf_free(&report);
	if (journal_seq_r != NULL)
		*journal_seq_r = seq;
	return r;
}
