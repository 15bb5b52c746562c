/* The journal: encoding store changes into records, writing them, replaying them at start. */
#include "persist/persist-private.h"

#include "persist/crc32c.h"

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

/* ---- writer --------------------------------------------------------------------- */

static int jnl_seg_push(struct persist *p, size_t off, size_t len, struct uimap_blob *blob)
{
	if (len == 0 && blob == NULL)
		return 0;
	if (p->n_segs == p->cap_segs) {
		size_t cap = p->cap_segs == 0 ? 64 : p->cap_segs * 2;
		struct jnl_seg *segs = realloc(p->segs, cap * sizeof(*segs));

		if (segs == NULL)
			return -ENOMEM;
		p->segs = segs;
		p->cap_segs = cap;
	}
	p->segs[p->n_segs++] = (struct jnl_seg){ .off = off, .len = len, .blob = blob };
	return 0;
}

/* Encode the record's payload after its header (already reserved at start). */
static int jnl_encode_payload(struct bytes *b, const struct store_change *c)
{
	int r = bytes_add_str(b, c->user);

	switch (c->type) {
	case STORE_CHANGE_USER_CREATE:
		break;
	case STORE_CHANGE_MAILBOX_CREATE:
		r |= bytes_add_str(b, c->mailbox);
		r |= bytes_add_u32(b, c->uidvalidity);
		r |= bytes_add_u32(b, c->special_use);
		break;
	case STORE_CHANGE_MAILBOX_DELETE:
		r |= bytes_add_str(b, c->mailbox);
		r |= bytes_add_u32(b, c->uidvalidity);
		break;
	case STORE_CHANGE_MAILBOX_RENAME:
		r |= bytes_add_str(b, c->mailbox);
		r |= bytes_add_str(b, c->new_name);
		r |= bytes_add_u32(b, c->uidvalidity);
		break;
	case STORE_CHANGE_SUBSCRIBE:
	case STORE_CHANGE_UNSUBSCRIBE:
		r |= bytes_add_str(b, c->mailbox);
		break;
	case STORE_CHANGE_KEYWORD:
		r |= bytes_add_str(b, c->mailbox);
		r |= bytes_add_u32(b, c->uidvalidity);
		r |= bytes_add_u32(b, c->index);
		r |= bytes_add_str(b, c->keyword);
		break;
	case STORE_CHANGE_APPEND:
	case STORE_CHANGE_FLAGS:
		r |= bytes_add_str(b, c->mailbox);
		r |= bytes_add_u32(b, c->uidvalidity);
		r |= bytes_add_u32(b, c->uid);
		r |= bytes_add_u64(b, c->modseq);
		r |= bytes_add_u32(b, c->msg->flags);
		r |= bytes_add_u64(b, c->msg->keywords);
		if (c->type == STORE_CHANGE_APPEND) {
			r |= bytes_add_u64(b, (uint64_t)c->msg->internaldate);
			r |= bytes_add_u32(b, (uint32_t)(int32_t)c->msg->tz_minutes);
			r |= bytes_add_u64(b, c->msg->blob->size);
		}
		break;
	case STORE_CHANGE_EXPUNGE:
		r |= bytes_add_str(b, c->mailbox);
		r |= bytes_add_u32(b, c->uidvalidity);
		r |= bytes_add_u32(b, c->uid);
		r |= bytes_add_u64(b, c->modseq);
		break;
	}
	return r != 0 ? -ENOMEM : 0;
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
	if (!p->journal_on || p->error != 0)
		return;
	if (bytes_reserve(&p->buf, JNL_REC_HEADER) < 0)
		goto nomem;
	p->buf.len += JNL_REC_HEADER;
	if (jnl_encode_payload(&p->buf, c) < 0)
		goto nomem;
	if (c->type == STORE_CHANGE_APPEND) {
		const struct uimap_blob *b = c->msg->blob;

		if (b->size < JNL_INLINE_MAX) {
			if (bytes_add(&p->buf, b->data, b->size) < 0)
				goto nomem;
		} else {
			/* Big message: write it from the blob, do not copy it. */
			blob = c->msg->blob;
		}
	}
	payload_len = p->buf.len - start - JNL_REC_HEADER + (blob != NULL ? blob->size : 0);
	if (payload_len > UINT32_MAX)
		goto toobig;
	h = p->buf.data + start;
	memset(h, 0, JNL_REC_HEADER);
	put_u32(h, (uint32_t)payload_len);
	put_u64(h + 8, p->seq + 1);
	put_u16(h + 16, JNL_TYPE_OF(c->type));
	crc = crc32c(0, h, 4);
	crc = crc32c(crc, h + 8, JNL_REC_HEADER - 8);
	crc = crc32c(crc, h + JNL_REC_HEADER, p->buf.len - start - JNL_REC_HEADER);
	if (blob != NULL) {
		crc = crc32c(crc, blob->data, blob->size);
		if (jnl_seg_push(p, p->buf_seg_start, p->buf.len - p->buf_seg_start, NULL) < 0 ||
		    jnl_seg_push(p, 0, blob->size, uimap_blob_ref(blob)) < 0) {
			if (p->n_segs > n_segs && p->segs[p->n_segs - 1].blob == NULL)
				p->n_segs--;
			uimap_blob_unref(&blob);
			goto nomem;
		}
		p->buf_seg_start = p->buf.len;
	}
	put_u32(h + 4, crc);
	p->seq++;
	return;
toobig:
	p->error = -EFBIG;
	goto undo;
nomem:
	p->error = -ENOMEM;
undo:
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
}

