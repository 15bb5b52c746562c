/* Timers in a binary min-heap; the loop waits on the ring until the earliest one. */
#ifndef LOOP_TIMER_H
#define LOOP_TIMER_H

#include <stdint.h>

struct timer;
typedef void timer_cb(struct timer *t);

struct timer {
	uint64_t deadline_ms;  /* clock_ms() time */
	unsigned idx;          /* position in the heap + 1; 0 = not scheduled */
	timer_cb *cb;
};

struct timer_heap {
	struct timer **v;
	unsigned n, cap;
};

/* Schedule (or move) t to fire at deadline_ms with cb. */
void timer_set(struct timer_heap *h, struct timer *t, uint64_t deadline_ms, timer_cb *cb);

/* Unschedule t; harmless when it is not scheduled. */
void timer_cancel(struct timer_heap *h, struct timer *t);

/* Milliseconds until the earliest timer (0 if due), or -1 when there is none. */
int64_t timer_next_ms(const struct timer_heap *h, uint64_t now_ms);

/* Run every timer due at now_ms; callbacks may set or cancel timers. */
void timer_run(struct timer_heap *h, uint64_t now_ms);

/* Free the heap storage (timers themselves belong to their owners). */
void timer_heap_free(struct timer_heap *h);

#endif
