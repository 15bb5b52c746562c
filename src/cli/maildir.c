/* Maildirs: Dovecot's dovecot-uidlist and dovecot-keywords, the ":2," letters, reading
   a Maildir's messages in UID order and writing one that Dovecot reads the same. */
#include "cli/source-private.h"

#include "uimap/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define UIDLIST_FILE "dovecot-uidlist"
#define KEYWORDS_FILE "dovecot-keywords"

/* ---- the formats ------------------------------------------------------------- */

/* A decimal number of s..end into *v (below 2^32, at least one digit); the rest in *next. */
static bool parse_u32(const char *s, const char *end, uint32_t *v, const char **next)
{
	uint64_t n = 0;
	const char *p = s;

	while (p < end && *p >= '0' && *p <= '9' && n <= UINT32_MAX)
		n = n * 10 + (uint64_t)(*p++ - '0');
	if (p == s || n > UINT32_MAX)
		return false;
	*v = (uint32_t)n;
	*next = p;
	return true;
}

void uidlist_free(struct uidlist *ul)
{
	for (size_t i = 0; i < ul->n; i++)
		free(ul->recs[i].base);
	free(ul->recs);
	memset(ul, 0, sizeof(*ul));
}

static int uidlist_header(const char *p, const char *end, struct uidlist *ul)
{
	uint32_t v;

	if (!parse_u32(p, end, &ul->version, &p) || (ul->version != 1 && ul->version != 3))
		return -1;
	if (ul->version == 1) {
		/* "1 <uidvalidity> <uidnext>" (Courier's courierimapuiddb) */
		if (p == end || *p != ' ' || !parse_u32(p + 1, end, &ul->uidvalidity, &p) ||
		    p == end || *p != ' ' || !parse_u32(p + 1, end, &ul->uidnext, &p))
			return -1;
		return 0;
	}
	/* "3 V<uidvalidity> N<uidnext> G<guid> ...": other keys are skipped */
	while (p < end) {
		if (*p == ' ') {
			p++;
			continue;
		}
		const char *field = p;

		while (p < end && *p != ' ')
			p++;
		if (*field == 'V' || *field == 'N') {
			const char *after;

			if (!parse_u32(field + 1, p, &v, &after) || after != p)
				return -1;
			if (*field == 'V')
				ul->uidvalidity = v;
			else
				ul->uidnext = v;
		}
	}
	return 0;
}

int uidlist_parse(const char *text, size_t len, struct uidlist *ul, char *err, size_t size)
{
	const char *p = text, *end = text + len;
	size_t line = 0, cap = 0;

	memset(ul, 0, sizeof(*ul));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end, *q;
		uint32_t uid;

		line++;
		if (e > p && e[-1] == '\r')
			e--;
		if (line == 1) {
			if (uidlist_header(p, e, ul) < 0)
				goto bad;
		} else if (e > p) {
			if (!parse_u32(p, e, &uid, &q) || uid == 0 || q == e || *q != ' ' ||
			    (ul->n > 0 && uid <= ul->recs[ul->n - 1].uid))
				goto bad;
			if (ul->version == 3) {
				/* extension fields up to " :" then the name */
				const char *colon = q;

				while (colon < e && !(colon[0] == ':' && colon[-1] == ' '))
					colon++;
				if (colon >= e)
					goto bad;
				q = colon + 1;
			} else {
				q++;
			}
			size_t n = (size_t)(e - q), base = 0;

			while (base < n && q[base] != ':')
				base++;
			if (base == 0 || memchr(q, '/', n) != NULL)
				goto bad;
			if (ul->n == cap) {
				cap = cap == 0 ? 256 : cap * 2;
				struct uidlist_rec *r = realloc(ul->recs, cap * sizeof(*r));

				if (r == NULL)
					goto nomem;
				ul->recs = r;
			}
			char *copy = strndup(q, base);

			if (copy == NULL)
				goto nomem;
			ul->recs[ul->n++] = (struct uidlist_rec){ .uid = uid, .base = copy };
		}
		p = nl != NULL ? nl + 1 : end;
	}
	if (line == 0)
		goto bad;
	return 0;
bad:
	snprintf(err, size, "line %zu is not of a dovecot-uidlist (version 1 or 3)", line);
	uidlist_free(ul);
	return -1;
nomem:
	snprintf(err, size, "out of memory");
	uidlist_free(ul);
	return -1;
}

