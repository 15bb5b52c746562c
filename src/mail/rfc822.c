/* RFC 5322 / MIME lexical scanning with Dovecot-compatible error recovery. */
#include "mail/rfc822.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 1: atext, 2: alnum and 8-bit, 4: atext but a MIME tspecial ('/', '=', '?'). */
static const unsigned char atext_class[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1,
	['+'] = 1, ['-'] = 1, ['/'] = 4, ['='] = 4, ['?'] = 4, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
	['0' ... '9'] = 2, ['A' ... 'Z'] = 2, ['a' ... 'z'] = 2, [0x80 ... 0xff] = 2,
};

bool rfc822_is_atext(unsigned char c)
{
	return atext_class[c] != 0;
}

static bool is_token_char(unsigned char c)
{
	return (atext_class[c] & 3) != 0 || c == '.';
}

void rfc822_init(struct rfc822 *r, const char *data, size_t len, struct buf *comment)
{
	r->p = (const unsigned char *)data;
	r->end = r->p + len;
	r->comment = comment;
}

static int skip_comment(struct rfc822 *r)
{
	int level = 1;
	const unsigned char *start;

	if (r->comment != NULL)
		r->comment->len = 0;
	start = ++r->p;
	for (; r->p < r->end; r->p++) {
		switch (*r->p) {
		case '(':
			level++;
			break;
		case ')':
			if (--level == 0) {
				if (r->comment != NULL)
					buf_append(r->comment, start, (size_t)(r->p - start));
				r->p++;
				return r->p < r->end;
			}
			break;
		case '\\':
			if (r->comment != NULL)
				buf_append(r->comment, start, (size_t)(r->p - start));
			start = r->p + 1;
			r->p++;
			if (r->p >= r->end)
				return -1;
			break;
		default:
			break;
		}
	}
	return -1;
}

int rfc822_skip_lwsp(struct rfc822 *r)
{
	while (r->p < r->end) {
		unsigned char c = *r->p;

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			r->p++;
			continue;
		}
		if (c != '(')
			break;
		if (skip_comment(r) < 0)
			return -1;
	}
	return r->p < r->end;
}

int rfc822_atom(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start = r->p;

	if (r->p >= r->end || !rfc822_is_atext(*r->p))
		return -1;
	while (r->p < r->end && rfc822_is_atext(*r->p))
		r->p++;
	buf_append(out, start, (size_t)(r->p - start));
	if (r->p >= r->end)
		return 0;
	return rfc822_skip_lwsp(r);
}

int rfc822_dot_atom(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start;
	int ret;

	if (r->p >= r->end || !rfc822_is_atext(*r->p))
		return -1;
	for (start = r->p++; r->p < r->end;) {
		if (rfc822_is_atext(*r->p)) {
			r->p++;
			continue;
		}
		buf_append(out, start, (size_t)(r->p - start));
		if ((ret = rfc822_skip_lwsp(r)) <= 0)
			return ret;
		if (*r->p != '.')
			return 1;
		r->p++;
		buf_append(out, ".", 1);
		if ((ret = rfc822_skip_lwsp(r)) <= 0)
			return ret;
		start = r->p;
	}
	buf_append(out, start, (size_t)(r->p - start));
	return 0;
}

int rfc822_quoted_string(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start;

	r->p++;
	for (start = r->p; r->p < r->end; r->p++) {
		switch (*r->p) {
		case '"':
			buf_append(out, start, (size_t)(r->p - start));
			r->p++;
			return rfc822_skip_lwsp(r);
		case '\n': {
			size_t len = (size_t)(r->p - start);

			if (len > 0 && start[len - 1] == '\r')
				len--;
			buf_append(out, start, len);
			start = r->p + 1;
			break;
		}
		case '\\':
			r->p++;
			if (r->p >= r->end)
				return -1;
			buf_append(out, start, (size_t)(r->p - start - 1));
			start = r->p;
			break;
		default:
			break;
		}
	}
	return -1;
}

/* atext and '.' without skipping the whitespace in between (obs-phrase words). */
static int atom_or_dot(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start = r->p;

	while (r->p < r->end && (rfc822_is_atext(*r->p) || *r->p == '.'))
		r->p++;
	buf_append(out, start, (size_t)(r->p - start));
	if (r->p >= r->end)
		return 0;
	return rfc822_skip_lwsp(r);
}

