/* SEARCH text keys: header fields and body text, case-insensitive; Date: for SENT*. */
#include "imap/search.h"
#include "mail/mime.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char months[12][4] = { "jan", "feb", "mar", "apr", "may", "jun",
				    "jul", "aug", "sep", "oct", "nov", "dec" };

bool search_text(struct uimap_blob *blob, const struct search_key *k)
{
	const struct mail_structure *st = mail_structure_get(blob);
	if (st == NULL)
		return false;
	/* decoded text: MIME parts, quoted-printable/base64, RFC 2047 headers,
	   case-insensitive; HEADER with "" matches any message with that field */
	enum mail_search_scope scope = k->op == SEARCH_HEADER ? MAIL_SEARCH_HEADER :
				       k->op == SEARCH_BODY ? MAIL_SEARCH_BODY : MAIL_SEARCH_TEXT;
	return mail_search_match(blob->data, st, scope, k->field, k->text);
}

/* "[day-of-week ","] day month year ..." (RFC 5322 §3.3) to days since the epoch. */
static int64_t parse_sent(const char *buf)
{
	const char *p = buf;
	const char *comma = strchr(p, ',');
	if (comma != NULL)
		p = comma + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	int d = 0, y = 0;
	size_t i;
	for (i = 0; isdigit((unsigned char)p[i]) && i < 2; i++)
		d = d * 10 + (p[i] - '0');
	if (i == 0)
		return INT64_MIN;
	p += i;
	while (*p == ' ' || *p == '-')
		p++;
	int m;
	for (m = 0; m < 12; m++)
		if (strncasecmp(p, months[m], 3) == 0)
			break;
	if (m == 12)
		return INT64_MIN;
	p += 3;
	while (*p && !isdigit((unsigned char)*p))
		p++;
	for (i = 0; isdigit((unsigned char)p[i]) && i < 4; i++)
		y = y * 10 + (p[i] - '0');
	if (i == 2)
		y += y < 50 ? 2000 : 1900;  /* RFC 5322 §4.3 obsolete two-digit years */
	else if (i != 4)
		return INT64_MIN;
	return search_days_from_civil(y, m, d);
}

int64_t search_sent_day(struct uimap_blob *blob)
{
	/* the Date: span the MIME parse already found (the envelope's) */
	const struct mail_structure *st = mail_structure_get(blob);
	if (st == NULL || st->n_parts == 0 || st->parts[0].env == MAIL_NONE)
		return INT64_MIN;
	struct mail_span date = st->envelopes[st->parts[0].env].field[MAIL_ENV_DATE];
	if (date.off == MAIL_SPAN_NONE)
		return INT64_MIN;
	char buf[128];
	if (date.len >= sizeof(buf))
		date.len = sizeof(buf) - 1;
	buf[mail_span_unfold(blob->data, date, buf)] = '\0';
	return parse_sent(buf);
}
