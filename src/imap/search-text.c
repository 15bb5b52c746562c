/* SEARCH text keys: header fields and body text, case-insensitive; Date: for SENT*. */
#include "imap/search.h"
#include "imap/session.h"
#include "mail/mime.h"
#include "mail/rfc822.h"

bool search_text(struct uimap_blob *blob, const struct search_key *k)
{
	const struct mail_structure *st = mail_structure_get(blob);
	if (st == NULL)
		return false;
	/* decoded text: MIME parts, quoted-printable/base64, RFC 2047 headers,
	   case-insensitive; HEADER with "" matches any message with that field */
	enum mail_search_scope scope = k->op == SEARCH_HEADER ? MAIL_SEARCH_HEADER :
				       k->op == SEARCH_ADDRESS ? MAIL_SEARCH_ADDRESS :
				       k->op == SEARCH_BODY ? MAIL_SEARCH_BODY : MAIL_SEARCH_TEXT;
	return mail_search_match(blob->data, st, scope, k->field, k->text);
}

int64_t search_sent_day(struct uimap_blob *blob)
{
	/* the Date: span the MIME parse already found (the envelope's) */
	const struct mail_structure *st = mail_structure_get(blob);
	if (st == NULL || st->n_parts == 0 || st->parts[0].env == MAIL_NONE)
		return 0;
	struct mail_span date = st->envelopes[st->parts[0].env].field[MAIL_ENV_DATE];
	time_t t;
	int tz;
	const char *error;
	/* no or no valid Date: the epoch, as Dovecot (mail_get_date() gives 0) */
	if (date.off == MAIL_SPAN_NONE ||
	    rfc822_date_parse(blob->data + date.off, date.len, &t, &tz, &error) < 0)
		return 0;
	/* the day in the message's own zone: RFC 3501 §6.4.4 disregards time and zone */
	int64_t local = (int64_t)t + (int64_t)tz * 60;
	return local >= 0 ? local / 86400 : (local - 86399) / 86400;
}
