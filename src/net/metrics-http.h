/* The metrics endpoint: a small HTTP/1.1 server on the connection server's ring
   (metrics-listen). GET /metrics answers the exposition text the server renders;
   one request per connection, then the connection closes. Its connections are not
   IMAP connections: no limits, access rules or counters of those apply. */
#ifndef NET_METRICS_HTTP_H
#define NET_METRICS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct net_server;
struct metrics_http;

#define HTTP_REQUEST_MAX 8192     /* bytes of a request head: more is a 400 */
#define HTTP_TIMEOUT_MS 5000      /* a connection's whole life, request to last byte */
#define HTTP_CONNS_MAX 32         /* open at once; more are closed at accept */

/* A parsed request head; the pointers are into the parsed bytes. */
struct http_request {
	const char *method;
	size_t method_len;
	const char *path;          /* the target's path (without "?query") */
	size_t path_len;
	unsigned minor;            /* HTTP/1.minor */
	unsigned hosts;            /* Host header fields seen */
};

/* Parse an HTTP/1.x request head (RFC 9112 §2-5: request line, header fields,
   the empty line) from the len bytes at data. Empty lines before the request
   line are skipped; lines may end in CRLF or LF. Returns 1 with *req_r when the
   head is complete and well-formed, 0 when more bytes are needed, -1 with
   *error_r (static text) when it is malformed (an HTTP/1.1 request without
   exactly one Host field included). */
int http_request_parse(const char *data, size_t len, struct http_request *req_r,
		       const char **error_r);

/* Open the listening socket of spec ("HOST:PORT", "[V6]:PORT"; port 0 picks
   one) for srv. Returns the endpoint, or NULL with *error_r. */
struct metrics_http *metrics_http_bind(struct net_server *srv, const char *spec,
				       const char **error_r);

/* Start accepting on the server's ring (which must exist) and log
   "listening on SPEC (metrics) port N". */
void metrics_http_start(struct metrics_http *h);

/* Stop accepting and close every connection; their last completions still
   arrive (see metrics_http_busy). Safe to call more than once. */
void metrics_http_shutdown(struct metrics_http *h);

/* Whether a connection still waits for ring completions (the loop keeps running
   for them when it stops). */
bool metrics_http_busy(const struct metrics_http *h);

/* Free the endpoint and its connections (once the ring is gone, or nothing is in
   flight) and NULL *h; NULL and *h == NULL are allowed. */
void metrics_http_free(struct metrics_http **h);

#endif
