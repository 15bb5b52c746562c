/* Unit tests for sequence-set parsing, merging and membership. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "imap/seqset.h"

static struct arena a;

static void setup(void)
{
	arena_init(&a, 1024);
}

static void teardown(void)
{
	arena_free(&a);
}

TestSuite(seqset, .init = setup, .fini = teardown);

/* Parse and render as "lo-hi,lo-hi" for comparison. */
static const char *ranges(const char *s, uint32_t star)
{
	struct seqset set;
	const char *err = NULL;
	if (seqset_parse(&a, s, star, &set, &err) < 0) {
		cr_assert_not_null(err);
		return "ERROR";
	}
	cr_assert_gt(set.n, 0);
	static char out[4096];
	size_t o = 0;
	out[0] = '\0';
	for (unsigned i = 0; i < set.n && o < sizeof(out) - 32; i++) {
		cr_assert_leq(set.r[i].lo, set.r[i].hi);
		if (i > 0) {
			/* sorted, and neither overlapping nor adjacent */
			cr_assert_gt((uint64_t)set.r[i].lo, (uint64_t)set.r[i - 1].hi + 1);
		}
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%u-%u", i ? "," : "",
				      set.r[i].lo, set.r[i].hi);
	}
	return out;
}

#define R(s, star, exp) cr_assert_str_eq(ranges((s), (star)), (exp), "input \"%s\"", (s))

Test(seqset, single_numbers_and_ranges)
{
	R("1", 10, "1-1");
	R("1:5", 10, "1-5");
	R("5:1", 10, "1-5");
	R("7:7", 10, "7-7");
	R("1,3,5", 10, "1-1,3-3,5-5");
	R("10", 3, "10-10");
	R("4294967295", 1, "4294967295-4294967295");
}

Test(seqset, star)
{
	R("*", 10, "10-10");
	R("1:*", 10, "1-10");
	R("*:1", 10, "1-10");
	R("*:*", 10, "10-10");
	R("20:*", 10, "10-20");
	R("3,*", 10, "3-3,10-10");
	R("*,3", 10, "3-3,10-10");
	R("1:*", 4294967295u, "1-4294967295");
}

Test(seqset, merging)
{
	R("1:5,3:8", 10, "1-8");
	R("1:3,4:6", 10, "1-6");
	R("1,2,3,4", 10, "1-4");
	R("5,4,3,2,1", 10, "1-5");
	R("1:10,2:3", 10, "1-10");
	R("3:4,1:2,8,6", 10, "1-4,6-6,8-8");
	R("1,1,1", 10, "1-1");
	R("1:3,5:7", 10, "1-3,5-7");
	R("2:3,1:*", 5, "1-5");
	/* adjacency at the top of the range must not overflow */
	R("4294967295,1:4294967294", 1, "1-4294967295");
	R("4294967295,4294967295", 1, "4294967295-4294967295");
	R("4294967294:4294967295,1", 1, "1-1,4294967294-4294967295");
}

Test(seqset, full_range_is_one_entry)
{
	struct seqset set;
	const char *err;
	cr_assert_eq(seqset_parse(&a, "1:4294967295", 5, &set, &err), 1);
	cr_assert_eq(set.n, 1);
	cr_assert_eq(seqset_count(&set), 4294967295ULL);
	cr_assert(seqset_contains(&set, 1));
	cr_assert(seqset_contains(&set, 4294967295u));
	cr_assert(seqset_contains(&set, 2147483648u));
	cr_assert(!seqset_contains(&set, 0));
}

Test(seqset, errors)
{
	static const char *bad[] = {
		"0", "0:5", "5:0", "", "1:", ":1", ",1", "1,", "1,,2", "4294967296",
		"99999999999999999999999", "01", "1:01", "a", "1 ", " 1", "-1", "1:2:3",
		"**", "1*", "*1", "1.5", "+1", "1,*,", "1:2,", "1;2",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seqset set;
		const char *err = NULL;
		cr_assert_eq(seqset_parse(&a, bad[i], 10, &set, &err), -1, "\"%s\" accepted",
			     bad[i]);
		cr_assert_str_eq(err, "Invalid sequence set");
	}
	/* numbers with inner zeros are fine */
	R("10", 1, "10-10");
	R("100:2000", 1, "100-2000");
}

