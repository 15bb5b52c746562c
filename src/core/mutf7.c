/* Modified UTF-7 mailbox names (RFC 3501 section 5.1.3): encode, decode, validate. */
#include "core/mutf7.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3501 section 5.1.3: RFC 2045 BASE64 with ',' instead of '/', no padding. */
static const char mutf7_alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int mutf7_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* Decode one UTF-8 code point at in[*pos]; returns it or -1 when malformed. */
static int32_t utf8_next(const unsigned char *in, size_t n, size_t *pos)
{
	size_t i = *pos;
	unsigned char c = in[i];
	uint32_t cp, min;
	size_t len;

	if (c < 0x80) {
		*pos = i + 1;
		return c;
	} else if ((c & 0xe0) == 0xc0) {
		cp = c & 0x1f;
		len = 2;
		min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		cp = c & 0x0f;
		len = 3;
		min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		cp = c & 0x07;
		len = 4;
		min = 0x10000;
	} else {
		return -1;
	}
	if (n - i < len)
		return -1;
	for (size_t k = 1; k < len; k++) {
		if ((in[i + k] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (in[i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*pos = i + len;
	return (int32_t)cp;
}

static size_t utf8_put(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	} else if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	} else if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static bool mutf7_direct(uint32_t cp)
{
	return cp >= 0x20 && cp <= 0x7e;
}

int mutf7_encode(const char *in, size_t n, char *out, size_t out_size, size_t *out_len_r)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0;

#define PUT(ch) do { if (o + 1 >= out_size) return -ENOSPC; out[o++] = (ch); } while (0)
	while (i < n) {
		int32_t cp = utf8_next(p, n, &i);

		if (cp <= 0)
			return -EINVAL;
		if (mutf7_direct((uint32_t)cp)) {
			PUT((char)cp);
			if (cp == '&')
				PUT('-');
			continue;
		}
		/* A shifted run: collect UTF-16 units until the next direct character. */
		uint32_t bits = 0;
		unsigned nbits = 0;

		PUT('&');
		for (;;) {
			uint16_t units[2];
			unsigned nu = 0;

			if (cp >= 0x10000) {
				units[nu++] = (uint16_t)(0xd800 + ((cp - 0x10000) >> 10));
				units[nu++] = (uint16_t)(0xdc00 + ((cp - 0x10000) & 0x3ff));
			} else {
				units[nu++] = (uint16_t)cp;
			}
			for (unsigned k = 0; k < nu; k++) {
				bits = bits << 16 | units[k];
				nbits += 16;
				while (nbits >= 6) {
					nbits -= 6;
					PUT(mutf7_alphabet[(bits >> nbits) & 63]);
				}
			}
			if (i >= n)
				break;
			size_t save = i;
			int32_t next = utf8_next(p, n, &i);

			if (next <= 0)
				return -EINVAL;
			if (mutf7_direct((uint32_t)next)) {
				i = save;
				break;
			}
			cp = next;
		}
		if (nbits > 0)
			PUT(mutf7_alphabet[(bits << (6 - nbits)) & 63]);
		PUT('-');
	}
#undef PUT
	if (o >= out_size)
		return -ENOSPC;
	out[o] = '\0';
	*out_len_r = o;
	return 0;
}

int mutf7_decode(const char *in, size_t n, char *out, size_t out_size, size_t *out_len_r)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, o = 0;

	while (i < n) {
		unsigned char c = p[i++];

		if (c < 0x20 || c > 0x7e)
			return -EINVAL;
		if (c != '&') {
			if (o + 1 >= out_size)
				return -ENOSPC;
			out[o++] = (char)c;
			continue;
		}
		if (i < n && p[i] == '-') {
			if (o + 1 >= out_size)
				return -ENOSPC;
			out[o++] = '&';
			i++;
			continue;
		}
		/* Shifted run up to '-'. */
		uint32_t bits = 0, high = 0;
		unsigned nbits = 0;
		bool any = false;

		for (;;) {
			if (i >= n)
				return -EINVAL;
			c = p[i++];
			if (c == '-')
				break;
			int v = mutf7_b64_value(c);

			if (v < 0)
				return -EINVAL;
			bits = (bits << 6 | (uint32_t)v) & 0xffffff;
			nbits += 6;
			if (nbits < 16)
				continue;
			nbits -= 16;
			uint32_t unit = (bits >> nbits) & 0xffff, cp;

			if (high != 0) {
				if (unit < 0xdc00 || unit > 0xdfff)
					return -EINVAL;
				cp = 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00);
				high = 0;
			} else if (unit >= 0xd800 && unit <= 0xdbff) {
				high = unit;
				continue;
			} else if (unit >= 0xdc00 && unit <= 0xdfff) {
				return -EINVAL;
			} else {
				cp = unit;
			}
			/* Printable US-ASCII must represent itself; NUL is never allowed. */
			if (cp == 0 || mutf7_direct(cp))
				return -EINVAL;
			size_t need = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

			if (o + need >= out_size)
				return -ENOSPC;
			o += utf8_put(cp, out + o);
			any = true;
		}
		/* Leftover bits: fewer than 6 and all zero; no dangling high surrogate. */
		if (!any || high != 0 || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
			return -EINVAL;
	}
	if (o >= out_size)
		return -ENOSPC;
	out[o] = '\0';
	*out_len_r = o;
	return 0;
}

bool mutf7_valid(const char *in, size_t n)
{
	char stack_utf8[256], stack_back[1280];
	char *utf8 = stack_utf8, *back = stack_back;
	size_t ulen, blen;
	bool ok = false;

	if (MUTF7_DECODED_MAX(n) > sizeof(stack_utf8)) {
		utf8 = xmalloc(MUTF7_DECODED_MAX(n));
		back = xmalloc(MUTF7_ENCODED_MAX(n));
	}
	if (mutf7_decode(in, n, utf8, MUTF7_DECODED_MAX(n), &ulen) < 0)
		goto out;
	if (mutf7_encode(utf8, ulen, back, MUTF7_ENCODED_MAX(ulen), &blen) < 0)
		goto out;
	ok = blen == n && memcmp(back, in, n) == 0;
out:
	if (utf8 != stack_utf8) {
		free(utf8);
		free(back);
	}
	return ok;
}
