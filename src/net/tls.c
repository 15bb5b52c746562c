/* TLS transport (wolfSSL): ring buffers in, a wire queue out; wolfSSL never sees the socket. */
#define WOLFSSL_OPTIONS_IGNORE_SYS /* keep our own _FORTIFY_SOURCE */
#include <wolfssl/options.h>  /* first: the library's build configuration */

#include "net/tls.h"
#include "core/alloc.h"
#include "core/error.h"
#include "net/conn.h"
#include "net/server.h"
#include "net/tls-handshake.h"
#include "core/outq.h"
#include "core/common.h"
#include "core/log.h"

#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TLS_RECORD_MAX 16384           /* plaintext bytes per record (RFC 8446 5.1) */
/* Stop encrypting c->txq (c->out, or its deflated form with COMPRESS) while this
   much ciphertext waits for the ring: bounds the wire queue and leaves the rest of
   the output (and its back-pressure) in c->out. */
#define TLS_WIRE_HIGH (128 * 1024)
/* Ciphertext that wolfSSL did not take is kept between recvs up to this much. */
#define TLS_PEND_MAX (64 * 1024)
/* wolfSSL calls that neither took input nor produced plaintext before we stop
   and wait for the next recv (guards against a library that makes no progress). */
#define TLS_IDLE_SPINS 64

/* Cipher suites in server order (RFC 8446 B.4 names via wolfSSL's spelling). */
#define SUITES_AES \
	"TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:"
#define SUITES_CHACHA13 "TLS13-CHACHA20-POLY1305-SHA256:"
#define SUITES12_AES \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"
#define SUITES12_CHACHA "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static const char suites_aes_first[] =
	SUITES_AES SUITES_CHACHA13 SUITES12_AES ":" SUITES12_CHACHA;
static const char suites_chacha_first[] =
	SUITES_CHACHA13 SUITES_AES SUITES12_CHACHA ":" SUITES12_AES;

static const unsigned char alpn_imap[] = { 'i', 'm', 'a', 'p' };

struct tls_ctx {
	/* The context new connections use. Every WOLFSSL holds a reference of its
	   own (wolfSSL_new() counts it), so a reload only drops ours. */
	WOLFSSL_CTX *wctx;
};

/* Per-connection state (c->tctx). Buffer lifecycles:
   - in/in_len: the ring buffer being fed to wolfSSL, valid only inside tls_recv();
   - pend: ciphertext wolfSSL did not take before tls_recv() returned (normally
     never used: wolfSSL is called until it asks for more), and ciphertext that
     arrived while a handshake step ran on a worker; freed when empty;
   - wire: ciphertext produced by wolfSSL, offered to the ring by send_iov() and
     consumed by sent(); its chunks go back to the outq cache when sent;
   - hs: a handshake step on a worker (net/tls-handshake.h), with its own copy of
     the input and its own output buffer, both freed when it comes back.
   Ownership: while hs is set, a worker owns ssl and the fields marked (W) below;
   the loop touches none of them (it only stashes input in pend, sends what wire
   holds and keeps the connection from being freed: the step counts in
   c->pending). Otherwise everything is the loop thread's. */
struct tls_conn {
	WOLFSSL *ssl;                 /* NULL until the first handshake step made it */
	WOLFSSL_CTX *wctx;            /* our reference to the context ssl is made from,
					 held only while ssl is NULL */
	struct tls_hs_job *hs;
	struct outq wire;
	size_t plain_left;            /* STARTTLS: head bytes of c->out still sent in clear */

	const unsigned char *in;
	size_t in_len;
	unsigned char *pend;
	size_t pend_off, pend_len, pend_cap;
	size_t fed;                   /* ciphertext bytes handed to wolfSSL so far (W) */
	int first_byte;               /* first byte received, -1 before any */

	void (*deliver)(struct conn *c, const unsigned char *data, size_t len);

	bool starved;                 /* the recv callback ran out of input (W) */
	bool handshake_done;
	bool tls13;
	bool renegotiating;           /* a TLS 1.2 client started a new handshake (W) */
	bool alpn_mismatch;           /* (W) */
	bool failed;                  /* fatal error: only queued alerts are sent */
	bool shutdown_wanted;
	bool shutdown_sent;
};

