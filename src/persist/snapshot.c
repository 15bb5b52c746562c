/* The snapshot file: writing the whole store (in the fork child) and loading it at start. */
#include "persist/persist-private.h"
#include "core/alloc.h"
#include "core/failpoint.h"

#include "persist/crc32c.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

/* Header offsets (SNAP_HEADER_SIZE bytes). */
#define H_MAGIC 0
#define H_VERSION 8
#define H_HEADER_SIZE 12
#define H_LAST_UIDVALIDITY 16
#define H_JOURNAL_SEQ 24
#define H_JOURNAL_NO 32
#define H_CREATED 40
#define H_N_USERS 48
#define H_CRC 60

/* A blob section closes once it holds this many bytes (one bigger blob gets its
   own section). Also the loader's allocation unit for message bytes. */
#define SNAP_CHUNK (32u << 20)
#define SNAP_WBUF (4u << 20)

/* ---- writer ------------------------------------------------------------------ */

struct snap_writer {
	int fd;
	unsigned char *buf;
	size_t len;
	uint64_t off;               /* file offset of buf[len] */
	uint32_t crc;               /* of the current section's payload */
	uint64_t n_sections;
	int error;
	uint64_t synced;            /* written back up to here (w_writeback) */
};


static int w_flush(struct snap_writer *w)
{
	size_t done = 0;

	while (done < w->len && w->error == 0) {
		int fail;
		ssize_t n = failpoint("snapshot-write", &fail)
				    ? (errno = -fail, -1)
				    : write(w->fd, w->buf + done, w->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			w->error = n < 0 ? -errno : -EIO;
		else
			done += (size_t)n;
	}
	w->len = 0;
	return w->error;
}

#define SNAP_WRITEBACK (32u << 20)

/* Every SNAP_WRITEBACK bytes, wait until they are on disk: a snapshot of gigabytes
   never has more than that dirty in the page cache, so it cannot push the machine
   into reclaim that stalls the loop's own allocations (the final fsync is short). */
static void w_writeback(struct snap_writer *w)
{
	uint64_t end = w->off - w->len;   /* what write() has taken */

	if (w->error != 0 || end - w->synced < SNAP_WRITEBACK)
		return;
	(void)sync_file_range(w->fd, (off64_t)w->synced, (off64_t)(end - w->synced),
			      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			      SYNC_FILE_RANGE_WAIT_AFTER);
	/* Memory short (the store, its journal and this file do not all fit): the
	   pages just written leave the page cache rather than push everybody,
	   the loop included, into reclaim. With room, they stay for a warm restart. */
	struct sysinfo si;

	if (sysinfo(&si) == 0 && (uint64_t)si.freeram * 4 < (uint64_t)si.totalram)
		(void)posix_fadvise(w->fd, (off_t)w->synced, (off_t)(end - w->synced),
				    POSIX_FADV_DONTNEED);
	w->synced = end;
}

/* Bytes into the file; payload ones go into the section CRC. */
static void w_put(struct snap_writer *w, const void *data, size_t len, bool payload)
{
	if (payload)
		w->crc = crc32c(w->crc, data, len);
	w->off += len;
	if (len >= SNAP_WBUF / 2) {
		/* Big message bytes go straight from the store (blobs are immutable). */
		if (w_flush(w) < 0)
			return;
		const unsigned char *p = data;

		while (len > 0 && w->error == 0) {
			ssize_t n = write(w->fd, p, len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				w->error = n < 0 ? -errno : -EIO;
				return;
			}
			p += n;
			len -= (size_t)n;
		}
		w_writeback(w);
		return;
	}
	if (SNAP_WBUF - w->len < len && w_flush(w) < 0)
		return;
	memcpy(w->buf + w->len, data, len);
	w->len += len;
	w_writeback(w);
}

static void w_section_begin(struct snap_writer *w, uint32_t type, uint32_t count,
			    uint64_t length, uint64_t first_id)
{
	unsigned char h[SNAP_SECTION_HEADER] = { 0 };

	put_u32(h, type);
	put_u32(h + 4, count);
	put_u64(h + 8, length);
	put_u64(h + 16, first_id);
	put_u32(h + 28, crc32c(0, h, 28));
	w_put(w, h, sizeof(h), false);
	w->crc = 0;
}

static void w_section_end(struct snap_writer *w)
{
	unsigned char t[12] = { 0 };
	size_t pad = (8 - (size_t)((w->off + 4) & 7)) & 7;

	put_u32(t, w->crc);
	w_put(w, t, 4 + pad, false);
	w->n_sections++;
}

/* Zeroed memory for the map: straight from mmap (pages zeroed by the kernel when
   first touched, spread over the slices that insert), never a memset of megabytes. */
static void *blob_map_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		oom(bytes);
	return p;
}

void blob_map_init(struct blob_map *m, uint64_t n)
{
	size_t cap = 64;

	while (cap < n * 2)
		cap *= 2;
	m->keys = blob_map_alloc(cap * sizeof(*m->keys));
	m->ids = blob_map_alloc(cap * sizeof(*m->ids));
	m->mask = cap - 1;
	m->count = 0;
}

void blob_map_free(struct blob_map *m)
{
	if (m->keys != NULL) {
		munmap(m->keys, (m->mask + 1) * sizeof(*m->keys));
		munmap(m->ids, (m->mask + 1) * sizeof(*m->ids));
	}
	*m = (struct blob_map){ 0 };
}

static uint64_t blob_map_insert(struct blob_map *m, uintptr_t key, uint64_t id)
{
	size_t i = (size_t)((key >> 4) * 0x9e3779b97f4a7c15ull) & m->mask;

	while (m->keys[i] != 0) {
		if (m->keys[i] == key)
			return m->ids[i];
		i = (i + 1) & m->mask;
	}
	m->keys[i] = key;
	m->ids[i] = id;
	m->count++;
	return UINT64_MAX;
}

uint64_t blob_map_get(struct blob_map *m, const struct uimap_blob *blob, uint64_t next)
{
	if (2 * (m->count + 1) > m->mask + 1) {
		/* more blobs than counted at the start (a background snapshot) */
		struct blob_map old = *m;

		blob_map_init(m, 2 * (old.mask + 1));
		for (size_t i = 0; i <= old.mask; i++) {
			if (old.keys[i] != 0)
				blob_map_insert(m, old.keys[i], old.ids[i]);
		}
		blob_map_free(&old);
	}
	return blob_map_insert(m, (uintptr_t)blob, next);
}

