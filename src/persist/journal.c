/* The journal: encoding store changes into records, writing them, replaying them at start. */
#include "persist/persist-private.h"

#include "persist/crc32c.h"
#include "core/alloc.h"
#include "core/failpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void jnl_name(uint64_t no, char out[64])
{
	snprintf(out, 64, JNL_PREFIX "%016" PRIx64 JNL_SUFFIX, no);
}

/* The strings of a decoded record. */
struct jnl_strings {
	char user[4097];
	char name[STORE_NAME_MAX + 1];
	char name2[STORE_NAME_MAX + 1];
	char kw[256];
};

/* ---- writer --------------------------------------------------------------------- */

static void jnl_seg_push(struct persist *p, size_t off, size_t len, struct uimap_blob *blob)
{
	if (len == 0 && blob == NULL)
		return;
	if (p->n_segs == p->cap_segs) {
		p->cap_segs = p->cap_segs == 0 ? 64 : p->cap_segs * 2;
		p->segs = xrealloc(p->segs, p->cap_segs * sizeof(*p->segs));
	}
	p->segs[p->n_segs++] = (struct jnl_seg){ .off = off, .len = len, .blob = blob };
}

/* Encode the record's payload after its header (already reserved at start). */
static void jnl_encode_payload(struct buf *b, const struct store_change *c)
{
	buf_append_lstr(b, c->user);

	switch (c->type) {
	case STORE_CHANGE_USER_CREATE:
		break;
	case STORE_CHANGE_USER_QUOTA:
		buf_append_u32(b, c->has_quota ? 1 : 0);
		buf_append_u64(b, c->quota.max_bytes);
		buf_append_u64(b, c->quota.max_messages);
		break;
	case STORE_CHANGE_URLAUTH_KEY:
		buf_append_lstr(b, c->mailbox != NULL ? c->mailbox : "");
		buf_append_u32(b, c->has_key ? 1 : 0);
		buf_append(b, c->key, sizeof(c->key));
		break;
	case STORE_CHANGE_MAILBOX_CREATE:
		buf_append_lstr(b, c->mailbox);
		buf_append_u32(b, c->uidvalidity);
		buf_append_u32(b, c->special_use);
		break;
	case STORE_CHANGE_MAILBOX_DELETE:
		buf_append_lstr(b, c->mailbox);
		buf_append_u32(b, c->uidvalidity);
		break;
	case STORE_CHANGE_MAILBOX_RENAME:
		buf_append_lstr(b, c->mailbox);
		buf_append_lstr(b, c->new_name);
		buf_append_u32(b, c->uidvalidity);
		break;
	case STORE_CHANGE_SUBSCRIBE:
	case STORE_CHANGE_UNSUBSCRIBE:
		buf_append_lstr(b, c->mailbox);
		break;
	case STORE_CHANGE_KEYWORD:
		buf_append_lstr(b, c->mailbox);
		buf_append_u32(b, c->uidvalidity);
		buf_append_u32(b, c->index);
		buf_append_lstr(b, c->keyword);
		break;
	case STORE_CHANGE_APPEND:
	case STORE_CHANGE_FLAGS:
	case STORE_CHANGE_COPY:
	case STORE_CHANGE_EXPUNGE:
		/* one message: where, and the mod-sequence of the change */
		buf_append_lstr(b, c->mailbox);
		buf_append_u32(b, c->uidvalidity);
		buf_append_u32(b, c->uid);
		buf_append_u64(b, c->modseq);
		if (c->type == STORE_CHANGE_EXPUNGE)
			break;
		buf_append_u32(b, c->msg->flags);
		buf_append_u64(b, c->msg->keywords);
		if (c->type == STORE_CHANGE_APPEND) {
			buf_append_u64(b, (uint64_t)c->msg->internaldate);
			buf_append_u32(b, (uint32_t)(int32_t)c->msg->tz_minutes);
			buf_append_u64(b, c->msg->blob->size);
		} else if (c->type == STORE_CHANGE_COPY) {
			/* the source by name, UIDVALIDITY and UID: its bytes are not
			   written again */
			buf_append_lstr(b, c->src_mailbox);
			buf_append_u32(b, c->src_uidvalidity);
			buf_append_u32(b, c->src_uid);
			buf_append_u64(b, c->src_size);
		}
		break;
	}
}