Test(seqset, contains_at_boundaries)
{
	struct seqset set;
	const char *err;
	cr_assert_eq(seqset_parse(&a, "3:5,10,20:30", 100, &set, &err), 1);
	static const struct {
		uint32_t v;
		bool in;
	} cases[] = {
		{ 0, false }, { 2, false }, { 3, true }, { 4, true }, { 5, true }, { 6, false },
		{ 9, false }, { 10, true }, { 11, false }, { 19, false }, { 20, true },
		{ 30, true }, { 31, false }, { 4294967295u, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(seqset_contains(&set, cases[i].v), cases[i].in, "v=%u", cases[i].v);
	cr_assert_eq(seqset_count(&set), 3 + 1 + 11);
}

Test(seqset, count)
{
	struct seqset set;
	const char *err;
	cr_assert_eq(seqset_parse(&a, "1:3,5,7:*", 9, &set, &err), 1);
	cr_assert_eq(seqset_count(&set), 3 + 1 + 3);
	cr_assert_eq(seqset_parse(&a, "*", 1, &set, &err), 1);
	cr_assert_eq(seqset_count(&set), 1);
}

/* Many ranges against a bitmap reference. */
Test(seqset, random_against_reference)
{
	unsigned seed = 7;
	enum { MAXV = 300 };
	for (int round = 0; round < 500; round++) {
		bool ref[MAXV + 2] = { false };
		char s[4096];
		size_t o = 0;
		int n = 1 + (int)(seed % 20);
		uint32_t star = 1 + (seed >> 8) % MAXV;
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			uint32_t lo = 1 + (seed >> 16) % MAXV;
			seed = seed * 1103515245u + 12345u;
			uint32_t hi = 1 + (seed >> 16) % MAXV;
			bool lo_star = (seed >> 5) % 10 == 0, hi_star = (seed >> 9) % 10 == 0;
			bool single = (seed >> 13) % 3 == 0;
			if (lo_star)
				lo = star;
			if (hi_star)
				hi = star;
			char lo_s[16], hi_s[16];
			snprintf(lo_s, sizeof(lo_s), "%u", lo);
			snprintf(hi_s, sizeof(hi_s), "%u", hi);
			o += (size_t)snprintf(s + o, sizeof(s) - o, "%s%s", i ? "," : "",
					      lo_star ? "*" : lo_s);
			if (single) {
				hi = lo;
			} else {
				o += (size_t)snprintf(s + o, sizeof(s) - o, ":%s",
						      hi_star ? "*" : hi_s);
			}
			for (uint32_t v = lo < hi ? lo : hi; v <= (lo < hi ? hi : lo); v++)
				ref[v] = true;
		}
		struct seqset set;
		const char *err;
		cr_assert_eq(seqset_parse(&a, s, star, &set, &err), 1, "\"%s\"", s);
		uint64_t count = 0;
		for (uint32_t v = 0; v <= MAXV + 1; v++) {
			cr_assert_eq(seqset_contains(&set, v), ref[v], "\"%s\" v=%u", s, v);
			count += ref[v];
		}
		cr_assert_eq(seqset_count(&set), count, "\"%s\"", s);
		for (unsigned i = 1; i < set.n; i++)
			cr_assert_gt((uint64_t)set.r[i].lo, (uint64_t)set.r[i - 1].hi + 1);
		arena_reset(&a);
	}
}

Test(seqset, many_ranges)
{
	size_t n = 20000;
	char *s = malloc(n * 12);
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(s + o, "%s%zu", i ? "," : "", (n - i) * 2);
	struct seqset set;
	const char *err;
	cr_assert_eq(seqset_parse(&a, s, 1, &set, &err), 1);
	cr_assert_eq(set.n, n);
	cr_assert_eq(set.r[0].lo, 2);
	cr_assert_eq(set.r[n - 1].hi, n * 2);
	for (uint32_t v = 0; v <= n * 2 + 1; v++)
		cr_assert_eq(seqset_contains(&set, v), v > 0 && v % 2 == 0);
	free(s);
}

/* seqset_writer: ascending numbers become "a:b" runs; 0 flushes the last run. */
static const char *written(const uint32_t *v, size_t n, struct seqset_writer *w)
{
	for (size_t i = 0; i < n; i++)
		seqset_writer_add(w, v[i]);
	seqset_writer_add(w, 0);
	buf_append(&w->text, "", 1);
	return (const char *)w->text.data;
}

Test(seqset, writer_runs)
{
	static const uint32_t v[] = { 1, 2, 3, 5, 7, 8, 4294967294u, 4294967295u };
	struct seqset_writer w = { 0 };
	cr_assert_str_eq(written(v, 8, &w), "1:3,5,7:8,4294967294:4294967295");
	buf_free(&w.text);
	struct seqset_writer one = { 0 };
	cr_assert_str_eq(written(v + 3, 1, &one), "5");
	buf_free(&one.text);
}

Test(seqset, writer_empty)
{
	struct seqset_writer w = { 0 };
	seqset_writer_add(&w, 0);
	cr_assert_eq(w.text.len, 0, "nothing added: no text");
	buf_free(&w.text);
}

Test(seqset, writer_round_trip)
{
	/* what the writer prints, the parser reads back as the same numbers */
	struct seqset_writer w = { 0 };
	uint32_t v[200];
	size_t n = 0;
	for (uint32_t x = 1; x < 600 && n < 200; x += 1 + (x * 7919u) % 5)
		v[n++] = x;
	const char *text = written(v, n, &w);
	struct seqset set;
	const char *err;
	cr_assert_eq(seqset_parse(&a, text, 1, &set, &err), 1);
	cr_assert_eq(seqset_count(&set), n);
	for (size_t i = 0; i < n; i++)
		cr_assert(seqset_contains(&set, v[i]));
	buf_free(&w.text);
}

/* RFC 9394 partial ranges: parse and map to positions. */
Test(seqset, partial_ranges)
{
	struct partial_range r;
	uint64_t first, last;
	cr_assert_eq(partial_range_parse("1:100", &r), 0);
	cr_assert(!r.from_end && r.lo == 1 && r.hi == 100);
	cr_assert_eq(partial_range_parse("500:400", &r), 0, "either order");
	cr_assert(r.lo == 400 && r.hi == 500);
	cr_assert_eq(partial_range_parse("-1:-10", &r), 0);
	cr_assert(r.from_end && r.lo == 1 && r.hi == 10);
	cr_assert_eq(partial_range_parse("4294967295:1", &r), 0);
	static const char *const bad[] = { "0:5", "1:0", "-1:5", "1:-5", "1:*", "1", "",
					   "1:2:3", "4294967296:1", "-0:-1", "01:2x", "1: 2" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(partial_range_parse(bad[i], &r), -1, "%s", bad[i]);

	partial_range_parse("3:5", &r);
	cr_assert(partial_range_positions(&r, 10, &first, &last));
	cr_assert(first == 3 && last == 5);
	cr_assert(partial_range_positions(&r, 4, &first, &last), "cut at the end");
	cr_assert(first == 3 && last == 4);
	cr_assert(!partial_range_positions(&r, 2, &first, &last), "past the end");
	cr_assert(!partial_range_positions(&r, 0, &first, &last));
	partial_range_parse("-1:-3", &r);
	cr_assert(partial_range_positions(&r, 10, &first, &last));
	cr_assert(first == 8 && last == 10, "the last three");
	partial_range_parse("-5:-30", &r);
	cr_assert(partial_range_positions(&r, 10, &first, &last));
	cr_assert(first == 1 && last == 6);
	cr_assert(!partial_range_positions(&r, 4, &first, &last), "-5 of 4 does not exist");
}
