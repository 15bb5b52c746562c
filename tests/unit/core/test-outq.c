/* Unit tests for the output queue: text chunks, references with release callbacks,
   iovec export and partial consumption. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/outq.h"

#define CHUNK_CAP (4096u - (unsigned)sizeof(struct outseg))
#define SMALL_CAP (512u - (unsigned)sizeof(struct outseg))

static void fini(void)
{
	outq_cache_free();
}

TestSuite(outq, .fini = fini);

/* Everything unsent, in order (sent bytes of the head skipped). */
static char *drain_copy(const struct outq *q, size_t *len_r)
{
	size_t n = 0;
	for (const struct outseg *s = q->head; s != NULL; s = s->next)
		n += s->len - s->off;
	char *out = malloc(n + 1);
	size_t o = 0;
	for (const struct outseg *s = q->head; s != NULL; s = s->next) {
		memcpy(out + o, s->ptr + s->off, s->len - s->off);
		o += s->len - s->off;
	}
	out[o] = '\0';
	*len_r = o;
	return out;
}

static unsigned count_segs(const struct outq *q)
{
	unsigned n = 0;
	for (const struct outseg *s = q->head; s != NULL; s = s->next)
		n++;
	return n;
}

struct rel {
	int calls;
};

static void release_cb(void *ctx)
{
	((struct rel *)ctx)->calls++;
}

Test(outq, append_within_one_chunk)
{
	struct outq q = { 0 };
	outq_append(&q, "* OK ", 5);
	outq_puts(&q, "ready\r\n");
	outq_append(&q, "x", 0);
	cr_assert_eq(q.bytes, 12);
	cr_assert_eq(count_segs(&q), 1);
	size_t n;
	char *s = drain_copy(&q, &n);
	cr_assert_str_eq(s, "* OK ready\r\n");
	free(s);
	outq_clear(&q);
	cr_assert_eq(q.bytes, 0);
	cr_assert_null(q.head);
	cr_assert_null(q.tail);
}

Test(outq, append_across_chunk_boundaries)
{
	struct outq q = { 0 };
	size_t total = 3 * CHUNK_CAP + 123;
	char *src = malloc(total);
	for (size_t i = 0; i < total; i++)
		src[i] = (char)('A' + i % 53);
	/* odd-sized pieces so copies straddle chunk ends */
	size_t off = 0, step = 1;
	while (off < total) {
		size_t k = step < total - off ? step : total - off;
		outq_append(&q, src + off, k);
		off += k;
		step = step * 3 % 1999 + 1;
	}
	cr_assert_eq(q.bytes, total);
	cr_assert_eq(count_segs(&q), 4);
	for (const struct outseg *s = q.head; s != NULL; s = s->next) {
		cr_assert(s->cap == CHUNK_CAP || (s == q.head && s->cap == SMALL_CAP),
			  "a queue starts with a 512-byte chunk, then 4 KiB ones");
		cr_assert_leq(s->len, s->cap);
		if (s->next != NULL)
			cr_assert_eq(s->len, s->cap, "only the last chunk is partly filled");
	}
	size_t n;
	char *got = drain_copy(&q, &n);
	cr_assert_eq(n, total);
	cr_assert_eq(memcmp(got, src, total), 0);
	free(got);
	/* one append spanning several chunks at once */
	outq_clear(&q);
	outq_append(&q, src, total);
	cr_assert_eq(count_segs(&q), 4);
	got = drain_copy(&q, &n);
	cr_assert_eq(memcmp(got, src, total), 0);
	free(got);
	outq_clear(&q);
	free(src);
}

