/* Unit tests for the metrics endpoint's request parser: complete, incomplete (every
   prefix, byte by byte) and malformed request heads. */
#include <criterion/criterion.h>
#include <string.h>

#include "net/metrics-http.h"

static int parse(const char *s, struct http_request *req)
{
	const char *error = NULL;
	int r = http_request_parse(s, strlen(s), req, &error);
	if (r < 0)
		cr_assert_not_null(error);
	return r;
}

/* Every proper prefix needs more; the whole is r. */
static void prefixes(const char *s, int r)
{
	struct http_request req;
	const char *error;
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(http_request_parse(s, i, &req, &error), 0, "prefix %zu of %s", i, s);
	cr_assert_eq(http_request_parse(s, n, &req, &error), r, "%s", s);
}

Test(http, get_metrics)
{
	struct http_request req;
	const char *s = "GET /metrics HTTP/1.1\r\nHost: localhost:9100\r\n"
			"User-Agent: Prometheus/2.45\r\nAccept: text/plain;q=0.5\r\n\r\n";
	cr_assert_eq(parse(s, &req), 1);
	cr_assert_eq(req.method_len, 3);
	cr_assert(memcmp(req.method, "GET", 3) == 0);
	cr_assert_eq(req.path_len, 8);
	cr_assert(memcmp(req.path, "/metrics", 8) == 0);
	cr_assert_eq(req.minor, 1);
	cr_assert_eq(req.hosts, 1);
	prefixes(s, 1);
}

Test(http, query_and_lf_only)
{
	struct http_request req;
	cr_assert_eq(parse("\r\n\nHEAD /metrics?x=1 HTTP/1.0\n\n", &req), 1);
	cr_assert_eq(req.path_len, 8);
	cr_assert_eq(req.minor, 0);
	cr_assert_eq(req.hosts, 0, "HTTP/1.0 needs no Host");
	/* bytes after the head (a body, a pipelined request) are not looked at */
	cr_assert_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE", &req), 1);
	cr_assert_eq(req.path_len, 1);
}

Test(http, incomplete)
{
	struct http_request req;
	cr_assert_eq(parse("", &req), 0);
	cr_assert_eq(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n", &req), 0);
	cr_assert_eq(parse("GET /metrics HTTP/1.1\r\nHost: x\r\n\r", &req), 0);
}

Test(http, malformed)
{
	static const char *const bad[] = {
		"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n",       /* two spaces */
		"GET /metrics\r\n\r\n",                             /* HTTP/0.9 */
		"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n",
		"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n",          /* not a path */
		"G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n",         /* not a token */
		"GET /metrics HTTP/1.1\r\nHost x\r\n\r\n",          /* no colon */
		"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n",        /* space before the colon */
		"GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
		"GET /metrics HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", /* bare CR */
		"GET /metrics HTTP/1.1\r\nA: \x01\r\nHost: x\r\n\r\n",
		"GET /metrics HTTP/1.1\r\n\r\n",                    /* no Host */
		"GET /metrics HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_request req;
		cr_assert_eq(parse(bad[i], &req), -1, "accepted: %s", bad[i]);
	}
	/* a NUL inside a line */
	struct http_request req;
	const char *error;
	const char nul[] = "GET /met\0rics HTTP/1.1\r\nHost: x\r\n\r\n";
	cr_assert_eq(http_request_parse(nul, sizeof(nul) - 1, &req, &error), -1);
	/* the start of a TLS hello is refused before its first newline */
	const char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";
	cr_assert_eq(http_request_parse(hello, sizeof(hello) - 1, &req, &error), -1);
}
