/* Range cursors and slice budgets for long commands. */
#include "imap/cursor.h"
#include "imap/session.h"
#include "core/common.h"

void cursor_init(struct range_cursor *c, const struct uimap_range *r, unsigned n)
{
	*c = (struct range_cursor){ .r = r, .n = n };
}

bool cursor_next(struct range_cursor *c, uint32_t *v_r)
{
	while (c->i < c->n) {
		const struct uimap_range *r = &c->r[c->i];
		uint32_t v = c->next == 0 ? r->lo : c->next;
		if (v != 0 && v <= r->hi) {
			*v_r = v;
			/* the top of the 32-bit space ends its range */
			if (v == r->hi || v == UINT32_MAX) {
				c->i++;
				c->next = 0;
			} else {
				c->next = v + 1;
			}
			return true;
		}
		c->i++;
		c->next = 0;
	}
	return false;
}

uint64_t cursor_left(const struct range_cursor *c)
{
	uint64_t left = 0;
	for (unsigned i = c->i; i < c->n; i++) {
		uint32_t lo = i == c->i && c->next != 0 ? c->next : c->r[i].lo;
		if (lo != 0 && lo <= c->r[i].hi)
			left += (uint64_t)c->r[i].hi - lo + 1;
	}
	return left;
}

void slice_begin(struct slice *sl)
{
	sl->start_ms = clock_ms();
	sl->items = 0;
}

enum cmd_wait slice_check(struct slice *sl, struct session *s)
{
	if (session_output_full(s))
		return CMD_WAIT_OUTPUT;
	if (++sl->items % SLICE_CHECK_EVERY == 0 && clock_ms() - sl->start_ms >= SLICE_MS)
		return CMD_WAIT_TURN;
	return CMD_WAIT_NONE;
}
