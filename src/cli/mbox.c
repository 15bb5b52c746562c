/* mbox files (mboxrd): messages split at "From " lines, the metadata headers Dovecot and
   UW-IMAP keep there (Status, X-Status, X-Keywords, X-UID, X-IMAPbase), reading and
   writing. */
#include "cli/source-private.h"

#include "uimap/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the format ---------------------------------------------------------------- */

int64_t mbox_from_time(const char *line, size_t n)
{
	char copy[256];
	struct tm tm = { 0 };
	char *sp;

	if (n >= sizeof(copy))
		n = sizeof(copy) - 1;
	memcpy(copy, line, n);
	copy[n] = '\0';
	sp = n > 5 ? strchr(copy + 5, ' ') : NULL;
	if (sp == NULL || strptime(sp + 1, "%a %b %d %H:%M:%S %Y", &tm) == NULL)
		return 0;
	return (int64_t)timegm(&tm);
}

static uint32_t number(const char *p, const char *end, const char **next)
{
	uint64_t v = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (p < end && *p >= '0' && *p <= '9' && v <= UINT32_MAX)
		v = v * 10 + (uint64_t)(*p++ - '0');
	if (next != NULL)
		*next = p;
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

enum meta_header { META_NONE, META_STATUS, META_XSTATUS, META_KEYWORDS, META_UID, META_BASE,
		   META_IMAP };

static enum meta_header meta_kind(const char *line, size_t n)
{
	static const struct {
		const char *name;
		enum meta_header kind;
	} names[] = { { "Status", META_STATUS }, { "X-Status", META_XSTATUS },
		      { "X-Keywords", META_KEYWORDS }, { "X-UID", META_UID },
		      { "X-IMAPbase", META_BASE }, { "X-IMAP", META_IMAP } };
	const char *colon = memchr(line, ':', n);

	if (colon == NULL)
		return META_NONE;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len = strlen(names[i].name);

		if ((size_t)(colon - line) == len && strncasecmp(line, names[i].name, len) == 0)
			return names[i].kind;
	}
	return META_NONE;
}

int mbox_meta(const char *msg, size_t len, struct msg *m, uint32_t *uid_r,
	      uint32_t *uidvalidity_r, uint32_t *uid_last_r, bool *pseudo_r, char *out,
	      size_t *out_len_r)
{
	const char *p = msg, *end = msg + len;
	bool in_header = true, skipping = false;
	size_t o = 0;

	*uid_r = *uidvalidity_r = *uid_last_r = 0;
	*pseudo_r = false;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl != NULL ? nl + 1 : end;     /* the line, its LF included */
		size_t n = (size_t)(e - p), text = n;

		while (text > 0 && (p[text - 1] == '\n' || p[text - 1] == '\r'))
			text--;
		if (in_header && text == 0) {
			in_header = false;   /* the blank line: the body follows */
			if (out == NULL)
				break;
		}
		if (in_header && (p[0] == ' ' || p[0] == '\t')) {
			/* a continuation belongs to the header before it */
		} else if (in_header) {
			enum meta_header kind = meta_kind(p, text);
			const char *v = memchr(p, ':', text), *ve = p + text;

			skipping = kind != META_NONE;
			if (v != NULL)
				v++;
			switch (kind) {
			case META_STATUS:
			case META_XSTATUS:
				for (const char *c = v; m != NULL && c < ve; c++) {
					unsigned f = *c == 'R' && kind == META_STATUS ? UIMAP_FLAG_SEEN :
						     kind == META_STATUS ? 0 :
						     *c == 'A' ? UIMAP_FLAG_ANSWERED :
						     *c == 'F' ? UIMAP_FLAG_FLAGGED :
						     *c == 'T' ? UIMAP_FLAG_DRAFT :
						     *c == 'D' ? UIMAP_FLAG_DELETED : 0;
					m->flags |= f;
				}
				break;
			case META_KEYWORDS:
				for (const char *c = v; m != NULL && c < ve;) {
					const char *w;

					while (c < ve && (*c == ' ' || *c == '\t'))
						c++;
					for (w = c; w < ve && *w != ' ' && *w != '\t'; w++)
						;
					if (w > c && msg_add_keyword(m, c, (size_t)(w - c)) < 0)
						return -ENOMEM;
					c = w;
				}
				break;
			case META_UID:
				*uid_r = number(v, ve, NULL);
				break;
			case META_BASE:
			case META_IMAP:
				*uidvalidity_r = number(v, ve, &v);
				*uid_last_r = number(v, ve, NULL);
				*pseudo_r = kind == META_IMAP;
				break;
			case META_NONE:
				break;
			}
		} else {
			skipping = false;
		}
		if (!skipping && out != NULL) {
			memcpy(out + o, p, n);
			o += n;
		}
		p = e;
	}
	if (out_len_r != NULL)
		*out_len_r = o;
	return 0;
}

/* ---- reading ------------------------------------------------------------------ */

/* The bytes of message it without the blank line before the next "From " (or at the
   end of the file) and with ">From" unquoted, into a new buffer. */
