/* Shared helpers for the src/mail tests: fixture files and outq capture. */
#ifndef TEST_MAIL_TEST_H
#define TEST_MAIL_TEST_H

#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/outq.h"

#ifndef MAIL_FIXTURES_DIR
#error "MAIL_FIXTURES_DIR must be defined"
#endif

/* The queue's bytes, concatenated; the queue is cleared. NUL-terminated. */
static inline char *outq_take(struct outq *q, size_t *len_r)
{
	size_t n = 0, o = 0;

	for (const struct outseg *s = q->head; s != NULL; s = s->next)
		n += s->len - s->off;
	char *out = malloc(n + 1);

	for (const struct outseg *s = q->head; s != NULL; s = s->next) {
		memcpy(out + o, s->ptr + s->off, s->len - s->off);
		o += s->len - s->off;
	}
	out[o] = '\0';
	outq_clear(q);
	*len_r = o;
	return out;
}

/* Read a whole file; NULL when missing. */
static inline char *file_read(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);

	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);

	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	*len_r = (size_t)n;
	return buf;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names (without ".eml") of the fixture messages; *n_r of them. */
static inline char **fixture_names(size_t *n_r)
{
	DIR *d = opendir(MAIL_FIXTURES_DIR);
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;

	cr_assert_not_null(d, "fixtures directory %s", MAIL_FIXTURES_DIR);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0) {
			names = realloc(names, (n + 1) * sizeof(*names));
			names[n++] = strndup(e->d_name, l - 4);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	*n_r = n;
	return names;
}

#endif