struct blob_batch {
	const struct uimap_blob **blobs;
	size_t n, cap;
	uint64_t bytes;
	uint64_t first_id;
};

static void w_blob_section(struct snap_writer *w, struct blob_batch *b)
{
	if (b->n == 0)
		return;
	w_section_begin(w, SNAP_SEC_BLOBS, (uint32_t)b->n, 8 * b->n + b->bytes, b->first_id);
	for (size_t i = 0; i < b->n; i++) {
		uint64_t size = b->blobs[i]->size;

		w_put(w, &size, 8, true);
	}
	for (size_t i = 0; i < b->n; i++)
		w_put(w, b->blobs[i]->data, b->blobs[i]->size, true);
	w_section_end(w);
	b->first_id += b->n;
	b->n = 0;
	b->bytes = 0;
}

void snap_encode_user_head(struct buf *out, const struct store_user *user)
{
	out->len = 0;
	buf_append_lstr(out, user->name);
	buf_append_u32(out, (uint32_t)user->n_subs);
	for (size_t i = 0; i < user->n_subs; i++)
		buf_append_lstr(out, user->subs[i]);
	buf_append_u32(out, (uint32_t)user->n_boxes);
}

void snap_encode_box_head(struct buf *out, const struct mailbox *box)
{
	unsigned char fix[28];

	put_u32(fix, box->uidvalidity);
	put_u32(fix + 4, box->uidnext);
	put_u32(fix + 8, box->first_recent_uid);
	put_u32(fix + 12, box->special_use);
	put_u32(fix + 16, box->noselect ? 1 : 0);
	put_u64(fix + 20, box->modseq);
	buf_append_lstr(out, box->name);
	buf_append(out, fix, sizeof(fix));
	buf_append_u32(out, box->n_keywords);
	for (unsigned k = 0; k < box->n_keywords; k++)
		buf_append_lstr(out, box->keywords[k]);
	buf_append_u32(out, box->n_live);
	buf_reserve(out, (size_t)box->n_live * SNAP_MSG_SIZE);
}

void snap_encode_msg(struct buf *out, const struct store_msg *msg, uint64_t blob_id)
{
	unsigned char *m;

	buf_reserve(out, SNAP_MSG_SIZE);
	m = (unsigned char *)out->data + out->len;
	memset(m, 0, SNAP_MSG_SIZE);
	put_u32(m, msg->uid);
	m[4] = msg->flags;
	put_u16(m + 6, (uint16_t)msg->tz_minutes);
	put_u64(m + 8, msg->modseq);
	put_u64(m + 16, msg->keywords);
	put_u64(m + 24, (uint64_t)msg->internaldate);
	put_u64(m + 32, blob_id);
	out->len += SNAP_MSG_SIZE;
}

void snap_encode_user_tail(struct buf *out, const struct store_user *user, uint64_t as_of)
{
	/* version 2: an administrator's quota (SETQUOTA) */
	buf_append_u32(out, user->has_quota ? 1 : 0);
	buf_append_u64(out, user->quota.max_bytes);
	buf_append_u64(out, user->quota.max_messages);
	/* version 2: URLAUTH mailbox access keys */
	buf_append_u32(out, (uint32_t)user->n_urlkeys);
	for (size_t i = 0; i < user->n_urlkeys; i++) {
		buf_append_lstr(out, user->urlkeys[i].mailbox);
		buf_append(out, user->urlkeys[i].key, sizeof(user->urlkeys[i].key));
	}
	/* version 3: the journal position of this user's state */
	buf_append_u64(out, as_of);
}

static int user_encode(struct buf *out, const struct store_user *user, uint64_t as_of,
		       struct blob_map *map, struct blob_batch *batch, struct snap_writer *w,
		       uint32_t *n_msgs_r)
{
	uint32_t total = 0;

	snap_encode_user_head(out, user);
	for (size_t b = 0; b < user->n_boxes; b++) {
		const struct mailbox *box = user->boxes[b];
		uint32_t written = 0;

		snap_encode_box_head(out, box);
		for (uint32_t i = 0; i < box->n_msgs; i++) {
			const struct store_msg *msg = &box->msgs[i];
			uint64_t next = batch->first_id + batch->n, id;

			if (msg->state != MSG_LIVE)
				continue;
			if (written == box->n_live)
				return -EFAULT; /* counters disagree: refuse to write */
			id = blob_map_get(map, msg->blob, next);
			if (id == UINT64_MAX) {
				id = next;
				if (batch->n == batch->cap) {
					batch->cap = batch->cap == 0 ? 1024 : batch->cap * 2;
					batch->blobs = xrealloc(batch->blobs,
								batch->cap * sizeof(*batch->blobs));
				}
				batch->blobs[batch->n++] = msg->blob;
				batch->bytes += msg->blob->size;
				if (batch->bytes >= SNAP_CHUNK)
					w_blob_section(w, batch);
			}
			snap_encode_msg(out, msg, id);
			written++;
		}
		if (written != box->n_live)
			return -EFAULT;
		total += written;
	}
	snap_encode_user_tail(out, user, as_of);
	*n_msgs_r = total;
	return 0;
}