/* wolfSSL's global state is shared by every server of the process, each maybe on
   its own thread: initialised by the first user, cleaned up by the last. */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned lib_users;            /* contexts + connections alive */

static void lib_ref(void)
{
	pthread_mutex_lock(&lib_lock);
	if (lib_users++ == 0)
		wolfSSL_Init();
	pthread_mutex_unlock(&lib_lock);
}

static void lib_unref(void)
{
	pthread_mutex_lock(&lib_lock);
	if (--lib_users == 0)
		wolfSSL_Cleanup();
	pthread_mutex_unlock(&lib_lock);
}

/* wolfSSL's text for err, written into buf (the caller's: ERR_TEXT gives a buffer
   that lives until the end of the statement, so no thread-local one is needed). */
static const char *err_text(int err, char *buf)
{
	wolfSSL_ERR_error_string_n((unsigned long)err, buf, WOLFSSL_MAX_ERROR_SZ);
	return buf;
}
#define ERR_TEXT(err) err_text((err), (char[WOLFSSL_MAX_ERROR_SZ]){ 0 })

/* ---- context ---- */

/* ALPN (RFC 7301): pick "imap" when offered. A client that offers ALPN without
   "imap" is another protocol's client (ALPACA): it is noted and the connection is
   closed once the handshake is done. */
static int alpn_select(WOLFSSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < inlen;) {
		unsigned n = in[i++];
		if (n > inlen - i)
			break;
		if (n == sizeof(alpn_imap) && memcmp(in + i, alpn_imap, n) == 0) {
			*out = in + i;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += n;
	}
	struct conn *c = wolfSSL_GetIOReadCtx(ssl);
	if (c != NULL && c->tctx != NULL)
		((struct tls_conn *)c->tctx)->alpn_mismatch = true;
	return SSL_TLSEXT_ERR_NOACK;
}

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *vctx);
static int io_send(WOLFSSL *ssl, char *buf, int sz, void *vctx);

/* Called for every handshake message wolfSSL processes. After a TLS 1.2
   handshake the client has none to send except a renegotiating ClientHello
   (RFC 5746): note it, pump_input() closes the connection. TLS 1.3 has no
   renegotiation; its post-handshake messages (KeyUpdate) are fine. */
static void info_cb(const WOLFSSL *ssl, int where, int ret)
{
	(void)ret;
	if (where != SSL_CB_ACCEPT_LOOP)
		return;
	struct conn *c = wolfSSL_GetIOReadCtx((WOLFSSL *)ssl);
	struct tls_conn *t = c != NULL ? c->tctx : NULL;
	if (t != NULL && t->handshake_done && !t->tls13)
		t->renegotiating = true;
}


static WOLFSSL_CTX *wctx_new(const char *cert_file, const char *key_file, const char **error_r)
{
	if (access(cert_file, R_OK) < 0) {
		error_set(error_r, "TLS certificate %s: %s", cert_file, strerror(errno));
		return NULL;
	}
	if (access(key_file, R_OK) < 0) {
		error_set(error_r, "TLS key %s: %s", key_file, strerror(errno));
		return NULL;
	}
	WOLFSSL_CTX *w = wolfSSL_CTX_new(wolfSSLv23_server_method());
	if (w == NULL) {
		error_set(error_r, "wolfSSL_CTX_new failed");
		return NULL;
	}
	int ret;
	if ((ret = wolfSSL_CTX_SetMinVersion(w, WOLFSSL_TLSV1_2)) != WOLFSSL_SUCCESS) {
		error_set(error_r, "TLS: cannot set the minimum version: %s", ERR_TEXT(ret));
		goto fail;
	}
	ret = wolfSSL_CTX_use_certificate_chain_file(w, cert_file);
	if (ret != WOLFSSL_SUCCESS) {
		error_set(error_r, "TLS certificate %s: %s", cert_file, ERR_TEXT(ret));
		goto fail;
	}
	ret = wolfSSL_CTX_use_PrivateKey_file(w, key_file, WOLFSSL_FILETYPE_PEM);
	if (ret != WOLFSSL_SUCCESS) {
		error_set(error_r, "TLS key %s: %s", key_file, ERR_TEXT(ret));
		goto fail;
	}
#ifdef OPENSSL_EXTRA
	if (wolfSSL_CTX_check_private_key(w) != WOLFSSL_SUCCESS) {
		error_set(error_r, "TLS key %s does not match certificate %s", key_file, cert_file);
		goto fail;
	}
#endif
	const char *suites = tls_available_aes_accel() ? suites_aes_first : suites_chacha_first;
	if (wolfSSL_CTX_set_cipher_list(w, suites) != WOLFSSL_SUCCESS) {
		error_set(error_r, "TLS: cannot set the cipher suites");
		goto fail;
	}
#ifdef WOLFSSL_TLS13
	/* TLS 1.3 key exchange: the cheap, common groups only (a client cannot
	   make us run a 4096-bit finite-field exchange); others get a
	   HelloRetryRequest for the first of these */
	int groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1 };
	if (wolfSSL_CTX_set_groups(w, groups, (int)N_ELEMENTS(groups)) != WOLFSSL_SUCCESS) {
		error_set(error_r, "TLS: cannot set the key exchange groups");
		goto fail;
	}
