/* Unit tests for the range cursor that long commands walk their sets with. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "imap/cursor.h"

/* Walk the whole cursor, checking cursor_left() before every step. */
static unsigned walk(const struct uimap_range *r, unsigned n, uint32_t *out, unsigned max)
{
	struct range_cursor c;
	uint32_t v;
	unsigned k = 0;
	cursor_init(&c, r, n);
	uint64_t left = cursor_left(&c);
	while (cursor_next(&c, &v)) {
		cr_assert_lt(k, max, "more numbers than expected");
		out[k++] = v;
		cr_assert_eq(cursor_left(&c), left - 1);
		left--;
	}
	cr_assert_eq(left, 0);
	cr_assert_not(cursor_next(&c, &v), "an ended cursor stays ended");
	return k;
}

Test(cursor, walks_sorted_ranges_in_order)
{
	const struct uimap_range r[] = { { 1, 3 }, { 7, 7 }, { 10, 12 } };
	uint32_t out[16];
	unsigned n = walk(r, 3, out, 16);
	const uint32_t want[] = { 1, 2, 3, 7, 10, 11, 12 };
	cr_assert_eq(n, 7);
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(out[i], want[i]);
}

Test(cursor, empty_set_and_empty_ranges)
{
	uint32_t out[4];
	cr_assert_eq(walk(NULL, 0, out, 4), 0);
	/* a 0 or an inverted range yields nothing, the next one still does */
	const struct uimap_range r[] = { { 0, 0 }, { 5, 4 }, { 9, 9 } };
	cr_assert_eq(walk(r, 3, out, 4), 1);
	cr_assert_eq(out[0], 9);
}

Test(cursor, ends_at_the_top_of_the_32_bit_space)
{
	const struct uimap_range r[] = { { UINT32_MAX - 2, UINT32_MAX } };
	uint32_t out[8];
	cr_assert_eq(walk(r, 1, out, 8), 3, "no wrap to 0 after 4294967295");
	cr_assert_eq(out[2], UINT32_MAX);
}

Test(cursor, counts_a_huge_set_without_walking_it)
{
	const struct uimap_range r[] = { { 1, UINT32_MAX } };
	struct range_cursor c;
	uint32_t v;
	cursor_init(&c, r, 1);
	cr_assert_eq(cursor_left(&c), (uint64_t)UINT32_MAX);
	cr_assert(cursor_next(&c, &v));
	cr_assert_eq(cursor_left(&c), (uint64_t)UINT32_MAX - 1);
}
