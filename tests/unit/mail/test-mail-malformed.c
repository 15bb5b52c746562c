/* Malformed and hostile input: never a crash, a hang or an out-of-bounds offset;
   Dovecot-like fallbacks. Inputs are fed whole, truncated at every byte, and
   mutated at random (fixed seed). */
#include "mail-check.h"

static void fini(void)
{
	outq_cache_free();
}

TestSuite(malformed, .fini = fini);

static struct mail_structure *parse_ok(const char *data, size_t len, const char *what)
{
	struct mail_structure *s = mail_structure_parse(data, len);

	cr_assert_not_null(s, "%s", what);
	check_structure(data, len, s, what);
	return s;
}

#define PARSE(lit) parse_ok(lit, sizeof(lit) - 1, #lit)

static char *bodystructure(const char *data, const struct mail_structure *s)
{
	struct outq q = { 0 };
	size_t n;

	mail_bodystructure_write(&q, data, s, 0, true);
	return outq_take(&q, &n);
}

Test(malformed, empty_message)
{
	struct mail_structure *s = parse_ok("", 0, "empty");
	char *b = bodystructure("", s);

	cr_assert_str_eq(b, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 "
			    "NIL NIL NIL NIL)");
	free(b);
	mail_structure_free(&s);
}

/* Found by tests/fuzz/fuzz-mime (regressions/mime/disposition-comment-leak): a
   disposition token followed by an unterminated comment leaked the token's buffer
   (LeakSanitizer in the ASan layer). */
Test(malformed, disposition_unterminated_comment)
{
	const char m[] = "Content-Disposition: attachment (no end\r\n\r\nbody\r\n";
	struct mail_structure *s = PARSE(m);
	char *b = bodystructure(m, s);

	cr_assert_str_eq(b, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 "
			    "NIL NIL NIL NIL)");
	free(b);
	mail_structure_free(&s);
}

Test(malformed, only_headers_no_newline)
{
	const char m[] = "Subject: x";
	struct mail_structure *s = parse_ok(m, sizeof(m) - 1, "hdr");

	cr_assert_eq(s->parts[0].body_off, sizeof(m) - 1);
	cr_assert_eq(s->parts[0].body_end, sizeof(m) - 1);
	mail_structure_free(&s);
}

Test(malformed, bare_lf)
{
	const char m[] = "Subject: lf\nContent-Type: multipart/mixed; boundary=b\n\n"
			 "--b\nContent-Type: text/plain\n\nhi\nthere\n--b\n\nx\n--b--\n";
	struct mail_structure *s = parse_ok(m, sizeof(m) - 1, "lf");
	char *b = bodystructure(m, s);

	/* sizes are octets as stored (no CRLF conversion); lines count LFs */
	cr_assert_str_eq(b, "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 8 1 "
			    "NIL NIL NIL NIL)(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
			    "\"7bit\" 1 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)");
	free(b);
	mail_structure_free(&s);
}

Test(malformed, nul_and_8bit)
{
	const char m[] = "Subject: a\0b \xff\xfe\r\nFrom: \"N\0\xe9\" <a@b>\r\n\r\nbody\0with nul\r\n";
	struct mail_structure *s = parse_ok(m, sizeof(m) - 1, "nul");
	struct outq q = { 0 };
	size_t n;

	mail_envelope_write(&q, m, s, 0);
	char *e = outq_take(&q, &n);

	/* 8-bit and NUL go out as literals, NUL as 0x80 */
	cr_assert(memchr(e, '\0', n) == NULL);
	cr_assert(strstr(e, "{3}\r\nN\x80\xe9 NIL") != NULL, "%s", e);
	cr_assert(strstr(e, "{6}\r\na\x80" "b \xff\xfe") != NULL, "%s", e);
	free(e);
	mail_structure_free(&s);
}

Test(malformed, huge_header_line)
{
	size_t n = 4 << 20;
	char *m = malloc(n + 64);
	cr_assert_not_null(m);
	size_t len = (size_t)sprintf(m, "X-Long: ");

	/* a loop, not memset: GCC's bounds check misfires on it under UBSan */
	for (size_t i = 0; i < n; i++)
		m[len + i] = 'a';
	len += n;
	len += (size_t)sprintf(m + len, "\r\nSubject: s\r\n\r\nbody\r\n");
	struct mail_structure *s = parse_ok(m, len, "huge");

	cr_assert_eq(s->parts[0].body_end - s->parts[0].body_off, 6);
	mail_structure_free(&s);
	free(m);
}

