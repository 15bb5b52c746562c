/* Persistence on the event loop: group-commit fdatasync on the ring, durability
   waiters, the 1 s tick, the snapshot child's completion. */
#include "persist/persist-private.h"
#include "loop/ring.h"
#include "core/common.h"
#include "core/failpoint.h"
#include "core/log.h"
#include "core/probes.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

/* Tell every waiter whose records are durable now, or all of them with err. */
static void waiters_run(struct persist *p, int err)
{
	while (p->wait_head != NULL && (err < 0 || p->wait_head->seq <= p->durable_seq)) {
		struct persist_waiter *w = p->wait_head;
		persist_waiter_cancel(p, w);
		w->done(w, err);
	}
}

void persist_waiter_cancel(struct persist *p, struct persist_waiter *w)
{
	if (!w->queued)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		p->wait_head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	else
		p->wait_tail = w->prev;
	w->prev = w->next = NULL;
	w->queued = false;
}

void persist_wait_durable(struct persist *p, struct persist_waiter *w, uint64_t seq)
{
	if (persist_journal_is_durable(p, seq)) {
		if (!w->queued)
			w->done(w, 0);
		return;
	}
	/* seqs only grow: the newest wait goes to the tail, the list stays sorted */
	persist_waiter_cancel(p, w);
	w->seq = seq;
	w->prev = p->wait_tail;
	w->next = NULL;
	if (p->wait_tail != NULL)
		p->wait_tail->next = w;
	else
		p->wait_head = w;
	p->wait_tail = w;
	w->queued = true;
}

/* Dropped from the page cache in steps of this much, whole steps only: the tail
   page stays cached, so the next append never reads it back from disk. */
#define JNL_DROP_STEP (1u << 20)

static void fadvise_done(struct ring_handler *h, int res, unsigned flags)
{
	struct persist *p = container_of(h, struct persist, fadvise_h);
	(void)res;  /* advice only: the pages stay cached if it fails */
	(void)flags;
	p->fadvise_inflight = false;
}

/* The current journal's bytes up to off are on disk: drop them from the page cache
   (asynchronously, on the ring). */
static void journal_drop_cache(struct persist *p, uint64_t off)
{
	uint64_t end = off / JNL_DROP_STEP * JNL_DROP_STEP;

	if (p->fadvise_inflight || end <= p->jdropped)
		return;
	struct io_uring_sqe *sqe = ring_sqe(p->ring);
	io_uring_prep_fadvise(sqe, p->jfd, p->jdropped, (off_t)(end - p->jdropped),
			      POSIX_FADV_DONTNEED);
	io_uring_sqe_set_data64(sqe, udata_make(&p->fadvise_h, OP_HANDLER));
	p->fadvise_inflight = true;
	p->jdropped = end;
}

static void fsync_done(struct ring_handler *h, int res, unsigned flags)
{
	struct persist *p = container_of(h, struct persist, fsync_h);
	int fail;
	(void)flags;
	if (res == 0 && failpoint("journal-fsync", &fail))
		res = fail;
	metrics_observe(&p->metrics.journal_fsync, clock_us() - p->fsync_start_us);
	persist_journal_flush_done(p, p->fsync_seq, res);
	if (res == 0 && p->ring != NULL && p->fsync_jno == p->jno)
		journal_drop_cache(p, p->fsync_off);
	waiters_run(p, res < 0 ? res : 0);
}

static void snapshot_begin(struct persist *p, const char *why);

bool persist_turn(struct persist *p)
{
	struct persist_flush fl;
	if (p->ring != NULL && p->repair_now && !persist_snapshot_running(p)) {
		p->repair_now = false;
		p->last_retry_ms = clock_ms();
		snapshot_begin(p, "journal repair");
	}
	bool more = p->ring != NULL && persist_snapshot_step(p);
	if (p->ring == NULL || p->sync_inflight)
		return more;
	if (persist_journal_flush_begin(p, &fl) < 0) {
		/* logged by persist_fail(); replies waiting for these records never go */
		waiters_run(p, p->error);
		return more;
	}
	if (!fl.need_fsync)
		return more;
	struct io_uring_sqe *sqe = ring_sqe(p->ring);
	io_uring_prep_fsync(sqe, fl.fd, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, udata_make(&p->fsync_h, OP_HANDLER));
	p->fsync_seq = fl.seq;
	p->fsync_start_us = clock_us();
	/* the retired journal's pages go with its file, after the next snapshot */
	p->fsync_jno = fl.fd == p->jfd ? p->jno : 0;
	p->fsync_off = p->jsize;
	return more;
}

