/* Unit tests for the IMAP string writers: choice of atom, quoted string, literal or NIL. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/imapstr.h"
#include "core/outq.h"

static void fini(void)
{
	outq_cache_free();
}

TestSuite(imapstr, .fini = fini);

/* The queue's content, concatenated over its segments; the queue is cleared. */
static char *take(struct outq *q, size_t *len_r)
{
	size_t n = 0;
	for (const struct outseg *s = q->head; s != NULL; s = s->next)
		n += s->len - s->off;
	cr_assert_eq(n, q->bytes, "byte count matches the segments");
	char *out = malloc(n + 1);
	size_t o = 0;
	for (const struct outseg *s = q->head; s != NULL; s = s->next) {
		memcpy(out + o, s->ptr + s->off, s->len - s->off);
		o += s->len - s->off;
	}
	out[o] = '\0';
	outq_clear(q);
	*len_r = o;
	return out;
}

typedef void (*writer)(struct outq *, const char *, size_t);

static void check(writer w, const char *in, size_t len, const char *exp, size_t exp_len)
{
	struct outq q = { 0 };
	w(&q, in, len);
	size_t n;
	char *got = take(&q, &n);
	cr_assert_eq(n, exp_len, "for \"%.*s\": got %zu bytes \"%s\", want \"%s\"", (int)len, in,
		     n, got, exp);
	cr_assert_eq(memcmp(got, exp, n), 0, "for \"%.*s\": got \"%s\", want \"%s\"", (int)len,
		     in, got, exp);
	free(got);
}

#define CHECK(w, in, exp) check((w), (in), sizeof(in) - 1, (exp), sizeof(exp) - 1)

Test(imapstr, astring_atom)
{
	CHECK(imapstr_astring, "INBOX", "INBOX");
	CHECK(imapstr_astring, "a.b-c_d", "a.b-c_d");
	CHECK(imapstr_astring, "Sent[1]", "Sent[1]");
	CHECK(imapstr_astring, "x", "x");
	CHECK(imapstr_astring, "NILS", "NILS");
	CHECK(imapstr_astring, "NI", "NI");
}

Test(imapstr, astring_empty_is_quoted)
{
	CHECK(imapstr_astring, "", "\"\"");
}

Test(imapstr, astring_nil_is_quoted)
{
	CHECK(imapstr_astring, "NIL", "\"NIL\"");
	CHECK(imapstr_astring, "nil", "\"nil\"");
	CHECK(imapstr_astring, "NiL", "\"NiL\"");
}

Test(imapstr, astring_specials_are_quoted)
{
	CHECK(imapstr_astring, "a b", "\"a b\"");
	CHECK(imapstr_astring, "a(b", "\"a(b\"");
	CHECK(imapstr_astring, "a)b", "\"a)b\"");
	CHECK(imapstr_astring, "a{b", "\"a{b\"");
	CHECK(imapstr_astring, "%", "\"%\"");
	CHECK(imapstr_astring, "*", "\"*\"");
	CHECK(imapstr_astring, "a\tb", "\"a\tb\"");
	CHECK(imapstr_astring, "a\x7f", "\"a\x7f\"");
}

Test(imapstr, astring_escapes_quote_and_backslash)
{
	CHECK(imapstr_astring, "a\"b", "\"a\\\"b\"");
	CHECK(imapstr_astring, "a\\b", "\"a\\\\b\"");
	CHECK(imapstr_astring, "\"", "\"\\\"\"");
	CHECK(imapstr_astring, "\\", "\"\\\\\"");
	CHECK(imapstr_astring, "\\\"\\\"", "\"\\\\\\\"\\\\\\\"\"");
	CHECK(imapstr_astring, "\"start", "\"\\\"start\"");
	CHECK(imapstr_astring, "end\\", "\"end\\\\\"");
}

Test(imapstr, astring_8bit_is_literal)
{
	CHECK(imapstr_astring, "caf\xc3\xa9", "{5}\r\ncaf\xc3\xa9");
	CHECK(imapstr_astring, "\x80", "{1}\r\n\x80");
}

Test(imapstr, astring_cr_lf_nul_are_literal)
{
	CHECK(imapstr_astring, "a\r\nb", "{4}\r\na\r\nb");
	CHECK(imapstr_astring, "\n", "{1}\r\n\n");
	CHECK(imapstr_astring, "\r", "{1}\r\n\r");
	CHECK(imapstr_astring, "a\0b", "{3}\r\na\0b");
}

