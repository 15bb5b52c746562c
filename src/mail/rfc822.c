/* RFC 5322 / MIME lexical scanning with Dovecot-compatible error recovery. */
#include "mail/rfc822.h"

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
	if (rfc822_skip_lwsp(r) <= 0)
		return -1;
	if (rfc822_mime_token(r, out) <= 0)
		return -1;
	if (*r->p != '/')
		return -1;
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
	buf_append(out, "", 1);
	return 1;
}

struct cont {
	size_t name_off;    /* in the pair buffer */
	size_t base_len;    /* name length without "*N[*]" */
	unsigned idx;
	bool extended;      /* "*N*" */
	size_t value_off;
	size_t order;
};

static int cont_cmp(const void *a, const void *b)
{
	const struct cont *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return 0;
}

/* Whether name is "base*N" or "base*N*": fills the continuation fields. */
static bool parse_cont_name(const char *name, size_t len, struct cont *c)
{
	const char *star = memchr(name, '*', len);
	size_t i;
	unsigned idx = 0;

	if (star == NULL || star == name)
		return false;
	i = (size_t)(star - name) + 1;
	if (i >= len || name[i] < '0' || name[i] > '9')
		return false;
	for (; i < len && name[i] >= '0' && name[i] <= '9'; i++) {
		if (idx > 100000)
			return false;
		idx = idx * 10 + (unsigned)(name[i] - '0');
	}
	c->extended = false;
	if (i < len && name[i] == '*') {
		c->extended = true;
		i++;
	}
	if (i != len)
		return false;
	c->base_len = (size_t)(star - name);
	c->idx = idx;
	return true;
}

size_t rfc822_params(struct rfc822 *r, struct buf *out)
{
	struct buf raw = { 0 };
	struct cont *conts = NULL;
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
	/* plain parameters first, in order; continuations collected */
	for (size_t off = 0; off < raw.len;) {
		const char *name = raw.data + off;
		size_t name_len = strlen(name);
		size_t value_off = off + name_len + 1;
		size_t value_len = strlen(raw.data + value_off);
		struct cont c;

		if (parse_cont_name(name, name_len, &c)) {
			if (n_conts == cap_conts) {
				cap_conts = cap_conts ? cap_conts * 2 : 8;
				conts = realloc(conts, cap_conts * sizeof(*conts));
				if (conts == NULL)
					abort();
			}
			c.name_off = off;
			c.value_off = value_off;
			c.order = n_conts;
			/* group by base name: the order of the first one seen */
			for (size_t k = 0; k < n_conts; k++) {
				if (conts[k].base_len == c.base_len &&
				    strncasecmp(raw.data + conts[k].name_off, name,
						c.base_len) == 0) {
					c.order = conts[k].order;
					break;
				}
			}
			conts[n_conts++] = c;
		} else {
			buf_append(out, name, name_len + 1);
			buf_append(out, raw.data + value_off, value_len + 1);
			n_pairs++;
		}
		off = value_off + value_len + 1;
	}
	if (n_conts > 0) {
		qsort(conts, n_conts, sizeof(*conts), cont_cmp);
		for (size_t k = 0; k < n_conts;) {
			size_t j = k;

			buf_append(out, raw.data + conts[k].name_off, conts[k].base_len);
			if (conts[k].extended)
				buf_append(out, "*", 1);
			buf_append(out, "", 1);
			for (; j < n_conts && conts[j].order == conts[k].order; j++) {
				const char *v = raw.data + conts[j].value_off;

				buf_append(out, v, strlen(v));
			}
			buf_append(out, "", 1);
			n_pairs++;
			k = j;
		}
	}
	free(conts);
	buf_free(&raw);
	return n_pairs;
}