void jnl_on_change(void *ctx, const struct store_change *c)
{
	struct persist *p = ctx;
	struct uimap_blob *blob = NULL;
	size_t start = p->buf.len, n_segs = p->n_segs, seg_start = p->buf_seg_start;
	uint64_t payload_len;
	unsigned char *h;
	uint32_t crc;

	p->changes++;
	/* a background snapshot encoding this user must begin it again */
	if (p->bg != NULL)
		snapbg_changed(p->bg, c->user);
	/* broken: the journal no longer matches memory; the snapshot that repairs it
	   saves this change too */
	if (!p->journal_on || p->health == PERSIST_BROKEN)
		return;
	buf_reserve(&p->buf, JNL_REC_HEADER);
	p->buf.len += JNL_REC_HEADER;
	jnl_encode_payload(&p->buf, c);
	if (c->type == STORE_CHANGE_APPEND) {
		const struct uimap_blob *b = c->msg->blob;

		if (b->size < JNL_INLINE_MAX) {
			buf_append(&p->buf, b->data, b->size);
		} else {
			/* Big message: write it from the blob, do not copy it. */
			blob = c->msg->blob;
		}
	}
	payload_len = p->buf.len - start - JNL_REC_HEADER + (blob != NULL ? blob->size : 0);
	if (payload_len > UINT32_MAX)
		goto toobig;
	h = (unsigned char *)p->buf.data + start;
	memset(h, 0, JNL_REC_HEADER);
	put_u32(h, (uint32_t)payload_len);
	put_u64(h + 8, p->seq + 1);
	put_u16(h + 16, JNL_TYPE_OF(c->type));
	crc = crc32c(0, h, 4);
	crc = crc32c(crc, h + 8, JNL_REC_HEADER - 8);
	crc = crc32c(crc, h + JNL_REC_HEADER, p->buf.len - start - JNL_REC_HEADER);
	if (blob != NULL) {
		crc = crc32c(crc, blob->data, blob->size);
		jnl_seg_push(p, p->buf_seg_start, p->buf.len - p->buf_seg_start, NULL);
		jnl_seg_push(p, 0, blob->size, uimap_blob_ref(blob));
		p->pending_blob_bytes += blob->size;
		p->buf_seg_start = p->buf.len;
	}
	put_u32(h + 4, crc);
	p->seq++;
	return;
toobig:
	persist_fail(p, PERSIST_BROKEN, -EFBIG, "journal record encoding");
	p->buf.len = start;
	p->n_segs = n_segs;
	p->buf_seg_start = seg_start;
}

