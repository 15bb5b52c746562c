/* CRC32C: SSE4.2 crc32 instruction (three interleaved streams) or slicing-by-8 tables. */
#include "persist/crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82f63b78u /* reflected Castagnoli polynomial */

static uint32_t crc32c_table[8][256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static uint32_t (*crc32c_impl)(uint32_t crc, const unsigned char *p, size_t len);

static uint32_t crc32c_sw_run(uint32_t crc, const unsigned char *p, size_t len)
{
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
		len--;
	}
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		v ^= crc;
		crc = crc32c_table[7][v & 0xff] ^ crc32c_table[6][(v >> 8) & 0xff] ^
		      crc32c_table[5][(v >> 16) & 0xff] ^ crc32c_table[4][(v >> 24) & 0xff] ^
		      crc32c_table[3][(v >> 32) & 0xff] ^ crc32c_table[2][(v >> 40) & 0xff] ^
		      crc32c_table[1][(v >> 48) & 0xff] ^ crc32c_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = crc32c_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
/* The three streams are joined by shifting a CRC over LANE zero bytes; that linear
   map is built once with zlib's GF(2) matrix method (crc32_combine). */
static uint32_t gf2_times(const uint32_t *mat, uint32_t vec)
{
	uint32_t sum = 0;

	for (int i = 0; vec != 0; i++, vec >>= 1) {
		if (vec & 1)
			sum ^= mat[i];
	}
	return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *mat)
{
	for (int n = 0; n < 32; n++)
		square[n] = gf2_times(mat, mat[n]);
}

/* Operator that appends len zero bytes to a CRC (zlib's crc32_combine method). */
static void crc32c_zeros_op(uint32_t *even, size_t len)
{
	uint32_t odd[32];
	uint32_t row = 1;

	odd[0] = CRC32C_POLY;
	for (int n = 1; n < 32; n++) {
		odd[n] = row;
		row <<= 1;
	}
	gf2_square(even, odd);  /* 2 zero bits */
	gf2_square(odd, even);  /* 4 zero bits */
	/* now odd = 4 bits; square until len bytes (len a power of two times 1 byte) */
	do {
		gf2_square(even, odd);
		len >>= 1;
		if (len == 0)
			return;
		gf2_square(odd, even);
		len >>= 1;
	} while (len != 0);
	memcpy(even, odd, sizeof(odd));
}

/* Three interleaved streams of LANE bytes each hide the instruction's latency. */
#define LANE 8192
static uint32_t crc32c_shift_lane[4][256];

static uint32_t crc32c_shift(uint32_t crc)
{
	return crc32c_shift_lane[0][crc & 0xff] ^ crc32c_shift_lane[1][(crc >> 8) & 0xff] ^
	       crc32c_shift_lane[2][(crc >> 16) & 0xff] ^ crc32c_shift_lane[3][crc >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t crc32c_hw_run(uint32_t crc32, const unsigned char *p, size_t len)
{
	uint64_t crc = crc32;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		crc = __builtin_ia32_crc32qi((uint32_t)crc, *p++);
		len--;
	}
	while (len >= 3 * LANE) {
		uint64_t c1 = 0, c2 = 0;
		const unsigned char *end = p + LANE;

		do {
			uint64_t a, b, c;

			memcpy(&a, p, 8);
			memcpy(&b, p + LANE, 8);
			memcpy(&c, p + 2 * LANE, 8);
			crc = __builtin_ia32_crc32di(crc, a);
			c1 = __builtin_ia32_crc32di(c1, b);
			c2 = __builtin_ia32_crc32di(c2, c);
			p += 8;
		} while (p < end);
		crc = crc32c_shift((uint32_t)crc) ^ c1;
		crc = crc32c_shift((uint32_t)crc) ^ c2;
		p += 2 * LANE;
		len -= 3 * LANE;
	}
	while (len >= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		crc = __builtin_ia32_crc32di(crc, v);
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		crc = __builtin_ia32_crc32qi((uint32_t)crc, *p++);
	return (uint32_t)crc;
}
#endif

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc32c_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++) {
		for (int t = 1; t < 8; t++)
			crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^
					     crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
	}
	crc32c_impl = crc32c_sw_run;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2")) {
		uint32_t op[32];

		crc32c_zeros_op(op, LANE);
		for (uint32_t i = 0; i < 256; i++) {
			for (int b = 0; b < 4; b++)
				crc32c_shift_lane[b][i] = gf2_times(op, i << (8 * b));
		}
		crc32c_impl = crc32c_hw_run;
	}
#endif
}

uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	return ~crc32c_sw_run(~crc, data, len);
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
	pthread_once(&crc32c_once, crc32c_init);
	return ~crc32c_impl(~crc, data, len);
}
