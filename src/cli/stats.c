/* uimapctl stats: GET /metrics from a running uimapd and a short human summary of the
   exposition (or the text itself with --raw). */
#include "cli/fail.h"
#include "cli/stats.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define RESPONSE_MAX (64u * 1024 * 1024)
#define TIMEOUT_S 10

#define fail cli_fail

/* ---- fetching ------------------------------------------------------------------- */

/* The whole HTTP response of GET /metrics (malloc'd, NUL-terminated) or NULL with a
   message printed. */
static char *http_get(const char *host, const char *port, size_t *len_r)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0) {
		fail("cannot resolve %s: %s", host, gai_strerror(gai));
		return NULL;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = { .tv_sec = TIMEOUT_S };
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		fail("cannot connect to %s port %s: %s (is uimapd running with "
		     "--metrics-listen?)", host, port, strerror(errno));
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	freeaddrinfo(ai);
	char req[600];
	bool v6 = strchr(host, ':') != NULL;
	int n = snprintf(req, sizeof(req),
			 "GET /metrics HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: uimapctl\r\n"
			 "Accept: text/plain\r\nConnection: close\r\n\r\n",
			 v6 ? "[" : "", host, v6 ? "]" : "", port);
	if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		fail("cannot send the request to %s port %s", host, port);
		close(fd);
		return NULL;
	}
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	for (;;) {
		if (buf == NULL) {
			fail("out of memory");
			close(fd);
			return NULL;
		}
		if (len + 1 == cap) {
			if (cap >= RESPONSE_MAX) {
				free(buf);
				close(fd);
				fail("the response is too large");
				return NULL;
			}
			cap *= 2;
			char *nb = realloc(buf, cap);
			if (nb == NULL)
				free(buf);
			buf = nb;
			continue;
		}
		ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail("reading from %s port %s: %s", host, port, strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		/* another protocol (an IMAP greeting) would keep the connection open */
		if (strncmp(buf, "HTTP/", len < 5 ? len : 5) != 0)
			break;
	}
	close(fd);
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

/* The body of a 200 response (in resp), or NULL with a message. */
static const char *http_body(const char *resp, size_t len, size_t *body_len_r)
{
	const char *end = strstr(resp, "\r\n\r\n");
	if (strncmp(resp, "HTTP/1.", 7) != 0 || end == NULL)
		return fail("not an HTTP response"), NULL;
	if (strncmp(resp + 8, " 200", 4) != 0) {
		int n = (int)strcspn(resp, "\r\n");
		return fail("the server answered \"%.*s\"", n, resp), NULL;
	}
	*body_len_r = len - (size_t)(end + 4 - resp);
	return end + 4;
}

/* ---- the exposition ---------------------------------------------------------------- */

struct sample {
	char name[96];
	char labels[192];     /* inside the braces, "" for none */
	double value;
};

struct samples {
	struct sample *v;
	size_t n, cap;
};

/* Parse "name{labels} value" lines (comments and malformed lines are skipped). */
static void parse_exposition(char *text, struct samples *s)
{
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		if (line[0] == '#' || line[0] == '\0')
			continue;
		struct sample x = { .labels = "" };
		size_t n = strcspn(line, "{ ");
		if (n == 0 || n >= sizeof(x.name))
			continue;
		memcpy(x.name, line, n);
		char *p = line + n;
		if (*p == '{') {
			char *q = ++p;
			bool quoted = false;
			for (; *q != '\0' && (quoted || *q != '}'); q++) {
				if (quoted && *q == '\\' && q[1] != '\0')
					q++;
				else if (*q == '"')
					quoted = !quoted;
			}
			if (*q != '}' || (size_t)(q - p) >= sizeof(x.labels))
				continue;
			memcpy(x.labels, p, (size_t)(q - p));
			p = q + 1;
		}
		if (*p != ' ')
			continue;
		char *end;
		x.value = strtod(p + 1, &end);
		if (end == p + 1)
			continue;
		if (s->n == s->cap) {
			s->cap = s->cap ? s->cap * 2 : 256;
			struct sample *nv = realloc(s->v, s->cap * sizeof(*s->v));
			if (nv == NULL)
				return;
			s->v = nv;
		}
		s->v[s->n++] = x;
	}
}