int jnl_create(int dir_fd, uint64_t no)
{
	char name[64];
	unsigned char h[JNL_HEADER_SIZE] = { 0 };
	int fd, r;

	jnl_name(no, name);
	fd = openat(dir_fd, name, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	memcpy(h, JNL_MAGIC, 8);
	put_u32(h + 8, JNL_VERSION);
	put_u64(h + 16, no);
	put_u32(h + 28, crc32c(0, h, 28));
	if (write(fd, h, sizeof(h)) != (ssize_t)sizeof(h) || fdatasync(fd) < 0) {
		r = errno != 0 ? -errno : -EIO;
		close(fd);
		unlinkat(dir_fd, name, 0);
		return r;
	}
	r = persist_fsync_dir(dir_fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static void jnl_release_segs(struct persist *p)
{
	for (size_t i = 0; i < p->n_segs; i++)
		uimap_blob_unref(&p->segs[i].blob);
	p->n_segs = 0;
	p->buf.len = 0;
	p->buf_seg_start = 0;
	p->pending_blob_bytes = 0;
	/* a burst's buffer is not kept: every page of it would be copied by the next
	   snapshot's fork */
	if (p->buf.cap > JNL_BUF_KEEP)
		buf_free(&p->buf);
}

void jnl_discard_pending(struct persist *p)
{
	jnl_release_segs(p);
}

int jnl_write_pending(struct persist *p)
{
	struct iovec iov[IOV_MAX];
	size_t seg = 0, n_segs, done = 0;

	if (p->health == PERSIST_BROKEN)
		return p->error;
	if (p->written_seq == p->seq)
		return 0;
	uint64_t t0 = clock_us();
	jnl_seg_push(p, p->buf_seg_start, p->buf.len - p->buf_seg_start, NULL);
	n_segs = p->n_segs;
	/* One writev per IOV_MAX parts; a short write continues where it stopped. */
	size_t skip = 0;

	while (seg < n_segs) {
		int n_iov = 0;

		for (size_t i = seg; i < n_segs && n_iov < IOV_MAX; i++) {
			const struct jnl_seg *s = &p->segs[i];
			const unsigned char *base = s->blob != NULL
				? (const unsigned char *)s->blob->data
				: (const unsigned char *)p->buf.data + s->off;

			iov[n_iov].iov_base = (void *)(base + (i == seg ? skip : 0));
			iov[n_iov].iov_len = s->len - (i == seg ? skip : 0);
			n_iov++;
		}
		int fail;
		ssize_t n = failpoint("journal-write", &fail) ? (errno = -fail, -1)
							       : writev(p->jfd, iov, n_iov);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;
			/* Never leave half a record: appends after it would be lost. */
			if (ftruncate(p->jfd, (off_t)p->jsize) < 0) {
				/* what is there now is unknown (a torn tail is dropped at load) */
			}
			persist_fail(p, PERSIST_BROKEN, err, "journal write");
			jnl_release_segs(p);
			return p->error;
		}
		done += (size_t)n;
		size_t left = (size_t)n;

		while (left > 0) {
			size_t in_seg = p->segs[seg].len - skip;

			if (left >= in_seg) {
				left -= in_seg;
				seg++;
				skip = 0;
			} else {
				skip += left;
				left = 0;
			}
		}
		while (seg < n_segs && p->segs[seg].len == 0)
			seg++;
	}
	p->jsize += done;
	p->written_seq = p->seq;
	jnl_release_segs(p);
	metrics_observe(&p->metrics.journal_write, clock_us() - t0);
	p->metrics.journal_write_bytes += done;
	return 0;
}

void jnl_delete_before(int dir_fd, uint64_t no)
{
	DIR *dir;
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;

	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		unsigned long long n;
		char name[64];

		if (sscanf(de->d_name, JNL_PREFIX "%16llx" JNL_SUFFIX, &n) != 1)
			continue;
		jnl_name(n, name);
		if (strcmp(name, de->d_name) == 0 && n < no)
			unlinkat(dir_fd, de->d_name, 0);
	}
	closedir(dir);
}

/* ---- replay ------------------------------------------------------------------------ */

struct jnl_replay {
	struct memstore *ms;
	const char *dir_name;
	bool ignore;
	uint64_t after_seq;         /* the snapshot holds records up to this */
	uint64_t last_seq;          /* last record read (0: none) */
	struct persist_load_stats *stats;
	struct buf *report;
	const char **error_r;
};

/* Apply one record. Returns 1 applied, 0 it does not fit the store (the reason in
   *why), -ENOMEM. */
/* Decode a record's payload into a change (strings and the message point into
   data or into *tmp; the blob is new, the caller drops it). Returns 1, or 0 with
   *why when malformed. */
static int jnl_decode(uint16_t type, const unsigned char *data, size_t len,
		      struct store_change *c, struct store_msg *msg, struct jnl_strings *tmp,
		      const char **why)
{
	struct reader rd = { data, data + len, false };
	const char *s;
	uint32_t slen, u32, flags, tz;
	uint64_t keywords, idate, size;
	const unsigned char *bytes;

#define RD_STR(out, max) (rd_str(&rd, &s, &slen, (max)) && memchr(s, '\0', slen) == NULL && \
			   (memcpy((out), s, slen), (out)[slen] = '\0', true))
	*why = "malformed record";
	memset(c, 0, sizeof(*c));
	memset(msg, 0, sizeof(*msg));
	if (type < JNL_TYPE_OF(0) || type > JNL_TYPE_OF(STORE_CHANGE_URLAUTH_KEY))
		return *why = "unknown record type", 0;
	c->type = (enum store_change_type)(type - JNL_TYPE_OF(0));
	c->user = tmp->user;
	c->mailbox = tmp->name;
	c->new_name = tmp->name2;
	c->keyword = tmp->kw;
	c->msg = msg;
	/* what the store never writes (and the snapshot loader would refuse) must not
	   get in here either, or the next snapshot would not load: empty names,
	   UIDVALIDITY 0 */
	if (!RD_STR(tmp->user, sizeof(tmp->user) - 1) || tmp->user[0] == '\0')
		return 0;
	if (c->type == STORE_CHANGE_USER_CREATE)
		return rd.p == rd.end;
	if (c->type == STORE_CHANGE_USER_QUOTA)
		return rd_u32(&rd, &u32) && u32 <= 1 && rd_u64(&rd, &c->quota.max_bytes) &&
		       rd_u64(&rd, &c->quota.max_messages) && rd.p == rd.end &&
		       (c->has_quota = u32 == 1, true);
	if (c->type == STORE_CHANGE_URLAUTH_KEY) {
		/* "" removes all of the user's keys; a removal carries no key */
		if (!RD_STR(tmp->name, STORE_NAME_MAX) || !rd_u32(&rd, &u32) || u32 > 1 ||
		    !rd_bytes(&rd, &bytes, sizeof(c->key)) || rd.p != rd.end ||
		    (tmp->name[0] == '\0' && u32 == 1))
			return 0;
		c->has_key = u32 == 1;
		memcpy(c->key, bytes, sizeof(c->key));
		if (tmp->name[0] == '\0')
			c->mailbox = NULL;
		return 1;
	}
	if (!RD_STR(tmp->name, STORE_NAME_MAX) || tmp->name[0] == '\0')
		return 0;
	switch (c->type) {
	case STORE_CHANGE_MAILBOX_CREATE:
		return rd_u32(&rd, &c->uidvalidity) && rd_u32(&rd, &u32) &&
		       (c->special_use = u32, rd.p == rd.end) && c->uidvalidity != 0;
	case STORE_CHANGE_MAILBOX_DELETE:
		return rd_u32(&rd, &c->uidvalidity) && rd.p == rd.end;
	case STORE_CHANGE_MAILBOX_RENAME:
		return RD_STR(tmp->name2, STORE_NAME_MAX) && rd_u32(&rd, &c->uidvalidity) &&
		       rd.p == rd.end;
	case STORE_CHANGE_SUBSCRIBE:
	case STORE_CHANGE_UNSUBSCRIBE:
		return rd.p == rd.end;
	case STORE_CHANGE_KEYWORD:
		return rd_u32(&rd, &c->uidvalidity) && rd_u32(&rd, &u32) &&
		       (c->index = u32, RD_STR(tmp->kw, 255)) && rd.p == rd.end;
	/* mod-sequences are positive 63-bit numbers (RFC 7162 §7): a bigger one would
	   wrap HIGHESTMODSEQ at the next change; flags are one byte */
	case STORE_CHANGE_FLAGS:
		return rd_u32(&rd, &c->uidvalidity) && rd_u32(&rd, &c->uid) &&
		       rd_u64(&rd, &c->modseq) && rd_u32(&rd, &flags) &&
		       rd_u64(&rd, &keywords) && rd.p == rd.end &&
		       c->modseq <= PERSIST_MODSEQ_MAX && flags <= UINT8_MAX &&
		       (msg->flags = (uint8_t)flags, msg->keywords = keywords, true);
	case STORE_CHANGE_APPEND:
		if (!rd_u32(&rd, &c->uidvalidity) || !rd_u32(&rd, &c->uid) ||
		    !rd_u64(&rd, &c->modseq) || !rd_u32(&rd, &flags) ||
		    !rd_u64(&rd, &keywords) || !rd_u64(&rd, &idate) || !rd_u32(&rd, &tz) ||
		    !rd_u64(&rd, &size) || size != (uint64_t)(rd.end - rd.p) ||
		    !rd_bytes(&rd, &bytes, size) || c->modseq > PERSIST_MODSEQ_MAX ||
		    flags > UINT8_MAX)
			return 0;
		msg->flags = (uint8_t)flags;
		msg->keywords = keywords;
		msg->internaldate = (int64_t)idate;
		msg->tz_minutes = (int16_t)(int32_t)tz;
		msg->blob = uimap_blob_new_copy(bytes, size);
		if (msg->blob == NULL)
			return *why = "out of memory", -ENOMEM;
		return 1;
	case STORE_CHANGE_EXPUNGE:
		return rd_u32(&rd, &c->uidvalidity) && rd_u32(&rd, &c->uid) &&
		       rd_u64(&rd, &c->modseq) && rd.p == rd.end && c->modseq <= PERSIST_MODSEQ_MAX;
	case STORE_CHANGE_COPY:
		c->src_mailbox = tmp->name2;
		return rd_u32(&rd, &c->uidvalidity) && rd_u32(&rd, &c->uid) &&
		       rd_u64(&rd, &c->modseq) && rd_u32(&rd, &flags) &&
		       rd_u64(&rd, &keywords) && RD_STR(tmp->name2, STORE_NAME_MAX) &&
		       tmp->name2[0] != '\0' && rd_u32(&rd, &c->src_uidvalidity) &&
		       rd_u32(&rd, &c->src_uid) && rd_u64(&rd, &c->src_size) &&
		       rd.p == rd.end && c->modseq <= PERSIST_MODSEQ_MAX && flags <= UINT8_MAX &&
		       (msg->flags = (uint8_t)flags, msg->keywords = keywords, true);
	case STORE_CHANGE_USER_CREATE:
	case STORE_CHANGE_USER_QUOTA:
	case STORE_CHANGE_URLAUTH_KEY:
		break;
	}
	return 0;
#undef RD_STR
}

