/* The HAProxy PROXY protocol (v1 text, v2 binary; haproxy's doc/proxy-protocol.txt)
   on listeners that enable it: the header a trusted proxy sends before anything
   else names the real client, then admission (net/admit.h) runs for that client. */
#ifndef NET_PROXYPROTO_H
#define NET_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct conn;
struct tls_ctx;

/* The largest header accepted (the spec allows 16 + 65535 bytes for v2; a proxy
   sends addresses and a few TLVs, far less). */
#define PROXYPROTO_HEADER_MAX 4096
/* Bytes kept from the header's first byte until the connection starts: the header
   and what follows it in the same writes (a TLS ClientHello, pipelined IMAP). */
#define PROXYPROTO_STASH_MAX 16384
/* How long a connection may take to send its header. */
#define PROXYPROTO_TIMEOUT_MS 5000

/* Parse a PROXY header at the start of data (len bytes; a v2 header longer than max
   is refused). Returns its length with *src_r the client it names, or with
   src_r->ss_family AF_UNSPEC when the connection's own peer stands (v2 LOCAL, v1
   UNKNOWN, v2 UNSPEC or UNIX addresses); 0 when data is a valid beginning and more
   bytes are needed; -1 with *error_r (static text) when it is no valid header. */
int proxyproto_parse(const unsigned char *data, size_t len, size_t max,
		     struct sockaddr_storage *src_r, const char **error_r);

/* A connection was accepted on a PROXY listener (tls: implicit TLS after the
   header, or NULL). A peer that is no trusted proxy is closed at once; otherwise
   the receive starts and the header is waited for (bounded by
   PROXYPROTO_TIMEOUT_MS), nothing is sent meanwhile. */
void proxyproto_accept(struct conn *c, struct tls_ctx *tls);

/* Bytes received before c started (its protocol is not created yet). Before the
   header is complete they are parsed: a malformed header closes c (logged, no
   greeting); a complete one sets c's address and hands c to admit_accept(). After
   it they are kept for proxyproto_start() (c closes when over
   PROXYPROTO_STASH_MAX). */
void proxyproto_input(struct conn *c, const unsigned char *data, size_t len);

/* c started (conn_start(), its transport and protocol are set up): what arrived
   after the header is handed to the transport now. No-op without a PROXY stage. */
void proxyproto_start(struct conn *c);

/* c closes: drop its PROXY stage (the timer, the kept bytes). Safe to call more
   than once. */
void proxyproto_cancel(struct conn *c);

#endif
