/* Persistence of the in-memory store: a background snapshot plus an append-only journal. */
#ifndef PERSIST_PERSIST_H
#define PERSIST_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"
#include "core/metrics.h"
#include "uimap/store.h"

/*
 * Model (Redis RDB + AOF)
 * -----------------------
 * data_dir holds "snapshot.uimap" (the whole store as of some moment) and journal
 * files "journal.<N>.uimap" with every change after it. Every journal record has a
 * global sequence number; the snapshot records the last one it contains, so replay
 * skips what the snapshot already holds, whichever file it is in.
 *
 * persist_open() loads the snapshot, replays the journals, starts a new journal
 * file and attaches to the store's change hook: from then on every mutation is
 * encoded into an in-memory buffer (nothing is written from inside the hook).
 *
 * Loop integration (all calls on the loop thread):
 *   - every loop turn, before waiting: persist_journal_flush_begin(). It writes the
 *     turn's records with one write(2) and may ask for an fsync: submit
 *     IORING_OP_FSYNC (IORING_FSYNC_DATASYNC) on flush.fd; when its CQE arrives
 *     call persist_journal_flush_done(p, flush.seq, cqe->res). Only one fsync is
 *     requested at a time; records written meanwhile go into the next one (group
 *     commit). The fd stays open at least until flush_done.
 *   - journal_fsync = always: a changing command records persist_journal_seq()
 *     after it ran and sends its tagged OK only once
 *     persist_journal_is_durable(p, seq); check waiting sessions after each
 *     flush_done. Other modes: is_durable is always true.
 *   - once a second (a timer): persist_journal_flush_begin() (periodic mode
 *     fsyncs when a second has passed) and, when persist_snapshot_due(),
 *     persist_snapshot_start().
 *   - after persist_snapshot_start() returned 0: call persist_snapshot_step()
 *     every loop turn (it encodes for ~200 us; true: more to do, do not block
 *     waiting for events), poll persist_snapshot_fd() (IORING_OP_POLL_ADD,
 *     POLLIN: an eventfd, readable when the writer thread has finished) and call
 *     persist_snapshot_poll() when it fires (calling it more often is harmless).
 *   - shutdown: persist_snapshot_start() + persist_snapshot_wait() if a final
 *     snapshot is wanted, then persist_close().
 *
 * Errors are -errno; functions that can explain more fill *error_r with a message
 * in thread-local storage (valid until the next persist call on that thread).
 */

struct persist;

/* Progress of a long load (tools): what is being read ("snapshot", "journal"), and
   bytes of it done out of total. Called now and then, and once at the end. */
struct persist_progress {
	void (*fn)(void *ctx, const char *what, uint64_t done, uint64_t total);
	void *ctx;
};

struct persist_settings {
	const char *data_dir;             /* created (0700) when missing */
	unsigned snapshot_interval;       /* seconds, 0 = no timed snapshots */
	unsigned snapshot_changes;        /* changes, 0 = no count trigger */
	enum uimap_journal_fsync journal_fsync;
	bool ignore_corrupt_snapshot;     /* keep what verified instead of refusing */
	const struct persist_progress *progress; /* NULL: none (the server) */
};

/* What persist_open() found on disk. */
struct persist_load_stats {
	uint64_t snapshot_bytes;
	uint64_t users, mailboxes, messages, blobs;
	uint64_t journal_files, journal_records, journal_bytes;
	uint64_t dropped_users, dropped_messages, dropped_records;
	double snapshot_seconds, journal_seconds;
	/* the snapshot's header (0 without a snapshot) */
	uint32_t snapshot_version;
	int64_t snapshot_created;        /* seconds since the epoch */
	uint64_t snapshot_seq;           /* the last journal record it holds */
	uint64_t last_seq;               /* the last journal record read (snapshot_seq if none) */
};

/* Fill settings from a server configuration (strings are borrowed). */
void persist_settings_from_config(struct persist_settings *set, const struct uimap_config *cfg);

/* Load data_dir into store, which must be an empty in-memory store
   (uimap_store_memory_new), then journal its changes. A missing snapshot or journal
   is an empty start. A corrupt or truncated snapshot (or a corrupt journal record
   that is not the torn tail of its file) gives -EBADMSG with *error_r naming the
   file and the offset, unless ignore_corrupt_snapshot: then the verified sections
   are kept and what was dropped is logged and in persist_load_report().
   Returns 0 with *p_r, or -errno with *error_r (the store may then hold part of
   the data: free it). -EBUSY: another process has data_dir open. store must
   outlive *p_r. */
int persist_open(struct uimap_store *store, const struct persist_settings *set,
		 struct persist **p_r, const char **error_r);

/* Read data_dir into store (an empty in-memory store) the way persist_open() does
   (the snapshot, then the journals after it), but without locking the directory or
   writing anything: for tools that look (info, verify, export), also while a uimapd
   runs on it (a record being written then may look like a torn tail). Fills *stats_r;
   *report_r (may be NULL) receives what ignore_corrupt dropped, or NULL when nothing
   was (free() it). progress may be NULL. Returns 0, -ENOENT (no such directory), or
   -EBADMSG/-errno with *error_r naming the file and the offset. */
