/* libFuzzer harness for the snapshot and journal loaders (src/persist): the input
   becomes the files of a data directory, persist_open() loads it, and it must give an
   error or a store that saves and loads back the same (snapshot round trip) and that
   the store operations handle. Checksums can be recomputed by the harness so the
   fuzzer reaches the contents behind them.

   Input: byte 0 = configuration, bytes 1-2 = split (u16 little-endian), then file data.
     bit 0     ignore_corrupt_snapshot
     bit 1     recompute the checksums (and the journal number) before writing
     bits 2-3  layout: 0 snapshot; 1 journal 1; 2 snapshot (split bytes) + journal 1;
               3 journal 1 (split bytes) + journal 2
     bit 4     the snapshot round trip again after the store operations */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-common.h"

#include "core/log.h"
#include "imap/datetime.h"
#include "imap/search.h"
#include "persist/crc32c.h"
#include "persist/persist-private.h"
#include "store/memstore.h"
#include "uimap/store.h"

static char fuzz_dir[64];   /* the data directory, emptied after each input */
static char rt_dir[80];     /* the round-trip snapshot's directory */

static void rm_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (d == NULL || fd < 0) {
		if (d != NULL)
			closedir(d);
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			unlinkat(fd, e->d_name, 0);
	}
	closedir(d);
	close(fd);
}

static void cleanup(void)
{
	rm_files(rt_dir);
	rmdir(rt_dir);
	rm_files(fuzz_dir);
	rmdir(fuzz_dir);
}