static char *mbox_body(const struct source *src, const struct source_item *it, bool last,
		       size_t *len_r)
{
	const char *raw = src->map + it->off;
	size_t len = it->len;
	char *out = malloc(len + 1), *o = out;

	if (out == NULL)
		return NULL;
	/* the separating blank line: always there before a "From " line; at the end
	   of the file when the message ends with one */
	if (len > 0 && raw[len - 1] == '\n' &&
	    (!last || (len > 1 && raw[len - 2] == '\n') ||
	     (len > 2 && raw[len - 2] == '\r' && raw[len - 3] == '\n'))) {
		len--;
		if (len > 0 && raw[len - 1] == '\r')
			len--;
	}
	for (const char *q = raw, *end = raw + len; q < end;) {
		const char *e = memchr(q, '\n', (size_t)(end - q));
		size_t ln = e != NULL ? (size_t)(e - q) + 1 : (size_t)(end - q), k = 0;

		/* mboxrd: ">*From " lost one '>' */
		while (k < ln && q[k] == '>')
			k++;
		if (k > 0 && ln - k >= 5 && memcmp(q + k, "From ", 5) == 0) {
			q++;
			ln--;
		}
		memcpy(o, q, ln);
		o += ln;
		q += ln;
	}
	*len_r = (size_t)(o - out);
	return out;
}

int mbox_list(struct source *src, char *err, size_t size)
{
	int fd = open(src->path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t cap = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, size, "cannot read %s: %s", src->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	src->map_len = (size_t)st.st_size;
	if (src->map_len == 0 && S_ISREG(st.st_mode)) {
		close(fd);
		return 0;   /* an empty mbox */
	}
	src->map = src->map_len >= 5 ? mmap(NULL, src->map_len, PROT_READ, MAP_PRIVATE, fd, 0)
				     : MAP_FAILED;
	close(fd);
	if (src->map == MAP_FAILED || memcmp(src->map, "From ", 5) != 0) {
		if (src->map != MAP_FAILED)
			munmap((void *)src->map, src->map_len);
		src->map = NULL;
		snprintf(err, size, "%s is not an mbox (no \"From \" line first)", src->path);
		return -1;
	}
	(void)madvise((void *)src->map, src->map_len, MADV_SEQUENTIAL);
	const char *p = src->map, *end = src->map + src->map_len;
	uint32_t next = 0, prev = 0, uidvalidity = 0;
	bool skip_first = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *body = nl != NULL ? nl + 1 : end, *stop = body;

		while ((stop = memmem(stop, (size_t)(end - stop), "\nFrom ", 6)) != NULL) {
			stop++;
			break;
		}
		if (stop == NULL)
			stop = end;
		if (src->n == cap) {
			cap = cap == 0 ? 1024 : cap * 2;
			struct source_item *grown = realloc(src->items, cap * sizeof(*grown));

			if (grown == NULL) {
				snprintf(err, size, "out of memory");
				return -1;
			}
			src->items = grown;
		}
		struct source_item *it = &src->items[src->n];
		uint32_t uid, v, last;
		bool pseudo;

		*it = (struct source_item){ .off = (size_t)(body - src->map),
					    .len = (size_t)(stop - body),
					    .date = mbox_from_time(p, (size_t)(body - p)) };
		/* the UIDs as Dovecot reads them (mbox-sync-parse.c): X-IMAPbase in the
		   first message, growing X-UIDs; the rest get the next ones */
		if (mbox_meta(src->map + it->off, it->len, NULL, &uid, &v, &last, &pseudo, NULL,
			      NULL) < 0) {
			snprintf(err, size, "out of memory");
			return -1;
		}
		if (src->n == 0 && v != 0) {
			uidvalidity = v;
			next = last + 1;
			skip_first = pseudo;
		}
		if (uidvalidity != 0 && !(src->n == 0 && skip_first)) {
			if (uid == 0 || uid <= prev) {
				uid = next;
				src->renumbered++;
			}
			if (uid >= next)
				next = uid + 1;
			prev = uid;
			it->uid = uid;
		} else {
			it->uid = 0;
		}
		src->n++;
		p = stop;
	}
	if (skip_first) {
		/* UW-IMAP's "FOLDER INTERNAL DATA" message is no message */
		memmove(src->items, src->items + 1, (src->n - 1) * sizeof(*src->items));
		src->n--;
	}
	src->uidvalidity = uidvalidity;
	src->uidnext = uidvalidity != 0 ? next : 0;
	return 0;
}

int mbox_read(struct source *src, size_t i, struct msg *m, char *err, size_t size)
{
	const struct source_item *it = &src->items[i];
	size_t len, stripped;
	uint32_t uid, v, last;
	bool pseudo;
	char *body = mbox_body(src, it, i + 1 == src->n, &len), *clean = malloc(len + 1);

	if (body == NULL || clean == NULL ||
	    mbox_meta(body, len, m, &uid, &v, &last, &pseudo, clean, &stripped) < 0 ||
	    (m->data = msg_to_crlf(clean, stripped, &m->len)) == NULL) {
		free(body);
		free(clean);
		snprintf(err, size, "out of memory");
		return -1;
	}
	free(body);
	free(clean);
	m->date = it->date;
	m->uid = it->uid;
	return 0;
}

