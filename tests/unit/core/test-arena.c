/* Unit tests for the bump arena: alignment, block chaining, large buffers, reset reuse. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"

static int aligned16(const void *p)
{
	return ((uintptr_t)p & 15u) == 0;
}

Test(arena, init_minimum_block_size)
{
	struct arena a;
	arena_init(&a, 10);
	cr_assert_eq(a.block_size, 256);
	cr_assert_null(a.head);
	cr_assert_eq(a.total, 0);
	arena_init(&a, 4096);
	cr_assert_eq(a.block_size, 4096);
	arena_free(&a);
}

Test(arena, alignment_16_for_every_size)
{
	struct arena a;
	arena_init(&a, 1024);
	for (size_t n = 0; n < 700; n++) {
		unsigned char *p = arena_alloc(&a, n);
		cr_assert_not_null(p);
		cr_assert(aligned16(p), "size %zu gave %p", n, (void *)p);
		memset(p, 0xab, n);
	}
	/* odd sizes interleaved with big ones */
	for (size_t n = 1; n < 5000; n += 333) {
		cr_assert(aligned16(arena_alloc(&a, n)));
		cr_assert(aligned16(arena_alloc(&a, 3)));
	}
	arena_free(&a);
}

Test(arena, zero_size_allocations_are_distinct)
{
	struct arena a;
	arena_init(&a, 256);
	void *p = arena_alloc(&a, 0);
	void *q = arena_alloc(&a, 0);
	cr_assert_not_null(p);
	cr_assert_not_null(q);
	cr_assert_neq(p, q);
	arena_free(&a);
}

Test(arena, many_small_allocs_across_blocks_do_not_overlap)
{
	struct arena a;
	arena_init(&a, 256);
	enum { N = 2000, SZ = 24 };
	unsigned char **v = malloc(N * sizeof(*v));
	for (int i = 0; i < N; i++) {
		v[i] = arena_alloc(&a, SZ);
		cr_assert(aligned16(v[i]));
		memset(v[i], (unsigned char)i, SZ);
	}
	for (int i = 0; i < N; i++)
		for (int k = 0; k < SZ; k++)
			cr_assert_eq(v[i][k], (unsigned char)i, "alloc %d byte %d clobbered", i, k);
	/* 2000 * 32 bytes cannot fit in one 256-byte block */
	cr_assert_geq(a.total, (size_t)N * SZ);
	free(v);
	arena_free(&a);
	cr_assert_null(a.head);
	cr_assert_eq(a.total, 0);
}

Test(arena, large_alloc_keeps_current_block_serving_small_ones)
{
	struct arena a;
	arena_init(&a, 1024);
	unsigned char *s1 = arena_alloc(&a, 16);
	unsigned char *big = arena_alloc(&a, 100000);
	memset(big, 0x5a, 100000);
	unsigned char *s2 = arena_alloc(&a, 16);
	/* the big request got its own block; small ones continue in the first */
	cr_assert_eq(s2, s1 + 16);
	cr_assert(big + 100000 <= s1 || big >= s1 + 1024);
	cr_assert_eq(arena_alloc(&a, 900), s1 + 32);     /* still fits: 944 of 1024 used */
	unsigned char *big2 = arena_alloc(&a, 600);      /* > block_size / 2, does not fit */
	memset(big2, 1, 600);
	cr_assert(big2 + 600 <= s1 || big2 >= s1 + 1024);
	cr_assert_eq(arena_alloc(&a, 1), s1 + 944);
	cr_assert_eq(arena_alloc(&a, 64), s1 + 960, "the first block is filled up");
	for (size_t i = 0; i < 100000; i++)
		cr_assert_eq(big[i], 0x5a);
	arena_free(&a);
}

Test(arena, first_allocation_larger_than_block)
{
	struct arena a;
	arena_init(&a, 256);
	unsigned char *p = arena_alloc(&a, 5000);
	memset(p, 7, 5000);
	unsigned char *q = arena_alloc(&a, 10);
	memset(q, 8, 10);
	cr_assert_eq(p[4999], 7);
	arena_reset(&a);
	/* still usable after a reset that kept nothing */
	unsigned char *r = arena_alloc(&a, 10);
	memset(r, 9, 10);
	arena_free(&a);
}

Test(arena, reset_reuses_first_block)
{
	struct arena a;
	arena_init(&a, 512);
	void *first = arena_alloc(&a, 40);
	for (int i = 0; i < 100; i++)
		arena_alloc(&a, 100);        /* several more blocks */
	arena_alloc(&a, 10000);             /* and a big one */
	arena_alloc_large(&a, 50000);
	arena_reset(&a);
	cr_assert_eq(a.total, 0);
	cr_assert_null(a.large);
	cr_assert_not_null(a.head);
	void *again = arena_alloc(&a, 40);
	cr_assert_eq(again, first);
	arena_reset(&a);
	cr_assert_eq(arena_alloc(&a, 1), first);
	arena_free(&a);
	cr_assert_null(a.head);
}

