/* The PROXY protocol v1/v2 header parser, and the stage before admission on the
   listeners that expect it. */
#include "net/proxyproto.h"
#include "net/admit.h"
#include "net/conn.h"
#include "net/server.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What a connection keeps while it waits for its header and its admission.
   Lifecycle: allocated at accept, freed when the connection starts or closes. */
struct proxy_wait {
	struct conn *c;
	struct tls_ctx *tls;         /* implicit TLS to start once admitted */
	struct timer timer;          /* PROXYPROTO_TIMEOUT_MS for the header */
	bool parsed;                 /* the header is done; bytes are now kept */
	size_t len;
	unsigned char buf[PROXYPROTO_STASH_MAX];
};

static const unsigned char V2_SIG[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
static const char V1_PREFIX[] = "PROXY ";
/* v1: "the maximum line length is 107 bytes including the CRLF" (2.1) */
#define V1_MAX 107

static int fail(const char **error_r, const char *text)
{
	*error_r = text;
	return -1;
}

/* A decimal port 0..65535 without sign or leading zeros (2.1: "with no leading
   zeroes"). */
static bool parse_port(const char *s, uint16_t *port_r)
{
	size_t n = strlen(s);
	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*port_r = (uint16_t)v;
	return true;
}

static int parse_v1(const unsigned char *data, size_t len, struct sockaddr_storage *src_r,
		    const char **error_r)
{
	size_t scan = len < V1_MAX ? len : V1_MAX;
	const unsigned char *lf = memchr(data, '\n', scan);
	if (lf == NULL)
		return len >= V1_MAX ? fail(error_r, "v1 line longer than 107 bytes") : 0;
	size_t hlen = (size_t)(lf - data) + 1;
	if (hlen < 2 || data[hlen - 2] != '\r')
		return fail(error_r, "v1 line does not end in CRLF");
	char line[V1_MAX + 1];
	memcpy(line, data, hlen - 2);
	line[hlen - 2] = '\0';
	if (memchr(line, '\0', hlen - 2) != NULL)
		return fail(error_r, "v1 line holds a NUL");
	/* "PROXY" SP proto [SP src SP dst SP sport SP dport], single spaces */
	char *f[6];
	unsigned n = 0;
	char *p = line;
	for (;;) {
		f[n++] = p;
		if (n == 6)
			break; /* the last field keeps any further space: refused below */
		char *sp = strchr(p, ' ');
		if (sp == NULL)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	if (n >= 2 && strcmp(f[1], "UNKNOWN") == 0) {
		/* 2.1: the receiver ignores anything after UNKNOWN */
		src_r->ss_family = AF_UNSPEC;
		return (int)hlen;
	}
	if (n != 6 || strchr(f[5], ' ') != NULL)
		return fail(error_r, "v1 line is not PROXY TCP4|TCP6 src dst sport dport");
	uint16_t sport, dport;
	if (!parse_port(f[4], &sport) || !parse_port(f[5], &dport))
		return fail(error_r, "v1 port is not a number 0-65535");
	memset(src_r, 0, sizeof(*src_r));
	if (strcmp(f[1], "TCP4") == 0) {
		struct sockaddr_in *in = (struct sockaddr_in *)src_r;
		struct in_addr dst;
		if (inet_pton(AF_INET, f[2], &in->sin_addr) != 1 || inet_pton(AF_INET, f[3], &dst) != 1)
			return fail(error_r, "v1 address is not IPv4");
		in->sin_family = AF_INET;
		in->sin_port = htons(sport);
	} else if (strcmp(f[1], "TCP6") == 0) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)src_r;
		struct in6_addr dst;
		if (inet_pton(AF_INET6, f[2], &in6->sin6_addr) != 1 ||
		    inet_pton(AF_INET6, f[3], &dst) != 1)
			return fail(error_r, "v1 address is not IPv6");
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(sport);
	} else {
		return fail(error_r, "v1 protocol is not TCP4, TCP6 or UNKNOWN");
	}
	return (int)hlen;
}

static int parse_v2(const unsigned char *data, size_t len, size_t max,
		    struct sockaddr_storage *src_r, const char **error_r)
{
	if (len < 16)
		return 0;
	unsigned ver = data[12] >> 4, cmd = data[12] & 0x0F;
	unsigned fam = data[13] >> 4, proto = data[13] & 0x0F;
	size_t hlen = 16 + ((size_t)data[14] << 8 | data[15]);
	if (ver != 2)
		return fail(error_r, "v2 version is not 2");
	if (cmd > 1)
		return fail(error_r, "v2 command is neither LOCAL nor PROXY");
	if (fam > 3 || proto > 2)
		return fail(error_r, "v2 address family or protocol unknown");
	if (hlen > max)
		return fail(error_r, "v2 header too long");
	if (len < hlen)
		return 0;
	memset(src_r, 0, sizeof(*src_r));
	src_r->ss_family = AF_UNSPEC;
	/* 2.2: LOCAL keeps the connection's own addresses; so do UNSPEC and UNIX */
	if (cmd == 0 || fam == 0 || fam == 3)
		return (int)hlen;
	const unsigned char *a = data + 16;
	if (fam == 1) {
		if (hlen - 16 < 12)
			return fail(error_r, "v2 IPv4 addresses truncated");
		struct sockaddr_in *in = (struct sockaddr_in *)src_r;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a, 4);
		memcpy(&in->sin_port, a + 8, 2);
	} else {
		if (hlen - 16 < 36)
			return fail(error_r, "v2 IPv6 addresses truncated");
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)src_r;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a, 16);
		memcpy(&in6->sin6_port, a + 32, 2);
	}
	/* the TLVs after the addresses (ALPN, authority, SSL, ...) are not used */
	return (int)hlen;
}

