/* Helpers shared by the libFuzzer harnesses: invariant checks that abort, output
   queue capture, IMAP list syntax and UTF-8 validity. Included by one harness each. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/outq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a violated invariant and abort (libFuzzer and Criterion both see the signal). */
static inline __attribute__((noreturn, format(printf, 1, 2))) void fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz: invariant violated: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

#define FUZZ_CHECK(cond, ...) do { if (!(cond)) fuzz_fail(__VA_ARGS__); } while (0)

/* The queue's bytes, concatenated and NUL-terminated (free() them); the queue is
   cleared. */
static inline char *fuzz_outq_take(struct outq *q, size_t *len_r)
{
	size_t n = 0, o = 0;

	for (const struct outseg *s = q->head; s != NULL; s = s->next)
		n += s->len - s->off;
	char *out = malloc(n + 1);

	for (const struct outseg *s = q->head; s != NULL; s = s->next) {
		memcpy(out + o, s->ptr + s->off, s->len - s->off);
		o += s->len - s->off;
	}
	out[o] = '\0';
	outq_clear(q);
	*len_r = o;
	return out;
}

/* Whether len bytes at s are exactly one well-formed IMAP list: parentheses balanced
   outside quoted strings and literals, quoted strings without CR, LF, NUL or 8-bit
   bytes and with only \" and \\ escapes, literal counts right ("{n}\r\n" + n bytes,
   no NUL), nothing after the closing parenthesis. */
static inline bool fuzz_imap_list_ok(const char *s, size_t len)
{
	int depth = 0;
	size_t i = 0;

	if (len == 0 || s[0] != '(')
		return false;
	while (i < len) {
		char c = s[i];

		if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			if (--depth < 0)
				return false;
			i++;
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\') {
					i++;
					if (i >= len || (s[i] != '"' && s[i] != '\\'))
						return false;
				} else if (s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] >= 0x80 ||
					   s[i] == '\0') {
					return false;
				}
			}
			if (i >= len)
				return false;
			i++;
		} else if (c == '{') {
			size_t n = 0;

			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
				if (n > len)
					return false;
				n = n * 10 + (size_t)(s[i] - '0');
			}
			if (i + 3 > len || s[i] != '}' || s[i + 1] != '\r' || s[i + 2] != '\n')
				return false;
			i += 3;
			if (n > len - i)
				return false;
			if (memchr(s + i, '\0', n) != NULL)
				return false;
			i += n;
		} else if (c == '\r' || c == '\n' || c == '\0') {
			return false;
		} else {
			i++;
		}
		if (depth == 0 && i < len)
			return false;
	}
	return depth == 0;
}

/* Length of the valid UTF-8 sequence (RFC 3629: no overlongs, surrogates or code
   points above U+10FFFF) at s, or 0. */
static inline size_t fuzz_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		len = 2; cp = c & 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3; cp = c & 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4; cp = c & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Whether len bytes at s are valid UTF-8 (NUL allowed unless no_nul). */
static inline bool fuzz_utf8_valid(const char *s, size_t len, bool no_nul)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t l = fuzz_utf8_seq(p + i, len - i);

		if (l == 0 || (no_nul && p[i] == 0))
			return false;
		i += l;
	}
	return true;
}

#endif
