/* io_uring set-up: the ring, the provided receive-buffer ring, SQE access. */
#ifndef LOOP_RING_H
#define LOOP_RING_H

#include <liburing.h>
#include <stdbool.h>
#include <stdint.h>

#define RING_BGID 1  /* buffer group id of the receive buffers */

struct ring {
	struct io_uring uring;
	/* Provided buffers for multishot recv. Lifecycle: the kernel picks a buffer
	   when data arrives and hands us its id in the CQE; we feed the bytes to the
	   connection (which copies what it must keep) and give the buffer back with
	   ring_buf_recycle() before the loop turn ends. An idle connection holds none. */
	struct io_uring_buf_ring *br;
	unsigned char *buf_base;
	unsigned buf_count;   /* power of two */
	unsigned buf_size;
	unsigned recycled;    /* buffers added since the last advance */
	uint64_t cq_overflows;
};

/* Create the ring (single issuer, deferred task running when the kernel has them;
   CQ sized cq_entries) and register buf_count buffers of buf_size bytes.
   Returns 0 or -errno. */
int ring_init(struct ring *r, unsigned sq_entries, unsigned cq_entries, unsigned buf_count,
	      unsigned buf_size);

/* Unregister and free everything. */
void ring_deinit(struct ring *r);

/* An SQE, submitting pending ones first if the SQ is full. Never NULL. */
struct io_uring_sqe *ring_sqe(struct ring *r);

/* A completion handler embedded in the object that owns an operation (nginx's
   ev->handler): the loop's switch calls h->fn(h, res, flags) for OP_HANDLER
   (loop/udata.h). */
struct ring_handler {
	void (*fn)(struct ring_handler *h, int res, unsigned flags);
} __attribute__((aligned(16)));

/* Submit a read of len bytes of fd into buf (offset 0: an eventfd, signalfd or
   pipe) whose completion goes to h (OP_HANDLER). */
void ring_read(struct ring *r, int fd, void *buf, unsigned len, struct ring_handler *h);

/* Bytes of provided buffer bid. */
static inline unsigned char *ring_buf(struct ring *r, unsigned bid)
{
	return r->buf_base + (size_t)bid * r->buf_size;
}

/* Give buffer bid back to the kernel (made visible by ring_buf_publish()). */
void ring_buf_recycle(struct ring *r, unsigned bid);

/* Make recycled buffers visible to the kernel; call once per loop turn. */
void ring_buf_publish(struct ring *r);

#endif
