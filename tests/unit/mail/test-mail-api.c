/* The src/mail API: blob caching, addresses, section specs, header filtering, SEARCH. */
#include "mail-check.h"

#include "mail/charset.h"
#include "uimap/store.h"

static void fini(void)
{
	outq_cache_free();
}

TestSuite(api, .fini = fini);

static char *envelope_of(const char *m)
{
	struct mail_structure *s = mail_structure_parse(m, strlen(m));
	struct outq q = { 0 };
	size_t n;

	mail_envelope_write(&q, m, s, 0);
	mail_structure_free(&s);
	return outq_take(&q, &n);
}

Test(api, blob_cache_shared_and_freed)
{
	const char m[] = "Subject: x\r\n\r\nbody\r\n";
	struct uimap_blob *blob = uimap_blob_new_copy(m, sizeof(m) - 1);
	struct uimap_blob *copy = uimap_blob_ref(blob);
	const struct mail_structure *s1 = mail_structure_get(blob);
	const struct mail_structure *s2 = mail_structure_get(copy);

	cr_assert_not_null(s1);
	cr_assert_eq(s1, s2, "copies share one structure");
	cr_assert_eq(blob->ext_, s1);
	cr_assert_not_null(blob->ext_free_);
	uimap_blob_unref(&copy);
	uimap_blob_unref(&blob); /* frees the structure (checked under ASan/valgrind) */
	cr_assert_null(blob);
}

Test(api, envelope_quotes_and_backslashes)
{
	char *e = envelope_of("From: \"A \\\"B\\\" C\" <a@b>\r\nSubject: q\"\\\r\n\r\n");

	/* names with quotes go out as literals, never as broken quoted strings */
	cr_assert_str_eq(e, "(NIL {3}\r\nq\"\\ (({7}\r\nA \"B\" C NIL \"a\" \"b\")) (({7}\r\nA \"B\" C NIL "
			    "\"a\" \"b\")) (({7}\r\nA \"B\" C NIL \"a\" \"b\")) NIL NIL NIL NIL NIL)");
	free(e);
	e = envelope_of("Message-ID: <\"a\\\\b\"@x>\r\n\r\n");
	cr_assert_str_eq(e, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL \"<\\\"a\\\\\\\\b\\\"@x>\")");
	free(e);
}

