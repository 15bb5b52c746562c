/* Helpers for the persistence tests: temp dirs, a canonical dump of a store, fillers. */
#ifndef TESTS_PERSIST_TEST_H
#define TESTS_PERSIST_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "persist/crc32c.h"
#include "persist/persist.h"
#include "store/memstore.h"
#include "uimap/store.h"

/* The corruption tests make the loader warn thousands of times. */
__attribute__((constructor)) static void t_quiet(void)
{
	log_current()->level = UIMAP_LOG_ERROR;
}

static inline char *t_tmpdir(void)
{
	char *dir = strdup("/tmp/uimap-persist-XXXXXX");

	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

static inline void t_rmdir(char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	free(dir);
}

static inline struct uimap_store *t_store(void)
{
	struct uimap_store *store = NULL;

	cr_assert_eq(uimap_store_memory_new(NULL, &store), 0);
	return store;
}

static inline struct uimap_store_user *t_user(struct uimap_store *store, const char *name)
{
	struct uimap_store_user *user = NULL;

	cr_assert_eq(store->vt->user_open(store, name, &user), 0);
	return user;
}

static inline uint32_t t_append_blob(struct uimap_store_user *user, const char *box,
				     struct uimap_blob *blob, uint32_t flags,
				     const char *const *kw, size_t n_kw)
{
	struct uimap_append msg = { .blob = blob, .system_flags = flags,
				    .keywords = kw, .n_keywords = n_kw,
				    .internaldate = 1700000000 + (time_t)(blob->size % 1000),
				    .tz_minutes = -330 };
	struct uimap_append_result res;
	int r = user->vt->mailbox_append(user, box, &msg, &res);

	cr_assert_eq(r, 0, "append to %s: %d", box, r);
	return res.uid;
}

static inline uint32_t t_append(struct uimap_store_user *user, const char *box, const char *text,
				uint32_t flags)
{
	struct uimap_blob *blob = uimap_blob_new_copy(text, strlen(text));
	uint32_t uid = t_append_blob(user, box, blob, flags, NULL, 0);

	uimap_blob_unref(&blob);
	return uid;
}

/* A canonical text of everything persistence must keep. */
struct t_dump {
	char *text;
	size_t len, cap;
};

static inline void t_dumpf(struct t_dump *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(d->text + d->len, d->cap - d->len, fmt, ap);
		va_end(ap);
		if ((size_t)n < d->cap - d->len)
			break;
		d->cap = d->cap == 0 ? 65536 : d->cap * 2 + (size_t)n;
		d->text = realloc(d->text, d->cap);
		cr_assert_not_null(d->text);
	}
	d->len += (size_t)n;
}

static inline void t_dump_user(struct t_dump *d, const struct store_user *user)
{
	t_dumpf(d, "user %s\n", user->name);
	for (size_t i = 0; i < user->n_subs; i++)
		t_dumpf(d, " sub %s\n", user->subs[i]);
	for (size_t i = 0; i < user->n_urlkeys; i++) {
		const unsigned char *k = user->urlkeys[i].key;
		t_dumpf(d, " urlkey %s %02x%02x..%02x\n", user->urlkeys[i].mailbox, k[0], k[1],
			k[UIMAP_URLAUTH_KEY_SIZE - 1]);
	}
	for (size_t b = 0; b < user->n_boxes; b++) {
		const struct mailbox *box = user->boxes[b];

		/* A \Noselect name's UIDVALIDITY is never seen (CREATE renews it). */
		t_dumpf(d, " box %s uv=%u next=%u modseq=%llu su=%u nosel=%d live=%u unseen=%u "
			"del=%u bytes=%llu\n", box->name, box->noselect ? 0 : box->uidvalidity,
			box->uidnext,
			(unsigned long long)box->modseq, box->special_use, box->noselect,
			box->n_live, box->n_unseen, box->n_deleted,
			(unsigned long long)box->live_bytes);
		for (unsigned k = 0; k < box->n_keywords; k++)
			t_dumpf(d, "  kw %u %s\n", k, box->keywords[k]);
		for (uint32_t i = 0; i < box->n_msgs; i++) {
			const struct store_msg *m = &box->msgs[i];

			if (m->state != MSG_LIVE)
				continue;
			t_dumpf(d, "  msg %u f=%u kw=%llx ms=%llu date=%lld tz=%d size=%zu crc=%08x\n",
				m->uid, m->flags, (unsigned long long)m->keywords,
				(unsigned long long)m->modseq, (long long)m->internaldate,
				m->tz_minutes, m->blob->size, crc32c(0, m->blob->data, m->blob->size));
		}
	}
}

