/* Unit tests for the TLS transport driven without the ring: an in-process wolfSSL
   client over in-memory byte queues (handshakes, byte-at-a-time records, STARTTLS
   ordering, back-pressure, close_notify, garbage, 1 MiB transfers, resumption, ALPN,
   reload, memory per idle connection), plus the openssl CLI over loopback. */
#define WOLFSSL_OPTIONS_IGNORE_SYS
#include <wolfssl/options.h>

#include "net/tls.h"
#include "net/tls-handshake.h"
#include "net/conn.h"
#include "core/outq.h"
#include "net/server.h"
#include "core/common.h"
#include "core/log.h"

#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CERT TLS_TEST_DIR "/cert.pem"  /* leaf (P-256, CN=localhost) + CA */
#define KEY TLS_TEST_DIR "/key.pem"
#define CA TLS_TEST_DIR "/ca.pem"
#define RSA_CERT TLS_TEST_DIR "/rsa-cert.pem" /* self-signed RSA-2048 */
#define RSA_KEY TLS_TEST_DIR "/rsa-key.pem"

/* ---- byte queues standing in for the socket ---- */

struct bytes {
	unsigned char *p;
	size_t off, len, cap;
};

static void bytes_add(struct bytes *b, const void *d, size_t n)
{
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static size_t bytes_avail(const struct bytes *b)
{
	return b->len - b->off;
}

static const unsigned char *bytes_head(const struct bytes *b)
{
	return b->p + b->off;
}

static void bytes_free(struct bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- one server connection and its client ---- */

struct peer {
	struct conn c;
	struct bytes to_server, to_client; /* ciphertext in flight */
	struct bytes delivered;            /* plaintext the server handed the protocol */
	WOLFSSL *cl;
	size_t feed;      /* bytes per server recv (a ring buffer); 0: all at once */
	size_t send_max;  /* bytes one sendmsg sends; 0: all offered */
	int recv_ret;     /* -1 once the transport asked to close */
	int send_ret;     /* last send_iov() result */
	unsigned sends;   /* sendmsg calls made */
};

static struct net_server *srv;
static struct tls_ctx *ctx;
static unsigned long next_id;

static void capture(struct conn *c, const unsigned char *data, size_t len)
{
	struct peer *p = container_of(c, struct peer, c);
	bytes_add(&p->delivered, data, len);
}

static int cl_recv(WOLFSSL *ssl, char *buf, int sz, void *vp)
{
	(void)ssl;
	struct peer *p = vp;
	size_t n = MIN(bytes_avail(&p->to_client), (size_t)sz);
	if (n == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	memcpy(buf, bytes_head(&p->to_client), n);
	p->to_client.off += n;
	return (int)n;
}

static int cl_send(WOLFSSL *ssl, char *buf, int sz, void *vp)
{
	(void)ssl;
	struct peer *p = vp;
	bytes_add(&p->to_server, buf, (size_t)sz);
	return sz;
}

static WOLFSSL_CTX *client_ctx(WOLFSSL_METHOD *method, const char *ca)
{
	WOLFSSL_CTX *w = wolfSSL_CTX_new(method);
	cr_assert_not_null(w);
	cr_assert_eq(wolfSSL_CTX_load_verify_locations(w, ca, NULL), WOLFSSL_SUCCESS);
	wolfSSL_CTX_set_verify(w, WOLFSSL_VERIFY_PEER, NULL);
	wolfSSL_CTX_SetIORecv(w, cl_recv);
	wolfSSL_CTX_SetIOSend(w, cl_send);
	return w;
}

static void setup(void)
{
	srv = calloc(1, sizeof(*srv));
	const char *error = NULL;
	ctx = tls_ctx_new(CERT, KEY, &error);
	cr_assert_not_null(ctx, "tls_ctx_new: %s", error);
}

static void teardown(void)
{
	tls_ctx_free(&ctx);
	free(srv);
	outq_cache_free();
}

TestSuite(tls, .init = setup, .fini = teardown);

/* A connection whose c->out holds pre_out (if any) when the transport switches. */
static struct peer *peer_new(WOLFSSL_CTX *cctx, enum tls_start mode, const char *pre_out)
{
	struct peer *p = calloc(1, sizeof(*p));
	cr_assert_not_null(p);
	p->c.srv = srv;
	p->c.fd = -1;
	p->c.id = ++next_id;
	strcpy(p->c.addr, "test:1");
	p->c.tv = &transport_plain;
	p->c.txq = &p->c.out;
	if (pre_out != NULL) {
		outq_puts(&p->c.out, pre_out);
		conn_mark_dirty(&p->c);
	}
	cr_assert_eq(tls_conn_start(&p->c, ctx, mode), 0);
	cr_assert(conn_is_secure(&p->c));
	tls_conn_set_deliver(&p->c, capture);
	if (cctx != NULL) {
		p->cl = wolfSSL_new(cctx);
		cr_assert_not_null(p->cl);
		wolfSSL_SetIOReadCtx(p->cl, p);
		wolfSSL_SetIOWriteCtx(p->cl, p);
	}
	return p;
}

static void peer_free(struct peer *p)
{
	if (p->c.tv->free != NULL)
		p->c.tv->free(&p->c);
	outq_clear(&p->c.out);
	if (p->cl != NULL)
		wolfSSL_free(p->cl);
	bytes_free(&p->to_server);
	bytes_free(&p->to_client);
	bytes_free(&p->delivered);
	srv->dirty = NULL;
	free(p);
}

/* One or more loop turns of conn.c for the connection: hand the server what the
   client sent (feed bytes per ring buffer, the buffer scribbled over afterwards),
   then flush while the connection is dirty: one sendmsg of at most send_max bytes,
   sent() with what went out, re-marked dirty when c->out still holds bytes (as
   conn_handle_send() does). Returns the bytes moved. */
/* With handshake workers (srv->tls_hs): wait for the connection's outstanding
   steps and hand them back, as the loop's eventfd read would. */
static void wait_steps(struct conn *c)
{
	while (srv->tls_hs != NULL && c->pending > 0) {
		struct pollfd pfd = { .fd = tls_hs_pool_fd(srv->tls_hs), .events = POLLIN };
		cr_assert_eq(poll(&pfd, 1, 10000), 1, "a handshake step did not come back");
		uint64_t val;
		cr_assert_eq(read(pfd.fd, &val, sizeof(val)), (ssize_t)sizeof(val));
		tls_hs_pool_collect(srv->tls_hs);
	}
}

static size_t server_turn(struct peer *p)
{
	struct conn *c = &p->c;
	size_t moved = 0;
	/* input while a step is out is kept for the next one: fed without waiting */
	while (bytes_avail(&p->to_server) > 0 && p->recv_ret == 0) {
		size_t n = bytes_avail(&p->to_server);
		if (p->feed != 0 && n > p->feed)
			n = p->feed;
		unsigned char *ring = malloc(n);
		memcpy(ring, bytes_head(&p->to_server), n);
		p->to_server.off += n;
		if (c->tv->recv(c, ring, n) < 0)
			p->recv_ret = -1;
		memset(ring, 0xEE, n);
		free(ring);
		moved += n;
	}
	wait_steps(c);
	while (c->dirty) {
		c->dirty = false;
		srv->dirty = NULL;
		struct iovec iov[64];
		int n = c->tv->send_iov(c, iov, 64);
		p->send_ret = n;
		if (n <= 0)
			break;
		size_t total = 0;
		for (int i = 0; i < n; i++) {
			size_t k = iov[i].iov_len;
			if (p->send_max != 0 && total + k > p->send_max)
				k = p->send_max - total;
			bytes_add(&p->to_client, iov[i].iov_base, k);
			total += k;
			if (p->send_max != 0 && total == p->send_max)
				break;
		}
		p->sends++;
		c->tv->sent(c, total);
		if (c->out.bytes > 0)
			conn_mark_dirty(c);
		moved += total;
	}
	return moved;
}

static bool handshake(struct peer *p)
{
	for (int i = 0; i < 100000; i++) {
		int r = wolfSSL_connect(p->cl);
		int err = r == WOLFSSL_SUCCESS ? 0 : wolfSSL_get_error(p->cl, r);
		size_t moved = server_turn(p);
		if (p->recv_ret < 0)
			return false;
		if (r == WOLFSSL_SUCCESS && tls_conn_handshake_done(&p->c))
			return true;
		if (err != 0 && err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE) {
			char buf[WOLFSSL_MAX_ERROR_SZ];
			cr_log_warn("client handshake: %s", wolfSSL_ERR_error_string(err, buf));
			return false;
		}
		if (moved == 0 && bytes_avail(&p->to_client) == 0 && r != WOLFSSL_SUCCESS)
			return false;
	}
	return false;
}

/* The client reads until want bytes arrived or nothing more comes. Returns the
   client's last wolfSSL error (0 after reading want bytes). */
static int client_read(struct peer *p, struct bytes *out, size_t want)
{
	unsigned char *buf = malloc(16384);
	size_t got = 0;
	int idle = 0, err = 0;
	while (got < want) {
		int r = wolfSSL_read(p->cl, buf, 16384);
		if (r > 0) {
			bytes_add(out, buf, (size_t)r);
			got += (size_t)r;
			idle = 0;
			continue;
		}
		err = wolfSSL_get_error(p->cl, r);
		if (err != WOLFSSL_ERROR_WANT_READ)
			break;
		if (server_turn(p) == 0 && bytes_avail(&p->to_client) == 0 && ++idle > 2)
			break;
	}
	free(buf);
	return got >= want ? 0 : err;
}

static void client_write(struct peer *p, const void *data, size_t n)
{
	size_t off = 0;
	while (off < n) {
		int r = wolfSSL_write(p->cl, (const char *)data + off, (int)MIN(n - off, 16384));
		cr_assert_gt(r, 0);
		off += (size_t)r;
		server_turn(p);
	}
	server_turn(p);
}

static void server_puts(struct peer *p, const char *s)
{
	outq_puts(&p->c.out, s);
	conn_mark_dirty(&p->c);
	server_turn(p);
}

static void expect_client_gets(struct peer *p, const char *s)
{
	struct bytes got = { 0 };
	cr_assert_eq(client_read(p, &got, strlen(s)), 0);
	cr_assert_eq(bytes_avail(&got), strlen(s));
	cr_assert_arr_eq(bytes_head(&got), s, strlen(s));
	bytes_free(&got);
}

static void expect_delivered(struct peer *p, const char *s)
{
	cr_assert_eq(bytes_avail(&p->delivered), strlen(s), "delivered %zu bytes, want %zu",
		     bytes_avail(&p->delivered), strlen(s));
	cr_assert_arr_eq(bytes_head(&p->delivered), s, strlen(s));
	p->delivered.off = p->delivered.len;
}

/* Greeting queued before the switch, a command each way. */
static void basic_session(WOLFSSL_METHOD *method, size_t feed, const char *version)
{
	WOLFSSL_CTX *cctx = client_ctx(method, CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, "* OK uimap ready\r\n");
	p->feed = feed;
	server_turn(p);
	cr_assert_eq(bytes_avail(&p->to_client), 0, "nothing goes out before the ClientHello");
	cr_assert_eq(p->send_ret, 0);
	cr_assert(handshake(p));
	cr_assert_str_eq(tls_conn_version(&p->c), version);
	cr_assert_str_eq(wolfSSL_get_version(p->cl), version);
	expect_client_gets(p, "* OK uimap ready\r\n");
	client_write(p, "a NOOP\r\n", 8);
	expect_delivered(p, "a NOOP\r\n");
	server_puts(p, "a OK NOOP completed\r\n");
	expect_client_gets(p, "a OK NOOP completed\r\n");
	cr_assert_eq(p->recv_ret, 0);
	cr_assert_eq(tls_conn_pending(&p->c), 0);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

Test(tls, handshake_tls13)
{
	basic_session(wolfTLSv1_3_client_method(), 0, "TLSv1.3");
}

Test(tls, handshake_tls12)
{
	basic_session(wolfTLSv1_2_client_method(), 0, "TLSv1.2");
}

Test(tls, tls11_refused)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_1_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	cr_assert_not(handshake(p));
	cr_assert_eq(p->recv_ret, -1);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* Every record split at every byte boundary: the server gets one byte per recv. */
Test(tls, byte_at_a_time_tls13)
{
	log_current()->level = UIMAP_LOG_DEBUG;
	basic_session(wolfTLSv1_3_client_method(), 1, "TLSv1.3");
}

Test(tls, byte_at_a_time_tls12)
{
	basic_session(wolfTLSv1_2_client_method(), 1, "TLSv1.2");
}

/* A record arriving in pieces: nothing is delivered until its last byte. */
Test(tls, partial_record_waits)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(p));
	cr_assert_eq(wolfSSL_write(p->cl, "a LOGOUT\r\n", 10), 10);
	size_t len = bytes_avail(&p->to_server);
	cr_assert_gt(len, 10);
	unsigned char *rec = malloc(len);
	memcpy(rec, bytes_head(&p->to_server), len);
	p->to_server.off = p->to_server.len;
	for (size_t i = 0; i + 1 < len; i++) {
		cr_assert_eq(p->c.tv->recv(&p->c, rec + i, 1), 0);
		cr_assert_eq(bytes_avail(&p->delivered), 0);
	}
	cr_assert_eq(p->c.tv->recv(&p->c, rec + len - 1, 1), 0);
	expect_delivered(p, "a LOGOUT\r\n");
	free(rec);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* Many records in one ring buffer: all delivered by one recv. */
Test(tls, many_records_one_recv)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(p));
	char expect[64 * 16 + 1] = "";
	for (int i = 0; i < 64; i++) {
		char line[17];
		snprintf(line, sizeof(line), "a%03d NOOP\r\n", i);
		cr_assert_gt(wolfSSL_write(p->cl, line, (int)strlen(line)), 0);
		strcat(expect, line);
	}
	cr_assert_eq(p->c.tv->recv(&p->c, bytes_head(&p->to_server), bytes_avail(&p->to_server)), 0);
	p->to_server.off = p->to_server.len;
	expect_delivered(p, expect);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* TLS 1.3 HelloRetryRequest: the client sent no key share. */
Test(tls, hello_retry_request)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, "* OK\r\n");
	cr_assert_eq(wolfSSL_NoKeyShares(p->cl), WOLFSSL_SUCCESS);
	p->feed = 7;
	cr_assert(handshake(p));
	expect_client_gets(p, "* OK\r\n");
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* A TLS 1.3 client offering only a finite-field group is refused. */
Test(tls, ffdhe_only_client_refused)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	int groups[] = { WOLFSSL_FFDHE_2048 };
	cr_assert_eq(wolfSSL_CTX_set_groups(cctx, groups, 1), WOLFSSL_SUCCESS);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	cr_assert_not(handshake(p));
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* TLS 1.3 KeyUpdate from the client (RFC 8446 4.6.3): the server answers and
   the connection carries on both ways. */
Test(tls, key_update)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, "* OK\r\n");
	cr_assert(handshake(p));
	expect_client_gets(p, "* OK\r\n");
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(wolfSSL_update_keys(p->cl), WOLFSSL_SUCCESS);
		client_write(p, "a NOOP\r\n", 8);
		expect_delivered(p, "a NOOP\r\n");
		server_puts(p, "a OK\r\n");
		expect_client_gets(p, "a OK\r\n");
	}
	cr_assert_eq(p->recv_ret, 0);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* STARTTLS: the OK queued before the switch goes out in plaintext, first. */
