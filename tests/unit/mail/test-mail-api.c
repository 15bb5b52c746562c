/* The src/mail API: blob caching, addresses, section specs, header filtering, SEARCH. */
#include "mail-check.h"

#include "core/blob.h"
#include "mail/charset.h"
#include "mail/rfc822.h"
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
	cr_assert_eq(blob_ext(blob), s1);
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

/* ---- Date: values (rfc822_date_parse) ---- */

struct date_case {
	const char *in;
	int y, mon, d, hh, mm, ss, tz;  /* mon 1-12; y 0 = must fail */
};

/* Real-world forms: RFC 5322 §3.3, the obsolete syntax of §4.3, old mail and spam. */
static const struct date_case date_cases[] = {
	{ "Wed, 01 Jan 2020 10:00:00 +0000", 2020, 1, 1, 10, 0, 0, 0 },
	{ "Mon, 7 Feb 1994 21:52:25 -0800", 1994, 2, 7, 21, 52, 25, -480 },
	{ "Mon, 7 Feb 1994 21:52:25 -0800 (PST)", 1994, 2, 7, 21, 52, 25, -480 },
	{ "7 Feb 1994 21:52:25 +0530", 1994, 2, 7, 21, 52, 25, 330 },            /* no day name */
	{ "Mon 7 Feb 1994 21:52:25 +0100", 1994, 2, 7, 21, 52, 25, 60 },         /* no comma */
	{ "Monday, 7 February 1994 21:52:25 +0100", 1994, 2, 7, 21, 52, 25, 60 }, /* in full */
	{ "Thurs, 6 Sept 2001 09:00:00 +0000", 2001, 9, 6, 9, 0, 0, 0 },
	{ "wed, 01 jan 2020 10:00:00 +0000", 2020, 1, 1, 10, 0, 0, 0 },          /* lower case */
	{ "WED, 01 JAN 2020 10:00:00 +0000", 2020, 1, 1, 10, 0, 0, 0 },
	{ "1 Jan 20 10:00:00 +0000", 2020, 1, 1, 10, 0, 0, 0 },                  /* 2-digit */
	{ "1 Jan 49 10:00:00 +0000", 2049, 1, 1, 10, 0, 0, 0 },
	{ "1 Jan 50 10:00:00 +0000", 1950, 1, 1, 10, 0, 0, 0 },
	{ "31 Dec 99 23:59:59 +0000", 1999, 12, 31, 23, 59, 59, 0 },
	{ "1 Jan 00 00:00:00 +0000", 2000, 1, 1, 0, 0, 0, 0 },
	{ "1 Jan 120 10:00:00 +0000", 2020, 1, 1, 10, 0, 0, 0 },                 /* 3-digit */
	{ "1 Jan 103 10:00:00 +0000", 2003, 1, 1, 10, 0, 0, 0 },
	{ "1 Jan 2020 10:00 +0000", 2020, 1, 1, 10, 0, 0, 0 },                   /* no seconds */
	{ "1 Jan 2020 9:05:01 +0000", 2020, 1, 1, 9, 5, 1, 0 },                  /* 1-digit hour */
	{ "1 Jan 2020 10:00:00", 2020, 1, 1, 10, 0, 0, 0 },                      /* no zone */
	{ "1 Jan 2020", 2020, 1, 1, 0, 0, 0, 0 },                                /* no time */
	{ "1 Jan 2020 10:00:00 UT", 2020, 1, 1, 10, 0, 0, 0 },
	{ "1 Jan 2020 10:00:00 GMT", 2020, 1, 1, 10, 0, 0, 0 },
	{ "1 Jan 2020 10:00:00 EST", 2020, 1, 1, 10, 0, 0, -300 },
	{ "1 Jan 2020 10:00:00 EDT", 2020, 1, 1, 10, 0, 0, -240 },
	{ "1 Jan 2020 10:00:00 CST", 2020, 1, 1, 10, 0, 0, -360 },
	{ "1 Jan 2020 10:00:00 CDT", 2020, 1, 1, 10, 0, 0, -300 },
	{ "1 Jan 2020 10:00:00 MST", 2020, 1, 1, 10, 0, 0, -420 },
	{ "1 Jan 2020 10:00:00 MDT", 2020, 1, 1, 10, 0, 0, -360 },
	{ "1 Jan 2020 10:00:00 pst", 2020, 1, 1, 10, 0, 0, -480 },
	{ "1 Jan 2020 10:00:00 PDT", 2020, 1, 1, 10, 0, 0, -420 },
	{ "1 Jan 2020 10:00:00 Z", 2020, 1, 1, 10, 0, 0, 0 },      /* military: -0000 */
	{ "1 Jan 2020 10:00:00 A", 2020, 1, 1, 10, 0, 0, 0 },
	{ "1 Jan 2020 10:00:00 n", 2020, 1, 1, 10, 0, 0, 0 },
	{ "1 Jan 2020 10:00:00 CEST", 2020, 1, 1, 10, 0, 0, 0 },   /* unknown: -0000 */
	{ "1 Jan 2020 10:00:00 -0000", 2020, 1, 1, 10, 0, 0, 0 },
	{ "1 Jan 2020 10:00:00 +01:00", 2020, 1, 1, 10, 0, 0, 60 },
	{ "1 Jan 2020 10:00:00 +9999", 2020, 1, 1, 10, 0, 0, 0 },  /* nonsense zone */
	{ "Wed (day), 1 (d) Jan (m) 2020 (y) 10:00 (t) EST (z)", 2020, 1, 1, 10, 0, 0, -300 },
	{ "(a (nested) comment) 1 Jan 2020 10:00:00 +0000", 2020, 1, 1, 10, 0, 0, 0 },
	{ "1 Jan 2020 10 : 00 : 30 +0000", 2020, 1, 1, 10, 0, 30, 0 },  /* obs-time CFWS */
	{ "  Wed,\r\n  1   Jan\r\n\t2020  10:00:00   +0100  ", 2020, 1, 1, 10, 0, 0, 60 },
	{ "Wed, 1 Jan 2020 10:00:00 +0000 (Coordinated Universal Time)", 2020, 1, 1, 10, 0, 0, 0 },
	{ "01-Jan-2020 10:00:00 +0000", 2020, 1, 1, 10, 0, 0, 0 },
	{ "Wed Jan  1 10:00:00 2020", 2020, 1, 1, 10, 0, 0, 0 },      /* ctime */
	{ "Wed Jan  1 10:00:00 EST 2020", 2020, 1, 1, 10, 0, 0, -300 }, /* date(1) */
	{ "29 Feb 2020 12:00:00 +0000", 2020, 2, 29, 12, 0, 0, 0 },
	{ "1 Jan 2020 23:59:60 +0000", 2020, 1, 1, 23, 59, 60, 0 },   /* leap second */
	{ "", 0 },
	{ "   (only a comment)", 0 },
	{ "garbage", 0 },
	{ "Wed, 1 Foo 2020 10:00:00 +0000", 0 },
	{ "Wed, Jan 2020", 0 },
	{ "1 Jan 10:00:00 +0000", 0 },                                  /* no year */
	{ "1 Jan 2 10:00:00 +0000", 0 },                                /* 1-digit year */
	{ "1 Jan 20200 10:00:00 +0000", 0 },
	{ "32 Jan 2020 10:00:00 +0000", 0 },
	{ "0 Jan 2020 10:00:00 +0000", 0 },
	{ "29 Feb 2019 10:00:00 +0000", 0 },
	{ "31 Apr 2020 10:00:00 +0000", 0 },
	{ "1 Jan 2020 25:00:00 +0000", 0 },
	{ "1 Jan 2020 10:60:00 +0000", 0 },
	{ "1 Jan 2020 10: +0000", 0 },
	{ "2020-01-01 10:00:00", 0 },                                   /* ISO 8601 */
	{ "1 Jan 2020 (unterminated", 2020, 1, 1, 0, 0, 0, 0 },
};