/* Dump of the whole store (free() the result). */
static inline char *t_dump(struct uimap_store *store)
{
	struct memstore *ms = (struct memstore *)store;
	struct t_dump d = { 0 };

	t_dumpf(&d, "users %zu\n", ms->n_users);
	for (size_t u = 0; u < ms->n_users; u++)
		t_dump_user(&d, ms->users[u]);
	return d.text;
}

/* Report the first differing line of two dumps. */
static inline void t_assert_same(const char *want, const char *got, const char *what)
{
	if (strcmp(want, got) == 0)
		return;
	size_t i = 0, line = 1;

	while (want[i] != '\0' && want[i] == got[i]) {
		if (want[i] == '\n')
			line++;
		i++;
	}
	cr_assert_fail("%s: dumps differ at line %zu:\nwant: %.200s\ngot:  %.200s", what, line,
		       want + i, got + i);
}

static inline void t_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static inline unsigned char *t_read_file(const char *path, size_t *len_r)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	unsigned char *data;

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(fstat(fd, &st), 0);
	data = malloc((size_t)st.st_size + 1);
	cr_assert_eq(read(fd, data, (size_t)st.st_size), st.st_size);
	close(fd);
	*len_r = (size_t)st.st_size;
	return data;
}

static inline struct persist_settings t_settings(const char *dir, enum uimap_journal_fsync mode)
{
	return (struct persist_settings){ .data_dir = dir, .journal_fsync = mode };
}

static inline struct persist *t_open(struct uimap_store *store, const char *dir,
				     enum uimap_journal_fsync mode)
{
	struct persist_settings set = t_settings(dir, mode);
	struct persist *p = NULL;
	const char *error = NULL;
	int r = persist_open(store, &set, &p, &error);

	cr_assert_eq(r, 0, "persist_open: %d %s", r, error != NULL ? error : "");
	return p;
}

/* Close *p and its store *s, open dir again into a new store (*s, *p), and assert that
   it holds exactly what the old one held (what: the assertion's message). */
static inline void t_reopen_same(struct uimap_store **s, struct persist **p, const char *dir,
				 enum uimap_journal_fsync mode, const char *what)
{
	char *want = t_dump(*s), *got;

	persist_close(p);
	uimap_store_free(s);
	*s = t_store();
	*p = t_open(*s, dir, mode);
	got = t_dump(*s);
	t_assert_same(want, got, what);
	free(want);
	free(got);
}

#endif

static inline void t_store_flags(struct uimap_store_view *v, uint32_t seq,
				 enum uimap_flags_mode mode, uint32_t sys, uint64_t kw)
{
	struct uimap_flags f = { .system = sys, .keywords = kw };

	cr_assert_geq(v->vt->view_store_flags(v, seq, mode, &f, 0, NULL), 0);
}

/* Mutations touching every persisted field: nested and special-use mailboxes,
   keywords, flags, expunges (also of the last UID), COPY (shared blobs), empty and
   big messages, subscriptions, DELETE with children, RENAME and RENAME INBOX. */