#endif
	/* wolfSSL picks the suite in our order unless told to use the client's
	   (useClientOrder stays 0). */
#ifdef OPENSSL_EXTRA
	wolfSSL_CTX_set_options(w, WOLFSSL_OP_CIPHER_SERVER_PREFERENCE);
	/* WANT_READ comes back to us instead of wolfSSL re-calling the callback */
	wolfSSL_CTX_clear_mode(w, SSL_MODE_AUTO_RETRY);
#endif
	/* Session tickets: wolfSSL's default ticket callback with per-context keys
	   (HAVE_SESSION_TICKET); TLS 1.3 sends one NewSessionTicket after the
	   handshake. TLS 1.2 renegotiation: without HAVE_SECURE_RENEGOTIATION
	   (Debian's build) wolfSSL fails on a second ClientHello by itself; the
	   info callback catches any handshake message after the handshake in any
	   build. */
#ifdef OPENSSL_EXTRA
	wolfSSL_CTX_set_info_callback(w, info_cb);
#elif defined(HAVE_SECURE_RENEGOTIATION)
#error "refusing TLS 1.2 renegotiation needs OPENSSL_EXTRA or no HAVE_SECURE_RENEGOTIATION"
#endif
#if defined(HAVE_ALPN) && (defined(OPENSSL_ALL) || defined(WOLFSSL_NGINX) || defined(WOLFSSL_HAPROXY))
	wolfSSL_CTX_set_alpn_select_cb(w, alpn_select, NULL);
#else
	(void)alpn_select;
#endif
	/* SNI (RFC 6066): accepted whatever the name; one certificate for all. */
	wolfSSL_CTX_SetIORecv(w, io_recv);
	wolfSSL_CTX_SetIOSend(w, io_send);
	return w;
fail:
	wolfSSL_CTX_free(w);
	return NULL;
}

struct tls_ctx *tls_ctx_new(const char *cert_file, const char *key_file, const char **error_r)
{
	struct tls_ctx *ctx = xcalloc(1, sizeof(*ctx));
	lib_ref();
	ctx->wctx = wctx_new(cert_file, key_file, error_r);
	if (ctx->wctx == NULL) {
		free(ctx);
		lib_unref();
		return NULL;
	}
	return ctx;
}

int tls_ctx_reload(struct tls_ctx *ctx, const char *cert_file, const char *key_file,
		   const char **error_r)
{
	WOLFSSL_CTX *w = wctx_new(cert_file, key_file, error_r);
	if (w == NULL)
		return -1;
	/* connections started on the old context keep it alive (refcounted) */
	wolfSSL_CTX_free(ctx->wctx);
	ctx->wctx = w;
	return 0;
}

void tls_ctx_free(struct tls_ctx **_ctx)
{
	struct tls_ctx *ctx = *_ctx;
	if (ctx == NULL)
		return;
	*_ctx = NULL;
	wolfSSL_CTX_free(ctx->wctx);
	free(ctx);
	lib_unref();
}

/* ---- wolfSSL I/O callbacks ---- */

/* Hand wolfSSL up to sz ciphertext bytes: first what an earlier recv left, then
   the ring buffer of this recv. Never returns 0 (wolfSSL would spin). */