Test(tls, starttls_ok_in_plaintext_first)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfSSLv23_client_method(), CA);
	static const char ok[] = "a OK Begin TLS negotiation now\r\n";
	struct peer *p = peer_new(cctx, TLS_START_STARTTLS, ok);
	p->send_max = 5; /* short sends: the plaintext goes out in pieces */
	server_turn(p);
	cr_assert_eq(bytes_avail(&p->to_client), strlen(ok));
	cr_assert_arr_eq(bytes_head(&p->to_client), ok, strlen(ok));
	cr_assert_eq(p->c.out.bytes, 0);
	p->to_client.off = p->to_client.len;
	cr_assert(handshake(p));
	client_write(p, "b CAPABILITY\r\n", 14);
	expect_delivered(p, "b CAPABILITY\r\n");
	server_puts(p, "* CAPABILITY IMAP4rev1\r\nb OK done\r\n");
	expect_client_gets(p, "* CAPABILITY IMAP4rev1\r\nb OK done\r\n");
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* A client that sends its ClientHello before reading the OK: the OK still
   precedes the ServerHello on the wire. */
Test(tls, starttls_pipelined_client_hello)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfSSLv23_client_method(), CA);
	static const char ok[] = "a OK Begin TLS negotiation now\r\n";
	struct peer *p = peer_new(cctx, TLS_START_STARTTLS, ok);
	cr_assert_eq(wolfSSL_connect(p->cl), WOLFSSL_FATAL_ERROR);
	cr_assert_gt(bytes_avail(&p->to_server), 0);
	server_turn(p);
	cr_assert_gt(bytes_avail(&p->to_client), strlen(ok) + 5);
	cr_assert_arr_eq(bytes_head(&p->to_client), ok, strlen(ok));
	cr_assert_eq(bytes_head(&p->to_client)[strlen(ok)], 0x16, "a handshake record follows");
	p->to_client.off += strlen(ok);
	cr_assert(handshake(p));
	server_puts(p, "* OK secure\r\n");
	expect_client_gets(p, "* OK secure\r\n");
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

