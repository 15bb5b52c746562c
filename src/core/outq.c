/* Output queue of text chunks and external references, with a chunk free list. */
#include "core/outq.h"
#include "core/alloc.h"
#include "core/common.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Two chunk sizes: a reply that starts a queue (or follows a reference) and fits
   gets a small chunk, so the untagged line pushed to each of 15,000 idlers costs
   512 bytes, not 4 KiB; text that goes on fills 4 KiB chunks. */
#define CHUNK_SIZE 4096u
#define SMALL_SIZE 512u
#define CHUNK_CAP (CHUNK_SIZE - (uint32_t)sizeof(struct outseg))
#define SMALL_CAP (SMALL_SIZE - (uint32_t)sizeof(struct outseg))

/* free lists per size, per thread: each server runs on one thread, and two
   servers may run in two */
static const unsigned cache_max[2] = { 1024, 64 };
static __thread struct outseg *chunk_cache[2];
static __thread unsigned chunk_cache_n[2];


static struct outseg *chunk_new(bool small)
{
	struct outseg *s = chunk_cache[!small];
	if (s != NULL) {
		chunk_cache[!small] = s->next;
		chunk_cache_n[!small]--;
	} else {
		s = xmalloc(small ? SMALL_SIZE : CHUNK_SIZE);
	}
	s->next = NULL;
	s->ptr = s->text;
	s->len = s->off = 0;
	s->cap = small ? SMALL_CAP : CHUNK_CAP;
	s->release = NULL;
	s->ctx = NULL;
	return s;
}

static void seg_free(struct outseg *s)
{
	if (s->cap == 0) {
		if (s->release != NULL)
			s->release(s->ctx);
		free(s);
	} else if (chunk_cache_n[s->cap == CHUNK_CAP] < cache_max[s->cap == CHUNK_CAP]) {
		unsigned k = s->cap == CHUNK_CAP;
		s->next = chunk_cache[k];
		chunk_cache[k] = s;
		chunk_cache_n[k]++;
	} else {
		free(s);
	}
}

static void link_tail(struct outq *q, struct outseg *s)
{
	if (q->tail != NULL)
		q->tail->next = s;
	else
		q->head = s;
	q->tail = s;
}

void outq_append(struct outq *q, const void *data, size_t n)
{
	const char *p = data;
	q->bytes += n;
	while (n > 0) {
		struct outseg *t = q->tail;
		if (t == NULL || t->cap == 0 || t->len == t->cap) {
			t = chunk_new((t == NULL || t->cap == 0) && n <= SMALL_CAP);
			link_tail(q, t);
		}
		size_t k = MIN(n, (size_t)(t->cap - t->len));
		memcpy(t->text + t->len, p, k);
		t->len += (uint32_t)k;
		p += k;
		n -= k;
	}
}

void outq_puts(struct outq *q, const char *s)
{
	outq_append(q, s, strlen(s));
}

void outq_printf(struct outq *q, const char *fmt, ...)
{
	char small[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		outq_append(q, small, (size_t)n);
		return;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	outq_append(q, big, (size_t)n);
	free(big);
}

void outq_append_ref(struct outq *q, const void *ptr, size_t len, void (*release)(void *ctx),
		     void *ctx)
{
	/* segments hold 32-bit lengths: split huge references */
	while (len > 0x40000000u) {
		outq_append_ref(q, ptr, 0x40000000u, NULL, NULL);
		ptr = (const char *)ptr + 0x40000000u;
		len -= 0x40000000u;
	}
	struct outseg *s = xmalloc(sizeof(*s));
	s->next = NULL;
	s->ptr = ptr;
	s->len = (uint32_t)len;
	s->off = 0;
	s->cap = 0;
	s->release = release;
	s->ctx = ctx;
	link_tail(q, s);
	q->bytes += len;
}

void *outq_reserve(struct outq *q, size_t *avail_r)
{
	struct outseg *t = q->tail;
	if (t == NULL || t->cap == 0 || t->len == t->cap) {
		t = chunk_new(false);
		link_tail(q, t);
	}
	*avail_r = t->cap - t->len;
	return t->text + t->len;
}

void outq_commit(struct outq *q, size_t n)
{
	q->tail->len += (uint32_t)n;
	q->bytes += n;
}

int outq_iov(const struct outq *q, struct iovec *iov, int max)
{
	int n = 0;
	for (const struct outseg *s = q->head; s != NULL && n < max; s = s->next) {
		if (s->len == s->off)
			continue;
		iov[n].iov_base = (void *)(s->ptr + s->off);
		iov[n].iov_len = s->len - s->off;
		n++;
	}
	return n;
}

void outq_consume(struct outq *q, size_t n)
{
	q->bytes -= n;
	while (q->head != NULL) {
		struct outseg *s = q->head;
		size_t left = s->len - s->off;
		if (n < left) {
			s->off += (uint32_t)n;
			return;
		}
		n -= left;
		q->head = s->next;
		if (q->head == NULL)
			q->tail = NULL;
		seg_free(s);
	}
}

void outq_clear(struct outq *q)
{
	struct outseg *s = q->head;
	while (s != NULL) {
		struct outseg *next = s->next;
		seg_free(s);
		s = next;
	}
	q->head = q->tail = NULL;
	q->bytes = 0;
}

void outq_cache_free(void)
{
	for (unsigned k = 0; k < 2; k++) {
		while (chunk_cache[k] != NULL) {
			struct outseg *s = chunk_cache[k];
			chunk_cache[k] = s->next;
			free(s);
		}
		chunk_cache_n[k] = 0;
	}
}
