/* uimapctl import / export: mbox files and Maildirs into a running server, through IMAP
   APPEND (LITERAL+), and back out through FETCH, keeping flags and INTERNALDATE. */
#include "cli/import.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

struct imap {
	int fd;
	char buf[65536];
	size_t len;
	unsigned tag;
};

static int send_all(struct imap *c, const void *data, size_t n)
{
	const char *p = data;
	while (n > 0) {
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The next response line (CRLF stripped) into line; -1 on EOF or error. */
static int read_line(struct imap *c, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf) + 1;
			size_t copy = n - 1 < size - 1 ? n - 1 : size - 1;
			memcpy(line, c->buf, copy);
			if (copy > 0 && line[copy - 1] == '\r')
				copy--;
			line[copy] = '\0';
			memmove(c->buf, c->buf + n, c->len - n);
			c->len -= n;
			return 0;
		}
		if (c->len == sizeof(c->buf))
			c->len = 0;   /* an endless line: drop it */
		ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

/* Wait for the tagged reply of tag; returns 0 for OK, -1 otherwise (text in line). */
static int tagged(struct imap *c, unsigned tag, char *line, size_t size)
{
	char want[16];
	int n = snprintf(want, sizeof(want), "u%u ", tag);
	while (read_line(c, line, size) == 0)
		if (strncmp(line, want, (size_t)n) == 0)
			return strncmp(line + n, "OK", 2) == 0 ? 0 : -1;
	snprintf(line, size, "connection closed");
	return -1;
}

static void quote(char *out, size_t size, const char *s)
{
	size_t o = 0;
	out[o++] = '"';
	for (; *s && o + 3 < size; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	out[o++] = '"';
	out[o] = '\0';
}

static int imap_connect(struct imap *c, const char *host, const char *port, const char *user,
			const char *password, char *err, size_t err_size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	if (getaddrinfo(host, port, &hints, &ai) != 0) {
		snprintf(err, err_size, "cannot resolve %s", host);
		return -1;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		snprintf(err, err_size, "cannot connect to %s:%s: %s", host, port, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	char line[2048], qu[600], qp[600];
	if (read_line(c, line, sizeof(line)) < 0 || strncmp(line, "* OK", 4) != 0) {
		snprintf(err, err_size, "no greeting");
		return -1;
	}
	quote(qu, sizeof(qu), user);
	quote(qp, sizeof(qp), password);
	char cmd[1300];
	int n = snprintf(cmd, sizeof(cmd), "u%u LOGIN %s %s\r\n", ++c->tag, qu, qp);
	if (send_all(c, cmd, (size_t)n) < 0 || tagged(c, c->tag, line, sizeof(line)) < 0) {
		snprintf(err, err_size, "login failed: %s", line);
		return -1;
	}
	return 0;
}

/* CREATE mailbox (an existing one is fine). */
static void imap_create(struct imap *c, const char *mailbox)
{
	char line[2048], qm[1100], cmd[1200];
	quote(qm, sizeof(qm), mailbox);
	int n = snprintf(cmd, sizeof(cmd), "u%u CREATE %s\r\n", ++c->tag, qm);
	if (send_all(c, cmd, (size_t)n) == 0)
		(void)tagged(c, c->tag, line, sizeof(line));
}

/* APPEND one message with flags ("\\Seen \\Flagged") and time (0: now). */
static int imap_append(struct imap *c, const char *mailbox, const char *flags, time_t when,
		       const char *msg, size_t len, char *err, size_t err_size)
{
	char qm[1100], date[64] = "", head[1400], line[2048];
	quote(qm, sizeof(qm), mailbox);
	if (when > 0) {
		struct tm tm;
		gmtime_r(&when, &tm);
		strftime(date, sizeof(date), " \"%d-%b-%Y %H:%M:%S +0000\"", &tm);
	}
	int n = snprintf(head, sizeof(head), "u%u APPEND %s (%s)%s {%zu+}\r\n", ++c->tag, qm,
			 flags, date, len);
	if (send_all(c, head, (size_t)n) < 0 || send_all(c, msg, len) < 0 ||
	    send_all(c, "\r\n", 2) < 0 || tagged(c, c->tag, line, sizeof(line)) < 0) {
		snprintf(err, err_size, "APPEND to %s: %s", mailbox, line);
		return -1;
	}
	return 0;
}

/* The message with bare LFs made CRLF (IMAP wants CRLF lines). */
static char *to_crlf(const char *s, size_t len, size_t *len_r)
{
	char *out = malloc(2 * len + 1);
	size_t o = 0;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = s[i];
	}
	*len_r = o;
	return out;
}

static char *slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 65536;
			char *n = realloc(data, cap + 1);
			if (n == NULL) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = n;
		}
		size_t r = fread(data + len, 1, cap - len, f);
		if (r == 0)
			break;
		len += r;
	}
	fclose(f);
	data[len] = '\0';
	*len_r = len;
	return data;
}