static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *vctx)
{
	(void)ssl;
	struct conn *c = vctx;
	struct tls_conn *t = c->tctx;
	if (t->hs != NULL) {
		/* a handshake step on a worker: its own copy of the input */
		int n = tls_hs_io_recv(t->hs, buf, sz);
		return n > 0 ? n : WOLFSSL_CBIO_ERR_WANT_READ;
	}
	size_t want = (size_t)sz, got = 0;
	if (t->pend_len > 0) {
		size_t k = MIN(want, t->pend_len);
		memcpy(buf, t->pend + t->pend_off, k);
		t->pend_off += k;
		t->pend_len -= k;
		got = k;
		if (t->pend_len == 0)
			t->pend_off = 0;
	}
	if (got < want && t->in_len > 0) {
		size_t k = MIN(want - got, t->in_len);
		memcpy(buf + got, t->in, k);
		t->in += k;
		t->in_len -= k;
		got += k;
	}
	if (got == 0) {
		t->starved = true;
		return WOLFSSL_CBIO_ERR_WANT_READ;
	}
	t->fed += got;
	return (int)got;
}

/* Ciphertext from wolfSSL: append it to the wire queue (always all of it, so
   wolfSSL never sees WANT_WRITE and never keeps a record half-sent). */
static int io_send(WOLFSSL *ssl, char *buf, int sz, void *vctx)
{
	(void)ssl;
	struct conn *c = vctx;
	struct tls_conn *t = c->tctx;
	if (t->hs != NULL)
		return tls_hs_io_send(t->hs, buf, sz);  /* on a worker: not the wire queue */
	outq_append(&t->wire, buf, (size_t)sz);
	return sz;
}

/* ---- transport ---- */

static int tls_fail(struct conn *c, struct tls_conn *t, const char *what, int err)
{
	t->failed = true;
	if (!t->handshake_done && t->first_byte >= 0 && t->first_byte != 0x16)
		log_write(UIMAP_LOG_INFO, c->id, c->addr,
			  "TLS handshake failed: not a TLS ClientHello (plaintext on a TLS port?)");
	else if (t->renegotiating || (t->handshake_done && err == DUPLICATE_MSG_E))
		log_write(UIMAP_LOG_INFO, c->id, c->addr,
			  "TLS: client tried to renegotiate (refused); closing");
	else
		log_write(UIMAP_LOG_INFO, c->id, c->addr, "TLS %s failed: %s", what, ERR_TEXT(err));
	return -1;
}

static void deliver(struct conn *c, struct tls_conn *t, const unsigned char *data, size_t len)
{
	if (t->deliver != NULL)
		t->deliver(c, data, len);
	else
		conn_deliver(c, data, len);
}

static int handshake_finished(struct conn *c, struct tls_conn *t)
{
	t->handshake_done = true;
	t->tls13 = wolfSSL_version(t->ssl) == TLS1_3_VERSION;
	/* a wolfSSL built with post-handshake authentication (Debian's) keeps the
	   handshake arrays (3.4 KiB) after a TLS 1.3 handshake for it and for later
	   tickets, neither of which we use (KeyUpdate works from the secrets in the
	   WOLFSSL object); the accelerated build frees them itself. Nothing else
	   public frees more: wolfSSL_accept() already ran its handshake cleanup and
	   shrinks its I/O buffers by itself. */
	wolfSSL_FreeArrays(t->ssl);
	if (t->alpn_mismatch) {
		t->failed = true;
		log_write(UIMAP_LOG_INFO, c->id, c->addr,
			  "TLS: client offered ALPN without \"imap\"; closing");
		return -1;
	}
	if (log_enabled(UIMAP_LOG_DEBUG)) {
		char *sni = NULL;
		unsigned short sni_len = 0;
#ifdef HAVE_SNI
		sni_len = wolfSSL_SNI_GetRequest(t->ssl, WOLFSSL_SNI_HOST_NAME, (void **)&sni);
#endif
		log_write(UIMAP_LOG_DEBUG, c->id, c->addr, "TLS: %s %s%s%s%.*s",
			  wolfSSL_get_version(t->ssl), wolfSSL_get_cipher(t->ssl),
			  wolfSSL_session_reused(t->ssl) ? " resumed" : "",
			  sni_len > 0 ? " sni=" : "", (int)sni_len, sni != NULL ? sni : "");
	}
	return 0;
}

