/* Journal: replay after a snapshot, torn tails at every cut, flipped bytes, group commit. */
#include "persist-test.h"
#include "persist/format.h"

#include <dirent.h>

static char *jpath(const char *dir, unsigned no)
{
	char *path = malloc(strlen(dir) + 64);

	sprintf(path, "%s/journal.%016x.uimap", dir, no);
	return path;
}

static unsigned count_journals(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "journal.", 8) == 0;
	closedir(d);
	return n;
}

/* Reopen dir into a fresh store; returns its dump. */
static char *reopen_dump(const char *dir, enum uimap_journal_fsync mode)
{
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, mode);
	char *dump = t_dump(s);

	persist_close(&p);
	uimap_store_free(&s);
	return dump;
}

Test(journal, replay_without_snapshot)
{
	char *dir = t_tmpdir(), *want, *got;
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);

	for (unsigned u = 0; u < 8; u++)
		t_fill_user(s, u, u == 1 ? 300000 : 0);
	cr_assert_gt(persist_journal_seq(p), 100);
	cr_assert_eq(persist_journal_sync(p), 0);
	cr_assert_eq(persist_journal_durable_seq(p), persist_journal_seq(p));
	want = t_dump(s);
	persist_close(&p);
	uimap_store_free(&s);
	got = reopen_dump(dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	t_assert_same(want, got, "journal replay");
	free(got);
	/* Twice: a reopen starts a new journal file and replays both. */
	got = reopen_dump(dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	t_assert_same(want, got, "second replay");
	free(got);
	free(want);
	t_rmdir(dir);
}

Test(journal, changes_after_snapshot)
{
	char *dir = t_tmpdir(), *want, *got;
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	const char *error = NULL;

	for (unsigned u = 0; u < 4; u++)
		t_fill_user(s, u, 0);
	cr_assert_eq(persist_snapshot_start(p, NULL), 0);
	cr_assert_eq(persist_snapshot_start(p, NULL), -EBUSY);
	cr_assert_eq(persist_snapshot_wait(p, &error), 1, "%s", error);
	/* The first journal is covered and gone; the new one remains, and the one
	   after it, made ahead by the snapshot's writer. */
	cr_assert_eq(count_journals(dir), 2);
	for (unsigned u = 4; u < 9; u++)
		t_fill_user(s, u, 0);
	/* Changes to users already in the snapshot too. */
	struct uimap_store_user *user = t_user(s, "user000@example.org");

	cr_assert_eq(user->vt->mailbox_rename(user, "Projects", "Work"), 0);
	cr_assert_eq(user->vt->mailbox_delete(user, "Archive/Old"), 0);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "Projects", false), 1);
	t_append(user, "Work/2024", "late", UIMAP_FLAG_FLAGGED);
	uimap_store_user_close(&user);
	want = t_dump(s);
	persist_close(&p);
	uimap_store_free(&s);
	got = reopen_dump(dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	t_assert_same(want, got, "snapshot + journal");
	free(got);
	free(want);
	t_rmdir(dir);
}

/* Operations one by one, with the journal seq and the dump after each. */
struct step {
	uint64_t seq;
	char *dump;
};

static size_t small_history(struct uimap_store *s, struct persist *p, struct step *steps)
{
	size_t n = 0;
	struct uimap_store_user *user;
	struct uimap_store_view *v = NULL;
	struct uimap_select_info info;

	steps[n++] = (struct step){ persist_journal_seq(p), t_dump(s) };
	user = t_user(s, "carol");
	steps[n++] = (struct step){ persist_journal_seq(p), t_dump(s) };
	t_append(user, "INBOX", "Subject: a\r\n\r\n1\r\n", 0);
	steps[n++] = (struct step){ persist_journal_seq(p), t_dump(s) };
	t_append(user, "INBOX", "Subject: b\r\n\r\n2\r\n", UIMAP_FLAG_SEEN);
	steps[n++] = (struct step){ persist_journal_seq(p), t_dump(s) };
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
	cr_assert_geq(v->vt->view_keyword_index(v, "Todo", true), 0);
	steps[n++] = (struct step){ persist_journal_seq(p), t_dump(s) };
	t_store_flags(v, 1, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED, 1);
	steps[n++] = (struct step){ persist_journal_seq(p), t_dump(s) };
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 1);
	uimap_store_view_close(&v);
	steps[n++] = (struct step){ persist_journal_seq(p), t_dump(s) };
	cr_assert_eq(user->vt->mailbox_create(user, "X/Y", 0), 0);
	steps[n++] = (struct step){ persist_journal_seq(p), t_dump(s) };
	cr_assert_eq(user->vt->mailbox_rename(user, "INBOX", "Y"), 0);
	steps[n++] = (struct step){ persist_journal_seq(p), t_dump(s) };
	cr_assert_eq(user->vt->mailbox_subscribe(user, "Y", true), 1);
	steps[n++] = (struct step){ persist_journal_seq(p), t_dump(s) };
	uimap_store_user_close(&user);
	return n;
}