/* Flags of an mbox message from its Status: / X-Status: headers (mutt, Thunderbird). */
static void mbox_flags(const char *msg, size_t len, char *flags, size_t size)
{
	flags[0] = '\0';
	const char *end = msg + len;
	for (const char *p = msg; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n == 0 || (n == 1 && p[0] == '\r'))
			break;   /* end of the header */
		bool status = n > 7 && strncasecmp(p, "Status:", 7) == 0;
		bool xstatus = n > 9 && strncasecmp(p, "X-Status:", 9) == 0;
		if (status || xstatus) {
			for (size_t i = status ? 7 : 9; i < n; i++) {
				const char *f = p[i] == 'R' && status ? "\\Seen" :
						p[i] == 'A' && xstatus ? "\\Answered" :
						p[i] == 'F' && xstatus ? "\\Flagged" :
						p[i] == 'D' && xstatus ? "\\Deleted" :
						p[i] == 'T' && xstatus ? "\\Draft" : NULL;
				if (f != NULL && strstr(flags, f) == NULL)
					snprintf(flags + strlen(flags), size - strlen(flags), "%s%s",
						 flags[0] ? " " : "", f);
			}
		}
		p += n + 1;
	}
}

/* "From sender Mon Jan  2 10:00:00 2023" -> its time (UTC assumed), 0 when unreadable. */
static time_t from_line_time(const char *line, size_t n)
{
	char copy[256];
	if (n >= sizeof(copy))
		n = sizeof(copy) - 1;
	memcpy(copy, line, n);
	copy[n] = '\0';
	char *sp = strchr(copy + 5, ' ');
	struct tm tm = { 0 };
	if (sp == NULL || strptime(sp + 1, "%a %b %d %H:%M:%S %Y", &tm) == NULL)
		return 0;
	return timegm(&tm);
}

static int import_mbox(struct imap *c, const char *path, const char *mailbox, unsigned *count,
		       char *err, size_t err_size)
{
	size_t len;
	char *data = slurp(path, &len);
	if (data == NULL) {
		snprintf(err, err_size, "cannot read %s", path);
		return -1;
	}
	if (len < 5 || strncmp(data, "From ", 5) != 0) {
		free(data);
		snprintf(err, err_size, "%s is not an mbox (no \"From \" line first)", path);
		return -1;
	}
	char *end = data + len, *p = data;
	while (p < end) {
		/* p: a "From " line; the message runs to the next "\nFrom " */
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		time_t when = from_line_time(p, (size_t)(nl - p));
		char *body = nl + 1, *next = body;
		while ((next = strstr(next, "\nFrom ")) != NULL && next < end) {
			next++;
			break;
		}
		char *stop = next != NULL ? next : end;
		/* unescape ">From " (mboxrd/mboxo) and drop the separating blank line */
		size_t n = (size_t)(stop - body);
		char *msg = malloc(n + 1), *o = msg;
		for (char *q = body; q < stop;) {
			char *e = memchr(q, '\n', (size_t)(stop - q));
			size_t ln = e ? (size_t)(e - q) + 1 : (size_t)(stop - q);
			const char *s = q;
			if (ln > 1 && s[0] == '>') {
				size_t k = 0;
				while (k < ln && s[k] == '>')
					k++;
				if (ln - k >= 5 && strncmp(s + k, "From ", 5) == 0) {
					s++;
					ln--;
				}
			}
			memcpy(o, s, ln);
			o += ln;
			q = e ? e + 1 : stop;
		}
		size_t mlen = (size_t)(o - msg);
		/* the blank line before the next "From " (or at the end, when there is one) */
		if (mlen > 0 && msg[mlen - 1] == '\n' &&
		    (next != NULL || (mlen > 1 && msg[mlen - 2] == '\n')))
			mlen--;
		if (mlen > 0 && msg[mlen - 1] == '\r')
			mlen--;
		char flags[128];
		mbox_flags(msg, mlen, flags, sizeof(flags));
		size_t clen;
		char *crlf = to_crlf(msg, mlen, &clen);
		free(msg);
		int r = crlf ? imap_append(c, mailbox, flags, when, crlf, clen, err, err_size) : -1;
		free(crlf);
		if (r < 0) {
			free(data);
			return -1;
		}
		(*count)++;
		p = stop;
	}
	free(data);
	return 0;
}