/* Run wolfSSL over the input until it needs more: finish the handshake, then
   decrypt records and deliver their plaintext. Returns 0 or -1 (close). */
static int pump_input(struct conn *c, struct tls_conn *t)
{
	/* the decryption target: wolfSSL decrypts in its input buffer and copies
	   the plaintext here; the session copies what it keeps */
	unsigned char buf[TLS_RECORD_MAX];
	unsigned spins = 0;
	while (!c->closing) {
		size_t fed = t->fed;
		t->starved = false;
		int ret, err;
		if (!t->handshake_done) {
			ret = wolfSSL_accept(t->ssl);
			if (ret == WOLFSSL_SUCCESS) {
				if (handshake_finished(c, t) < 0)
					return -1;
				continue;
			}
			err = wolfSSL_get_error(t->ssl, ret);
		} else {
			ret = wolfSSL_read(t->ssl, buf, sizeof(buf));
			if (ret > 0 && !t->renegotiating) {
				spins = 0;
				deliver(c, t, buf, (size_t)ret);
				continue;
			}
			err = wolfSSL_get_error(t->ssl, ret);
			if (err == WOLFSSL_ERROR_ZERO_RETURN) {
				/* close_notify (RFC 8446 6.1): answer with ours and close */
				log_write(UIMAP_LOG_DEBUG, c->id, c->addr, "TLS: client sent close_notify");
				return -1;
			}
		}
		if (t->renegotiating ||
		    (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE))
			return tls_fail(c, t, t->handshake_done ? "read" : "handshake", err);
		if (t->starved)
			return 0;
		/* a record without plaintext (ticket, key update, alert) was handled */
		if (t->fed != fed)
			spins = 0;
		else if (++spins > TLS_IDLE_SPINS)
			return 0;
	}
	return 0;
}

/* Keep ciphertext wolfSSL did not take (only when we stopped early). */
static int keep_leftover(struct conn *c, struct tls_conn *t)
{
	if (t->in_len == 0)
		return 0;
	if (t->pend_len + t->in_len > TLS_PEND_MAX) {
		log_write(UIMAP_LOG_INFO, c->id, c->addr, "TLS: too much unprocessed input");
		return -1;
	}
	if (t->pend_off > 0 && t->pend_len > 0)
		memmove(t->pend, t->pend + t->pend_off, t->pend_len);
	t->pend_off = 0;
	if (t->pend_len + t->in_len > t->pend_cap) {
		t->pend_cap = t->pend_len + t->in_len;
		t->pend = xrealloc(t->pend, t->pend_cap);
	}
	memcpy(t->pend + t->pend_len, t->in, t->in_len);
	t->pend_len += t->in_len;
	t->in_len = 0;
	return 0;
}

static bool has_work(const struct conn *c, const struct tls_conn *t)
{
	return t->wire.bytes > 0 || t->plain_left > 0 ||
	       (t->handshake_done && !t->failed && conn_unsent(c) > 0);
}

/* The handshake pool of c's server, or NULL (tls-workers 0, or no server loop). */
static struct tls_hs_pool *hs_pool(const struct conn *c)
{
	return c->srv != NULL ? c->srv->tls_hs : NULL;
}

/* Hand the next handshake step to a worker: the input kept in pend, then in.
   Returns 1 (submitted: the worker owns t->ssl until hs_returned()), 0 (no input:
   nothing to do) or -1 (the pool is full: run the step here). */
static int hs_start(struct conn *c, struct tls_conn *t, struct tls_hs_pool *pool)
{
	if (t->pend_len == 0 && t->in_len == 0)
		return 0;
	struct tls_hs_job *job = tls_hs_job_new(c, t->ssl, t->wctx,
						t->pend + t->pend_off, t->pend_len,
						t->in, t->in_len);
	t->hs = job;
	if (tls_hs_submit(pool, job) < 0) {
		t->hs = NULL;
		tls_hs_job_free(job);
		return -1;
	}
	c->pending++;  /* the connection is not freed before the step is back */
	t->pend_off = t->pend_len = 0;
	t->in_len = 0;
	return 1;
}