/* The end offsets of the records in a journal file. */
static size_t record_ends(const unsigned char *data, size_t size, size_t *ends)
{
	size_t n = 0;

	for (size_t off = 32; off + 24 <= size; ) {
		uint32_t len;

		memcpy(&len, data + off, 4);
		off += 24 + len;
		ends[n++] = off;
	}
	return n;
}

static void free_steps(struct step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(steps[i].dump);
}

/* The state after replaying k records must be the dump of the step that ended at
   seq k (when some step did). */
static void check_prefix(struct step *steps, size_t n_steps, uint64_t k, const char *got)
{
	for (size_t i = 0; i < n_steps; i++) {
		if (steps[i].seq == k) {
			t_assert_same(steps[i].dump, got, "prefix");
			return;
		}
	}
}

Test(journal, every_truncation_keeps_whole_records)
{
	char *dir = t_tmpdir(), *dir2 = t_tmpdir(), *src, *dst;
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	struct step steps[32];
	size_t n_steps = small_history(s, p, steps), size, ends[256], n_rec;
	unsigned char *data;

	cr_assert_eq(persist_journal_sync(p), 0);
	persist_close(&p);
	uimap_store_free(&s);
	src = jpath(dir, 1);
	dst = jpath(dir2, 1);
	data = t_read_file(src, &size);
	n_rec = record_ends(data, size, ends);
	cr_assert_eq(n_rec, steps[n_steps - 1].seq);
	for (size_t cut = 0; cut <= size; cut++) {
		struct uimap_store *s2 = t_store();
		struct persist *p2;
		uint64_t k = 0;
		char *got;
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -f %s/journal.*", dir2);
		cr_assert_eq(system(cmd), 0);
		t_write_file(dst, data, cut);
		while (k < n_rec && ends[k] <= cut)
			k++;
		p2 = t_open(s2, dir2, UIMAP_JOURNAL_FSYNC_ALWAYS);
		cr_assert_eq(persist_load_stats(p2)->journal_records, k, "cut %zu: %llu records, "
			     "want %llu", cut,
			     (unsigned long long)persist_load_stats(p2)->journal_records,
			     (unsigned long long)k);
		cr_assert_eq(persist_journal_seq(p2), k);
		got = t_dump(s2);
		check_prefix(steps, n_steps, k, got);
		free(got);
		persist_close(&p2);
		uimap_store_free(&s2);
	}
	free(data);
	free(src);
	free(dst);
	free_steps(steps, n_steps);
	t_rmdir(dir);
	t_rmdir(dir2);
}

Test(journal, every_flipped_byte_detected_or_torn)
{
	char *dir = t_tmpdir(), *dir2 = t_tmpdir(), *src, *dst;
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	struct step steps[32];
	size_t n_steps = small_history(s, p, steps), size, ends[256], n_rec;
	unsigned char *data;

	cr_assert_eq(persist_journal_sync(p), 0);
	persist_close(&p);
	uimap_store_free(&s);
	src = jpath(dir, 1);
	dst = jpath(dir2, 1);
	data = t_read_file(src, &size);
	n_rec = record_ends(data, size, ends);
	for (size_t i = 0; i < size; i++) {
		struct uimap_store *s2 = t_store();
		struct persist_settings set = t_settings(dir2, UIMAP_JOURNAL_FSYNC_ALWAYS);
		struct persist *p2 = NULL;
		const char *error = NULL;
		char cmd[600];
		int r;

		snprintf(cmd, sizeof(cmd), "rm -f %s/journal.* %s/snapshot*", dir2, dir2);
		cr_assert_eq(system(cmd), 0);
		data[i] ^= 0x04;
		t_write_file(dst, data, size);
		data[i] ^= 0x04;
		r = persist_open(s2, &set, &p2, &error);
		if (r == 0) {
			/* Only a damaged last record may pass, as a torn write. */
			char *got = t_dump(s2);

			cr_assert_geq(i, n_rec >= 2 ? ends[n_rec - 2] : 32, "flip at %zu accepted", i);
			cr_assert_eq(persist_load_stats(p2)->journal_records, n_rec - 1);
			check_prefix(steps, n_steps, n_rec - 1, got);
			free(got);
			persist_close(&p2);
		} else {
			cr_assert_eq(r, -EBADMSG, "flip at %zu: %d %s", i, r, error);
			cr_assert_not_null(strstr(error, "offset"), "%s", error);
		}
		uimap_store_free(&s2);
	}
	free(data);
	free(src);
	free(dst);
	free_steps(steps, n_steps);
	t_rmdir(dir);
	t_rmdir(dir2);
}