Test(tls, start_twice_refused)
{
	struct peer *p = peer_new(NULL, TLS_START_IMPLICIT, NULL);
	cr_assert_eq(tls_conn_start(&p->c, ctx, TLS_START_STARTTLS), -1);
	cr_assert_not(tls_conn_handshake_done(&p->c));
	cr_assert_null(tls_conn_version(&p->c));
	peer_free(p);
}

static unsigned char *pattern(size_t n, unsigned seed)
{
	unsigned char *b = malloc(n);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (unsigned char)(x >> 16);
	}
	return b;
}

static unsigned released;
static void release_body(void *ctx_)
{
	(void)ctx_;
	released++;
}

#define MIB (1024 * 1024)

/* 1 MiB each way, verified byte for byte; the server side through short sends. */
static void large_transfer(WOLFSSL_METHOD *method, size_t send_max)
{
	WOLFSSL_CTX *cctx = client_ctx(method, CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(p));
	p->send_max = send_max;

	unsigned char *body = pattern(MIB, 1);
	static const char head[] = "* 1 FETCH (BODY[] {1048576}\r\n", tail[] = ")\r\na OK\r\n";
	outq_puts(&p->c.out, head);
	outq_append_ref(&p->c.out, body, MIB, release_body, NULL);
	outq_puts(&p->c.out, tail);
	conn_mark_dirty(&p->c);
	size_t total = strlen(head) + MIB + strlen(tail);

	/* the wire queue is bounded; the rest waits in c->out */
	struct iovec iov[64];
	int n = p->c.tv->send_iov(&p->c, iov, 64);
	cr_assert_gt(n, 0);
	cr_assert_leq(tls_conn_pending(&p->c), 128 * 1024 + 16384 + 64);
	cr_assert_gt(p->c.out.bytes, total / 2);
	p->c.tv->sent(&p->c, 0);

	struct bytes got = { 0 };
	cr_assert_eq(client_read(p, &got, total), 0);
	cr_assert_eq(bytes_avail(&got), total);
	cr_assert_arr_eq(bytes_head(&got), head, strlen(head));
	cr_assert(memcmp(bytes_head(&got) + strlen(head), body, MIB) == 0);
	cr_assert_arr_eq(bytes_head(&got) + strlen(head) + MIB, tail, strlen(tail));
	cr_assert_eq(released, 1);
	cr_assert_eq(p->c.out.bytes, 0);
	cr_assert_eq(tls_conn_pending(&p->c), 0);
	bytes_free(&got);

	unsigned char *up = pattern(MIB, 2);
	p->feed = 1500; /* MTU-sized ring buffers: records split across them */
	client_write(p, up, MIB);
	cr_assert_eq(bytes_avail(&p->delivered), MIB);
	cr_assert(memcmp(bytes_head(&p->delivered), up, MIB) == 0);

	free(up);
	free(body);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

Test(tls, large_transfer_tls13)
{
	large_transfer(wolfTLSv1_3_client_method(), 0);
}

Test(tls, large_transfer_tls12_short_sends)
{
	large_transfer(wolfTLSv1_2_client_method(), 7001);
}

/* Many short response lines become few full records, not one record each. */
Test(tls, small_writes_coalesced)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(p));
	size_t total = 0;
	char line[64];
	for (int i = 0; i < 2000; i++) {
		int n = snprintf(line, sizeof(line), "* %d FETCH (FLAGS (\\Seen))\r\n", i + 1);
		outq_append(&p->c.out, line, (size_t)n);
		/* a reference between text chunks, as a small body would be */
		if (i % 100 == 0)
			outq_append_ref(&p->c.out, "BODY", 4, NULL, NULL);
		total += (size_t)n + (i % 100 == 0 ? 4 : 0);
	}
	size_t before = bytes_avail(&p->to_client); /* e.g. an unread NewSessionTicket */
	conn_mark_dirty(&p->c);
	server_turn(p);
	size_t records = 0, plain = 0;
	const unsigned char *w = bytes_head(&p->to_client);
	for (size_t o = before; o + 5 <= bytes_avail(&p->to_client); records++) {
		size_t len = (size_t)w[o + 3] << 8 | w[o + 4];
		cr_assert_eq(w[o], 23, "application data records only");
		plain += len - 17; /* TLS 1.3: content type byte + 16-byte tag */
		o += 5 + len;
	}
	cr_assert_eq(plain, total);
	cr_assert_eq(records, (total + 16383) / 16384, "%zu bytes in %zu records", total, records);
	struct bytes got = { 0 };
	cr_assert_eq(client_read(p, &got, total), 0);
	bytes_free(&got);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* Goodbye: the BYE queued before shutdown goes out, then close_notify. */
