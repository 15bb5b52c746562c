/* Writes the seed corpus of fuzz-persist: real snapshot and journal files produced by
   src/persist from a small store, in the harness's input format (see fuzz-persist.c).
   Usage: gen-persist-seeds OUTDIR */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "persist/persist-private.h"
#include "uimap/store.h"

static void die(const char *what, int r, const char *error)
{
	fprintf(stderr, "gen-persist-seeds: %s: %d %s\n", what, r, error != NULL ? error : "");
	exit(1);
}

static unsigned char *slurp(const char *dir, const char *name, size_t *len_r)
{
	char path[512];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die(path, -errno, strerror(errno));
	unsigned char *d = malloc((size_t)st.st_size + 1);

	if (read(fd, d, (size_t)st.st_size) != st.st_size)
		die(path, -EIO, "short read");
	close(fd);
	*len_r = (size_t)st.st_size;
	return d;
}

static void put(const char *dir, const char *name, const void *d, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, d, len) != (ssize_t)len)
		die(path, -errno, strerror(errno));
	close(fd);
}

/* One seed: cfg, split, then the two files back to back. */
static void seed(const char *out, const char *name, uint8_t cfg, const unsigned char *a,
		 size_t alen, const unsigned char *b, size_t blen)
{
	unsigned char *d = malloc(3 + alen + blen);

	d[0] = cfg;
	d[1] = (unsigned char)(alen & 0xff);
	d[2] = (unsigned char)(alen >> 8);
	memcpy(d + 3, a, alen);
	if (blen > 0)
		memcpy(d + 3 + alen, b, blen);
	put(out, name, d, 3 + alen + blen);
	free(d);
}

static struct persist *open_dir(struct uimap_store **store, const char *dir)
{
	struct persist_settings set = { .data_dir = dir,
					.journal_fsync = UIMAP_JOURNAL_FSYNC_PERIODIC };
	struct persist *p = NULL;
	const char *error = NULL;
	int r;

	if (uimap_store_memory_new(NULL, store) < 0)
		die("store", -ENOMEM, NULL);
	r = persist_open(*store, &set, &p, &error);
	if (r < 0)
		die("persist_open", r, error);
	return p;
}

static void append(struct uimap_store_user *user, const char *box, const char *text,
		   uint32_t flags, const char *const *kw, size_t n_kw)
{
	struct uimap_blob *blob = uimap_blob_new_copy(text, strlen(text));
	struct uimap_append msg = { .blob = blob, .system_flags = flags, .keywords = kw,
				    .n_keywords = n_kw, .internaldate = 1700000000,
				    .tz_minutes = -330 };
	struct uimap_append_result res;
	int r = user->vt->mailbox_append(user, box, &msg, &res);

	if (r < 0)
		die("append", r, box);
	uimap_blob_unref(&blob);
}

/* Changes of every record type: mailboxes, subscriptions, keywords, flags, expunge,
   COPY, RENAME, DELETE, RENAME INBOX. */
static void fill(struct uimap_store *store, const char *name, int variant)
{
	static const char *const kws[] = { "$Forwarded", "Work" };
	struct uimap_store_user *user = NULL;
	struct uimap_store_view *v = NULL;
	struct uimap_select_info info;
	struct uimap_copy_result cres;
	struct uimap_sync_callbacks no_cb = { 0 };
	struct uimap_flags f = { .system = UIMAP_FLAG_DELETED };
	struct uimap_range seqs = { 1, 2 };

	if (store->vt->user_open(store, name, &user) < 0)
		die("user_open", -1, name);
	if (variant == 0) {
		user->vt->mailbox_create(user, "Projects/2024", 0);
		user->vt->mailbox_create(user, "&AOk-t&AOk-", UIMAP_SPECIAL_ARCHIVE);
		user->vt->mailbox_subscribe(user, "Projects", true);
		user->vt->mailbox_subscribe(user, "Gone/Away", true);
	}
	append(user, "INBOX", "From: a@b\r\nSubject: one\r\n\r\nbody 1\r\n", UIMAP_FLAG_SEEN,
	       NULL, 0);
	append(user, "INBOX", "Subject: two\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
	       "caf\xc3\xa9\r\n", 0, kws, 2);
	append(user, "INBOX", "", UIMAP_FLAG_DRAFT, NULL, 0);
	if (user->vt->view_open(user, "INBOX", false, &v, &info) < 0)
		die("view_open", -1, NULL);
	int later = v->vt->view_keyword_index(v, "Later", true);
	struct uimap_flags kf = { .system = UIMAP_FLAG_ANSWERED, .keywords = 1ull << later };

	v->vt->view_store_flags(v, 1, UIMAP_FLAGS_ADD, &kf, 0, NULL);
	v->vt->view_store_flags(v, info.exists, UIMAP_FLAGS_SET, &f, 0, NULL);
	v->vt->view_expunge(v, NULL, 0);
	v->vt->view_sync(v, UIMAP_SYNC_EXPUNGES, &no_cb, NULL);
	v->vt->view_copy(v, &seqs, 1, variant == 0 ? "Projects" : "Trash", false, &cres);
	uimap_store_view_close(&v);
	if (variant == 0) {
		user->vt->mailbox_rename(user, "Projects", "Attic/Projects");
		user->vt->mailbox_delete(user, "Drafts");
	} else {
		user->vt->mailbox_rename(user, "INBOX", "Old/Inbox");
		user->vt->mailbox_subscribe(user, "Gone/Away", false);
	}
	uimap_store_user_close(&user);
}