Test(journal, uids_never_reused)
{
	char *dir = t_tmpdir();
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	struct uimap_store_user *user = t_user(s, "dave");
	struct uimap_store_view *v = NULL;
	struct uimap_select_info info;
	const char *error;

	for (int i = 0; i < 5; i++)
		t_append(user, "INBOX", "m", 0);
	cr_assert_eq(persist_snapshot_start(p, NULL), 0);
	cr_assert_eq(persist_snapshot_wait(p, &error), 1);
	/* Expunge the last two after the snapshot: only the journal knows. */
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
	t_store_flags(v, 4, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED, 0);
	t_store_flags(v, 5, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED, 0);
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 2);
	uimap_store_view_close(&v);
	uimap_store_user_close(&user);
	persist_close(&p);
	uimap_store_free(&s);

	for (uint32_t round = 0; round < 3; round++) {
		s = t_store();
		p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
		user = t_user(s, "dave");
		cr_assert_eq(t_append(user, "INBOX", "again", 0), 6 + round);
		/* and expunge it at once, so the mailbox ends on a hole again */
		cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
		t_store_flags(v, info.exists, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED, 0);
		cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 1);
		uimap_store_view_close(&v);
		uimap_store_user_close(&user);
		if (round == 1) {
			cr_assert_eq(persist_snapshot_start(p, NULL), 0);
			cr_assert_eq(persist_snapshot_wait(p, &error), 1);
		}
		persist_close(&p);
		uimap_store_free(&s);
	}
	t_rmdir(dir);
}

Test(journal, group_commit_handshake)
{
	char *dir = t_tmpdir();
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	struct uimap_store_user *user = t_user(s, "erin");
	struct persist_flush fl, fl2;
	uint64_t seq;

	seq = persist_journal_seq(p);
	cr_assert_gt(seq, 0);
	cr_assert(!persist_journal_is_durable(p, seq));
	cr_assert_eq(persist_journal_flush_begin(p, &fl), 0);
	cr_assert(fl.need_fsync);
	cr_assert_eq(fl.seq, seq);
	/* More changes while the fsync is in flight: written, no second fsync. */
	t_append(user, "INBOX", "one", 0);
	uint64_t seq2 = persist_journal_seq(p);

	cr_assert_eq(persist_journal_flush_begin(p, &fl2), 0);
	cr_assert(!fl2.need_fsync);
	cr_assert_eq(fdatasync(fl.fd), 0);
	cr_assert_eq(persist_journal_flush_done(p, fl.seq, 0), 0);
	cr_assert(persist_journal_is_durable(p, seq));
	cr_assert(!persist_journal_is_durable(p, seq2));
	/* The next turn syncs the rest as one group. */
	cr_assert_eq(persist_journal_flush_begin(p, &fl2), 0);
	cr_assert(fl2.need_fsync);
	cr_assert_eq(fl2.seq, seq2);

	/* A snapshot rotates the journal while that fsync is in flight: the old
	   fd stays open and is synced before anything in the new file counts. */
	t_append(user, "INBOX", "two", 0);
	uint64_t seq3 = persist_journal_seq(p);

	cr_assert_eq(persist_snapshot_start(p, NULL), 0);
	t_append(user, "INBOX", "three", 0);
	uint64_t seq4 = persist_journal_seq(p);

	cr_assert_eq(fdatasync(fl2.fd), 0);
	cr_assert_eq(persist_journal_flush_done(p, fl2.seq, 0), 0);
	cr_assert(!persist_journal_is_durable(p, seq3));
	cr_assert_eq(persist_journal_flush_begin(p, &fl), 0);
	cr_assert(fl.need_fsync);
	cr_assert_eq(fl.fd, fl2.fd, "the retired journal first");
	cr_assert_eq(fl.seq, seq3);
	cr_assert_eq(fdatasync(fl.fd), 0);
	cr_assert_eq(persist_journal_flush_done(p, fl.seq, 0), 0);
	cr_assert_eq(persist_journal_flush_begin(p, &fl), 0);
	cr_assert(fl.need_fsync);
	cr_assert_eq(fl.seq, seq4);
	cr_assert_eq(fdatasync(fl.fd), 0);
	cr_assert_eq(persist_journal_flush_done(p, fl.seq, 0), 0);
	cr_assert(persist_journal_is_durable(p, seq4));
	cr_assert_eq(persist_snapshot_wait(p, NULL), 1);
	/* A failed fsync is sticky. */
	t_append(user, "INBOX", "four", 0);
	cr_assert_eq(persist_journal_flush_begin(p, &fl), 0);
	cr_assert_eq(persist_journal_flush_done(p, fl.seq, -EIO), -EIO);
	cr_assert_eq(persist_journal_flush_begin(p, &fl), -EIO);
	cr_assert(!persist_journal_is_durable(p, persist_journal_seq(p)));
	uimap_store_user_close(&user);
	persist_close(&p);
	uimap_store_free(&s);
	t_rmdir(dir);
}

