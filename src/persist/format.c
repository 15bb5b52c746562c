/* Byte builder and bounds-checked reader for the snapshot and journal encodings. */
#include "persist/format.h"

#include <errno.h>
#include <stdlib.h>

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