int persist_load_dir(struct uimap_store *store, const char *data_dir, bool ignore_corrupt,
		     const struct persist_progress *progress, struct persist_load_stats *stats_r,
		     char **report_r, const char **error_r);

/* Detach from the store, write and fsync the journal, wait for a running snapshot
   child, free. NULL and *p == NULL are allowed. */
void persist_close(struct persist **p);

/* Counters of the load; the text of what was dropped ("" when nothing). */
const struct persist_load_stats *persist_load_stats(const struct persist *p);
const char *persist_load_report(const struct persist *p);

/* Timings of the journal and the snapshots since persist_open(), kept by the
   thread that drives persist (the loop), read at a scrape. */
struct persist_metrics {
	struct metrics_hist journal_write;  /* one write(v) of a turn's records */
	uint64_t journal_write_bytes;
	struct metrics_hist journal_fsync;  /* a group-commit fdatasync on the ring,
					       submission to completion */
	struct metrics_hist snapshot;       /* start to the child's successful end */
	struct metrics_hist snapshot_fork;  /* the loop's pause starting one */
	struct metrics_hist snapshot_slice; /* one slice of the loop's encoding */
	uint64_t snapshots_ok, snapshots_failed;
	uint64_t snapshot_restarts;         /* users encoded again after a change */
	uint64_t last_snapshot_unix_ms;     /* end of the last successful one, 0: none */
	uint64_t last_snapshot_bytes;
	uint64_t last_snapshot_us;          /* its duration */
};

/* The metrics of p (valid as long as p). */
const struct persist_metrics *persist_metrics(const struct persist *p);

/* ---- journal and group commit ---------------------------------------------- */

struct persist_flush {
	int fd;            /* the journal fd to fsync (valid when need_fsync) */
	bool need_fsync;   /* submit IORING_OP_FSYNC with IORING_FSYNC_DATASYNC now */
	uint64_t seq;      /* pass to persist_journal_flush_done() */
};

/* Sequence number of the last change journaled (0: none yet in this process's
   numbering, which continues the numbers on disk). */
uint64_t persist_journal_seq(const struct persist *p);
/* Every record with seq <= this is on disk (fsynced). */
uint64_t persist_journal_durable_seq(const struct persist *p);
/* Whether a command whose last change has sequence seq may be answered: seq is
   durable (always), or true (periodic, off). */
bool persist_journal_is_durable(const struct persist *p, uint64_t seq);

/* Write the buffered records (one writev) and tell whether an fsync is due: with
   always whenever something is unsynced and no fsync is in flight; with periodic
   when a second passed since the last; never with off. Returns 0, or -errno when
   the write failed (the file is cut back to its last whole record and the error
   is sticky: the server should stop accepting changes). */
int persist_journal_flush_begin(struct persist *p, struct persist_flush *flush_r);
/* The fsync requested by flush_begin completed with res (0 or -errno, the CQE's
   res). Returns 0 (durable seq advanced) or res (sticky error). */
int persist_journal_flush_done(struct persist *p, uint64_t seq, int res);
/* Blocking: write and fdatasync now (tests, shutdown, loops without io_uring).
   Returns 0 or -errno. */
int persist_journal_sync(struct persist *p);

/* ---- health: never acknowledge what is not on disk ----------------------------- */

/*
 * Every change reserves its journal space before the store applies it
 * (persist_reserve, through the store's reserve hook): the journal file's blocks are
 * preallocated (fallocate, FALLOC_FL_KEEP_SIZE) ahead of what is written, so a full
 * disk refuses the change up front and nothing is applied that cannot be written.
 * Health:
 *   PERSIST_OK        changes are accepted;
 *   PERSIST_NO_SPACE  a reservation failed (disk full, quota): changes are refused
 *                     with -EIO, nothing was lost; the journal tries again at most
 *                     once a second and leaves the state by itself (logged);
 *   PERSIST_BROKEN    a write or an fsync failed after changes were applied: those
 *                     records are not on disk (their replies are never sent: the
 *                     waiters get the error and the sessions say BYE), changes are
 *                     refused, and the journal no longer matches memory, so only a
 *                     full snapshot repairs it: one is attempted every few seconds,
 *                     and its success (a fresh journal after it) ends the state.
 * The failure is logged once with errno and file, refusals are counted and logged at
 * most once a minute.
 */
enum persist_health {
	PERSIST_OK = 0,
	PERSIST_NO_SPACE,
	PERSIST_BROKEN,
};

/* Reserve journal space for changes of about bytes (record headers included) about
   to be applied. Returns 0, or -EIO when the change must be refused (the journal
   cannot take it: *why_r (may be NULL) says why, e.g. "disk full"). */
int persist_reserve(struct persist *p, uint64_t bytes, const char **why_r);

/* The current health, and the errno (negative) and text of the failure (NULL when
   PERSIST_OK). */