Test(journal, periodic_and_off)
{
	char *dir = t_tmpdir(), *dir2 = t_tmpdir();
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	struct uimap_store_user *user = t_user(s, "fay");
	struct persist_flush fl;

	cr_assert(persist_journal_is_durable(p, persist_journal_seq(p)));
	cr_assert_eq(persist_journal_flush_begin(p, &fl), 0);
	cr_assert(!fl.need_fsync, "not before a second passed");
	usleep(1100 * 1000);
	cr_assert_eq(persist_journal_flush_begin(p, &fl), 0);
	cr_assert(fl.need_fsync);
	cr_assert_eq(persist_journal_flush_done(p, fl.seq, fsync(fl.fd)), 0);
	cr_assert_eq(persist_journal_durable_seq(p), persist_journal_seq(p));
	uimap_store_user_close(&user);
	persist_close(&p);
	uimap_store_free(&s);

	/* off: snapshot only, no journal files. */
	s = t_store();
	p = t_open(s, dir2, UIMAP_JOURNAL_FSYNC_OFF);
	user = t_user(s, "gus");
	t_append(user, "INBOX", "x", 0);
	cr_assert_eq(persist_journal_flush_begin(p, &fl), 0);
	cr_assert(!fl.need_fsync);
	cr_assert_eq(count_journals(dir2), 0);
	cr_assert(persist_snapshot_due(p) == false);
	cr_assert_eq(persist_snapshot_start(p, NULL), 0);
	cr_assert_eq(persist_snapshot_wait(p, NULL), 1);
	char *want = t_dump(s);

	uimap_store_user_close(&user);
	persist_close(&p);
	uimap_store_free(&s);
	char *got = reopen_dump(dir2, UIMAP_JOURNAL_FSYNC_OFF);

	t_assert_same(want, got, "off");
	free(want);
	free(got);
	t_rmdir(dir);
	t_rmdir(dir2);
}

