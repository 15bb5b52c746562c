/* SEARCH text keys: header fields and body text, case-insensitive; Date: for SENT*. */
#include "imap/search.h"
#include "mail/mime.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char months[12][4] = { "jan", "feb", "mar", "apr", "may", "jun",
				    "jul", "aug", "sep", "oct", "nov", "dec" };

static size_t header_end(const char *d, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (d[i] != '\n')
			continue;
		if (d[i + 1] == '\n')
			return i + 1;
		if (d[i + 1] == '\r' && i + 2 < n && d[i + 2] == '\n')
			return i + 1;
	}
	return n;
}

/* Call fn for each value (folded lines included) of field in the header block. */
static bool each_field(const char *d, size_t n, const char *field,
		       bool (*fn)(const char *v, size_t len, void *ctx), void *ctx)
{
	size_t flen = strlen(field);
	size_t i = 0;
	while (i < n) {
		size_t eol = i;
		while (eol < n && d[eol] != '\n')
			eol++;
		if (eol - i > flen && strncasecmp(d + i, field, flen) == 0 && d[i + flen] == ':') {
			size_t vs = i + flen + 1, ve = eol;
			while (ve + 1 < n && (d[ve + 1] == ' ' || d[ve + 1] == '\t')) {
				ve++;
				while (ve < n && d[ve] != '\n')
					ve++;
			}
			if (fn(d + vs, ve - vs, ctx))
				return true;
			eol = ve;
		}
		i = eol + 1;
	}
	return false;
}

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

static bool parse_sent(const char *v, size_t len, void *ctx)
{
	int64_t *day = ctx;
	size_t i = 0;
	char buf[128];
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	/* [ day-of-week "," ] day month year ... (RFC 5322 §3.3) */
	const char *p = buf;
	const char *comma = strchr(p, ',');
	if (comma != NULL)
		p = comma + 1;
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	int d = 0, y = 0;
	for (i = 0; isdigit((unsigned char)p[i]) && i < 2; i++)
		d = d * 10 + (p[i] - '0');
	if (i == 0)
		return false;
	p += i;
	while (*p == ' ' || *p == '-')
		p++;
	int m;
	for (m = 0; m < 12; m++)
		if (strncasecmp(p, months[m], 3) == 0)
			break;
	if (m == 12)
		return false;
	p += 3;
	while (*p && !isdigit((unsigned char)*p) && *p != '\r')
		p++;
	for (i = 0; isdigit((unsigned char)p[i]) && i < 4; i++)
		y = y * 10 + (p[i] - '0');
	if (i == 2)
		y += y < 50 ? 2000 : 1900;  /* RFC 5322 §4.3 obsolete two-digit years */
	else if (i != 4)
		return false;
	*day = search_days_from_civil(y, m, d);
	return true;
}

int64_t search_sent_day(struct uimap_blob *blob)
{
	int64_t day = INT64_MIN;
	size_t hdr = header_end(blob->data, blob->size);
	if (!each_field(blob->data, hdr, "Date", parse_sent, &day))
		return INT64_MIN;
	return day;
}
