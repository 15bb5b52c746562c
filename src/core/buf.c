/* Growable byte buffer. */
#include "core/buf.h"
#include "core/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_reserve(struct buf *b, size_t n)
{
	if (b->cap - b->len >= n)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			oom(n);
		cap *= 2;
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t n)
{
	if (n == 0)
		return;
	buf_reserve(b, n);
	memcpy(b->data + b->len, data, n);
	b->len += n;
}

void buf_append_u32(struct buf *b, uint32_t v)
{
	buf_append(b, &v, sizeof(v));
}

void buf_append_u64(struct buf *b, uint64_t v)
{
	buf_append(b, &v, sizeof(v));
}

void buf_append_lstr(struct buf *b, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;
	buf_reserve(b, 4 + len);
	buf_append_u32(b, (uint32_t)len);
	buf_append(b, s, len);
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
