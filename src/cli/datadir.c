/* uimapctl snapshot info | verify | compact: the persistence code's own loader and
   writer run on a data directory, no second parser. */
#include "cli/datadir.h"
#include "cli/offline.h"
#include "cli/progress.h"

#include "persist/persist.h"
#include "store/memstore.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "file: NAME BYTES" for each file of dir, in name order. */
static int print_files(const char *dir)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	if (d == NULL) {
		fprintf(stderr, "uimapctl: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			char **grown = realloc(names, cap * sizeof(*names));

			if (grown == NULL)
				break;
			names = grown;
		}
		if ((names[n] = strdup(e->d_name)) != NULL)
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			printf("file: %s %llu\n", names[i], (unsigned long long)st.st_size);
		free(names[i]);
	}
	free(names);
	return 0;
}

static void print_mailboxes(struct memstore *ms)
{
	for (size_t u = 0; u < ms->n_users; u++) {
		const struct store_user *user = ms->users[u];

		for (size_t b = 0; b < user->n_boxes; b++) {
			const struct mailbox *box = user->boxes[b];

			if (box->noselect)
				continue;
			/* the name last: it may hold spaces (a user name does not) */
			printf("mailbox: %s uidvalidity=%u uidnext=%u messages=%u bytes=%llu %s\n",
			       user->name, box->uidvalidity, box->uidnext, box->n_live,
			       (unsigned long long)box->live_bytes, box->name);
		}
	}
}

int datadir_info(const char *dir, bool mailboxes)
{
	struct uimap_store *store = NULL;
	struct uimap_store_stats ss;
	struct persist_load_stats st;
	struct progress pg;
	struct persist_progress pp = { progress_persist, &pg };
	const char *error = NULL;
	char *report = NULL;
	int r, ret = 0;

	printf("directory: %s\n", dir);
	if (print_files(dir) < 0)
		return 1;
	if (uimap_store_memory_new(NULL, &store) < 0)
		return 1;
	progress_start(&pg, "load", 0, true);
	r = persist_load_dir(store, dir, true, &pp, &st, &report, &error);
	progress_end(&pg);
	if (st.snapshot_version != 0) {
		time_t created = (time_t)st.snapshot_created;
		struct tm tm;
		char when[64];

		gmtime_r(&created, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("snapshot: format %u, created %s, %llu bytes, journal records up to %llu\n",
		       st.snapshot_version, when, (unsigned long long)st.snapshot_bytes,
		       (unsigned long long)st.snapshot_seq);
	} else {
		printf("snapshot: none\n");
	}
	printf("journal: %llu file(s), %llu bytes, %llu record(s) after the snapshot, "
	       "last record %llu\n", (unsigned long long)st.journal_files,
	       (unsigned long long)st.journal_bytes, (unsigned long long)st.journal_records,
	       (unsigned long long)st.last_seq);
	store->vt->stats(store, &ss);
	printf("users: %llu\nmailboxes: %llu\nmessages: %llu\nbytes: %llu\n",
	       (unsigned long long)ss.users, (unsigned long long)ss.mailboxes,
	       (unsigned long long)ss.messages, (unsigned long long)ss.message_bytes);
	if (mailboxes)
		print_mailboxes((struct memstore *)store);
	if (r < 0) {
		printf("damaged: %s\n", error);
		ret = 1;
	}
	for (char *line = report, *next; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		printf("damaged: %s\n", line);
		ret = 1;
	}
	free(report);
	uimap_store_free(&store);
	return ret;
}

int datadir_verify(const char *dir)
{
	struct uimap_store *store = NULL;
	struct uimap_store_stats ss;
	struct persist_load_stats st;
	struct progress pg;
	struct persist_progress pp = { progress_persist, &pg };
	const char *error = NULL;
	char *report = NULL;
	int r;

	if (uimap_store_memory_new(NULL, &store) < 0)
		return 1;
	progress_start(&pg, "verify", 0, true);
	r = persist_load_dir(store, dir, false, &pp, &st, &report, &error);
	progress_end(&pg);
	if (r < 0 || report != NULL) {
		/* the first problem; with ignore off only a torn last journal record
		   gets this far (uimapd drops it at start: it was never acknowledged
		   with journal-fsync = always) */
		if (report != NULL)
			report[strcspn(report, "\n")] = '\0';
		fprintf(stderr, "uimapctl: verify: %s\n", r < 0 ? error : report);
		free(report);
		uimap_store_free(&store);
		return 1;
	}
	store->vt->stats(store, &ss);
	printf("ok: snapshot %llu bytes, %llu journal record(s) after it; %llu user(s), "
	       "%llu mailbox(es), %llu message(s)\n", (unsigned long long)st.snapshot_bytes,
	       (unsigned long long)st.journal_records, (unsigned long long)ss.users,
	       (unsigned long long)ss.mailboxes, (unsigned long long)ss.messages);
	uimap_store_free(&store);
	return 0;
}

int datadir_compact(const char *dir, bool ignore_corrupt)
{
	struct uimap_store *store = NULL;
	struct persist *p = NULL;
	struct progress pg;
	struct persist_progress pp = { progress_persist, &pg };
	struct persist_settings set = { .data_dir = dir,
					.journal_fsync = UIMAP_JOURNAL_FSYNC_ALWAYS,
					.ignore_corrupt_snapshot = ignore_corrupt,
					.progress = &pp };
	const char *error = NULL;
	struct stat st;
	int r;

	/* persist_open would make a missing directory: compacting nothing is an error */
	if (stat(dir, &st) < 0) {
		fprintf(stderr, "uimapctl: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "uimapctl: %s: not a directory\n", dir);
		return 1;
	}
	if (uimap_store_memory_new(NULL, &store) < 0)
		return 1;
	progress_start(&pg, "load", 0, true);
	r = persist_open(store, &set, &p, &error);
	progress_end(&pg);
	if (r == -EBUSY) {
		fprintf(stderr, "uimapctl: %s is in use by a running uimapd: stop it first (or "
			"send it SIGUSR1 for a snapshot)\n", dir);
		uimap_store_free(&store);
		return 1;
	}
	if (r == 0) {
		const char *dropped = persist_load_report(p);
		struct uimap_store_stats ss;

		if (dropped[0] != '\0')
			fprintf(stderr, "uimapctl: compact dropped what did not verify:\n%s\n",
				dropped);
		r = persist_snapshot_now(p, &error);
		store->vt->stats(store, &ss);
		if (r == 0)
			printf("compacted %s: %llu journal record(s) folded into a new snapshot "
			       "(%llu user(s), %llu message(s))\n", dir,
			       (unsigned long long)persist_load_stats(p)->journal_records,
			       (unsigned long long)ss.users, (unsigned long long)ss.messages);
	}
	if (r < 0)
		fprintf(stderr, "uimapctl: compact: %s\n", error);
	persist_close(&p);
	uimap_store_free(&store);
	offline_fix_owner(dir);
	return r < 0 ? 1 : 0;
}