Test(journal, snapshot_triggers_and_lock)
{
	char *dir = t_tmpdir();
	struct uimap_store *s = t_store(), *s2 = t_store();
	struct persist_settings set = t_settings(dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	struct persist *p = NULL, *p2 = NULL;
	const char *error = NULL;

	set.snapshot_changes = 20;
	cr_assert_eq(persist_open(s, &set, &p, &error), 0);
	cr_assert(!persist_snapshot_due(p));
	struct uimap_store_user *user = t_user(s, "hal");

	for (int i = 0; i < 20; i++)
		t_append(user, "INBOX", "x", 0);
	cr_assert(persist_snapshot_due(p));
	cr_assert_eq(persist_snapshot_start(p, NULL), 0);
	cr_assert(!persist_snapshot_due(p));
	cr_assert_geq(persist_snapshot_fd(p), 0);
	cr_assert_eq(persist_snapshot_wait(p, NULL), 1);
	cr_assert_eq(persist_snapshot_fd(p), -1);
	/* A second process (or open) on the same directory is refused. */
	cr_assert_eq(persist_open(s2, &set, &p2, &error), -EBUSY);
	cr_assert_not_null(strstr(error, dir));
	uimap_store_user_close(&user);
	persist_close(&p);
	uimap_store_free(&s);
	uimap_store_free(&s2);
	t_rmdir(dir);
}

Test(journal, corrupt_snapshot_refused_then_ignored)
{
	char *dir = t_tmpdir(), path[600];
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	struct persist_settings set = t_settings(dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	const char *error = NULL;
	unsigned char *data;
	size_t size;

	for (unsigned u = 0; u < 3; u++)
		t_fill_user(s, u, 0);
	cr_assert_eq(persist_snapshot_start(p, NULL), 0);
	cr_assert_eq(persist_snapshot_wait(p, NULL), 1);
	persist_close(&p);
	uimap_store_free(&s);
	snprintf(path, sizeof(path), "%s/snapshot.uimap", dir);
	data = t_read_file(path, &size);
	data[size / 2] ^= 0x80;
	t_write_file(path, data, size);
	free(data);
	s = t_store();
	cr_assert_eq(persist_open(s, &set, &p, &error), -EBADMSG);
	cr_assert_not_null(strstr(error, path), "%s", error);
	cr_assert_not_null(strstr(error, "offset"), "%s", error);
	uimap_store_free(&s);
	s = t_store();
	set.ignore_corrupt_snapshot = true;
	cr_assert_eq(persist_open(s, &set, &p, &error), 0);
	cr_assert_neq(persist_load_report(p)[0], '\0');
	cr_assert(persist_load_stats(p)->users < 3 || persist_load_stats(p)->dropped_messages > 0);
	persist_close(&p);
	uimap_store_free(&s);
	t_rmdir(dir);
}

/* One apply path: a journal holding every change type, replayed into an empty
   store through store_change_apply(), gives exactly the live store (names,
   UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, keywords, every message's UID, flags,
   modseq, date and bytes, subscriptions, \Noselect placeholders). */
Test(journal, every_change_type_replays_to_the_live_store)
{
	char *dir = t_tmpdir(), *want, *got;
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	struct uimap_store_user *user = t_user(s, "every@example.org");   /* USER_CREATE */
	struct uimap_store_view *v;
	struct uimap_select_info info;
	struct uimap_copy_result cres;
	static const char *const kws[] = { "$Label1", "Later" };

	/* MAILBOX_CREATE with parents and special use; SUBSCRIBE / UNSUBSCRIBE */
	cr_assert_eq(user->vt->mailbox_create(user, "A/B/C", 0), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "Keep", UIMAP_SPECIAL_ARCHIVE), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "Gone", 0), 0);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "A/B", true), 1);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "Keep", true), 1);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "Keep", false), 1);
	/* APPEND with flags and KEYWORD creation */
	for (unsigned i = 0; i < 10; i++) {
		char text[128];
		snprintf(text, sizeof(text), "Subject: %u\r\n\r\nbody %u\r\n", i, i);
		struct uimap_blob *blob = uimap_blob_new_copy(text, strlen(text));
		t_append_blob(user, i < 6 ? "INBOX" : "A/B/C", blob, i % 2 ? UIMAP_FLAG_SEEN : 0,
			      i % 3 == 0 ? kws : NULL, i % 3 == 0 ? 2 : 0);
		uimap_blob_unref(&blob);
	}
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
	int kw = v->vt->view_keyword_index(v, "$Work", true);
	cr_assert_geq(kw, 0);
	/* FLAGS: set, add, remove, and a STORE that changes nothing */
	t_store_flags(v, 1, UIMAP_FLAGS_SET, UIMAP_FLAG_FLAGGED, 1ull << kw);
	t_store_flags(v, 2, UIMAP_FLAGS_ADD, UIMAP_FLAG_ANSWERED | UIMAP_FLAG_DELETED, 0);
	t_store_flags(v, 3, UIMAP_FLAGS_REMOVE, UIMAP_FLAG_SEEN, 0);
	t_store_flags(v, 4, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED, 0);
	struct uimap_flags none = { 0, 0 };
	cr_assert_eq(v->vt->view_store_flags(v, 5, UIMAP_FLAGS_ADD, &none, 0, NULL), 0);
	/* EXPUNGE and UID EXPUNGE */
	struct uimap_range uids = { 4, 4 };
	cr_assert_eq(v->vt->view_expunge(v, &uids, 1), 1);
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 1);
	struct uimap_sync_callbacks no_cb = { 0 };
	cr_assert_eq(v->vt->view_sync(v, UIMAP_SYNC_EXPUNGES, &no_cb, NULL), 0);
	/* COPY and MOVE (COPY records naming the source in the target, EXPUNGE in the
	   source), into another mailbox and into the same one; then the copied-from
	   message goes and its copy stays */
	struct uimap_range seqs = { 1, 2 };
	cr_assert_eq(v->vt->view_copy(v, &seqs, 1, "Keep", false, &cres), 0);
	seqs = (struct uimap_range){ 3, 3 };
	cr_assert_eq(v->vt->view_copy(v, &seqs, 1, "Gone", true, &cres), 0);
	seqs = (struct uimap_range){ 1, 1 };
	cr_assert_eq(v->vt->view_copy(v, &seqs, 1, "INBOX", false, &cres), 0);
	t_store_flags(v, 1, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED, 0);
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 1);
	cr_assert_eq(v->vt->view_sync(v, UIMAP_SYNC_EXPUNGES, &no_cb, NULL), 0);
	uimap_store_view_close(&v);
	/* MAILBOX_DELETE: plain, and with inferiors (a \Noselect placeholder), then
	   CREATE of that placeholder; MAILBOX_RENAME with inferiors; RENAME INBOX */
	cr_assert_eq(user->vt->mailbox_delete(user, "Gone"), 0);
	cr_assert_eq(user->vt->mailbox_delete(user, "A/B"), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "A/B", 0), 0);
	cr_assert_eq(user->vt->mailbox_rename(user, "A", "Z/A"), 0);
	cr_assert_eq(user->vt->mailbox_rename(user, "INBOX", "Old/In"), 0);
	t_append(user, "INBOX", "Subject: after\r\n\r\nx\r\n", 0);
	/* URLAUTH_KEY: set, replace, remove one, remove all, set again */
	unsigned char key[UIMAP_URLAUTH_KEY_SIZE];
	memset(key, 0x11, sizeof(key));
	cr_assert_eq(user->vt->urlauth_key_set(user, "INBOX", key), 0);
	cr_assert_eq(user->vt->urlauth_key_set(user, "Keep", key), 0);
	cr_assert_eq(user->vt->urlauth_key_set(user, "Z/A", key), 0);
	key[0] = 0x22;
	cr_assert_eq(user->vt->urlauth_key_set(user, "Keep", key), 0);
	cr_assert_eq(user->vt->urlauth_key_set(user, "INBOX", NULL), 0);
	cr_assert_eq(user->vt->urlauth_key_set(user, NULL, NULL), 0);
	cr_assert_eq(user->vt->urlauth_key_set(user, "Z/A", key), 0);
	key[0] = 0x33;
	cr_assert_eq(user->vt->urlauth_key_set(user, "Keep", key), 0);
	cr_assert_eq(user->vt->urlauth_key_get(user, "Keep", key), 1);
	cr_assert_eq(user->vt->urlauth_key_get(user, "INBOX", key), 0);
	uimap_store_user_close(&user);

	cr_assert_eq(persist_journal_sync(p), 0);
	want = t_dump(s);
	cr_assert(strstr(want, " urlkey Z/A 2211..11\n urlkey Keep 3311..11\n") != NULL, "%s", want);
	persist_close(&p);
	uimap_store_free(&s);
	got = reopen_dump(dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	t_assert_same(want, got, "every change type replayed");
	cr_assert(strstr(want, "box Z/A/B ") != NULL, "%s", want);
	cr_assert(strstr(want, "box Old/In ") != NULL, "%s", want);
	free(got);
	free(want);
	t_rmdir(dir);
}
static uint64_t journal_bytes(const char *dir)
{
	char *path = jpath(dir, 1);
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	free(path);
	return (uint64_t)st.st_size;
}