enum persist_health persist_health(const struct persist *p, int *err_r, const char **text_r);

/* ---- on an event loop ------------------------------------------------------- */

struct ring;
struct timer_heap;

/* Run on a loop (call once, before it runs): persist submits its group-commit
   fdatasync and polls the snapshot child through ring, and a 1 s timer on timers
   runs periodic fsyncs and due snapshots; completions come back to persist through
   ring handlers. Without this, the flush/poll functions below are the caller's. */
void persist_attach(struct persist *p, struct ring *ring, struct timer_heap *timers);

/* Once per loop turn, before the wait: a slice of a running snapshot, write the
   turn's records with one write and start the group-commit fdatasync when due.
   True when the loop should not block (the snapshot has more to encode). */
bool persist_turn(struct persist *p);

/* Start a snapshot at once (SIGUSR1), unless one runs. */
void persist_request_snapshot(struct persist *p);

/* A command's wait for its changes to reach the disk (journal-fsync=always). */
struct persist_waiter {
	struct persist_waiter *prev, *next;
	uint64_t seq;
	bool queued;
	/* called once every record up to seq is durable (err 0), or when that can no
	   longer happen (err < 0: the journal failed) */
	void (*done)(struct persist_waiter *w, int err);
};

/* Call w->done when every record up to seq is durable; at once (err 0) when it
   already is. A queued waiter waits for the larger seq. */
void persist_wait_durable(struct persist *p, struct persist_waiter *w, uint64_t seq);

/* Forget w (its owner goes away); harmless when not queued. */
void persist_waiter_cancel(struct persist *p, struct persist_waiter *w);

/* Shutdown of an attached persist: stop its timer, wait for a running snapshot,
   write a final one (blocking). */
void persist_detach(struct persist *p);

/* ---- snapshots ------------------------------------------------------------ */

/* Whether a snapshot should be started now: snapshot_interval seconds passed
   since the last one started (and something changed), or snapshot_changes
   changes were made since; false while one runs. */
bool persist_snapshot_due(const struct persist *p);
/* Start a background snapshot: rotate the journal (new records go to journal N+1)
   and start its writer thread. The loop then encodes users in slices
   (persist_snapshot_step), each user as of one journal position (changes go on
   meanwhile; a user that changes is encoded again); the thread writes a temp
   file, fsyncs it, renames it over the snapshot, fsyncs the directory and removes
   the journals before N+1. The snapshot plus the journals from N+1 on are the
   store. Returns 0, -EBUSY (one is running), or -errno. *pause_us_r (may be
   NULL): how long this call took, in microseconds. */
int persist_snapshot_start(struct persist *p, uint64_t *pause_us_r);
/* Encode the running snapshot for about 200 us. True while there is more to
   encode (the loop should not sleep), false when none runs or all is encoded. */
bool persist_snapshot_step(struct persist *p);
/* Whether a snapshot is running. */
bool persist_snapshot_running(const struct persist *p);
/* eventfd of the running snapshot's writer (POLLIN when it has finished), -1 when
   none. */
int persist_snapshot_fd(const struct persist *p);
/* Non-blocking: 0 while running or when none runs, 1 when a snapshot completed
   (the journals it covers are then deleted), -errno when it failed (*error_r says
   why; the journals stay and the next start retries). */
int persist_snapshot_poll(struct persist *p, const char **error_r);
/* Give a running snapshot up (shutdown): its writer stops at its next blob section
   and removes its temporary file; the previous snapshot and the journals stay.
   0 when none ran, else -ECANCELED (or the error it had already met) with *error_r. */
int persist_snapshot_cancel(struct persist *p, const char **error_r);
/* Blocking form of persist_snapshot_poll (0 when none runs): encodes what is left
   on this thread, then waits for the writer. */
int persist_snapshot_wait(struct persist *p, const char **error_r);
/* A snapshot in this process, now (tools: uimapctl compact and offline import):
   what persist_snapshot_start's child does after the same journal rotation, so the
   directory ends as after a server's snapshot (the snapshot, the journals it covers
   deleted, a fresh journal when journaling). Returns 0, -EBUSY (a background one
   runs), or -errno with *error_r; on error the journals stay. */
int persist_snapshot_now(struct persist *p, const char **error_r);

/* ---- lower level (tests, tools) --------------------------------------------- */

/* Write the store's snapshot to path (temp file + fsync + rename + directory
   fsync) in this process. journal_seq is recorded as covered. Returns 0 or -errno
   with *error_r. */
int persist_snapshot_write(struct uimap_store *store, const char *path, uint64_t journal_seq,
			   uint64_t journal_no, const char **error_r);
/* Load a snapshot file into an empty memory store. ignore_corrupt as above.
   *journal_seq_r (may be NULL) receives the covered seq. Returns 0 or -errno with
   *error_r. */
int persist_snapshot_load(struct uimap_store *store, const char *path, bool ignore_corrupt,
			  uint64_t *journal_seq_r, struct persist_load_stats *stats,
			  const char **error_r);

#endif
