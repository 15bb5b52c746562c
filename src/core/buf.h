/* Growable byte buffer (malloc-backed) for data that outlives a command. */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Make room for n more bytes without moving them again (aborts on out of memory). */
void buf_reserve(struct buf *b, size_t n);

/* Append n bytes, growing as needed (aborts on out of memory). */
void buf_append(struct buf *b, const void *data, size_t n);

/* Append a 32- or 64-bit integer in host byte order (the on-disk formats are
   little-endian and x86-64/aarch64 only), or a string as a u32 length and its
   bytes without the NUL (NULL: empty). */
void buf_append_u32(struct buf *b, uint32_t v);
void buf_append_u64(struct buf *b, uint64_t v);
void buf_append_lstr(struct buf *b, const char *s);

/* Remove the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Free the storage; the buffer is empty and reusable. */
void buf_free(struct buf *b);

#endif
