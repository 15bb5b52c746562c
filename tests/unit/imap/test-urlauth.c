/* URLAUTH's INTERNAL mechanism: tokens, their comparison, access identifiers. */
#include <criterion/criterion.h>
#include <string.h>

#include "imap/urlauth.h"

Test(urlauth, token)
{
	unsigned char key[UIMAP_URLAUTH_KEY_SIZE], key2[UIMAP_URLAUTH_KEY_SIZE];
	char hex[URLAUTH_TOKEN_HEX + 1], again[URLAUTH_TOKEN_HEX + 1], other[URLAUTH_TOKEN_HEX + 1];
	const char *rump = "imap://a@h/INBOX/;UID=1;URLAUTH=anonymous";
	memset(key, 7, sizeof(key));
	memset(key2, 8, sizeof(key2));
	cr_assert_eq(urlauth_token(key, rump, strlen(rump), hex), 0);
	cr_assert_eq(strlen(hex), 64);
	cr_assert_eq(strspn(hex, "0123456789abcdef"), 64);
	/* HMAC-SHA256 (Python's hmac.new(b"\x07" * 32, rump, sha256).hexdigest()) */
	cr_assert_str_eq(hex, "a4c47badf7d9dd6de142658b703afad54c1f18df89c89e1fd5f0755375ae2a97");
	cr_assert_eq(urlauth_token(key, rump, strlen(rump), again), 0);
	cr_assert_str_eq(hex, again, "the same rump and key: the same token");
	cr_assert_eq(urlauth_token(key2, rump, strlen(rump), other), 0);
	cr_assert_str_neq(hex, other, "another key");
	cr_assert_eq(urlauth_token(key, rump, strlen(rump) - 1, other), 0);
	cr_assert_str_neq(hex, other, "another rump");
	cr_assert(urlauth_token_equal(hex, hex));
	char upper[URLAUTH_TOKEN_HEX + 1];
	for (size_t i = 0; i <= URLAUTH_TOKEN_HEX; i++)
		upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
	cr_assert(urlauth_token_equal(upper, hex), "hex digits in any case");
	cr_assert(!urlauth_token_equal(other, hex));
	cr_assert(!urlauth_token_equal("abcd", hex));
	hex[63] = '\0';
	cr_assert(!urlauth_token_equal(hex, again), "a shorter token");
}

Test(urlauth, random_keys)
{
	unsigned char k1[UIMAP_URLAUTH_KEY_SIZE], k2[UIMAP_URLAUTH_KEY_SIZE];
	cr_assert_eq(urlauth_key_random(k1), 0);
	cr_assert_eq(urlauth_key_random(k2), 0);
	cr_assert(memcmp(k1, k2, sizeof(k1)) != 0);
}

Test(urlauth, access)
{
	struct imap_url u = { .access = IMAP_URL_ACCESS_ANONYMOUS };
	cr_assert(urlauth_access_ok(&u, "x", false));
	u.access = IMAP_URL_ACCESS_AUTHUSER;
	cr_assert(urlauth_access_ok(&u, "x", false));
	u.access = IMAP_URL_ACCESS_SUBMIT;
	u.access_user = "fred";
	cr_assert(!urlauth_access_ok(&u, "fred", false), "submit+ needs a submission server");
	cr_assert(urlauth_access_ok(&u, "smtp", true));
	u.access = IMAP_URL_ACCESS_USER;
	cr_assert(urlauth_access_ok(&u, "fred", false));
	cr_assert(!urlauth_access_ok(&u, "bob", true));
	u.access = IMAP_URL_ACCESS_NONE;
	cr_assert(!urlauth_access_ok(&u, "fred", true));
	cr_assert_str_eq(urlauth_key_name("inbox"), "INBOX");
	cr_assert_str_eq(urlauth_key_name("Sent"), "Sent");
}
