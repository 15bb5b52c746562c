/* Maildir pieces: dovecot-uidlist (versions 1 and 3), dovecot-keywords, ":2," letters. */
#include <criterion/criterion.h>
#include <string.h>

#include "cli/source.h"
#include "uimap/store.h"

static int parse(const char *text, struct uidlist *ul, char *err)
{
	return uidlist_parse(text, strlen(text), ul, err, 256);
}

Test(maildir, uidlist_version3)
{
	struct uidlist ul;
	char err[256];
	const char *text = "3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n"
			   "1 :1275660208.M20P20053.host\n"
			   "7 W2048 S2000 :1275660209.M21P20053.host,S=2000:2,FS\n"
			   "24999 :1275660300.x.host\r\n";

	cr_assert_eq(parse(text, &ul, err), 0, "%s", err);
	cr_assert_eq(ul.version, 3);
	cr_assert_eq(ul.uidvalidity, 1275660208u);
	cr_assert_eq(ul.uidnext, 25022);
	cr_assert_eq(ul.n, 3);
	cr_assert_eq(ul.recs[1].uid, 7);
	/* the base: up to the ":2," info, which Dovecot compares without */
	cr_assert_str_eq(ul.recs[1].base, "1275660209.M21P20053.host,S=2000");
	cr_assert_str_eq(ul.recs[2].base, "1275660300.x.host");
	uidlist_free(&ul);
}

Test(maildir, uidlist_version1_courier)
{
	struct uidlist ul;
	char err[256];

	cr_assert_eq(parse("1 1000 5\n3 a.host\n4 b.host:2,S\n", &ul, err), 0, "%s", err);
	cr_assert_eq(ul.version, 1);
	cr_assert_eq(ul.uidvalidity, 1000);
	cr_assert_eq(ul.uidnext, 5);
	cr_assert_eq(ul.n, 2);
	cr_assert_str_eq(ul.recs[1].base, "b.host");
	uidlist_free(&ul);
}

Test(maildir, uidlist_refused)
{
	static const char *const bad[] = {
		"",                                     /* no header */
		"2 V1 N2\n",                            /* unknown version */
		"3 Vx N2\n",                            /* not a number */
		"3 V1 N9\n5 :a\n5 :b\n",                /* UIDs not growing */
		"3 V1 N9\n0 :a\n",                      /* UID 0 */
		"3 V1 N9\n5 a\n",                       /* no ":" before the name */
		"3 V1 N9\n5 :dir/a\n",                  /* a path */
		"3 V1 N9\n99999999999 :a\n",            /* above 2^32 */
		"1 7\n",                                /* version 1 without UIDNEXT */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct uidlist ul;
		char err[256] = "";

		cr_assert_eq(parse(bad[i], &ul, err), -1, "accepted: %s", bad[i]);
		cr_assert_neq(strstr(err, "line"), NULL, "%s", err);
		cr_assert_eq(ul.n, 0);
	}
}

Test(maildir, keywords_file_and_letters)
{
	char *names[MAILDIR_KEYWORDS] = { NULL };
	const char *text = "0 $Label1\n2 Junk\r\n30 TooFar\nx nonsense\n1 $Forwarded\n";
	struct msg m = { 0 };
	char out[40];

	maildir_keywords_parse(text, strlen(text), names);
	cr_assert_str_eq(names[0], "$Label1");
	cr_assert_str_eq(names[1], "$Forwarded");
	cr_assert_str_eq(names[2], "Junk");
	cr_assert_null(names[3]);

	cr_assert_eq(maildir_name_flags("123.host,S=5:2,DFRSTcaz", names, &m), 0);
	cr_assert_eq(m.flags, UIMAP_FLAG_DRAFT | UIMAP_FLAG_FLAGGED | UIMAP_FLAG_ANSWERED |
			      UIMAP_FLAG_SEEN | UIMAP_FLAG_DELETED);
	cr_assert_eq(m.n_keywords, 2, "z has no name");
	cr_assert_str_eq(m.keywords[0], "Junk");
	cr_assert_str_eq(m.keywords[1], "$Label1");
	cr_assert_eq(maildir_base_len("123.host,S=5:2,DF"), 12);

	/* and back: sorted letters; a new keyword takes the first free index */
	cr_assert_eq(msg_add_keyword(&m, "NonJunk", 7), 0);
	cr_assert_eq(maildir_letters(&m, names, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "DFRSTacd");
	cr_assert_str_eq(names[3], "NonJunk");
	msg_clear(&m);

	/* beyond 26 keywords a Maildir has no letter left */
	for (int i = 4; i < MAILDIR_KEYWORDS; i++)
		names[i] = strdup("k");
	cr_assert_eq(msg_add_keyword(&m, "Another", 7), 0);
	cr_assert_eq(maildir_letters(&m, names, out, sizeof(out)), 1);
	cr_assert_str_eq(out, "");
	msg_clear(&m);
	for (int i = 0; i < MAILDIR_KEYWORDS; i++)
		free(names[i]);
}

Test(maildir, name_without_info)
{
	char *names[MAILDIR_KEYWORDS] = { NULL };
	struct msg m = { 0 };

	cr_assert_eq(maildir_name_flags("1672826400.3.host", names, &m), 0);
	cr_assert_eq(m.flags, 0);
	cr_assert_eq(maildir_base_len("1672826400.3.host"), 17);
}
