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

static bool all_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

/* Map a run of valid UTF-8. */
static void map_valid(struct buf *out, const uint8_t *s, size_t len)
{
	if (all_ascii((const char *)s, len)) {
		ascii_upper(out, (const char *)s, len);
		return;
	}
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

void mail_casemap(struct buf *out, const char *s, size_t len)
{
	if (all_ascii(s, len)) {
		ascii_upper(out, s, len);
		return;
	}
	const uint8_t *p = (const uint8_t *)s, *end = p + len;

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