Test(api, envelope_defaults_and_groups)
{
	char *e = envelope_of("From: a@b\r\nSender: \r\nTo: g: x@y;\r\nBcc: (only comment)\r\n\r\n");

	cr_assert_str_eq(e, "(NIL NIL ((NIL NIL \"a\" \"b\")) ((NIL NIL \"a\" \"b\")) "
			    "((NIL NIL \"a\" \"b\")) ((NIL NIL \"g\" NIL)(NIL NIL \"x\" \"y\")"
			    "(NIL NIL NIL NIL)) NIL NIL NIL NIL)");
	free(e);
	e = envelope_of("");
	cr_assert_str_eq(e, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	free(e);
}

Test(api, address_parse)
{
	struct mail_address_list l = { 0 };
	const char v[] = "\"Doe, J\" <@r1,@r2:j@d.example>, broken <x@, x@y";

	mail_address_parse(&l, v, sizeof(v) - 1);
	cr_assert_geq(l.n, 2);
	cr_assert_str_eq(mail_address_str(&l, l.addrs[0].name), "Doe, J");
	cr_assert_str_eq(mail_address_str(&l, l.addrs[0].route), "@r1,@r2");
	cr_assert_str_eq(mail_address_str(&l, l.addrs[0].mailbox), "j");
	cr_assert_str_eq(mail_address_str(&l, l.addrs[0].domain), "d.example");
	mail_address_list_free(&l);
}

static void section_ok(const char *spec, enum mail_section_kind kind, uint32_t n_parts)
{
	struct mail_section sec;
	const char *err = NULL;

	cr_assert_eq(mail_section_parse(spec, strlen(spec), &sec, &err), 1, "%s: %s", spec, err);
	cr_assert_eq(sec.kind, kind, "%s", spec);
	cr_assert_eq(sec.n_parts, n_parts, "%s", spec);
}

static void section_bad(const char *spec)
{
	struct mail_section sec;
	const char *err = NULL;

	cr_assert_eq(mail_section_parse(spec, strlen(spec), &sec, &err), -1, "%s", spec);
	cr_assert_not_null(err);
}

Test(api, section_parse)
{
	struct mail_section sec;
	const char *err;
	const char spec[] = "1.2.header.fields (From \"X-A\\\"b\" to)";

	section_ok("", MAIL_SECTION_ALL, 0);
	section_ok("1", MAIL_SECTION_ALL, 1);
	section_ok("2.1.3", MAIL_SECTION_ALL, 3);
	section_ok("1.MIME", MAIL_SECTION_MIME, 1);
	section_ok("2.HEADER", MAIL_SECTION_HEADER, 1);
	section_ok("text", MAIL_SECTION_TEXT, 0);
	section_ok("HEADER.FIELDS.NOT (Received)", MAIL_SECTION_HEADER_FIELDS_NOT, 0);
	cr_assert_eq(mail_section_parse(spec, sizeof(spec) - 1, &sec, &err), 1);
	cr_assert_eq(sec.kind, MAIL_SECTION_HEADER_FIELDS);
	cr_assert_eq(sec.n_fields, 3);
	cr_assert_eq(sec.field_len[1], 5);
	cr_assert_eq(memcmp(sec.names + sec.field_off[1], "X-A\"b", 5), 0);
	section_bad("MIME");
	section_bad("0");
	section_bad("1.");
	section_bad("1..2");
	section_bad("1.FOO");
	section_bad("HEADER.FIELDS");
	section_bad("HEADER.FIELDS ()");
	section_bad("HEADER.FIELDS (a");
	section_bad("HEADER.FIELDS (a) x");
	section_bad("TEXT.MIME");
	section_bad("99999999999.1");
}

Test(api, header_filter_lf_and_folding)
{
	const char m[] = "From: a@b\nSubject: one\n\ttwo\nTo: c@d\n\nbody\n";
	struct mail_structure *s = mail_structure_parse(m, sizeof(m) - 1);
	struct mail_section sec;
	struct mail_section_result res;
	const char *err;
	struct arena a;
	size_t n;

	arena_init(&a, 1024);
	cr_assert_eq(mail_section_parse("HEADER.FIELDS (subject TO)", 26, &sec, &err), 1);
	mail_section_resolve(s, &sec, &res);
	cr_assert_eq(res.kind, MAIL_SECTION_FILTER);
	char *f = mail_section_filter(&a, m, &res, &sec, &n);

	cr_assert_eq(n, 31);
	cr_assert_eq(memcmp(f, "Subject: one\r\n\ttwo\r\nTo: c@d\r\n\r\n", 31), 0, "%.*s", (int)n, f);
	cr_assert_eq(mail_section_parse("TEXT", 4, &sec, &err), 1);
	mail_section_resolve(s, &sec, &res);
	cr_assert_eq(res.kind, MAIL_SECTION_SLICE);
	cr_assert_eq(res.len, 5);
	cr_assert_eq(memcmp(m + res.off, "body\n", 5), 0);
	arena_free(&a);
	mail_structure_free(&s);
}

static bool search(const char *m, enum mail_search_scope scope, const char *name,
		   const char *needle)
{
	struct uimap_blob *blob = uimap_blob_new_copy(m, strlen(m));
	const struct mail_structure *s = mail_structure_get(blob);
	bool r = mail_search_text(blob, s, scope, name, needle);

	uimap_blob_unref(&blob);
	return r;
}

#define MULTI \
	"Subject: =?iso-8859-1?q?Caf=E9?= =?utf-8?b?IGfDvG50ZXI=?=\r\n" \
	"From: =?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <j@x>\r\n" \
	"Content-Type: multipart/mixed; boundary=b\r\n\r\n" \
	"--b\r\nContent-Type: text/plain; charset=utf-8\r\n" \
	"Content-Transfer-Encoding: quoted-printable\r\n\r\nna=C3=AFve soft=\r\nbreak\r\n" \
	"--b\r\nContent-Type: text/html; charset=iso-8859-1\r\n" \
	"Content-Transfer-Encoding: base64\r\n\r\nPGI+U+npYW5jZTwvYj4=\r\n" \
	"--b\r\nContent-Type: text/plain; charset=windows-1252\r\n\r\nprice \x80 5 \x93ok\x94\r\n" \
	"--b\r\nContent-Type: application/octet-stream\r\n\r\nhidden-binary-text\r\n" \
	"--b--\r\n"

Test(api, search_body_decoding)
{
	cr_assert(search(MULTI, MAIL_SEARCH_BODY, NULL, "NAÏVE"));
	cr_assert(search(MULTI, MAIL_SEARCH_BODY, NULL, "softbreak"));
	/* base64 + latin-1: "<b>Sééance</b>" */
	cr_assert(search(MULTI, MAIL_SEARCH_BODY, NULL, "séé"));
	cr_assert(search(MULTI, MAIL_SEARCH_BODY, NULL, "SÉÉANCE"));
	cr_assert(search(MULTI, MAIL_SEARCH_BODY, NULL, "price € 5 “ok”"));
	cr_assert(!search(MULTI, MAIL_SEARCH_BODY, NULL, "hidden-binary"));
	cr_assert(!search(MULTI, MAIL_SEARCH_BODY, NULL, "Müller"));
	cr_assert(search(MULTI, MAIL_SEARCH_BODY, NULL, ""));
}

Test(api, search_headers)
{
	cr_assert(search(MULTI, MAIL_SEARCH_HEADER, "subject", "café günter"));
	cr_assert(search(MULTI, MAIL_SEARCH_HEADER, "From", "JÖRG müller"));
	cr_assert(search(MULTI, MAIL_SEARCH_HEADER, "from", "<J@X>"));
	cr_assert(!search(MULTI, MAIL_SEARCH_HEADER, "To", "j"));
	cr_assert(search(MULTI, MAIL_SEARCH_HEADER, "Content-Type", ""));
	cr_assert(!search(MULTI, MAIL_SEARCH_HEADER, "X-Missing", ""));
	cr_assert(search(MULTI, MAIL_SEARCH_TEXT, NULL, "jörg"));
	cr_assert(search(MULTI, MAIL_SEARCH_TEXT, NULL, "naïve"));
	cr_assert(!search(MULTI, MAIL_SEARCH_TEXT, NULL, "absent"));
}

Test(api, decoders)
{
	struct buf b = { 0 };

	mail_rfc2047_decode(&b, "a =?x-unknown?q?=41?= =?utf-8?q?_b?= c =?bad", 44);
	cr_assert_eq(b.len, 13);
	cr_assert_eq(memcmp(b.data, "a A b c =?bad", 13), 0, "%.*s", (int)b.len, b.data);
	b.len = 0;
	mail_qp_decode(&b, "x=3Dy=\r\nz=ZZ=", 13, false);
	cr_assert_eq(b.len, 7);
	cr_assert_eq(memcmp(b.data, "x=yz=ZZ", 7), 0);
	b.len = 0;
	mail_base64_decode(&b, "aGVs\r\nbG8=junk", 14);
	cr_assert_eq(b.len, 5);
	cr_assert_eq(memcmp(b.data, "hello", 5), 0);
	buf_free(&b);
}