int64_t snap_write_fd(struct memstore *ms, int fd, uint64_t journal_seq, uint64_t journal_no,
		      const char **error_r)
{
	struct snap_writer w = { .fd = fd };
	struct blob_map map = { 0 };
	struct blob_batch batch = { 0 };
	struct buf user_buf = { 0 };
	unsigned char h[SNAP_HEADER_SIZE] = { 0 };
	uint64_t n_msgs = 0;
	int r = 0;

	for (size_t u = 0; u < ms->n_users; u++) {
		for (size_t b = 0; b < ms->users[u]->n_boxes; b++)
			n_msgs += ms->users[u]->boxes[b]->n_live;
	}
	w.buf = xmalloc(SNAP_WBUF);
	blob_map_init(&map, n_msgs);
	memcpy(h + H_MAGIC, SNAP_MAGIC, 8);
	put_u32(h + H_VERSION, SNAP_VERSION);
	put_u32(h + H_HEADER_SIZE, SNAP_HEADER_SIZE);
	put_u32(h + H_LAST_UIDVALIDITY, ms->last_uidvalidity);
	put_u64(h + H_JOURNAL_SEQ, journal_seq);
	put_u64(h + H_JOURNAL_NO, journal_no);
	put_u64(h + H_CREATED, (uint64_t)time(NULL));
	put_u64(h + H_N_USERS, ms->n_users);
	put_u32(h + H_CRC, crc32c(0, h, H_CRC));
	w_put(&w, h, sizeof(h), false);

	for (size_t u = 0; u < ms->n_users && w.error == 0; u++) {
		uint32_t count;

		/* The user's new blobs come first, so the loader always knows a
		   message's blob when it reads the message. */
		r = user_encode(&user_buf, ms->users[u], journal_seq, &map, &batch, &w, &count);
		if (r < 0)
			goto out;
		w_blob_section(&w, &batch);
		w_section_begin(&w, SNAP_SEC_USER, count, user_buf.len, 0);
		w_put(&w, user_buf.data, user_buf.len, true);
		w_section_end(&w);
	}
	unsigned char end[32];
	uint64_t end_off = w.off;

	put_u64(end, w.n_sections);
	put_u64(end + 8, ms->n_users);
	put_u64(end + 16, batch.first_id);
	put_u64(end + 24, end_off);
	w_section_begin(&w, SNAP_SEC_END, 0, sizeof(end), 0);
	w_put(&w, end, sizeof(end), true);
	w_section_end(&w);
	w_flush(&w);
	r = w.error;
out:
	if (r < 0)
		error_set(error_r, "snapshot write: %s", r == -EFAULT
			     ? "store counters are inconsistent" : strerror(-r));
	free(w.buf);
	blob_map_free(&map);
	free(batch.blobs);
	buf_free(&user_buf);
	return r < 0 ? r : (int64_t)w.off;
}

/* Make the written temporary tmp (fd, closed here) the file name: fsync it, rename it,
   fsync the directory. 0, or -errno with *error_r (the temporary is removed). Durable
   contents before the name: a crash leaves the old file or this one. */
static int snap_commit(int fd, int dir_fd, const char *dir_name, const char *tmp,
		       const char *name, const char **error_r)
{
	int r;

	if (fsync(fd) < 0) {
		r = -errno;
		error_set(error_r, "%s/%s: fsync: %s", dir_name, tmp, strerror(errno));
		close(fd);
		unlinkat(dir_fd, tmp, 0);
		return r;
	}
	close(fd);
	if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
		r = -errno;
		error_set(error_r, "%s/%s: rename: %s", dir_name, name, strerror(errno));
		unlinkat(dir_fd, tmp, 0);
		return r;
	}
	r = persist_fsync_dir(dir_fd);
	if (r < 0)
		error_set(error_r, "%s: fsync: %s", dir_name, strerror(-r));
	return r;
}

int snap_write_file(struct memstore *ms, int dir_fd, const char *dir_name, const char *name,
		    uint64_t journal_seq, uint64_t journal_no, uint64_t *bytes_r,
		    const char **error_r)
{
	char tmp[NAME_MAX + 1];
	int fd = -1;
	int64_t n;
	int r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp)) {
		error_set(error_r, "%s/%s: name too long", dir_name, name);
		return -ENAMETOOLONG;
	}
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		r = -errno;
		error_set(error_r, "%s/%s: %s", dir_name, tmp, strerror(errno));
		return r;
	}
	n = snap_write_fd(ms, fd, journal_seq, journal_no, error_r);
	if (n < 0) {
		close(fd);
		unlinkat(dir_fd, tmp, 0);
		return (int)n;
	}
	r = snap_commit(fd, dir_fd, dir_name, tmp, name, error_r);
	if (r == 0 && bytes_r != NULL)
		*bytes_r = (uint64_t)n;
	return r;
}

/* ---- streamed output (the background snapshot's writer thread) ---------------- */

struct snap_out {
	struct snap_writer w;
	const bool *cancel;         /* set by another thread: stop writing */
	uint64_t next_id;           /* blobs written so far */
	uint64_t n_users;
};