/* ---- writing ------------------------------------------------------------------ */

int mbox_sink_open(struct sink *s, char *err, size_t size)
{
	char *slash = strrchr(s->path, '/');

	if (slash != NULL && slash != s->path) {
		*slash = '\0';
		int r = source_make_dirs(s->path);

		*slash = '/';
		if (r < 0) {
			snprintf(err, size, "cannot create the directories of %s: %s", s->path,
				 strerror(-r));
			return -1;
		}
	}
	s->mbox = fopen(s->path, "wx");
	if (s->mbox == NULL) {
		snprintf(err, size, "cannot create %s: %s", s->path, strerror(errno));
		return -1;
	}
	return 0;
}

int mbox_sink_put(struct sink *s, const struct msg *m, char *err, size_t size)
{
	FILE *f = s->mbox;
	time_t when = (time_t)m->date;
	struct tm tm;
	char date[64];

	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	fprintf(f, "From MAILER-DAEMON %s\n", date);
	/* the metadata first: the reader (this one, Dovecot) takes them out again */
	if (s->count == 0 && s->uidvalidity != 0)
		fprintf(f, "X-IMAPbase: %u %010u\n", s->uidvalidity,
			s->uidnext > 0 ? s->uidnext - 1 : 0);
	fprintf(f, "Status: %sO\n", (m->flags & UIMAP_FLAG_SEEN) != 0 ? "R" : "");
	if ((m->flags & (UIMAP_FLAG_FLAGGED | UIMAP_FLAG_ANSWERED | UIMAP_FLAG_DRAFT |
			 UIMAP_FLAG_DELETED)) != 0)
		fprintf(f, "X-Status: %s%s%s%s\n", (m->flags & UIMAP_FLAG_DRAFT) ? "T" : "",
			(m->flags & UIMAP_FLAG_FLAGGED) ? "F" : "",
			(m->flags & UIMAP_FLAG_ANSWERED) ? "A" : "",
			(m->flags & UIMAP_FLAG_DELETED) ? "D" : "");
	if (m->n_keywords > 0) {
		fputs("X-Keywords:", f);
		for (size_t i = 0; i < m->n_keywords; i++)
			fprintf(f, " %s", m->keywords[i]);
		fputc('\n', f);
	}
	if (m->uid != 0)
		fprintf(f, "X-UID: %u\n", m->uid);
	for (size_t i = 0; i < m->len;) {
		const char *line = m->data + i, *e = memchr(line, '\n', m->len - i);
		size_t ln = e != NULL ? (size_t)(e - line) : m->len - i, k = 0;
		size_t text = e != NULL && ln > 0 && line[ln - 1] == '\r' ? ln - 1 : ln;

		/* mboxrd: a line ">*From " gets one more '>' */
		while (k < text && line[k] == '>')
			k++;
		if (text - k >= 5 && memcmp(line + k, "From ", 5) == 0)
			fputc('>', f);
		fwrite(line, 1, text, f);
		if (e != NULL)
			fputc('\n', f);
		i += ln + (e != NULL ? 1 : 0);
	}
	/* the separator: the reader takes one LF off (a last line without one stays
	   so, except in the file's last message) */
	fputc('\n', f);
	if (ferror(f)) {
		snprintf(err, size, "cannot write %s: %s", s->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* An empty mailbox has no first message for X-IMAPbase: UW-IMAP's pseudo message
   keeps its UIDVALIDITY and UIDNEXT (Dovecot and this reader skip it). */
static void mbox_pseudo_message(struct sink *s)
{
	/* dated at the epoch: the same mailbox exports to the same bytes */
	fprintf(s->mbox, "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n"
		"Date: Thu, 01 Jan 1970 00:00:00 +0000\n"
		"From: Mail System Internal Data <MAILER-DAEMON@localhost>\n"
		"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n"
		"X-IMAP: %u %010u\nStatus: RO\n\n"
		"This text is part of the internal format of your mail folder, and is not\n"
		"a real message.  It is created automatically by the mail system software.\n"
		"If deleted, important folder data will be lost, and it will be re-created\n"
		"with the data reset to initial values.\n\n", s->uidvalidity,
		s->uidnext > 0 ? s->uidnext - 1 : 0);
}

int mbox_sink_close(struct sink *s, char *err, size_t size)
{
	FILE *f = s->mbox;

	if (s->count == 0 && s->uidvalidity != 0)
		mbox_pseudo_message(s);
	s->mbox = NULL;
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		snprintf(err, size, "cannot write %s: %s", s->path, strerror(errno));
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0) {
		snprintf(err, size, "cannot write %s: %s", s->path, strerror(errno));
		return -1;
	}
	return 0;
}
