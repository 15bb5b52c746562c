/* BODY / BODYSTRUCTURE: Content-* headers re-read from their spans and written out. */
#include "mail/bodystructure.h"
#include "mail/envelope.h"
#include "mail/imapstr.h"
#include "mail/rfc822.h"

#include <string.h>
#include <strings.h>

#define EMPTY_TEXT "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0"

static bool has_span(const struct mail_part *p, int f)
{
	return p->field[f].off != MAIL_SPAN_NONE;
}

static void write_str(struct outq *q, const char *s)
{
	imapstr_nstring(q, s, strlen(s));
}

/* Write a parameter list "(name value ...)" from pairs (name\0value\0...), with a
   default charset for text; NIL when empty. */
static void write_params(struct outq *q, const struct buf *pairs, size_t n, bool text)
{
	const char *s = pairs->data;
	bool charset = false;

	if (n == 0 && !text) {
		outq_append(q, "NIL", 3);
		return;
	}
	outq_append(q, "(", 1);
	for (size_t i = 0; i < n; i++) {
		const char *v = s + strlen(s) + 1;

		if (i > 0)
			outq_append(q, " ", 1);
		if (strcasecmp(s, "charset") == 0)
			charset = true;
		write_str(q, s);
		outq_append(q, " ", 1);
		write_str(q, v);
		s = v + strlen(v) + 1;
	}
	if (text && !charset) {
		if (n > 0)
			outq_append(q, " ", 1);
		outq_puts(q, "\"charset\" \"us-ascii\"");
	}
	outq_append(q, ")", 1);
}

static void write_span_nolf(struct outq *q, const char *data, const struct mail_part *p, int f)
{
	if (!has_span(p, f))
		outq_append(q, "NIL", 3);
	else
		imapstr_nstring_nolf(q, data + p->field[f].off, p->field[f].len);
}

static void write_disposition(struct outq *q, const char *data, const struct mail_part *p)
{
	struct rfc822 r;
	struct buf tok = { 0 }, params = { 0 };
	size_t n;

	if (!has_span(p, MAIL_F_CONTENT_DISPOSITION)) {
		outq_append(q, "NIL", 3);
		return;
	}
	rfc822_init(&r, data + p->field[MAIL_F_CONTENT_DISPOSITION].off,
		    p->field[MAIL_F_CONTENT_DISPOSITION].len, NULL);
	rfc822_skip_lwsp(&r);
	if (rfc822_mime_token(&r, &tok) < 0) {
		/* the token was read, then an unterminated comment */
		buf_free(&tok);
		outq_append(q, "NIL", 3);
		return;
	}
	n = rfc822_params(&r, &params);
	outq_append(q, "(", 1);
	imapstr_nstring(q, tok.data != NULL ? tok.data : "", tok.len);
	outq_append(q, " ", 1);
	write_params(q, &params, n, false);
	outq_append(q, ")", 1);
	buf_free(&tok);
	buf_free(&params);
}

static void write_language(struct outq *q, const char *data, const struct mail_part *p)
{
	struct rfc822 r;
	struct buf tok = { 0 };
	bool any = false;

	if (has_span(p, MAIL_F_CONTENT_LANGUAGE)) {
		rfc822_init(&r, data + p->field[MAIL_F_CONTENT_LANGUAGE].off,
			    p->field[MAIL_F_CONTENT_LANGUAGE].len, NULL);
		if (rfc822_skip_lwsp(&r) > 0) {
			for (;;) {
				tok.len = 0;
				if (rfc822_mime_token(&r, &tok) < 0 || tok.len == 0)
					break;
				outq_append(q, any ? " " : "(", 1);
				imapstr_nstring(q, tok.data, tok.len);
				any = true;
				if (r.p >= r.end || *r.p != ',')
					break;
				r.p++;
				if (rfc822_skip_lwsp(&r) <= 0)
					break;
			}
		}
	}
	if (any)
		outq_append(q, ")", 1);
	else
		outq_append(q, "NIL", 3);
	buf_free(&tok);
}

/* disposition, language, location (common to both kinds of part) */
static void write_ext_common(struct outq *q, const char *data, const struct mail_part *p)
{
	outq_append(q, " ", 1);
	write_disposition(q, data, p);
	outq_append(q, " ", 1);
	write_language(q, data, p);
	outq_append(q, " ", 1);
	write_span_nolf(q, data, p, MAIL_F_CONTENT_LOCATION);
}

struct ctype {
	struct buf type;        /* "type/subtype" as read */
	size_t slash;           /* index of '/' in type, or type.len */
	struct buf params;
	size_t n_params;
};

