/* Binary min-heap of timers. */
#include "loop/timer.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>

static void swap_at(struct timer_heap *h, unsigned a, unsigned b)
{
	struct timer *t = h->v[a];
	h->v[a] = h->v[b];
	h->v[b] = t;
	h->v[a]->idx = a + 1;
	h->v[b]->idx = b + 1;
}

static void sift_up(struct timer_heap *h, unsigned i)
{
	while (i > 0) {
		unsigned p = (i - 1) / 2;
		if (h->v[p]->deadline_ms <= h->v[i]->deadline_ms)
			break;
		swap_at(h, i, p);
		i = p;
	}
}

static void sift_down(struct timer_heap *h, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && h->v[l]->deadline_ms < h->v[m]->deadline_ms)
			m = l;
		if (r < h->n && h->v[r]->deadline_ms < h->v[m]->deadline_ms)
			m = r;
		if (m == i)
			break;
		swap_at(h, i, m);
		i = m;
	}
}

void timer_cancel(struct timer_heap *h, struct timer *t)
{
	if (t->idx == 0)
		return;
	unsigned i = t->idx - 1;
	t->idx = 0;
	h->n--;
	if (i == h->n)
		return;
	h->v[i] = h->v[h->n];
	h->v[i]->idx = i + 1;
	sift_up(h, i);
	sift_down(h, h->v[i]->idx - 1);
}

void timer_set(struct timer_heap *h, struct timer *t, uint64_t deadline_ms, timer_cb *cb)
{
	timer_cancel(h, t);
	if (h->n == h->cap) {
		unsigned cap = h->cap ? h->cap * 2 : 64;
		struct timer **v = xrealloc(h->v, cap * sizeof(*v));
		h->v = v;
		h->cap = cap;
	}
	t->deadline_ms = deadline_ms;
	t->cb = cb;
	h->v[h->n] = t;
	t->idx = ++h->n;
	sift_up(h, h->n - 1);
}

int64_t timer_next_ms(const struct timer_heap *h, uint64_t now_ms)
{
	if (h->n == 0)
		return -1;
	uint64_t d = h->v[0]->deadline_ms;
	return d <= now_ms ? 0 : (int64_t)(d - now_ms);
}

void timer_run(struct timer_heap *h, uint64_t now_ms)
{
	while (h->n > 0 && h->v[0]->deadline_ms <= now_ms) {
		struct timer *t = h->v[0];
		timer_cancel(h, t);
		t->cb(t);
	}
}

void timer_heap_free(struct timer_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}
