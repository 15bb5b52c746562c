/* URLAUTH's INTERNAL mechanism: HMAC-SHA256 of the rump URL under the mailbox's
   random access key (RFC 4467 §7), and who may use a URL (§3). */
#include <wolfssl/options.h>  /* first: the library's build configuration */

#include "imap/urlauth.h"

#include <wolfssl/wolfcrypt/hmac.h>

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

int urlauth_token(const unsigned char *key, const char *rump, size_t len,
		  char hex_r[URLAUTH_TOKEN_HEX + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[WC_SHA256_DIGEST_SIZE];
	Hmac h;
	int ok = wc_HmacInit(&h, NULL, INVALID_DEVID) == 0;
	if (!ok)
		return -1;
	ok = wc_HmacSetKey(&h, WC_SHA256, key, UIMAP_URLAUTH_KEY_SIZE) == 0 &&
	     wc_HmacUpdate(&h, (const unsigned char *)rump, (unsigned)len) == 0 &&
	     wc_HmacFinal(&h, mac) == 0;
	wc_HmacFree(&h);
	if (!ok)
		return -1;
	for (size_t i = 0; i < sizeof(mac); i++) {
		hex_r[2 * i] = digits[mac[i] >> 4];
		hex_r[2 * i + 1] = digits[mac[i] & 15];
	}
	hex_r[URLAUTH_TOKEN_HEX] = '\0';
	return 0;
}

bool urlauth_token_equal(const char *token, const char *hex)
{
	unsigned diff = 0;
	if (strlen(token) != URLAUTH_TOKEN_HEX)
		return false;
	for (size_t i = 0; i < URLAUTH_TOKEN_HEX; i++) {
		unsigned char c = (unsigned char)token[i];
		if (c >= 'A' && c <= 'F')
			c = (unsigned char)(c - 'A' + 'a');
		diff |= (unsigned)(c ^ (unsigned char)hex[i]);
	}
	return diff == 0;
}

const char *urlauth_key_name(const char *mailbox)
{
	return strcasecmp(mailbox, "INBOX") == 0 ? "INBOX" : mailbox;
}

int urlauth_key_random(unsigned char *key_r)
{
	size_t got = 0;
	while (got < UIMAP_URLAUTH_KEY_SIZE) {
		ssize_t n = getrandom(key_r + got, UIMAP_URLAUTH_KEY_SIZE - got, 0);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			got += (size_t)n;
	}
	return 0;
}

int urlauth_mailbox_key(struct uimap_store_user *mail, const char *mailbox, bool create,
			unsigned char *key_r)
{
	const char *name = urlauth_key_name(mailbox);
	if (mail->vt->urlauth_key_get == NULL)
		return -ENOTSUP;
	if (mail->vt->urlauth_key_get(mail, name, key_r) == 1)
		return 1;
	if (!create)
		return 0;
	int r = urlauth_key_random(key_r);
	if (r == 0)
		r = mail->vt->urlauth_key_set(mail, name, key_r);
	return r < 0 ? r : 1;
}

bool urlauth_access_ok(const struct imap_url *u, const char *user, bool submit)
{
	switch (u->access) {
	case IMAP_URL_ACCESS_ANONYMOUS:
	case IMAP_URL_ACCESS_AUTHUSER:
		return true;
	case IMAP_URL_ACCESS_SUBMIT:
		return submit;
	case IMAP_URL_ACCESS_USER:
		return strcmp(u->access_user, user) == 0;
	case IMAP_URL_ACCESS_NONE:
		break;
	}
	return false;
}
