/* Byte builder and bounds-checked reader for the snapshot and journal encodings. */
#include "persist/format.h"

#include <errno.h>
#include <stdlib.h>

int bytes_reserve(struct bytes *b, size_t more)
{
	if (b->cap - b->len >= more)
		return 0;
	size_t cap = b->cap == 0 ? 4096 : b->cap;

	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	unsigned char *data = realloc(b->data, cap);

	if (data == NULL)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

int bytes_add(struct bytes *b, const void *data, size_t len)
{
	if (bytes_reserve(b, len) < 0)
		return -ENOMEM;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int bytes_add_u32(struct bytes *b, uint32_t v)
{
	return bytes_add(b, &v, 4);
}

int bytes_add_u64(struct bytes *b, uint64_t v)
{
	return bytes_add(b, &v, 8);
}

int bytes_add_str(struct bytes *b, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;

	if (len > UINT32_MAX || bytes_reserve(b, 4 + len) < 0)
		return -ENOMEM;
	bytes_add_u32(b, (uint32_t)len);
	bytes_add(b, s, len);
	return 0;
}

void bytes_free(struct bytes *b)
{
	free(b->data);
	*b = (struct bytes){ 0 };
}

bool rd_bytes(struct reader *r, const unsigned char **p, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return false;
	}
	*p = r->p;
	r->p += n;
	return true;
}

bool rd_u8(struct reader *r, uint8_t *v)
{
	const unsigned char *p;

	if (!rd_bytes(r, &p, 1))
		return false;
	*v = *p;
	return true;
}

bool rd_u16(struct reader *r, uint16_t *v)
{
	const unsigned char *p;

	if (!rd_bytes(r, &p, 2))
		return false;
	*v = get_u16(p);
	return true;
}

bool rd_u32(struct reader *r, uint32_t *v)
{
	const unsigned char *p;

	if (!rd_bytes(r, &p, 4))
		return false;
	*v = get_u32(p);
	return true;
}

bool rd_u64(struct reader *r, uint64_t *v)
{
	const unsigned char *p;

	if (!rd_bytes(r, &p, 8))
		return false;
	*v = get_u64(p);
	return true;
}

bool rd_str(struct reader *r, const char **s, uint32_t *len, uint32_t max)
{
	const unsigned char *p;

	if (!rd_u32(r, len))
		return false;
	if (*len > max) {
		r->bad = true;
		return false;
	}
	if (!rd_bytes(r, &p, *len))
		return false;
	*s = (const char *)p;
	return true;
}