static void run(const char *cmd)
{
	if (system(cmd) != 0)
		die(cmd, -1, NULL);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/uimap-seeds-XXXXXX", d1[64], d2[64], d3[64], cmd[256], path[128];
	struct uimap_store *s1, *s2, *s3;
	struct persist *p;
	const char *error = NULL;
	char j1[64], j2[64];
	size_t snap_len, j1_len, j2_len, j3_len;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	log_current()->level = UIMAP_LOG_ERROR;
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", -errno, strerror(errno));
	snprintf(d1, sizeof(d1), "%s/1", dir);
	snprintf(d2, sizeof(d2), "%s/2", dir);
	snprintf(d3, sizeof(d3), "%s/3", dir);
	jnl_name(1, j1);
	jnl_name(2, j2);

	/* 1: a journal of everything, then a snapshot of the result */
	p = open_dir(&s1, d1);
	fill(s1, "alice@example.org", 0);
	fill(s1, "bob", 1);
	uint64_t seq = persist_journal_seq(p);

	if ((r = persist_journal_sync(p)) < 0)
		die("sync", r, NULL);
	persist_close(&p);
	snprintf(path, sizeof(path), "%s/snap", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/snap/%s", dir, SNAP_FILE);
	if ((r = persist_snapshot_write(s1, path, seq, 1, &error)) < 0)
		die("snapshot", r, error);
	uimap_store_free(&s1);
	snprintf(path, sizeof(path), "%s/snap", dir);
	unsigned char *snap = slurp(path, SNAP_FILE, &snap_len);
	unsigned char *jn1 = slurp(d1, j1, &j1_len);

	/* 2: the snapshot loaded, more changes journaled (journal 1 of that directory) */
	mkdir(d2, 0700);
	put(d2, SNAP_FILE, snap, snap_len);
	p = open_dir(&s2, d2);
	fill(s2, "carol", 1);
	persist_journal_sync(p);
	persist_close(&p);
	uimap_store_free(&s2);
	unsigned char *jn2 = slurp(d2, j1, &j2_len);

	/* 3: journal 1 replayed, more changes in journal 2 */
	mkdir(d3, 0700);
	put(d3, j1, jn1, j1_len);
	p = open_dir(&s3, d3);
	fill(s3, "dave", 1);
	persist_journal_sync(p);
	persist_close(&p);
	uimap_store_free(&s3);
	unsigned char *jn3 = slurp(d3, j2, &j3_len);

	seed(argv[1], "snapshot", 0x00, snap, snap_len, NULL, 0);
	seed(argv[1], "snapshot-fix-ignore", 0x03, snap, snap_len, NULL, 0);
	seed(argv[1], "journal", 0x04, jn1, j1_len, NULL, 0);
	seed(argv[1], "journal-fix", 0x06, jn1, j1_len, NULL, 0);
	seed(argv[1], "snapshot-journal", 0x0a, snap, snap_len, jn2, j2_len);
	seed(argv[1], "two-journals", 0x0e, jn1, j1_len, jn3, j3_len);
	free(snap);
	free(jn1);
	free(jn2);
	free(jn3);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	run(cmd);
	return 0;
}