int rfc822_phrase(struct rfc822 *r, struct buf *out)
{
	int ret;

	if (r->p >= r->end)
		return 0;
	if (*r->p == '.')
		return -1;
	for (;;) {
		if (*r->p == '"')
			ret = rfc822_quoted_string(r, out);
		else
			ret = atom_or_dot(r, out);
		if (ret <= 0)
			return ret;
		if (!rfc822_is_atext(*r->p) && *r->p != '"' && *r->p != '.')
			break;
		buf_append(out, " ", 1);
	}
	return rfc822_skip_lwsp(r);
}

static int domain_literal(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start = r->p;

	for (; r->p < r->end; r->p++) {
		if (*r->p == '\\') {
			r->p++;
			if (r->p >= r->end)
				break;
		} else if (*r->p == ']') {
			r->p++;
			buf_append(out, start, (size_t)(r->p - start));
			return rfc822_skip_lwsp(r);
		}
	}
	return -1;
}

int rfc822_domain(struct rfc822 *r, struct buf *out)
{
	r->p++; /* '@' */
	if (rfc822_skip_lwsp(r) <= 0)
		return -1;
	if (*r->p == '[')
		return domain_literal(r, out);
	return rfc822_dot_atom(r, out);
}

int rfc822_mime_token(struct rfc822 *r, struct buf *out)
{
	const unsigned char *start = r->p;

	while (r->p < r->end && is_token_char(*r->p))
		r->p++;
	buf_append(out, start, (size_t)(r->p - start));
	if (r->p >= r->end)
		return 0;
	return rfc822_skip_lwsp(r);
}

int rfc822_content_type(struct rfc822 *r, struct buf *out)
{
	size_t mark = out->len;

	if (rfc822_skip_lwsp(r) <= 0)
		return -1;
	/* the main type: at least one byte */
	if (rfc822_mime_token(r, out) <= 0 || out->len == mark)
		return -1;
	if (*r->p != '/') {
		out->len = mark;
		return -1;
	}
	r->p++;
	if (rfc822_skip_lwsp(r) <= 0)
		return -1;
	buf_append(out, "/", 1);
	return rfc822_mime_token(r, out);
}

/* One "; name=value": 1 with the pair appended to out (name\0value\0), 0 at the end,
   -1 on a syntax error (nothing appended). */
static int content_param(struct rfc822 *r, struct buf *out)
{
	size_t mark = out->len;
	int ret;

	if (r->p >= r->end)
		return 0;
	if (*r->p != ';')
		return -1;
	r->p++;
	if (rfc822_skip_lwsp(r) <= 0)
		return -1;
	if (rfc822_mime_token(r, out) <= 0 || *r->p != '=') {
		out->len = mark;
		return -1;
	}
	buf_append(out, "", 1);
	size_t value_start = out->len;

	r->p++;
	if ((ret = rfc822_skip_lwsp(r)) <= 0) {
		/* no value */
	} else if (*r->p == '"') {
		ret = rfc822_quoted_string(r, out);
	} else if (*r->p == '=') {
		/* broken input such as name==?utf-8?b?...?= (Dovecot's workaround) */
		const unsigned char *start = r->p;

		while (r->p < r->end && *r->p != ';' && *r->p != ' ' && *r->p != '\t' &&
		       *r->p != '\r' && *r->p != '\n')
			r->p++;
		buf_append(out, start, (size_t)(r->p - start));
	} else {
		ret = rfc822_mime_token(r, out);
	}
	if (ret < 0) {
		out->len = mark;
		return -1;
	}
	/* NUL would end the value early: 0x80 instead, as Dovecot */
	for (size_t i = value_start; i < out->len; i++) {
		if (out->data[i] == '\0')
			out->data[i] = (char)0x80;
	}
	buf_append(out, "", 1);
	return 1;
}

struct cont {
	size_t key_off;     /* the name in the raw pair buffer (key = name up to '*') */
	size_t key_len;
	unsigned idx;
	bool extended;
	size_t value_off;
};

#define MIN_SZ(a, b) ((a) < (b) ? (a) : (b))

static const char *cont_raw;    /* qsort context: the raw pair buffer */

/* Dovecot sorts by strcmp() of the key, then by index. */
static int cont_cmp(const void *a, const void *b)
{
	const struct cont *x = a, *y = b;
	size_t n = MIN_SZ(x->key_len, y->key_len);
	int r = memcmp(cont_raw + x->key_off, cont_raw + y->key_off, n);

	if (r != 0)
		return r;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return 0;
}

