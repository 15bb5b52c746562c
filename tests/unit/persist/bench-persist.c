/* bench-persist: fill ~1 GB of mail, snapshot it in the background, load it (cold and warm),
   and journal + replay; prints MB/s and the parent's pauses. Usage: bench-persist [dir] [n]
   [size]. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "persist/persist.h"
#include "store/memstore.h"
#include "uimap/store.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int r, const char *error)
{
	fprintf(stderr, "bench-persist: %s: %s %s\n", what, strerror(r < 0 ? -r : r),
		error != NULL ? error : "");
	exit(1);
}

static struct uimap_blob *make_blob(size_t size, unsigned seed)
{
	char *data = malloc(size);

	for (size_t i = 0; i < size; i++)
		data[i] = (char)('A' + (i * 31 + seed) % 58);
	memcpy(data, "Subject: bench\r\n\r\n", 18);
	return uimap_blob_new_adopt(data, size);
}

static void append(struct uimap_store_user *user, struct uimap_blob *blob)
{
	struct uimap_append msg = { .blob = blob, .internaldate = 1700000000 };
	struct uimap_append_result res;
	int r = user->vt->mailbox_append(user, "INBOX", &msg, &res);

	if (r < 0)
		die("append", r, NULL);
}

static long rss_mb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE) / (1 << 20);
}

static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

static struct persist *open_dir(struct uimap_store *s, const char *dir,
				enum uimap_journal_fsync mode)
{
	struct persist_settings set = { .data_dir = dir, .journal_fsync = mode };
	struct persist *p = NULL;
	const char *error = NULL;
	int r = persist_open(s, &set, &p, &error);

	if (r < 0)
		die("persist_open", r, error);
	return p;
}

int main(int argc, char **argv)
{
	const char *base = argc > 1 ? argv[1] : "/tmp";
	unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 20000;
	size_t size = argc > 3 ? (size_t)atol(argv[3]) : 50000;
	char dir[512], path[600], cmd[700];
	struct uimap_store *s = NULL;
	struct persist *p;
	const char *error = NULL;
	double t0, t1, mb;
	uint64_t fork_us = 0;
	struct stat st;
	int r;

	snprintf(dir, sizeof(dir), "%s/bench-persist.%d", base, (int)getpid());
	snprintf(path, sizeof(path), "%s/snapshot.uimap", dir);
	uimap_store_memory_new(NULL, &s);
	p = open_dir(s, dir, UIMAP_JOURNAL_FSYNC_OFF);

	/* Fill: 100 users, messages spread over them. */
	t0 = now_s();
	for (unsigned i = 0; i < n; i++) {
		char name[32];
		struct uimap_store_user *user;
		struct uimap_blob *blob = make_blob(size, i);

		snprintf(name, sizeof(name), "user%03u", i % 100);
		s->vt->user_open(s, name, &user);
		append(user, blob);
		uimap_blob_unref(&blob);
		uimap_store_user_close(&user);
	}
	t1 = now_s();
	mb = (double)n * (double)size / 1e6;
	printf("fill: %u messages x %zu bytes = %.0f MB in %.2f s, RSS %ld MB\n", n, size, mb,
	       t1 - t0, rss_mb());

	/* Background snapshot, encoded in slices between appends (as the loop does); the
	   longest slice and append are the stalls. */
	t0 = now_s();
	double ts = now_s();

	r = persist_snapshot_start(p, &fork_us);
	double start_call = now_s() - ts;

	if (r < 0)
		die("snapshot_start", r, NULL);
	double worst = 0, worst_slice = 0;
	unsigned appended = 0;
	struct uimap_blob *small = make_blob(size, 1);

	while ((r = persist_snapshot_poll(p, &error)) == 0) {
		struct uimap_store_user *user;
		double a = now_s();

		(void)persist_snapshot_step(p);
		if (now_s() - a > worst_slice)
			worst_slice = now_s() - a;
		a = now_s();

		s->vt->user_open(s, "user000", &user);
		append(user, small);
		uimap_store_user_close(&user);
		appended++;
		if (now_s() - a > worst)
			worst = now_s() - a;
		usleep(1000);
	}
	t1 = now_s();
	uimap_blob_unref(&small);
	if (r < 0)
		die("snapshot", r, error);
	stat(path, &st);
	printf("snapshot: %.0f MB written in %.2f s = %.0f MB/s (encode, write, fsync, rename)\n",
	       (double)st.st_size / 1e6, t1 - t0, (double)st.st_size / 1e6 / (t1 - t0));
	printf("snapshot: start %.2f ms (persist_snapshot_start() %.2f ms); longest slice "
	       "%.3f ms; longest append during the snapshot %.3f ms (%u appends)\n",
	       (double)fork_us / 1000, start_call * 1000, worst_slice * 1000, worst * 1000,
	       appended);
	persist_close(&p);
	uimap_store_free(&s);

	/* Load, cold (page cache dropped for the file) and warm. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0)
			drop_cache(path);
		uimap_store_memory_new(NULL, &s);
		t0 = now_s();
		p = open_dir(s, dir, UIMAP_JOURNAL_FSYNC_OFF);
		t1 = now_s();
		const struct persist_load_stats *ls = persist_load_stats(p);

		printf("load (%s cache): %.0f MB, %llu messages in %.3f s = %.0f MB/s "
		       "(persist_open total %.3f s)\n", pass == 0 ? "cold" : "warm",
		       (double)ls->snapshot_bytes / 1e6, (unsigned long long)ls->messages,
		       ls->snapshot_seconds, (double)ls->snapshot_bytes / 1e6 / ls->snapshot_seconds,
		       t1 - t0);
		persist_close(&p);
		uimap_store_free(&s);
	}

	/* Journal: appends with a group commit every 64 messages, then replay. */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	unsigned jn = n / 10;

	uimap_store_memory_new(NULL, &s);
	p = open_dir(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	struct uimap_store_user *user;
	struct uimap_blob *blob = make_blob(size, 7);

	s->vt->user_open(s, "journal", &user);
	t0 = now_s();
	for (unsigned i = 0; i < jn; i++) {
		append(user, blob);
		if (i % 64 == 63 || i == jn - 1) {
			struct persist_flush fl;

			persist_journal_flush_begin(p, &fl);
			if (fl.need_fsync)
				persist_journal_flush_done(p, fl.seq, fdatasync(fl.fd) < 0 ? -errno : 0);
		}
	}
	t1 = now_s();
	uimap_blob_unref(&blob);
	uimap_store_user_close(&user);
	printf("journal: %u appends of %zu bytes, fdatasync per 64: %.0f MB/s\n", jn, size,
	       (double)jn * (double)size / 1e6 / (t1 - t0));
	persist_close(&p);
	uimap_store_free(&s);
	uimap_store_memory_new(NULL, &s);
	p = open_dir(s, dir, UIMAP_JOURNAL_FSYNC_ALWAYS);
	printf("journal replay: %llu records, %.0f MB in %.3f s = %.0f MB/s\n",
	       (unsigned long long)persist_load_stats(p)->journal_records,
	       (double)persist_load_stats(p)->journal_bytes / 1e6,
	       persist_load_stats(p)->journal_seconds,
	       (double)persist_load_stats(p)->journal_bytes / 1e6 /
	       persist_load_stats(p)->journal_seconds);
	/* With the journal on, starting a snapshot also rotates the journal. */
	t0 = now_s();
	r = persist_snapshot_start(p, &fork_us);
	t1 = now_s();
	if (r < 0)
		die("snapshot_start", r, NULL);
	printf("snapshot start with journal rotation: %.2f ms (its own count %.2f ms)\n",
	       (t1 - t0) * 1000, (double)fork_us / 1000);
	if (persist_snapshot_wait(p, &error) != 1)
		die("snapshot", EIO, error);
	persist_close(&p);
	uimap_store_free(&s);
	if (system(cmd) != 0)
		return 1;
	(void)error;
	return 0;
}