/* The value of name{labels} (labels exactly as written), NAN when absent. */
static double get(const struct samples *s, const char *name, const char *labels)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0 && strcmp(s->v[i].labels, labels) == 0)
			return s->v[i].value;
	return NAN;
}

/* The sum of every name sample whose labels contain part ("" : all). */
static double sum(const struct samples *s, const char *name, const char *part)
{
	double t = 0;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0 && strstr(s->v[i].labels, part) != NULL)
			t += s->v[i].value;
	return t;
}

/* The value of label key in labels (unescaped, into out), or false. */
static bool label(const char *labels, const char *key, char *out, size_t size)
{
	size_t k = strlen(key);
	for (const char *p = labels; *p != '\0';) {
		bool match = strncmp(p, key, k) == 0 && p[k] == '=' && p[k + 1] == '"';
		const char *v = strchr(p, '"');
		if (v == NULL)
			return false;
		size_t o = 0;
		for (v++; *v != '\0' && *v != '"'; v++) {
			if (*v == '\\' && v[1] != '\0')
				v++;
			if (o + 1 < size)
				out[o++] = *v;
		}
		if (match) {
			out[o] = '\0';
			return true;
		}
		if (*v == '\0')
			return false;
		p = v + 1;
		if (*p == ',')
			p++;
	}
	return false;
}

static const char *human_bytes(double b, char *out, size_t size)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;
	if (isnan(b))
		return "-";
	while (b >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		b /= 1024;
		u++;
	}
	snprintf(out, size, u == 0 ? "%.0f %s" : "%.1f %s", b, unit[u]);
	return out;
}

static const char *num(double v, char *out, size_t size)
{
	if (isnan(v))
		return "-";
	snprintf(out, size, "%.0f", v);
	return out;
}

struct command_total {
	char name[64];
	double count;
};

