/* Real mail: the fixture subset always; the whole SpamAssassin corpus (or any tree of
   messages) when UIMAP_SPAMASSASSIN_DIR names it. Prints parse speed and structure
   bytes per message (meson test -v). */
#include "mail-check.h"

#include <sys/stat.h>
#include <time.h>

struct stats {
	size_t messages, bytes, struct_bytes, parts, max_parts;
	double parse_sec;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check_file(const char *path, struct stats *st)
{
	size_t len = 0;
	char *data = file_read(path, &len);

	cr_assert_not_null(data, "%s", path);
	double t0 = now();
	struct mail_structure *s = mail_structure_parse(data, len);

	st->parse_sec += now() - t0;
	cr_assert_not_null(s, "%s parses", path);
	unsigned parts = check_structure(data, len, s, path);

	st->messages++;
	st->bytes += len;
	st->struct_bytes += s->bytes;
	st->parts += parts;
	if (parts > st->max_parts)
		st->max_parts = parts;
	mail_structure_free(&s);
	free(data);
}

static void walk(const char *dir, struct stats *st)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat sb;
		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode))
			walk(path, st);
		else if (S_ISREG(sb.st_mode) && !(l > 5 && strcmp(e->d_name + l - 5, ".json") == 0) &&
			 !(l > 3 && strcmp(e->d_name + l - 3, ".js") == 0))
			check_file(path, st);
	}
	closedir(d);
}

static void report(const char *what, const struct stats *st)
{
	printf("%s: %zu messages, %.1f MB, %zu parts (max %zu), parse %.1f MB/s, "
	       "structure %.0f bytes/message (%.2f%% of the mail bytes)\n",
	       what, st->messages, (double)st->bytes / 1e6, st->parts, st->max_parts,
	       st->parse_sec > 0 ? (double)st->bytes / 1e6 / st->parse_sec : 0.0,
	       (double)st->struct_bytes / (double)st->messages,
	       100.0 * (double)st->struct_bytes / (double)st->bytes);
	fflush(stdout);
}

static void fini(void)
{
	outq_cache_free();
}

TestSuite(corpus, .fini = fini);

Test(corpus, fixtures)
{
	struct stats st = { 0 };
	size_t n;
	char **names = fixture_names(&n);

	for (size_t i = 0; i < n; i++) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s.eml", MAIL_FIXTURES_DIR, names[i]);
		check_file(path, &st);
		free(names[i]);
	}
	free(names);
	cr_assert_gt(st.messages, 40);
	report("fixtures", &st);
}

Test(corpus, spamassassin, .timeout = 250)
{
	const char *dir = getenv("UIMAP_SPAMASSASSIN_DIR");
	struct stats st = { 0 };

	if (dir == NULL || *dir == '\0')
		cr_skip_test("UIMAP_SPAMASSASSIN_DIR not set");
	walk(dir, &st);
	cr_assert_gt(st.messages, 0, "messages under %s", dir);
	report(dir, &st);
}
