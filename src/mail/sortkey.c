/* SORT keys: the base subject of RFC 5256 §2.1, first addresses, the sent date. */
#include "mail/sortkey.h"
#include "mail/casemap.h"
#include "mail/charset.h"
#include "mail/envelope.h"
#include "mail/mime.h"
#include "mail/rfc822.h"
#include "core/blob.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* [s, e) shrinks; the helpers return true when they removed something. */

/* RFC 5256 §2.1 (2): subj-trailer = "(fwd)" / WSP, at the end */
static bool strip_trailer(const char *s, size_t *e, size_t b, bool *reply)
{
	bool any = false;
	for (;;) {
		if (*e > b && is_wsp(s[*e - 1])) {
			(*e)--;
		} else if (*e - b >= 5 && strncasecmp(s + *e - 5, "(fwd)", 5) == 0) {
			*e -= 5;
			*reply = true;
		} else {
			return any;
		}
		any = true;
	}
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP; returns the length, 0 when none at i */
static size_t blob_at(const char *s, size_t i, size_t e)
{
	if (i >= e || s[i] != '[')
		return 0;
	size_t j = i + 1;
	while (j < e && s[j] != '[' && s[j] != ']')
		j++;
	if (j >= e || s[j] != ']')
		return 0;
	j++;
	while (j < e && is_wsp(s[j]))
		j++;
	return j - i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"; length, or 0 */
static size_t refwd_at(const char *s, size_t i, size_t e)
{
	size_t j = i;
	if (e - j >= 2 && strncasecmp(s + j, "re", 2) == 0)
		j += 2;
	else if (e - j >= 3 && strncasecmp(s + j, "fwd", 3) == 0)
		j += 3;
	else if (e - j >= 2 && strncasecmp(s + j, "fw", 2) == 0)
		j += 2;
	else
		return 0;
	while (j < e && is_wsp(s[j]))
		j++;
	j += blob_at(s, j, e);
	if (j >= e || s[j] != ':')
		return 0;
	return j + 1 - i;
}

/* (3) subj-leader = (*subj-blob subj-refwd) / WSP, at the start; *reply set when a
   subj-refwd went */
static bool strip_leader(const char *s, size_t *b, size_t e, bool *reply)
{
	bool any = false;
	for (;;) {
		if (*b < e && is_wsp(s[*b])) {
			(*b)++;
			any = true;
			continue;
		}
		size_t j = *b, n;
		while ((n = blob_at(s, j, e)) > 0)
			j += n;
		n = refwd_at(s, j, e);
		if (n == 0)
			return any;
		*b = j + n;
		*reply = true;
		any = true;
	}
}

void mail_base_subject(struct buf *out, const char *raw, size_t len, bool *reply_r)
{
	bool reply = false;
	/* (1) decoded to UTF-8, tabs and folding to spaces, runs of spaces to one */
	struct buf dec = { 0 };
	mail_rfc2047_decode(&dec, raw, len);
	char *s = dec.data;
	size_t n = 0;
	for (size_t i = 0; i < dec.len; i++) {
		char c = s[i];
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		if (c == ' ' && n > 0 && s[n - 1] == ' ')
			continue;
		s[n++] = c;
	}
	size_t b = 0, e = n;
	for (;;) {
		strip_trailer(s, &e, b, &reply);                  /* (2) */
		for (bool again = true; again;) {                  /* (5): (3) and (4) */
			again = strip_leader(s, &b, e, &reply);    /* (3) */
			size_t blob = blob_at(s, b, e);            /* (4) */
			if (blob > 0 && b + blob < e) {
				b += blob;
				again = true;
			}
		}
		/* (6) "[fwd:" ... "]" around the whole: off, and again from (2) */
		if (e - b >= 6 && strncasecmp(s + b, "[fwd:", 5) == 0 && s[e - 1] == ']') {
			b += 5;
			e--;
			reply = true;
			continue;
		}
		break;
	}
	if (e > b)   /* an empty subject has no buffer at all (s NULL) */
		buf_append(out, s + b, e - b);
	buf_free(&dec);
	if (reply_r != NULL)
		*reply_r = reply;
}

/* Append every "<...>" message id of a header value (folded or not) to out, each
   followed by a space. */
static void msg_ids(struct buf *out, const char *data, struct mail_span span, bool first_only)
{
	if (span.off == MAIL_SPAN_NONE)
		return;
	const char *s = data + span.off, *end = s + span.len;
	while (s < end) {
		const char *lt = memchr(s, '<', (size_t)(end - s));
		if (lt == NULL)
			return;
		const char *gt = memchr(lt, '>', (size_t)(end - lt));
		if (gt == NULL)
			return;
		bool clean = true;
		for (const char *p = lt + 1; p < gt; p++)
			clean &= *p != '<' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n';
		if (clean && gt > lt + 1) {
			buf_append(out, lt, (size_t)(gt - lt + 1));
			buf_append(out, " ", 1);
			if (first_only)
				return;
		}
		s = clean ? gt + 1 : lt + 1;
	}
}

/* The References: field of the top-level header (not among the envelope's). */
static struct mail_span references_span(const struct mail_structure *st, const char *data)
{
	struct mail_span none = { MAIL_SPAN_NONE, 0 }, v, found = none;
	const char *name;
	size_t name_len;
	uint32_t pos = st->parts[0].hdr_off, line_end;
	while (mail_header_next(data, &pos, st->parts[0].body_off, &name, &name_len, &v,
				&line_end) > 0)
		if (name_len == 10 && strncasecmp(name, "References", 10) == 0)
			found = v;
	return found;
}

/* Append the casemap key of s (len bytes, RFC 5051) and a NUL; returns its offset in
   out. A NUL inside s ends the key there, as strcmp() would. */
static size_t put_key(struct buf *out, const char *s, size_t len)
{
	size_t off = out->len;
	mail_casemap(out, s != NULL ? s : "", len);
	buf_append(out, "", 1);
	return off;
}

/* The first address of a header span: its mailbox (addr-mailbox) and, for DISPLAY,
   its display name (decoded) or else mailbox@domain. */
static void first_address(struct buf *out, const char *data, struct mail_span span,
			  size_t *mailbox_r, size_t *display_r)
{
	struct mail_address_list list = { 0 };
	const struct mail_address *a = NULL;
	if (span.off != MAIL_SPAN_NONE) {
		char *unfolded = malloc(span.len + 1);
		size_t n = unfolded != NULL ? mail_span_unfold(data, span, unfolded) : 0;
		mail_address_parse(&list, unfolded != NULL ? unfolded : "", n);
		free(unfolded);
		/* the first real address (not a group's start or end marker) */
		for (size_t i = 0; i < list.n && a == NULL; i++)
			if (list.addrs[i].mailbox >= 0 && list.addrs[i].domain >= 0)
				a = &list.addrs[i];
	}
	if (a == NULL) {
		*mailbox_r = put_key(out, "", 0);
		if (display_r != NULL)
			*display_r = put_key(out, "", 0);
		mail_address_list_free(&list);
		return;
	}
	const char *mbox = mail_address_str(&list, a->mailbox);
	*mailbox_r = put_key(out, mbox, strlen(mbox));
	if (display_r != NULL) {
		struct buf d = { 0 };
		if (a->name >= 0) {
			const char *name = mail_address_str(&list, a->name);
			mail_rfc2047_decode(&d, name, strlen(name));
		}
		if (d.len == 0) {   /* RFC 5957 §2: no display name: the addr-spec */
			const char *dom = mail_address_str(&list, a->domain);
			buf_append(&d, mbox, strlen(mbox));
			buf_append(&d, "@", 1);
			buf_append(&d, dom, strlen(dom));
		}
		*display_r = put_key(out, d.data, d.len);
		buf_free(&d);
	}
	mail_address_list_free(&list);
}

const struct mail_sortkeys *mail_sortkeys_get(struct uimap_blob *blob)
{
	struct mail_structure *st = (struct mail_structure *)mail_structure_get(blob);
	if (st == NULL)
		return NULL;
	if (st->sortkeys != NULL)
		return st->sortkeys;
	struct mail_span none = { MAIL_SPAN_NONE, 0 };
	const struct mail_envelope_spans *env =
		st->n_parts > 0 && st->parts[0].env != MAIL_NONE ? &st->envelopes[st->parts[0].env]
								  : NULL;
	struct mail_span subj = env ? env->field[MAIL_ENV_SUBJECT] : none;
	struct mail_span date = env ? env->field[MAIL_ENV_DATE] : none;
	struct buf text = { 0 };
	size_t o_subject, o_from, o_to, o_cc, o_dfrom, o_dto, o_id, o_refs;
	bool reply = false;
	{
		struct buf base = { 0 };
		if (subj.off != MAIL_SPAN_NONE)
			mail_base_subject(&base, blob->data + subj.off, subj.len, &reply);
		o_subject = put_key(&text, base.data ? base.data : "", base.len);
		buf_free(&base);
	}
	first_address(&text, blob->data, env ? env->field[MAIL_ENV_FROM] : none, &o_from, &o_dfrom);
	first_address(&text, blob->data, env ? env->field[MAIL_ENV_TO] : none, &o_to, &o_dto);
	first_address(&text, blob->data, env ? env->field[MAIL_ENV_CC] : none, &o_cc, NULL);
	/* THREAD=REFERENCES (RFC 5256 §4): the message's id, its References (or the first
	   id of In-Reply-To), each "<...>" followed by a space */
	o_id = text.len;
	msg_ids(&text, blob->data, env ? env->field[MAIL_ENV_MESSAGE_ID] : none, true);
	buf_append(&text, "", 1);
	o_refs = text.len;
	size_t before = text.len;
	if (st->n_parts > 0)
		msg_ids(&text, blob->data, references_span(st, blob->data), false);
	if (text.len == before)
		msg_ids(&text, blob->data, env ? env->field[MAIL_ENV_IN_REPLY_TO] : none, true);
	buf_append(&text, "", 1);
	struct mail_sortkeys *k = malloc(sizeof(*k) + text.len);
	if (k == NULL) {
		buf_free(&text);
		return NULL;
	}
	char *strs = (char *)(k + 1);
	memcpy(strs, text.data, text.len);
	time_t t;
	int tz;
	const char *error;
	/* RFC 5256 §2.2: the sent date in UTC; without a valid Date: the caller uses
	   INTERNALDATE */
	k->has_date = date.off != MAIL_SPAN_NONE &&
		      rfc822_date_parse(blob->data + date.off, date.len, &t, &tz, &error) > 0;
	k->date = k->has_date ? (int64_t)t : 0;
	k->subject = strs + o_subject;
	k->from = strs + o_from;
	k->to = strs + o_to;
	k->cc = strs + o_cc;
	k->display_from = strs + o_dfrom;
	k->display_to = strs + o_dto;
	k->message_id = strs + o_id;
	k->references = strs + o_refs;
	k->subject_reply = reply;
	buf_free(&text);
	st->sortkeys = k;
	return k;
}
