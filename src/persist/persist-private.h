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
/* Messages this big or bigger are written from their blob (an iovec), not copied
   into the record buffer. */
#define JNL_INLINE_MAX (4u * 1024)
/* The record buffer's capacity kept between writes. */
#define JNL_BUF_KEEP (256u * 1024)

/* A part of the pending journal bytes: [off, off + len) of buf, or a whole blob. */
struct jnl_seg {
	size_t off, len;
	struct uimap_blob *blob;    /* a reference, dropped after the write */
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

	/* journal */
	bool journal_on;            /* journal_fsync != off */
	int jfd;                    /* current journal, O_APPEND */
	uint64_t jno;               /* its number */
	uint64_t jsize;             /* bytes in it that hold whole records */
	int retired_fd;             /* previous journal until its fsync is done, or -1 */
	int spare_fd;               /* journal spare_no, made ahead for the next rotation */
	uint64_t spare_no;
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
	bool repair_now;            /* broken: start a repairing snapshot this turn */
	uint64_t replayed_bytes;    /* journal bytes read at open, until a snapshot */
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
	struct snapbg *bg;          /* running snapshot, NULL when none */
	struct snapbg_thread *snap_thread; /* kept writer thread (attached), or NULL */
	uint64_t snap_seq;          /* the last record before it started */
	bool snap_repairs;          /* started while the journal was broken */
	uint64_t snap_changes;      /* changes counted when it started (back if it fails) */
	uint64_t snap_start_us;     /* clock_us() when it started */

	struct persist_metrics metrics;

	/* on a loop (persist_attach): NULL ring when driven by hand */
	struct ring *ring;
	struct timer_heap *timers;
	struct timer tick;          /* 1 s: periodic fsync, due snapshots */
	struct ring_handler fsync_h;  /* the group-commit fdatasync */
	uint64_t fsync_seq;         /* what the fsync in flight makes durable */
	uint64_t fsync_start_us;    /* when it was submitted */
	uint64_t fsync_jno, fsync_off; /* the journal it syncs and its size then */
	/* the current journal's durable bytes are dropped from the page cache (read
	   again only by a restart's replay): they would crowd out the pages that serve
	   messages, e.g. the snapshot mapped at load */
	struct ring_handler fadvise_h;
	uint64_t jdropped;          /* dropped up to here (0: nothing yet) */
	bool fadvise_inflight;
	struct ring_handler snap_h; /* poll of the snapshot writer's eventfd */
	bool snap_polling;
	struct persist_waiter *wait_head, *wait_tail; /* ascending seq */
};

/* snapbg.c: a background snapshot (see there) */
struct snapbg;

struct snapbg_result {
	uint64_t bytes;             /* of the file */
	uint64_t loop_us, longest_us, slices;  /* the loop's time spent encoding */
	uint64_t longest_cpu_us;    /* the longest slice in the thread's CPU time */
	uint64_t restarts;          /* users encoded again after a change */
	uint64_t seq;               /* the journal position it started from */
	int spare_fd;               /* the next journal, made by the writer, or -1 */
	uint64_t spare_no;
	char error[512];            /* when it failed: names the file */
};

/* Start one as of p->seq and p->jno (the journal just rotated): its writer thread
   creates SNAP_TMP_FILE. 0, or -errno. */
int snapbg_start(struct persist *p, struct snapbg **bg_r);

/* An eventfd that becomes readable when the writer has finished. */
int snapbg_fd(const struct snapbg *bg);

/* The change hook saw a change of user (before the next slice). */
void snapbg_changed(struct snapbg *bg, const char *user);

/* Encode for about 200 us (unlimited: to the end). 1 when everything is encoded,
   0 when there is more. Loop thread. */
int snapbg_slice(struct snapbg *bg, bool unlimited);

/* Whether the writer has finished (snapbg_end() will not block). */
bool snapbg_finished(struct snapbg *bg);

/* Give the snapshot up (shutdown): no more encoding, the writer stops at its next
   blob section and removes its temporary; then snapbg_end() reports -ECANCELED. */
void snapbg_cancel(struct snapbg *bg);

/* A writer thread kept between snapshots (so starting one creates no thread).
   snapbg_start() uses p->snap_thread when set, else a thread of the snapshot's own. */
struct snapbg_thread;
int snapbg_thread_start(struct snapbg_thread **t_r);
/* Stop and join it (no snapshot may be running). NULLs *t. */
void snapbg_thread_stop(struct snapbg_thread **t);

/* Encode what is left, wait for the writer, free bg. 0 (the snapshot is durable and
   the journals before it are removed), or -errno with res->error. */
int snapbg_end(struct snapbg *bg, struct snapbg_result *res);

/* persist.c */
/* Bytes in the current journal (written and pending): the changes since the last
   snapshot started. */
uint64_t persist_journal_bytes(const struct persist *p);
/* The sizes of every live message of the store (a shared blob once per copy). */
uint64_t persist_store_bytes(const struct persist *p);
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
/* Blob pointer -> id, open addressing, grown as needed. */
struct blob_map {
	uintptr_t *keys;
	uint64_t *ids;
	size_t mask;
	size_t count;
};

/* An empty map sized for about n blobs. */
void blob_map_init(struct blob_map *m, uint64_t n);

/* The id of blob, or UINT64_MAX after inserting it with id next. */
uint64_t blob_map_get(struct blob_map *m, const struct uimap_blob *blob, uint64_t next);

/* Free the map's arrays (the blobs are not touched). */
void blob_map_free(struct blob_map *m);

/* The pieces of a USER section (format.h), in this order: the head (out is reset),
   per mailbox its head then each live message with its blob id, then the tail
   with the journal position the user's state is as of. */
void snap_encode_user_head(struct buf *out, const struct store_user *user);
void snap_encode_box_head(struct buf *out, const struct mailbox *box);
void snap_encode_msg(struct buf *out, const struct store_msg *msg, uint64_t blob_id);
void snap_encode_user_tail(struct buf *out, const struct store_user *user, uint64_t as_of);

/* A snapshot written section by section into SNAP_TMP_FILE (any one thread), then
   made the snapshot by snap_out_finish(). Write errors are kept and reported by
   finish. */
struct snap_out;

/* Create the temporary file. 0, or -errno with *error_r. */
int snap_out_open(int dir_fd, const char *dir_name, struct snap_out **out_r,
		  const char **error_r);

/* BLOBS sections for blobs[0..n) with ids first_id..: ids follow each other across
   calls, and a message's blob is written before its user. */
void snap_out_blobs(struct snap_out *o, const struct uimap_blob *const *blobs, size_t n,
		    uint64_t first_id);

/* A USER section: data (len bytes, from snap_encode_*) holding count messages. */
void snap_out_user(struct snap_out *o, const void *data, size_t len, uint32_t count);

/* The END section and the header, fsync, rename over SNAP_FILE, fsync the
   directory; o is freed. 0 (*bytes_r: the file's size), or -errno with *error_r
   naming the file (the temporary is removed, the old snapshot is untouched). */
int snap_out_finish(struct snap_out *o, int dir_fd, const char *dir_name,
		    uint32_t last_uidvalidity, uint64_t journal_seq, uint64_t journal_no,
		    uint64_t *bytes_r, const char **error_r);

/* *cancel (atomic, set by another thread) makes the writing stop at the next blob
   section, the snapshot then failing with -ECANCELED. */
void snap_out_set_cancel(struct snap_out *o, const bool *cancel);

/* Give up: remove the temporary and free o (NULL is allowed). */
void snap_out_abort(struct snap_out *o, int dir_fd);

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