/* Apply record seq through the store's own primitives (the live path's): 1 applied,
   2 already in the snapshot (its user's as_of), 0 does not apply (*why), -errno. */
static int jnl_apply(struct memstore *ms, uint64_t seq, uint16_t type,
		     const unsigned char *data, size_t len, const char **why)
{
	struct store_change c;
	struct store_msg msg;
	struct jnl_strings *tmp = xmalloc(sizeof(*tmp));
	int r;

	r = jnl_decode(type, data, len, &c, &msg, tmp, why);
	if (r > 0) {
		struct store_user *user = store_find_user(ms, c.user);

		/* a background snapshot wrote this user after the record */
		if (user != NULL && seq <= user->replay_after)
			r = 2;
		else
			r = store_change_apply(ms, &c, why);
	}
	uimap_blob_unref(&msg.blob);
	free(tmp);
	return r;
}

/* Whether a whole record starts at off (header and payload checksum agree). */
static bool jnl_record_ok(const unsigned char *data, size_t size, size_t off)
{
	uint32_t len, crc;

	if (size - off < JNL_REC_HEADER)
		return false;
	len = get_u32(data + off);
	if (len > size - off - JNL_REC_HEADER)
		return false;
	crc = crc32c(0, data + off, 4);
	crc = crc32c(crc, data + off + 8, JNL_REC_HEADER - 8 + (size_t)len);
	return crc == get_u32(data + off + 4);
}