static void setup(void)
{
	if (fuzz_dir[0] != '\0')
		return;
	log_current()->level = UIMAP_LOG_ERROR;
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/uimap-fuzz-persist-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	FUZZ_CHECK(mkdtemp(fuzz_dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(rt_dir, sizeof(rt_dir), "%s/rt", fuzz_dir);
	FUZZ_CHECK(mkdir(rt_dir, 0700) == 0, "mkdir: %s", strerror(errno));
	atexit(cleanup);
}

static void write_file(const char *name, const unsigned char *data, size_t len)
{
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FUZZ_CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	FUZZ_CHECK(len == 0 || write(fd, data, len) == (ssize_t)len, "write %s", path);
	close(fd);
}

/* Recompute the header and section checksums of a snapshot, as far as the section
   lengths lead. */
static void fix_snapshot(unsigned char *d, size_t len)
{
	if (len < SNAP_HEADER_SIZE)
		return;
	put_u32(d + 60, crc32c(0, d, 60));
	for (size_t off = SNAP_HEADER_SIZE; len - off >= SNAP_SECTION_HEADER;) {
		uint64_t length = get_u64(d + off + 8), total;

		put_u32(d + off + 28, crc32c(0, d + off, 28));
		if (length > len)
			return;
		total = SNAP_SECTION_HEADER + length + 4;
		total += (8 - (total & 7)) & 7;
		if (total > len - off)
			return;
		put_u32(d + off + SNAP_SECTION_HEADER + length,
			crc32c(0, d + off + SNAP_SECTION_HEADER, length));
		off += total;
	}
}

/* Recompute the header (with journal number no) and record checksums of a journal. */
static void fix_journal(unsigned char *d, size_t len, uint64_t no)
{
	if (len < JNL_HEADER_SIZE)
		return;
	put_u64(d + 16, no);
	put_u32(d + 28, crc32c(0, d, 28));
	for (size_t off = JNL_HEADER_SIZE; len - off >= JNL_REC_HEADER;) {
		uint32_t rlen = get_u32(d + off), crc;

		if (rlen > len - off - JNL_REC_HEADER)
			return;
		crc = crc32c(0, d + off, 4);
		crc = crc32c(crc, d + off + 8, JNL_REC_HEADER - 8 + (size_t)rlen);
		put_u32(d + off + 4, crc);
		off += JNL_REC_HEADER + rlen;
	}
}

/* ---- a canonical text of what a snapshot must keep ---- */

static void dumpf(struct buf *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void dumpf(struct buf *d, const char *fmt, ...)
{
	va_list ap;
	char line[2600];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	buf_append(d, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static char *dump(struct memstore *ms)
{
	struct buf d = { 0 };

	dumpf(&d, "users %zu\n", ms->n_users);
	for (size_t u = 0; u < ms->n_users; u++) {
		const struct store_user *user = ms->users[u];

		dumpf(&d, "user %s\n", user->name);
		for (size_t i = 0; i < user->n_subs; i++)
			dumpf(&d, " sub %s\n", user->subs[i]);
		for (size_t b = 0; b < user->n_boxes; b++) {
			const struct mailbox *box = user->boxes[b];

			dumpf(&d, " box %s uv=%u next=%u recent=%u modseq=%llu su=%u nosel=%d "
			      "live=%u unseen=%u del=%u bytes=%llu\n", box->name,
			      box->noselect ? 0 : box->uidvalidity, box->uidnext,
			      box->first_recent_uid, (unsigned long long)box->modseq,
			      box->special_use, box->noselect, box->n_live, box->n_unseen,
			      box->n_deleted, (unsigned long long)box->live_bytes);
			for (unsigned k = 0; k < box->n_keywords; k++)
				dumpf(&d, "  kw %u %s\n", k, box->keywords[k]);
			for (uint32_t i = 0; i < box->n_msgs; i++) {
				const struct store_msg *m = &box->msgs[i];

				if (m->state != MSG_LIVE)
					continue;
				dumpf(&d, "  msg %u f=%u kw=%llx ms=%llu date=%lld tz=%d size=%zu "
				      "crc=%08x\n", m->uid, m->flags, (unsigned long long)m->keywords,
				      (unsigned long long)m->modseq, (long long)m->internaldate,
				      m->tz_minutes, m->blob->size,
				      crc32c(0, m->blob->data, m->blob->size));
			}
		}
	}
	buf_append(&d, "", 1);
	return (char *)d.data;
}

/* What was loaded is saved as a snapshot and loads back the same, strictly. */
static void check_round_trip(struct memstore *ms)
{
	char path[160];
	const char *error = NULL;
	int fd, dir_fd, r;
	int64_t n;

	snprintf(path, sizeof(path), "%s/%s", rt_dir, SNAP_FILE);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	FUZZ_CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	n = snap_write_fd(ms, fd, 7, 1, &error);
	close(fd);
	FUZZ_CHECK(n > 0, "snapshot of a loaded store: %s", error != NULL ? error : "?");

	struct uimap_store *store2 = NULL;
	struct persist_load_stats stats = { 0 };
	struct buf report = { 0 };
	uint64_t seq = 0;

	FUZZ_CHECK(uimap_store_memory_new(NULL, &store2) == 0, "store");
	dir_fd = open(rt_dir, O_RDONLY | O_DIRECTORY);
	FUZZ_CHECK(dir_fd >= 0, "%s", rt_dir);
	r = snap_load((struct memstore *)store2, dir_fd, path, SNAP_FILE, false, &seq, &stats,
		      &report, NULL, &error);
	close(dir_fd);
	if (r != 0) {
		char *text = dump(ms);

		fprintf(stderr, "loaded:\n%s\n", text);
		free(text);
	}
	FUZZ_CHECK(r == 0 && seq == 7 && report.len == 0,
		   "the snapshot of a loaded store does not load: %d %s", r,
		   r < 0 && error != NULL ? error : "");
	char *want = dump(ms), *got = dump((struct memstore *)store2);

	if (strcmp(want, got) != 0) {
		fprintf(stderr, "loaded:\n%s\nsaved and loaded again:\n%s\n", want, got);
		fuzz_fail("snapshot round trip changed the store");
	}
	free(want);
	free(got);
	buf_free(&report);
	uimap_store_free(&store2);
	unlink(path);
}

/* ---- exercising the loaded store through its vtable ---- */

struct names {
	char *v[64];
	unsigned n;
};

static int list_cb(void *ctx, const char *name, unsigned attrs, unsigned special_use)
{
	struct names *l = ctx;

	FUZZ_CHECK(name != NULL, "LIST name");
	if (l->n < 64)
		l->v[l->n++] = strdup(name);
	return 0;
}

static void cb_expunge(void *ctx, uint32_t seq, uint32_t uid)
{
	FUZZ_CHECK(seq >= 1 && uid >= 1, "EXPUNGE %u uid %u", seq, uid);
}

static void exercise_view(struct uimap_store_user *user, const char *name, bool readonly)
{
	struct uimap_store_view *v = NULL;
	struct uimap_select_info info;
	struct uimap_sync_callbacks cb = { .expunge = cb_expunge };
	static const char msg[] = "From: fuzz@example.org\r\nSubject: appended\r\n\r\nhello\r\n";

	if (user->vt->view_open(user, name, readonly, &v, &info) < 0)
		return;
	uint32_t count = v->vt->view_count(v), last_uid = 0;

	FUZZ_CHECK(count == info.exists, "count %u exists %u", count, info.exists);
	for (uint32_t seq = 1; seq <= count && seq <= 64; seq++) {
		struct uimap_msg_info mi;
		uint32_t back;

		FUZZ_CHECK(v->vt->view_msg(v, seq, &mi) == 0, "view_msg %u of %u", seq, count);
		FUZZ_CHECK(mi.uid > last_uid && mi.uid < info.uidnext, "uid %u after %u, uidnext %u",
			   mi.uid, last_uid, info.uidnext);
		FUZZ_CHECK(mi.blob != NULL && mi.size == mi.blob->size, "message bytes");
		(void)crc32c(0, mi.blob->data, mi.blob->size);
		/* FETCH INTERNALDATE and SEARCH BEFORE/ON/SINCE/SENTON on it */
		char date[32];
		struct search_key on = { .op = SEARCH_ON, .number = 0 };
		struct search_key sent = { .op = SEARCH_SENTON, .number = 0 };

		imap_datetime_format(mi.internaldate, mi.tz_minutes, date);
		FUZZ_CHECK(strlen(date) == 26, "INTERNALDATE \"%s\"", date);
		(void)search_match(NULL, &on, seq, &mi);
		(void)search_match(NULL, &sent, seq, &mi);
		FUZZ_CHECK(v->vt->view_uid_to_seq(v, mi.uid, &back) == 1 && back == seq, "uid_to_seq");
		for (unsigned k = 0; k < 64; k++)
			if (mi.flags.keywords & (1ull << k))
				FUZZ_CHECK(v->vt->view_keyword_name(v, k) != NULL,
					   "message %u has keyword %u without a name", seq, k);
		last_uid = mi.uid;
	}
	if (!readonly && count > 0) {
		struct uimap_flags f = { .system = UIMAP_FLAG_DELETED | UIMAP_FLAG_SEEN };
		struct uimap_range all = { 1, count };
		struct uimap_copy_result cres;

		(void)v->vt->view_store_flags(v, 1, UIMAP_FLAGS_ADD, &f, 0, NULL);
		(void)v->vt->view_keyword_index(v, "$Fuzz", true);
		(void)v->vt->view_copy(v, &all, 1, "INBOX", false, &cres);
		(void)v->vt->view_expunge(v, NULL, 0);
	}
	struct uimap_blob *blob = uimap_blob_new_copy(msg, sizeof(msg) - 1);
	struct uimap_append app = { .blob = blob, .system_flags = UIMAP_FLAG_FLAGGED };
	struct uimap_append_result ares;

	(void)user->vt->mailbox_append(user, name, &app, &ares);
	uimap_blob_unref(&blob);
	(void)v->vt->view_sync(v, UIMAP_SYNC_EXPUNGES, &cb, NULL);
	uimap_store_view_close(&v);
}

static void exercise(struct uimap_store *store)
{
	struct memstore *ms = (struct memstore *)store;
	size_t n_users = ms->n_users < 4 ? ms->n_users : 4;
	char *users[4];

	for (size_t u = 0; u < n_users; u++)
		users[u] = strdup(ms->users[u]->name);
	for (size_t u = 0; u < n_users; u++) {
		struct uimap_store_user *user = NULL;
		struct names l = { 0 };
		struct uimap_status st;

		FUZZ_CHECK(store->vt->user_open(store, users[u], &user) == 0, "user_open");
		FUZZ_CHECK(user->vt->mailbox_list(user, "", "*", 0, list_cb, &l) == 0, "LIST");
		(void)user->vt->mailbox_list(user, "", "%", UIMAP_LIST_F_SUBSCRIBED, list_cb, &l);
		for (unsigned i = 0; i < l.n && i < 8; i++) {
			(void)user->vt->mailbox_status(user, l.v[i], &st);
			exercise_view(user, l.v[i], i % 2 == 1);
		}
		(void)user->vt->mailbox_create(user, "Fuzz/New", 0);
		(void)user->vt->mailbox_rename(user, "Fuzz", "Fuzz2/Moved");
		(void)user->vt->mailbox_delete(user, "Fuzz2/Moved/New");
		(void)user->vt->mailbox_delete(user, "Fuzz2/Moved");
		if (l.n > 0) {
			(void)user->vt->mailbox_rename(user, l.v[0], "Renamed/By/Fuzz");
			(void)user->vt->mailbox_subscribe(user, l.v[l.n - 1], false);
			(void)user->vt->mailbox_delete(user, l.v[l.n - 1]);
		}
		for (unsigned i = 0; i < l.n; i++)
			free(l.v[i]);
		uimap_store_user_close(&user);
	}
	for (size_t u = 0; u < n_users; u++)
		free(users[u]);
	struct uimap_store_stats stats;

	if (store->vt->stats != NULL)
		(void)store->vt->stats(store, &stats);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	setup();
	uint8_t cfg = data[0];
	size_t split = (size_t)data[1] | (size_t)data[2] << 8;
	size_t len = size - 3;
	unsigned char *copy = malloc(len + 1);
	unsigned layout = (cfg >> 2) & 3;
	bool fix = (cfg & 2) != 0;

	memcpy(copy, data + 3, len);
	if (split > len)
		split = len;
	char j1[64], j2[64];

	jnl_name(1, j1);
	jnl_name(2, j2);
	switch (layout) {
	case 0:
		if (fix)
			fix_snapshot(copy, len);
		write_file(SNAP_FILE, copy, len);
		break;
	case 1:
		if (fix)
			fix_journal(copy, len, 1);
		write_file(j1, copy, len);
		break;
	case 2:
		if (fix) {
			fix_snapshot(copy, split);
			fix_journal(copy + split, len - split, 1);
		}
		write_file(SNAP_FILE, copy, split);
		write_file(j1, copy + split, len - split);
		break;
	default:
		if (fix) {
			fix_journal(copy, split, 1);
			fix_journal(copy + split, len - split, 2);
		}
		write_file(j1, copy, split);
		write_file(j2, copy + split, len - split);
		break;
	}
	free(copy);

	struct uimap_store *store = NULL;
	struct persist_settings set = {
		.data_dir = fuzz_dir,
		.journal_fsync = UIMAP_JOURNAL_FSYNC_OFF,
		.ignore_corrupt_snapshot = (cfg & 1) != 0,
	};
	struct persist *p = NULL;
	const char *error = NULL;

	FUZZ_CHECK(uimap_store_memory_new(NULL, &store) == 0, "store");
	int r = persist_open(store, &set, &p, &error);

	if (r < 0 && getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "not loaded: %d %s\n", r, error);
	if (r < 0) {
		FUZZ_CHECK(error != NULL && error[0] != '\0', "persist_open %d without a message", r);
		FUZZ_CHECK(r == -EBADMSG, "persist_open: %d %s", r, error);
	} else {
		FUZZ_CHECK(p != NULL, "no persist");
		if (getenv("FUZZ_VERBOSE") != NULL) {
			const struct persist_load_stats *st = persist_load_stats(p);

			fprintf(stderr, "loaded: %llu users, %llu mailboxes, %llu messages, %llu "
				"journal records, %llu dropped; %s\n", (unsigned long long)st->users,
				(unsigned long long)st->mailboxes, (unsigned long long)st->messages,
				(unsigned long long)st->journal_records,
				(unsigned long long)st->dropped_records, persist_load_report(p));
		}
		if (((struct memstore *)store)->n_users > 0)
			check_round_trip((struct memstore *)store);
		exercise(store);
		if ((cfg & 0x10) != 0)
			check_round_trip((struct memstore *)store);
		persist_close(&p);
		FUZZ_CHECK(p == NULL, "persist_close did not NULL");
	}
	uimap_store_free(&store);
	rm_files(fuzz_dir);
	outq_cache_free();
	return 0;
}
