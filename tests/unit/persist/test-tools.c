/* For tools (uimapctl): the read-only load of a data directory (persist_load_dir), the
   in-process snapshot that folds the journals (persist_snapshot_now), load progress. */
#include "persist-test.h"

#include <dirent.h>
#include "persist/format.h"

/* The directory's file names, sorted, one per line (free() it). */
static char *listing(const char *dir)
{
	struct t_dump d = { 0 };
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	cr_assert_geq(n, 0);
	t_dumpf(&d, "%s", "");
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.')
			t_dumpf(&d, "%s\n", names[i]->d_name);
		free(names[i]);
	}
	free(names);
	return d.text;
}

static int count_journals(const char *dir)
{
	char *l = listing(dir);
	int n = 0;

	for (char *p = l; (p = strstr(p, "journal.")) != NULL; p++)
		n++;
	free(l);
	return n;
}

struct calls {
	unsigned n;
	uint64_t last_done, last_total;
	bool saw_snapshot, saw_journal;
};

static void on_progress(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	struct calls *c = ctx;

	cr_assert_leq(done, total);
	c->n++;
	c->last_done = done;
	c->last_total = total;
	c->saw_snapshot |= strcmp(what, "snapshot") == 0;
	c->saw_journal |= strcmp(what, "journal") == 0;
}

Test(tools, load_dir_reads_what_open_loads_and_writes_nothing)
{
	char *dir = t_tmpdir(), *want, *got, *before, *after, *report = NULL;
	struct uimap_store *s = t_store(), *s2 = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	struct persist_load_stats st;
	struct calls calls = { 0 };
	struct persist_progress pg = { on_progress, &calls };
	const char *error = NULL;

	for (unsigned u = 0; u < 3; u++)
		t_fill_user(s, u, 0);
	cr_assert_eq(persist_snapshot_start(p, NULL), 0);
	cr_assert_eq(persist_snapshot_wait(p, &error), 1, "%s", error);
	t_fill_user(s, 7, 200000);
	cr_assert_eq(persist_journal_sync(p), 0);
	want = t_dump(s);
	before = listing(dir);
	/* the directory is locked by p: a tool still reads it */
	cr_assert_eq(persist_load_dir(s2, dir, false, &pg, &st, &report, &error), 0, "%s", error);
	got = t_dump(s2);
	t_assert_same(want, got, "persist_load_dir");
	after = listing(dir);
	cr_assert_str_eq(before, after, "nothing written");
	cr_assert_null(report);
	cr_assert_eq(st.snapshot_version, SNAP_VERSION);
	cr_assert_gt(st.snapshot_created, 0);
	cr_assert_gt(st.snapshot_seq, 0);
	cr_assert_gt(st.journal_records, 0);
	cr_assert_eq(st.last_seq, persist_journal_seq(p));
	cr_assert_eq(st.users, 3, "in the snapshot");
	cr_assert(calls.saw_snapshot && calls.saw_journal);
	cr_assert_eq(calls.last_done, calls.last_total, "the last call is at the end");
	persist_close(&p);
	uimap_store_free(&s);
	uimap_store_free(&s2);
	free(want);
	free(got);
	free(before);
	free(after);

	/* a flipped byte in the snapshot: the file and the offset */
	char path[4096];
	size_t len;

	snprintf(path, sizeof(path), "%s/snapshot.uimap", dir);
	unsigned char *data = t_read_file(path, &len);

	data[len / 2] ^= 0x40;
	t_write_file(path, data, len);
	free(data);
	s2 = t_store();
	cr_assert_eq(persist_load_dir(s2, dir, false, NULL, &st, &report, &error), -EBADMSG);
	cr_assert_neq(strstr(error, "snapshot.uimap"), NULL, "%s", error);
	cr_assert_neq(strstr(error, "offset"), NULL, "%s", error);
	uimap_store_free(&s2);
	/* with ignore: what verified, and the report */
	s2 = t_store();
	cr_assert_eq(persist_load_dir(s2, dir, true, NULL, &st, &report, &error), 0, "%s", error);
	cr_assert_not_null(report);
	cr_assert_neq(strstr(report, "offset"), NULL, "%s", report);
	free(report);
	uimap_store_free(&s2);

	s2 = t_store();
	cr_assert_eq(persist_load_dir(s2, "/nonexistent/uimap", false, NULL, &st, NULL, &error),
		     -ENOENT);
	uimap_store_free(&s2);
	t_rmdir(dir);
}

Test(tools, snapshot_now_folds_the_journals)
{
	char *dir = t_tmpdir(), *want, *got;
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	struct persist_load_stats st;
	const char *error = NULL;

	for (unsigned u = 0; u < 4; u++)
		t_fill_user(s, u, u == 2 ? 100000 : 0);
	/* records buffered and not yet written are in the snapshot too */
	cr_assert_eq(persist_snapshot_now(p, &error), 0, "%s", error);
	cr_assert_eq(count_journals(dir), 1, "one fresh journal, as after a server's snapshot");
	cr_assert_eq(persist_journal_durable_seq(p), persist_journal_seq(p));
	t_fill_user(s, 9, 0);
	cr_assert_eq(persist_journal_sync(p), 0);
	want = t_dump(s);
	persist_close(&p);
	uimap_store_free(&s);

	s = t_store();
	cr_assert_eq(persist_load_dir(s, dir, false, NULL, &st, NULL, &error), 0, "%s", error);
	got = t_dump(s);
	t_assert_same(want, got, "snapshot + the journal after it");
	cr_assert_eq(st.users, 4);
	cr_assert_gt(st.journal_records, 0);
	free(got);
	uimap_store_free(&s);

	/* without a journal (offline import): only the snapshot is left */
	s = t_store();
	p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_OFF);
	t_fill_user(s, 11, 0);
	free(want);
	want = t_dump(s);
	cr_assert_eq(persist_snapshot_now(p, &error), 0, "%s", error);
	persist_close(&p);
	uimap_store_free(&s);
	cr_assert_eq(count_journals(dir), 0);
	s = t_store();
	cr_assert_eq(persist_load_dir(s, dir, false, NULL, &st, NULL, &error), 0, "%s", error);
	got = t_dump(s);
	t_assert_same(want, got, "snapshot only");
	cr_assert_eq(st.journal_files, 0);
	free(got);
	free(want);
	uimap_store_free(&s);

	/* and a server opening it goes on from there */
	s = t_store();
	p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	t_fill_user(s, 12, 0);
	t_reopen_same(&s, &p, dir, UIMAP_JOURNAL_FSYNC_ALWAYS, "reopened");
	persist_close(&p);
	uimap_store_free(&s);
	t_rmdir(dir);
}