static void append_escaped(struct buf *out, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '%')
			buf_append(out, "%25", 3);
		else
			buf_append(out, v, 1);
	}
}

static void append_pair(struct buf *out, const char *k, size_t klen, const char *suffix,
			const char *v, size_t vlen)
{
	buf_append(out, k, klen);
	buf_append(out, suffix, strlen(suffix));
	buf_append(out, "", 1);
	buf_append(out, v, vlen);
	buf_append(out, "", 1);
}

/* Dovecot's rfc2231_parse(): plain parameters in order, then the RFC 2231 ones
   (key*, key*N, key*N*) sorted by key and index and merged when their indexes run
   0, 1, 2... (else listed one by one as key*N[*]). */
size_t rfc822_params(struct rfc822 *r, struct buf *out)
{
	struct buf raw = { 0 };
	struct cont *conts = NULL, cur = { 0 };
	size_t n_conts = 0, cap_conts = 0, n_pairs = 0;
	int ret;

	while ((ret = content_param(r, &raw)) != 0) {
		if (ret < 0) {
			/* skip one byte and try again, as Dovecot does */
			if (r->p >= r->end)
				break;
			r->p++;
		}
	}
	for (size_t off = 0; off < raw.len;) {
		const char *name = raw.data + off;
		size_t name_len = strlen(name);
		size_t value_off = off + name_len + 1;
		size_t value_len = strlen(raw.data + value_off);
		const char *star = memchr(name, '*', name_len);
		bool is_cont = false;

		if (star != NULL) {
			const char *q = star;

			if (q[1] != '\0') {
				q++;
				cur.idx = 0;
				for (; *q >= '0' && *q <= '9'; q++)
					cur.idx = cur.idx * 10 + (unsigned)(*q - '0');
			}
			cur.extended = *q == '*';
			if (cur.extended)
				q++;
			if (*q == '\0') {
				is_cont = true;
				cur.key_off = off;
				cur.key_len = (size_t)(star - name);
				cur.value_off = value_off;
				if (n_conts == cap_conts) {
					cap_conts = cap_conts ? cap_conts * 2 : 8;
					conts = realloc(conts, cap_conts * sizeof(*conts));
					if (conts == NULL)
						abort();
				}
				conts[n_conts++] = cur;
			}
		}
		if (!is_cont) {
			append_pair(out, name, name_len, "", raw.data + value_off, value_len);
			n_pairs++;
		}
		off = value_off + value_len + 1;
	}
	if (n_conts > 0) {
		struct buf v = { 0 };

		cont_raw = raw.data;
		qsort(conts, n_conts, sizeof(*conts), cont_cmp);
		for (size_t i = 0, next; i < n_conts; i = next) {
			bool ok = true, have_ext = false;
			unsigned next_idx = 0;
			size_t j;

			for (j = i; j < n_conts; j++) {
				if (conts[j].key_len != conts[i].key_len ||
				    strncasecmp(raw.data + conts[i].key_off,
						raw.data + conts[j].key_off, conts[i].key_len) != 0)
					break;
				if (conts[j].idx != next_idx)
					ok = false;
				if (conts[j].extended)
					have_ext = true;
				next_idx++;
			}
			next = j;
			if (!ok) {
				for (j = i; j < next; j++) {
					char suffix[24];
					const char *val = raw.data + conts[j].value_off;

					snprintf(suffix, sizeof(suffix), conts[j].extended ? "*%u*" : "*%u",
						 conts[j].idx);
					append_pair(out, raw.data + conts[j].key_off, conts[j].key_len,
						    suffix, val, strlen(val));
					n_pairs++;
				}
				continue;
			}
			v.len = 0;
			if (!conts[i].extended && have_ext)
				buf_append(&v, "''", 2);
			for (j = i; j < next; j++) {
				const char *val = raw.data + conts[j].value_off;

				if (!conts[j].extended && have_ext)
					append_escaped(&v, val);
				else
					buf_append(&v, val, strlen(val));
			}
			append_pair(out, raw.data + conts[i].key_off, conts[i].key_len,
				    have_ext ? "*" : "", v.data != NULL ? v.data : "", v.len);
			n_pairs++;
		}
		buf_free(&v);
	}
	free(conts);
	buf_free(&raw);
	return n_pairs;
}