void maildir_keywords_parse(const char *text, size_t len, char *names[MAILDIR_KEYWORDS])
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl : end, *q;
		uint32_t idx;

		if (e > p && e[-1] == '\r')
			e--;
		if (parse_u32(p, e, &idx, &q) && idx < MAILDIR_KEYWORDS && q < e && *q == ' ' &&
		    q + 1 < e && names[idx] == NULL)
			names[idx] = strndup(q + 1, (size_t)(e - q - 1));
		p = nl != NULL ? nl + 1 : end;
	}
}

size_t maildir_base_len(const char *name)
{
	return strcspn(name, ":");
}

int maildir_name_flags(const char *name, char *const names[MAILDIR_KEYWORDS], struct msg *m)
{
	const char *info = strstr(name, ":2,");

	for (const char *p = info != NULL ? info + 3 : ""; *p; p++) {
		switch (*p) {
		case 'S': m->flags |= UIMAP_FLAG_SEEN; break;
		case 'R': m->flags |= UIMAP_FLAG_ANSWERED; break;
		case 'F': m->flags |= UIMAP_FLAG_FLAGGED; break;
		case 'T': m->flags |= UIMAP_FLAG_DELETED; break;
		case 'D': m->flags |= UIMAP_FLAG_DRAFT; break;
		default:
			if (*p >= 'a' && *p <= 'z' && names[*p - 'a'] != NULL &&
			    msg_add_keyword(m, names[*p - 'a'], strlen(names[*p - 'a'])) < 0)
				return -ENOMEM;
			break;
		}
	}
	return 0;
}

size_t maildir_letters(const struct msg *m, char *names[MAILDIR_KEYWORDS], char *out,
		       size_t size)
{
	static const struct {
		unsigned flag;
		char letter;
	} sys[] = { { UIMAP_FLAG_DRAFT, 'D' }, { UIMAP_FLAG_FLAGGED, 'F' },
		    { UIMAP_FLAG_ANSWERED, 'R' }, { UIMAP_FLAG_SEEN, 'S' },
		    { UIMAP_FLAG_DELETED, 'T' } };
	bool used[MAILDIR_KEYWORDS] = { false };
	size_t o = 0, dropped = 0;

	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
		if ((m->flags & sys[i].flag) != 0 && o + 1 < size)
			out[o++] = sys[i].letter;
	}
	for (size_t k = 0; k < m->n_keywords; k++) {
		int idx = -1, free_idx = -1;

		for (int i = 0; i < MAILDIR_KEYWORDS && idx < 0; i++) {
			if (names[i] == NULL && free_idx < 0)
				free_idx = i;
			else if (names[i] != NULL && strcasecmp(names[i], m->keywords[k]) == 0)
				idx = i;
		}
		if (idx < 0 && free_idx >= 0 && (names[free_idx] = strdup(m->keywords[k])) != NULL)
			idx = free_idx;
		if (idx < 0)
			dropped++;
		else
			used[idx] = true;
	}
	/* Dovecot keeps the letters sorted */
	for (int i = 0; i < MAILDIR_KEYWORDS; i++) {
		if (used[i] && o + 1 < size)
			out[o++] = (char)('a' + i);
	}
	out[o] = '\0';
	return dropped;
}

/* ---- reading ------------------------------------------------------------------ */

struct listed {
	char *name;        /* "cur/..." */
	size_t order;      /* listing order */
	uint32_t uid;
};

static int listed_by_uid(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;

	/* the unlisted (0) after the listed, in listing order */
	if ((x->uid == 0) != (y->uid == 0))
		return x->uid == 0 ? 1 : -1;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct uidlist_rec *)a)->base, ((const struct uidlist_rec *)b)->base);
}

/* The names in dir/sub ("sub/name"), sorted, appended to *names. */
static int list_sub(const char *dir, const char *sub, char ***names, size_t *n, size_t *cap,
		    char *err, size_t size)
{
	char path[4096];
	size_t first = *n;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	d = opendir(path);
	if (d == NULL) {
		snprintf(err, size, "%s is not a Maildir (no %s/)", dir, sub);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == *cap) {
			*cap = *cap == 0 ? 256 : *cap * 2;
			char **grown = realloc(*names, *cap * sizeof(**names));

			if (grown == NULL)
				goto nomem;
			*names = grown;
		}
		if (asprintf(&(*names)[*n], "%s/%s", sub, e->d_name) < 0)
			goto nomem;
		(*n)++;
	}
	closedir(d);
	/* delivery order: the names start with the delivery time */
	if (*n > first)
		qsort(*names + first, *n - first, sizeof(**names), name_cmp);
	return 0;
