/* The snapshot file: writing the whole store (in the fork child) and loading it at start. */
#include "persist/persist-private.h"

#include "persist/crc32c.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
};

/* Blob pointer -> id, open addressing (the child's only big allocation). */
struct blob_map {
	uintptr_t *keys;
	uint64_t *ids;
	size_t mask;
};

static int w_flush(struct snap_writer *w)
{
	size_t done = 0;

	while (done < w->len && w->error == 0) {
		ssize_t n = write(w->fd, w->buf + done, w->len - done);

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

/* Bytes into the file; payload ones go into the section CRC. */
static void w_put(struct snap_writer *w, const void *data, size_t len, bool payload)
{
	if (payload)
		w->crc = crc32c(w->crc, data, len);
	w->off += len;
	if (len >= SNAP_WBUF / 2) {
		/* Big message bytes go straight from the (copy-on-write) store. */
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
		return;
	}
	if (SNAP_WBUF - w->len < len && w_flush(w) < 0)
		return;
	memcpy(w->buf + w->len, data, len);
	w->len += len;
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

static int blob_map_init(struct blob_map *m, uint64_t n)
{
	size_t cap = 64;

	while (cap < n * 2)
		cap *= 2;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->ids = malloc(cap * sizeof(*m->ids));
	m->mask = cap - 1;
	return m->keys != NULL && m->ids != NULL ? 0 : -ENOMEM;
}

/* The id of blob, or UINT64_MAX after inserting it with id next. */
static uint64_t blob_map_get(struct blob_map *m, const struct uimap_blob *blob, uint64_t next)
{
	uintptr_t key = (uintptr_t)blob;
	size_t i = (size_t)((key >> 4) * 0x9e3779b97f4a7c15ull) & m->mask;

	while (m->keys[i] != 0) {
		if (m->keys[i] == key)
			return m->ids[i];
		i = (i + 1) & m->mask;
	}
	m->keys[i] = key;
	m->ids[i] = next;
	return UINT64_MAX;
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

static int user_encode(struct bytes *out, const struct store_user *user,
		       struct blob_map *map, struct blob_batch *batch, struct snap_writer *w,
		       uint32_t *n_msgs_r)
{
	uint32_t total = 0;

	out->len = 0;
	if (bytes_add_str(out, user->name) < 0 || bytes_add_u32(out, (uint32_t)user->n_subs) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < user->n_subs; i++) {
		if (bytes_add_str(out, user->subs[i]) < 0)
			return -ENOMEM;
	}
	if (bytes_add_u32(out, (uint32_t)user->n_boxes) < 0)
		return -ENOMEM;
	for (size_t b = 0; b < user->n_boxes; b++) {
		const struct mailbox *box = user->boxes[b];
		unsigned char fix[28];

		put_u32(fix, box->uidvalidity);
		put_u32(fix + 4, box->uidnext);
		put_u32(fix + 8, box->first_recent_uid);
		put_u32(fix + 12, box->special_use);
		put_u32(fix + 16, box->noselect ? 1 : 0);
		put_u64(fix + 20, box->modseq);
		if (bytes_add_str(out, box->name) < 0 || bytes_add(out, fix, sizeof(fix)) < 0 ||
		    bytes_add_u32(out, box->n_keywords) < 0)
			return -ENOMEM;
		for (unsigned k = 0; k < box->n_keywords; k++) {
			if (bytes_add_str(out, box->keywords[k]) < 0)
				return -ENOMEM;
		}
		if (bytes_add_u32(out, box->n_live) < 0 ||
		    bytes_reserve(out, (size_t)box->n_live * SNAP_MSG_SIZE) < 0)
			return -ENOMEM;
		uint32_t written = 0;

		for (uint32_t i = 0; i < box->n_msgs; i++) {
			const struct store_msg *msg = &box->msgs[i];
			unsigned char *m;
			uint64_t next = batch->first_id + batch->n, id;

			if (msg->state != MSG_LIVE)
				continue;
			if (written == box->n_live)
				return -EFAULT; /* counters disagree: refuse to write */
			id = blob_map_get(map, msg->blob, next);
			if (id == UINT64_MAX) {
				id = next;
				if (batch->n == batch->cap) {
					size_t cap = batch->cap == 0 ? 1024 : batch->cap * 2;
					const struct uimap_blob **blobs =
						realloc(batch->blobs, cap * sizeof(*blobs));

					if (blobs == NULL)
						return -ENOMEM;
					batch->blobs = blobs;
					batch->cap = cap;
				}
				batch->blobs[batch->n++] = msg->blob;
				batch->bytes += msg->blob->size;
				if (batch->bytes >= SNAP_CHUNK)
					w_blob_section(w, batch);
			}
			m = out->data + out->len;
			memset(m, 0, SNAP_MSG_SIZE);
			put_u32(m, msg->uid);
			m[4] = msg->flags;
			put_u16(m + 6, (uint16_t)msg->tz_minutes);
			put_u64(m + 8, msg->modseq);
			put_u64(m + 16, msg->keywords);
			put_u64(m + 24, (uint64_t)msg->internaldate);
			put_u64(m + 32, id);
			out->len += SNAP_MSG_SIZE;
			written++;
		}
		if (written != box->n_live)
			return -EFAULT;
		total += written;
	}
	*n_msgs_r = total;
	return 0;
}

int64_t snap_write_fd(struct memstore *ms, int fd, uint64_t journal_seq, uint64_t journal_no,
		      const char **error_r)
{
	struct snap_writer w = { .fd = fd };
	struct blob_map map = { 0 };
	struct blob_batch batch = { 0 };
	struct bytes user_buf = { 0 };
	unsigned char h[SNAP_HEADER_SIZE] = { 0 };
	uint64_t n_msgs = 0;
	int r = 0;

	for (size_t u = 0; u < ms->n_users; u++) {
		for (size_t b = 0; b < ms->users[u]->n_boxes; b++)
			n_msgs += ms->users[u]->boxes[b]->n_live;
	}
	w.buf = malloc(SNAP_WBUF);
	if (w.buf == NULL || blob_map_init(&map, n_msgs) < 0) {
		r = -ENOMEM;
		goto out;
	}
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
		r = user_encode(&user_buf, ms->users[u], &map, &batch, &w, &count);
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
		persist_errf(error_r, "snapshot write: %s", r == -EFAULT
			     ? "store counters are inconsistent" : strerror(-r));
	free(w.buf);
	free(map.keys);
	free(map.ids);
	free(batch.blobs);
	bytes_free(&user_buf);
	return r < 0 ? r : (int64_t)w.off;
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
		persist_errf(error_r, "%s/%s: name too long", dir_name, name);
		return -ENAMETOOLONG;
	}
	fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0) {
		r = -errno;
		persist_errf(error_r, "%s/%s: %s", dir_name, tmp, strerror(errno));
		return r;
	}
	n = snap_write_fd(ms, fd, journal_seq, journal_no, error_r);
	if (n < 0) {
		close(fd);
		unlinkat(dir_fd, tmp, 0);
		return (int)n;
	}
	/* Durable contents before the name: a crash leaves the old file or this one. */
	if (fsync(fd) < 0) {
		r = -errno;
		persist_errf(error_r, "%s/%s: fsync: %s", dir_name, tmp, strerror(errno));
		close(fd);
		unlinkat(dir_fd, tmp, 0);
		return r;
	}
	close(fd);
	if (renameat(dir_fd, tmp, dir_fd, name) < 0) {
		r = -errno;
		persist_errf(error_r, "%s/%s: rename: %s", dir_name, name, strerror(errno));
		unlinkat(dir_fd, tmp, 0);
		return r;
	}
	r = persist_fsync_dir(dir_fd);
	if (r < 0) {
		persist_errf(error_r, "%s: fsync: %s", dir_name, strerror(-r));
		return r;
	}
	if (bytes_r != NULL)
		*bytes_r = (uint64_t)n;
	return 0;
}

/* ---- loader --------------------------------------------------------------------- */

/* One malloc holding a blob section's bytes, freed with the last blob in it. */
struct snap_chunk {
	uint32_t refs;
	unsigned char data[];
};

static void snap_chunk_unref(struct snap_chunk *c)
{
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0)
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
	struct bytes *report;
};

static int snap_pread(struct snap_loader *l, void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;

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
static int snap_load_blobs(struct snap_loader *l, struct snap_chunk *chunk, uint64_t length,
			   uint32_t count)
{
	const unsigned char *p = chunk->data;
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
		if (restore_sub_add(user, name) < 0)
			goto nomem;
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
		if (box == NULL)
			goto nomem;
		if (restore_box_insert(user, box) < 0) {
			mailbox_unref(&box);
			goto nomem;
		}
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
		restore_box_recount(box);
	}
	if (rd.p != rd.end)
		goto bad;
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
	r = restore_user_insert(l->ms, user);
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

int snap_load(struct memstore *ms, int dir_fd, const char *path, const char *name,
	      bool ignore, uint64_t *journal_seq_r, struct persist_load_stats *stats,
	      struct bytes *report, const char **error_r)
{
	struct snap_loader l = { .ms = ms, .path = path, .ignore = ignore, .stats = stats,
				 .report = report };
	unsigned char h[SNAP_HEADER_SIZE];
	uint64_t off, n_sections = 0, n_users_seen = 0;
	struct stat st;
	bool ended = false;
	int r = 0;

	*journal_seq_r = 0;
	l.fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (l.fd < 0) {
		r = -errno;
		if (r != -ENOENT)
			persist_errf(error_r, "%s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(l.fd, &st) < 0) {
		r = -errno;
		persist_errf(error_r, "%s: %s", path, strerror(errno));
		goto out;
	}
	l.size = (uint64_t)st.st_size;
	stats->snapshot_bytes = l.size;
	(void)posix_fadvise(l.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if (l.size < SNAP_HEADER_SIZE || snap_pread(&l, h, sizeof(h), 0) < 0 ||
	    memcmp(h + H_MAGIC, SNAP_MAGIC, 8) != 0 ||
	    get_u32(h + H_CRC) != crc32c(0, h, H_CRC)) {
		persist_errf(error_r, "%s: not a snapshot, or its header is corrupt (offset 0)", path);
		r = -EBADMSG;
		goto corrupt_all;
	}
	if (get_u32(h + H_VERSION) != SNAP_VERSION ||
	    get_u32(h + H_HEADER_SIZE) != SNAP_HEADER_SIZE) {
		persist_errf(error_r, "%s: snapshot version %u is not supported (offset 8)", path,
			     get_u32(h + H_VERSION));
		r = -EBADMSG;
		goto out; /* never guess at a newer format */
	}
	*journal_seq_r = get_u64(h + H_JOURNAL_SEQ);
	if (get_u32(h + H_LAST_UIDVALIDITY) > ms->last_uidvalidity)
		ms->last_uidvalidity = get_u32(h + H_LAST_UIDVALIDITY);

	off = SNAP_HEADER_SIZE;
	while (!ended) {
		unsigned char sh[SNAP_SECTION_HEADER];
		uint64_t length, first_id, total;
		uint32_t type, count, crc;
		const char *what = NULL;

		if (l.size - off < SNAP_SECTION_HEADER) {
			what = "truncated (no trailer)";
			goto bad_stop;
		}
		if ((r = snap_pread(&l, sh, sizeof(sh), off)) < 0)
			goto io_error;
		if (get_u32(sh + 28) != crc32c(0, sh, 28)) {
			what = "section header checksum mismatch";
			goto bad_stop;
		}
		type = get_u32(sh);
		count = get_u32(sh + 4);
		length = get_u64(sh + 8);
		first_id = get_u64(sh + 16);
		total = SNAP_SECTION_HEADER + length + 4;
		total += (8 - (total & 7)) & 7;
		if (length > l.size || total > l.size - off) {
			what = "truncated section";
			goto bad_stop;
		}
		/* Start reading the next sections while this one is checked. */
		(void)posix_fadvise(l.fd, (off_t)(off + total), 2 * SNAP_CHUNK, POSIX_FADV_WILLNEED);

		unsigned char *payload;
		struct snap_chunk *chunk = NULL;

		if (type == SNAP_SEC_BLOBS) {
			if (first_id != l.n_blobs) {
				what = "blob ids out of order";
				goto bad_stop;
			}
			/* Each blob has an 8-byte size in the payload: a count that cannot fit
			   is not believed (nor allocated for). */
			if ((uint64_t)count * 8 > length) {
				what = "blob count larger than the section";
				goto bad_stop;
			}
			if ((r = snap_blobs_grow(&l, count)) < 0)
				goto io_error;
			chunk = malloc(sizeof(*chunk) + length);
			if (chunk == NULL) {
				r = -ENOMEM;
				goto io_error;
			}
			chunk->refs = 1;
			payload = chunk->data;
		} else {
			if (l.scratch_cap < length) {
				free(l.scratch);
				l.scratch_cap = length;
				l.scratch = malloc(length == 0 ? 1 : length);
				if (l.scratch == NULL) {
					l.scratch_cap = 0;
					r = -ENOMEM;
					goto io_error;
				}
			}
			payload = l.scratch;
		}
		unsigned char crc_buf[12] = { 0 };
		size_t tail = (size_t)(total - SNAP_SECTION_HEADER - length);

		if ((r = snap_pread(&l, payload, length, off + SNAP_SECTION_HEADER)) < 0 ||
		    (r = snap_pread(&l, crc_buf, tail, off + SNAP_SECTION_HEADER + length)) < 0) {
			free(chunk);
			goto io_error;
		}
		crc = get_u32(crc_buf);
		/* The padding is not checksummed, so it must be zero. */
		bool sum_ok = crc == crc32c(0, payload, length) && get_u64(crc_buf + 4) == 0;
		int ok = sum_ok;

		if (ok) {
			switch (type) {
			case SNAP_SEC_BLOBS:
				ok = snap_load_blobs(&l, chunk, length, count);
				break;
			case SNAP_SEC_USER:
				ok = snap_load_user(&l, payload, length, off);
				n_users_seen++;
				break;
			case SNAP_SEC_END:
				ok = length == 32 && get_u64(payload) == n_sections &&
				     get_u64(payload + 8) == n_users_seen &&
				     get_u64(payload + 16) == l.n_blobs &&
				     get_u64(payload + 24) == off && off + total == l.size;
				ended = true;
				break;
			default:
				ok = 0;
				break;
			}
		}
		if (chunk != NULL)
			snap_chunk_unref(chunk);
		if (ok < 0) {
			r = ok;
			goto io_error;
		}
		if (ok == 0) {
			char who[80];

			if (!ignore) {
				persist_errf(error_r, "%s: section %llu (type %u) at offset %llu: %s",
					     path, (unsigned long long)n_sections, type,
					     (unsigned long long)off,
					     sum_ok ? "malformed contents" : "checksum mismatch");
				r = -EBADMSG;
				goto out;
			}
			switch (type) {
			case SNAP_SEC_BLOBS:
				/* Their ids stay known: messages using them are dropped. */
				if (first_id == l.n_blobs) {
					for (uint32_t i = 0; i < count; i++)
						l.blobs[l.n_blobs++] = NULL;
				}
				persist_reportf(report, "%s: message bytes at offset %llu (%u "
						"messages' worth, %llu bytes) failed verification",
						path, (unsigned long long)off, count,
						(unsigned long long)length);
				break;
			case SNAP_SEC_USER:
				snap_guess_user(payload, length, who, sizeof(who));
				stats->dropped_users++;
				persist_reportf(report, "%s: user section at offset %llu (user %s, "
						"%u messages) failed verification: user dropped",
						path, (unsigned long long)off, who, count);
				break;
			default:
				persist_reportf(report, "%s: section at offset %llu (type %u) "
						"failed verification", path,
						(unsigned long long)off, type);
				break;
			}
		}
		n_sections++;
		off += total;
		continue;
bad_stop:
		/* Nothing after this point can be located. */
		if (!ignore) {
			persist_errf(error_r, "%s: %s at offset %llu", path, what,
				     (unsigned long long)off);
			r = -EBADMSG;
			goto out;
		}
		persist_reportf(report, "%s: %s at offset %llu: the %llu bytes from there on "
				"were dropped", path, what, (unsigned long long)off,
				(unsigned long long)(l.size - off));
		break;
	}
	r = 0;
	goto out;
corrupt_all:
	if (ignore) {
		persist_reportf(report, "%s: header corrupt: the whole snapshot was dropped", path);
		r = 0;
	}
	goto out;
io_error:
	persist_errf(error_r, "%s: %s", path, r == -EBADMSG ? "unexpected end of file"
		     : strerror(-r));
out:
	for (uint64_t i = 0; i < l.n_blobs; i++)
		uimap_blob_unref(&l.blobs[i]);
	free(l.blobs);
	free(l.scratch);
	close(l.fd);
	return r;
}
