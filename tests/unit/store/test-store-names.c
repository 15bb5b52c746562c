/* Unit tests for mailbox name rules and LIST pattern matching (RFC 3501 6.3.8). */
#include <criterion/criterion.h>
#include <string.h>

#include "store/memstore.h"

Test(store_names, match_star_and_percent)
{
	cr_assert(store_list_match("*", "a/b/c", '/'));
	cr_assert(store_list_match("%", "a", '/'));
	cr_assert_not(store_list_match("%", "a/b", '/'));
	cr_assert(store_list_match("a/%", "a/b", '/'));
	cr_assert_not(store_list_match("a/%", "a/b/c", '/'));
	cr_assert(store_list_match("a/*", "a/b/c", '/'));
	cr_assert_not(store_list_match("a/*", "a", '/'));
	cr_assert(store_list_match("a*", "a", '/'));
	cr_assert(store_list_match("a*", "abc/d", '/'));
	cr_assert(store_list_match("%/%", "a/b", '/'));
	cr_assert_not(store_list_match("%/%", "a/b/c", '/'));
	cr_assert(store_list_match("*/%", "a/b/c", '/'));
	cr_assert(store_list_match("Sent", "Sent", '/'));
	cr_assert_not(store_list_match("sent", "Sent", '/'));
	cr_assert(store_list_match("S%t", "Sent", '/'));
	cr_assert(store_list_match("%%%", "abc", '/'));
	cr_assert(store_list_match("", "", '/'));
	cr_assert_not(store_list_match("", "a", '/'));
	cr_assert_not(store_list_match("a", "", '/'));
}

Test(store_names, match_inbox_case_insensitive)
{
	cr_assert(store_list_match("inbox", "INBOX", '/'));
	cr_assert(store_list_match("InBoX/%", "INBOX/sub", '/'));
	cr_assert(store_list_match("in*", "INBOX", '/'));
	cr_assert_not(store_list_match("INBOX/sub", "INBOX/Sub", '/'));
	/* only the INBOX level is case-insensitive */
	cr_assert_not(store_list_match("inboxes", "INBOXES", '/'));
}

Test(store_names, match_no_exponential_blowup)
{
	char name[1001], pattern[64];

	memset(name, 'a', 1000);
	name[1000] = '\0';
	strcpy(pattern, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b");
	cr_assert_not(store_list_match(pattern, name, '/'));
	cr_assert(store_list_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a", name, '/'));
}

Test(store_names, match_long_pattern_heap)
{
	char pattern[700], name[700];

	memset(pattern, '%', 600);
	pattern[600] = '\0';
	memset(name, 'x', 600);
	name[600] = '\0';
	cr_assert(store_list_match(pattern, name, '/'));
}

Test(store_names, reference_rules)
{
	char out[2 * STORE_NAME_MAX + 2];

	cr_assert_eq(store_list_pattern("", "*", out), 0);
	cr_assert_str_eq(out, "*");
	/* RFC 3501 6.3.8: the reference is prepended... */
	cr_assert_eq(store_list_pattern("a/", "%", out), 0);
	cr_assert_str_eq(out, "a/%");
	cr_assert_eq(store_list_pattern("~smith/Mail/", "foo.*", out), 0);
	cr_assert_str_eq(out, "~smith/Mail/foo.*");
	/* ...unless the pattern is absolute */
	cr_assert_eq(store_list_pattern("a/", "/x", out), 0);
	cr_assert_str_eq(out, "/x");
}

Test(store_names, canon_and_valid)
{
	char out[STORE_NAME_MAX + 1];

	cr_assert_eq(store_name_canon("inbox", true, out), 0);
	cr_assert_str_eq(out, "INBOX");
	cr_assert_eq(store_name_canon("Inbox/Sub/", true, out), 0);
	cr_assert_str_eq(out, "INBOX/Sub");
	cr_assert_eq(store_name_canon("Inboxes", true, out), 0);
	cr_assert_str_eq(out, "Inboxes");
	cr_assert_eq(store_name_canon("a//", true, out), 0);
	cr_assert_str_eq(out, "a");
	cr_assert_lt(store_name_canon("/", true, out), 0);
	cr_assert_lt(store_name_canon("", true, out), 0);

	cr_assert(store_name_valid("a/b c/d"));
	cr_assert(store_name_valid("~peter/mail/&U,BTFw-/&ZeVnLIqe-"));
	cr_assert_not(store_name_valid("a//b"));
	cr_assert_not(store_name_valid("/a"));
	cr_assert_not(store_name_valid("a*"));
	cr_assert_not(store_name_valid("a%b"));
	cr_assert_not(store_name_valid("caf\xc3\xa9"));
	cr_assert_not(store_name_valid("a&b"));
	cr_assert_not(store_name_valid("&AGE-"));
	cr_assert_not(store_name_valid("tab\there"));
	/* nine CJK characters decode to more bytes than their modified UTF-7 (fuzz-mutf7) */
	cr_assert(store_name_valid("&Ti1OLU4tTi1OLU4tTi1OLU4t-"));
	cr_assert(store_name_valid("Projects/&Ti1OLU4tTi1OLU4tTi1OLU4tTi1OLU4tTi1OLU4t-"));
}