static void ctype_parse(struct ctype *ct, const char *data, const struct mail_part *p)
{
	struct rfc822 r;
	int ret;

	memset(ct, 0, sizeof(*ct));
	rfc822_init(&r, data + p->field[MAIL_F_CONTENT_TYPE].off,
		    p->field[MAIL_F_CONTENT_TYPE].len, NULL);
	rfc822_skip_lwsp(&r);
	ret = rfc822_content_type(&r, &ct->type);
	ct->slash = ct->type.len;
	if (ct->type.len > 0) {
		const char *sl = memchr(ct->type.data, '/', ct->type.len);

		if (sl != NULL)
			ct->slash = (size_t)(sl - ct->type.data);
	}
	if (ret >= 0)
		ct->n_params = rfc822_params(&r, &ct->params);
}

static void ctype_free(struct ctype *ct)
{
	buf_free(&ct->type);
	buf_free(&ct->params);
}

static void write_part(struct outq *q, const char *data, const struct mail_structure *s,
		       uint16_t idx, bool ext);

static void write_multipart(struct outq *q, const char *data, const struct mail_structure *s,
			    uint16_t idx, bool ext)
{
	const struct mail_part *p = &s->parts[idx];
	uint16_t c = mail_part_child(s, idx);
	struct ctype ct;

	if (c == MAIL_NONE) {
		outq_puts(q, EMPTY_TEXT);
		outq_puts(q, ext ? " NIL NIL NIL NIL)" : ")");
	}
	for (; c != MAIL_NONE && c != 0; c = s->parts[c].next)
		write_part(q, data, s, c, ext);
	ctype_parse(&ct, data, p);
	outq_append(q, " ", 1);
	if (ct.slash < ct.type.len)
		imapstr_nstring(q, ct.type.data + ct.slash + 1, ct.type.len - ct.slash - 1);
	else
		outq_puts(q, "\"x-unknown\"");
	if (ext) {
		outq_append(q, " ", 1);
		write_params(q, &ct.params, ct.n_params, false);
		write_ext_common(q, data, p);
	}
	ctype_free(&ct);
}

static void write_leaf(struct outq *q, const char *data, const struct mail_structure *s,
		       uint16_t idx, bool ext)
{
	const struct mail_part *p = &s->parts[idx];
	struct ctype ct;
	bool text;
	bool message = (p->flags & MAIL_PART_MESSAGE) != 0;

	if (message) {
		/* Dovecot writes message/rfc822 parts in lower case */
		text = false;
		outq_puts(q, "\"message\" \"rfc822\" ");
		if (has_span(p, MAIL_F_CONTENT_TYPE)) {
			ctype_parse(&ct, data, p);
			write_params(q, &ct.params, ct.n_params, false);
			ctype_free(&ct);
		} else {
			outq_append(q, "NIL", 3);
		}
	} else if (has_span(p, MAIL_F_CONTENT_TYPE)) {
		ctype_parse(&ct, data, p);
		const char *t = ct.type.data != NULL ? ct.type.data : "";

		text = ct.slash == 4 && strncasecmp(t, "text", 4) == 0;
		imapstr_nstring(q, t, ct.slash);
		outq_append(q, " ", 1);
		if (ct.slash < ct.type.len)
			imapstr_nstring(q, t + ct.slash + 1, ct.type.len - ct.slash - 1);
		else
			outq_append(q, "\"\"", 2);
		outq_append(q, " ", 1);
		write_params(q, &ct.params, ct.n_params, text);
		ctype_free(&ct);
	} else {
		text = true;
		outq_puts(q, "\"text\" \"plain\" (\"charset\" \"us-ascii\")");
	}
	outq_append(q, " ", 1);
	write_span_nolf(q, data, p, MAIL_F_CONTENT_ID);
	outq_append(q, " ", 1);
	write_span_nolf(q, data, p, MAIL_F_CONTENT_DESCRIPTION);
	outq_append(q, " ", 1);
	{
		struct rfc822 r;
		struct buf tok = { 0 };
		bool ok = false;

		if (has_span(p, MAIL_F_CONTENT_TRANSFER_ENCODING)) {
			rfc822_init(&r, data + p->field[MAIL_F_CONTENT_TRANSFER_ENCODING].off,
				    p->field[MAIL_F_CONTENT_TRANSFER_ENCODING].len, NULL);
			rfc822_skip_lwsp(&r);
			ok = rfc822_mime_token(&r, &tok) >= 0 && rfc822_skip_lwsp(&r) == 0 &&
			     tok.len > 0;
		}
		if (ok)
			imapstr_nstring(q, tok.data, tok.len);
		else
			outq_puts(q, "\"7bit\"");
		buf_free(&tok);
	}
	outq_printf(q, " %u", p->body_end - p->body_off);
	if (text) {
		outq_printf(q, " %u", p->lines);
	} else if (message && mail_part_child(s, idx) != MAIL_NONE) {
		uint16_t c = mail_part_child(s, idx);

		outq_append(q, " ", 1);
		mail_envelope_write(q, data, s, c);
		outq_append(q, " ", 1);
		write_part(q, data, s, c, ext);
		outq_printf(q, " %u", p->lines);
	}
	if (ext) {
		outq_append(q, " ", 1);
		write_span_nolf(q, data, p, MAIL_F_CONTENT_MD5);
		write_ext_common(q, data, p);
	}
}