/* Maildir flags from the name's ":2,FRS" part (RFC-less but universal). */
static void maildir_flags(const char *name, char *flags, size_t size)
{
	flags[0] = '\0';
	const char *info = strstr(name, ":2,");
	for (const char *p = info ? info + 3 : ""; *p; p++) {
		const char *f = *p == 'S' ? "\\Seen" : *p == 'R' ? "\\Answered" :
				*p == 'F' ? "\\Flagged" : *p == 'T' ? "\\Deleted" :
				*p == 'D' ? "\\Draft" : NULL;
		if (f != NULL)
			snprintf(flags + strlen(flags), size - strlen(flags), "%s%s",
				 flags[0] ? " " : "", f);
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int import_maildir(struct imap *c, const char *dir, const char *mailbox,
			  unsigned *count, char *err, size_t err_size)
{
	static const char *const subs[] = { "cur", "new" };
	for (int s = 0; s < 2; s++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, subs[s]);
		DIR *d = opendir(path);
		if (d == NULL) {
			snprintf(err, err_size, "%s is not a Maildir (no %s/)", dir, subs[s]);
			return -1;
		}
		char **names = NULL;
		size_t n = 0, cap = 0;
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				names = realloc(names, cap * sizeof(*names));
			}
			names[n++] = strdup(e->d_name);
		}
		closedir(d);
		/* delivery order: the names start with the delivery time */
		qsort(names, n, sizeof(*names), name_cmp);
		int ret = 0;
		for (size_t i = 0; i < n && ret == 0; i++) {
			char file[8192];
			snprintf(file, sizeof(file), "%s/%s", path, names[i]);
			struct stat st;
			size_t len, clen;
			char *data = slurp(file, &len), *crlf = data ? to_crlf(data, len, &clen) : NULL;
			char flags[128];
			maildir_flags(names[i], flags, sizeof(flags));
			time_t when = stat(file, &st) == 0 ? st.st_mtime : 0;
			ret = crlf ? imap_append(c, mailbox, flags, when, crlf, clen, err, err_size) : -1;
			if (crlf == NULL)
				snprintf(err, err_size, "cannot read %s", file);
			if (ret == 0)
				(*count)++;
			free(data);
			free(crlf);
		}
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		if (ret < 0)
			return -1;
	}
	return 0;
}

int import_run(const struct import_args *a)
{
	struct imap c = { .fd = -1 };
	char err[1024] = "";
	unsigned count = 0;
	struct stat st;
	if (stat(a->source, &st) < 0) {
		fprintf(stderr, "uimapctl: cannot read %s: %s\n", a->source, strerror(errno));
		return 1;
	}
	if (imap_connect(&c, a->host, a->port, a->user, a->password, err, sizeof(err)) < 0) {
		fprintf(stderr, "uimapctl: %s\n", err);
		if (c.fd >= 0)
			close(c.fd);
		return 1;
	}
	imap_create(&c, a->mailbox);
	int r = S_ISDIR(st.st_mode)
		? import_maildir(&c, a->source, a->mailbox, &count, err, sizeof(err))
		: import_mbox(&c, a->source, a->mailbox, &count, err, sizeof(err));
	char line[256];
	int n = snprintf(line, sizeof(line), "u%u LOGOUT\r\n", ++c.tag);
	(void)send_all(&c, line, (size_t)n);
	close(c.fd);
	if (r < 0) {
		fprintf(stderr, "uimapctl: %s (%u message(s) imported before)\n", err, count);
		return 1;
	}
	printf("%u message(s) imported into %s\n", count, a->mailbox);
	return 0;
}

