/* Unit tests for net/compress: the deflate pump over an output queue (text chunks and
   references read in place), bounded inflate steps, pausing, errors, memory. */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/outq.h"
#include "net/compress.h"

/* Inflate everything queued in q (a raw deflate stream) into out after the got bytes
   already there; returns the new total. */
static size_t drain_inflate(z_stream *zs, struct outq *q, unsigned char *out, size_t got,
			    size_t cap)
{
	struct iovec iov;
	while (q->bytes > 0 && outq_iov(q, &iov, 1) == 1) {
		zs->next_in = iov.iov_base;
		zs->avail_in = (uInt)iov.iov_len;
		while (zs->avail_in > 0) {
			zs->next_out = out + got;
			zs->avail_out = (uInt)(cap - got);
			int ret = inflate(zs, Z_SYNC_FLUSH);
			cr_assert(ret == Z_OK || ret == Z_BUF_ERROR, "inflate %d", ret);
			got = cap - zs->avail_out;
		}
		outq_consume(q, iov.iov_len);
	}
	return got;
}

static int released;
static void release(void *ctx)
{
	(void)ctx;
	released++;
}

static unsigned char *random_bytes(size_t n, unsigned seed)
{
	unsigned char *p = malloc(n);
	srand(seed);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(rand() % 64 + ' ');  /* compressible, not trivially */
	return p;
}

Test(compress, pump_reads_text_and_references_and_flushes)
{
	struct compress_state *z = compress_new();
	cr_assert_not_null(z);
	struct outq in = { 0 };
	size_t big = 300000;
	unsigned char *blob = random_bytes(big, 1);
	outq_puts(&in, "* 1 FETCH (BODY[] {300000}\r\n");
	outq_append_ref(&in, blob, big, release, NULL);
	outq_puts(&in, ")\r\nF OK done\r\n");
	size_t total = in.bytes;
	z_stream zs = { 0 };
	cr_assert_eq(inflateInit2(&zs, -15), Z_OK);
	unsigned char *out = malloc(total + 100);
	size_t got = 0;
	released = 0;
	while (in.bytes > 0 || compress_out(z)->bytes > 0) {
		cr_assert_eq(compress_pump(z, &in), 0);
		/* never more than the high-water mark plus one flush is queued */
		cr_assert_leq(compress_out(z)->bytes, COMPRESS_OUT_HIGH + 65536);
		got = drain_inflate(&zs, compress_out(z), out, got, total + 100);
	}
	/* the sync flush at the end: everything decodes without more input */
	cr_assert_eq(got, total);
	cr_assert_eq(memcmp(out + strlen("* 1 FETCH (BODY[] {300000}\r\n"), blob, big), 0);
	cr_assert_eq(memcmp(out + got - 14, ")\r\nF OK done\r\n", 14), 0);
	cr_assert_eq(released, 1, "the reference is released once consumed");
	/* a later batch is flushed too */
	outq_puts(&in, "* 2 EXISTS\r\n");
	cr_assert_eq(compress_pump(z, &in), 0);
	got = drain_inflate(&zs, compress_out(z), out, got, total + 100);
	cr_assert_eq(got, total + 12);
	/* nothing new: nothing queued */
	cr_assert_eq(compress_pump(z, &in), 0);
	cr_assert_eq(compress_out(z)->bytes, 0);
	inflateEnd(&zs);
	free(out);
	free(blob);
	compress_free(&z);
	cr_assert_null(z);
}

static size_t deflate_all(const unsigned char *in, size_t n, unsigned char *out, size_t cap,
			  int flush)
{
	z_stream zs = { 0 };
	cr_assert_eq(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)n;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	cr_assert_neq(deflate(&zs, flush), Z_STREAM_ERROR);
	size_t len = cap - zs.avail_out;
	deflateEnd(&zs);
	return len;
}

struct sink_ctx {
	unsigned char *buf;
	size_t len, calls, max_step;
	size_t stop_after;     /* return false after this many calls (0: never) */
};

static bool sink(void *vctx, const unsigned char *data, size_t len)
{
	struct sink_ctx *s = vctx;
	memcpy(s->buf + s->len, data, len);
	s->len += len;
	s->calls++;
	if (len > s->max_step)
		s->max_step = len;
	return s->stop_after == 0 || s->calls % s->stop_after != 0;
}