/* The connection's WOLFSSL, made here on the loop when no step made it (no pool, or
   the pool was full). Returns 0, or -1 (out of memory). */
static int ensure_ssl(struct conn *c, struct tls_conn *t)
{
	if (t->ssl != NULL)
		return 0;
	t->ssl = wolfSSL_new(t->wctx);
	if (t->ssl == NULL) {
		t->failed = true;
		log_write(UIMAP_LOG_WARN, c->id, c->addr, "TLS: wolfSSL_new failed");
		return -1;
	}
	wolfSSL_SetIOReadCtx(t->ssl, c);
	wolfSSL_SetIOWriteCtx(t->ssl, c);
	wolfSSL_CTX_free(t->wctx);   /* the WOLFSSL holds its own reference */
	t->wctx = NULL;
	return 0;
}

/* Feed data (and what pend holds before it) to wolfSSL; the handshake goes to a
   worker when the server has a pool. Returns 0 or -1 (close). */
static int process_input(struct conn *c, struct tls_conn *t, const unsigned char *data,
			 size_t len)
{
	t->in = data;
	t->in_len = len;
	struct tls_hs_pool *pool = hs_pool(c);
	int ret = -1;
	if (!t->handshake_done && pool != NULL)
		ret = hs_start(c, t, pool);
	if (ret >= 0) {
		ret = 0;
	} else if (t->ssl == NULL && ensure_ssl(c, t) < 0) {
		ret = -1;
	} else {
		ret = pump_input(c, t);
		if (ret == 0 && !c->closing)
			ret = keep_leftover(c, t);
	}
	t->in = NULL;
	t->in_len = 0;
	if (t->pend_len == 0 && t->pend != NULL) {
		free(t->pend);
		t->pend = NULL;
		t->pend_cap = t->pend_off = 0;
	}
	if (has_work(c, t))
		conn_mark_dirty(c);
	return ret;
}

/* Keep what arrives while a handshake step runs on a worker, for the next step. */
static int stash_input(struct conn *c, struct tls_conn *t, const unsigned char *data,
		       size_t len)
{
	t->in = data;
	t->in_len = len;
	int ret = keep_leftover(c, t);
	t->in = NULL;
	t->in_len = 0;
	return ret;
}

static int tls_recv(struct conn *c, const unsigned char *data, size_t len)
{
	struct tls_conn *t = c->tctx;
	if (t->failed)
		return -1;
	if (t->first_byte < 0 && len > 0)
		t->first_byte = data[0];
	if (t->hs != NULL)
		return stash_input(c, t, data, len);
	return process_input(c, t, data, len);
}

/* A handshake step came back from its worker (loop thread): the loop owns t->ssl
   again. Its output goes to the wire queue; then the handshake is finished, or
   failed, or the next step starts with what arrived meanwhile; application data
   that followed the client's Finished is decrypted here, on the loop. */
static void hs_returned(struct tls_hs_job *job)
{
	struct conn *c = job->c;
	struct tls_conn *t = c->tctx;
	t->hs = NULL;
	c->pending--;
	if (job->own_ssl) {
		/* the step made the connection's WOLFSSL: ours from now on */
		t->ssl = job->ssl;
		job->own_ssl = false;
		wolfSSL_CTX_free(t->wctx);
		t->wctx = NULL;
	}
	if (c->closing || t->failed) {
		/* closed meanwhile: freed now that nothing refers to it */
		conn_check_free(c);
		return;
	}
	if (job->out_len > 0)
		outq_append(&t->wire, job->out, job->out_len);
	int ret = 0;
	if (job->result < 0) {
		ret = tls_fail(c, t, "handshake", job->err);
	} else {
		if (job->result > 0)
			ret = handshake_finished(c, t);
		/* input the step did not consume goes before what arrived meanwhile */
		size_t left = job->in_len - job->in_off;
		if (ret == 0 && left > 0) {
			unsigned char *old = t->pend;
			size_t old_len = t->pend_len, old_off = t->pend_off;
			t->pend = NULL;
			t->pend_cap = t->pend_len = t->pend_off = 0;
			if (stash_input(c, t, job->in + job->in_off, left) < 0 ||
			    stash_input(c, t, old != NULL ? old + old_off : NULL, old_len) < 0)
				ret = -1;
			free(old);
		}
		if (ret == 0)
			ret = process_input(c, t, NULL, 0);
	}
	if (ret < 0)
		conn_close(c, true);
	else if (has_work(c, t))
		conn_mark_dirty(c);
	conn_check_free(c);
}

