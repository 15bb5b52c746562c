/* Unit tests for SORT keys (src/mail/sortkey.c): the base subject of RFC 5256 §2.1,
   first addresses, display names (RFC 5957) and the sent date. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/blob.h"
#include "mail/sortkey.h"

static const char *base(const char *subject)
{
	static char out[512];
	struct buf b = { 0 };
	mail_base_subject(&b, subject, strlen(subject), NULL);
	cr_assert_lt(b.len, sizeof(out));
	memcpy(out, b.data ? b.data : "", b.len);
	out[b.len] = '\0';
	buf_free(&b);
	return out;
}

Test(sortkey, base_subject)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "Hello", "Hello" },
		{ "Re: Hello", "Hello" },
		{ "RE:Hello", "Hello" },
		{ "re: re: Re: Hello", "Hello" },
		{ "Fwd: Hello", "Hello" },
		{ "FW: Hello", "Hello" },
		{ "Re[2]: Hello", "Hello" },                 /* subj-refwd with a blob */
		{ "Re [list]: Hello", "Hello" },
		{ "[list] Re: Hello", "Hello" },             /* a blob, then a refwd */
		{ "[list] Hello", "Hello" },                 /* (4): a leading blob goes ... */
		{ "[list]", "[list]" },                      /* ... unless nothing is left */
		{ "[a] [b] Hello", "Hello" },
		{ "Hello (fwd)", "Hello" },                  /* (2) trailer */
		{ "Hello (FWD) (fwd)  ", "Hello" },
		{ "[fwd: Hello]", "Hello" },                 /* (6) */
		{ "[Fwd: Re: Hello (fwd)]", "Hello" },       /* (6) then again from (2) */
		{ "Hello\r\n world", "Hello world" },        /* folding and runs of spaces */
		{ "Hello\t \tworld", "Hello world" },
		{ "=?utf-8?q?Re=3A_caf=C3=A9?=", "café" },   /* decoded first */
		{ "Rebus: no", "Rebus: no" },                /* "Re" must be followed by ':' */
		{ "Re Hello", "Re Hello" },
		{ "", "" },        /* no buffer at all (UB under clang: found by fuzz-engine) */
		{ "   ", "" },
		{ "Re:", "" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_str_eq(base(cases[i].in), cases[i].want, "base of \"%s\"", cases[i].in);
}

static const struct mail_sortkeys *keys_of(const char *msg, struct uimap_blob **blob_r)
{
	*blob_r = uimap_blob_new_copy(msg, strlen(msg));
	cr_assert_not_null(*blob_r);
	const struct mail_sortkeys *k = mail_sortkeys_get(*blob_r);
	cr_assert_not_null(k);
	cr_assert_eq(mail_sortkeys_get(*blob_r), k, "made once, then kept");
	return k;
}

Test(sortkey, addresses_and_date)
{
	struct uimap_blob *blob;
	const struct mail_sortkeys *k = keys_of(
		"From: \"Doe, John\" <John.Doe@Example.org>, other@x\r\n"
		"To: undisclosed:;, =?utf-8?q?J=C3=B6rg?= <joerg@example.de>\r\n"
		"Cc: <cc@example.org>\r\n"
		"Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
		"Subject: Re: [x] Topic\r\n\r\nbody\r\n", &blob);
	cr_assert_str_eq(k->from, "JOHN.DOE");
	cr_assert_str_eq(k->display_from, "DOE, JOHN");
	cr_assert_str_eq(k->to, "JOERG", "the first real address, not the empty group");
	cr_assert_str_eq(k->display_to, "JO\xcc\x88RG",
			 "decoded; RFC 5051 casemap: upper case, then NFKD (O + U+0308)");
	cr_assert_str_eq(k->cc, "CC");
	cr_assert_str_eq(k->subject, "TOPIC");
	cr_assert(k->has_date);
	cr_assert_eq(k->date, 760686745);
	uimap_blob_unref(&blob);

	k = keys_of("Subject: x\r\nDate: not a date\r\n\r\n", &blob);
	cr_assert(!k->has_date, "a bad Date: falls back to INTERNALDATE");
	cr_assert_str_eq(k->from, "");
	cr_assert_str_eq(k->display_from, "");
	uimap_blob_unref(&blob);

	k = keys_of("From: nobody-with-no-name@example.net\r\n\r\n", &blob);
	cr_assert_str_eq(k->display_from, "NOBODY-WITH-NO-NAME@EXAMPLE.NET",
			 "RFC 5957: no display name, the addr-spec");
	cr_assert_str_eq(k->subject, "");
	uimap_blob_unref(&blob);
}