Test(compress, inflate_in_bounded_steps_and_resume)
{
	size_t n = 1 << 20;
	unsigned char *plain = random_bytes(n, 2);
	memset(plain, 'a', n / 2);   /* half of it compresses to almost nothing */
	unsigned char *wire = malloc(n + 1024);
	size_t wlen = deflate_all(plain, n, wire, n + 1024, Z_SYNC_FLUSH);
	struct compress_state *z = compress_new();
	struct sink_ctx s = { .buf = malloc(n), .stop_after = 3 };
	/* fed in pieces; the sink stops every third step, as a paused session does */
	for (size_t off = 0; off < wlen; off += 5000) {
		size_t k = wlen - off < 5000 ? wlen - off : 5000;
		cr_assert_eq(compress_input(z, wire + off, k, sink, &s), 0);
	}
	while (compress_has_pending(z))
		cr_assert_eq(compress_resume(z, sink, &s), 0);
	cr_assert_eq(s.len, n);
	cr_assert_eq(memcmp(s.buf, plain, n), 0);
	cr_assert_leq(s.max_step, COMPRESS_CHUNK);
	compress_free(&z);
	free(s.buf);
	free(wire);
	free(plain);
}

Test(compress, bomb_stops_when_the_sink_stops)
{
	/* 64 MiB of zeros in ~64 KiB: one call inflates one step, not all of it */
	size_t n = 64u << 20;
	unsigned char *zeros = calloc(1, n);
	unsigned char *wire = malloc(1 << 20);
	size_t wlen = deflate_all(zeros, n, wire, 1 << 20, Z_SYNC_FLUSH);
	cr_assert_lt(wlen, 200000);
	struct compress_state *z = compress_new();
	struct sink_ctx s = { .buf = malloc(COMPRESS_CHUNK * 2), .stop_after = 1 };
	cr_assert_eq(compress_input(z, wire, wlen, sink, &s), 0);
	cr_assert_eq(s.calls, 1);
	cr_assert_leq(s.len, COMPRESS_CHUNK);
	cr_assert(compress_has_pending(z));
	compress_free(&z);
	free(s.buf);
	free(wire);
	free(zeros);
}

Test(compress, garbage_and_data_after_the_end_are_errors)
{
	struct compress_state *z = compress_new();
	struct sink_ctx s = { .buf = malloc(1 << 16) };
	unsigned char garbage[64];
	memset(garbage, 0xff, sizeof(garbage));
	cr_assert_eq(compress_input(z, garbage, sizeof(garbage), sink, &s), -1);
	compress_free(&z);

	z = compress_new();
	unsigned char wire[256];
	size_t wlen = deflate_all((const unsigned char *)"a NOOP\r\n", 8, wire, 200, Z_FINISH);
	memcpy(wire + wlen, "more", 4);
	s.len = 0;
	cr_assert_eq(compress_input(z, wire, wlen + 4, sink, &s), -1);
	cr_assert_eq(s.len, 8);
	compress_free(&z);
	free(s.buf);
}

Test(compress, pending_input_is_bounded)
{
	struct compress_state *z = compress_new();
	unsigned char *junk = calloc(1, COMPRESS_PEND_MAX + 1);
	cr_assert_eq(compress_defer(z, junk, COMPRESS_PEND_MAX), 0);
	cr_assert_eq(compress_defer(z, junk, 1), -1);
	compress_free(&z);
	free(junk);
}

Test(compress, memory_per_connection)
{
	struct compress_state *z = compress_new();
	size_t at_start = compress_mem(z);
	/* one exchange each way: inflate allocates its window on first use */
	struct outq in = { 0 };
	outq_puts(&in, "* OK something to say\r\n");
	cr_assert_eq(compress_pump(z, &in), 0);
	unsigned char wire[256];
	size_t wlen = deflate_all((const unsigned char *)"a NOOP\r\n", 8, wire, 200, Z_SYNC_FLUSH);
	struct sink_ctx s = { .buf = malloc(1 << 16) };
	cr_assert_eq(compress_input(z, wire, wlen, sink, &s), 0);
	size_t in_use = compress_mem(z);
	cr_log_info("zlib memory per compressed connection: %zu bytes at COMPRESS, %zu in use",
		    at_start, in_use);
	printf("compress: zlib memory %zu B at start, %zu B in use\n", at_start, in_use);
	/* deflate 4 KiB window (x2 + prev) and memLevel 5, inflate state + 32 KiB window */
	cr_assert_lt(in_use, 96 * 1024);
	compress_free(&z);
	free(s.buf);
}