Test(outq, short_replies_use_small_chunks)
{
	struct outq q = { 0 };
	outq_puts(&q, "* 3 EXISTS\r\n");
	cr_assert_eq(q.head->cap, SMALL_CAP, "a short reply on an empty queue: small chunk");
	static const char body[] = "body";
	outq_append_ref(&q, body, 4, NULL, NULL);
	outq_puts(&q, ")\r\n");
	cr_assert_eq(q.tail->cap, SMALL_CAP, "short text after a reference: small chunk");
	char big[1000];
	memset(big, 'x', sizeof(big));
	outq_append(&q, big, sizeof(big));
	cr_assert_eq(q.tail->cap, CHUNK_CAP, "text that overflows continues in 4 KiB chunks");
	cr_assert_eq(q.bytes, 12 + 4 + 3 + sizeof(big));
	size_t n;
	char *got = drain_copy(&q, &n);
	cr_assert_eq(n, q.bytes);
	cr_assert_eq(memcmp(got, "* 3 EXISTS\r\nbody)\r\nxxx", 22), 0);
	free(got);
	outq_clear(&q);
	/* a long piece on an empty queue goes straight to a 4 KiB chunk */
	outq_append(&q, big, sizeof(big));
	cr_assert_eq(q.head->cap, CHUNK_CAP);
	outq_clear(&q);
}

Test(outq, exact_chunk_fill_then_one_more_byte)
{
	struct outq q = { 0 };
	char *src = malloc(CHUNK_CAP);
	memset(src, 'c', CHUNK_CAP);
	outq_append(&q, src, CHUNK_CAP);
	cr_assert_eq(count_segs(&q), 1);
	outq_append(&q, "d", 1);
	cr_assert_eq(count_segs(&q), 2);
	cr_assert_eq(q.tail->len, 1);
	cr_assert_eq(q.bytes, CHUNK_CAP + 1);
	outq_clear(&q);
	free(src);
}

Test(outq, printf_short_and_long)
{
	struct outq q = { 0 };
	outq_printf(&q, "* %u EXISTS\r\n", 42u);
	outq_printf(&q, "%s", "");
	char *big = malloc(3000);
	memset(big, 'b', 2999);
	big[2999] = '\0';
	outq_printf(&q, "[%s]", big); /* beyond the 512-byte stack buffer */
	size_t n;
	char *s = drain_copy(&q, &n);
	cr_assert_eq(n, 13 + 3001);
	cr_assert_eq(q.bytes, n);
	cr_assert_eq(memcmp(s, "* 42 EXISTS\r\n[", 14), 0);
	cr_assert_eq(s[n - 1], ']');
	cr_assert_eq(s[n - 2], 'b');
	free(s);
	free(big);
	outq_clear(&q);
}

Test(outq, text_ref_text_ordering_and_iov)
{
	struct outq q = { 0 };
	struct rel r = { 0 };
	static const char body[] = "BODY-BYTES";
	outq_puts(&q, "* 1 FETCH (BODY[] {10}\r\n");
	outq_append_ref(&q, body, 10, release_cb, &r);
	outq_puts(&q, ")\r\n");
	cr_assert_eq(count_segs(&q), 3);
	cr_assert_eq(q.bytes, 24 + 10 + 3);
	struct iovec iov[8];
	int n = outq_iov(&q, iov, 8);
	cr_assert_eq(n, 3);
	cr_assert_eq(iov[0].iov_len, 24);
	cr_assert_eq(iov[1].iov_base, (void *)body, "references are not copied");
	cr_assert_eq(iov[1].iov_len, 10);
	cr_assert_eq(iov[2].iov_len, 3);
	cr_assert_eq(memcmp(iov[2].iov_base, ")\r\n", 3), 0);
	cr_assert_eq(outq_iov(&q, iov, 2), 2);
	cr_assert_eq(outq_iov(&q, iov, 0), 0);
	outq_clear(&q);
	cr_assert_eq(r.calls, 1, "clear releases the unsent reference once");
}

