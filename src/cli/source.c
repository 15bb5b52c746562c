/* Import sources and export destinations: an mbox file or a Maildir, chosen by what
   the path is. */
#include "cli/source-private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

char *source_slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t len = 0, cap = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (len == cap) {
			cap = cap != 0 ? 2 * cap : 65536;
			char *n = realloc(data, cap + 1);

			if (n == NULL) {
				free(data);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			data = n;
		}
		size_t r = fread(data + len, 1, cap - len, f);

		if (r == 0)
			break;
		len += r;
	}
	if (ferror(f)) {
		int e = errno;

		free(data);
		fclose(f);
		errno = e;
		return NULL;
	}
	fclose(f);
	data[len] = '\0';
	*len_r = len;
	return data;
}

int source_make_dirs(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int source_open(const char *path, struct source *src, char *err, size_t size)
{
	struct stat st;

	memset(src, 0, sizeof(*src));
	if (stat(path, &st) < 0) {
		snprintf(err, size, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	src->maildir = S_ISDIR(st.st_mode);
	src->path = strdup(path);
	if (src->path == NULL) {
		snprintf(err, size, "out of memory");
		return -1;
	}
	if ((src->maildir ? maildir_list(src, err, size) : mbox_list(src, err, size)) < 0) {
		source_close(src);
		return -1;
	}
	return 0;
}

int source_read(struct source *src, size_t i, struct msg *m, char *err, size_t size)
{
	msg_clear(m);
	return src->maildir ? maildir_read(src, i, m, err, size) : mbox_read(src, i, m, err, size);
}

void source_close(struct source *src)
{
	for (size_t i = 0; i < src->n; i++)
		free(src->items[i].name);
	for (int i = 0; i < MAILDIR_KEYWORDS; i++)
		free(src->keywords[i]);
	if (src->map != NULL)
		munmap((void *)src->map, src->map_len);
	free(src->items);
	free(src->path);
	memset(src, 0, sizeof(*src));
}

int sink_open(struct sink **sink_r, const char *path, bool maildir, uint32_t uidvalidity,
	      uint32_t uidnext, char *err, size_t size)
{
	struct sink *s = calloc(1, sizeof(*s));

	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		snprintf(err, size, "out of memory");
		return -1;
	}
	s->maildir = maildir;
	s->uidvalidity = uidvalidity;
	s->uidnext = uidnext;
	if ((maildir ? maildir_sink_open(s, err, size) : mbox_sink_open(s, err, size)) < 0) {
		free(s->path);
		free(s);
		return -1;
	}
	*sink_r = s;
	return 0;
}

int sink_put(struct sink *s, const struct msg *m, char *err, size_t size)
{
	int r = s->maildir ? maildir_sink_put(s, m, err, size) : mbox_sink_put(s, m, err, size);

	if (r == 0) {
		s->count++;
		if (m->uid >= s->uidnext && s->maildir)
			s->uidnext = m->uid + 1;
	}
	return r;
}

int sink_close(struct sink **sp, size_t *dropped_r, char *err, size_t size)
{
	struct sink *s = *sp;
	int r;

	*sp = NULL;
	if (s == NULL)
		return 0;
	r = s->maildir ? maildir_sink_close(s, err, size) : mbox_sink_close(s, err, size);
	if (dropped_r != NULL)
		*dropped_r = s->dropped;
	for (int i = 0; i < MAILDIR_KEYWORDS; i++)
		free(s->keywords[i]);
	free(s->uidlist);
	free(s->path);
	free(s);
	return r;
}
