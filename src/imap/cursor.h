/* Long commands in slices: a cursor over sequence ranges, and a budget that says when
   a slice has used its share of the loop (time) or of the output queue. FETCH,
   SEARCH, STORE, COPY/MOVE and EXPUNGE walk their sets with these, so one command
   over a million messages never holds up other connections for more than a slice. */
#ifndef IMAP_CURSOR_H
#define IMAP_CURSOR_H

#include "imap/cmd.h"

#include <stdbool.h>
#include <stdint.h>

/* Milliseconds of loop time one slice may take. */
#ifndef SLICE_MS /* (a test build may slice at every message: -DSLICE_MS=0 -DSLICE_CHECK_EVERY=1) */
#define SLICE_MS 2
#endif
/* Items between clock reads. */
#ifndef SLICE_CHECK_EVERY
#define SLICE_CHECK_EVERY 256
#endif

struct range_cursor {
	const struct uimap_range *r;
	unsigned n, i;      /* ranges, the current one */
	uint32_t next;      /* next number in r[i] (0: its lo) */
};

/* Iterate the n sorted ranges r (valid while the cursor is used). */
void cursor_init(struct range_cursor *c, const struct uimap_range *r, unsigned n);

/* The next number, or false at the end. */
bool cursor_next(struct range_cursor *c, uint32_t *v_r);

/* How many numbers are left (for budgets and reports). */
uint64_t cursor_left(const struct range_cursor *c);

/* The budget of the slice being run. */
struct slice {
	uint64_t start_ms;
	unsigned items;
};

/* Start a slice now. */
void slice_begin(struct slice *sl);

/* After each item: CMD_WAIT_NONE to go on, CMD_WAIT_OUTPUT when the client has
   enough output queued (continue once it drained), CMD_WAIT_TURN when the slice's
   time is up (continue next loop turn): the caller passes it to cmd_block(). */
enum cmd_wait slice_check(struct slice *sl, struct session *s);

#endif