/* COPY and MOVE journal a reference to the message they copy, not its bytes again
   (a 1 MiB message copied 20 times adds a few KiB); the replay shares the bytes. */
Test(journal, copy_journals_a_reference_not_the_bytes)
{
	char *dir = t_tmpdir(), *want, *got;
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	struct uimap_store_user *user = t_user(s, "big");
	struct uimap_store_view *v;
	struct uimap_select_info info;
	struct uimap_copy_result cres;
	size_t size = 1 << 20;
	char *text = malloc(size);

	for (size_t i = 0; i < size; i++)
		text[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : (char)('a' + i % 26);
	struct uimap_blob *blob = uimap_blob_new_copy(text, size);

	free(text);
	t_append_blob(user, "INBOX", blob, 0, NULL, 0);
	uimap_blob_unref(&blob);
	cr_assert_eq(user->vt->mailbox_create(user, "Copies", 0), 0);
	cr_assert_eq(persist_journal_sync(p), 0);
	uint64_t before = journal_bytes(dir);

	cr_assert_gt(before, size);
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
	for (int i = 0; i < 20; i++) {
		struct uimap_range seqs = { 1, 1 };

		cr_assert_eq(v->vt->view_copy(v, &seqs, 1, i % 2 ? "Copies" : "INBOX", false,
					      &cres), 0);
	}
	struct uimap_range seqs = { 1, 1 };
	cr_assert_eq(v->vt->view_copy(v, &seqs, 1, "Copies", true, &cres), 0);
	uimap_store_view_close(&v);
	cr_assert_eq(persist_journal_sync(p), 0);
	uint64_t added = journal_bytes(dir) - before;

	cr_assert_lt(added, 8192, "22 copies journalled %llu bytes", (unsigned long long)added);
	want = t_dump(s);
	persist_close(&p);
	uimap_store_free(&s);
	got = reopen_dump(dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	t_assert_same(want, got, "copies replayed from references");
	free(got);
	free(want);
	t_rmdir(dir);
}

/* ---- records the store never writes (found by tests/fuzz/fuzz-persist) ---- */

/* A journal file with valid checksums, built record by record. */
struct hostile {
	struct buf file;
	uint64_t seq;
};

static void h_begin(struct hostile *h)
{
	unsigned char head[JNL_HEADER_SIZE] = { 0 };

	memset(h, 0, sizeof(*h));
	memcpy(head, JNL_MAGIC, 8);
	put_u32(head + 8, JNL_VERSION);
	put_u64(head + 16, 1);
	put_u32(head + 28, crc32c(0, head, 28));
	buf_append(&h->file, head, sizeof(head));
}

static void h_rec(struct hostile *h, enum store_change_type type, const struct buf *payload)
{
	unsigned char rh[JNL_REC_HEADER] = { 0 };
	uint32_t crc;

	put_u32(rh, (uint32_t)payload->len);
	put_u64(rh + 8, ++h->seq);
	put_u16(rh + 16, JNL_TYPE_OF(type));
	crc = crc32c(0, rh, 4);
	crc = crc32c(crc, rh + 8, JNL_REC_HEADER - 8);
	crc = crc32c(crc, payload->data, payload->len);
	put_u32(rh + 4, crc);
	buf_append(&h->file, rh, sizeof(rh));
	buf_append(&h->file, payload->data, payload->len);
}

static void h_create(struct hostile *h, const char *user, const char *box, uint32_t uv)
{
	struct buf b = { 0 };

	buf_append_lstr(&b, user);
	buf_append_lstr(&b, box);
	buf_append_u32(&b, uv);
	buf_append_u32(&b, 0);
	h_rec(h, STORE_CHANGE_MAILBOX_CREATE, &b);
	buf_free(&b);
}

static void h_user(struct hostile *h, const char *user)
{
	struct buf b = { 0 };

	buf_append_lstr(&b, user);
	h_rec(h, STORE_CHANGE_USER_CREATE, &b);
	buf_free(&b);
}

/* APPEND (uid), FLAGS or EXPUNGE of a message of "u"'s INBOX (UIDVALIDITY 7). */
static void h_msg_modseq(struct hostile *h, enum store_change_type type, uint32_t uid,
			 uint32_t flags, uint64_t keywords, uint64_t modseq)
{
	struct buf b = { 0 };

	buf_append_lstr(&b, "u");
	buf_append_lstr(&b, "INBOX");
	buf_append_u32(&b, 7);
	buf_append_u32(&b, uid);
	buf_append_u64(&b, modseq);
	if (type == STORE_CHANGE_EXPUNGE) {
		h_rec(h, type, &b);
		buf_free(&b);
		return;
	}
	buf_append_u32(&b, flags);
	buf_append_u64(&b, keywords);
	if (type == STORE_CHANGE_APPEND) {
		buf_append_u64(&b, 1700000000);
		buf_append_u32(&b, 0);
		buf_append_u64(&b, 3);
		buf_append(&b, "a\r\n", 3);
	}
	h_rec(h, type, &b);
	buf_free(&b);
}

static void h_msg(struct hostile *h, enum store_change_type type, uint32_t uid, uint32_t flags,
		  uint64_t keywords)
{
	h_msg_modseq(h, type, uid, flags, keywords, 2);
}

/* COPY into "u"'s INBOX (UIDVALIDITY 7) as uid of src_uid of src (UIDVALIDITY
   src_uv) of size bytes. */
static void h_copy(struct hostile *h, uint32_t uid, const char *src, uint32_t src_uv,
		   uint32_t src_uid, uint64_t size)
{
	struct buf b = { 0 };

	buf_append_lstr(&b, "u");
	buf_append_lstr(&b, "INBOX");
	buf_append_u32(&b, 7);
	buf_append_u32(&b, uid);
	buf_append_u64(&b, 3);
	buf_append_u32(&b, 0);
	buf_append_u64(&b, 0);
	buf_append_lstr(&b, src);
	buf_append_u32(&b, src_uv);
	buf_append_u32(&b, src_uid);
	buf_append_u64(&b, size);
	h_rec(h, STORE_CHANGE_COPY, &b);
	buf_free(&b);
}

/* A user "u" with INBOX (UIDVALIDITY 7) holding message 1. */
static void h_base(struct hostile *h)
{
	h_begin(h);
	h_user(h, "u");
	h_create(h, "u", "INBOX", 7);
	h_msg(h, STORE_CHANGE_APPEND, 1, UIMAP_FLAG_SEEN, 0);
}

/* The journal is refused as it stands (record seq `bad` does not apply), and with
   ignore_corrupt_snapshot the rest loads into a store whose snapshot loads back. */
static void check_refused(struct hostile *h, uint64_t bad, const char *why)
{
	char *dir = t_tmpdir(), *path = jpath(dir, 1), want[64], snap[600];
	struct persist_settings set = t_settings(dir, UIMAP_JOURNAL_FSYNC_OFF);
	struct uimap_store *s = t_store(), *s2;
	struct persist *p = NULL;
	const char *error = NULL;

	t_write_file(path, h->file.data, h->file.len);
	cr_assert_eq(persist_open(s, &set, &p, &error), -EBADMSG, "%s", why);
	snprintf(want, sizeof(want), "record seq %llu does not apply", (unsigned long long)bad);
	cr_assert_not_null(strstr(error, want), "%s: %s", why, error);
	uimap_store_free(&s);
	s = t_store();
	set.ignore_corrupt_snapshot = true;
	cr_assert_eq(persist_open(s, &set, &p, &error), 0, "%s", why);
	cr_assert_geq(persist_load_stats(p)->dropped_records, 1, "%s", why);
	persist_close(&p);
	snprintf(snap, sizeof(snap), "%s/snap", dir);
	cr_assert_eq(mkdir(snap, 0700), 0);
	snprintf(snap, sizeof(snap), "%s/snap/snapshot.uimap", dir);
	cr_assert_eq(persist_snapshot_write(s, snap, 0, 1, &error), 0);
	s2 = t_store();
	cr_assert_eq(persist_snapshot_load(s2, snap, false, NULL, &(struct persist_load_stats){ 0 },
					   &error), 0, "%s: %s", why, error);
	char *d1 = t_dump(s), *d2 = t_dump(s2);

	t_assert_same(d1, d2, why);
	free(d1);
	free(d2);
	uimap_store_free(&s2);
	uimap_store_free(&s);
	buf_free(&h->file);
	free(path);
	t_rmdir(dir);
}

Test(journal, records_the_snapshot_would_refuse)
{
	struct hostile h;

	/* an empty user name */
	h_base(&h);
	h_user(&h, "");
	check_refused(&h, 4, "empty user");
	/* an empty mailbox name, UIDVALIDITY 0 */
	h_base(&h);
	h_create(&h, "u", "", 9);
	check_refused(&h, 4, "empty mailbox name");
	h_base(&h);
	h_create(&h, "u", "Other", 0);
	check_refused(&h, 4, "UIDVALIDITY 0");
	/* flags the store cannot hold: \Recent or unknown bits, keywords without a name */
	h_base(&h);
	h_msg(&h, STORE_CHANGE_APPEND, 2, UIMAP_FLAG_RECENT, 0);
	check_refused(&h, 4, "APPEND \\Recent");
	h_base(&h);
	h_msg(&h, STORE_CHANGE_APPEND, 2, 0, 1ull << 40);
	check_refused(&h, 4, "APPEND unknown keyword");
	h_base(&h);
	h_msg(&h, STORE_CHANGE_FLAGS, 1, 0x80, 0);
	check_refused(&h, 4, "FLAGS unknown bit");
	h_base(&h);
	h_msg(&h, STORE_CHANGE_FLAGS, 1, 0, 1);
	check_refused(&h, 4, "FLAGS unknown keyword");
	h_base(&h);
	h_msg(&h, STORE_CHANGE_FLAGS, 1, 0x101, 0);
	check_refused(&h, 4, "FLAGS beyond one byte");
	/* mod-sequences are 63-bit (RFC 7162 §7): 2^64-1 made the next change wrap
	   HIGHESTMODSEQ to 0 (regressions/persist/journal-modseq-wraps) */
	h_base(&h);
	h_msg_modseq(&h, STORE_CHANGE_FLAGS, 1, UIMAP_FLAG_FLAGGED, 0, UINT64_MAX);
	h_msg(&h, STORE_CHANGE_FLAGS, 1, 0, 0);
	check_refused(&h, 4, "FLAGS modseq 2^64-1");
	h_base(&h);
	h_msg_modseq(&h, STORE_CHANGE_APPEND, 2, 0, 0, (uint64_t)INT64_MAX + 1);
	check_refused(&h, 4, "APPEND modseq 2^63");
	h_base(&h);
	h_msg_modseq(&h, STORE_CHANGE_EXPUNGE, 1, 0, 0, UINT64_MAX);
	check_refused(&h, 4, "EXPUNGE modseq 2^64-1");
	/* a COPY whose source is not there as recorded (message 1 is 3 bytes) */
	h_base(&h);
	h_copy(&h, 2, "INBOX", 7, 1, 3);   /* the one that applies */
	h_copy(&h, 3, "INBOX", 7, 9, 3);
	check_refused(&h, 5, "COPY of a missing UID");
	h_base(&h);
	h_copy(&h, 2, "INBOX", 8, 1, 3);
	check_refused(&h, 4, "COPY from another UIDVALIDITY");
	h_base(&h);
	h_copy(&h, 2, "INBOX", 7, 1, 4);
	check_refused(&h, 4, "COPY of another size");
	h_base(&h);
	h_copy(&h, 2, "Nowhere", 7, 1, 3);
	check_refused(&h, 4, "COPY from a missing mailbox");
	h_base(&h);
	h_msg(&h, STORE_CHANGE_EXPUNGE, 1, 0, 0);
	h_copy(&h, 2, "INBOX", 7, 1, 3);
	check_refused(&h, 5, "COPY of an expunged message");
}

Test(journal, rename_inbox_onto_itself_refused, .timeout = 30)
{
	struct hostile h;
	struct buf b = { 0 };

	/* RENAME INBOX to INBOX used to copy INBOX into itself while walking it */
	h_base(&h);
	buf_append_lstr(&b, "u");
	buf_append_lstr(&b, "INBOX");
	buf_append_lstr(&b, "INBOX");
	buf_append_u32(&b, 7);
	h_rec(&h, STORE_CHANGE_MAILBOX_RENAME, &b);
	buf_free(&b);
	check_refused(&h, 4, "RENAME INBOX INBOX");
}
