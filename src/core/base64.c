/* RFC 4648 base64 encoding and strict decoding (SASL, AUTHENTICATE). */
#include "core/base64.h"

#include <stdint.h>

static const char base64_alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decode table: 0..63 for alphabet characters, 0xff for everything else. */
static const unsigned char base64_values[256] = {
#define X 0xff
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, 62, X, X, X, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, X, X, X,
	X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, X,
	X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
	X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
#undef X
};

size_t base64_encoded_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

size_t base64_decoded_max(size_t n)
{
	return n / 4 * 3;
}

void base64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i = 0;

	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*out++ = base64_alphabet[v >> 18];
		*out++ = base64_alphabet[(v >> 12) & 63];
		*out++ = base64_alphabet[(v >> 6) & 63];
		*out++ = base64_alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*out++ = base64_alphabet[v >> 18];
		*out++ = base64_alphabet[(v >> 12) & 63];
		*out++ = '=';
		*out++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*out++ = base64_alphabet[v >> 18];
		*out++ = base64_alphabet[(v >> 12) & 63];
		*out++ = base64_alphabet[(v >> 6) & 63];
		*out++ = '=';
	}
	*out = '\0';
}

int base64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len_r)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t o = 0;

	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		unsigned char a = base64_values[p[i]], b = base64_values[p[i + 1]];
		unsigned char c = base64_values[p[i + 2]], d = base64_values[p[i + 3]];
		uint32_t v;

		if ((a | b) == 0xff)
			return -1;
		if ((c | d) != 0xff) {
			v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | d;
			out[o++] = (unsigned char)(v >> 16);
			out[o++] = (unsigned char)(v >> 8);
			out[o++] = (unsigned char)v;
			continue;
		}
		/* Padding is allowed only in the final quantum (RFC 4648 section 4). */
		if (i + 4 != n || p[i + 3] != '=')
			return -1;
		if (p[i + 2] == '=') {
			/* "xx==": one byte; the low 4 bits of b must be zero (section 3.5). */
			if ((b & 0x0f) != 0)
				return -1;
			out[o++] = (unsigned char)(a << 2 | b >> 4);
		} else {
			/* "xxx=": two bytes; the low 2 bits of c must be zero. */
			if (c == 0xff || (c & 0x03) != 0)
				return -1;
			v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
			out[o++] = (unsigned char)(v >> 16);
			out[o++] = (unsigned char)(v >> 8);
		}
	}
	*out_len_r = o;
	return 0;
}