Test(outq, release_exactly_once_on_consume)
{
	struct outq q = { 0 };
	struct rel r = { 0 };
	char data[100];
	memset(data, 'r', sizeof(data));
	outq_puts(&q, "head");
	outq_append_ref(&q, data, 100, release_cb, &r);
	outq_puts(&q, "tail");
	outq_consume(&q, 4 + 50);
	cr_assert_eq(r.calls, 0, "half-sent reference is still in use");
	struct iovec iov[4];
	int n = outq_iov(&q, iov, 4);
	cr_assert_eq(n, 2);
	cr_assert_eq(iov[0].iov_base, (void *)(data + 50));
	cr_assert_eq(iov[0].iov_len, 50);
	outq_consume(&q, 49);
	cr_assert_eq(r.calls, 0);
	outq_consume(&q, 1);
	cr_assert_eq(r.calls, 1, "fully sent reference is released");
	cr_assert_eq(q.bytes, 4);
	outq_consume(&q, 4);
	outq_clear(&q);
	cr_assert_eq(r.calls, 1, "no second release");
	cr_assert_eq(q.bytes, 0);
	cr_assert_null(q.head);
}

Test(outq, release_once_on_clear_after_partial_send)
{
	struct outq q = { 0 };
	struct rel r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	outq_append_ref(&q, "aaaa", 4, release_cb, &r1);
	outq_append_ref(&q, "bbbb", 4, release_cb, &r2);
	outq_append_ref(&q, "cccc", 4, release_cb, &r3);
	outq_append_ref(&q, "dddd", 4, NULL, NULL);
	outq_consume(&q, 6);
	cr_assert_eq(r1.calls, 1);
	cr_assert_eq(r2.calls, 0);
	outq_clear(&q);
	cr_assert_eq(r1.calls, 1);
	cr_assert_eq(r2.calls, 1);
	cr_assert_eq(r3.calls, 1);
	outq_clear(&q);
	cr_assert_eq(r2.calls + r3.calls, 2);
}

Test(outq, consume_byte_by_byte)
{
	struct outq q = { 0 };
	struct rel r = { 0 };
	size_t total = CHUNK_CAP + 500;
	char *src = malloc(total);
	for (size_t i = 0; i < total; i++)
		src[i] = (char)i;
	outq_append(&q, src, 300);
	outq_append_ref(&q, src + 300, 200, release_cb, &r);
	outq_append(&q, src + 500, total - 500);
	size_t sent = 0;
	while (q.bytes > 0) {
		struct iovec iov[1];
		cr_assert_eq(outq_iov(&q, iov, 1), 1);
		cr_assert_eq(*(const char *)iov[0].iov_base, src[sent], "byte %zu", sent);
		outq_consume(&q, 1);
		sent++;
		cr_assert_eq(q.bytes, total - sent);
		cr_assert_eq(r.calls, sent >= 500 ? 1 : 0);
	}
	cr_assert_eq(sent, total);
	cr_assert_null(q.head);
	cr_assert_null(q.tail);
	/* the queue works again after draining */
	outq_puts(&q, "x");
	cr_assert_eq(q.bytes, 1);
	outq_clear(&q);
	free(src);
}

Test(outq, consume_in_uneven_steps_matches_iov)
{
	struct outq q = { 0 };
	struct rel r = { 0 };
	size_t total = 2 * CHUNK_CAP + 777;
	char *src = malloc(total);
	for (size_t i = 0; i < total; i++)
		src[i] = (char)(i * 13);
	outq_append(&q, src, 1000);
	outq_append_ref(&q, src + 1000, 2000, release_cb, &r);
	outq_append(&q, src + 3000, total - 3000);
	char *out = malloc(total);
	size_t got = 0, step = 7;
	while (q.bytes > 0) {
		struct iovec iov[3];
		int n = outq_iov(&q, iov, 3);
		cr_assert_gt(n, 0);
		/* a "send" that writes step bytes of what the iovecs offer */
		size_t left = step;
		for (int i = 0; i < n && left > 0; i++) {
			size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
			memcpy(out + got, iov[i].iov_base, k);
			got += k;
			left -= k;
		}
		outq_consume(&q, step - left);
		step = step * 5 % 3001 + 1;
	}
	cr_assert_eq(got, total);
	cr_assert_eq(memcmp(out, src, total), 0);
	cr_assert_eq(r.calls, 1);
	free(out);
	free(src);
}

