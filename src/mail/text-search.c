/* SEARCH: decode text parts and header values, map case (RFC 5051), find substrings. */
#include "mail/text-search.h"
#include "mail/casemap.h"
#include "mail/charset.h"
#include "mail/envelope.h"
#include "mail/rfc822.h"

#include <string.h>
#include <strings.h>

void mail_search_fold(struct buf *out, const char *s, size_t len)
{
	mail_casemap(out, s, len);
}

void mail_search_key_init(struct mail_search_key *key, const char *needle, size_t len)
{
	memset(key, 0, sizeof(*key));
	mail_search_fold(&key->folded, needle, len);
}

void mail_search_key_free(struct mail_search_key *key)
{
	buf_free(&key->folded);
}

/* The value of parameter name in the Content-Type span of p, into out. */
static bool ct_param(const char *data, const struct mail_part *p, const char *name,
		     struct buf *out)
{
	struct mail_span sp = p->field[MAIL_F_CONTENT_TYPE];
	struct rfc822 r;
	struct buf type = { 0 }, params = { 0 };
	bool found = false;

	if (sp.off == MAIL_SPAN_NONE)
		return false;
	rfc822_init(&r, data + sp.off, sp.len, NULL);
	rfc822_skip_lwsp(&r);
	if (rfc822_content_type(&r, &type) >= 0) {
		size_t n = rfc822_params(&r, &params);
		const char *s = params.data;

		for (size_t i = 0; i < n && !found; i++) {
			const char *v = s + strlen(s) + 1;

			if (strcasecmp(s, name) == 0) {
				buf_append(out, v, strlen(v));
				found = true;
			}
			s = v + strlen(v) + 1;
		}
	}
	buf_free(&type);
	buf_free(&params);
	return found;
}

static int cte_kind(const char *data, const struct mail_part *p)
{
	struct mail_span sp = p->field[MAIL_F_CONTENT_TRANSFER_ENCODING];
	struct rfc822 r;
	struct buf tok = { 0 };
	int kind = 0;

	if (sp.off == MAIL_SPAN_NONE)
		return 0;
	rfc822_init(&r, data + sp.off, sp.len, NULL);
	rfc822_skip_lwsp(&r);
	rfc822_mime_token(&r, &tok);
	if (tok.len == 6 && strncasecmp(tok.data, "base64", 6) == 0)
		kind = 1;
	else if (tok.len == 16 && strncasecmp(tok.data, "quoted-printable", 16) == 0)
		kind = 2;
	buf_free(&tok);
	return kind;
}

int mail_text_foreach(const char *data, const struct mail_structure *s,
		      int (*fn)(void *ctx, const char *text, size_t len), void *ctx)
{
	struct buf raw = { 0 }, utf8 = { 0 }, cs = { 0 };
	int ret = 0;

	for (uint16_t i = 0; i < s->n_parts && ret == 0; i++) {
		const struct mail_part *p = &s->parts[i];
		const char *body = data + p->body_off;
		size_t len = p->body_end - p->body_off;

		if (!(p->flags & MAIL_PART_TEXT) || (p->flags & MAIL_PART_MULTIPART))
			continue;
		raw.len = utf8.len = cs.len = 0;
		switch (cte_kind(data, p)) {
		case 1:
			mail_base64_decode(&raw, body, len);
			break;
		case 2:
			mail_qp_decode(&raw, body, len, false);
			break;
		default:
			buf_append(&raw, body, len);
			break;
		}
		ct_param(data, p, "charset", &cs);
		mail_charset_to_utf8(&utf8, cs.data != NULL ? cs.data : "", cs.len,
				     raw.data != NULL ? raw.data : "", raw.len);
		ret = fn(ctx, utf8.data != NULL ? utf8.data : "", utf8.len);
	}
	buf_free(&raw);
	buf_free(&utf8);
	buf_free(&cs);
	return ret;
}

struct match_ctx {
	const struct mail_search_key *key;
	struct buf folded;
	struct buf addr;        /* an address field written out */
};

static int match_text(void *vctx, const char *text, size_t len)
{
	struct match_ctx *m = vctx;

	if (m->key->folded.len == 0)
		return 1;
	m->folded.len = 0;
	mail_casemap(&m->folded, text, len);
	return m->folded.len >= m->key->folded.len &&
	       memmem(m->folded.data, m->folded.len, m->key->folded.data,
		      m->key->folded.len) != NULL;
}

/* Fields of the header of part: name NULL = every field, as "Name: decoded value";
   address true = the field's addresses as mail_address_write() puts them. */
static bool match_header(const char *data, const struct mail_structure *s, uint16_t part,
			 const char *name, bool address, struct match_ctx *m)
{
	uint32_t pos = s->parts[part].hdr_off, end = s->parts[part].body_off, line_end;
	const char *fname;
	size_t fname_len, want = name != NULL ? strlen(name) : 0;
	struct mail_span v;
	struct buf dec = { 0 };
	bool found = false;

	while (!found &&
	       mail_header_next(data, &pos, end, &fname, &fname_len, &v, &line_end) == 1) {
		if (name != NULL && (fname_len != want || strncasecmp(fname, name, want) != 0))
			continue;
		dec.len = 0;
		if (name == NULL) {
			buf_append(&dec, fname, fname_len);
			buf_append(&dec, ": ", 2);
		}
		if (address && m->key->folded.len > 0) {
			struct mail_address_list list = { 0 };

			mail_address_parse(&list, data + v.off, v.len);
			mail_address_write(&m->addr, &list);
			mail_address_list_free(&list);
			mail_rfc2047_decode(&dec, m->addr.data != NULL ? m->addr.data : "",
					    m->addr.len);
			m->addr.len = 0;
		} else {
			mail_rfc2047_decode(&dec, data + v.off, v.len);
		}
		found = match_text(m, dec.data != NULL ? dec.data : "", dec.len) != 0;
	}
	buf_free(&dec);
	return found;
}

bool mail_search_match(const char *data, const struct mail_structure *s,
		       enum mail_search_scope scope, const char *name,
		       const struct mail_search_key *key)
{
	struct match_ctx m = { .key = key };
	bool found = false;

	switch (scope) {
	case MAIL_SEARCH_HEADER:
	case MAIL_SEARCH_ADDRESS:
		found = name != NULL &&
			match_header(data, s, 0, name, scope == MAIL_SEARCH_ADDRESS, &m);
		break;
	case MAIL_SEARCH_TEXT:
		/* RFC 3501 §6.4.4: TEXT is "the header or body of the message": every
		   MIME header too, as Dovecot does */
		for (uint16_t i = 0; i < s->n_parts && !found; i++)
			found = match_header(data, s, i, NULL, false, &m);
		if (!found)
			found = mail_text_foreach(data, s, match_text, &m) != 0;
		break;
	case MAIL_SEARCH_BODY:
		if (key->folded.len == 0)
			found = true;
		else
			found = mail_text_foreach(data, s, match_text, &m) != 0;
		break;
	}
	buf_free(&m.folded);
	buf_free(&m.addr);
	return found;
}

bool mail_search_text(const struct uimap_blob *blob, const struct mail_structure *s,
		      enum mail_search_scope scope, const char *name, const char *needle)
{
	struct mail_search_key key;
	bool r;

	mail_search_key_init(&key, needle, strlen(needle));
	r = mail_search_match(blob->data, s, scope, name, &key);
	mail_search_key_free(&key);
	return r;
}