static int by_count(const void *a, const void *b)
{
	const struct command_total *x = a, *y = b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* The smallest bucket bound holding fraction q of a command's observations. */
static const char *quantile_le(const struct samples *s, const char *cmd, double q)
{
	char want[96];
	double count = NAN;
	snprintf(want, sizeof(want), "command=\"%s\"", cmd);
	count = get(s, "uimap_command_duration_seconds_count", want);
	if (isnan(count) || count == 0)
		return NULL;
	snprintf(want, sizeof(want), "command=\"%s\",le=", cmd);
	for (size_t i = 0; i < s->n; i++) {
		const struct sample *x = &s->v[i];
		if (strcmp(x->name, "uimap_command_duration_seconds_bucket") != 0 ||
		    strncmp(x->labels, want, strlen(want)) != 0)
			continue;
		if (x->value >= q * count) {
			static char le[32];
			if (!label(x->labels, "le", le, sizeof(le)))
				return NULL;
			return le;
		}
	}
	return NULL;
}

static void print_commands(const struct samples *s, double uptime)
{
	struct command_total top[128];
	size_t n = 0;
	char name[64], a[32], b[32], c[32], d[32];
	for (size_t i = 0; i < s->n; i++) {
		const struct sample *x = &s->v[i];
		if (strcmp(x->name, "uimap_commands_total") != 0 ||
		    !label(x->labels, "command", name, sizeof(name)))
			continue;
		size_t k = 0;
		while (k < n && strcmp(top[k].name, name) != 0)
			k++;
		if (k == n) {
			if (n == sizeof(top) / sizeof(top[0]))
				continue;
			snprintf(top[n].name, sizeof(top[n].name), "%s", name);
			top[n++].count = 0;
		}
		top[k].count += x->value;
	}
	double total = sum(s, "uimap_commands_total", "");
	printf("%-12s %s (ok %s, no %s, bad %s)", "commands:", num(total, a, sizeof(a)),
	       num(sum(s, "uimap_commands_total", "result=\"ok\""), b, sizeof(b)),
	       num(sum(s, "uimap_commands_total", "result=\"no\""), c, sizeof(c)),
	       num(sum(s, "uimap_commands_total", "result=\"bad\""), d, sizeof(d)));
	if (uptime > 0)
		printf(", %.1f/s since start", total / uptime);
	printf("\n");
	qsort(top, n, sizeof(top[0]), by_count);
	for (size_t i = 0; i < n && i < 5 && top[i].count > 0; i++) {
		char want[96];
		snprintf(want, sizeof(want), "command=\"%s\"", top[i].name);
		double secs = get(s, "uimap_command_duration_seconds_sum", want);
		const char *p99 = quantile_le(s, top[i].name, 0.99);
		printf("%-12s %-12s %8.0f  mean %.3f ms", i == 0 ? "  busiest:" : "",
		       top[i].name, top[i].count, secs / top[i].count * 1000.0);
		if (p99 != NULL && strcmp(p99, "+Inf") == 0)
			printf(", 99%% > 10 s");
		else if (p99 != NULL)
			printf(", 99%% <= %g ms", strtod(p99, NULL) * 1000.0);
		printf("\n");
	}
}

static void print_persist(const struct samples *s)
{
	char a[32], b[32];
	double health = get(s, "uimap_journal_health", "");
	if (isnan(health)) {
		printf("%-12s none (no --data-dir)\n", "journal:");
		return;
	}
	static const char *const hname[] = { "ok", "disk full", "failed" };
	double writes = get(s, "uimap_journal_write_duration_seconds_count", "");
	double fsyncs = get(s, "uimap_journal_fsync_duration_seconds_count", "");
	printf("%-12s %s; %s written in %.0f writes", "journal:",
	       health >= 0 && health <= 2 ? hname[(int)health] : "?",
	       human_bytes(get(s, "uimap_journal_written_bytes_total", ""), a, sizeof(a)),
	       writes);
	if (fsyncs > 0)
		printf(", %.0f fsyncs (mean %.3f ms)", fsyncs,
		       get(s, "uimap_journal_fsync_duration_seconds_sum", "") / fsyncs * 1000.0);
	printf("\n");
	double last = get(s, "uimap_snapshot_last_success_timestamp_seconds", "");
	printf("%-12s %s ok, %s failed", "snapshots:",
	       num(get(s, "uimap_snapshots_total", "result=\"ok\""), a, sizeof(a)),
	       num(get(s, "uimap_snapshots_total", "result=\"failed\""), b, sizeof(b)));
	if (!isnan(last) && last > 0) {
		time_t t = (time_t)last;
		struct tm tm;
		char when[64];
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		printf("; last %s, %s in %.3f s", when,
		       human_bytes(get(s, "uimap_snapshot_last_bytes", ""), a, sizeof(a)),
		       get(s, "uimap_snapshot_last_duration_seconds", ""));
	} else {
		printf("; none since start");
	}
	printf("\n");
}

static void print_summary(const struct samples *s, const char *host, const char *port)
{
	char a[32], b[32], c[32], d[32], e[32], version[64] = "?";
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, "uimap_info") == 0)
			label(s->v[i].labels, "version", version, sizeof(version));
	double start = get(s, "uimap_start_time_seconds", "");
	double uptime = isnan(start) ? 0 : (double)time(NULL) - start;
	if (uptime < 0)
		uptime = 0;
	unsigned long up = (unsigned long)uptime;
	printf("uimapd %s at %s port %s, up %lud %02lu:%02lu:%02lu\n", version, host, port,
	       up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
	printf("%-12s %s open (plain %s, tls %s); %s accepted, %s refused\n", "connections:",
	       num(sum(s, "uimap_connections", ""), a, sizeof(a)),
	       num(get(s, "uimap_connections", "listener=\"plain\""), b, sizeof(b)),
	       num(get(s, "uimap_connections", "listener=\"tls\""), c, sizeof(c)),
	       num(sum(s, "uimap_connections_accepted_total", ""), d, sizeof(d)),
	       num(sum(s, "uimap_connections_refused_total", ""), e, sizeof(e)));
	printf("%-12s %s ok, %s failed\n", "logins:",
	       num(get(s, "uimap_logins_total", "result=\"ok\""), a, sizeof(a)),
	       num(get(s, "uimap_logins_total", "result=\"failed\""), b, sizeof(b)));
	print_commands(s, uptime);
	printf("%-12s in %s, out %s\n", "bytes:",
	       human_bytes(get(s, "uimap_received_bytes_total", ""), a, sizeof(a)),
	       human_bytes(get(s, "uimap_sent_bytes_total", ""), b, sizeof(b)));
	double users = get(s, "uimap_store_users", "");
	if (isnan(users)) {
		printf("%-12s no statistics\n", "store:");
	} else {
		printf("%-12s %s user(s), %s mailbox(es), %s message(s), %s", "store:",
		       num(users, a, sizeof(a)), num(get(s, "uimap_store_mailboxes", ""), b, sizeof(b)),
		       num(get(s, "uimap_store_messages", ""), c, sizeof(c)),
		       human_bytes(get(s, "uimap_store_message_bytes", ""), d, sizeof(d)));
		printf(" (+%s metadata)\n",
		       human_bytes(get(s, "uimap_store_metadata_bytes", ""), a, sizeof(a)));
	}
	print_persist(s);
}