struct tls_hs_pool *tls_workers_create(unsigned n_workers, unsigned nice, const char **error_r)
{
	return tls_hs_pool_create(n_workers, nice, hs_returned, error_r);
}

static void send_close_notify(struct tls_conn *t)
{
	t->shutdown_sent = true;
	/* queues the alert; we do not wait for the client's (RFC 8446 6.1) */
	(void)wolfSSL_shutdown(t->ssl);
}

/* Encrypt c->txq (c->out, or the deflated queue) into the wire queue, a record (up to 16 KiB) at a time, until
   the wire queue holds TLS_WIRE_HIGH. A segment of 16 KiB or more, or the last
   one, is passed to wolfSSL in place; smaller neighbours are gathered into one
   record so that a response of many short lines is not many tiny records. */
static int encrypt_output(struct conn *c, struct tls_conn *t)
{
	unsigned char rec[TLS_RECORD_MAX];
	struct iovec iov[16];
	while (c->txq->bytes > 0 && t->wire.bytes < TLS_WIRE_HIGH) {
		int n = outq_iov(c->txq, iov, (int)N_ELEMENTS(iov));
		const unsigned char *src;
		size_t len;
		if (n == 1 || iov[0].iov_len >= TLS_RECORD_MAX) {
			src = iov[0].iov_base;
			len = MIN(iov[0].iov_len, (size_t)TLS_RECORD_MAX);
		} else {
			len = 0;
			for (int i = 0; i < n && len < TLS_RECORD_MAX; i++) {
				size_t k = MIN(iov[i].iov_len, TLS_RECORD_MAX - len);
				memcpy(rec + len, iov[i].iov_base, k);
				len += k;
			}
			src = rec;
		}
		int ret = wolfSSL_write(t->ssl, src, (int)len);
		if (ret <= 0) {
			int err = wolfSSL_get_error(t->ssl, ret);
			if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
				return 0;
			return tls_fail(c, t, "write", err);
		}
		outq_consume(c->txq, (size_t)ret);
	}
	return 0;
}

static int tls_send_iov(struct conn *c, struct iovec *iov, int max)
{
	struct tls_conn *t = c->tctx;
	if (t->plain_left > c->txq->bytes)
		t->plain_left = c->txq->bytes; /* the queue was cleared */
	if (t->plain_left > 0) {
		/* STARTTLS: the plaintext OK goes first, alone */
		int n = outq_iov(c->txq, iov, max);
		size_t sum = 0;
		int i;
		for (i = 0; i < n && sum < t->plain_left; i++) {
			if (iov[i].iov_len > t->plain_left - sum)
				iov[i].iov_len = t->plain_left - sum;
			sum += iov[i].iov_len;
		}
		return i;
	}
	if (t->handshake_done && !t->failed && !t->shutdown_sent) {
		(void)encrypt_output(c, t);
		if (t->shutdown_wanted && conn_unsent(c) == 0 && !t->failed)
			send_close_notify(t);
	}
	/* after a fatal error only the queued alert still goes out */
	if (t->failed && t->wire.bytes == 0)
		return -1;
	return outq_iov(&t->wire, iov, max);
}

static void tls_sent(struct conn *c, size_t n)
{
	struct tls_conn *t = c->tctx;
	if (t->plain_left > 0) {
		outq_consume(c->txq, n);
		t->plain_left -= MIN(n, t->plain_left);
	} else {
		outq_consume(&t->wire, n);
	}
	/* conn.c only looks at c->out; ciphertext still queued needs a flush too */
	if (has_work(c, t))
		conn_mark_dirty(c);
}

static void tls_shutdown(struct conn *c)
{
	struct tls_conn *t = c->tctx;
	if (t->failed || !t->handshake_done || t->shutdown_wanted)
		return;
	t->shutdown_wanted = true;
	/* after whatever the session queued: now if nothing is, else in send_iov() */
	if (conn_unsent(c) == 0 && t->plain_left == 0)
		send_close_notify(t);
}