Test(imapstr, long_strings_are_literals)
{
	char s[1100];
	memset(s, 'x', sizeof(s));
	s[5] = ' '; /* not an atom */
	struct outq q = { 0 };
	size_t n;
	/* 1024 bytes still quoted */
	imapstr_astring(&q, s, 1024);
	char *got = take(&q, &n);
	cr_assert_eq(n, 1026);
	cr_assert_eq(got[0], '"');
	cr_assert_eq(got[1025], '"');
	cr_assert_eq(memcmp(got + 1, s, 1024), 0);
	free(got);
	/* 1025 bytes: literal */
	imapstr_astring(&q, s, 1025);
	got = take(&q, &n);
	cr_assert_eq(n, 8 + 1025);
	cr_assert_eq(memcmp(got, "{1025}\r\n", 8), 0);
	cr_assert_eq(memcmp(got + 8, s, 1025), 0);
	free(got);
	/* imapstr_string follows the same rule even for atom characters */
	memset(s, 'y', sizeof(s));
	imapstr_string(&q, s, 1100);
	got = take(&q, &n);
	cr_assert_eq(n, 8 + 1100);
	cr_assert_eq(memcmp(got, "{1100}\r\n", 8), 0);
	free(got);
	/* an astring made only of atom characters stays an atom at any length
	   (resp.h: "an atom when it is a non-empty atom other than NIL") */
	imapstr_astring(&q, s, 1100);
	got = take(&q, &n);
	cr_assert_eq(n, 1100);
	cr_assert_eq(memcmp(got, s, 1100), 0);
	free(got);
}

Test(imapstr, literal_longer_than_a_chunk)
{
	size_t len = 10000;
	char *s = malloc(len);
	for (size_t i = 0; i < len; i++)
		s[i] = (char)(0x80 | (i & 0x7f));
	struct outq q = { 0 };
	imapstr_nstring(&q, s, len);
	size_t n;
	char *got = take(&q, &n);
	cr_assert_eq(n, 9 + len);
	cr_assert_eq(memcmp(got, "{10000}\r\n", 9), 0);
	cr_assert_eq(memcmp(got + 9, s, len), 0);
	free(got);
	free(s);
}

Test(imapstr, string_is_always_quoted_or_literal)
{
	CHECK(imapstr_string, "INBOX", "\"INBOX\"");
	CHECK(imapstr_string, "", "\"\"");
	CHECK(imapstr_string, "NIL", "\"NIL\"");
	CHECK(imapstr_string, "a\"b", "\"a\\\"b\"");
	CHECK(imapstr_string, "\xff", "{1}\r\n\xff");
}

Test(imapstr, nstring)
{
	struct outq q = { 0 };
	imapstr_nstring(&q, NULL, 0);
	imapstr_nstring(&q, " ", 1);
	imapstr_nstring(&q, "", 0);
	imapstr_nstring(&q, "NIL", 3);
	imapstr_nstring(&q, NULL, 5);
	size_t n;
	char *got = take(&q, &n);
	cr_assert_str_eq(got, "NIL\" \"\"\"\"NIL\"NIL");
	free(got);
}

Test(imapstr, quoted_direct)
{
	CHECK(imapstr_quoted, "", "\"\"");
	CHECK(imapstr_quoted, "plain text", "\"plain text\"");
	CHECK(imapstr_quoted, "\"\"", "\"\\\"\\\"\"");
}

Test(imapstr, can_quote)
{
	cr_assert(imapstr_can_quote("", 0));
	cr_assert(imapstr_can_quote("a b\t\"\\", 6));
	cr_assert(!imapstr_can_quote("a\rb", 3));
	cr_assert(!imapstr_can_quote("a\nb", 3));
	cr_assert(!imapstr_can_quote("a\0b", 3));
	cr_assert(!imapstr_can_quote("\x80", 1));
	cr_assert(!imapstr_can_quote("\xff", 1));
	char s[1025];
	memset(s, 'a', sizeof(s));
	cr_assert(imapstr_can_quote(s, 1024));
	cr_assert(!imapstr_can_quote(s, 1025));
}

/* Whatever the input, the output read back by an IMAP client is the input. */
static size_t unparse(const char *out, size_t n, char *dst)
{
	if (n >= 3 && out[0] == '{') {
		char *end;
		size_t len = strtoul(out + 1, &end, 10);
		cr_assert_eq(end[0], '}');
		cr_assert_eq(end[1], '\r');
		cr_assert_eq(end[2], '\n');
		cr_assert_eq((size_t)(end + 3 - out) + len, n);
		memcpy(dst, end + 3, len);
		return len;
	}
	if (n >= 2 && out[0] == '"') {
		cr_assert_eq(out[n - 1], '"');
		size_t o = 0;
		for (size_t i = 1; i < n - 1; i++) {
			if (out[i] == '\\') {
				i++;
				cr_assert(out[i] == '\\' || out[i] == '"');
			} else {
				cr_assert(out[i] != '"', "unescaped quote");
			}
			dst[o++] = out[i];
		}
		return o;
	}
	cr_assert(!(n == 3 && strncasecmp(out, "NIL", 3) == 0), "bare NIL");
	cr_assert_gt(n, 0);
	memcpy(dst, out, n);
	return n;
}

Test(imapstr, astring_round_trip_random)
{
	static const char alphabet[] = "aZ09 \"\\()*%{]\r\n\x80\xff\tNIL";
	unsigned seed = 42;
	for (int round = 0; round < 3000; round++) {
		char s[40];
		seed = seed * 1103515245u + 12345u;
		size_t len = (seed >> 16) % 12;
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			s[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		struct outq q = { 0 };
		imapstr_astring(&q, s, len);
		size_t n;
		char *out = take(&q, &n);
		char back[64];
		size_t m = unparse(out, n, back);
		cr_assert_eq(m, len);
		cr_assert_eq(memcmp(back, s, len), 0);
		free(out);
	}
}