void jnl_discard_pending(struct persist *p)
{
	jnl_release_segs(p);
}

int jnl_write_pending(struct persist *p)
{
	struct iovec iov[IOV_MAX];
	size_t seg = 0, n_segs, total = 0, done = 0;

	if (p->error != 0)
		return p->error;
	if (p->written_seq == p->seq)
		return 0;
	if (jnl_seg_push(p, p->buf_seg_start, p->buf.len - p->buf_seg_start, NULL) < 0) {
		p->error = -ENOMEM;
		return p->error;
	}
	n_segs = p->n_segs;
	for (size_t i = 0; i < n_segs; i++)
		total += p->segs[i].len;
	/* One writev per IOV_MAX parts; a short write continues where it stopped. */
	size_t skip = 0;

	while (seg < n_segs) {
		int n_iov = 0;

		for (size_t i = seg; i < n_segs && n_iov < IOV_MAX; i++) {
			const struct jnl_seg *s = &p->segs[i];
			const unsigned char *base = s->blob != NULL
				? (const unsigned char *)s->blob->data : p->buf.data + s->off;

			iov[n_iov].iov_base = (void *)(base + (i == seg ? skip : 0));
			iov[n_iov].iov_len = s->len - (i == seg ? skip : 0);
			n_iov++;
		}
		ssize_t n = writev(p->jfd, iov, n_iov);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			p->error = n < 0 ? -errno : -EIO;
			/* Never leave half a record: appends after it would be lost. */
			if (ftruncate(p->jfd, (off_t)p->jsize) < 0)
				p->error = -errno;
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
	struct bytes *report;
	const char **error_r;
};

/* Whether flags and keywords are ones the store can hold: storable system flags and
   keywords of the mailbox's table (as the snapshot loader requires). */
static bool jnl_flags_ok(const struct mailbox *box, uint32_t flags, uint64_t keywords)
{
	uint64_t known = box->n_keywords >= 64 ? ~0ull : (1ull << box->n_keywords) - 1;

	return (flags & ~(uint32_t)UIMAP_FLAGS_STORABLE) == 0 && (keywords & ~known) == 0;
}

/* Apply one record. Returns 1 applied, 0 it does not fit the store (the reason in
   *why), -ENOMEM. */
static int jnl_apply(struct memstore *ms, uint16_t type, const unsigned char *data,
		     size_t len, const char **why)
{
	struct reader rd = { data, data + len, false };
	char user_name[4097], name[STORE_NAME_MAX + 1], name2[STORE_NAME_MAX + 1], kw[256];
	const char *s;
	uint32_t slen, uv = 0, uid = 0, u32, flags;
	uint64_t modseq = 0, keywords;
	struct store_user *user;
	struct mailbox *box = NULL;
	uint32_t idx;
	int r;

#define RD_STR(out, max) (rd_str(&rd, &s, &slen, (max)) && memchr(s, '\0', slen) == NULL && \
			   (memcpy((out), s, slen), (out)[slen] = '\0', true))
	*why = "malformed record";
	/* What the snapshot loader would refuse must not get in here either: the next
	   snapshot would not load (empty names, UIDVALIDITY 0, unknown flags). */
	if (!RD_STR(user_name, 4096) || user_name[0] == '\0')
		return 0;
	if (type == JNL_TYPE_OF(STORE_CHANGE_USER_CREATE)) {
		if (rd.p != rd.end)
			return 0;
		return restore_user_add(ms, user_name) != NULL ? 1 : -ENOMEM;
	}
	user = restore_user_find(ms, user_name);
	if (!RD_STR(name, STORE_NAME_MAX))
		return 0;
	*why = "no such user";
	if (user == NULL)
		return 0;
	switch (type) {
	case JNL_TYPE_OF(STORE_CHANGE_MAILBOX_CREATE):
		if (!rd_u32(&rd, &uv) || !rd_u32(&rd, &u32) || rd.p != rd.end || name[0] == '\0' ||
		    uv == 0)
			return 0;
		box = store_user_find(user, name);
		if (box == NULL) {
			box = mailbox_new(user, name);
			if (box == NULL)
				return -ENOMEM;
			if (restore_box_insert(user, box) < 0) {
				mailbox_unref(&box);
				return -ENOMEM;
			}
		}
		/* An existing name is a \Noselect placeholder being created, or a parent
		   that RENAME created again during this replay: it takes the recorded
		   identity either way. */
		box->noselect = false;
		box->uidvalidity = uv;
		box->special_use = u32;
		if (uv > ms->last_uidvalidity)
			ms->last_uidvalidity = uv;
		return 1;
	case JNL_TYPE_OF(STORE_CHANGE_MAILBOX_DELETE):
		if (!rd_u32(&rd, &uv) || rd.p != rd.end)
			return 0;
		r = store_mailbox_delete(&user->pub, name);
		*why = "DELETE failed";
		return r == 0 ? 1 : r == -ENOMEM ? r : 0;
	case JNL_TYPE_OF(STORE_CHANGE_MAILBOX_RENAME):
		if (!RD_STR(name2, STORE_NAME_MAX) || !rd_u32(&rd, &uv) || rd.p != rd.end)
			return 0;
		if (strcmp(name, "INBOX") != 0) {
			r = store_mailbox_rename(&user->pub, name, name2);
			*why = "RENAME failed";
			return r == 0 ? 1 : r == -ENOMEM ? r : 0;
		}
		/* RENAME INBOX: the target was created by the records before this one;
		   the messages move with their UIDs (as user_rename_inbox does). */
		struct mailbox *inbox = store_user_find(user, "INBOX");

		box = store_user_find(user, name2);
		*why = "RENAME INBOX: mailbox missing";
		if (inbox == NULL || box == NULL)
			return 0;
		/* The target was created empty just before (user_rename_inbox). */
		*why = "RENAME INBOX: target not new";
		if (box == inbox || box->n_msgs != 0)
			return 0;
		for (unsigned i = 0; i < inbox->n_keywords; i++)
			(void)mailbox_keyword_index(box, inbox->keywords[i], true);
		for (uint32_t i = 0; i < inbox->n_msgs; i++) {
			const struct store_msg *msg = &inbox->msgs[i];

			if (msg->state != MSG_LIVE)
				continue;
			box->uidnext = msg->uid;
			r = mailbox_add(box, msg->blob, msg->flags, msg->keywords,
					msg->internaldate, msg->tz_minutes, &uid);
			if (r < 0)
				return r;
		}
		box->uidnext = inbox->uidnext;
		box->first_recent_uid = inbox->first_recent_uid;
		mailbox_expunge_all(inbox);
		mailbox_changed(inbox, NULL);
		return 1;
	case JNL_TYPE_OF(STORE_CHANGE_SUBSCRIBE):
	case JNL_TYPE_OF(STORE_CHANGE_UNSUBSCRIBE):
		if (rd.p != rd.end)
			return 0;
		r = store_mailbox_subscribe(&user->pub, name,
					    type == JNL_TYPE_OF(STORE_CHANGE_SUBSCRIBE));
		*why = "SUBSCRIBE failed";
		return r >= 0 ? 1 : r == -ENOMEM ? r : 0;
	default:
		break;
	}
	/* The rest changes one mailbox incarnation. */
	if (!rd_u32(&rd, &uv))
		return 0;
	box = store_user_find(user, name);
	*why = "no such mailbox (or another UIDVALIDITY)";
	if (box == NULL || box->uidvalidity != uv || box->noselect)
		return 0;
	switch (type) {
	case JNL_TYPE_OF(STORE_CHANGE_KEYWORD):
		*why = "malformed record";
		if (!rd_u32(&rd, &u32) || !RD_STR(kw, 255) || rd.p != rd.end)
			return 0;
		r = mailbox_keyword_index(box, kw, true);
		*why = "keyword index differs";
		return r == (int)u32 ? 1 : r == -ENOMEM ? r : 0;
	case JNL_TYPE_OF(STORE_CHANGE_APPEND): {
		uint64_t idate, size;
		uint32_t tz;
		const unsigned char *bytes;
		struct uimap_blob *blob;

		*why = "malformed record";
		if (!rd_u32(&rd, &uid) || !rd_u64(&rd, &modseq) || !rd_u32(&rd, &flags) ||
		    !rd_u64(&rd, &keywords) || !rd_u64(&rd, &idate) || !rd_u32(&rd, &tz) ||
		    !rd_u64(&rd, &size) || size != (uint64_t)(rd.end - rd.p) ||
		    !rd_bytes(&rd, &bytes, size))
			return 0;
		*why = "UID below UIDNEXT";
		if (uid < box->uidnext || uid == UINT32_MAX)
			return 0;
		*why = "unknown flags or keywords, or modseq beyond 63 bits";
		if (!jnl_flags_ok(box, flags, keywords) || modseq > PERSIST_MODSEQ_MAX)
			return 0;
		blob = uimap_blob_new_copy(bytes, size);
		if (blob == NULL)
			return -ENOMEM;
		box->uidnext = uid;
		r = mailbox_add(box, blob, (uint8_t)flags, keywords, (int64_t)idate,
				(int16_t)(int32_t)tz, &uid);
		uimap_blob_unref(&blob);
		if (r < 0)
			return r;
		box->msgs[box->n_msgs - 1].modseq = modseq;
		if (modseq > box->modseq)
			box->modseq = modseq;
		return 1;
	}
	case JNL_TYPE_OF(STORE_CHANGE_FLAGS):
		*why = "malformed record";
		if (!rd_u32(&rd, &uid) || !rd_u64(&rd, &modseq) || !rd_u32(&rd, &flags) ||
		    !rd_u64(&rd, &keywords) || rd.p != rd.end)
			return 0;
		*why = "no such message";
		if (!mailbox_find(box, uid, &idx) || box->msgs[idx].state != MSG_LIVE)
			return 0;
		*why = "unknown flags or keywords, or modseq beyond 63 bits";
		if (!jnl_flags_ok(box, flags, keywords) || modseq > PERSIST_MODSEQ_MAX)
			return 0;
		r = mailbox_update_flags(box, idx, UIMAP_FLAGS_SET, (uint8_t)flags, keywords, NULL);
		if (r < 0)
			return r;
		box->msgs[idx].modseq = modseq;
		if (modseq > box->modseq)
			box->modseq = modseq;
		return 1;
	case JNL_TYPE_OF(STORE_CHANGE_EXPUNGE):
		*why = "malformed record, or modseq beyond 63 bits";
		if (!rd_u32(&rd, &uid) || !rd_u64(&rd, &modseq) || rd.p != rd.end ||
		    modseq > PERSIST_MODSEQ_MAX)
			return 0;
		*why = "no such message";
		if (!mailbox_find(box, uid, &idx) || box->msgs[idx].state != MSG_LIVE)
			return 0;
		mailbox_expunge_at(box, idx);
		if (modseq > box->modseq)
			box->modseq = modseq;
		mailbox_changed(box, NULL);
		return 1;
	default:
		*why = "unknown record type";
		return 0;
	}
#undef RD_STR
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
		persist_errf(rp->error_r, "%s/%s: %s at offset %zu", rp->dir_name, file, what, off);
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
		persist_errf(rp->error_r, "%s/%s: %s", rp->dir_name, file, strerror(errno));
		return r;
	}
	r = persist_read_file(fd, &data, &size);
	close(fd);
	if (r < 0) {
		persist_errf(rp->error_r, "%s/%s: %s", rp->dir_name, file, strerror(-r));
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
		persist_errf(rp->error_r, "%s/%s: journal version %u is not supported",
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
			r = jnl_apply(rp->ms, get_u16(data + off + 16), data + off + JNL_REC_HEADER,
				      len, &why);
			if (r < 0) {
				persist_errf(rp->error_r, "%s/%s: %s", rp->dir_name, file,
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
			} else {
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
		   struct persist_load_stats *stats, struct bytes *report, const char **error_r)
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
		persist_errf(error_r, "%s: %s", dir_name, strerror(-r));
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
			uint64_t *more = realloc(nos, cap * sizeof(*nos));

			if (more == NULL) {
				r = -ENOMEM;
				break;
			}
			nos = more;
		}
		nos[n++] = no;
	}
	closedir(dir);
	if (r == 0 && n > 0)
		qsort(nos, n, sizeof(*nos), u64_cmp);
	for (size_t i = 0; i < n && r == 0; i++) {
		char name[64];

		jnl_name(nos[i], name);
		r = jnl_replay_file(&rp, dir_fd, name, nos[i]);
		*last_no_r = nos[i];
	}
	free(nos);
	if (r == -ENOMEM)
		persist_errf(error_r, "%s: journal replay: out of memory", dir_name);
	if (rp.last_seq > *last_seq_r)
		*last_seq_r = rp.last_seq;
	return r;
}
