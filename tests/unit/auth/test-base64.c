/* Unit tests for the RFC 4648 base64 encoder and strict decoder. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"

static const struct {
	const char *plain, *encoded;
} vectors[] = {
	/* RFC 4648 section 10 */
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static int decode_str(const char *in, unsigned char *out, size_t *len_r)
{
	return base64_decode(in, strlen(in), out, len_r);
}

Test(base64, encoded_len)
{
	cr_assert_eq(base64_encoded_len(0), 0);
	cr_assert_eq(base64_encoded_len(1), 4);
	cr_assert_eq(base64_encoded_len(2), 4);
	cr_assert_eq(base64_encoded_len(3), 4);
	cr_assert_eq(base64_encoded_len(4), 8);
	cr_assert_eq(base64_decoded_max(8), 6);
}

Test(base64, rfc4648_vectors_encode)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char out[16];

		memset(out, 'X', sizeof(out));
		base64_encode(vectors[i].plain, strlen(vectors[i].plain), out);
		cr_assert_str_eq(out, vectors[i].encoded);
		cr_assert_eq(strlen(out), base64_encoded_len(strlen(vectors[i].plain)));
	}
}

Test(base64, rfc4648_vectors_decode)
{
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		unsigned char out[16];
		size_t len = 99;

		cr_assert_eq(decode_str(vectors[i].encoded, out, &len), 0, "%s",
			     vectors[i].encoded);
		cr_assert_eq(len, strlen(vectors[i].plain));
		cr_assert_eq(memcmp(out, vectors[i].plain, len), 0);
	}
}

Test(base64, sasl_plain_example)
{
	unsigned char out[16];
	size_t len;

	cr_assert_eq(decode_str("AHVzZXIAcGFzcw==", out, &len), 0);
	cr_assert_eq(len, 10);
	cr_assert_eq(memcmp(out, "\0user\0pass", 10), 0);
}

Test(base64, roundtrip_all_bytes_and_lengths)
{
	unsigned char in[300], back[300];
	char enc[401];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 151 + 7);
	for (size_t n = 0; n <= sizeof(in); n++) {
		size_t len;

		base64_encode(in, n, enc);
		cr_assert_eq(strlen(enc), base64_encoded_len(n));
		cr_assert_eq(base64_decode(enc, strlen(enc), back, &len), 0, "n=%zu", n);
		cr_assert_eq(len, n);
		cr_assert_eq(memcmp(in, back, n), 0, "n=%zu", n);
	}
}

Test(base64, every_alphabet_character)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char out[48], again[48];
	char enc[65];
	size_t len;

	cr_assert_eq(base64_decode(alphabet, 64, out, &len), 0);
	cr_assert_eq(len, 48);
	base64_encode(out, len, enc);
	cr_assert_str_eq(enc, alphabet);
	cr_assert_eq(base64_decode(enc, 64, again, &len), 0);
	cr_assert_eq(memcmp(out, again, 48), 0);
}

Test(base64, decode_in_place)
{
	char buf[] = "Zm9vYmFyYg==";
	size_t len;

	cr_assert_eq(base64_decode(buf, strlen(buf), (unsigned char *)buf, &len), 0);
	cr_assert_eq(len, 7);
	cr_assert_eq(memcmp(buf, "foobarb", 7), 0);
}

Test(base64, rejects_malformed)
{
	static const char *const bad[] = {
		"Z",            /* not a multiple of 4 */
		"Zm9",
		"Zm9vY",
		"Zm9v\n",
		"Zm 9v",        /* whitespace is not skipped */
		"Zm9v\r\nYmFy",
		"Zm-v",         /* base64url alphabet is not accepted */
		"Zm_v",
		"Zm9*",
		"====",         /* padding only */
		"Z===",         /* three padding characters */
		"=Zm9",
		"Zg=a",         /* '=' followed by data */
		"Z=g=",
		"Zg==Zg==",     /* padding before the last quantum */
		"Zm8=Zm9v",
		"Zh==",         /* non-zero bits before padding (RFC 4648 3.5) */
		"Zm9=",
		"Zm8==",
	};
	unsigned char out[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = 12345;

		cr_assert_eq(decode_str(bad[i], out, &len), -1, "accepted \"%s\"", bad[i]);
		cr_assert_eq(len, 12345, "length set on failure for \"%s\"", bad[i]);
	}
}

Test(base64, rejects_nul_and_high_bytes)
{
	unsigned char out[8];
	size_t len;

	cr_assert_eq(base64_decode("Zm\0v", 4, out, &len), -1);
	cr_assert_eq(base64_decode("Zm\xc3\xa9", 4, out, &len), -1);
	cr_assert_eq(base64_decode("Zm9\xff", 4, out, &len), -1);
}

Test(base64, every_single_bad_byte_rejected)
{
	for (unsigned c = 0; c < 256; c++) {
		bool valid = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '+' || c == '/';
		char in[5] = { 'Q', 'Q', 'Q', (char)c, '\0' };
		unsigned char out[3];
		size_t len;

		if (c == '=')
			continue; /* "QQQ=" is valid padding */
		cr_assert_eq(base64_decode(in, 4, out, &len), valid ? 0 : -1, "byte %u", c);
	}
}