Test(arena, total_counts_bytes_handed_out)
{
	struct arena a;
	arena_init(&a, 256);
	arena_alloc(&a, 1);
	cr_assert_eq(a.total, 16);
	arena_alloc(&a, 17);
	cr_assert_eq(a.total, 48);
	arena_alloc_large(&a, 1000);
	cr_assert_geq(a.total, 48 + 1000);
	arena_reset(&a);
	cr_assert_eq(a.total, 0);
	arena_free(&a);
}

Test(arena, zalloc_zeroes_reused_memory)
{
	struct arena a;
	arena_init(&a, 256);
	unsigned char *p = arena_alloc(&a, 200);
	memset(p, 0xff, 200);
	arena_reset(&a);
	unsigned char *z = arena_zalloc(&a, 200);
	cr_assert_eq(z, p);
	for (int i = 0; i < 200; i++)
		cr_assert_eq(z[i], 0);
	unsigned char *z2 = arena_zalloc(&a, 3000);
	for (int i = 0; i < 3000; i++)
		cr_assert_eq(z2[i], 0);
	cr_assert_not_null(arena_zalloc(&a, 0));
	arena_free(&a);
}

Test(arena, strndup_copies_n_bytes_and_terminates)
{
	struct arena a;
	arena_init(&a, 256);
	char *s = arena_strndup(&a, "hello world", 5);
	cr_assert_str_eq(s, "hello");
	char *e = arena_strndup(&a, "xyz", 0);
	cr_assert_str_eq(e, "");
	char bin[4] = { 'a', '\0', 'b', 'c' };
	char *b = arena_strndup(&a, bin, 4);
	cr_assert_eq(memcmp(b, bin, 4), 0);
	cr_assert_eq(b[4], '\0');
	char big[3000];
	memset(big, 'q', sizeof(big));
	char *l = arena_strndup(&a, big, sizeof(big));
	cr_assert_eq(strlen(l), sizeof(big));
	arena_free(&a);
}

Test(arena, printf_short_and_long)
{
	struct arena a;
	arena_init(&a, 256);
	char *s = arena_printf(&a, "%s-%d-%05u", "x", -42, 7u);
	cr_assert_str_eq(s, "x--42-00007");
	cr_assert_str_eq(arena_printf(&a, "%s", ""), "");
	char *l = arena_printf(&a, "%2000s|", "end");
	cr_assert_eq(strlen(l), 2001);
	cr_assert_eq(l[1996], ' ');
	cr_assert_str_eq(l + 1997, "end|");
	cr_assert(aligned16(l));
	arena_free(&a);
}

Test(arena, large_take_moves_ownership)
{
	struct arena a;
	arena_init(&a, 256);
	unsigned char *keep = arena_alloc_large(&a, 100000);
	unsigned char *drop = arena_alloc_large(&a, 5000);
	memset(keep, 0x33, 100000);
	memset(drop, 0x44, 5000);
	cr_assert_eq(arena_large_take(&a, keep), 0);
	/* a second take, a non-large pointer and a foreign pointer are refused */
	cr_assert_eq(arena_large_take(&a, keep), -1);
	cr_assert_eq(arena_large_take(&a, arena_alloc(&a, 8)), -1);
	int local;
	cr_assert_eq(arena_large_take(&a, &local), -1);
	arena_reset(&a);
	/* keep survived the reset (ASan would flag a use-after-free here) */
	for (size_t i = 0; i < 100000; i += 997)
		cr_assert_eq(keep[i], 0x33);
	arena_free(&a);
	cr_assert_eq(keep[99999], 0x33);
	free(keep);  /* the caller frees; ASan would flag a double free */
}

Test(arena, large_zero_size)
{
	struct arena a;
	arena_init(&a, 256);
	void *p = arena_alloc_large(&a, 0);
	cr_assert_not_null(p);
	arena_free(&a);
}

Test(arena, free_then_reuse)
{
	struct arena a;
	arena_init(&a, 256);
	arena_alloc(&a, 100);
	arena_alloc_large(&a, 100);
	arena_free(&a);
	cr_assert_null(a.head);
	cr_assert_null(a.large);
	char *s = arena_strndup(&a, "again", 5);
	cr_assert_str_eq(s, "again");
	arena_free(&a);
	arena_free(&a); /* idempotent */
}

/* Contract: "Never returns NULL (aborts on out-of-memory)". A request that cannot be
   satisfied must abort, not hand out a short block: (n + 15) & ~15 wraps around to 0
   in arena_alloc() for n > SIZE_MAX - 15 (and sizeof(block) + need wraps for slightly
   smaller n), so a tiny block is returned for a huge request. */
Test(arena, huge_request_aborts, .signal = SIGABRT)
{
	struct arena a;
	arena_init(&a, 256);
	void *p = arena_alloc(&a, SIZE_MAX);
	(void)p;
	arena_free(&a);
}
