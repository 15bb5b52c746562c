/* Internals shared by the persist files: the persist state, journal writer, restore helpers. */
#ifndef PERSIST_PRIVATE_H
#define PERSIST_PRIVATE_H

#include <stdarg.h>
#include <sys/uio.h>

#include "core/common.h"
#include "core/error.h"
#include "persist/format.h"
#include "persist/persist.h"
#include "store/memstore.h"
#include "loop/ring.h"
#include "loop/timer.h"
#include "loop/udata.h"

/* Message bytes at least this big are written from the blob (writev), not copied
   into the journal buffer. */
#define JNL_INLINE_MAX (64u * 1024)

/* A part of the pending journal bytes: [off, off + len) of buf, or a whole blob. */
struct jnl_seg {
	size_t off, len;
	struct uimap_blob *blob;    /* a reference, dropped after the write */
};

/* Result the snapshot child leaves in a shared page for the parent. */
struct snap_result {
	int status;                 /* 0, or -errno */
	uint64_t bytes;
	char error[512];
};

struct persist {
	/* permanent */
	struct memstore *ms;
	struct persist_settings set;
	char *data_dir;
	int dir_fd;
	int lock_fd;                /* flock()ed: one process per data_dir */
	struct persist_load_stats load;
	struct buf report;        /* NUL-terminated text of what the load dropped */
	struct snap_result *shared; /* MAP_SHARED page written by the snapshot child */

	/* journal */
	bool journal_on;            /* journal_fsync != off */
	int jfd;                    /* current journal, O_APPEND */
	uint64_t jno;               /* its number */
	uint64_t jsize;             /* bytes in it that hold whole records */
	int retired_fd;             /* previous journal until its fsync is done, or -1 */
	uint64_t retired_seq;       /* last seq written to it */
	uint64_t seq;               /* last record appended (buffered or written) */
	uint64_t written_seq;       /* last record written to a file */
	uint64_t durable_seq;       /* last record fsynced */
	bool sync_inflight;
	uint64_t last_sync_ms;
	/* health: what the journal can do now (see persist_reserve) */
	enum persist_health health;
	int error;                  /* -errno of the failure that left PERSIST_OK */
	const char *error_what;     /* "journal write", "journal fsync", ... */
	uint64_t error_since_ms, last_retry_ms, last_refusal_log_ms;
	uint64_t refused, refused_logged; /* changes refused since the failure */
	uint64_t alloc_end;         /* the journal's blocks are allocated up to here */
	bool alloc_unsupported;     /* no fallocate on this filesystem */
	uint64_t pending_blob_bytes; /* big messages queued as segs, not in buf */
	struct buf buf;           /* record bytes of this turn */
	struct jnl_seg *segs;       /* how buf and blobs interleave */
	size_t n_segs, cap_segs;
	size_t buf_seg_start;       /* start of the buf part not yet in segs */

	/* snapshots */
	uint64_t changes;           /* hook calls since the last snapshot started */
	uint64_t last_snapshot_ms;  /* when the last one started (or open) */
	pid_t child;                /* running snapshot, 0 when none */
	int child_fd;               /* its pidfd */
	uint64_t child_seq;         /* the last record it covers */
	bool child_repairs;         /* started while the journal was broken */
	uint64_t child_start_us;    /* clock_us() when it was forked */

	struct persist_metrics metrics;

	/* on a loop (persist_attach): NULL ring when driven by hand */
	struct ring *ring;
	struct timer_heap *timers;
	struct timer tick;          /* 1 s: periodic fsync, due snapshots */
	struct ring_handler fsync_h;  /* the group-commit fdatasync */
	uint64_t fsync_seq;         /* what the fsync in flight makes durable */
	uint64_t fsync_start_us;    /* when it was submitted */
	struct ring_handler snap_h; /* poll of the snapshot child's pidfd */
	bool snap_polling;
	struct persist_waiter *wait_head, *wait_tail; /* ascending seq */
};

/* persist.c */
/* Append a line to a load report. */
void persist_reportf(struct buf *report, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
uint64_t persist_now_ms(void);
uint64_t persist_now_us(void);
/* fsync a directory. Returns 0 or -errno. */
int persist_fsync_dir(int dir_fd);
/* Read the whole of fd from offset 0 into a malloc()ed buffer (size *len_r). */
int persist_read_file(int fd, unsigned char **data_r, size_t *len_r);

/* snapshot.c */
/* Write the whole snapshot to fd (positioned at 0). Returns bytes written or
   -errno with *error_r. */
int64_t snap_write_fd(struct memstore *ms, int fd, uint64_t journal_seq, uint64_t journal_no,
		      const char **error_r);
/* Write dir/name safely (name.tmp, fsync, rename, fsync dir). */
int snap_write_file(struct memstore *ms, int dir_fd, const char *dir_name, const char *name,
		    uint64_t journal_seq, uint64_t journal_no, uint64_t *bytes_r,
		    const char **error_r);
/* Load into ms (empty). Returns 0, -ENOENT (no file), -EBADMSG (corrupt, with
   *error_r, unless ignore), other -errno. */
int snap_load(struct memstore *ms, int dir_fd, const char *path_for_errors, const char *name,
	      bool ignore, uint64_t *journal_seq_r, struct persist_load_stats *stats,
	      struct buf *report, const struct persist_progress *progress,
	      const char **error_r);

/* persist.c: health */
/* The journal failed (what: "journal write", ...; err -errno): enter health h
   (PERSIST_BROKEN wins over PERSIST_NO_SPACE), logged once. */
void persist_fail(struct persist *p, enum persist_health h, int err, const char *what);

/* journal.c */
/* The change hook. */
void jnl_on_change(void *ctx, const struct store_change *change);
/* Its reserve hook: persist_reserve() of the bytes. */
int jnl_on_reserve(void *ctx, uint64_t bytes);
/* Create journal number no in dir (header written, file and dir fsynced).
   Returns the fd or -errno. */
int jnl_create(int dir_fd, uint64_t no);
/* Write the buffered records to p->jfd. Returns 0 or -errno (sticky). */
int jnl_write_pending(struct persist *p);
/* Drop buffered records without writing them (close after an error). */
void jnl_discard_pending(struct persist *p);
/* Replay every journal file of the directory in number order, skipping records
   with seq <= after_seq. Sets *last_seq_r and *last_no_r (0 when none). Fills
   stats; tells progress (may be NULL) after each file. Returns 0 or
   -EBADMSG/-errno with *error_r. */
int jnl_replay_all(struct memstore *ms, int dir_fd, const char *dir_name, uint64_t after_seq,
		   bool ignore, uint64_t *last_seq_r, uint64_t *last_no_r,
		   struct persist_load_stats *stats, struct buf *report,
		   const struct persist_progress *progress, const char **error_r);
/* Delete journal files numbered below no. */
void jnl_delete_before(int dir_fd, uint64_t no);
/* The file name of journal no. */
void jnl_name(uint64_t no, char out[64]);

#endif
