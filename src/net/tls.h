/* TLS transport (wolfSSL): records are fed from ring buffers and queued for the ring; wolfSSL never touches the socket. */
#ifndef NET_TLS_H
#define NET_TLS_H

#include "net/transport.h"

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct tls_ctx;
struct tls_hs_pool;

/* The TLS transport. c->tctx is its per-connection state (set by tls_conn_start()). */
extern const struct transport_vfuncs transport_tls;

/* How tls_conn_start() treats what is already in c->out. */
enum tls_start {
	/* Implicit TLS (port 993): everything queued, e.g. the greeting, is
	   application data sent encrypted once the handshake is done. */
	TLS_START_IMPLICIT,
	/* STARTTLS (RFC 9051 6.2.1): the bytes queued now (the tagged OK) go out in
	   plaintext first; TLS records follow them on the wire. */
	TLS_START_STARTTLS,
};

/* A server context: TLS 1.2 and 1.3, the PEM certificate chain (leaf first) and
   private key, session tickets, ALPN "imap", server cipher order (ChaCha20-Poly1305
   first when AES has no hardware acceleration). Returns NULL with *error_r set
   (static or thread-local text, valid until the next call) on failure. */
struct tls_ctx *tls_ctx_new(const char *cert_file, const char *key_file, const char **error_r);

/* Load a new certificate and key (SIGHUP). Connections started afterwards use
   them; established ones keep the old ones until they close. Session tickets
   issued before the reload are no longer accepted (full handshake instead).
   Returns 0, or -1 with *error_r set and the old certificate still in use. */
int tls_ctx_reload(struct tls_ctx *ctx, const char *cert_file, const char *key_file,
		   const char **error_r);

/* A pool of n_workers (1..64) threads for the servers' handshakes (the tls-workers
   option), at nice (0..19) above the process (tls-worker-nice): a server whose
   tls_hs points to it runs every handshake step of its connections there
   (net/tls-handshake.h), the data path after the handshake stays on the loop.
   Returns the pool, or NULL with *error_r (static). */
struct tls_hs_pool *tls_workers_create(unsigned n_workers, unsigned nice, const char **error_r);

/* Free the context (connections still using it keep their reference). NULLs *ctx. */
void tls_ctx_free(struct tls_ctx **ctx);

/* Switch c to the TLS transport (c->tv, c->tctx); the server waits for the
   ClientHello. For STARTTLS call it right after queueing the tagged OK, and drop
   any plaintext the client pipelined after the STARTTLS command.
   Returns 0, or -1 (out of memory, or c is already TLS) with c unchanged. */
int tls_conn_start(struct conn *c, struct tls_ctx *ctx, enum tls_start mode);

/* Wire bytes the transport still has to send (ciphertext, and for STARTTLS the
   plaintext OK), beyond what c->out holds. 0 for a non-TLS connection. */
size_t tls_conn_pending(const struct conn *c);

/* Replace conn_deliver() for this connection's decrypted input (tests, embedding).
   NULL restores conn_deliver(). c must use the TLS transport. */
void tls_conn_set_deliver(struct conn *c,
			  void (*deliver)(struct conn *c, const unsigned char *data, size_t len));

/* Whether the handshake has completed. */
bool tls_conn_handshake_done(const struct conn *c);

/* Negotiated protocol and cipher in wolfSSL's names ("TLSv1.3",
   "TLS13-AES128-GCM-SHA256"), and
   whether the session was resumed; NULL / false before the handshake is done. */
const char *tls_conn_version(const struct conn *c);
const char *tls_conn_cipher(const struct conn *c);
bool tls_conn_resumed(const struct conn *c);

/* Whether the wolfSSL in use has AES acceleration that this CPU supports. */
bool tls_available_aes_accel(void);

/* "wolfSSL 5.5.4" (the library's run-time version). */
const char *tls_library_version(void);

#endif
