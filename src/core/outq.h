/* Per-connection output queue: text chunks plus references to external memory. */
#ifndef CORE_OUTQ_H
#define CORE_OUTQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* A segment is either a text chunk (bytes stored inline, cap > 0) or a reference
   to external memory (cap == 0) released with release(ctx) once fully sent or
   when the queue is cleared. Lifecycle: appended by the protocol code, turned
   into iovecs by the transport, consumed as the ring reports bytes sent. */
struct outseg {
	struct outseg *next;
	const char *ptr;
	uint32_t len;   /* bytes in the segment */
	uint32_t off;   /* bytes already sent */
	uint32_t cap;   /* inline capacity of a text chunk, 0 for external */
	void (*release)(void *ctx);
	void *ctx;
	char text[];
};

struct outq {
	struct outseg *head, *tail;
	size_t bytes;   /* unsent bytes */
};

/* Append n bytes of text (copied). */
void outq_append(struct outq *q, const void *data, size_t n);

/* Append a NUL-terminated string. */
void outq_puts(struct outq *q, const char *s);

/* Append printf-formatted text. */
void outq_printf(struct outq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append a reference to len bytes at ptr, not copied; release(ctx) is called when
   they have been sent or the queue is cleared (release may be NULL). */
void outq_append_ref(struct outq *q, const void *ptr, size_t len, void (*release)(void *ctx),
		     void *ctx);

/* Free space at the tail for the caller to write into (a new chunk when the tail
   is full or a reference): returns it with its size (> 0) in *avail_r. Nothing is
   queued until outq_commit(). */
void *outq_reserve(struct outq *q, size_t *avail_r);

/* Queue n bytes (n <= the size outq_reserve() returned) written at its pointer. */
void outq_commit(struct outq *q, size_t n);

/* Fill up to max iovecs with unsent data from the head. Returns how many. */
int outq_iov(const struct outq *q, struct iovec *iov, int max);

/* Mark n bytes (n <= q->bytes) sent; fully sent segments are released. */
void outq_consume(struct outq *q, size_t n);

/* Drop everything unsent, releasing references. */
void outq_clear(struct outq *q);

/* Free the cached spare chunks (at shutdown). */
void outq_cache_free(void);

#endif