static inline void t_fill_user(struct uimap_store *store, unsigned u, size_t big)
{
	char name[64];
	struct uimap_store_user *user;
	struct uimap_store_view *v = NULL;
	struct uimap_select_info info;
	struct uimap_copy_result cres;
	static const char *const kws[] = { "$Forwarded", "Work" };

	snprintf(name, sizeof(name), "user%03u@example.org", u);
	user = t_user(store, name);
	cr_assert_eq(user->vt->mailbox_create(user, "Projects/2024/Q1", 0), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "Archive/Old", UIMAP_SPECIAL_ARCHIVE), 0);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "Projects", true), 1);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "Nonexistent/Thing", true), 1);
	/* URLAUTH access keys (every third user) */
	if (u % 3 == 0) {
		unsigned char key[UIMAP_URLAUTH_KEY_SIZE];
		memset(key, (int)(u & 0xff), sizeof(key));
		key[UIMAP_URLAUTH_KEY_SIZE - 1] = 0x5a;
		cr_assert_eq(user->vt->urlauth_key_set(user, "INBOX", key), 0);
		cr_assert_eq(user->vt->urlauth_key_set(user, "Projects", key), 0);
	}
	if (big > 0) {
		char *data = malloc(big);

		for (size_t i = 0; i < big; i++)
			data[i] = (char)('a' + (i * 7 + u) % 26);
		struct uimap_blob *blob = uimap_blob_new_adopt(data, big);

		t_append_blob(user, "Archive", blob, UIMAP_FLAG_FLAGGED, NULL, 0);
		t_append_blob(user, "INBOX", blob, 0, NULL, 0);
		uimap_blob_unref(&blob);
	}
	for (unsigned i = 0; i < 12; i++) {
		char text[256];
		size_t len = (size_t)snprintf(text, sizeof(text),
					      "From: a@b\r\nSubject: %u/%u\r\n\r\nbody %u\r\n",
					      u, i, i * u);
		struct uimap_blob *blob = uimap_blob_new_copy(text, i == 5 ? 0 : len);

		t_append_blob(user, "INBOX", blob, i % 3 == 0 ? UIMAP_FLAG_SEEN : 0,
			      i % 4 == 1 ? kws : NULL, i % 4 == 1 ? 2 : 0);
		uimap_blob_unref(&blob);
	}
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
	int later = v->vt->view_keyword_index(v, "Later", true);

	cr_assert_geq(later, 0);
	t_store_flags(v, 2, UIMAP_FLAGS_ADD, UIMAP_FLAG_ANSWERED | UIMAP_FLAG_DRAFT,
		      1ull << later);
	t_store_flags(v, 3, UIMAP_FLAGS_SET, UIMAP_FLAG_DELETED, 0);
	t_store_flags(v, info.exists, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED, 0);
	t_store_flags(v, 7, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED, 0);
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 3);
	struct uimap_sync_callbacks no_cb = { 0 };
	struct uimap_range seqs = { 1, 4 };

	cr_assert_eq(v->vt->view_sync(v, UIMAP_SYNC_EXPUNGES, &no_cb, NULL), 0);

	cr_assert_eq(v->vt->view_copy(v, &seqs, 1, "Projects", false, &cres), 0);
	uimap_store_view_close(&v);
	if (u % 4 == 2)
		cr_assert_eq(user->vt->mailbox_rename(user, "Archive", "Attic/Stuff"), 0);
	if (u % 5 == 1)
		cr_assert_eq(user->vt->mailbox_delete(user, "Projects"), 0);
	if (u % 7 == 3)
		cr_assert_eq(user->vt->mailbox_rename(user, "INBOX", "Old/Inbox"), 0);
	uimap_store_user_close(&user);
}

static inline struct store_user *restore_user_find_for_test(struct memstore *ms, const char *name)
{
	for (size_t i = 0; i < ms->n_users; i++) {
		if (strcmp(ms->users[i]->name, name) == 0)
			return ms->users[i];
	}
	return NULL;
}
