/* Unit tests for SEARCH's date handling (src/imap/search.c, search-text.c): the day
   of the Date: header in its own zone for SENT*, and the SEARCH date argument. */
#include <criterion/criterion.h>
#include <string.h>

#include "imap/search.h"
#include "core/outq.h"
#include "uimap/store.h"

static void fini(void)
{
	outq_cache_free();
}

TestSuite(search_dates, .fini = fini);

static int64_t sent_day(const char *msg)
{
	struct uimap_blob *blob = uimap_blob_new_copy(msg, strlen(msg));
	int64_t d = search_sent_day(blob);

	uimap_blob_unref(&blob);
	return d;
}

static int64_t day(const char *imap_date)
{
	int64_t d = search_parse_date(imap_date);

	cr_assert_neq(d, INT64_MIN, "%s", imap_date);
	return d;
}

Test(search_dates, sent_day_in_the_messages_own_zone)
{
	/* RFC 3501 §6.4.4: the date as written, disregarding time and timezone */
	cr_assert_eq(sent_day("Date: 1 Jan 2020 23:30:00 -0800\r\n\r\n"), day("1-Jan-2020"));
	cr_assert_eq(sent_day("Date: 2 Jan 2020 00:30:00 +0900\r\n\r\n"), day("2-Jan-2020"));
	cr_assert_eq(sent_day("Date: Wed, 1 Jan 2020 23:59:59 PST\r\n\r\n"), day("1-Jan-2020"));
	cr_assert_eq(sent_day("Date: 1 jan 69 12:00 EST\r\n\r\n"), day("1-Jan-1969"));
	cr_assert_eq(sent_day("Date: 31 Dec 1969 23:00:00 -0100\r\n\r\n"), day("31-Dec-1969"));
	cr_assert_eq(sent_day("Date: Mon, 7 Feb 94 21:52 (folded)\r\n +0000\r\n\r\n"),
		     day("7-Feb-1994"));
	cr_assert_eq(sent_day("Subject: x\r\nDate: 1 Jan 120 10:00 Z\r\n\r\nbody"),
		     day("1-Jan-2020"));
}

Test(search_dates, no_or_bad_date_is_the_epoch)
{
	/* as Dovecot: a missing or unreadable Date: counts as 1-Jan-1970 */
	cr_assert_eq(day("1-Jan-1970"), 0);
	cr_assert_eq(sent_day("Subject: no date\r\n\r\nbody\r\n"), 0);
	cr_assert_eq(sent_day("Date: garbage\r\n\r\n"), 0);
	cr_assert_eq(sent_day("Date: 32 Jan 2020 10:00:00 +0000\r\n\r\n"), 0);
	cr_assert_eq(sent_day("Date:\r\n\r\n"), 0);
	cr_assert_eq(sent_day(""), 0);
}

Test(search_dates, search_argument)
{
	cr_assert_eq(day("1-Jan-2020"), 18262);
	cr_assert_eq(day("01-jan-2020"), 18262);
	cr_assert_eq(day("\"1-Jan-2020\""), 18262);
	cr_assert_eq(search_parse_date("1-Jan-20"), INT64_MIN);
	cr_assert_eq(search_parse_date("1 Jan 2020"), INT64_MIN);
	cr_assert_eq(search_parse_date("32-Jan-2020"), INT64_MIN);
}