static void snapshot_poll(struct persist *p)
{
	int fd = persist_snapshot_fd(p);
	if (fd >= 0 && !p->snap_polling) {
		struct io_uring_sqe *sqe = ring_sqe(p->ring);
		io_uring_prep_poll_add(sqe, fd, POLLIN);
		io_uring_sqe_set_data64(sqe, udata_make(&p->snap_h, OP_HANDLER));
		p->snap_polling = true;
	}
}

static void snapshot_done(struct ring_handler *h, int res, unsigned flags)
{
	struct persist *p = container_of(h, struct persist, snap_h);
	const char *err = NULL;
	(void)res;
	(void)flags;
	p->snap_polling = false;
	int r = persist_snapshot_poll(p, &err);
	if (r > 0)
		PROBE0(snapshot__done);
	else if (r < 0)
		log_error("persist: snapshot failed: %s; the previous snapshot and the "
			  "journals stay", err ? err : strerror(-r));
	else if (persist_snapshot_fd(p) >= 0)
		snapshot_poll(p);   /* a spurious wake-up */
}

static void snapshot_begin(struct persist *p, const char *why)
{
	uint64_t pause_us = 0;
	int r = persist_snapshot_start(p, &pause_us);
	if (r == -EBUSY)
		return;
	if (r < 0) {
		log_error("snapshot (%s) failed to start: %s", why, strerror(-r));
		return;
	}
	PROBE0(snapshot__start);
	log_info("snapshot (%s) started; the loop paused %llu us", why,
		 (unsigned long long)pause_us);
	snapshot_poll(p);
}

#define REPAIR_EVERY_MS 5000   /* a broken journal: a repairing snapshot this often */

static void tick(struct timer *t)
{
	struct persist *p = container_of(t, struct persist, tick);
	uint64_t now = clock_ms();
	/* periodic mode fsyncs here; a due snapshot starts */
	persist_turn(p);
	if (p->health == PERSIST_BROKEN && !persist_snapshot_running(p) &&
	    now - p->last_retry_ms >= REPAIR_EVERY_MS) {
		p->last_retry_ms = now;
		snapshot_begin(p, "journal repair");
	} else if (p->health == PERSIST_NO_SPACE && now - p->last_retry_ms >= 1000) {
		/* space may have come back while nobody asked: find out and say so */
		(void)persist_reserve(p, 0, NULL);
		if (p->refused > 0)
			p->refused--;   /* that probe was not a refused change */
	} else if (persist_snapshot_due(p)) {
		snapshot_begin(p, "due");
	}
	timer_set(p->timers, t, clock_ms() + 1000, tick);
}

void persist_request_snapshot(struct persist *p)
{
	if (p->ring != NULL)
		snapshot_begin(p, "requested");
}

void persist_attach(struct persist *p, struct ring *ring, struct timer_heap *timers)
{
	p->ring = ring;
	p->timers = timers;
	p->fsync_h.fn = fsync_done;
	p->fadvise_h.fn = fadvise_done;
	p->snap_h.fn = snapshot_done;
	timer_set(timers, &p->tick, clock_ms() + 1000, tick);
	/* the snapshot writer thread, made now rather than while the loop waits
	   (failing that, each snapshot makes its own) */
	if (p->snap_thread == NULL && snapbg_thread_start(&p->snap_thread) < 0)
		log_warn("persist: no snapshot writer thread yet: each snapshot starts one");
}

void persist_detach(struct persist *p)
{
	const char *err = NULL;
	if (p->ring != NULL)
		timer_cancel(p->timers, &p->tick);
	/* a running snapshot is given up: its bytes are all in the snapshot before it
	   and the journal, and writing gigabytes would hold SIGTERM */
	if (persist_snapshot_running(p) && persist_snapshot_cancel(p, &err) < 0)
		log_info("persist: snapshot given up at shutdown (%s); the previous snapshot "
			 "and the journals hold everything", err ? err : "cancelled");
	/* A final snapshot on clean shutdown makes the next start read no journal.
	   Not when nothing changed since the last one, nor when the journal is much
	   smaller than the store: rewriting gigabytes would hold SIGTERM for seconds
	   while replaying the journal takes a fraction of that. */
	uint64_t store_bytes = persist_store_bytes(p);
	if (p->changes == 0) {
		log_info("final snapshot not needed: nothing changed since the last one");
	} else if (p->journal_on && persist_journal_bytes(p) * 8 < store_bytes) {
		log_info("final snapshot skipped: the journal (%llu bytes) holds the changes "
			 "since the last one (the store has %llu bytes)",
			 (unsigned long long)persist_journal_bytes(p),
			 (unsigned long long)store_bytes);
	} else if (persist_snapshot_start(p, NULL) == 0 && persist_snapshot_wait(p, &err) < 0) {
		log_error("final snapshot: %s", err ? err : "failed");
	} else {
		log_info("final snapshot written");
	}
	p->ring = NULL;
}