Test(api, date_parse_table)
{
	for (size_t i = 0; i < sizeof(date_cases) / sizeof(date_cases[0]); i++) {
		const struct date_case *c = &date_cases[i];
		time_t t = 12345;
		int tz = 777;
		const char *err = NULL;
		int r = rfc822_date_parse(c->in, strlen(c->in), &t, &tz, &err);

		if (c->y == 0) {
			cr_assert_eq(r, -1, "\"%s\" should not parse", c->in);
			cr_assert_not_null(err);
			continue;
		}
		cr_assert_eq(r, 1, "\"%s\": %s", c->in, err);
		struct tm tm = { .tm_year = c->y - 1900, .tm_mon = c->mon - 1, .tm_mday = c->d,
				 .tm_hour = c->hh, .tm_min = c->mm, .tm_sec = c->ss };
		time_t want = timegm(&tm) - (time_t)c->tz * 60;

		cr_assert_eq(tz, c->tz, "\"%s\": zone %d, want %d", c->in, tz, c->tz);
		cr_assert_eq(t, want, "\"%s\": %lld, want %lld", c->in, (long long)t,
			     (long long)want);
	}
}

Test(api, date_parse_only_the_given_bytes)
{
	const char v[] = "1 Jan 2020 10:00:00 +0100";
	time_t t;
	int tz;
	const char *err;

	/* the value is not NUL-terminated where it ends: a span of the message */
	cr_assert_eq(rfc822_date_parse(v, 10, &t, &tz, &err), 1);
	cr_assert_eq(tz, 0);
	cr_assert_eq(t, 1577836800);
	cr_assert_eq(rfc822_date_parse(v, 5, &t, &tz, &err), -1);
}