Test(tls, close_notify_after_output)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(p));
	outq_puts(&p->c.out, "* BYE Logging out\r\n");
	p->c.tv->shutdown(&p->c);
	cr_assert_eq(tls_conn_pending(&p->c), 0, "close_notify waits for the BYE");
	conn_mark_dirty(&p->c);
	server_turn(p);
	expect_client_gets(p, "* BYE Logging out\r\n");
	struct bytes got = { 0 };
	cr_assert_eq(client_read(p, &got, 1), WOLFSSL_ERROR_ZERO_RETURN);
	cr_assert_eq(bytes_avail(&got), 0);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

Test(tls, close_notify_when_idle)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_2_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(p));
	p->c.tv->shutdown(&p->c);
	p->c.tv->shutdown(&p->c);
	cr_assert_gt(tls_conn_pending(&p->c), 0, "queued at once");
	conn_mark_dirty(&p->c);
	server_turn(p);
	struct bytes got = { 0 };
	cr_assert_eq(client_read(p, &got, 1), WOLFSSL_ERROR_ZERO_RETURN);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* The client's close_notify closes the connection. */
Test(tls, client_close_notify)
{
	for (int v = 0; v < 2; v++) {
		WOLFSSL_CTX *cctx = client_ctx(v == 0 ? wolfTLSv1_3_client_method()
						      : wolfTLSv1_2_client_method(), CA);
		struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
		cr_assert(handshake(p));
		client_write(p, "a LOGOUT\r\n", 10);
		expect_delivered(p, "a LOGOUT\r\n");
		wolfSSL_shutdown(p->cl);
		server_turn(p);
		cr_assert_eq(p->recv_ret, -1);
		/* answered with ours */
		p->c.tv->shutdown(&p->c);
		cr_assert_gt(tls_conn_pending(&p->c), 0);
		peer_free(p);
		wolfSSL_CTX_free(cctx);
	}
}

