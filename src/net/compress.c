/* COMPRESS=DEFLATE (RFC 4978) streams: deflate reads the output queue in place,
   inflate feeds the protocol in bounded steps. */
#include "net/compress.h"
#include "core/alloc.h"
#include "core/common.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Buffer lifecycles:
   - out: compressed bytes zlib wrote straight into outq chunks, consumed by the
     transport as they are sent (encrypted first under TLS);
   - pend: compressed input not inflated yet (the protocol paused the input, or
     bytes pipelined after COMPRESS), freed when empty. */
struct compress_state {
	z_stream def, inf;
	struct outq out;
	unsigned char *pend;
	size_t pend_off, pend_len, pend_cap;
	size_t mem;          /* bytes zlib holds */
	bool dirty;          /* deflate took input since its last sync flush */
	bool ended;          /* the client's stream ended (BFINAL) */
	bool more;           /* inflate filled its output when the sink stopped: it may
	                        hold more plaintext without further input */
};

/* zlib's allocations, counted per state (each block carries its size). */
static void *z_alloc(void *opaque, unsigned items, unsigned size)
{
	struct compress_state *z = opaque;
	size_t n = (size_t)items * size;
	size_t *p = malloc(n + sizeof(size_t) * 2);
	if (p == NULL)
		return NULL;
	p[0] = n;
	z->mem += n;
	return p + 2;
}

static void z_free(void *opaque, void *ptr)
{
	struct compress_state *z = opaque;
	if (ptr == NULL)
		return;
	size_t *p = (size_t *)ptr - 2;
	z->mem -= p[0];
	free(p);
}

struct compress_state *compress_new(void)
{
	struct compress_state *z = xcalloc(1, sizeof(*z));
	z->def.zalloc = z->inf.zalloc = z_alloc;
	z->def.zfree = z->inf.zfree = z_free;
	z->def.opaque = z->inf.opaque = z;
	if (deflateInit2(&z->def, COMPRESS_DEFLATE_LEVEL, Z_DEFLATED, COMPRESS_DEFLATE_WBITS,
			 COMPRESS_DEFLATE_MEMLEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(z);
		return NULL;
	}
	if (inflateInit2(&z->inf, COMPRESS_INFLATE_WBITS) != Z_OK) {
		deflateEnd(&z->def);
		free(z);
		return NULL;
	}
	return z;
}

void compress_free(struct compress_state **_z)
{
	struct compress_state *z = *_z;
	if (z == NULL)
		return;
	deflateEnd(&z->def);
	inflateEnd(&z->inf);
	outq_clear(&z->out);
	free(z->pend);
	free(z);
	*_z = NULL;
}

size_t compress_mem(const struct compress_state *z)
{
	return z->mem;
}

struct outq *compress_out(struct compress_state *z)
{
	return &z->out;
}

/* Run deflate with what def.next_in holds, writing into out's chunks, until the
   input is taken (and for a flush, until zlib has nothing more to give). */
static int deflate_run(struct compress_state *z, int flush)
{
	for (;;) {
		size_t avail;
		unsigned char *dst = outq_reserve(&z->out, &avail);
		z->def.next_out = dst;
		z->def.avail_out = (uInt)avail;
		int ret = deflate(&z->def, flush);
		outq_commit(&z->out, avail - z->def.avail_out);
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			return -1;
		if (z->def.avail_out != 0 && z->def.avail_in == 0)
			return 0;
	}
}

int compress_pump(struct compress_state *z, struct outq *in)
{
	while (in->bytes > 0 && z->out.bytes < COMPRESS_OUT_HIGH) {
		/* one segment at a time, read in place: consuming it may release a blob */
		struct iovec iov;
		if (outq_iov(in, &iov, 1) != 1)
			break;
		size_t len = MIN(iov.iov_len, (size_t)COMPRESS_CHUNK);
		z->def.next_in = iov.iov_base;
		z->def.avail_in = (uInt)len;
		if (deflate_run(z, Z_NO_FLUSH) < 0)
			return -1;
		outq_consume(in, len);
		z->dirty = true;
	}
	if (in->bytes == 0 && z->dirty) {
		z->def.next_in = NULL;
		z->def.avail_in = 0;
		if (deflate_run(z, Z_SYNC_FLUSH) < 0)
			return -1;
		z->dirty = false;
	}
	return 0;
}

static int pend_add(struct compress_state *z, const unsigned char *data, size_t len)
{
	if (len == 0)
		return 0;
	if (z->pend_len + len > COMPRESS_PEND_MAX)
		return -1;
	if (z->pend_off > 0 && z->pend_len > 0)
		memmove(z->pend, z->pend + z->pend_off, z->pend_len);
	z->pend_off = 0;
	if (z->pend_len + len > z->pend_cap) {
		z->pend_cap = z->pend_len + len;
		z->pend = xrealloc(z->pend, z->pend_cap);
	}
	memcpy(z->pend + z->pend_len, data, len);
	z->pend_len += len;
	return 0;
}

/* Inflate data in COMPRESS_CHUNK steps to sink. Returns the bytes of data not
   consumed (sink said stop), or -1. */
static long inflate_run(struct compress_state *z, const unsigned char *data, size_t len,
			compress_sink *sink, void *ctx)
{
	unsigned char buf[COMPRESS_CHUNK];
	z->inf.next_in = (unsigned char *)data;
	z->inf.avail_in = (uInt)len;
	bool full = z->more;
	z->more = false;
	while (z->inf.avail_in > 0 || full) {
		if (z->ended)
			return -1;   /* bytes after the end of the client's stream */
		z->inf.next_out = buf;
		z->inf.avail_out = sizeof(buf);
		int ret = inflate(&z->inf, Z_SYNC_FLUSH);
		if (ret == Z_STREAM_END)
			z->ended = true;
		else if (ret != Z_OK && ret != Z_BUF_ERROR)
			return -1;
		size_t got = sizeof(buf) - z->inf.avail_out;
		full = z->inf.avail_out == 0;
		if (got == 0 && ret == Z_BUF_ERROR)
			break;
		if (got > 0 && !sink(ctx, buf, got)) {
			/* the next resume goes on from here */
			z->more = full;
			break;
		}
	}
	long rest = (long)z->inf.avail_in;
	z->inf.next_in = NULL;
	z->inf.avail_in = 0;
	return rest;
}

int compress_input(struct compress_state *z, const unsigned char *data, size_t len,
		   compress_sink *sink, void *ctx)
{
	if (compress_has_pending(z))
		return pend_add(z, data, len);
	long rest = inflate_run(z, data, len, sink, ctx);
	if (rest < 0)
		return -1;
	return pend_add(z, data + len - (size_t)rest, (size_t)rest);
}

int compress_defer(struct compress_state *z, const unsigned char *data, size_t len)
{
	return pend_add(z, data, len);
}

int compress_resume(struct compress_state *z, compress_sink *sink, void *ctx)
{
	if (!compress_has_pending(z))
		return 0;
	long rest = inflate_run(z, z->pend + z->pend_off, z->pend_len, sink, ctx);
	if (rest < 0)
		return -1;
	z->pend_off += z->pend_len - (size_t)rest;
	z->pend_len = (size_t)rest;
	if (z->pend_len == 0) {
		free(z->pend);
		z->pend = NULL;
		z->pend_off = z->pend_cap = 0;
	}
	return 0;
}

bool compress_has_pending(const struct compress_state *z)
{
	return z->pend_len > 0 || z->more;
}
