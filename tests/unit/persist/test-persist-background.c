/* Background snapshot: users encoded in slices while changes go on; the snapshot plus
   the journal after it is the latest state. */
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

/* Mutate users while a background snapshot encodes them between the changes: the
   one being encoded, ones already written and ones still to come. */
static void t_mutate_round(struct uimap_store *s, unsigned round)
{
	char name[64], subject[64];
	struct uimap_store_user *user;
	struct uimap_store_view *v = NULL;
	struct uimap_select_info info;

	snprintf(name, sizeof(name), "user%03u@example.org", (round * 7) % 20);
	snprintf(subject, sizeof(subject), "during %u", round);
	user = t_user(s, name);
	t_append(user, "INBOX", subject, 0);
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
	t_store_flags(v, 1, UIMAP_FLAGS_SET, UIMAP_FLAG_DELETED, 0);
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 1);
	uimap_store_view_close(&v);
	uimap_store_user_close(&user);
}

Test(background, snapshot_plus_journal_is_the_latest_state)
{
	char *dir = t_tmpdir(), path[600], *final, *got;
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	struct uimap_store_user *user;
	const char *error = NULL;
	uint64_t pause_us = 0;
	unsigned steps = 0;
	int r;

	/* Enough data that encoding takes several slices. */
	for (unsigned u = 0; u < 20; u++) {
		t_fill_user(s, u, u < 4 ? (size_t)8 << 20 : 0);
		if (u % 2 == 1) {
			char name[64];
			struct uimap_store_user *many;

			snprintf(name, sizeof(name), "user%03u@example.org", u);
			many = t_user(s, name);
			for (unsigned i = 0; i < 1500; i++)
				t_append(many, "INBOX", "many", 0);
			uimap_store_user_close(&many);
		}
	}
	cr_assert_eq(t_journals(dir), 2, "the journal and the one made ahead");
	cr_assert_eq(persist_snapshot_start(p, &pause_us), 0);
	cr_assert(persist_snapshot_running(p));
	/* the snapshot starts the next journal (the one made ahead) */
	cr_assert_eq(t_journals(dir), 2);
	/* Mutate everything right away: append, flags, expunge, delete, rename. */
	user = t_user(s, "user000@example.org");
	cr_assert_eq(user->vt->mailbox_delete(user, "Archive"), 0);
	cr_assert_eq(user->vt->mailbox_rename(user, "Projects", "P2"), 0);
	uimap_store_user_close(&user);
	/* then a change between every slice */
	for (unsigned round = 0; persist_snapshot_step(p); round++) {
		t_mutate_round(s, round);
		steps++;
	}
	user = t_user(s, "newcomer");
	t_append(user, "INBOX", "hello", 0);
	uimap_store_user_close(&user);
	t_mutate_round(s, 1000);
	r = persist_snapshot_wait(p, &error);
	cr_assert_eq(r, 1, "%s", error);
	cr_assert(!persist_snapshot_running(p));
	cr_assert_eq(t_journals(dir), 2, "the journal the snapshot covers was removed; the "
		     "writer made the next one ahead");
	cr_assert_gt(steps, 0, "encoded in several slices (%llu slices, %llu restarts)", (unsigned long long)persist_metrics(p)->snapshot_slice.count, (unsigned long long)persist_metrics(p)->snapshot_restarts);
	final = t_dump(s);
	cr_log_info("start: %llu us; %u slices with changes between them",
		    (unsigned long long)pause_us, steps);

	/* The snapshot alone loads, with every user that was there at the start. */
	struct uimap_store *b = t_store();

	snprintf(path, sizeof(path), "%s/snapshot.uimap", dir);
	cr_assert_eq(persist_snapshot_load(b, path, false, NULL, NULL, &error), 0, "%s", error);
	got = t_dump(b);
	cr_assert_not_null(strstr(got, "user019@example.org"));
	cr_assert_null(strstr(got, "newcomer"), "created after the snapshot encoded its users");
	free(got);
	uimap_store_free(&b);

	/* Snapshot + journal is the latest state: nothing twice, nothing missing. */
	persist_close(&p);
	uimap_store_free(&s);
	s = t_store();
	p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	got = t_dump(s);
	t_assert_same(final, got, "snapshot + journal = now");
	free(got);
	persist_close(&p);
	uimap_store_free(&s);
	free(final);
	t_rmdir(dir);
}

Test(background, failed_snapshot_keeps_journals)
{
	char *dir = t_tmpdir(), path[600];
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
	cr_assert_eq(t_journals(dir), 3, "both journals kept (and the one made ahead)");
	cr_assert_not_null(strstr(error, "snapshot.uimap.tmp"), "%s", error);
	cr_assert_eq(rmdir(path), 0);
	t_reopen_same(&s, &p, dir, UIMAP_JOURNAL_FSYNC_ALWAYS, "journals kept after a failed snapshot");
	persist_close(&p);
	uimap_store_free(&s);
	t_rmdir(dir);
}

/* The user being encoded changes between two slices: its encoding begins again, and
   the snapshot plus the journal is still exactly the store. */
