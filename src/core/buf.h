/* Growable byte buffer (malloc-backed) for data that outlives a command. */
#ifndef CORE_BUF_H
#define CORE_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
};

/* Append n bytes, growing as needed (aborts on out-of-memory). */
void buf_append(struct buf *b, const void *data, size_t n);

/* Remove the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* Free the storage; the buffer is empty and reusable. */
void buf_free(struct buf *b);

#endif