nomem:
	closedir(d);
	snprintf(err, size, "out of memory");
	return -1;
}

int maildir_list(struct source *src, char *err, size_t size)
{
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	struct uidlist ul = { 0 };
	struct listed *l = NULL;
	int r = -1;

	if (list_sub(src->path, "cur", &names, &n, &cap, err, size) < 0 ||
	    list_sub(src->path, "new", &names, &n, &cap, err, size) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/" KEYWORDS_FILE, src->path);
	size_t len;
	char *text = source_slurp(path, &len);

	if (text != NULL) {
		maildir_keywords_parse(text, len, src->keywords);
		free(text);
	}
	snprintf(path, sizeof(path), "%s/" UIDLIST_FILE, src->path);
	text = source_slurp(path, &len);
	if (text == NULL && errno != ENOENT) {
		snprintf(err, size, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	if (text != NULL) {
		char why[256];

		r = uidlist_parse(text, len, &ul, why, sizeof(why));
		free(text);
		if (r < 0) {
			snprintf(err, size, "%s: %s", path, why);
			goto out;
		}
		r = -1;
		if (ul.n > 0)
			qsort(ul.recs, ul.n, sizeof(*ul.recs), rec_cmp);
	}
	l = calloc(n == 0 ? 1 : n, sizeof(*l));
	src->items = calloc(n == 0 ? 1 : n, sizeof(*src->items));
	if (l == NULL || src->items == NULL) {
		snprintf(err, size, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *file = strchr(names[i], '/') + 1;
		char base[1024];
		struct uidlist_rec key = { .base = base }, *rec;

		snprintf(base, sizeof(base), "%.*s", (int)maildir_base_len(file), file);
		l[i] = (struct listed){ .name = names[i], .order = i };
		rec = ul.uidvalidity != 0 && ul.n > 0
		      ? bsearch(&key, ul.recs, ul.n, sizeof(*ul.recs), rec_cmp) : NULL;
		if (rec != NULL) {
			l[i].uid = rec->uid;
			rec->uid = 0;   /* a second file of that base gets a new UID */
		}
	}
	qsort(l, n, sizeof(*l), listed_by_uid);
	src->uidvalidity = ul.uidvalidity;
	uint32_t next = ul.uidnext;

	for (size_t i = 0; i < n; i++) {
		if (src->uidvalidity != 0 && l[i].uid == 0) {
			l[i].uid = next;
			src->renumbered++;
		}
		if (l[i].uid >= next)
			next = l[i].uid + 1;
		src->items[i] = (struct source_item){ .name = l[i].name, .uid = l[i].uid };
	}
	src->uidnext = src->uidvalidity != 0 ? next : 0;
	src->n = n;
	free(names);
	names = NULL;
	r = 0;
out:
	if (names != NULL) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
	}
	free(names);
	free(l);
	uidlist_free(&ul);
	return r;
}

int maildir_read(struct source *src, size_t i, struct msg *m, char *err, size_t size)
{
	const struct source_item *it = &src->items[i];
	char path[8192];
	struct stat st;
	size_t len;
	char *data;

	snprintf(path, sizeof(path), "%s/%s", src->path, it->name);
	data = source_slurp(path, &len);
	if (data == NULL || stat(path, &st) < 0) {
		snprintf(err, size, "cannot read %s: %s", path, strerror(errno));
		free(data);
		return -1;
	}
	m->data = msg_to_crlf(data, len, &m->len);
	free(data);
	m->date = (int64_t)st.st_mtime;
	m->uid = it->uid;
	if (m->data == NULL || maildir_name_flags(strchr(it->name, '/') + 1, src->keywords, m) < 0) {
		snprintf(err, size, "out of memory");
		return -1;
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------------ */

static bool dir_has_files(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	bool any = false;

	if (d == NULL)
		return false;
	while (!any && (e = readdir(d)) != NULL)
		any = e->d_name[0] != '.';
	closedir(d);
	return any;
}

int maildir_sink_open(struct sink *s, char *err, size_t size)
{
	char sub[4096];
	int r = source_make_dirs(s->path);

	for (int i = 0; i < 3 && r == 0; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", s->path, i == 0 ? "cur" : i == 1 ? "new" : "tmp");
		if (i < 2 && dir_has_files(sub)) {
			snprintf(err, size, "%s holds messages already (export into a new Maildir)",
				 s->path);
			return -1;
		}
		if (mkdir(sub, 0700) < 0 && errno != EEXIST)
			r = -errno;
	}
	if (r < 0) {
		snprintf(err, size, "cannot create %s: %s", s->path, strerror(-r));
		return -1;
	}
	return 0;
}

static int uidlist_add(struct sink *s, uint32_t uid, const char *base)
{
	size_t need = strlen(base) + 16;

	if (s->uidlist_cap - s->uidlist_len < need) {
		size_t cap = s->uidlist_cap == 0 ? 65536 : s->uidlist_cap * 2;
		char *grown;

		while (cap - s->uidlist_len < need)
			cap *= 2;
		grown = realloc(s->uidlist, cap);
		if (grown == NULL)
			return -1;
		s->uidlist = grown;
		s->uidlist_cap = cap;
	}
	s->uidlist_len += (size_t)snprintf(s->uidlist + s->uidlist_len,
					   s->uidlist_cap - s->uidlist_len, "%u :%s\n", uid, base);
	return 0;
}

int maildir_sink_put(struct sink *s, const struct msg *m, char *err, size_t size)
{
	char letters[40], base[128], tmp[4096], final[4200];
	FILE *f;

	s->dropped += maildir_letters(m, s->keywords, letters, sizeof(letters));
	/* time.unique.host, as Maildir names go; the UID keeps it unique */
	snprintf(base, sizeof(base), "%lld.%u.uimapctl", (long long)m->date,
		 m->uid != 0 ? m->uid : s->count + 1);
	snprintf(tmp, sizeof(tmp), "%s/tmp/%s", s->path, base);
	snprintf(final, sizeof(final), "%s/cur/%s:2,%s", s->path, base, letters);
	f = fopen(tmp, "wbx");
	if (f == NULL) {
		snprintf(err, size, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	/* Maildir keeps LF lines */
	for (size_t i = 0; i < m->len; i++) {
		if (!(m->data[i] == '\r' && i + 1 < m->len && m->data[i + 1] == '\n'))
			putc(m->data[i], f);
	}
	struct timeval tv[2] = { { (time_t)m->date, 0 }, { (time_t)m->date, 0 } };

	if (fclose(f) != 0 || utimes(tmp, tv) < 0 || rename(tmp, final) < 0) {
		snprintf(err, size, "cannot write %s: %s", final, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (m->uid != 0 && uidlist_add(s, m->uid, base) < 0) {
		snprintf(err, size, "out of memory");
		return -1;
	}
	return 0;
}

/* Write name in s->path: text (len bytes) through a temporary file renamed over it. */
static int write_file(struct sink *s, const char *name, const char *head, const char *text,
		      size_t len, char *err, size_t size)
{
	char path[4096], tmp[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", s->path, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (f == NULL || fputs(head, f) < 0 || fwrite(text, 1, len, f) != len ||
	    fflush(f) != 0 || fsync(fileno(f)) < 0 || fclose(f) != 0 || rename(tmp, path) < 0) {
		snprintf(err, size, "cannot write %s: %s", path, strerror(errno));
		if (f != NULL)
			unlink(tmp);
		return -1;
	}
	return 0;
}

int maildir_sink_close(struct sink *s, char *err, size_t size)
{
	char head[64], kw[MAILDIR_KEYWORDS * 260];
	size_t o = 0;

	for (int i = 0; i < MAILDIR_KEYWORDS; i++) {
		if (s->keywords[i] != NULL)
			o += (size_t)snprintf(kw + o, sizeof(kw) - o, "%d %.255s\n", i, s->keywords[i]);
	}
	if (o > 0 && write_file(s, KEYWORDS_FILE, "", kw, o, err, size) < 0)
		return -1;
	if (s->uidvalidity == 0)
		return 0;   /* no UIDs to keep */
	snprintf(head, sizeof(head), "3 V%u N%u\n", s->uidvalidity, s->uidnext);
	return write_file(s, UIDLIST_FILE, head, s->uidlist != NULL ? s->uidlist : "",
			  s->uidlist_len, err, size);
}