/* After a bad record at off: does a good record with a later sequence follow? Then
   the damage is not a torn tail but corruption in the middle. */
static bool jnl_later_record(const unsigned char *data, size_t size, size_t off, uint64_t seq)
{
	for (size_t o = off + 1; o + JNL_REC_HEADER <= size; o++) {
		uint64_t s = get_u64(data + o + 8);

		if ((s == seq || s == seq + 1) && jnl_record_ok(data, size, o))
			return true;
	}
	return false;
}

static int jnl_fail(struct jnl_replay *rp, const char *file, size_t off, const char *what)
{
	if (!rp->ignore) {
		error_set(rp->error_r, "%s/%s: %s at offset %zu", rp->dir_name, file, what, off);
		return -EBADMSG;
	}
	persist_reportf(rp->report, "%s/%s: %s at offset %zu: the rest of the file was dropped",
			rp->dir_name, file, what, off);
	return 0;
}

static int jnl_replay_file(struct jnl_replay *rp, int dir_fd, const char *file, uint64_t no)
{
	unsigned char *data;
	size_t size, off;
	int fd = openat(dir_fd, file, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		error_set(rp->error_r, "%s/%s: %s", rp->dir_name, file, strerror(errno));
		return r;
	}
	r = persist_read_file(fd, &data, &size);
	/* read once: its pages would only crowd out the snapshot's (see loop.c) */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	if (r < 0) {
		error_set(rp->error_r, "%s/%s: %s", rp->dir_name, file, strerror(-r));
		return r;
	}
	rp->stats->journal_files++;
	rp->stats->journal_bytes += size;
	if (size < JNL_HEADER_SIZE) {
		/* Created but its header never reached the disk: empty. */
		free(data);
		return 0;
	}
	if (memcmp(data, JNL_MAGIC, 8) != 0 || get_u32(data + 28) != crc32c(0, data, 28) ||
	    get_u64(data + 16) != no) {
		r = jnl_fail(rp, file, 0, "bad journal header");
		free(data);
		return r;
	}
	if (get_u32(data + 8) != JNL_VERSION) {
		error_set(rp->error_r, "%s/%s: journal version %u is not supported",
			     rp->dir_name, file, get_u32(data + 8));
		free(data);
		return -EBADMSG;
	}
	r = 0;
	for (off = JNL_HEADER_SIZE; off < size; ) {
		uint64_t seq = size - off >= JNL_REC_HEADER ? get_u64(data + off + 8) : 0;
		uint64_t expect = (rp->last_seq > rp->after_seq ? rp->last_seq : rp->after_seq) + 1;
		uint32_t len;

		if (!jnl_record_ok(data, size, off)) {
			if (jnl_later_record(data, size, off, expect)) {
				r = jnl_fail(rp, file, off, "record checksum mismatch");
				break;
			}
			/* A torn last write: everything before it stands. */
			persist_reportf(rp->report, "%s/%s: incomplete last record at offset %zu "
					"(%zu bytes) dropped", rp->dir_name, file, off, size - off);
			rp->stats->dropped_records++;
			break;
		}
		len = get_u32(data + off);
		if (seq > rp->after_seq) {
			const char *why;

			if (seq != expect) {
				char what[128];

				snprintf(what, sizeof(what), "record seq %" PRIu64 " where %" PRIu64
					 " was expected (records missing)", seq, expect);
				if (!rp->ignore) {
					r = jnl_fail(rp, file, off, what);
					break;
				}
				/* Go on: records that no longer fit are skipped one by one. */
				persist_reportf(rp->report, "%s/%s: %s at offset %zu", rp->dir_name,
						file, what, off);
				if (seq < expect) {
					/* A repeated number: never apply a change twice. */
					rp->stats->dropped_records++;
					off += JNL_REC_HEADER + (size_t)len;
					continue;
				}
			}
			r = jnl_apply(rp->ms, seq, get_u16(data + off + 16),
				      data + off + JNL_REC_HEADER, len, &why);
			if (r < 0) {
				error_set(rp->error_r, "%s/%s: %s", rp->dir_name, file,
					     strerror(-r));
				break;
			}
			if (r == 0) {
				char what[160];

				snprintf(what, sizeof(what), "record seq %" PRIu64 " does not apply: %s",
					 seq, why);
				if (!rp->ignore) {
					r = jnl_fail(rp, file, off, what);
					break;
				}
				persist_reportf(rp->report, "%s/%s: %s at offset %zu: skipped",
						rp->dir_name, file, what, off);
				rp->stats->dropped_records++;
			} else if (r == 1) {
				rp->stats->journal_records++;
			}
			r = 0;
		}
		if (seq > rp->last_seq)
			rp->last_seq = seq;
		off += JNL_REC_HEADER + (size_t)len;
	}
	free(data);
	return r;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int jnl_replay_all(struct memstore *ms, int dir_fd, const char *dir_name, uint64_t after_seq,
		   bool ignore, uint64_t *last_seq_r, uint64_t *last_no_r,
		   struct persist_load_stats *stats, struct buf *report,
		   const struct persist_progress *progress, const char **error_r)
{
	struct jnl_replay rp = { .ms = ms, .dir_name = dir_name, .ignore = ignore,
				 .after_seq = after_seq, .stats = stats, .report = report,
				 .error_r = error_r };
	uint64_t *nos = NULL;
	size_t n = 0, cap = 0;
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	struct dirent *de;
	DIR *dir;

	*last_seq_r = after_seq;
	*last_no_r = 0;
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		r = -errno;
		if (fd >= 0)
			close(fd);
		error_set(error_r, "%s: %s", dir_name, strerror(-r));
		return r;
	}
	while ((de = readdir(dir)) != NULL) {
		unsigned long long no;
		char name[64];

		if (sscanf(de->d_name, JNL_PREFIX "%16llx" JNL_SUFFIX, &no) != 1)
			continue;
		jnl_name(no, name);
		if (strcmp(name, de->d_name) != 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			nos = xrealloc(nos, cap * sizeof(*nos));
		}
		nos[n++] = no;
	}
	closedir(dir);
	if (r == 0 && n > 0)
		qsort(nos, n, sizeof(*nos), u64_cmp);
	uint64_t total = 0;

	for (size_t i = 0; i < n && progress != NULL; i++) {
		char name[64];
		struct stat st;

		jnl_name(nos[i], name);
		if (fstatat(dir_fd, name, &st, 0) == 0)
			total += (uint64_t)st.st_size;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		char name[64];

		jnl_name(nos[i], name);
		r = jnl_replay_file(&rp, dir_fd, name, nos[i]);
		*last_no_r = nos[i];
		if (progress != NULL)
			progress->fn(progress->ctx, "journal",
				     stats->journal_bytes < total ? stats->journal_bytes : total, total);
	}
	free(nos);
	if (r == -ENOMEM)
		error_set(error_r, "%s: journal replay: out of memory", dir_name);
	if (rp.last_seq > *last_seq_r)
		*last_seq_r = rp.last_seq;
	return r;
}