/* ---- SEARCH FROM/TO/CC/BCC: parsed addresses ---- */

static char *address_text(const char *v)
{
	struct mail_address_list l = { 0 };
	struct buf b = { 0 };

	mail_address_parse(&l, v, strlen(v));
	mail_address_write(&b, &l);
	mail_address_list_free(&l);
	buf_append(&b, "", 1);
	return b.data;
}

Test(api, address_write)
{
	static const char *const cases[][2] = {
		{ "<user-from (comment)@ (comment) domain.org>", "<user-from@domain.org>" },
		{ "\"Doe, John\" <john.doe@example.com>", "Doe, John <john.doe@example.com>" },
		{ "plain@example.net", "<plain@example.net>" },
		{ "bob@example.org (Bob Smith)", "Bob Smith <bob@example.org>" },
		{ "Alice\r\n  <alice@\r\n example.org>,\r\n bob@example.org",
		  "Alice <alice@example.org>, <bob@example.org>" },
		{ "undisclosed-recipients:;", "undisclosed-recipients:;" },
		{ "Team: a@x.org, \"B b\" <b@y.org>;, c@z.org",
		  "Team: <a@x.org>, B b <b@y.org>;, <c@z.org>" },
		{ "<@r1,@r2:j@d.example>", "<@r1,@r2:j@d.example>" },
		{ "=?utf-8?q?J=C3=BCrgen?= <jm@example.de>", "=?utf-8?q?J=C3=BCrgen?= <jm@example.de>" },
		{ "Pat O'Brien <pat@example.ie>", "Pat O'Brien <pat@example.ie>" },
		{ "", "" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = address_text(cases[i][0]);

		cr_assert_str_eq(got, cases[i][1], "\"%s\"", cases[i][0]);
		free(got);
	}
}

#define ADDRS \
	"From: <user-from (comment)@ (comment) domain.org>\r\n" \
	"To: \"Doe, John\" <john.doe@example.com>,\r\n" \
	"  =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>\r\n" \
	"Cc: Team: a@x.org, \"B b\" <b@y.org>;, carol@z.org (Carol C)\r\n" \
	"Bcc: first@example.org\r\nBcc: second@example.org\r\n" \
	"Subject: addresses\r\n\r\nbody\r\n"

Test(api, search_addresses)
{
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "from", "user-from@domain.org"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "FROM", "<USER-FROM@"));
	cr_assert(!search(ADDRS, MAIL_SEARCH_ADDRESS, "from", "comment"));
	/* the raw header still has the comments: HEADER From sees them */
	cr_assert(search(ADDRS, MAIL_SEARCH_HEADER, "from", "(comment)"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "to", "Doe, John"));
	cr_assert(!search(ADDRS, MAIL_SEARCH_ADDRESS, "to", "john doe"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "to", "john.doe@example"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "to", "doe, john <john.doe@"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "to", "jürgen müller"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "to", "Müller <jm@example.de>"));
	cr_assert(!search(ADDRS, MAIL_SEARCH_ADDRESS, "to", "=?utf-8"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "cc", "team:"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "cc", "b b <b@y.org>"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "cc", "Carol C <carol@z.org>"));
	cr_assert(!search(ADDRS, MAIL_SEARCH_ADDRESS, "cc", "(Carol"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "bcc", "first@"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "bcc", "second@"));
	cr_assert(!search(ADDRS, MAIL_SEARCH_ADDRESS, "bcc", "first@example.org>, <second"));
	cr_assert(search(ADDRS, MAIL_SEARCH_ADDRESS, "cc", ""));
	cr_assert(!search(ADDRS, MAIL_SEARCH_ADDRESS, "reply-to", ""));
	cr_assert(!search(ADDRS, MAIL_SEARCH_ADDRESS, "to", "carol"));
}