/* Plaintext IMAP to the TLS port: an error for that connection only. */
Test(tls, plaintext_on_tls_port)
{
	for (size_t feed = 0; feed <= 1; feed++) {
		struct peer *p = peer_new(NULL, TLS_START_IMPLICIT, "* OK greeting\r\n");
		p->feed = feed;
		bytes_add(&p->to_server, "a CAPABILITY\r\n", 14);
		server_turn(p);
		cr_assert_eq(p->recv_ret, -1);
		cr_assert_eq(bytes_avail(&p->delivered), 0);
		cr_assert_not(tls_conn_handshake_done(&p->c));
		/* nothing of the greeting leaks in clear */
		for (size_t i = 0; i + 2 < bytes_avail(&p->to_client); i++)
			cr_assert(memcmp(bytes_head(&p->to_client) + i, "* OK", 4) != 0);
		/* later input is refused without touching wolfSSL */
		cr_assert_eq(p->c.tv->recv(&p->c, (const unsigned char *)"x", 1), -1);
		peer_free(p);
	}
}

/* Garbage after the handshake, and a record with a flipped bit. */
Test(tls, garbage_after_handshake)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(p));
	unsigned char *junk = pattern(300, 3);
	bytes_add(&p->to_server, junk, 300);
	server_turn(p);
	cr_assert_eq(p->recv_ret, -1);
	free(junk);
	peer_free(p);

	p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(p));
	cr_assert_eq(wolfSSL_write(p->cl, "a NOOP\r\n", 8), 8);
	p->to_server.p[p->to_server.off + 10] ^= 0x01;
	server_turn(p);
	cr_assert_eq(p->recv_ret, -1);
	cr_assert_eq(bytes_avail(&p->delivered), 0);
	/* the alert that went out is still sent, then send_iov reports the error */
	conn_mark_dirty(&p->c);
	server_turn(p);
	cr_assert_eq(p->send_ret, -1);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* A client that stops mid-handshake: nothing happens until the idle timer (not
   ours) closes it, and freeing it then is clean. */
Test(tls, stalled_handshake)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, "* OK\r\n");
	cr_assert_eq(wolfSSL_connect(p->cl), WOLFSSL_FATAL_ERROR);
	size_t half = bytes_avail(&p->to_server) / 2;
	cr_assert_eq(p->c.tv->recv(&p->c, bytes_head(&p->to_server), half), 0);
	cr_assert_eq(bytes_avail(&p->to_client), 0);
	cr_assert_not(tls_conn_handshake_done(&p->c));
	p->c.tv->shutdown(&p->c);
	cr_assert_eq(tls_conn_pending(&p->c), 0);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

static void resumption(WOLFSSL_METHOD *method)
{
	WOLFSSL_CTX *cctx = client_ctx(method, CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, "* OK\r\n");
	wolfSSL_UseSessionTicket(p->cl);
	cr_assert(handshake(p));
	cr_assert_not(tls_conn_resumed(&p->c));
	expect_client_gets(p, "* OK\r\n"); /* also reads a TLS 1.3 NewSessionTicket */
	WOLFSSL_SESSION *sess = wolfSSL_get1_session(p->cl);
	cr_assert_not_null(sess);
	cr_assert(wolfSSL_SESSION_has_ticket(sess), "the server issued a ticket");
	wolfSSL_shutdown(p->cl);
	server_turn(p);
	peer_free(p);

	p = peer_new(cctx, TLS_START_IMPLICIT, "* OK again\r\n");
	wolfSSL_UseSessionTicket(p->cl);
	cr_assert_eq(wolfSSL_set_session(p->cl, sess), WOLFSSL_SUCCESS);
	cr_assert(handshake(p));
	cr_assert(tls_conn_resumed(&p->c));
	cr_assert(wolfSSL_session_reused(p->cl));
	expect_client_gets(p, "* OK again\r\n");
	client_write(p, "a NOOP\r\n", 8);
	expect_delivered(p, "a NOOP\r\n");
	wolfSSL_SESSION_free(sess);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

Test(tls, resumption_ticket_tls13)
{
	resumption(wolfTLSv1_3_client_method());
}

Test(tls, resumption_ticket_tls12)
{
	resumption(wolfTLSv1_2_client_method());
}

Test(tls, alpn_imap_and_sni)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfSSLv23_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
	char protos[] = "imap";
	cr_assert_eq(wolfSSL_UseALPN(p->cl, protos, 4, WOLFSSL_ALPN_FAILED_ON_MISMATCH),
		     WOLFSSL_SUCCESS);
	cr_assert_eq(wolfSSL_UseSNI(p->cl, WOLFSSL_SNI_HOST_NAME, "mail.example.org", 16),
		     WOLFSSL_SUCCESS);
	cr_assert(handshake(p));
	char *name = NULL;
	unsigned short len = 0;
	cr_assert_eq(wolfSSL_ALPN_GetProtocol(p->cl, &name, &len), WOLFSSL_SUCCESS);
	cr_assert_eq(len, 4);
	cr_assert(memcmp(name, "imap", 4) == 0);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* ALPACA: a client for another protocol (ALPN without "imap") is dropped. */
Test(tls, alpn_other_protocol_refused)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfSSLv23_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, "* OK\r\n");
	char protos[] = "http/1.1";
	wolfSSL_UseALPN(p->cl, protos, 8, WOLFSSL_ALPN_CONTINUE_ON_MISMATCH);
	handshake(p);
	cr_assert_eq(p->recv_ret, -1);
	cr_assert_eq(bytes_avail(&p->delivered), 0);
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* Server order: ChaCha20-Poly1305 first exactly when AES is not accelerated. */
Test(tls, cipher_order)
{
	for (int v = 0; v < 2; v++) {
		WOLFSSL_CTX *cctx = client_ctx(v == 0 ? wolfTLSv1_3_client_method()
						      : wolfTLSv1_2_client_method(), CA);
		/* the client prefers AES */
		cr_assert_eq(wolfSSL_CTX_set_cipher_list(cctx, v == 0
			? "TLS13-AES128-GCM-SHA256:TLS13-CHACHA20-POLY1305-SHA256"
			: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305"),
			WOLFSSL_SUCCESS);
		struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, NULL);
		cr_assert(handshake(p));
		const char *cipher = tls_conn_cipher(&p->c);
		cr_log_info("%s %s (AES acceleration: %s)", tls_conn_version(&p->c), cipher,
			    tls_available_aes_accel() ? "yes" : "no");
		bool chacha = strstr(cipher, "CHACHA") != NULL;
		cr_assert_eq(chacha, !tls_available_aes_accel(), "%s", cipher);
		peer_free(p);
		wolfSSL_CTX_free(cctx);
	}
}