/* ---- export ---- */

/* Read exactly n bytes of a literal into out. */
static int read_bytes(struct imap *c, char *out, size_t n)
{
	size_t have = c->len < n ? c->len : n;
	memcpy(out, c->buf, have);
	memmove(c->buf, c->buf + have, c->len - have);
	c->len -= have;
	while (have < n) {
		ssize_t r = recv(c->fd, out + have, n - have, 0);
		if (r <= 0)
			return -1;
		have += (size_t)r;
	}
	return 0;
}

/* The letters for flags ("(\Seen \Flagged)"): Maildir's in its order, or mbox's. */
static void flag_letters(const char *flags, bool maildir, char *out, size_t size)
{
	static const struct {
		const char *name;
		char maildir, mbox;   /* mbox: 'R' in Status, the others in X-Status */
	} map[] = { { "\\Draft", 'D', 'T' }, { "\\Flagged", 'F', 'F' },
		    { "\\Answered", 'R', 'A' }, { "\\Seen", 'S', 'R' },
		    { "\\Deleted", 'T', 'D' } };
	size_t o = 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]) && o + 1 < size; i++)
		if (strstr(flags, map[i].name) != NULL)
			out[o++] = maildir ? map[i].maildir : map[i].mbox;
	out[o] = '\0';
}

