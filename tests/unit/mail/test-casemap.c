/* Unit tests for src/mail/casemap.c: the i;unicode-casemap keys of RFC 5051 (upper
   case, then NFKD) as SEARCH's substring match and SORT's order use them. */
#include <criterion/criterion.h>
#include <string.h>

#include "mail/casemap.h"

#include <unicase.h>
#include <uninorm.h>

static char *key(const char *s)
{
	struct buf b = { 0 };

	mail_casemap(&b, s, strlen(s));
	buf_append(&b, "", 1);
	return b.data;
}

/* Whether SEARCH would find needle in text: one key a substring of the other. */
static bool finds(const char *text, const char *needle)
{
	char *t = key(text), *n = key(needle);
	bool r = strstr(t, n) != NULL;

	free(t);
	free(n);
	return r;
}

static bool same(const char *a, const char *b)
{
	char *ka = key(a), *kb = key(b);
	bool r = strcmp(ka, kb) == 0;

	free(ka);
	free(kb);
	return r;
}

Test(casemap, ascii)
{
	char *k = key("Hello, World 123 [_]");

	cr_assert_str_eq(k, "HELLO, WORLD 123 [_]", "ASCII: its upper case only");
	free(k);
	cr_assert(finds("The Quick Brown Fox", "quick BROWN"));
	cr_assert(!finds("The Quick Brown Fox", "quick  brown"));
}

Test(casemap, accents_decompose)
{
	/* NFKD: é is e + U+0301, so "cafe" is a substring of "café"'s key; the accent
	   is kept, so "café" does not find "cafe" */
	cr_assert(finds("Un caf\xc3\xa9 noir", "cafe"));
	cr_assert(finds("Un CAF\xc3\x89 noir", "caf\xc3\xa9"));
	cr_assert(finds("Un cafe\xcc\x81 noir", "CAF\xc3\x89"), "precomposed = decomposed");
	cr_assert(!finds("Un cafe noir", "caf\xc3\xa9"));
	cr_assert(!same("cafe", "caf\xc3\xa9"));
}

Test(casemap, sharp_s)
{
	/* the full upper-case mapping: ß is SS */
	cr_assert(finds("Stra\xc3\x9f" "e", "STRASSE"));
	cr_assert(finds("STRASSE", "stra\xc3\x9f" "e"));
	cr_assert(same("stra\xc3\x9f" "e", "Strasse"));
}

Test(casemap, greek_sigma)
{
	/* σ, ς and Σ map to Σ: the final sigma needs no context */
	cr_assert(same("\xcf\x83\xce\xbf\xcf\x86\xce\xbf\xcf\x82",        /* σοφος */
		       "\xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3"));      /* ΣΟΦΟΣ */
	cr_assert(same("\xcf\x82", "\xcf\x83"));
	/* and the accent of έ decomposes: ε finds it */
	cr_assert(finds("\xce\xad", "\xce\x95"));
}

Test(casemap, turkish_i)
{
	/* no language tailoring (RFC 5051 §2: the same for every locale): dotless ı
	   maps to I, so it equals i and I */
	cr_assert(same("\xc4\xb1", "i"));
	cr_assert(same("\xc4\xb1", "I"));
	/* İ (U+0130) keeps its dot: I + U+0307; "i" finds it, it does not equal "i" */
	cr_assert(finds("\xc4\xb0stanbul", "istanbul") == false);
	cr_assert(finds("\xc4\xb0stanbul", "i"));
	cr_assert(finds("\xc4\xb0stanbul", "stanbul"));
	cr_assert(!same("\xc4\xb0", "i"));
	/* i with a combining dot above equals İ */
	cr_assert(same("\xc4\xb0", "i\xcc\x87"));
}

Test(casemap, compatibility_forms)
{
	/* NFKD: full-width letters, ligatures, superscripts, the Kelvin sign */
	cr_assert(same("\xef\xbc\xa1\xef\xbd\x82\xef\xbd\x83", "abc"));   /* ＡｂＣ */
	cr_assert(same("\xef\xac\x81le", "FILE"));                         /* ﬁle */
	cr_assert(same("x\xc2\xb2", "x2"));                                /* x² */
	cr_assert(same("\xe2\x84\xaa", "k"));                              /* K (Kelvin) */
	/* half-width katakana ｶ is カ */
	cr_assert(same("\xef\xbd\xb6", "\xe3\x82\xab"));
}

Test(casemap, cyrillic_and_cjk)
{
	cr_assert(same("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",   /* Привет */
		       "\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2")); /* ПРИВЕТ */
	cr_assert(same("\xd1\x91", "\xd0\x81"), "ё = Ё");
	cr_assert(finds("\xe4\xb8\xad\xe6\x96\x87\xe9\x82\xae\xe4\xbb\xb6", "\xe9\x82\xae\xe4\xbb\xb6"));
}

Test(casemap, invalid_bytes_kept)
{
	/* a byte that is no UTF-8 is copied: raw text is searched as it is */
	char *k = key("caf\xe9 ok \xc3\xa9");

	cr_assert_str_eq(k, "CAF\xe9 OK E\xcc\x81");
	free(k);
	cr_assert(finds("raw caf\xe9!", "CAF\xe9"));
}

Test(casemap, sort_order)
{
	/* SORT compares the keys' octets: case does not matter, the upper case puts
	   letters before '_' as RFC 5051's titlecase does */
	char *a = key("apple"), *b = key("BANANA"), *u = key("_x"), *e = key("\xc3\xa9t\xc3\xa9");
	char *plain_e = key("e"), *f = key("f");

	cr_assert_lt(strcmp(a, b), 0);
	cr_assert_lt(strcmp(b, u), 0);
	cr_assert_lt(strcmp(a, e), 0);
	cr_assert_lt(strcmp(plain_e, e), 0, "é sorts after e, before f");
	cr_assert_lt(strcmp(e, f), 0);
	free(a);
	free(b);
	free(u);
	free(e);
	free(plain_e);
	free(f);
}

Test(casemap, pieces_equal_whole)
{
	/* the key is made in pieces (long ASCII runs apart): the same as libunistring's
	   mapping of the whole string */
	static const char *const texts[] = {
		"An ASCII run that is longer than thirty-two bytes, then caf\xc3\xa9 and e"
		"\xcc\x81 and more ASCII text that goes on and on for a while, \xef\xac\x81n.",
		"e\xcc\x81\xcc\x96 then a long enough ASCII run of text here ........... "
		"\xcc\x81\xcc\x96 a combining mark right after it; \xc3\x9f\xcf\x82",
		"short \xc3\xa9 runs \xc3\xa9 of \xc3\xa9 ascii \xc3\xa9 between \xc3\xa9",
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t n = 0;
		uint8_t *whole = u8_toupper((const uint8_t *)texts[i], strlen(texts[i]), NULL,
					    UNINORM_NFKD, NULL, &n);
		struct buf b = { 0 };

		mail_casemap(&b, texts[i], strlen(texts[i]));
		cr_assert_eq(b.len, n, "text %zu", i);
		cr_assert(memcmp(b.data, whole, n) == 0, "text %zu", i);
		free(whole);
		buf_free(&b);
	}
}