/* ---- the command ------------------------------------------------------------------- */

/* Split "HOST:PORT" / "[V6]:PORT" into host and port (in buf). */
static int split_hostport(char *spec, const char **host_r, const char **port_r)
{
	char *colon = strrchr(spec, ':');
	if (colon == NULL || colon == spec || colon[1] == '\0')
		return -1;
	*colon = '\0';
	*port_r = colon + 1;
	if (spec[0] == '[') {
		size_t n = strlen(spec);
		if (n < 3 || spec[n - 1] != ']')
			return -1;
		spec[n - 1] = '\0';
		spec++;
	}
	*host_r = spec;
	return 0;
}

int stats_run(int argc, char **argv)
{
	const char *host = "127.0.0.1", *port = STATS_DEFAULT_PORT;
	bool raw = false;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--raw") == 0) {
			raw = true;
		} else if (i + 1 < argc && strcmp(argv[i], "--host") == 0) {
			host = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--port") == 0) {
			port = argv[++i];
		} else if (i + 1 < argc && strcmp(argv[i], "--metrics") == 0) {
			if (split_hostport(argv[++i], &host, &port) < 0) {
				fail("--metrics '%s' is not HOST:PORT", argv[i]);
				return 2;
			}
		} else {
			fail("bad argument '%s' (see uimapctl --help)", argv[i]);
			return 2;
		}
	}
	size_t len, body_len;
	char *resp = http_get(host, port, &len);
	if (resp == NULL)
		return 1;
	const char *body = http_body(resp, len, &body_len);
	if (body == NULL) {
		free(resp);
		return 1;
	}
	if (raw) {
		fwrite(body, 1, body_len, stdout);
		free(resp);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	struct samples s = { 0 };
	parse_exposition((char *)body, &s);
	int ret = 0;
	if (s.n == 0 || isnan(get(&s, "uimap_start_time_seconds", "")))
		ret = fail("%s port %s does not look like uimapd's metrics", host, port);
	else
		print_summary(&s, host, port);
	free(s.v);
	free(resp);
	return ret;
}