static int write_maildir(const char *dir, unsigned n, const char *flags, time_t when,
			 const char *msg, size_t len)
{
	char letters[16], path[4096];
	flag_letters(flags, true, letters, sizeof(letters));
	snprintf(path, sizeof(path), "%s/cur/%ld.%u.uimapctl:2,%s", dir, (long)when, n, letters);
	FILE *f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	/* Maildir keeps LF lines */
	for (size_t i = 0; i < len; i++)
		if (!(msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n'))
			fputc(msg[i], f);
	if (fclose(f) != 0)
		return -1;
	struct timeval tv[2] = { { when, 0 }, { when, 0 } };
	utimes(path, tv);
	return 0;
}

static void write_mbox(FILE *f, const char *flags, time_t when, const char *msg, size_t len)
{
	struct tm tm;
	char date[64], letters[16];
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	fprintf(f, "From MAILER-DAEMON %s\n", date);
	bool in_header = true;
	for (size_t i = 0; i < len;) {
		const char *e = memchr(msg + i, '\n', len - i);
		size_t ln = e ? (size_t)(e - (msg + i)) : len - i;
		size_t text = ln > 0 && msg[i + ln - 1] == '\r' ? ln - 1 : ln;
		if (in_header && text == 0) {
			/* the flags as mutt and Thunderbird keep them, before the body */
			flag_letters(flags, false, letters, sizeof(letters));
			char status[4] = "", xstatus[8] = "";
			for (const char *p = letters; *p; p++) {
				if (*p == 'R')
					strcat(status, "R");
				else if (strlen(xstatus) < sizeof(xstatus) - 1)
					strncat(xstatus, p, 1);
			}
			fprintf(f, "Status: %sO\n", status);
			if (xstatus[0])
				fprintf(f, "X-Status: %s\n", xstatus);
			in_header = false;
		}
		/* mboxrd: a line ">*From " gets one more '>' */
		size_t k = 0;
		while (k < text && msg[i + k] == '>')
			k++;
		if (text - k >= 5 && strncmp(msg + i + k, "From ", 5) == 0)
			fputc('>', f);
		fwrite(msg + i, 1, text, f);
		fputc('\n', f);
		i += ln + (e ? 1 : 0);
	}
	fputc('\n', f);
}

int export_run(const struct import_args *a, bool maildir)
{
	struct imap c = { .fd = -1 };
	char err[1024] = "", line[65536];
	unsigned count = 0;
	FILE *mbox = NULL;
	if (maildir) {
		char sub[4096];
		mkdir(a->source, 0700);
		for (int i = 0; i < 3; i++) {
			snprintf(sub, sizeof(sub), "%s/%s", a->source, i == 0 ? "cur" : i == 1 ? "new" : "tmp");
			if (mkdir(sub, 0700) < 0 && errno != EEXIST) {
				fprintf(stderr, "uimapctl: cannot create %s: %s\n", sub, strerror(errno));
				return 1;
			}
		}
	} else if ((mbox = fopen(a->source, "wx")) == NULL) {
		fprintf(stderr, "uimapctl: cannot create %s: %s\n", a->source, strerror(errno));
		return 1;
	}
	int ret = 1;
	if (imap_connect(&c, a->host, a->port, a->user, a->password, err, sizeof(err)) < 0)
		goto out;
	char qm[1100], cmd[1300];
	quote(qm, sizeof(qm), a->mailbox);
	int n = snprintf(cmd, sizeof(cmd), "u%u EXAMINE %s\r\n", ++c.tag, qm);
	if (send_all(&c, cmd, (size_t)n) < 0 || tagged(&c, c.tag, line, sizeof(line)) < 0) {
		snprintf(err, sizeof(err), "EXAMINE %.200s: %.500s", a->mailbox, line);
		goto out;
	}
	n = snprintf(cmd, sizeof(cmd), "u%u UID FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])\r\n",
		     ++c.tag);
	if (send_all(&c, cmd, (size_t)n) < 0)
		goto out;
	char want[16];
	int wn = snprintf(want, sizeof(want), "u%u ", c.tag);
	for (;;) {
		if (read_line(&c, line, sizeof(line)) < 0) {
			snprintf(err, sizeof(err), "connection closed");
			goto out;
		}
		if (strncmp(line, want, (size_t)wn) == 0) {
			/* an empty mailbox answers its "1:*" with BAD or NO: nothing to export */
			ret = 0;
			break;
		}
		char *lit = strrchr(line, '{');
		if (strncmp(line, "* ", 2) != 0 || strstr(line, " FETCH (") == NULL || lit == NULL)
			continue;
		size_t len = strtoul(lit + 1, NULL, 10);
		char *msg = malloc(len + 1);
		if (msg == NULL || read_bytes(&c, msg, len) < 0) {
			free(msg);
			snprintf(err, sizeof(err), "short literal");
			goto out;
		}
		char flags[512] = "";
		char *fl = strstr(line, "FLAGS (");
		if (fl != NULL) {
			size_t fn = strcspn(fl + 7, ")");
			snprintf(flags, sizeof(flags), "%.*s", (int)fn, fl + 7);
		}
		time_t when = 0;
		char *id = strstr(line, "INTERNALDATE \"");
		struct tm tm = { 0 };
		if (id != NULL && strptime(id + 14, "%d-%b-%Y %H:%M:%S", &tm) != NULL) {
			when = timegm(&tm);
			int sign = id[35] == '-' ? 1 : -1;   /* "+hhmm" after the time */
			if (strlen(id) > 39)
				when += sign * ((id[36] - '0') * 600 + (id[37] - '0') * 60 +
						(id[38] - '0') * 10 + (id[39] - '0')) * 60;
		}
		if (maildir ? write_maildir(a->source, count, flags, when, msg, len) < 0
			    : (write_mbox(mbox, flags, when, msg, len), ferror(mbox) != 0)) {
			free(msg);
			snprintf(err, sizeof(err), "cannot write into %s", a->source);
			goto out;
		}
		free(msg);
		count++;
		(void)read_line(&c, line, sizeof(line));   /* the ")" after the literal */
	}
out:
	if (c.fd >= 0) {
		n = snprintf(cmd, sizeof(cmd), "u%u LOGOUT\r\n", ++c.tag);
		(void)send_all(&c, cmd, (size_t)n);
		close(c.fd);
	}
	if (mbox != NULL && fclose(mbox) != 0 && ret == 0) {
		snprintf(err, sizeof(err), "cannot write %s", a->source);
		ret = 1;
	}
	if (ret != 0) {
		fprintf(stderr, "uimapctl: %s (%u message(s) exported before)\n", err, count);
		return 1;
	}
	printf("%u message(s) exported from %s\n", count, a->mailbox);
	return 0;
}
