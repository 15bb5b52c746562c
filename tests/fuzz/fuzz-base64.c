/* libFuzzer harness for base64 (src/core/base64.c) and SASL PLAIN (src/auth/sasl.c):
   encoding round-trips, strict decoding accepts exactly the canonical encodings
   (RFC 4648 §3.5) and never writes past base64_decoded_max(), in place or not, and
   PLAIN messages split as RFC 4616 §2 says, as AUTHENTICATE PLAIN feeds them. */
#include "fuzz-common.h"

#include "auth/sasl.h"
#include "core/base64.h"

static void check_encode(const uint8_t *data, size_t size)
{
	size_t elen = base64_encoded_len(size), dlen = 0;
	char *enc = malloc(elen + 1);

	base64_encode(data, size, enc);
	FUZZ_CHECK(elen % 4 == 0 && strlen(enc) == elen, "encoded length %zu for %zu", elen, size);
	FUZZ_CHECK(elen <= (size + 2) / 3 * 4, "encoded length bound");
	unsigned char *dec = malloc(base64_decoded_max(elen));

	FUZZ_CHECK(base64_decode(enc, elen, dec, &dlen) == 0, "own encoding rejected");
	FUZZ_CHECK(dlen == size && (size == 0 || memcmp(dec, data, size) == 0),
		   "round trip: %zu bytes back of %zu", dlen, size);
	free(dec);
	free(enc);
}

/* Decode with an exactly sized output; returns the output (free it) or NULL. */
static unsigned char *decode(const char *in, size_t n, size_t *len_r)
{
	unsigned char *out = malloc(base64_decoded_max(n));
	size_t len = (size_t)-1;

	if (base64_decode(in, n, out, &len) < 0) {
		free(out);
		return NULL;
	}
	FUZZ_CHECK(len <= base64_decoded_max(n), "decoded %zu > max %zu", len,
		   base64_decoded_max(n));
	FUZZ_CHECK(n == 0 || len + 2 >= base64_decoded_max(n), "decoded %zu of %zu chars", len, n);
	*len_r = len;
	return out;
}

static void check_decode(const char *in, size_t n)
{
	size_t len, len2;
	unsigned char *out = decode(in, n, &len);

	/* in place: the same verdict and bytes */
	char *inplace = malloc(n > 0 ? n : 1);

	memcpy(inplace, in, n);
	int r = base64_decode(inplace, n, (unsigned char *)inplace, &len2);

	FUZZ_CHECK((r == 0) == (out != NULL), "in-place decoding differs");
	if (out == NULL) {
		free(inplace);
		return;
	}
	FUZZ_CHECK(len2 == len && memcmp(inplace, out, len) == 0, "in-place bytes differ");
	free(inplace);
	/* strict: the input is the canonical encoding of what it decodes to */
	char *again = malloc(base64_encoded_len(len) + 1);

	base64_encode(out, len, again);
	FUZZ_CHECK(strlen(again) == n && memcmp(again, in, n) == 0,
		   "accepted a non-canonical encoding \"%.*s\"", (int)n, in);
	free(again);
	free(out);
}

static void check_plain(const unsigned char *msg, size_t len)
{
	char *scratch = malloc(len + 1);
	const char *authz = NULL, *authc = NULL, *pass = NULL, *err = NULL;
	int r = sasl_plain_decode(msg, len, scratch, &authz, &authc, &pass, &err);
	size_t nuls = 0;

	for (size_t i = 0; i < len; i++)
		nuls += msg[i] == 0;
	if (r < 0) {
		FUZZ_CHECK(err != NULL, "PLAIN error without text");
		free(scratch);
		return;
	}
	FUZZ_CHECK(r == 0 && nuls == 2, "PLAIN accepted with %zu NULs", nuls);
	FUZZ_CHECK(authz >= scratch && authc > authz && pass > authc && pass < scratch + len + 1,
		   "PLAIN fields outside the scratch");
	size_t lz = strlen(authz), lc = strlen(authc), lp = strlen(pass);

	FUZZ_CHECK(lz + lc + lp + 2 == len, "PLAIN fields do not cover the message");
	FUZZ_CHECK(lc > 0 && lp > 0, "PLAIN empty authcid or password accepted");
	FUZZ_CHECK(lz == 0 || strcmp(authz, authc) == 0, "PLAIN foreign authzid accepted");
	FUZZ_CHECK(memcmp(authz, msg, lz) == 0 && memcmp(authc, msg + lz + 1, lc) == 0 &&
		   memcmp(pass, msg + lz + lc + 2, lp) == 0, "PLAIN fields differ from the message");
	free(scratch);
	/* in place, in a buffer with one spare byte, as the session decodes */
	unsigned char *buf = malloc(len + 1);

	memcpy(buf, msg, len);
	FUZZ_CHECK(sasl_plain_decode(buf, len, (char *)buf, &authz, &authc, &pass, &err) == 0 &&
		   strlen(pass) == lp, "PLAIN in place differs");
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_encode(data, size);
	check_decode((const char *)data, size);
	/* a trailing run of padding or a 4-aligned prefix: reach the decoder's tail cases */
	check_decode((const char *)data, size / 4 * 4);
	check_plain(data, size);
	/* AUTHENTICATE PLAIN: the client's base64 line, decoded, is the PLAIN message */
	size_t len;
	unsigned char *raw = decode((const char *)data, size, &len);

	if (raw != NULL) {
		check_plain(raw, len);
		free(raw);
	}
	return 0;
}
