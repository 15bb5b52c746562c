/* Unit tests for the growable byte buffer. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

Test(buf, empty_append_allocates_nothing)
{
	struct buf b = { 0 };
	buf_append(&b, "x", 0);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	buf_free(&b);
}

Test(buf, append_grows_by_doubling)
{
	struct buf b = { 0 };
	buf_append(&b, "abc", 3);
	cr_assert_eq(b.len, 3);
	cr_assert_eq(b.cap, 256);
	cr_assert_eq(memcmp(b.data, "abc", 3), 0);
	char blk[300];
	memset(blk, 'z', sizeof(blk));
	buf_append(&b, blk, sizeof(blk));
	cr_assert_eq(b.len, 303);
	cr_assert_eq(b.cap, 512);
	cr_assert_eq(memcmp(b.data, "abczzz", 6), 0);
	cr_assert_eq(b.data[302], 'z');
	buf_free(&b);
}

Test(buf, one_big_append)
{
	struct buf b = { 0 };
	size_t n = 3u << 20;
	char *src = malloc(n);
	for (size_t i = 0; i < n; i++)
		src[i] = (char)(i * 7);
	buf_append(&b, src, n);
	cr_assert_eq(b.len, n);
	cr_assert_geq(b.cap, n);
	cr_assert_eq(memcmp(b.data, src, n), 0);
	free(src);
	buf_free(&b);
}

Test(buf, many_small_appends_keep_content)
{
	struct buf b = { 0 };
	for (int i = 0; i < 10000; i++) {
		char c = (char)('a' + i % 26);
		buf_append(&b, &c, 1);
	}
	cr_assert_eq(b.len, 10000);
	for (int i = 0; i < 10000; i++)
		cr_assert_eq(b.data[i], 'a' + i % 26);
	buf_free(&b);
}

Test(buf, consume_partial_moves_rest_to_front)
{
	struct buf b = { 0 };
	buf_append(&b, "hello world", 11);
	buf_consume(&b, 6);
	cr_assert_eq(b.len, 5);
	cr_assert_eq(memcmp(b.data, "world", 5), 0);
	buf_consume(&b, 0);
	cr_assert_eq(b.len, 5);
	buf_append(&b, "!", 1);
	cr_assert_eq(memcmp(b.data, "world!", 6), 0);
	buf_consume(&b, 6);
	cr_assert_eq(b.len, 0);
	cr_assert_not_null(b.data, "capacity is kept after consuming everything");
	buf_append(&b, "again", 5);
	cr_assert_eq(memcmp(b.data, "again", 5), 0);
	buf_free(&b);
}

Test(buf, consume_more_than_len_empties)
{
	struct buf b = { 0 };
	buf_append(&b, "abc", 3);
	buf_consume(&b, 100);
	cr_assert_eq(b.len, 0);
	buf_consume(&b, 1);
	cr_assert_eq(b.len, 0);
	buf_free(&b);
}

Test(buf, free_resets_and_buffer_is_reusable)
{
	struct buf b = { 0 };
	buf_append(&b, "abc", 3);
	buf_free(&b);
	cr_assert_null(b.data);
	cr_assert_eq(b.len, 0);
	cr_assert_eq(b.cap, 0);
	buf_free(&b);
	buf_append(&b, "xy", 2);
	cr_assert_eq(b.len, 2);
	cr_assert_eq(memcmp(b.data, "xy", 2), 0);
	buf_free(&b);
}

Test(buf, append_from_own_storage_after_consume)
{
	struct buf b = { 0 };
	buf_append(&b, "0123456789", 10);
	buf_consume(&b, 2);
	char tmp[8];
	memcpy(tmp, b.data, 8);
	buf_append(&b, tmp, 8);
	cr_assert_eq(b.len, 16);
	cr_assert_eq(memcmp(b.data, "2345678923456789", 16), 0);
	buf_free(&b);
}
