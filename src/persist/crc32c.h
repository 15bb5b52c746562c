/* CRC32C (Castagnoli), the checksum of snapshot sections and journal records. */
#ifndef PERSIST_CRC32C_H
#define PERSIST_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC32C over len bytes: crc32c(crc32c(0, a), b) == crc32c(0, a || b).
   Start with 0. Uses the SSE4.2 crc32 instruction when the CPU has it, else a
   slicing-by-8 table (same results). */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The portable table implementation, exposed for the tests. */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