static char *nested(unsigned levels, bool rfc822, size_t *len_r)
{
	struct buf b = { 0 };
	char line[128];

	for (unsigned i = 0; i < levels; i++) {
		int n = rfc822 ? snprintf(line, sizeof(line),
					  "Content-Type: message/rfc822\r\n\r\n")
			       : snprintf(line, sizeof(line),
					  "Content-Type: multipart/mixed; boundary=\"b%u.\"\r\n\r\n"
					  "--b%u.\r\n", i, i);

		buf_append(&b, line, (size_t)n);
	}
	buf_append(&b, "Content-Type: text/plain\r\n\r\ndeep\r\n", 35);
	for (unsigned i = levels; !rfc822 && i-- > 0;) {
		int n = snprintf(line, sizeof(line), "--b%u.--\r\n", i);

		buf_append(&b, line, (size_t)n);
	}
	*len_r = b.len;
	return b.data;
}

Test(malformed, absurd_multipart_nesting)
{
	size_t len = 0;
	char *m = nested(5000, false, &len);
	struct mail_structure *s = parse_ok(m, len, "nested multipart");

	cr_assert_leq(s->n_parts, MAIL_MAX_DEPTH + 1);
	mail_structure_free(&s);
	free(m);
}

Test(malformed, absurd_rfc822_nesting)
{
	size_t len = 0;
	char *m = nested(5000, true, &len);
	struct mail_structure *s = parse_ok(m, len, "nested rfc822");

	cr_assert_leq(s->n_parts, MAIL_MAX_DEPTH + 1);
	mail_structure_free(&s);
	free(m);
}

Test(malformed, too_many_parts)
{
	struct buf b = { 0 };
	const char head[] = "Content-Type: multipart/mixed; boundary=x\r\n\r\n";

	buf_append(&b, head, sizeof(head) - 1);
	for (int i = 0; i < 30000; i++)
		buf_append(&b, "--x\r\n\r\na\r\n", 11);
	buf_append(&b, "--x--\r\n", 7);
	struct mail_structure *s = parse_ok(b.data, b.len, "many parts");

	cr_assert_leq(s->n_parts, MAIL_MAX_PARTS);
	mail_structure_free(&s);
	buf_free(&b);
}

Test(malformed, long_boundary_truncated)
{
	char bnd[200];
	struct buf b = { 0 };
	char tmp[1024];

	memset(bnd, 'q', sizeof(bnd) - 1);
	bnd[sizeof(bnd) - 1] = '\0';
	int n = snprintf(tmp, sizeof(tmp),
			 "Content-Type: multipart/mixed; boundary=\"%s\"\r\n\r\n--%s\r\n\r\none\r\n"
			 "--%s--\r\n", bnd, bnd, bnd);

	buf_append(&b, tmp, (size_t)n);
	struct mail_structure *s = parse_ok(b.data, b.len, "long boundary");

	/* truncated to 70 bytes (as Dovecot): the closing line then prefix-matches as an
	   ordinary boundary, so a second, empty part follows */
	cr_assert_eq(s->n_parts, 3);
	mail_structure_free(&s);
	buf_free(&b);
}

Test(malformed, boundary_never_appears)
{
	struct mail_structure *s = PARSE("Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
					 "no parts here\r\n");

	cr_assert_eq(s->n_parts, 1);
	mail_structure_free(&s);
}

Test(malformed, unclosed_nested)
{
	struct mail_structure *s = PARSE(
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--a\r\n\r\ny");

	/* the outer boundary closes the inner multipart */
	cr_assert_eq(s->n_parts, 4);
	cr_assert_eq(s->parts[3].parent, 0);
	mail_structure_free(&s);
}

/* Every prefix of a nested message parses. */
Test(malformed, every_truncation)
{
	char path[512];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/x-multipart-nested.eml", MAIL_FIXTURES_DIR);
	char *m = file_read(path, &len);

	cr_assert_not_null(m);
	for (size_t i = 0; i <= len; i++) {
		char *copy = malloc(i + 1);

		memcpy(copy, m, i);
		struct mail_structure *s = parse_ok(copy, i, "prefix");

		mail_structure_free(&s);
		free(copy);
	}
	free(m);
}

/* Random byte mutations of every fixture (fixed seed: reproducible). */
Test(malformed, random_mutations, .timeout = 120)
{
	size_t n;
	char **names = fixture_names(&n);
	uint32_t seed = 12345;
	static const char alphabet[] = "-\r\n:;=\"\\()<>@,.\0\t /*\x80\xff" "aB0";

	for (size_t f = 0; f < n; f++) {
		char path[512];
		size_t len = 0;

		snprintf(path, sizeof(path), "%s/%s.eml", MAIL_FIXTURES_DIR, names[f]);
		char *m = file_read(path, &len);

		for (int round = 0; round < 40 && len > 0; round++) {
			char *copy = malloc(len);

			memcpy(copy, m, len);
			for (int k = 0; k < 8; k++) {
				seed = seed * 1103515245u + 12345u;
				size_t pos = (seed >> 8) % len;

				seed = seed * 1103515245u + 12345u;
				copy[pos] = alphabet[(seed >> 8) % (sizeof(alphabet) - 1)];
			}
			struct mail_structure *s = parse_ok(copy, len, names[f]);

			mail_structure_free(&s);
			free(copy);
		}
		free(m);
		free(names[f]);
	}
	free(names);
}
