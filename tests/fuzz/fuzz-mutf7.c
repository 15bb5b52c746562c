/* libFuzzer harness for modified UTF-7 (src/core/mutf7.c, RFC 3501 §5.1.3) and
   mailbox names (src/store/names.c): decode/encode round trips, the documented
   buffer bounds are enough and smaller buffers give -ENOSPC without overflowing,
   validation agrees with the round trip, and LIST matching agrees with a simple
   backtracking matcher. */
#include <errno.h>
#include <strings.h>

#include "fuzz-common.h"

#include "core/mutf7.h"
#include "store/memstore.h"

/* Output buffers are malloc()ed at their exact size, so ASan sees any overflow. */
static int decode(const char *in, size_t n, size_t out_size, char **out_r, size_t *len_r)
{
	char *out = malloc(out_size);
	int r = mutf7_decode(in, n, out, out_size, len_r);

	*out_r = out;
	return r;
}

static int encode(const char *in, size_t n, size_t out_size, char **out_r, size_t *len_r)
{
	char *out = malloc(out_size);
	int r = mutf7_encode(in, n, out, out_size, len_r);

	*out_r = out;
	return r;
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* The input as modified UTF-7. */
static void check_as_mutf7(const char *in, size_t n, size_t small)
{
	char *utf8, *back, *part;
	size_t ulen, blen, plen;
	int r = decode(in, n, MUTF7_DECODED_MAX(n), &utf8, &ulen);

	FUZZ_CHECK(r == 0 || r == -EINVAL, "decode: %d with the documented bound", r);
	bool valid = mutf7_valid(in, n);

	/* a smaller buffer: -ENOSPC or the same result, never more */
	if (small < MUTF7_DECODED_MAX(n)) {
		int r2 = decode(in, n, small, &part, &plen);

		FUZZ_CHECK(r2 == r || r2 == -ENOSPC, "decode with %zu bytes: %d, with enough: %d", small, r2, r);
		if (r2 == 0)
			FUZZ_CHECK(plen == ulen && memcmp(part, utf8, ulen + 1) == 0, "short decode");
		free(part);
	}
	if (r < 0) {
		FUZZ_CHECK(!valid, "invalid text is mutf7_valid");
		free(utf8);
		return;
	}
	FUZZ_CHECK(ulen < MUTF7_DECODED_MAX(n) && utf8[ulen] == '\0', "decode length");
	FUZZ_CHECK(fuzz_utf8_valid(utf8, ulen, true), "decoded text is not UTF-8");
	FUZZ_CHECK(printable(in, n), "decoded non-printable input");
	r = encode(utf8, ulen, MUTF7_ENCODED_MAX(ulen), &back, &blen);
	FUZZ_CHECK(r == 0, "decoded text does not encode: %d", r);
	FUZZ_CHECK(valid == (blen == n && memcmp(back, in, n) == 0),
		   "mutf7_valid %d for \"%.*s\", canonical \"%s\"", valid, (int)n, in, back);
	char *again;
	size_t alen;

	FUZZ_CHECK(decode(back, blen, MUTF7_DECODED_MAX(blen), &again, &alen) == 0 &&
		   alen == ulen && memcmp(again, utf8, ulen) == 0, "re-encoding decodes differently");
	free(again);
	free(back);
	free(utf8);
}

/* The input as UTF-8. */
static void check_as_utf8(const char *in, size_t n, size_t small)
{
	char *enc, *part;
	size_t elen, plen;
	int r = encode(in, n, MUTF7_ENCODED_MAX(n), &enc, &elen);
	bool utf8 = fuzz_utf8_valid(in, n, true);

	FUZZ_CHECK(r == 0 || r == -EINVAL, "encode: %d with the documented bound", r);
	FUZZ_CHECK((r == 0) == utf8, "encode %d of %s UTF-8", r, utf8 ? "valid" : "invalid");
	if (small < MUTF7_ENCODED_MAX(n)) {
		int r2 = encode(in, n, small, &part, &plen);

		FUZZ_CHECK(r2 == r || r2 == -ENOSPC, "encode with %zu bytes: %d, with enough: %d", small, r2, r);
		if (r2 == 0)
			FUZZ_CHECK(plen == elen && memcmp(part, enc, elen + 1) == 0, "short encode");
		free(part);
	}
	if (r < 0) {
		free(enc);
		return;
	}
	FUZZ_CHECK(elen < MUTF7_ENCODED_MAX(n) && enc[elen] == '\0' && printable(enc, elen),
		   "encoded text");
	FUZZ_CHECK(mutf7_valid(enc, elen), "own encoding not valid: \"%s\"", enc);
	char *dec;
	size_t dlen;

	FUZZ_CHECK(decode(enc, elen, MUTF7_DECODED_MAX(elen), &dec, &dlen) == 0 && dlen == n &&
		   memcmp(dec, in, n) == 0, "encoding does not decode back: \"%s\"", enc);
	free(dec);
	free(enc);
}

/* Reference LIST matcher (RFC 3501 §6.3.8): '*' anything, '%' anything but the
   separator; the name's leading "INBOX" level matches in any case. A memoised
   recursion over (pattern position, name position), for short strings. */
#define REF_P 25
#define REF_N 49

struct ref {
	const char *pat, *name;
	size_t inbox;
	signed char memo[REF_P + 1][REF_N + 1]; /* 0 unknown, 1 no, 2 yes */
};

static bool ref_match(struct ref *r, size_t pi, size_t ni)
{
	const char *pat = r->pat + pi, *name = r->name;
	bool ok;

	if (r->memo[pi][ni] != 0)
		return r->memo[pi][ni] == 2;
	if (*pat == '\0') {
		ok = name[ni] == '\0';
	} else if (*pat == '*' || *pat == '%') {
		ok = ref_match(r, pi + 1, ni) ||
		     (name[ni] != '\0' && !(*pat == '%' && name[ni] == STORE_SEP) &&
		      ref_match(r, pi, ni + 1));
	} else {
		ok = name[ni] != '\0' &&
		     (*pat == name[ni] || (ni < r->inbox && *pat >= 'a' && *pat <= 'z' &&
					   *pat - 'a' + 'A' == name[ni])) &&
		     ref_match(r, pi + 1, ni + 1);
	}
	r->memo[pi][ni] = ok ? 2 : 1;
	return ok;
}

static void check_names(const char *s, size_t n)
{
	char name[STORE_NAME_MAX + 2], out[STORE_NAME_MAX + 1];
	size_t len = strnlen(s, n < STORE_NAME_MAX + 1 ? n : STORE_NAME_MAX + 1);

	memcpy(name, s, len);
	name[len] = '\0';
	for (int strip = 0; strip < 2; strip++) {
		int r = store_name_canon(name, strip, out);

		if (r < 0) {
			FUZZ_CHECK(r == -EINVAL, "canon %d", r);
			continue;
		}
		size_t olen = strlen(out);

		FUZZ_CHECK(olen > 0 && olen <= STORE_NAME_MAX && olen <= len, "canon length");
		FUZZ_CHECK(strncasecmp(out, name, olen) == 0, "canon changed more than INBOX");
		if (strncasecmp(name, "INBOX", 5) == 0 && (olen == 5 || out[5] == STORE_SEP))
			FUZZ_CHECK(memcmp(out, "INBOX", 5) == 0, "INBOX not canonical: %s", out);
		if (strip)
			FUZZ_CHECK(out[olen - 1] != STORE_SEP, "separator not stripped");
		/* canonical names are fixed points */
		char again[STORE_NAME_MAX + 1];

		FUZZ_CHECK(store_name_canon(out, strip, again) == 0 && strcmp(again, out) == 0,
			   "canon not idempotent");
		if (store_name_valid(out)) {
			FUZZ_CHECK(mutf7_valid(out, olen) && printable(out, olen) &&
				   out[0] != STORE_SEP && out[olen - 1] != STORE_SEP &&
				   strstr(out, "//") == NULL && strpbrk(out, "*%") == NULL,
				   "valid name \"%s\"", out);
		}
	}
	/* LIST: reference + pattern from the two halves (split at the first NUL) */
	const char *pat = len < n ? s + len + 1 : "*";
	size_t plen = len < n ? strnlen(pat, n - len - 1) : 1;
	char pattern[2 * STORE_NAME_MAX + 2], pcopy[STORE_NAME_MAX + 1];

	if (plen > STORE_NAME_MAX)
		plen = STORE_NAME_MAX;
	memcpy(pcopy, pat, plen);
	pcopy[plen] = '\0';
	if (store_list_pattern(name, pcopy, pattern) == 0) {
		FUZZ_CHECK(strlen(pattern) <= 2 * STORE_NAME_MAX, "pattern length");
		if (pcopy[0] != STORE_SEP)
			FUZZ_CHECK(strncmp(pattern, name, len) == 0, "reference not a prefix");
	}
	/* matching a name against the pattern, with the reference matcher on short ones */
	bool m = store_list_match(pcopy, name, STORE_SEP);

	if (plen < REF_P && len < REF_N) {
		struct ref r = { .pat = pcopy, .name = name };

		r.inbox = strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == STORE_SEP)
			  ? 5 : 0;
		FUZZ_CHECK(m == ref_match(&r, 0, 0), "LIST \"%s\" on \"%s\": %d", pcopy, name, m);
	}
	if (strchr(pcopy, '*') == NULL && strchr(pcopy, '%') == NULL &&
	    strncasecmp(name, "INBOX", 5) != 0)
		FUZZ_CHECK(m == (strcmp(pcopy, name) == 0), "LIST literal pattern");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t small = size > 0 ? data[size - 1] % (size + 2) : 0;

	check_as_mutf7(s, size, small);
	check_as_utf8(s, size, small * 3);
	check_names(s, size);
	return 0;
}
