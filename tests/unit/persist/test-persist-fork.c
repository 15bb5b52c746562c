/* Background snapshot: the child saves the fork moment while the parent keeps changing. */
#include "persist-test.h"

#include <dirent.h>

/* How many journal files dir holds. */
static unsigned t_journals(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "journal", 7) == 0;
	closedir(d);
	return n;
}

Test(fork, snapshot_reflects_fork_moment)
{
	char *dir = t_tmpdir(), path[600], *at_fork, *final, *got;
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	struct uimap_store_user *user;
	struct uimap_store_view *v = NULL;
	struct uimap_select_info info;
	const char *error = NULL;
	uint64_t fork_us = 0;
	int r;

	/* Enough data that the child is still writing while the parent changes. */
	for (unsigned u = 0; u < 20; u++)
		t_fill_user(s, u, u < 4 ? (size_t)8 << 20 : 0);
	at_fork = t_dump(s);
	cr_assert_eq(t_journals(dir), 1);
	cr_assert_eq(persist_snapshot_start(p, &fork_us), 0);
	/* the snapshot starts the next journal */
	cr_assert_eq(t_journals(dir), 2);
	/* Mutate everything right away: append, flags, expunge, delete, rename. */
	user = t_user(s, "user000@example.org");
	t_append(user, "INBOX", "after fork", 0);
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
	t_store_flags(v, 1, UIMAP_FLAGS_SET, UIMAP_FLAG_DELETED, 0);
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 1);
	uimap_store_view_close(&v);
	cr_assert_eq(user->vt->mailbox_delete(user, "Archive"), 0);
	cr_assert_eq(user->vt->mailbox_rename(user, "Projects", "P2"), 0);
	uimap_store_user_close(&user);
	user = t_user(s, "newcomer");
	t_append(user, "INBOX", "hello", 0);
	uimap_store_user_close(&user);
	/* Not finished yet, most likely; then wait. */
	r = persist_snapshot_poll(p, &error);
	cr_assert(r == 0 || r == 1, "%d %s", r, error);
	if (r == 0)
		r = persist_snapshot_wait(p, &error);
	cr_assert_eq(r, 1, "%s", error);
	cr_assert_eq(t_journals(dir), 1, "the journal the snapshot covers was removed");
	final = t_dump(s);
	cr_log_info("fork pause: %llu us", (unsigned long long)fork_us);

	/* The snapshot alone is the fork moment. */
	struct uimap_store *b = t_store();

	snprintf(path, sizeof(path), "%s/snapshot.uimap", dir);
	cr_assert_eq(persist_snapshot_load(b, path, false, NULL, NULL, &error), 0, "%s", error);
	got = t_dump(b);
	t_assert_same(at_fork, got, "snapshot = fork moment");
	free(got);
	uimap_store_free(&b);

	/* Snapshot + journal is the latest state. */
	persist_close(&p);
	uimap_store_free(&s);
	s = t_store();
	p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	got = t_dump(s);
	t_assert_same(final, got, "snapshot + journal = now");
	free(got);
	persist_close(&p);
	uimap_store_free(&s);
	free(at_fork);
	free(final);
	t_rmdir(dir);
}

Test(fork, failed_snapshot_keeps_journals)
{
	char *dir = t_tmpdir(), path[600], *want, *got;
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	const char *error = NULL;

	for (unsigned u = 0; u < 3; u++)
		t_fill_user(s, u, 0);
	/* A directory where the temp file must go makes the child fail. */
	snprintf(path, sizeof(path), "%s/snapshot.uimap.tmp", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(persist_snapshot_start(p, NULL), 0);
	cr_assert_lt(persist_snapshot_wait(p, &error), 0);
	cr_assert_not_null(error);
	cr_assert_eq(t_journals(dir), 2, "both journals kept");
	cr_assert_not_null(strstr(error, "snapshot.uimap.tmp"), "%s", error);
	cr_assert_eq(rmdir(path), 0);
	want = t_dump(s);
	persist_close(&p);
	uimap_store_free(&s);
	s = t_store();
	p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	got = t_dump(s);
	t_assert_same(want, got, "journals kept after a failed snapshot");
	free(want);
	free(got);
	persist_close(&p);
	uimap_store_free(&s);
	t_rmdir(dir);
}
