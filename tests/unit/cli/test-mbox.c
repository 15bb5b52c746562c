/* mbox pieces: the metadata headers Dovecot and UW-IMAP keep (read and taken out),
   From-line times. */
#include <criterion/criterion.h>
#include <string.h>

#include "cli/source.h"
#include "uimap/store.h"

static char *meta(const char *in, struct msg *m, uint32_t *uid, uint32_t *v, uint32_t *last,
		  bool *pseudo)
{
	char *out = malloc(strlen(in) + 1);
	size_t n;

	cr_assert_eq(mbox_meta(in, strlen(in), m, uid, v, last, pseudo, out, &n), 0);
	out[n] = '\0';
	return out;
}

Test(mbox, meta_headers_read_and_taken_out)
{
	const char *in = "X-IMAPbase: 1234567890 0000000042 $Label1\n"
			 "Status: RO\n"
			 "Subject: hi\n"
			 "X-Status: AFTD\n"
			 "x-keywords: $Label1  Junk\n"
			 "\tNonJunk\n"
			 "X-UID: 17\n"
			 "From: a@b\n"
			 "\n"
			 "Status: body lines stay\n";
	struct msg m = { 0 };
	uint32_t uid, v, last;
	bool pseudo;
	char *out = meta(in, &m, &uid, &v, &last, &pseudo);

	cr_assert_str_eq(out, "Subject: hi\nFrom: a@b\n\nStatus: body lines stay\n");
	cr_assert_eq(uid, 17);
	cr_assert_eq(v, 1234567890u);
	cr_assert_eq(last, 42);
	cr_assert_not(pseudo);
	cr_assert_eq(m.flags, UIMAP_FLAG_SEEN | UIMAP_FLAG_ANSWERED | UIMAP_FLAG_FLAGGED |
			      UIMAP_FLAG_DRAFT | UIMAP_FLAG_DELETED);
	/* a continuation line of a taken-out header goes with it (not parsed) */
	cr_assert_eq(m.n_keywords, 2);
	cr_assert_str_eq(m.keywords[1], "Junk");
	free(out);
	msg_clear(&m);
}

Test(mbox, meta_crlf_and_no_body)
{
	const char *in = "Subject: x\r\nX-UID: 5\r\nX-IMAPbaseX: 1 2\r\n";
	struct msg m = { 0 };
	uint32_t uid, v, last;
	bool pseudo;
	char *out = meta(in, &m, &uid, &v, &last, &pseudo);

	/* X-IMAPbaseX is another header */
	cr_assert_str_eq(out, "Subject: x\r\nX-IMAPbaseX: 1 2\r\n");
	cr_assert_eq(uid, 5);
	cr_assert_eq(v, 0);
	free(out);
}

Test(mbox, uw_imap_pseudo_message)
{
	const char *in = "Date: 01 Jan 2024\nSubject: DON'T DELETE THIS MESSAGE -- FOLDER "
			 "INTERNAL DATA\nX-IMAP: 0987654321 0000000009\nStatus: RO\n\nThis text "
			 "is part of the internal format of your mail folder.\n";
	struct msg m = { 0 };
	uint32_t uid, v, last;
	bool pseudo;
	char *out = meta(in, &m, &uid, &v, &last, &pseudo);

	cr_assert(pseudo);
	cr_assert_eq(v, 987654321u);
	cr_assert_eq(last, 9);
	free(out);
	msg_clear(&m);
}

Test(mbox, header_scan_without_output)
{
	const char *in = "Subject: x\n\nX-UID: 99\n";
	uint32_t uid, v, last;
	bool pseudo;

	cr_assert_eq(mbox_meta(in, strlen(in), NULL, &uid, &v, &last, &pseudo, NULL, NULL), 0);
	cr_assert_eq(uid, 0, "a body line is no header");
}

Test(mbox, from_line_time)
{
	const char *l = "From alice@example.org Mon Jan  2 10:00:00 2023";

	cr_assert_eq(mbox_from_time(l, strlen(l)), 1672653600);
	l = "From MAILER-DAEMON Thu Dec 31 23:59:59 1998";
	cr_assert_eq(mbox_from_time(l, strlen(l)), 915148799);
	l = "From nobody";
	cr_assert_eq(mbox_from_time(l, strlen(l)), 0);
}