/* ---- SEARCH TEXT: every header, BODY: none ---- */

#define NESTED \
	"From: x@y.z\r\nSubject: outer\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n" \
	"preamble\r\n--o\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n" \
	"--b1\r\nContent-Type: text/plain\r\nX-Part: partheader\r\n\r\nplain body\r\n" \
	"--b1\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n" \
	"PGI+Ym9sZDwvYj4=\r\n--b1--\r\n" \
	"--o\r\nContent-Type: message/rfc822\r\n\r\n" \
	"From: inner@example.com\r\nSubject: =?utf-8?q?inner_s=C3=BCbject?=\r\n" \
	"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" \
	"aGlkZGVu\r\n--o--\r\nepilogue\r\n"

Test(api, search_text_covers_every_header)
{
	cr_assert(search(NESTED, MAIL_SEARCH_TEXT, NULL, "Content-Type: text/html"));
	cr_assert(!search(NESTED, MAIL_SEARCH_BODY, NULL, "Content-Type: text/html"));
	cr_assert(search(NESTED, MAIL_SEARCH_TEXT, NULL, "x-part: PARTHEADER"));
	cr_assert(search(NESTED, MAIL_SEARCH_TEXT, NULL, "content-type: message/rfc822"));
	cr_assert(search(NESTED, MAIL_SEARCH_TEXT, NULL, "From: inner@"));
	cr_assert(search(NESTED, MAIL_SEARCH_TEXT, NULL, "inner sübject"));
	cr_assert(!search(NESTED, MAIL_SEARCH_BODY, NULL, "inner"));
	cr_assert(search(NESTED, MAIL_SEARCH_TEXT, NULL, "application/octet-stream"));
	cr_assert(search(NESTED, MAIL_SEARCH_TEXT, NULL, "Subject: outer"));
	cr_assert(search(NESTED, MAIL_SEARCH_TEXT, NULL, "<b>bold</b>"));
	cr_assert(search(NESTED, MAIL_SEARCH_BODY, NULL, "plain body"));
	/* not text: binary parts, preamble, epilogue, undecoded base64 */
	cr_assert(!search(NESTED, MAIL_SEARCH_TEXT, NULL, "hidden"));
	cr_assert(!search(NESTED, MAIL_SEARCH_TEXT, NULL, "aGlkZGVu"));
	cr_assert(!search(NESTED, MAIL_SEARCH_TEXT, NULL, "PGI+"));
	cr_assert(!search(NESTED, MAIL_SEARCH_TEXT, NULL, "preamble"));
	cr_assert(!search(NESTED, MAIL_SEARCH_TEXT, NULL, "epilogue"));
	/* HEADER stays on the message's own header */
	cr_assert(!search(NESTED, MAIL_SEARCH_HEADER, "X-Part", ""));
	cr_assert(search(NESTED, MAIL_SEARCH_HEADER, "subject", "outer"));
	cr_assert(!search(NESTED, MAIL_SEARCH_HEADER, "subject", "inner"));
}