Test(background, a_change_to_the_user_being_encoded_restarts_it)
{
	char *dir = t_tmpdir();
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	struct uimap_store_user *user = t_user(s, "big");
	const char *error = NULL;

	for (unsigned i = 0; i < 30000; i++)
		t_append(user, "INBOX", "m", 0);
	uimap_store_user_close(&user);
	cr_assert_eq(persist_snapshot_start(p, NULL), 0);
	cr_assert(persist_snapshot_step(p), "30,000 messages take more than one slice");
	user = t_user(s, "big");
	t_append(user, "INBOX", "during", 0);
	uimap_store_user_close(&user);
	while (persist_snapshot_step(p))
		;
	cr_assert_eq(persist_snapshot_wait(p, &error), 1, "%s", error);
	cr_assert_geq(persist_metrics(p)->snapshot_restarts, 1);
	t_reopen_same(&s, &p, dir, UIMAP_JOURNAL_FSYNC_PERIODIC, "snapshot + journal = now");
	/* "during" is in the snapshot (the user was encoded again after it), so its
	   journal record was skipped, not applied twice */
	cr_assert_eq(persist_load_stats(p)->journal_records, 0);
	persist_close(&p);
	uimap_store_free(&s);
	t_rmdir(dir);
}

/* A snapshot read with pread (no mmap: the fallback) loads what the mapped one does. */
Test(background, read_and_mapped_loads_agree)
{
	char *dir = t_tmpdir(), path[600], *mapped, *read;
	struct uimap_store *s = t_store(), *b;
	struct persist *p;
	const char *error = NULL;

	setenv("UIMAP_FAILPOINTS", "snapshot-mmap=EIO+1", 1);   /* the second load reads */
	p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	for (unsigned u = 0; u < 6; u++)
		t_fill_user(s, u, u < 2 ? (size_t)3 << 20 : 0);
	cr_assert_eq(persist_snapshot_now(p, &error), 0, "%s", error);
	persist_close(&p);
	uimap_store_free(&s);
	snprintf(path, sizeof(path), "%s/snapshot.uimap", dir);
	b = t_store();
	cr_assert_eq(persist_snapshot_load(b, path, false, NULL, NULL, &error), 0, "%s", error);
	mapped = t_dump(b);
	uimap_store_free(&b);
	b = t_store();
	cr_assert_eq(persist_snapshot_load(b, path, false, NULL, NULL, &error), 0, "%s", error);
	read = t_dump(b);
	uimap_store_free(&b);
	t_assert_same(mapped, read, "mapped = read");
	free(mapped);
	free(read);
	t_rmdir(dir);
}

/* A big snapshot is checked ahead on several threads: a flipped byte in the message
   bytes is still refused, naming the file and the section's offset. */
Test(background, corruption_found_by_the_verifier_threads)
{
	char *dir = t_tmpdir(), path[600];
	struct uimap_store *s = t_store(), *b;
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	const char *error = NULL;
	struct stat st;
	int fd;

	for (unsigned u = 0; u < 4; u++)
		t_fill_user(s, u, (size_t)6 << 20);
	cr_assert_eq(persist_snapshot_now(p, &error), 0, "%s", error);
	persist_close(&p);
	uimap_store_free(&s);
	snprintf(path, sizeof(path), "%s/snapshot.uimap", dir);
	b = t_store();
	cr_assert_eq(persist_snapshot_load(b, path, false, NULL, NULL, &error), 0, "%s", error);
	uimap_store_free(&b);
	/* a byte in the middle of the file: message bytes */
	fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_gt(st.st_size, 16 << 20, "big enough for the verifier threads");
	unsigned char c;
	cr_assert_eq(pread(fd, &c, 1, st.st_size / 2), 1);
	c ^= 0x20;
	cr_assert_eq(pwrite(fd, &c, 1, st.st_size / 2), 1);
	close(fd);
	b = t_store();
	cr_assert_eq(persist_snapshot_load(b, path, false, NULL, NULL, &error), -EBADMSG);
	cr_assert_not_null(strstr(error, "snapshot.uimap"), "%s", error);
	cr_assert_not_null(strstr(error, "checksum mismatch"), "%s", error);
	cr_assert_not_null(strstr(error, "offset"), "%s", error);
	uimap_store_free(&b);
	t_rmdir(dir);
}

/* Shutdown gives a running snapshot up: no temporary file is left, the journals
   stay, and what they hold with the previous snapshot is the store. */
Test(background, cancelled_snapshot_leaves_the_previous_one_and_the_journals)
{
	char *dir = t_tmpdir(), path[600];
	struct uimap_store *s = t_store();
	struct persist *p = t_open(s, dir, UIMAP_JOURNAL_FSYNC_PERIODIC);
	struct uimap_store_user *user = t_user(s, "big");
	const char *error = NULL;
	struct stat st;

	for (unsigned i = 0; i < 30000; i++)
		t_append(user, "INBOX", "m", 0);
	uimap_store_user_close(&user);
	cr_assert_eq(persist_snapshot_now(p, &error), 0, "%s", error);
	user = t_user(s, "big");
	t_append(user, "INBOX", "after the first snapshot", 0);
	uimap_store_user_close(&user);
	cr_assert_eq(persist_snapshot_start(p, NULL), 0);
	cr_assert(persist_snapshot_step(p), "30,000 messages take more than one slice");
	cr_assert_eq(persist_snapshot_cancel(p, &error), -ECANCELED);
	cr_assert_not_null(strstr(error, "snapshot.uimap.tmp"), "%s", error);
	cr_assert(!persist_snapshot_running(p));
	snprintf(path, sizeof(path), "%s/snapshot.uimap.tmp", dir);
	cr_assert_neq(stat(path, &st), 0, "the temporary was removed");
	t_reopen_same(&s, &p, dir, UIMAP_JOURNAL_FSYNC_PERIODIC, "previous snapshot + journals = the store");
	cr_assert_eq(persist_load_stats(p)->journal_records, 1, "the append after it replayed");
	persist_close(&p);
	uimap_store_free(&s);
	t_rmdir(dir);
}