/* SIGHUP: new connections get the new certificate, old ones keep working, a
   failed reload keeps the old one. */
Test(tls, reload)
{
	WOLFSSL_CTX *ec_client = client_ctx(wolfSSLv23_client_method(), CA);
	WOLFSSL_CTX *rsa_client = client_ctx(wolfSSLv23_client_method(), RSA_CERT);
	struct peer *old = peer_new(ec_client, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(old));

	const char *error = NULL;
	cr_assert_eq(tls_ctx_reload(ctx, RSA_CERT, RSA_KEY, &error), 0, "%s", error);

	struct peer *p = peer_new(ec_client, TLS_START_IMPLICIT, NULL);
	cr_assert_not(handshake(p), "the old CA does not vouch for the new certificate");
	peer_free(p);
	p = peer_new(rsa_client, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(p));
	peer_free(p);

	cr_assert_eq(tls_ctx_reload(ctx, TLS_TEST_DIR "/missing.pem", RSA_KEY, &error), -1);
	cr_assert_not_null(strstr(error, "missing.pem"), "%s", error);
	cr_assert_eq(tls_ctx_reload(ctx, CERT, RSA_KEY, &error), -1, "key mismatch");
	cr_assert_not_null(strstr(error, "match"), "%s", error);
	p = peer_new(rsa_client, TLS_START_IMPLICIT, NULL);
	cr_assert(handshake(p));
	peer_free(p);

	/* the old connection outlives even the context */
	tls_ctx_free(&ctx);
	client_write(old, "a NOOP\r\n", 8);
	expect_delivered(old, "a NOOP\r\n");
	server_puts(old, "a OK\r\n");
	expect_client_gets(old, "a OK\r\n");
	peer_free(old);
	wolfSSL_CTX_free(ec_client);
	wolfSSL_CTX_free(rsa_client);
}

Test(tls, ctx_errors)
{
	const char *error = NULL;
	cr_assert_null(tls_ctx_new(TLS_TEST_DIR "/nope.pem", KEY, &error));
	cr_assert_not_null(strstr(error, "nope.pem"));
	cr_assert_null(tls_ctx_new(CERT, RSA_KEY, &error));
	cr_assert_null(tls_ctx_new(KEY, KEY, &error), "a key is not a certificate");
	cr_log_info("%s", error);
}

Test(tls, library_info)
{
	cr_assert_not_null(strstr(tls_library_version(), "wolfSSL "));
	cr_log_info("%s, AES acceleration: %s", tls_library_version(),
		    tls_available_aes_accel() ? "yes" : "no");
#ifndef WOLFSSL_AESNI
	cr_assert_not(tls_available_aes_accel());
#endif
}

/* ---- memory held by an idle connection ---- */

/* wolfSSL allocations, each tagged with the side that made it. */
struct memhdr {
	size_t size;
	int tag;
	int pad;
};
static int mem_tag;                /* 0: server, 1: client */
static size_t mem_live[2], mem_peak[2];

static void *mem_malloc(size_t n)
{
	struct memhdr *h = malloc(sizeof(*h) + n);
	if (h == NULL)
		return NULL;
	h->size = n;
	h->tag = mem_tag;
	mem_live[h->tag] += n;
	if (mem_live[h->tag] > mem_peak[h->tag])
		mem_peak[h->tag] = mem_live[h->tag];
	return h + 1;
}

static void mem_free(void *p)
{
	if (p == NULL)
		return;
	struct memhdr *h = (struct memhdr *)p - 1;
	mem_live[h->tag] -= h->size;
	free(h);
}

static void *mem_realloc(void *p, size_t n)
{
	if (p == NULL)
		return mem_malloc(n);
	struct memhdr *h = (struct memhdr *)p - 1;
	void *q = mem_malloc(n);
	if (q == NULL)
		return NULL;
	memcpy(q, p, MIN(n, h->size));
	mem_free(p);
	return q;
}

static size_t server_turn_tagged(struct peer *p)
{
	mem_tag = 0;
	size_t n = server_turn(p);
	mem_tag = 1;
	return n;
}

static void mem_init(void)
{
	wolfSSL_SetAllocators(mem_malloc, mem_free, mem_realloc);
	setup();
}

/* What an idle connection keeps: measured as the drop in live wolfSSL heap when
   N idle server connections are freed, so that library-wide caches filled during
   the handshakes (e.g. the FP_ECC point cache) are not counted per connection. */