int proxyproto_parse(const unsigned char *data, size_t len, size_t max,
		     struct sockaddr_storage *src_r, const char **error_r)
{
	size_t n = len < sizeof(V2_SIG) ? len : sizeof(V2_SIG);
	if (len > 0 && memcmp(data, V2_SIG, n) == 0)
		return len < sizeof(V2_SIG) ? 0 : parse_v2(data, len, max, src_r, error_r);
	n = len < sizeof(V1_PREFIX) - 1 ? len : sizeof(V1_PREFIX) - 1;
	if (memcmp(data, V1_PREFIX, n) != 0)
		return fail(error_r, "no PROXY header");
	return len < sizeof(V1_PREFIX) - 1 ? 0 : parse_v1(data, len, src_r, error_r);
}

/* Refuse c before any greeting: logged, closed, nothing sent. */
static void drop(struct conn *c, const char *why, const char *detail)
{
	c->srv->stats.refused[c->tls_listener]++;
	log_write(UIMAP_LOG_WARN, c->id, c->addr, "rejected: %s%s%s", why,
		  detail != NULL ? ": " : "", detail != NULL ? detail : "");
	conn_close(c, false);
}

static void header_timed_out(struct timer *t)
{
	struct proxy_wait *w = container_of(t, struct proxy_wait, timer);
	drop(w->c, "no PROXY header within the time allowed", NULL);
}

void proxyproto_accept(struct conn *c, struct tls_ctx *tls)
{
	if (!admit_from_trusted_proxy(c)) {
		drop(c, "PROXY listener: the peer is no trusted proxy", NULL);
		return;
	}
	struct proxy_wait *w = xmalloc(sizeof(*w));
	memset(w, 0, offsetof(struct proxy_wait, buf));
	w->c = c;
	w->tls = tls;
	c->pw = w;
	timer_set(&c->srv->timers, &w->timer, clock_ms() + PROXYPROTO_TIMEOUT_MS,
		  header_timed_out);
	conn_recv_start(c);
}

/* The header is complete: c is now the client it names, and admission decides. */
static void header_done(struct conn *c, const struct sockaddr_storage *src)
{
	struct proxy_wait *w = c->pw;
	timer_cancel(&c->srv->timers, &w->timer);
	w->parsed = true;
	if (src->ss_family != AF_UNSPEC) {
		char was[sizeof(c->addr)];
		memcpy(was, c->addr, sizeof(was));
		c->peer = *src;
		conn_format_addr(src, c->addr, sizeof(c->addr));
		log_write(UIMAP_LOG_INFO, c->id, c->addr,
			  "client address from the PROXY header of %s", was);
	} else {
		log_write(UIMAP_LOG_DEBUG, c->id, c->addr,
			  "PROXY header without a client address (LOCAL or UNKNOWN)");
	}
	/* may start c (and free w) or refuse it */
	admit_accept(c, w->tls);
}

void proxyproto_input(struct conn *c, const unsigned char *data, size_t len)
{
	struct proxy_wait *w = c->pw;
	if (w == NULL || c->closing)
		return;
	if (len > sizeof(w->buf) - w->len) {
		drop(c, w->parsed ? "too much input before the greeting"
				  : "PROXY header too long", NULL);
		return;
	}
	memcpy(w->buf + w->len, data, len);
	w->len += len;
	if (w->parsed)
		return;
	struct sockaddr_storage src;
	const char *error = NULL;
	int n = proxyproto_parse(w->buf, w->len, PROXYPROTO_HEADER_MAX, &src, &error);
	if (n < 0) {
		drop(c, "bad PROXY header", error);
		return;
	}
	if (n == 0) {
		if (w->len >= PROXYPROTO_HEADER_MAX)
			drop(c, "PROXY header too long", NULL);
		return;
	}
	w->len -= (size_t)n;
	memmove(w->buf, w->buf + n, w->len);
	header_done(c, &src);
}

void proxyproto_start(struct conn *c)
{
	struct proxy_wait *w = c->pw;
	if (w == NULL)
		return;
	c->pw = NULL;
	/* the transport (plain, or the implicit TLS just started) sees the bytes that
	   followed the header as if they had been received now */
	if (w->len > 0 && c->tv->recv(c, w->buf, w->len) < 0)
		conn_close(c, true);
	free(w);
}

void proxyproto_cancel(struct conn *c)
{
	struct proxy_wait *w = c->pw;
	if (w == NULL)
		return;
	c->pw = NULL;
	timer_cancel(&c->srv->timers, &w->timer);
	free(w);
}