int snap_out_open(int dir_fd, const char *dir_name, struct snap_out **out_r,
		  const char **error_r)
{
	struct snap_out *o = xcalloc(1, sizeof(*o));
	unsigned char h[SNAP_HEADER_SIZE] = { 0 };
	int r;

	o->w.fd = openat(dir_fd, SNAP_TMP_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (o->w.fd < 0) {
		r = -errno;
		error_set(error_r, "%s/%s: %s", dir_name, SNAP_TMP_FILE, strerror(errno));
		free(o);
		return r;
	}
	o->w.buf = xmalloc(SNAP_WBUF);
	/* the header is written last, when the counts are known */
	w_put(&o->w, h, sizeof(h), false);
	*out_r = o;
	return 0;
}

void snap_out_blobs(struct snap_out *o, const struct uimap_blob *const *blobs, size_t n,
		    uint64_t first_id)
{
	struct blob_batch b = { .first_id = first_id };

	if (first_id != o->next_id && o->w.error == 0)
		o->w.error = -EFAULT;   /* ids out of order: the loader would refuse it */
	for (size_t i = 0; i < n && o->w.error == 0; i++) {
		/* sections of about SNAP_CHUNK bytes, as snap_write_fd() writes them */
		if (b.n > 0 && b.bytes + blobs[i]->size > SNAP_CHUNK) {
			w_blob_section(&o->w, &b);
			b.blobs = NULL;
			if (o->cancel != NULL && __atomic_load_n(o->cancel, __ATOMIC_RELAXED)) {
				o->w.error = -ECANCELED;
				return;
			}
		}
		if (b.n == 0)
			b.blobs = (const struct uimap_blob **)&blobs[i];
		b.n++;
		b.bytes += blobs[i]->size;
	}
	if (b.n > 0)
		w_blob_section(&o->w, &b);
	o->next_id = first_id + n;
}

void snap_out_user(struct snap_out *o, const void *data, size_t len, uint32_t count)
{
	w_section_begin(&o->w, SNAP_SEC_USER, count, len, 0);
	w_put(&o->w, data, len, true);
	w_section_end(&o->w);
	o->n_users++;
}

static void snap_out_free(struct snap_out *o, int dir_fd, bool keep)
{
	if (o->w.fd >= 0)
		close(o->w.fd);
	if (!keep)
		unlinkat(dir_fd, SNAP_TMP_FILE, 0);
	free(o->w.buf);
	free(o);
}

void snap_out_set_cancel(struct snap_out *o, const bool *cancel)
{
	o->cancel = cancel;
}

void snap_out_abort(struct snap_out *o, int dir_fd)
{
	if (o != NULL)
		snap_out_free(o, dir_fd, false);
}

int snap_out_finish(struct snap_out *o, int dir_fd, const char *dir_name,
		    uint32_t last_uidvalidity, uint64_t journal_seq, uint64_t journal_no,
		    uint64_t *bytes_r, const char **error_r)
{
	struct snap_writer *w = &o->w;
	unsigned char h[SNAP_HEADER_SIZE] = { 0 }, end[32];
	uint64_t end_off = w->off;
	int r;

	put_u64(end, w->n_sections);
	put_u64(end + 8, o->n_users);
	put_u64(end + 16, o->next_id);
	put_u64(end + 24, end_off);
	w_section_begin(w, SNAP_SEC_END, 0, sizeof(end), 0);
	w_put(w, end, sizeof(end), true);
	w_section_end(w);
	w_flush(w);
	uint64_t total = w->off;

	memcpy(h + H_MAGIC, SNAP_MAGIC, 8);
	put_u32(h + H_VERSION, SNAP_VERSION);
	put_u32(h + H_HEADER_SIZE, SNAP_HEADER_SIZE);
	put_u32(h + H_LAST_UIDVALIDITY, last_uidvalidity);
	put_u64(h + H_JOURNAL_SEQ, journal_seq);
	put_u64(h + H_JOURNAL_NO, journal_no);
	put_u64(h + H_CREATED, (uint64_t)time(NULL));
	put_u64(h + H_N_USERS, o->n_users);
	put_u32(h + H_CRC, crc32c(0, h, H_CRC));
	if (w->error == 0 && pwrite(w->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		w->error = errno != 0 ? -errno : -EIO;
	if (w->error < 0) {
		r = w->error;
		error_set(error_r, "%s/%s: write: %s", dir_name, SNAP_TMP_FILE,
			  r == -EFAULT ? "store counters are inconsistent" : strerror(-r));
		snap_out_free(o, dir_fd, false);
		return r;
	}
	r = snap_commit(w->fd, dir_fd, dir_name, SNAP_TMP_FILE, SNAP_FILE, error_r);
	w->fd = -1;   /* closed by snap_commit */
	snap_out_free(o, dir_fd, true);
	if (r == 0 && bytes_r != NULL)
		*bytes_r = total;
	return r;
}

/* ---- loader --------------------------------------------------------------------- */

/* What holds blob bytes, freed with the last blob in it: one malloc per blob section,
   or the whole file's read-only mapping (map != NULL: the blobs point into the page
   cache, nothing is copied). */
struct snap_chunk {
	uint32_t refs;
	void *map;
	size_t map_len;
	unsigned char data[];
};

static void snap_chunk_unref(struct snap_chunk *c)
{
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (c->map != NULL)
		munmap(c->map, c->map_len);
	free(c);
}

static void snap_blob_release(void *ctx, const void *data, size_t size)
{
	snap_chunk_unref(ctx);
}

struct snap_loader {
	struct memstore *ms;
	int fd;
	const char *path;
	uint64_t size;
	bool ignore;
	struct uimap_blob **blobs;  /* id -> blob (NULL: lost), one reference each */
	uint64_t n_blobs, cap_blobs;
	unsigned char *scratch;     /* user section payloads */
	size_t scratch_cap;
	struct persist_load_stats *stats;
	struct buf *report;
	uint32_t version;           /* of the file (1 or SNAP_VERSION) */
	const struct persist_progress *progress;
	const unsigned char *base;  /* the file mapped (NULL: read with pread) */
	struct snap_chunk *map;     /* its holder, one reference for the loader */
	uint64_t *verified;         /* section offsets whose checksum was checked ahead */
	bool *verified_ok;
	size_t n_verified, next_verified;
};

static int snap_pread(struct snap_loader *l, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;

	if (l->base != NULL) {
		if (off > l->size || len > l->size - off)
			return -EBADMSG;
		memcpy(buf, l->base + off, len);
		return 0;
	}
	while (len > 0) {
		ssize_t n = pread(l->fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EBADMSG;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int snap_blobs_grow(struct snap_loader *l, uint64_t count)
{
	if (l->cap_blobs - l->n_blobs >= count)
		return 0;
	uint64_t cap = l->cap_blobs == 0 ? 1024 : l->cap_blobs;

	while (cap - l->n_blobs < count)
		cap *= 2;
	struct uimap_blob **b = realloc(l->blobs, cap * sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	l->blobs = b;
	l->cap_blobs = cap;
	return 0;
}

/* A verified blob section: 1 done, 0 malformed, -errno. */
static int snap_load_blobs(struct snap_loader *l, struct snap_chunk *chunk,
			   const unsigned char *p, uint64_t length, uint32_t count)
{
	uint64_t data_off;

	if ((uint64_t)count * 8 > length)
		return 0;
	data_off = (uint64_t)count * 8;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t size = get_u64(p + 8 * (size_t)i);

		if (size > length - data_off)
			return 0;
		data_off += size;
	}
	if (data_off != length)
		return 0;
	data_off = (uint64_t)count * 8;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t size = get_u64(p + 8 * (size_t)i);
		struct uimap_blob *blob;

		__atomic_add_fetch(&chunk->refs, 1, __ATOMIC_RELAXED);
		blob = uimap_blob_new_custom(p + data_off, (size_t)size, snap_blob_release, chunk);
		if (blob == NULL) {
			snap_chunk_unref(chunk);
			return -ENOMEM;
		}
		l->blobs[l->n_blobs++] = blob;
		data_off += size;
	}
	l->stats->blobs += count;
	return 1;
}

static char *snap_strdup(const char *s, uint32_t len)
{
	char *copy = malloc((size_t)len + 1);

	if (copy != NULL) {
		memcpy(copy, s, len);
		copy[len] = '\0';
	}
	return copy;
}

static bool snap_name_ok(const char *s, uint32_t len)
{
	return len > 0 && len <= STORE_NAME_MAX && memchr(s, '\0', len) == NULL;
}

/* The URLAUTH mailbox access keys of a user section (version 2). 0, or -1 when
   malformed. */
static int snap_parse_urlkeys(struct reader *rd, struct store_user *user)
{
	uint32_t n, len;
	const char *s;
	const unsigned char *key;
	if (!rd_u32(rd, &n))
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		char name[STORE_NAME_MAX + 1];
		if (!rd_str(rd, &s, &len, STORE_NAME_MAX) || !snap_name_ok(s, len) ||
		    !rd_bytes(rd, &key, UIMAP_URLAUTH_KEY_SIZE))
			return -1;
		memcpy(name, s, len);
		name[len] = '\0';
		store_user_urlkey_put(user, name, key);
	}
	return 0;
}

/* Parse one user section into *user_r (detached). 1 done, 0 malformed, -ENOMEM. */
static int snap_parse_user(struct snap_loader *l, const unsigned char *data, uint64_t length,
			   struct store_user **user_r, uint64_t *dropped_r)
{
	struct reader rd = { data, data + length, false };
	struct store_user *user = calloc(1, sizeof(*user));
	const char *s;
	uint32_t len, n;
	int r = 0;

	*dropped_r = 0;
	if (user == NULL)
		return -ENOMEM;
	user->pub.vt = &uimap_store_memory_vtable;
	user->store = l->ms;
	if (!rd_str(&rd, &s, &len, 4096) || len == 0 || memchr(s, '\0', len) != NULL)
		goto bad;
	if ((user->name = snap_strdup(s, len)) == NULL)
		goto nomem;
	if (!rd_u32(&rd, &n))
		goto bad;
	for (uint32_t i = 0; i < n; i++) {
		char name[STORE_NAME_MAX + 1];

		if (!rd_str(&rd, &s, &len, STORE_NAME_MAX) || !snap_name_ok(s, len))
			goto bad;
		memcpy(name, s, len);
		name[len] = '\0';
		store_user_sub_insert(user, name);
	}
	if (!rd_u32(&rd, &n))
		goto bad;
	for (uint32_t b = 0; b < n; b++) {
		char name[STORE_NAME_MAX + 1];
		const unsigned char *fix, *msgs;
		uint32_t n_kw, n_msgs;
		struct mailbox *box;

		if (!rd_str(&rd, &s, &len, STORE_NAME_MAX) || !snap_name_ok(s, len) ||
		    !rd_bytes(&rd, &fix, 28) || !rd_u32(&rd, &n_kw) ||
		    n_kw > UIMAP_STORE_MAX_KEYWORDS)
			goto bad;
		memcpy(name, s, len);
		name[len] = '\0';
		if (user->n_boxes > 0 && strcmp(user->boxes[user->n_boxes - 1]->name, name) >= 0)
			goto bad;
		box = mailbox_new(user, name);
		store_user_insert_box(user, box);
		box->uidvalidity = get_u32(fix);
		box->uidnext = get_u32(fix + 4);
		box->first_recent_uid = get_u32(fix + 8);
		box->special_use = get_u32(fix + 12);
		box->noselect = get_u32(fix + 16) != 0;
		box->modseq = get_u64(fix + 20);
		if (box->uidvalidity == 0 || box->uidnext == 0 || box->modseq > PERSIST_MODSEQ_MAX)
			goto bad;
		for (uint32_t k = 0; k < n_kw; k++) {
			if (!rd_str(&rd, &s, &len, 255) || len == 0 || memchr(s, '\0', len) != NULL)
				goto bad;
			if ((box->keywords[k] = snap_strdup(s, len)) == NULL)
				goto nomem;
			box->n_keywords = k + 1;
		}
		if (!rd_u32(&rd, &n_msgs) ||
		    !rd_bytes(&rd, &msgs, (size_t)n_msgs * SNAP_MSG_SIZE))
			goto bad;
		if (n_msgs > 0) {
			box->msgs = malloc((size_t)n_msgs * sizeof(*box->msgs));
			if (box->msgs == NULL)
				goto nomem;
			box->cap_msgs = n_msgs;
		}
		uint64_t kw_mask = n_kw == 64 ? ~0ull : (1ull << n_kw) - 1;
		uint32_t last_uid = 0;

		for (uint32_t i = 0; i < n_msgs; i++) {
			const unsigned char *m = msgs + (size_t)i * SNAP_MSG_SIZE;
			struct store_msg *msg = &box->msgs[box->n_msgs];
			uint64_t id = get_u64(m + 32);

			msg->uid = get_u32(m);
			msg->flags = m[4];
			msg->tz_minutes = (int16_t)get_u16(m + 6);
			msg->modseq = get_u64(m + 8);
			msg->keywords = get_u64(m + 16);
			msg->internaldate = (int64_t)get_u64(m + 24);
			msg->state = MSG_LIVE;
			if (msg->uid <= last_uid || msg->uid >= box->uidnext ||
			    (msg->flags & ~UIMAP_FLAGS_STORABLE) != 0 ||
			    (msg->keywords & ~kw_mask) != 0 || msg->modseq > box->modseq ||
			    id >= l->n_blobs)
				goto bad;
			last_uid = msg->uid;
			if (l->blobs[id] == NULL) {
				(*dropped_r)++; /* its bytes were in a corrupt section */
				continue;
			}
			msg->blob = uimap_blob_ref(l->blobs[id]);
			box->n_msgs++;
		}
		mailbox_recount(box);
		/* QRESYNC: the snapshot keeps no expunge history; the missing UIDs stand
		   for it (a superset of what a client may need, RFC 7162 §3.2.5.1) */
		mailbox_vanished_rebuild(box, box->modseq);
	}
	if (l->version >= 2) {
		uint32_t has;
		struct uimap_quota q;
		if (!rd_u32(&rd, &has) || has > 1 || !rd_u64(&rd, &q.max_bytes) ||
		    !rd_u64(&rd, &q.max_messages))
			goto bad;
		user->has_quota = has == 1;
		user->quota = user->has_quota ? q : (struct uimap_quota){ 0, 0 };
		user->limits.max_bytes = user->quota.max_bytes;
		user->limits.max_messages = user->quota.max_messages;
		if (snap_parse_urlkeys(&rd, user) < 0)
			goto bad;
	}
	user->replay_after = l->stats->snapshot_seq;
	if (l->version >= 3 && (!rd_u64(&rd, &user->replay_after) ||
				user->replay_after < l->stats->snapshot_seq))
		goto bad;
	if (rd.p != rd.end)
		goto bad;
	store_user_recount(user);
	*user_r = user;
	return 1;
nomem:
	r = -ENOMEM;
bad:
	store_user_free(&user);
	return r;
}

/* A verified user section. 1 done, 0 malformed, -errno. */
static int snap_load_user(struct snap_loader *l, const unsigned char *data, uint64_t length,
			  uint64_t off)
{
	struct store_user *user;
	uint64_t dropped;
	int r = snap_parse_user(l, data, length, &user, &dropped);

	if (r <= 0)
		return r;
	r = store_insert_user(l->ms, user);
	if (r < 0) {
		store_user_free(&user);
		return r == -EEXIST ? 0 : r;
	}
	l->stats->users++;
	l->stats->mailboxes += user->n_boxes;
	for (size_t b = 0; b < user->n_boxes; b++)
		l->stats->messages += user->boxes[b]->n_live;
	if (dropped > 0) {
		l->stats->dropped_messages += dropped;
		persist_reportf(l->report, "%s: user '%s' (section at offset %llu): dropped %llu "
				"messages whose bytes were in corrupt sections", l->path, user->name,
				(unsigned long long)off, (unsigned long long)dropped);
	}
	return 1;
}

/* Best-effort name of a user in a section that failed verification. */
static void snap_guess_user(const unsigned char *data, uint64_t length, char *out, size_t size)
{
	uint32_t len = length >= 4 ? get_u32(data) : 0;

	snprintf(out, size, "?");
	if (len == 0 || len > 64 || len + 4 > length)
		return;
	for (uint32_t i = 0; i < len; i++) {
		if (data[4 + i] < 0x20 || data[4 + i] >= 0x7f)
			return;
	}
	snprintf(out, size, "'%.*s'?", (int)len, (const char *)data + 4);
}

/* A section header's fields (SNAP_SECTION_HEADER bytes, see format.h). */
#define SH_TYPE 0
#define SH_COUNT 4
#define SH_LENGTH 8
#define SH_FIRST_ID 16
#define SH_CRC 28

/* One section as read from the file. */
struct snap_sec_read {
	uint64_t off;               /* of its header */
	uint32_t type, count;
	uint64_t length;            /* payload bytes */
	uint64_t first_id;          /* BLOBS: the first blob id */
	uint64_t total;             /* header + payload + CRC + padding */
	unsigned char *payload;     /* the loader's scratch, or chunk->data */
	struct snap_chunk *chunk;   /* BLOBS: the blob bytes' shared allocation */
	bool sum_ok;                /* CRC matches and the padding is zero */
};

/* Read and check the file header. 1 ok, 0 corrupt (*error_r), -EBADMSG for an
   unsupported version (never guessed at), -errno. */
static int snap_load_header(struct snap_loader *l, uint64_t *journal_seq_r,
			    const char **error_r)
{
	unsigned char h[SNAP_HEADER_SIZE];

	if (l->size < SNAP_HEADER_SIZE || snap_pread(l, h, sizeof(h), 0) < 0 ||
	    memcmp(h + H_MAGIC, SNAP_MAGIC, 8) != 0 ||
	    get_u32(h + H_CRC) != crc32c(0, h, H_CRC)) {
		error_set(error_r, "%s: not a snapshot, or its header is corrupt (offset 0)",
			  l->path);
		return 0;
	}
	/* versions 1 (no quota in the user sections) and 2 (no as_of) are read too */
	l->version = get_u32(h + H_VERSION);
	if (l->version < 1 || l->version > SNAP_VERSION ||
	    get_u32(h + H_HEADER_SIZE) != SNAP_HEADER_SIZE) {
		error_set(error_r, "%s: snapshot version %u is not supported (offset 8)", l->path,
			  get_u32(h + H_VERSION));
		return -EBADMSG;
	}
	*journal_seq_r = get_u64(h + H_JOURNAL_SEQ);
	l->stats->snapshot_version = get_u32(h + H_VERSION);
	l->stats->snapshot_created = (int64_t)get_u64(h + H_CREATED);
	l->stats->snapshot_seq = *journal_seq_r;
	if (get_u32(h + H_LAST_UIDVALIDITY) > l->ms->last_uidvalidity)
		l->ms->last_uidvalidity = get_u32(h + H_LAST_UIDVALIDITY);
	return 1;
}

/* Read the section at off into sec (payload and checksum). Returns 1, 0 when it
   cannot even be located (*what says why; nothing after it can be), -errno. */
static int snap_read_section(struct snap_loader *l, uint64_t off, struct snap_sec_read *sec,
			     const char **what)
{
	unsigned char sh[SNAP_SECTION_HEADER], crc_buf[12] = { 0 };
	int r;

	memset(sec, 0, sizeof(*sec));
	sec->off = off;
	if (l->size - off < SNAP_SECTION_HEADER)
		return *what = "truncated (no trailer)", 0;
	if ((r = snap_pread(l, sh, sizeof(sh), off)) < 0)
		return r;
	if (get_u32(sh + SH_CRC) != crc32c(0, sh, SH_CRC))
		return *what = "section header checksum mismatch", 0;
	sec->type = get_u32(sh + SH_TYPE);
	sec->count = get_u32(sh + SH_COUNT);
	sec->length = get_u64(sh + SH_LENGTH);
	sec->first_id = get_u64(sh + SH_FIRST_ID);
	sec->total = SNAP_SECTION_HEADER + sec->length + 4;
	sec->total += (8 - (sec->total & 7)) & 7;
	if (sec->length > l->size || sec->total > l->size - off)
		return *what = "truncated section", 0;
	/* Start reading the next sections while this one is checked. */
	if (l->base == NULL)
		(void)posix_fadvise(l->fd, (off_t)(off + sec->total), 2 * SNAP_CHUNK,
				    POSIX_FADV_WILLNEED);
	if (sec->type == SNAP_SEC_BLOBS) {
		if (sec->first_id != l->n_blobs)
			return *what = "blob ids out of order", 0;
		/* Each blob has an 8-byte size in the payload: a count that cannot fit
		   is not believed (nor allocated for). */
		if ((uint64_t)sec->count * 8 > sec->length)
			return *what = "blob count larger than the section", 0;
		if ((r = snap_blobs_grow(l, sec->count)) < 0)
			return r;
	}
	if (l->base != NULL) {
		/* in place: the payload is the mapped file */
		sec->payload = (unsigned char *)l->base + off + SNAP_SECTION_HEADER;
		if (sec->type == SNAP_SEC_BLOBS) {
			__atomic_add_fetch(&l->map->refs, 1, __ATOMIC_RELAXED);
			sec->chunk = l->map;
		}
	} else if (sec->type == SNAP_SEC_BLOBS) {
		/* sized by the file: running out of memory refuses the load */
		sec->chunk = malloc(sizeof(*sec->chunk) + sec->length);
		if (sec->chunk == NULL)
			return -ENOMEM;
		sec->chunk->refs = 1;
		sec->chunk->map = NULL;
		sec->payload = sec->chunk->data;
	} else {
		/* never NULL, even for an empty payload (a reader over NULL is UB) */
		if (l->scratch == NULL || l->scratch_cap < sec->length) {
			free(l->scratch);
			l->scratch_cap = sec->length;
			l->scratch = malloc(sec->length == 0 ? 1 : sec->length);
			if (l->scratch == NULL) {
				l->scratch_cap = 0;
				return -ENOMEM;
			}
		}
		sec->payload = l->scratch;
	}
	size_t tail = (size_t)(sec->total - SNAP_SECTION_HEADER - sec->length);

	if ((l->base == NULL &&
	     (r = snap_pread(l, sec->payload, sec->length, off + SNAP_SECTION_HEADER)) < 0) ||
	    (r = snap_pread(l, crc_buf, tail, off + SNAP_SECTION_HEADER + sec->length)) < 0)
		return r;
	/* checked ahead by the verifier threads? (offsets come in file order) */
	while (l->next_verified < l->n_verified && l->verified[l->next_verified] < off)
		l->next_verified++;
	if (l->next_verified < l->n_verified && l->verified[l->next_verified] == off) {
		sec->sum_ok = l->verified_ok[l->next_verified] && get_u64(crc_buf + 4) == 0;
		return 1;
	}
	/* The padding is not checksummed, so it must be zero. */
	sec->sum_ok = get_u32(crc_buf) == crc32c(0, sec->payload, sec->length) &&
		      get_u64(crc_buf + 4) == 0;
	return 1;
}

/* Take a verified section into the store. 1 done, 0 malformed, -errno. */
static int snap_apply_section(struct snap_loader *l, const struct snap_sec_read *sec,
			      uint64_t n_sections, uint64_t *n_users_seen, bool *ended)
{
	switch (sec->type) {
	case SNAP_SEC_BLOBS:
		return snap_load_blobs(l, sec->chunk, sec->payload, sec->length, sec->count);
	case SNAP_SEC_USER:
		(*n_users_seen)++;
		return snap_load_user(l, sec->payload, sec->length, sec->off);
	case SNAP_SEC_END:
		*ended = true;
		return sec->length == 32 && get_u64(sec->payload) == n_sections &&
		       get_u64(sec->payload + 8) == *n_users_seen &&
		       get_u64(sec->payload + 16) == l->n_blobs &&
		       get_u64(sec->payload + 24) == sec->off &&
		       sec->off + sec->total == l->size;
	default:
		return 0;
	}
}

/* A section failed verification with ignore set: keep what can be kept and say
   what was dropped. */
static void snap_drop_section(struct snap_loader *l, const struct snap_sec_read *sec)
{
	char who[80];

	switch (sec->type) {
	case SNAP_SEC_BLOBS:
		/* Their ids stay known: messages using them are dropped. */
		if (sec->first_id == l->n_blobs) {
			for (uint32_t i = 0; i < sec->count; i++)
				l->blobs[l->n_blobs++] = NULL;
		}
		persist_reportf(l->report, "%s: message bytes at offset %llu (%u messages' worth, "
				"%llu bytes) failed verification", l->path,
				(unsigned long long)sec->off, sec->count,
				(unsigned long long)sec->length);
		break;
	case SNAP_SEC_USER:
		snap_guess_user(sec->payload, sec->length, who, sizeof(who));
		l->stats->dropped_users++;
		persist_reportf(l->report, "%s: user section at offset %llu (user %s, %u messages) "
				"failed verification: user dropped", l->path,
				(unsigned long long)sec->off, who, sec->count);
		break;
	default:
		persist_reportf(l->report, "%s: section at offset %llu (type %u) failed "
				"verification", l->path, (unsigned long long)sec->off, sec->type);
		break;
	}
}

/* ---- checksums ahead, on several threads (a mapped file) ---------------------- */

struct snap_verify {
	int fd;
	const unsigned char *base;
	uint64_t *off, *len;        /* each section: header offset, payload length */
	bool *ok;
	size_t n;
	size_t next;                /* atomic: the next section to take */
};

#define VERIFY_BUF (256u << 10)

/* Read with pread into a small buffer that stays in the cache rather than through the
   mapping: mapping 8 GB page by page costs more than the copy (the blobs' pages are
   mapped later, as messages are read). */
static void *snap_verify_run(void *arg)
{
	struct snap_verify *v = arg;
	unsigned char *buf = malloc(VERIFY_BUF);
	size_t i;

	while ((i = __atomic_fetch_add(&v->next, 1, __ATOMIC_RELAXED)) < v->n) {
		const unsigned char *payload = v->base + v->off[i] + SNAP_SECTION_HEADER;
		uint64_t off = v->off[i] + SNAP_SECTION_HEADER, left = v->len[i];
		uint32_t crc = 0;
		bool ok = buf != NULL;

		while (ok && left > 0) {
			size_t want = left < VERIFY_BUF ? (size_t)left : VERIFY_BUF;
			ssize_t n = pread(v->fd, buf, want, (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				ok = false;   /* the sequential pass reads it again and says why */
				break;
			}
			crc = crc32c(crc, buf, (size_t)n);
			off += (uint64_t)n;
			left -= (uint64_t)n;
		}
		if (ok)
			v->ok[i] = get_u32(payload + v->len[i]) == crc;
		else
			v->ok[i] = get_u32(payload + v->len[i]) == crc32c(0, payload, v->len[i]);
	}
	free(buf);
	return NULL;
}

#define VERIFY_MIN_BYTES (8u << 20)    /* smaller files are checked as they are read */
#define VERIFY_MAX_THREADS 8

/* Locate the sections of the mapped file and check their payload checksums on up
   to one thread per CPU; snap_read_section() then takes the verdicts. What cannot
   be located is left to the sequential pass (which reports it). */
static void snap_verify_ahead(struct snap_loader *l)
{
	struct snap_verify v = { .fd = l->fd, .base = l->base };
	size_t cap = 0;
	uint64_t off = SNAP_HEADER_SIZE;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t th[VERIFY_MAX_THREADS];
	unsigned n_th = cpus < 1 ? 1 : cpus > VERIFY_MAX_THREADS ? VERIFY_MAX_THREADS
								   : (unsigned)cpus;

	if (l->size < VERIFY_MIN_BYTES || n_th < 2)
		return;
	while (l->size - off >= SNAP_SECTION_HEADER) {
		const unsigned char *sh = l->base + off;
		uint64_t length = get_u64(sh + SH_LENGTH), total;

		if (get_u32(sh + SH_CRC) != crc32c(0, sh, SH_CRC) || length > l->size)
			break;
		total = SNAP_SECTION_HEADER + length + 4;
		total += (8 - (total & 7)) & 7;
		if (total > l->size - off)
			break;
		if (v.n == cap) {
			cap = cap == 0 ? 256 : 2 * cap;
			v.off = xrealloc(v.off, cap * sizeof(*v.off));
			v.len = xrealloc(v.len, cap * sizeof(*v.len));
		}
		v.off[v.n] = off;
		v.len[v.n] = length;
		v.n++;
		off += total;
	}
	v.ok = xcalloc(v.n == 0 ? 1 : v.n, sizeof(*v.ok));
	/* the kernel reads the whole file ahead while the threads read (a cold cache:
	   this starts far more I/O at once than the threads' own readahead) */
	(void)madvise((void *)l->base, l->size, MADV_WILLNEED);
	unsigned started = 0;

	for (; started + 1 < n_th; started++) {
		if (pthread_create(&th[started], NULL, snap_verify_run, &v) != 0)
			break;
	}
	snap_verify_run(&v);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(v.len);
	l->verified = v.off;
	l->verified_ok = v.ok;
	l->n_verified = v.n;
}

/* Every section from the header to the trailer. 0, -EBADMSG with *error_r, -errno. */
static int snap_load_sections(struct snap_loader *l, const char **error_r)
{
	uint64_t off = SNAP_HEADER_SIZE, n_sections = 0, n_users_seen = 0;
	bool ended = false;

	while (!ended) {
		struct snap_sec_read sec;
		const char *what = NULL;
		int r = snap_read_section(l, off, &sec, &what);
		int ok = r;

		if (r > 0 && sec.sum_ok)
			ok = snap_apply_section(l, &sec, n_sections, &n_users_seen, &ended);
		else if (r > 0)
			ok = 0;
		if (sec.chunk != NULL)
			snap_chunk_unref(sec.chunk);
		if (r < 0 || ok < 0) {
			r = r < 0 ? r : ok;
			error_set(error_r, "%s: %s", l->path,
				  r == -EBADMSG ? "unexpected end of file" : strerror(-r));
			return r;
		}
		if (r == 0) {
			/* Nothing after this point can be located. */
			if (!l->ignore) {
				error_set(error_r, "%s: %s at offset %llu", l->path, what,
					  (unsigned long long)off);
				return -EBADMSG;
			}
			persist_reportf(l->report, "%s: %s at offset %llu: the %llu bytes from "
					"there on were dropped", l->path, what,
					(unsigned long long)off, (unsigned long long)(l->size - off));
			return 0;
		}
		if (ok == 0) {
			if (!l->ignore) {
				error_set(error_r, "%s: section %llu (type %u) at offset %llu: %s",
					  l->path, (unsigned long long)n_sections, sec.type,
					  (unsigned long long)off,
					  sec.sum_ok ? "malformed contents" : "checksum mismatch");
				return -EBADMSG;
			}
			snap_drop_section(l, &sec);
		}
		n_sections++;
		off += sec.total;
		if (l->progress != NULL)
			l->progress->fn(l->progress->ctx, "snapshot", off, l->size);
	}
	return 0;
}

int snap_load(struct memstore *ms, int dir_fd, const char *path, const char *name,
	      bool ignore, uint64_t *journal_seq_r, struct persist_load_stats *stats,
	      struct buf *report, const struct persist_progress *progress,
	      const char **error_r)
{
	struct snap_loader l = { .ms = ms, .path = path, .ignore = ignore, .stats = stats,
				 .report = report, .progress = progress };
	struct stat st;
	int r;

	*journal_seq_r = 0;
	l.fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (l.fd < 0) {
		r = -errno;
		if (r != -ENOENT)
			error_set(error_r, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(l.fd, &st) < 0) {
		r = -errno;
		error_set(error_r, "%s: %s", path, strerror(errno));
	} else {
		l.size = (uint64_t)st.st_size;
		stats->snapshot_bytes = l.size;
		(void)posix_fadvise(l.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		/* Mapped, the messages' bytes stay in the page cache: nothing is copied,
		   and a restart costs little more than the checksums. (Failing that, read.) */
		int fail;
		void *base = l.size > 0 && !failpoint("snapshot-mmap", &fail)
				     ? mmap(NULL, l.size, PROT_READ, MAP_PRIVATE, l.fd, 0)
				     : MAP_FAILED;

		if (base != MAP_FAILED) {
			l.map = xmalloc(sizeof(*l.map));
			l.map->refs = 1;
			l.map->map = base;
			l.map->map_len = l.size;
			l.base = base;
		}
		r = snap_load_header(&l, journal_seq_r, error_r);
		if (r > 0 && l.base != NULL)
			snap_verify_ahead(&l);
		if (r == 0 && ignore) {
			persist_reportf(report, "%s: header corrupt: the whole snapshot was dropped",
					path);
		} else if (r == 0) {
			r = -EBADMSG;
		} else if (r > 0) {
			r = snap_load_sections(&l, error_r);
		}
	}
	for (uint64_t i = 0; i < l.n_blobs; i++)
		uimap_blob_unref(&l.blobs[i]);
	free(l.blobs);
	free(l.scratch);
	free(l.verified);
	free(l.verified_ok);
	if (l.map != NULL)
		snap_chunk_unref(l.map);   /* unmapped now unless messages use it */
	close(l.fd);
	return r;
}