Test(tls_memory, idle_connection, .init = mem_init, .fini = teardown)
{
	enum { N = 20 };
	struct peer *p[N];
	for (int v = 0; v < 2; v++) {
		WOLFSSL_CTX *cctx = client_ctx(v == 0 ? wolfTLSv1_3_client_method()
						      : wolfTLSv1_2_client_method(), CA);
		size_t start = mem_live[0];
		mem_peak[0] = mem_live[0];
		for (int i = 0; i < N; i++) {
			mem_tag = 0;
			p[i] = peer_new(NULL, TLS_START_IMPLICIT, NULL);
			mem_tag = 1;
			p[i]->cl = wolfSSL_new(cctx);
			wolfSSL_SetIOReadCtx(p[i]->cl, p[i]);
			wolfSSL_SetIOWriteCtx(p[i]->cl, p[i]);
			for (int k = 0; k < 1000 && !tls_conn_handshake_done(&p[i]->c); k++) {
				wolfSSL_connect(p[i]->cl);
				server_turn_tagged(p[i]);
			}
			cr_assert(tls_conn_handshake_done(&p[i]->c));
			/* a command and a response, then idle */
			wolfSSL_write(p[i]->cl, "a NOOP\r\n", 8);
			mem_tag = 0;
			outq_puts(&p[i]->c.out, "a OK NOOP completed\r\n");
			conn_mark_dirty(&p[i]->c);
			mem_tag = 1;
			server_turn_tagged(p[i]);
			char buf[64];
			wolfSSL_read(p[i]->cl, buf, sizeof(buf));
			server_turn_tagged(p[i]);
			cr_assert_eq(tls_conn_pending(&p[i]->c), 0);
		}
		size_t with = mem_live[0];
		const char *version = tls_conn_version(&p[0]->c);
		mem_tag = 0;
		for (int i = 0; i < N; i++)
			peer_free(p[i]);
		mem_tag = 1;
		size_t per_conn = (with - mem_live[0]) / N;
		fprintf(stderr, "MEMORY %s: wolfSSL heap per idle server connection %zu bytes "
			"(sizeof(WOLFSSL) %d); library caches grew by %zu; handshake peak %zu "
			"per connection\n", version, per_conn, wolfSSL_GetObjectSize(),
			mem_live[0] - start, (mem_peak[0] - start) / N);
		cr_assert_lt(per_conn, 64 * 1024);
		wolfSSL_CTX_free(cctx);
	}
}

/* ---- the openssl CLI over loopback: interop, key update, renegotiation ---- */

struct s_client {
	pid_t pid;
	int in, out;  /* its stdin, stdout */
	int fd;       /* our accepted socket */
};

static bool have_openssl(void)
{
	return access("/usr/bin/openssl", X_OK) == 0;
}

