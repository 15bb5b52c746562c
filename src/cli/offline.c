/* uimapctl offline import / export: the data directory loaded with the persistence
   code (snapshot + journal replay), changed through the store's primitives and saved
   as a fresh snapshot, as a uimapd would save it. */
#include "cli/offline.h"
#include "cli/progress.h"
#include "cli/source.h"

#include "core/log.h"
#include "persist/persist.h"
#include "store/memstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void offline_fix_owner(const char *data_dir)
{
	struct stat dst, st;
	struct dirent *e;
	int fd;
	DIR *d;

	if (geteuid() != 0 || stat(data_dir, &dst) < 0 || (d = opendir(data_dir)) == NULL)
		return;
	fd = dirfd(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || (st.st_uid == dst.st_uid && st.st_gid == dst.st_gid))
			continue;
		if (fchownat(fd, e->d_name, dst.st_uid, dst.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			fprintf(stderr, "uimapctl: warning: %s/%s: chown: %s\n", data_dir,
				e->d_name, strerror(errno));
	}
	closedir(d);
}

static int fail(const char *what, const char *why)
{
	fprintf(stderr, "uimapctl: %s%s%s\n", what, why != NULL ? ": " : "", why != NULL ? why : "");
	return 1;
}

/* HIGHESTMODSEQ for a mailbox that keeps a source's UIDVALIDITY: the clock in
   microseconds (about 2^51 now, far below 2^63). Above any counter a server reaches,
   and above what an earlier import's mailbox reached since (a change takes longer
   than a microsecond). */
static uint64_t modseq_floor(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Message i of src into box. 0 or -1 with err. */
static int add_one(struct source *src, size_t i, struct mailbox *box, bool keep,
		   struct msg *m, size_t *bad_keywords, char *err, size_t size)
{
	struct uimap_blob *blob;
	uint32_t uid;
	int r;

	if (source_read(src, i, m, err, size) < 0)
		return -1;
	*bad_keywords += m->bad_keywords;
	blob = uimap_blob_new_adopt(m->data, m->len);
	if (blob == NULL) {
		snprintf(err, size, "out of memory");
		return -1;
	}
	m->data = NULL;   /* the blob's now */
	r = store_import_append(box, blob, (uint8_t)m->flags, (const char *const *)m->keywords,
				m->n_keywords, m->date != 0 ? m->date : (int64_t)time(NULL), 0,
				keep ? m->uid : 0, &uid);
	uimap_blob_unref(&blob);
	if (r < 0) {
		snprintf(err, size, "message %zu (UID %u): %s", i + 1, m->uid,
			 r == -ENOSPC ? "too many keywords (64 in a mailbox at most) or UIDs" :
			 r == -EINVAL ? "UIDs out of order" : strerror(-r));
		return -1;
	}
	return 0;
}

int offline_import(const struct import_args *a)
{
	struct uimap_store *store = NULL;
	struct persist *p = NULL;
	struct source src;
	struct progress pg;
	struct persist_progress pp = { progress_persist, &pg };
	struct persist_settings set = { .data_dir = a->data_dir,
					.journal_fsync = UIMAP_JOURNAL_FSYNC_OFF,
					.progress = &pp };
	struct mailbox *box;
	struct msg m = { 0 };
	const char *error = NULL;
	char err[1024];
	bool keep = false;
	size_t bad_keywords = 0;
	int ret = 1, r;

	if (source_open(a->source, &src, err, sizeof(err)) < 0)
		return fail(err, NULL);
	if (a->keep_uids && src.uidvalidity == 0) {
		fail(a->source, "no UIDs to keep (no dovecot-uidlist, no X-IMAPbase header); "
		     "leave out --keep-uids to number the messages anew");
		goto out;
	}
	if (uimap_store_memory_new(NULL, &store) < 0) {
		fail("out of memory", NULL);
		goto out;
	}
	progress_start(&pg, "load", 0, true);
	r = persist_open(store, &set, &p, &error);
	progress_end(&pg);
	if (r == -EBUSY) {
		fprintf(stderr, "uimapctl: %s is in use by a running uimapd: stop it first, or "
			"import through it (--host/--port instead of --data-dir)\n", a->data_dir);
		goto out;
	}
	if (r < 0) {
		fail(error, NULL);
		goto out;
	}
	r = store_import_mailbox((struct memstore *)store, a->user, a->mailbox, src.uidvalidity,
				 src.n > 0 ? src.items[0].uid : src.uidnext, modseq_floor(), &box,
				 &keep);
	if (r < 0) {
		fprintf(stderr, "uimapctl: mailbox '%s' of %s: %s\n", a->mailbox, a->user,
			r == -EINVAL ? "not a valid mailbox name" : strerror(-r));
		goto out;
	}
	if (a->keep_uids && !keep) {
		fprintf(stderr, "uimapctl: mailbox '%s' of %s holds %u message(s) (or UIDs from "
			"%u on were used): the source's UIDs cannot be kept; import into a new or "
			"empty mailbox, or leave out --keep-uids to number the messages on\n",
			a->mailbox, a->user, box->n_live, src.n > 0 ? src.items[0].uid : 0);
		goto out;
	}
	progress_start(&pg, "import", src.n, false);
	for (size_t i = 0; i < src.n; i++) {
		if (add_one(&src, i, box, keep, &m, &bad_keywords, err, sizeof(err)) < 0) {
			progress_end(&pg);
			fprintf(stderr, "uimapctl: %s: %s (nothing was imported)\n", a->source, err);
			goto out;
		}
		progress_set(&pg, i + 1);
	}
	progress_end(&pg);
	if (keep)
		store_import_uidnext(box, src.uidnext);
	r = persist_snapshot_now(p, &error);
	if (r < 0) {
		fprintf(stderr, "uimapctl: %s (nothing was imported)\n", error);
		goto out;
	}
	persist_close(&p);
	offline_fix_owner(a->data_dir);
	if (bad_keywords > 0)
		fprintf(stderr, "uimapctl: warning: %zu keyword(s) left out: not IMAP atoms\n",
			bad_keywords);
	printf("%zu message(s) imported into %s of %s (UIDVALIDITY %u, %s)\n", src.n,
	       a->mailbox, a->user, box->uidvalidity,
	       keep ? (src.renumbered > 0 ? "UIDs kept; some had none and got new ones"
					  : "UIDs kept")
		    : "new UIDs");
	ret = 0;
out:
	persist_close(&p);
	msg_clear(&m);
	uimap_store_free(&store);
	source_close(&src);
	return ret;
}

int offline_export(const struct import_args *a)
{
	struct uimap_store *store = NULL;
	struct uimap_store_user *user = NULL;
	struct uimap_store_view *view = NULL;
	struct uimap_select_info info;
	struct persist_load_stats stats;
	struct progress pg;
	struct persist_progress pp = { progress_persist, &pg };
	struct sink *sink = NULL;
	struct msg m = { 0 };
	const char *error = NULL;
	char err[1024];
	size_t dropped = 0;
	uint32_t count = 0, n;
	int ret = 1, r;

	if (uimap_store_memory_new(NULL, &store) < 0)
		return fail("out of memory", NULL);
	progress_start(&pg, "load", 0, true);
	r = persist_load_dir(store, a->data_dir, false, &pp, &stats, NULL, &error);
	progress_end(&pg);
	if (r < 0) {
		fail(error, NULL);
		goto out;
	}
	if (store_find_user((struct memstore *)store, a->user) == NULL) {
		fprintf(stderr, "uimapctl: %s has no user '%s'\n", a->data_dir, a->user);
		goto out;
	}
	r = store->vt->user_open(store, a->user, &user);
	if (r == 0)
		r = user->vt->view_open(user, a->mailbox, true, &view, &info);
	if (r < 0) {
		fprintf(stderr, "uimapctl: mailbox '%s' of %s: %s\n", a->mailbox, a->user,
			r == -ENOENT ? "no such mailbox" : strerror(-r));
		goto out;
	}
	if (sink_open(&sink, a->source, a->maildir, info.uidvalidity, info.uidnext, err,
		      sizeof(err)) < 0) {
		fail(err, NULL);
		goto out;
	}
	n = view->vt->view_count(view);
	progress_start(&pg, "export", n, false);
	for (uint32_t seq = 1; seq <= n; seq++) {
		struct uimap_msg_info mi;

		msg_clear(&m);
		if (view->vt->view_msg(view, seq, &mi) < 0)
			break;
		m.flags = mi.flags.system & UIMAP_FLAGS_STORABLE;
		m.date = (int64_t)mi.internaldate;
		m.uid = mi.uid;
		for (unsigned k = 0; k < 64; k++) {
			const char *name = (mi.flags.keywords >> k) & 1
					   ? view->vt->view_keyword_name(view, k) : NULL;

			if (name != NULL && msg_add_keyword(&m, name, strlen(name)) < 0)
				goto out;
		}
		/* the blob's bytes, lent (the store keeps them) */
		m.data = (char *)mi.blob->data;
		m.len = mi.blob->size;
		r = sink_put(sink, &m, err, sizeof(err));
		m.data = NULL;
		if (r < 0) {
			progress_end(&pg);
			fail(err, NULL);
			goto out;
		}
		count++;
		progress_set(&pg, count);
	}
	progress_end(&pg);
	r = sink_close(&sink, &dropped, err, sizeof(err));
	if (r < 0) {
		fail(err, NULL);
		goto out;
	}
	if (dropped > 0)
		fprintf(stderr, "uimapctl: warning: %zu keyword use(s) not kept (a Maildir names "
			"at most 26 keywords)\n", dropped);
	printf("%u message(s) exported from %s\n", count, a->mailbox);
	ret = 0;
out:
	if (sink != NULL)
		(void)sink_close(&sink, NULL, err, sizeof(err));
	msg_clear(&m);
	uimap_store_view_close(&view);
	uimap_store_user_close(&user);
	uimap_store_free(&store);
	return ret;
}