Test(outq, append_after_partial_send_of_tail_chunk)
{
	struct outq q = { 0 };
	outq_puts(&q, "abcdef");
	outq_consume(&q, 3);
	outq_puts(&q, "ghi");
	cr_assert_eq(q.bytes, 6);
	size_t n;
	char *s = drain_copy(&q, &n);
	cr_assert_str_eq(s, "defghi");
	free(s);
	struct iovec iov[2];
	cr_assert_eq(outq_iov(&q, iov, 2), 1);
	cr_assert_eq(iov[0].iov_len, 6);
	outq_clear(&q);
}

Test(outq, zero_length_reference)
{
	struct outq q = { 0 };
	struct rel r = { 0 };
	outq_append_ref(&q, "", 0, release_cb, &r);
	cr_assert_eq(q.bytes, 0);
	struct iovec iov[2];
	cr_assert_eq(outq_iov(&q, iov, 2), 0, "nothing to send");
	outq_clear(&q);
	cr_assert_eq(r.calls, 1);
}

Test(outq, huge_reference_is_split_and_released_once)
{
	struct outq q = { 0 };
	struct rel r = { 0 };
	/* never dereferenced: only addresses are computed */
	const char *fake = (const char *)(uintptr_t)0x100000;
	size_t len = 3 * (size_t)0x40000000u + 5;
	outq_append_ref(&q, fake, len, release_cb, &r);
	cr_assert_eq(q.bytes, len);
	cr_assert_eq(count_segs(&q), 4);
	struct iovec iov[8];
	int n = outq_iov(&q, iov, 8);
	cr_assert_eq(n, 4);
	size_t sum = 0;
	for (int i = 0; i < n; i++) {
		cr_assert_eq(iov[i].iov_base, (void *)(fake + sum));
		sum += iov[i].iov_len;
	}
	cr_assert_eq(sum, len);
	outq_consume(&q, len - 1);
	cr_assert_eq(r.calls, 0, "released only when the last byte is sent");
	outq_consume(&q, 1);
	cr_assert_eq(r.calls, 1);
	cr_assert_eq(q.bytes, 0);
	/* clearing part-way releases once too */
	struct rel r2 = { 0 };
	outq_append_ref(&q, fake, 2 * (size_t)0x40000000u + 1, release_cb, &r2);
	outq_consume(&q, 0x40000000u);
	outq_clear(&q);
	cr_assert_eq(r2.calls, 1);
}

Test(outq, chunk_cache_reuse_and_free)
{
	struct outq q = { 0 };
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 300; i++)
			outq_puts(&q, "0123456789012345678901234567890123456789");
		size_t n;
		char *s = drain_copy(&q, &n);
		cr_assert_eq(n, 300 * 40);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(s[i], '0' + (char)(i % 10));
		free(s);
		outq_consume(&q, q.bytes);
		cr_assert_null(q.head);
	}
	outq_cache_free();
	outq_puts(&q, "after");
	cr_assert_eq(q.bytes, 5);
	outq_clear(&q);
}

Test(outq, many_queues_interleaved)
{
	struct outq a = { 0 }, b = { 0 };
	for (int i = 0; i < 2000; i++) {
		outq_printf(&a, "a%d,", i);
		outq_printf(&b, "b%d,", i);
		if (i % 100 == 99) {
			outq_consume(&a, a.bytes / 2);
			outq_clear(&b);
		}
	}
	size_t n;
	char *s = drain_copy(&a, &n);
	cr_assert_eq(n, a.bytes);
	cr_assert_eq(memcmp(s + n - 6, "a1999,", 6), 0);
	free(s);
	outq_clear(&a);
	outq_clear(&b);
}
