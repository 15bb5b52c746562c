/* i;unicode-casemap keys: full upper-case mapping then NFKD (libunistring). */
#include "mail/casemap.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

static void ascii_upper(struct buf *out, const char *s, size_t len)
{
	if (len == 0)
		return;
	buf_reserve(out, len);
	char *o = out->data + out->len;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		o[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
	}
	out->len += len;
}

/* Map a run of valid UTF-8 (not all ASCII). */
static void map_valid(struct buf *out, const uint8_t *s, size_t len)
{
	if (len == 0)
		return;
	uint8_t stack[512];
	size_t n = sizeof(stack);
	uint8_t *r = u8_toupper(s, len, NULL, UNINORM_NFKD, stack, &n);

	if (r == NULL) {        /* out of memory (the input is valid UTF-8) */
		buf_append(out, s, len);
		return;
	}
	buf_append(out, r, n);
	if (r != stack)
		free(r);
}

/* Map a piece with non-ASCII bytes: its valid UTF-8 runs, the other bytes copied. */
static void map_mixed(struct buf *out, const uint8_t *p, const uint8_t *end)
{
	while (p < end) {
		const uint8_t *bad = u8_check(p, (size_t)(end - p));

		if (bad == NULL) {
			map_valid(out, p, (size_t)(end - p));
			return;
		}
		map_valid(out, p, (size_t)(bad - p));
		buf_append(out, bad, 1);
		p = bad + 1;
	}
}

/* ASCII runs at least this long are mapped alone; shorter ones go with the text
   around them (fewer calls into libunistring for text with a few accents). */
#define ASCII_RUN 32

void mail_casemap(struct buf *out, const char *s, size_t len)
{
	/* Splitting at ASCII characters changes nothing: without a language the upper
	   case of a character needs no context (SpecialCasing's conditions are for
	   lowercasing and for lt/tr/az), and NFKD only reorders combining marks, which
	   never cross an ASCII character (a starter). */
	size_t i = 0;

	while (i < len) {
		size_t j = i;

		while (j < len && (unsigned char)s[j] < 0x80)
			j++;
		ascii_upper(out, s + i, j - i);
		if (j >= len)
			return;
		size_t k = j, run = 0;

		while (k < len && run < ASCII_RUN) {
			run = (unsigned char)s[k] < 0x80 ? run + 1 : 0;
			k++;
		}
		size_t end = run >= ASCII_RUN ? k - run : len;

		map_mixed(out, (const uint8_t *)s + j, (const uint8_t *)s + end);
		i = end;
	}
}