static void tls_free(struct conn *c)
{
	struct tls_conn *t = c->tctx;
	if (t == NULL)
		return;
	if (t->ssl != NULL)
		wolfSSL_free(t->ssl);
	if (t->wctx != NULL)
		wolfSSL_CTX_free(t->wctx);
	outq_clear(&t->wire);
	free(t->pend);
	free(t);
	c->tctx = NULL;
	lib_unref();
}

const struct transport_vfuncs transport_tls = {
	.name = "tls",
	.recv = tls_recv,
	.send_iov = tls_send_iov,
	.sent = tls_sent,
	.shutdown = tls_shutdown,
	.free = tls_free,
	.secure = 1,
};

int tls_conn_start(struct conn *c, struct tls_ctx *ctx, enum tls_start mode)
{
	if (c->tv == &transport_tls || ctx == NULL)
		return -1;
	/* bytes of an in-flight send are accounted as c->out bytes sent in clear */
	if (mode == TLS_START_IMPLICIT && c->sending != NULL)
		return -1;
	struct tls_conn *t = xcalloc(1, sizeof(*t));
	if (hs_pool(c) != NULL) {
		/* the first handshake step makes the WOLFSSL on its worker */
		if (wolfSSL_CTX_up_ref(ctx->wctx) != WOLFSSL_SUCCESS) {
			free(t);
			return -1;
		}
		t->wctx = ctx->wctx;
	} else {
		t->ssl = wolfSSL_new(ctx->wctx);
		if (t->ssl == NULL) {
			free(t);
			return -1;
		}
		wolfSSL_SetIOReadCtx(t->ssl, c);
		wolfSSL_SetIOWriteCtx(t->ssl, c);
	}
	lib_users++;
	t->first_byte = -1;
	if (mode == TLS_START_STARTTLS)
		t->plain_left = c->txq->bytes;
	if (c->tv->free != NULL)
		c->tv->free(c);
	c->tv = &transport_tls;
	c->tctx = t;
	if (t->plain_left > 0)
		conn_mark_dirty(c);
	return 0;
}

size_t tls_conn_pending(const struct conn *c)
{
	if (c->tv != &transport_tls || c->tctx == NULL)
		return 0;
	const struct tls_conn *t = c->tctx;
	return t->wire.bytes;
}

void tls_conn_set_deliver(struct conn *c,
			  void (*fn)(struct conn *c, const unsigned char *data, size_t len))
{
	struct tls_conn *t = c->tctx;
	t->deliver = fn;
}

bool tls_conn_handshake_done(const struct conn *c)
{
	const struct tls_conn *t = c->tv == &transport_tls ? c->tctx : NULL;
	return t != NULL && t->handshake_done && !t->failed;
}

const char *tls_conn_version(const struct conn *c)
{
	if (!tls_conn_handshake_done(c))
		return NULL;
	return wolfSSL_get_version(((const struct tls_conn *)c->tctx)->ssl);
}

const char *tls_conn_cipher(const struct conn *c)
{
	if (!tls_conn_handshake_done(c))
		return NULL;
	return wolfSSL_get_cipher_name(((const struct tls_conn *)c->tctx)->ssl);
}

bool tls_conn_resumed(const struct conn *c)
{
	if (!tls_conn_handshake_done(c))
		return false;
	return wolfSSL_session_reused(((const struct tls_conn *)c->tctx)->ssl) != 0;
}

bool tls_available_aes_accel(void)
{
#if defined(WOLFSSL_AESNI) && (defined(__x86_64__) || defined(__i386__))
	/* wolfSSL checks the CPU at run time too and falls back to C */
	return __builtin_cpu_supports("aes") && __builtin_cpu_supports("pclmul");
#elif defined(WOLFSSL_ARMASM) && defined(__aarch64__)
	return true;
#else
	return false;
#endif
}

const char *tls_library_version(void)
{
	static char buf[48];
	if (buf[0] == '\0')
		snprintf(buf, sizeof(buf), "wolfSSL %s", wolfSSL_lib_version());
	return buf;
}