static void write_part(struct outq *q, const char *data, const struct mail_structure *s,
		       uint16_t idx, bool ext)
{
	outq_append(q, "(", 1);
	if (s->parts[idx].flags & MAIL_PART_MULTIPART)
		write_multipart(q, data, s, idx, ext);
	else
		write_leaf(q, data, s, idx, ext);
	outq_append(q, ")", 1);
}

static bool span_is(const char *data, const struct mail_part *p, int f, const char *want)
{
	struct rfc822 r;
	struct buf tok = { 0 };
	bool ok;

	rfc822_init(&r, data + p->field[f].off, p->field[f].len, NULL);
	rfc822_skip_lwsp(&r);
	ok = rfc822_mime_token(&r, &tok) >= 0 && rfc822_skip_lwsp(&r) == 0 && tok.len > 0;
	ok = ok && tok.len == strlen(want) && strncasecmp(tok.data, want, tok.len) == 0;
	buf_free(&tok);
	return ok;
}

/* Dovecot's imap_bodystructure_is_plain_7bit(): a single text/plain part with at most
   charset=us-ascii and nothing else is answered from a constant (lower case). */
static bool is_plain_7bit(const char *data, const struct mail_structure *s)
{
	const struct mail_part *p = &s->parts[0];

	if (!(p->flags & MAIL_PART_TEXT) || s->n_parts != 1)
		return false;
	if (has_span(p, MAIL_F_CONTENT_TYPE)) {
		struct ctype ct;
		bool ok;

		ctype_parse(&ct, data, p);
		ok = ct.type.len - ct.slash == 6 &&
		     strncasecmp(ct.type.data + ct.slash + 1, "plain", 5) == 0;
		const char *k = ct.params.data;

		for (size_t i = 0; ok && i < ct.n_params; i++) {
			const char *v = k + strlen(k) + 1;

			ok = strcasecmp(k, "charset") == 0 && strcasecmp(v, "us-ascii") == 0;
			k = v + strlen(v) + 1;
		}
		ctype_free(&ct);
		if (!ok)
			return false;
	}
	if (has_span(p, MAIL_F_CONTENT_ID) || has_span(p, MAIL_F_CONTENT_DESCRIPTION) ||
	    has_span(p, MAIL_F_CONTENT_MD5) || has_span(p, MAIL_F_CONTENT_DISPOSITION) ||
	    has_span(p, MAIL_F_CONTENT_LANGUAGE) || has_span(p, MAIL_F_CONTENT_LOCATION))
		return false;
	if (has_span(p, MAIL_F_CONTENT_TRANSFER_ENCODING) &&
	    !span_is(data, p, MAIL_F_CONTENT_TRANSFER_ENCODING, "7bit")) {
		/* an unparsable encoding counts as absent, as in Dovecot */
		struct rfc822 r;
		struct buf tok = { 0 };
		const struct mail_span sp = p->field[MAIL_F_CONTENT_TRANSFER_ENCODING];
		bool valid;

		rfc822_init(&r, data + sp.off, sp.len, NULL);
		rfc822_skip_lwsp(&r);
		valid = rfc822_mime_token(&r, &tok) >= 0 && rfc822_skip_lwsp(&r) == 0 &&
			tok.len > 0;
		buf_free(&tok);
		if (valid)
			return false;
	}
	return true;
}

void mail_bodystructure_write(struct outq *q, const char *data, const struct mail_structure *s,
			      uint16_t part, bool extended)
{
	if (part == 0 && is_plain_7bit(data, s)) {
		const struct mail_part *p = &s->parts[0];

		outq_printf(q, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" %u %u%s)",
			    p->body_end - p->body_off, p->lines,
			    extended ? " NIL NIL NIL NIL" : "");
		return;
	}
	if (part >= s->n_parts) {
		outq_puts(q, EMPTY_TEXT);
		outq_puts(q, extended ? " NIL NIL NIL NIL)" : ")");
		return;
	}
	write_part(q, data, s, part, extended);
}
