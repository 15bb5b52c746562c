/* Unit tests for modified UTF-7 mailbox names (RFC 3501 section 5.1.3). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/mutf7.h"

static const struct {
	const char *utf8, *mutf7;
} vectors[] = {
	{ "", "" },
	{ "INBOX", "INBOX" },
	{ "a&b", "a&-b" },
	{ "&", "&-" },
	/* RFC 3501 section 5.1.3 */
	{ "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	  "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
	{ "Entw\xc3\xbc" "rfe", "Entw&APw-rfe" },
	{ "\xc3\xa9t\xc3\xa9", "&AOk-t&AOk-" },
	/* U+1F600 (a surrogate pair) */
	{ "\xf0\x9f\x98\x80", "&2D3eAA-" },
	/* a control character is shifted too */
	{ "a\tb", "a&AAk-b" },
};

Test(mutf7, encode_vectors)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char out[256];
		size_t len;

		cr_assert_eq(mutf7_encode(vectors[i].utf8, strlen(vectors[i].utf8), out,
					  sizeof(out), &len), 0, "vector %zu", i);
		cr_assert_str_eq(out, vectors[i].mutf7);
		cr_assert_eq(len, strlen(vectors[i].mutf7));
	}
}

Test(mutf7, decode_vectors)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char out[256];
		size_t len;

		cr_assert_eq(mutf7_decode(vectors[i].mutf7, strlen(vectors[i].mutf7), out,
					  sizeof(out), &len), 0, "vector %zu", i);
		cr_assert_str_eq(out, vectors[i].utf8);
		cr_assert(mutf7_valid(vectors[i].mutf7, strlen(vectors[i].mutf7)));
	}
}

Test(mutf7, decode_rejects)
{
	static const char *bad[] = {
		"&",            /* unterminated */
		"&U,BTFw",      /* no '-' */
		"&-&",
		"&AGE-",        /* 'a' must represent itself */
		"&AOl-",        /* non-zero padding bits */
		"&2D0-",        /* lone high surrogate */
		"&3gA-",        /* lone low surrogate */
		"&U/BTFw-",     /* '/' is not in the modified alphabet */
		"&=-",
		"caf\xc3\xa9",  /* 8-bit */
		"a\tb",         /* control character */
		"&AAA-",        /* NUL */
		"&A-",          /* too few bits for a character */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[64];
		size_t len;

		cr_assert_eq(mutf7_decode(bad[i], strlen(bad[i]), out, sizeof(out), &len),
			     -EINVAL, "%s", bad[i]);
		cr_assert_not(mutf7_valid(bad[i], strlen(bad[i])), "%s", bad[i]);
	}
}

Test(mutf7, valid_requires_canonical_form)
{
	/* Decodable, but two shifted runs back to back are not what an encoder makes. */
	cr_assert_not(mutf7_valid("&AOk-&AOk-", 10));
	cr_assert(mutf7_valid("&AOkA6Q-", 8));
	cr_assert(mutf7_valid("Sent Items", 10));
}

Test(mutf7, encode_rejects_bad_utf8)
{
	static const char *bad[] = {
		"\xc0\xaf",             /* overlong '/' */
		"\xed\xa0\x80",         /* surrogate */
		"\xf4\x90\x80\x80",     /* above U+10FFFF */
		"\xe6\x97",             /* truncated */
		"\x80",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char out[64];
		size_t len;

		cr_assert_eq(mutf7_encode(bad[i], strlen(bad[i]), out, sizeof(out), &len),
			     -EINVAL, "vector %zu", i);
	}
}

Test(mutf7, buffer_limits)
{
	char out[8];
	size_t len;

	cr_assert_eq(mutf7_encode("\xe6\x97\xa5\xe6\x9c\xac", 6, out, 5, &len), -ENOSPC);
	cr_assert_eq(mutf7_encode("\x01", 1, out, MUTF7_ENCODED_MAX(1), &len), 0);
	cr_assert_str_eq(out, "&AAE-");
	cr_assert_eq(mutf7_decode("abcdef", 6, out, 6, &len), -ENOSPC);
	cr_assert_eq(mutf7_decode("abcdef", 6, out, MUTF7_DECODED_MAX(6), &len), 0);
}

/* Found by tests/fuzz/fuzz-mutf7 (regressions/mutf7/): UTF-8 is up to 9/8 of the
   modified UTF-7 text, so n + 1 bytes were not always enough. */
Test(mutf7, decoded_max_covers_cjk_runs)
{
	char utf8[3 * 40 + 1] = "", enc[256], dec[256];
	size_t elen, dlen;

	for (int k = 1; k <= 40; k++) {
		strcat(utf8, "\xe4\xb8\xad"); /* U+4E2D */
		cr_assert_eq(mutf7_encode(utf8, strlen(utf8), enc, sizeof(enc), &elen), 0);
		/* 9 of them: "&Ti1OLU4tTi1OLU4tTi1OLU4t-", 26 bytes, decode to 27 */
		cr_assert_eq(mutf7_decode(enc, elen, dec, MUTF7_DECODED_MAX(elen), &dlen), 0,
			     "%d characters: %s", k, enc);
		cr_assert_eq(dlen, strlen(utf8));
		cr_assert(mutf7_valid(enc, elen), "%d characters: %s", k, enc);
	}
	/* malformed input is -EINVAL with the documented bound, not -ENOSPC */
	cr_assert_eq(mutf7_decode("&EzzzzzzzzzW", 12, dec, MUTF7_DECODED_MAX(12), &dlen), -EINVAL);
	/* the space check is exact: 9 characters + NUL fit in 28 bytes, not 27 */
	cr_assert_eq(mutf7_decode("&Ti1OLU4tTi1OLU4tTi1OLU4t-", 26, dec, 28, &dlen), 0);
	cr_assert_eq(mutf7_decode("&Ti1OLU4tTi1OLU4tTi1OLU4t-", 26, dec, 27, &dlen), -ENOSPC);
}

Test(mutf7, round_trip_every_bmp_char)
{
	/* Every BMP scalar value except surrogates, one at a time, between letters. */
	for (uint32_t cp = 1; cp < 0x10000; cp++) {
		char utf8[8], enc[64], dec[16];
		size_t n = 0, elen, dlen;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		utf8[n++] = 'x';
		if (cp < 0x80) {
			utf8[n++] = (char)cp;
		} else if (cp < 0x800) {
			utf8[n++] = (char)(0xc0 | cp >> 6);
			utf8[n++] = (char)(0x80 | (cp & 0x3f));
		} else {
			utf8[n++] = (char)(0xe0 | cp >> 12);
			utf8[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			utf8[n++] = (char)(0x80 | (cp & 0x3f));
		}
		utf8[n++] = 'y';
		cr_assert_eq(mutf7_encode(utf8, n, enc, sizeof(enc), &elen), 0, "U+%04X", cp);
		cr_assert(mutf7_valid(enc, elen), "U+%04X %s", cp, enc);
		cr_assert_eq(mutf7_decode(enc, elen, dec, sizeof(dec), &dlen), 0);
		cr_assert_eq(dlen, n);
		cr_assert_eq(memcmp(dec, utf8, n), 0, "U+%04X", cp);
	}
}
