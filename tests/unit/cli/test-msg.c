/* Messages between uimap and mailbox files: CRLF lines, keywords, IMAP flag lists. */
#include <criterion/criterion.h>
#include <string.h>

#include "cli/msg.h"
#include "uimap/store.h"

Test(msg, to_crlf_only_bare_lf)
{
	size_t len;
	char *out = msg_to_crlf("a\nb\r\n\nc\rd", 9, &len);

	cr_assert_eq(len, 11);
	cr_assert_eq(memcmp(out, "a\r\nb\r\n\r\nc\rd", 11), 0);
	free(out);
	out = msg_to_crlf("", 0, &len);
	cr_assert_eq(len, 0);
	free(out);
}

Test(msg, keywords_once_case_insensitive)
{
	struct msg m = { 0 };

	cr_assert_eq(msg_add_keyword(&m, "$Label1xx", 7), 0);
	cr_assert_eq(msg_add_keyword(&m, "$label1", 7), 0);
	cr_assert_eq(msg_add_keyword(&m, "Junk", 4), 0);
	cr_assert_eq(m.n_keywords, 2);
	cr_assert_str_eq(m.keywords[0], "$Label1");
	/* not atoms: left out and counted */
	cr_assert_eq(msg_add_keyword(&m, "two words", 9), 0);
	cr_assert_eq(msg_add_keyword(&m, "par(en", 6), 0);
	cr_assert_eq(msg_add_keyword(&m, "", 0), 0);
	cr_assert_eq(m.n_keywords, 2);
	cr_assert_eq(m.bad_keywords, 3);
	msg_clear(&m);
	cr_assert_eq(m.n_keywords, 0);
	cr_assert_null(m.keywords);
}

Test(msg, flag_list_round_trip)
{
	struct msg m = { 0 }, back = { 0 };
	char list[256];
	const char *names[] = { "\\seen", "\\Flagged", "\\Recent", "\\Draft", "$Forwarded",
				"\\Unknown", "Junk" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_assert_eq(msg_parse_flag(&m, names[i], strlen(names[i])), 0);
	cr_assert_eq(m.flags, UIMAP_FLAG_SEEN | UIMAP_FLAG_FLAGGED | UIMAP_FLAG_DRAFT);
	msg_flag_list(&m, list, sizeof(list));
	cr_assert_str_eq(list, "\\Seen \\Flagged \\Draft $Forwarded Junk");
	for (char *p = list, *sp; *p; p = sp + (*sp != '\0')) {
		sp = p + strcspn(p, " ");
		cr_assert_eq(msg_parse_flag(&back, p, (size_t)(sp - p)), 0);
	}
	cr_assert_eq(back.flags, m.flags);
	cr_assert_eq(back.n_keywords, 2);
	/* a small buffer ends at a whole name */
	msg_flag_list(&m, list, 14);
	cr_assert_str_eq(list, "\\Seen");
	msg_clear(&m);
	msg_clear(&back);
}
