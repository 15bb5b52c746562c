/* URLAUTH (RFC 4467): the INTERNAL mechanism's tokens, mailbox access keys and the
   access identifier check, on top of imap/url's parsing. */
#ifndef IMAP_URLAUTH_H
#define IMAP_URLAUTH_H

#include "imap/url.h"
#include "uimap/store.h"

#include <stdbool.h>
#include <stddef.h>

/* The mechanism this server implements (RFC 4467 §7: the server's own). */
#define URLAUTH_MECH "INTERNAL"
/* Hex digits of an INTERNAL token: HMAC-SHA256, 256 bits. */
#define URLAUTH_TOKEN_HEX 64

/* The INTERNAL token of the rump URL (len bytes) under key: HMAC-SHA256, in lower
   case hex, NUL-terminated. Returns 0, or -1 when the HMAC fails. */
int urlauth_token(const unsigned char *key, const char *rump, size_t len,
		  char hex_r[URLAUTH_TOKEN_HEX + 1]);

/* Whether token (any case) is hex's token, in time independent of where they differ. */
bool urlauth_token_equal(const char *token, const char *hex);

/* The key the store keeps mailbox's access key under ("INBOX" in any case is INBOX). */
const char *urlauth_key_name(const char *mailbox);

/* mail's access key for mailbox into key_r; when it has none and create is set, a new
   random one (getrandom(2)) the store keeps. Returns 1 with key_r, 0 when none (not
   create), or -errno. */
int urlauth_mailbox_key(struct uimap_store_user *mail, const char *mailbox, bool create,
			unsigned char *key_r);

/* A new random key (getrandom(2)). Returns 0 or -errno. */
int urlauth_key_random(unsigned char *key_r);

/* Whether a session of user (submit: a submission server's account) may use a URL
   with u's access identifier (RFC 4467 §3): anonymous and authuser anyone logged in,
   submit+X a submission server, user+X X itself. */
bool urlauth_access_ok(const struct imap_url *u, const char *user, bool submit);

#endif
