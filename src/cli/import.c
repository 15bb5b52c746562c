/* uimapctl import / export: mbox files and Maildirs into a running server, through IMAP
   APPEND (LITERAL+), and back out through FETCH, keeping flags, keywords and
   INTERNALDATE; an export also keeps the UIDs and UIDVALIDITY for an offline import. */
#include "cli/import.h"
#include "cli/progress.h"
#include "cli/source.h"

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

/* APPEND m to mailbox with its flags, keywords and date (0: now). */
static int imap_append(struct imap *c, const char *mailbox, const struct msg *m, char *err,
		       size_t err_size)
{
	char qm[1100], date[64] = "", flags[4096], head[6000], line[2048];
	quote(qm, sizeof(qm), mailbox);
	if (m->date > 0) {
		time_t when = (time_t)m->date;
		struct tm tm;
		gmtime_r(&when, &tm);
		strftime(date, sizeof(date), " \"%d-%b-%Y %H:%M:%S +0000\"", &tm);
	}
	msg_flag_list(m, flags, sizeof(flags));
	int n = snprintf(head, sizeof(head), "u%u APPEND %s (%s)%s {%zu+}\r\n", ++c->tag, qm,
			 flags, date, m->len);
	if (send_all(c, head, (size_t)n) < 0 || send_all(c, m->data, m->len) < 0 ||
	    send_all(c, "\r\n", 2) < 0 || tagged(c, c->tag, line, sizeof(line)) < 0) {
		snprintf(err, err_size, "APPEND to %s: %s", mailbox, line);
		return -1;
	}
	return 0;
}
int import_run(const struct import_args *a)
{
	struct imap c = { .fd = -1 };
	struct source src;
	struct progress pg;
	struct msg m = { 0 };
	char err[1024] = "";
	size_t count = 0, bad_keywords = 0;
	int r = 0;

	if (source_open(a->source, &src, err, sizeof(err)) < 0) {
		fprintf(stderr, "uimapctl: %s\n", err);
		return 1;
	}
	if (imap_connect(&c, a->host, a->port, a->user, a->password, err, sizeof(err)) < 0) {
		fprintf(stderr, "uimapctl: %s\n", err);
		if (c.fd >= 0)
			close(c.fd);
		source_close(&src);
		return 1;
	}
	imap_create(&c, a->mailbox);
	progress_start(&pg, "import", src.n, false);
	for (size_t i = 0; i < src.n && r == 0; i++) {
		r = source_read(&src, i, &m, err, sizeof(err));
		bad_keywords += m.bad_keywords;
		if (r == 0)
			r = imap_append(&c, a->mailbox, &m, err, sizeof(err));
		if (r == 0)
			count++;
		progress_set(&pg, count);
	}
	progress_end(&pg);
	msg_clear(&m);
	source_close(&src);
	char line[256];
	int n = snprintf(line, sizeof(line), "u%u LOGOUT\r\n", ++c.tag);
	(void)send_all(&c, line, (size_t)n);
	close(c.fd);
	if (r < 0) {
		fprintf(stderr, "uimapctl: %s (%zu message(s) imported before)\n", err, count);
		return 1;
	}
	if (bad_keywords > 0)
		fprintf(stderr, "uimapctl: warning: %zu keyword(s) left out: not IMAP atoms\n",
			bad_keywords);
	printf("%zu message(s) imported into %s\n", count, a->mailbox);
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

/* The number after "[KEY " in an untagged OK line (0 when not there). */
static uint32_t resp_code(const char *line, const char *key)
{
	const char *p = strstr(line, key);
	return p != NULL ? (uint32_t)strtoul(p + strlen(key), NULL, 10) : 0;
}

/* The FETCH line's items (before its literal) into m: UID, FLAGS, INTERNALDATE. */
static int parse_fetch(const char *line, struct msg *m)
{
	const char *uid = strstr(line, "UID ");
	if (uid != NULL && (uid[-1] == '(' || uid[-1] == ' '))
		m->uid = (uint32_t)strtoul(uid + 4, NULL, 10);
	const char *fl = strstr(line, "FLAGS (");
	if (fl != NULL) {
		const char *p = fl + 7, *end = strchr(p, ')');
		while (end != NULL && p < end) {
			const char *w = p;
			while (w < end && *w != ' ')
				w++;
			if (msg_parse_flag(m, p, (size_t)(w - p)) < 0)
				return -1;
			p = w + 1;
		}
	}
	const char *id = strstr(line, "INTERNALDATE \"");
	struct tm tm = { 0 };
	if (id != NULL && strlen(id) > 39 &&
	    strptime(id + 14, "%d-%b-%Y %H:%M:%S", &tm) != NULL) {
		/* "dd-Mon-yyyy hh:mm:ss +hhmm": the zone after the time */
		int sign = id[35] == '-' ? 1 : -1;
		m->date = (int64_t)timegm(&tm) +
			  sign * ((id[36] - '0') * 600 + (id[37] - '0') * 60 +
				  (id[38] - '0') * 10 + (id[39] - '0')) * 60;
	}
	return 0;
}

int export_run(const struct import_args *a)
{
	struct imap c = { .fd = -1 };
	struct sink *sink = NULL;
	struct progress pg = { 0 };
	struct msg m = { 0 };
	char err[1024] = "", line[65536];
	uint32_t uidvalidity = 0, uidnext = 0, exists = 0;
	unsigned count = 0;
	size_t dropped = 0;
	int ret = 1;

	if (imap_connect(&c, a->host, a->port, a->user, a->password, err, sizeof(err)) < 0)
		goto out;
	char qm[1100], cmd[1300];
	quote(qm, sizeof(qm), a->mailbox);
	int n = snprintf(cmd, sizeof(cmd), "u%u EXAMINE %s\r\n", ++c.tag, qm);
	if (send_all(&c, cmd, (size_t)n) < 0)
		goto out;
	/* UIDVALIDITY and UIDNEXT go into the export, so an import keeps the UIDs */
	for (;;) {
		if (read_line(&c, line, sizeof(line)) < 0) {
			snprintf(err, sizeof(err), "connection closed");
			goto out;
		}
		if (strncmp(line, "* ", 2) == 0) {
			uidvalidity = uidvalidity ? uidvalidity : resp_code(line, "[UIDVALIDITY ");
			uidnext = uidnext ? uidnext : resp_code(line, "[UIDNEXT ");
			if (strstr(line, " EXISTS") != NULL)
				exists = (uint32_t)strtoul(line + 2, NULL, 10);
			continue;
		}
		char want[16];
		int wn = snprintf(want, sizeof(want), "u%u ", c.tag);
		if (strncmp(line, want, (size_t)wn) == 0) {
			if (strncmp(line + wn, "OK", 2) == 0)
				break;
			snprintf(err, sizeof(err), "EXAMINE %.200s: %.500s", a->mailbox, line);
			goto out;
		}
	}
	if (sink_open(&sink, a->source, a->maildir, uidvalidity, uidnext, err, sizeof(err)) < 0)
		goto out;
	n = snprintf(cmd, sizeof(cmd), "u%u UID FETCH 1:* (FLAGS INTERNALDATE BODY.PEEK[])\r\n",
		     ++c.tag);
	if (send_all(&c, cmd, (size_t)n) < 0)
		goto out;
	char want[16];
	int wn = snprintf(want, sizeof(want), "u%u ", c.tag);
	progress_start(&pg, "export", exists, false);
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
		msg_clear(&m);
		m.len = strtoul(lit + 1, NULL, 10);
		m.data = malloc(m.len + 1);
		if (m.data == NULL || read_bytes(&c, m.data, m.len) < 0) {
			snprintf(err, sizeof(err), "short literal");
			goto out;
		}
		*lit = '\0';
		if (parse_fetch(line, &m) < 0 || sink_put(sink, &m, err, sizeof(err)) < 0)
			goto out;
		count++;
		progress_set(&pg, count);
		(void)read_line(&c, line, sizeof(line));   /* the ")" after the literal */
	}
out:
	progress_end(&pg);
	msg_clear(&m);
	if (c.fd >= 0) {
		int k = snprintf(cmd, sizeof(cmd), "u%u LOGOUT\r\n", ++c.tag);
		(void)send_all(&c, cmd, (size_t)k);
		close(c.fd);
	}
	char cerr[512];
	if (sink != NULL && sink_close(&sink, &dropped, cerr, sizeof(cerr)) < 0 && ret == 0) {
		snprintf(err, sizeof(err), "%s", cerr);
		ret = 1;
	}
	if (ret != 0) {
		fprintf(stderr, "uimapctl: %s (%u message(s) exported before)\n", err, count);
		return 1;
	}
	if (dropped > 0)
		fprintf(stderr, "uimapctl: warning: %zu keyword use(s) not kept (a Maildir names "
			"at most 26 keywords)\n", dropped);
	printf("%u message(s) exported from %s\n", count, a->mailbox);
	return 0;
}
