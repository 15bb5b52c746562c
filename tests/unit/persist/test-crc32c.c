/* CRC32C: known vectors, hardware against table, incremental use. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "persist/crc32c.h"

Test(crc32c, vectors)
{
	unsigned char zeros[32] = { 0 }, ones[32];

	memset(ones, 0xff, sizeof(ones));
	cr_assert_eq(crc32c(0, "123456789", 9), 0xe3069283u);
	cr_assert_eq(crc32c_sw(0, "123456789", 9), 0xe3069283u);
	/* RFC 3720 B.4 */
	cr_assert_eq(crc32c(0, zeros, 32), 0x8a9136aau);
	cr_assert_eq(crc32c(0, ones, 32), 0x62a8ab43u);
	cr_assert_eq(crc32c(0, "", 0), 0);
}

Test(crc32c, hardware_matches_table)
{
	size_t max = 3 * 8192 * 2 + 123;
	unsigned char *buf = malloc(max + 16);

	srand(7);
	for (size_t i = 0; i < max + 16; i++)
		buf[i] = (unsigned char)rand();
	for (size_t len = 0; len <= max; len += (len < 100 ? 1 : 997)) {
		for (size_t align = 0; align < 8; align += 3) {
			uint32_t a = crc32c(0, buf + align, len), b = crc32c_sw(0, buf + align, len);

			cr_assert_eq(a, b, "len %zu align %zu: %08x %08x", len, align, a, b);
		}
	}
	/* Incremental in odd pieces equals one pass. */
	uint32_t whole = crc32c(0, buf, max), part = 0;

	for (size_t off = 0; off < max; ) {
		size_t n = (size_t)rand() % 30000;

		if (n > max - off)
			n = max - off;
		part = crc32c(part, buf + off, n);
		off += n;
	}
	cr_assert_eq(whole, part);
	free(buf);
}