static void s_client_start(struct s_client *sc, const char *version_flag)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(l, 1), 0);
	socklen_t alen = sizeof(a);
	getsockname(l, (struct sockaddr *)&a, &alen);
	char target[32];
	snprintf(target, sizeof(target), "127.0.0.1:%d", ntohs(a.sin_port));
	int pin[2], pout[2];
	cr_assert_eq(pipe(pin), 0);
	cr_assert_eq(pipe(pout), 0);
	sc->pid = fork();
	cr_assert_geq(sc->pid, 0);
	if (sc->pid == 0) {
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(pout[1], 2);
		close(pin[1]);
		close(pout[0]);
		execl("/usr/bin/openssl", "openssl", "s_client", "-connect", target, version_flag,
		      "-CAfile", CA, "-servername", "localhost", "-verify_return_error",
		      "-alpn", "imap", "-crlf", (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	sc->in = pin[1];
	sc->out = pout[0];
	struct pollfd pf = { .fd = l, .events = POLLIN };
	cr_assert_eq(poll(&pf, 1, 10000), 1, "s_client did not connect");
	sc->fd = accept(l, NULL, NULL);
	cr_assert_geq(sc->fd, 0);
	close(l);
}

static void s_client_stop(struct s_client *sc, struct bytes *out)
{
	close(sc->in);
	close(sc->fd);
	kill(sc->pid, SIGTERM);
	char buf[4096];
	ssize_t n;
	while ((n = read(sc->out, buf, sizeof(buf))) > 0)
		bytes_add(out, buf, (size_t)n);
	close(sc->out);
	waitpid(sc->pid, NULL, 0);
}

/* Move bytes between the socket and the transport until cond(p) holds, the
   transport closes or rounds polls of 20 ms passed. Returns whether cond held. */
static bool socket_pump(struct s_client *sc, struct peer *p, bool (*cond)(struct peer *),
			struct bytes *out, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		if (cond(p))
			return true;
		struct pollfd pf[2] = { { .fd = sc->fd, .events = POLLIN },
					{ .fd = sc->out, .events = POLLIN } };
		if (poll(pf, 2, 20) < 0)
			return false;
		unsigned char buf[8192];
		if (pf[1].revents & POLLIN) {
			ssize_t n = read(sc->out, buf, sizeof(buf));
			if (n > 0)
				bytes_add(out, buf, (size_t)n);
		}
		if (pf[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(sc->fd, buf, sizeof(buf));
			if (n <= 0)
				return cond(p);
			if (p->c.tv->recv(&p->c, buf, (size_t)n) < 0) {
				p->recv_ret = -1;
				conn_mark_dirty(&p->c);
			}
		}
		while (p->c.dirty) {
			p->c.dirty = false;
			srv->dirty = NULL;
			struct iovec iov[64];
			int n = p->c.tv->send_iov(&p->c, iov, 64);
			if (n <= 0)
				break;
			ssize_t w = writev(sc->fd, iov, n);
			if (w > 0)
				p->c.tv->sent(&p->c, (size_t)w);
			if (p->c.out.bytes > 0)
				conn_mark_dirty(&p->c);
		}
		if (p->recv_ret < 0)
			return cond(p);
	}
	return cond(p);
}

static bool cond_handshake(struct peer *p)
{
	return tls_conn_handshake_done(&p->c);
}

static bool cond_noop(struct peer *p)
{
	return bytes_avail(&p->delivered) >= 8;
}

static bool cond_closed(struct peer *p)
{
	return p->recv_ret < 0;
}

static bool write_all(int fd, const char *s)
{
	return write(fd, s, strlen(s)) == (ssize_t)strlen(s);
}

static void openssl_session(const char *version_flag, const char *post_command,
			    const char *post_line, bool expect_close)
{
	if (!have_openssl())
		cr_skip_test("no /usr/bin/openssl");
	struct s_client sc;
	s_client_start(&sc, version_flag);
	struct peer *p = peer_new(NULL, TLS_START_IMPLICIT, "* OK uimap ready\r\n");
	struct bytes out = { 0 };
	cr_assert(socket_pump(&sc, p, cond_handshake, &out, 500), "handshake with openssl");
	cr_assert(write_all(sc.in, "a NOOP\n"));
	cr_assert(socket_pump(&sc, p, cond_noop, &out, 500));
	expect_delivered(p, "a NOOP\r\n");
	cr_assert(write_all(sc.in, post_command));
	/* s_client reads a command letter alone: the next line goes separately */
	if (post_line != NULL) {
		socket_pump(&sc, p, cond_closed, &out, 25);
		cr_assert(write_all(sc.in, post_line));
	}
	if (expect_close) {
		cr_assert(socket_pump(&sc, p, cond_closed, &out, 500), "the connection is refused");
	} else {
		cr_assert(socket_pump(&sc, p, cond_noop, &out, 500));
		cr_assert_eq(p->recv_ret, 0);
	}
	s_client_stop(&sc, &out);
	bytes_add(&out, "", 1);
	cr_log_info("openssl s_client %s said:\n%s", version_flag, (const char *)bytes_head(&out));
	cr_assert_not_null(strstr((const char *)bytes_head(&out), "* OK uimap ready"));
	peer_free(p);
	bytes_free(&out);
}

/* OpenSSL's "K": a TLS 1.3 KeyUpdate; the connection carries on. */
Test(tls, openssl_tls13_key_update)
{
	openssl_session("-tls1_3", "K\n", "b NOOP\n", false);
}

/* OpenSSL's "R": TLS 1.2 renegotiation is refused by closing the connection. */
Test(tls, openssl_tls12_renegotiation_refused)
{
	openssl_session("-tls1_2", "R\n", NULL, true);
}

/* ---- handshakes on worker threads (tls-workers): the same sessions with every
   handshake step on a pool, input arriving while a step runs kept for the next ---- */

static void workers_setup(void)
{
	setup();
	const char *error = NULL;
	srv->tls_hs = tls_workers_create(2, 10, &error);
	cr_assert_not_null(srv->tls_hs, "tls_workers_create: %s", error);
}

static void workers_teardown(void)
{
	tls_hs_pool_destroy(&srv->tls_hs);
	teardown();
}

TestSuite(tls_workers, .init = workers_setup, .fini = workers_teardown);

Test(tls_workers, handshake_tls13)
{
	basic_session(wolfTLSv1_3_client_method(), 0, "TLSv1.3");
}

Test(tls_workers, handshake_tls12)
{
	basic_session(wolfTLSv1_2_client_method(), 0, "TLSv1.2");
}

/* one byte per recv: most bytes arrive while a step is out */
Test(tls_workers, byte_at_a_time_tls13)
{
	basic_session(wolfTLSv1_3_client_method(), 1, "TLSv1.3");
}

Test(tls_workers, byte_at_a_time_tls12)
{
	basic_session(wolfTLSv1_2_client_method(), 1, "TLSv1.2");
}

Test(tls_workers, resumption_ticket_tls13)
{
	resumption(wolfTLSv1_3_client_method());
}

Test(tls_workers, resumption_ticket_tls12)
{
	resumption(wolfTLSv1_2_client_method());
}

Test(tls_workers, rsa_certificate)
{
	const char *error = NULL;
	tls_ctx_free(&ctx);
	ctx = tls_ctx_new(RSA_CERT, RSA_KEY, &error);
	cr_assert_not_null(ctx, "%s", error);
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), RSA_CERT);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, "* OK rsa\r\n");
	cr_assert(handshake(p));
	expect_client_gets(p, "* OK rsa\r\n");
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* STARTTLS: the plaintext OK goes out first, the handshake steps follow */
Test(tls_workers, starttls_ok_first)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_STARTTLS, "S OK Begin TLS\r\n");
	server_turn(p);
	cr_assert_eq(bytes_avail(&p->to_client), 16);
	cr_assert_arr_eq(bytes_head(&p->to_client), "S OK Begin TLS\r\n", 16);
	p->to_client.off += 16;
	cr_assert(handshake(p));
	client_write(p, "a NOOP\r\n", 8);
	expect_delivered(p, "a NOOP\r\n");
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}

/* The connection closes while its step runs: when the step is back its output is
   dropped and nothing refers to the connection any more. */
Test(tls_workers, closed_during_a_step)
{
	WOLFSSL_CTX *cctx = client_ctx(wolfTLSv1_3_client_method(), CA);
	struct peer *p = peer_new(cctx, TLS_START_IMPLICIT, "* OK\r\n");
	cr_assert_neq(wolfSSL_connect(p->cl), WOLFSSL_SUCCESS);
	cr_assert_gt(bytes_avail(&p->to_server), 0);
	cr_assert_eq(p->c.tv->recv(&p->c, bytes_head(&p->to_server),
				   bytes_avail(&p->to_server)), 0);
	p->to_server.off = p->to_server.len;
	cr_assert_eq(p->c.pending, 1, "the ClientHello went to a worker");
	p->c.closing = true;
	wait_steps(&p->c);
	cr_assert_eq(p->c.pending, 0);
	cr_assert_eq(tls_conn_pending(&p->c), 0, "the step's output was dropped");
	cr_assert_not(tls_conn_handshake_done(&p->c));
	peer_free(p);
	wolfSSL_CTX_free(cctx);
}
