/* io_uring set-up and the hand-registered provided buffer ring (liburing 2.3). */
#include "loop/ring.h"
#include "loop/udata.h"
#include "core/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int ring_init(struct ring *r, unsigned sq_entries, unsigned cq_entries, unsigned buf_count,
	      unsigned buf_size)
{
	memset(r, 0, sizeof(*r));
	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_SUBMIT_ALL;
	p.cq_entries = cq_entries;
	int ret = io_uring_queue_init_params(sq_entries, &r->uring, &p);
	if (ret == -EINVAL) {
		/* older kernel: no single issuer / deferred task running */
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_CQSIZE;
		p.cq_entries = cq_entries;
		ret = io_uring_queue_init_params(sq_entries, &r->uring, &p);
	}
	if (ret < 0)
		return ret;

	r->buf_count = buf_count;
	r->buf_size = buf_size;
	size_t ring_bytes = (size_t)buf_count * sizeof(struct io_uring_buf);
	void *mem = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	if (mem == MAP_FAILED) {
		ret = -errno;
		io_uring_queue_exit(&r->uring);
		return ret;
	}
	r->br = mem;
	io_uring_buf_ring_init(r->br);
	struct io_uring_buf_reg reg;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uint64_t)(uintptr_t)r->br;
	reg.ring_entries = buf_count;
	reg.bgid = RING_BGID;
	ret = io_uring_register_buf_ring(&r->uring, &reg, 0);
	if (ret < 0) {
		munmap(r->br, ring_bytes);
		io_uring_queue_exit(&r->uring);
		return ret;
	}
	/* buffer memory is touched only when the kernel fills a buffer */
	r->buf_base = mmap(NULL, (size_t)buf_count * buf_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->buf_base == MAP_FAILED) {
		ret = -errno;
		io_uring_unregister_buf_ring(&r->uring, RING_BGID);
		munmap(r->br, ring_bytes);
		io_uring_queue_exit(&r->uring);
		return ret;
	}
	int mask = io_uring_buf_ring_mask(buf_count);
	for (unsigned i = 0; i < buf_count; i++)
		io_uring_buf_ring_add(r->br, ring_buf(r, i), buf_size, (unsigned short)i, mask,
				      (int)i);
	io_uring_buf_ring_advance(r->br, (int)buf_count);
	return 0;
}

void ring_deinit(struct ring *r)
{
	if (r->br == NULL)
		return;
	io_uring_unregister_buf_ring(&r->uring, RING_BGID);
	munmap(r->br, (size_t)r->buf_count * sizeof(struct io_uring_buf));
	munmap(r->buf_base, (size_t)r->buf_count * r->buf_size);
	io_uring_queue_exit(&r->uring);
	r->br = NULL;
}

struct io_uring_sqe *ring_sqe(struct ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
	while (sqe == NULL) {
		int ret = io_uring_submit(&r->uring);
		if (ret < 0 && ret != -EAGAIN && ret != -EBUSY && ret != -EINTR) {
			log_error("io_uring_submit: %s", strerror(-ret));
			abort();
		}
		sqe = io_uring_get_sqe(&r->uring);
	}
	return sqe;
}

void ring_buf_recycle(struct ring *r, unsigned bid)
{
	io_uring_buf_ring_add(r->br, ring_buf(r, bid), r->buf_size, (unsigned short)bid,
			      io_uring_buf_ring_mask(r->buf_count), (int)r->recycled);
	r->recycled++;
}

void ring_buf_publish(struct ring *r)
{
	if (r->recycled > 0) {
		io_uring_buf_ring_advance(r->br, (int)r->recycled);
		r->recycled = 0;
	}
}

void ring_read(struct ring *r, int fd, void *buf, unsigned len, struct ring_handler *h)
{
	struct io_uring_sqe *sqe = ring_sqe(r);
	io_uring_prep_read(sqe, fd, buf, len, 0);
	io_uring_sqe_set_data64(sqe, udata_make(h, OP_HANDLER));
}
