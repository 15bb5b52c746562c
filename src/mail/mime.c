/* One-pass MIME parser: part tree, header field spans and line counts as offsets. */
#include "mail/mime.h"
#include "core/blob.h"
#include "mail/rfc822.h"
#include "core/common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BOUNDARY_MAX_LEN 70     /* RFC 2046 5.1.1; longer ones are truncated (Dovecot) */

struct boundary {
	char text[BOUNDARY_MAX_LEN];
	uint32_t len;
	bool found;                 /* a boundary parameter exists (may be empty) */
	uint16_t part;              /* the multipart that owns it */
};

struct mime_parser {
	const char *data;
	uint32_t size;
	struct mail_part *parts;
	uint32_t n_parts, cap_parts;
	struct mail_envelope_spans *envs;
	uint32_t n_envs, cap_envs;
	struct boundary *bnd;       /* stack, innermost last */
	uint32_t n_bnd;
	/* line counting cursor: lf_count LFs lie before lf_pos */
	uint32_t lf_pos, lf_count;
	bool oom;
};

/* What ended a part: a boundary line at line (index into the stack, closing when
   followed by "--"), or the end of the data (idx < 0). */
struct stop {
	int idx;
	bool closing;
	uint32_t line;      /* offset of the "--" */
	uint32_t next;      /* offset after the boundary line's LF */
	uint32_t end;       /* end of the content before the boundary line */
};

static uint32_t lf_before(struct mime_parser *p, uint32_t pos)
{
	if (pos >= p->lf_pos) {
		const char *s = p->data + p->lf_pos, *e = p->data + pos;

		while ((s = memchr(s, '\n', (size_t)(e - s))) != NULL) {
			p->lf_count++;
			s++;
		}
		p->lf_pos = pos;
		return p->lf_count;
	}
	uint32_t n = p->lf_count;
	const char *s = p->data + pos, *e = p->data + p->lf_pos;

	while ((s = memchr(s, '\n', (size_t)(e - s))) != NULL) {
		n--;
		s++;
	}
	return n;
}

/* Whether the line at pos is a boundary line of an enclosing multipart: fills st.
   The longest matching boundary wins; among equal ones the innermost. */
static bool boundary_at(const struct mime_parser *p, uint32_t pos, struct stop *st)
{
	const char *s = p->data + pos;
	uint32_t avail = p->size - pos, linelen;
	const char *lf;
	int best = -1;

	if (p->n_bnd == 0 || avail < 2 || s[0] != '-' || s[1] != '-')
		return false;
	s += 2;
	avail -= 2;
	lf = memchr(s, '\n', avail);
	linelen = lf != NULL ? (uint32_t)(lf - s) : avail;
	if (lf != NULL && linelen > 0 && s[linelen - 1] == '\r')
		linelen--;
	for (int i = (int)p->n_bnd - 1; i >= 0; i--) {
		const struct boundary *b = &p->bnd[i];

		if (b->len <= linelen && memcmp(b->text, s, b->len) == 0 &&
		    (best < 0 || p->bnd[best].len < b->len)) {
			best = i;
			if (b->len == linelen)
				break;
		}
	}
	if (best < 0)
		return false;
	st->idx = best;
	st->closing = avail >= p->bnd[best].len + 2 && s[p->bnd[best].len] == '-' &&
		      s[p->bnd[best].len + 1] == '-';
	st->line = pos;
	st->next = lf != NULL ? (uint32_t)(lf - p->data) + 1 : p->size;
	return true;
}

/* End of the content before a boundary line at line (its [CR]LF excluded), not
   before start. */
static uint32_t end_before(const struct mime_parser *p, uint32_t line, uint32_t start)
{
	uint32_t e = line;

	if (e > start && p->data[e - 1] == '\n') {
		e--;
		if (e > start && p->data[e - 1] == '\r')
			e--;
	}
	return e;
}

/* Scan lines from pos (a line start) for a boundary line. */
static void find_boundary(const struct mime_parser *p, uint32_t pos, struct stop *st)
{
	const char *end = p->data + p->size;

	uint32_t start = pos;

	if (p->n_bnd == 0)
		goto eof;
	for (;;) {
		if (boundary_at(p, pos, st)) {
			/* the [CR]LF before the boundary belongs to it, but not one that
			   precedes this segment (a closing boundary line's own LF) */
			st->end = end_before(p, st->line, start);
			return;
		}
		const char *lf = memchr(p->data + pos, '\n', (size_t)(end - (p->data + pos)));

		if (lf == NULL)
			break;
		pos = (uint32_t)(lf - p->data) + 1;
	}
eof:
	st->idx = -1;
	st->closing = false;
	st->line = st->next = st->end = p->size;
}

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

int mail_header_next(const char *data, uint32_t *pos, uint32_t end, const char **name_r,
		     size_t *name_len_r, struct mail_span *value_r, uint32_t *line_end_r)
{
	uint32_t p = *pos, line_end, colon = UINT32_MAX, v;
	const char *lf;

	if (p >= end)
		return 0;
	if (data[p] == '\n' || (data[p] == '\r' && p + 1 < end && data[p + 1] == '\n'))
		return 0;
	/* the field: this line and every following line starting with SP/HTAB */
	line_end = p;
	for (;;) {
		lf = memchr(data + line_end, '\n', end - line_end);
		line_end = lf != NULL ? (uint32_t)(lf - data) + 1 : end;
		if (line_end >= end || (data[line_end] != ' ' && data[line_end] != '\t'))
			break;
	}
	const char *c = memchr(data + p, ':', line_end - p);
	const char *nl = memchr(data + p, '\n', line_end - p);

	if (c != NULL && (nl == NULL || c < nl))
		colon = (uint32_t)(c - data);
	/* the value ends before the final [CR]LF */
	uint32_t vend = line_end;

	if (vend > p && data[vend - 1] == '\n') {
		vend--;
		if (vend > p && data[vend - 1] == '\r')
			vend--;
	}
	if (colon == UINT32_MAX) {
		uint32_t nend = nl != NULL ? (uint32_t)(nl - data) : vend;

		if (nend > p && data[nend - 1] == '\r')
			nend--;
		*name_r = data + p;
		*name_len_r = nend - p;
		value_r->off = nend;
		value_r->len = vend > nend ? vend - nend : 0;
	} else {
		size_t nlen = colon - p;

		while (nlen > 0 && (data[p + nlen - 1] == ' ' || data[p + nlen - 1] == '\t'))
			nlen--;
		*name_r = data + p;
		*name_len_r = nlen;
		/* skip the LWSP after ':'; when the first line is only LWSP, skip one */
		uint32_t first_end = nl != NULL ? (uint32_t)(nl - data) : vend;

		if (first_end > colon + 1 && data[first_end - 1] == '\r' && nl != NULL)
			first_end--;
		if (first_end > vend)
			first_end = vend;
		v = colon + 1;
		while (v < first_end && (data[v] == ' ' || data[v] == '\t'))
			v++;
		if (v == first_end) {
			v = colon + 1;
			if (v < first_end && (data[v] == ' ' || data[v] == '\t'))
				v++;
		}
		value_r->off = v;
		value_r->len = vend - v;
	}
	*line_end_r = line_end;
	*pos = line_end;
	return 1;
}

size_t mail_span_unfold(const char *data, struct mail_span span, char *out)
{
	size_t n = 0;

	for (uint32_t i = 0; i < span.len; i++) {
		char ch = data[span.off + i];

		if (ch != '\r' && ch != '\n')
			out[n++] = ch;
	}
	return n;
}

static uint16_t part_new(struct mime_parser *p, uint32_t hdr_off, uint16_t parent, uint8_t depth)
{
	if (p->n_parts == p->cap_parts) {
		uint32_t cap = p->cap_parts ? p->cap_parts * 2 : 8;
		struct mail_part *n = realloc(p->parts, cap * sizeof(*n));

		if (n == NULL) {
			p->oom = true;
			return MAIL_NONE;
		}
		p->parts = n;
		p->cap_parts = cap;
	}
	struct mail_part *part = &p->parts[p->n_parts];

	memset(part, 0, sizeof(*part));
	part->hdr_off = hdr_off;
	part->parent = parent;
	part->env = MAIL_NONE;
	part->depth = depth;
	for (int i = 0; i < MAIL_F_COUNT; i++)
		part->field[i].off = MAIL_SPAN_NONE;
	return (uint16_t)p->n_parts++;
}

static uint16_t env_new(struct mime_parser *p)
{
	if (p->n_envs == p->cap_envs) {
		uint32_t cap = p->cap_envs ? p->cap_envs * 2 : 2;
		struct mail_envelope_spans *n = realloc(p->envs, cap * sizeof(*n));

		if (n == NULL) {
			p->oom = true;
			return MAIL_NONE;
		}
		p->envs = n;
		p->cap_envs = cap;
	}
	struct mail_envelope_spans *e = &p->envs[p->n_envs];

	for (int i = 0; i < MAIL_ENV_COUNT; i++)
		e->field[i].off = MAIL_SPAN_NONE, e->field[i].len = 0;
	e->repeated = 0;
	return (uint16_t)p->n_envs++;
}

static int env_field(const char *name, size_t len)
{
	static const char *const names[MAIL_ENV_COUNT] = {
		"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
		"In-Reply-To", "Message-ID",
	};

	if (len < 2 || len > 11)
		return -1;
	for (int i = 0; i < MAIL_ENV_COUNT; i++)
		if (name_is(name, len, names[i]))
			return i;
	return -1;
}

static int content_field(const char *name, size_t len)
{
	static const char *const names[MAIL_F_COUNT] = {
		"Type", "Transfer-Encoding", "ID", "Description", "Disposition", "Language",
		"Location", "MD5",
	};

	if (len < 10 || strncasecmp(name, "Content-", 8) != 0)
		return -1;
	for (int i = 0; i < MAIL_F_COUNT; i++)
		if (name_is(name + 8, len - 8, names[i]))
			return i;
	return -1;
}

static bool env_is_address(int f)
{
	return f >= MAIL_ENV_FROM && f <= MAIL_ENV_BCC;
}

/* Read the header at pos: record the fields, find where the body starts. Stops at a
   blank line, at a boundary line of an enclosing multipart, or at the end. */
static void parse_header(struct mime_parser *p, uint16_t idx, uint32_t pos, bool want_env,
			 struct stop *st)
{
	const char *name;
	size_t name_len;
	struct mail_span value;
	uint32_t line_end;
	uint16_t env = MAIL_NONE;

	st->idx = -1;
	if (want_env) {
		env = env_new(p);
		p->parts[idx].env = env;
	}
	for (;;) {
		if (boundary_at(p, pos, st)) {
			p->parts[idx].body_off = pos;
			st->end = pos;
			return;
		}
		uint32_t start = pos;

		if (mail_header_next(p->data, &pos, p->size, &name, &name_len, &value,
				     &line_end) == 0) {
			if (start < p->size) {
				/* the blank line */
				const char *lf = memchr(p->data + start, '\n', p->size - start);

				pos = lf != NULL ? (uint32_t)(lf - p->data) + 1 : p->size;
				p->parts[idx].flags |= MAIL_PART_HAS_EOH;
			}
			p->parts[idx].body_off = pos;
			st->idx = -1;
			return;
		}
		int f = content_field(name, name_len);

		if (f >= 0) {
			if (p->parts[idx].field[f].off == MAIL_SPAN_NONE)
				p->parts[idx].field[f] = value;
		}
		if (env != MAIL_NONE && (f = env_field(name, name_len)) >= 0) {
			struct mail_envelope_spans *e = &p->envs[env];

			if (env_is_address(f) && e->field[f].off != MAIL_SPAN_NONE)
				e->repeated |= 1u << f;
			else
				e->field[f] = value;
		}
	}
}

/* Classify the part from its Content-Type and find its boundary (into bnd). */
static void classify(struct mime_parser *p, uint16_t idx, bool in_digest, struct boundary *bnd)
{
	struct mail_part *part = &p->parts[idx];
	struct mail_span ct = part->field[MAIL_F_CONTENT_TYPE];

	bnd->len = 0;
	bnd->found = false;
	if (ct.off == MAIL_SPAN_NONE) {
		part->flags |= in_digest ? MAIL_PART_MESSAGE : MAIL_PART_TEXT;
		return;
	}
	struct rfc822 r;
	struct buf type = { 0 };
	int ret;

	rfc822_init(&r, p->data + ct.off, ct.len, NULL);
	rfc822_skip_lwsp(&r);
	ret = rfc822_content_type(&r, &type);
	if (type.len == 14 && strncasecmp(type.data, "message/rfc822", 14) == 0) {
		part->flags |= MAIL_PART_MESSAGE;
	} else if (type.len >= 4 && strncasecmp(type.data, "text", 4) == 0 &&
		   (type.len == 4 || type.data[4] == '/')) {
		part->flags |= MAIL_PART_TEXT;
	} else if (type.len >= 10 && strncasecmp(type.data, "multipart/", 10) == 0) {
		part->flags |= MAIL_PART_MULTIPART;
		if (type.len == 16 && strncasecmp(type.data + 10, "digest", 6) == 0)
			part->flags |= MAIL_PART_DIGEST;
		if (ret >= 0) {
			struct buf params = { 0 };
			size_t n = rfc822_params(&r, &params);
			const char *s = params.data;

			for (size_t i = 0; i < n; i++) {
				size_t nl = strlen(s);
				const char *v = s + nl + 1;
				size_t vl = strlen(v);

				if (strcasecmp(s, "boundary") == 0) {
					bnd->len = (uint32_t)MIN(vl, (size_t)BOUNDARY_MAX_LEN);
					memcpy(bnd->text, v, bnd->len);
					bnd->found = true;
					break;
				}
				s = v + vl + 1;
			}
			buf_free(&params);
		}
	}
	buf_free(&type);
}

/* Parse the part whose header starts at pos; st reports what ended it. */
static void parse_part(struct mime_parser *p, uint32_t pos, uint16_t parent, unsigned depth,
		       bool in_digest, bool is_message, struct stop *st)
{
	uint16_t idx = part_new(p, pos, parent, (uint8_t)depth);
	struct boundary b;
	uint32_t body, end, lines0;

	if (idx == MAIL_NONE) {
		st->idx = -1;
		st->line = st->next = st->end = p->size;
		return;
	}
	parse_header(p, idx, pos, is_message, st);
	body = p->parts[idx].body_off;
	lines0 = lf_before(p, body);
	classify(p, idx, in_digest, &b);
	if (depth + 1 >= MAIL_MAX_DEPTH || p->n_parts >= MAIL_MAX_PARTS)
		p->parts[idx].flags &= (uint8_t)~MAIL_PART_MESSAGE;
	if (st->idx >= 0) {
		/* the header was cut by a boundary line: no body */
		p->parts[idx].body_end = body;
		if (p->parts[idx].flags & MAIL_PART_MESSAGE) {
			uint16_t c = part_new(p, body, idx, (uint8_t)(depth + 1));

			if (c != MAIL_NONE) {
				p->parts[c].body_off = p->parts[c].body_end = body;
				p->parts[c].flags |= MAIL_PART_TEXT;
				p->parts[c].env = env_new(p);
				if (p->parts[c].env == MAIL_NONE)
					p->parts[idx].flags &= (uint8_t)~MAIL_PART_MESSAGE;
			} else {
				p->parts[idx].flags &= (uint8_t)~MAIL_PART_MESSAGE;
			}
		}
		return;
	}
	uint8_t flags = p->parts[idx].flags;

	if ((flags & MAIL_PART_MULTIPART) && b.found && depth + 1 < MAIL_MAX_DEPTH &&
	    p->n_bnd < MAIL_MAX_DEPTH) {
		uint32_t my = p->n_bnd;
		uint16_t prev = MAIL_NONE;

		b.part = idx;
		p->bnd[p->n_bnd++] = b;
		find_boundary(p, body, st);
		while (st->idx == (int)my && !st->closing && !p->oom) {
			uint16_t c = (uint16_t)p->n_parts;

			if (p->n_parts >= MAIL_MAX_PARTS) {
				/* no more parts: the rest is this multipart's body */
				st->idx = -1;
				st->line = st->next = st->end = p->size;
				break;
			}
			parse_part(p, st->next, idx, depth + 1, flags & MAIL_PART_DIGEST, false,
				   st);
			if (prev != MAIL_NONE)
				p->parts[prev].next = c;
			prev = c;
		}
		p->n_bnd = my;
		if (st->idx == (int)my) {
			/* the closing boundary: the epilogue runs to an outer boundary */
			find_boundary(p, st->next, st);
		}
	} else if ((flags & MAIL_PART_MESSAGE) && !p->oom) {
		parse_part(p, body, idx, depth + 1, false, true, st);
		if (p->n_parts == (uint32_t)idx + 1)
			p->parts[idx].flags &= (uint8_t)~MAIL_PART_MESSAGE;
	} else {
		find_boundary(p, body, st);
	}
	end = st->idx >= 0 ? st->end : p->size;
	if (end < body)
		end = body;
	p->parts[idx].body_end = end;
	p->parts[idx].lines = lf_before(p, end) - lines0;
}

/* The structure's size follows the message's (parts are bounded by MAIL_MAX_PARTS):
   it is allocated with malloc() and running out of memory leaves the message
   without a structure (FETCH of it then fails), not the process. */
struct mail_structure *mail_structure_parse(const char *data, size_t size)
{
	struct mime_parser p = { 0 };
	struct stop st;
	struct mail_structure *s = NULL;

	if (size >= UINT32_MAX)
		return NULL;
	p.data = data;
	p.size = (uint32_t)size;
	p.bnd = malloc(MAIL_MAX_DEPTH * sizeof(*p.bnd));
	if (p.bnd == NULL)
		return NULL;
	parse_part(&p, 0, MAIL_NONE, 0, false, true, &st);
	if (!p.oom && p.n_parts > 0) {
		size_t bytes = sizeof(*s) + p.n_parts * sizeof(*p.parts) +
			       p.n_envs * sizeof(*p.envs);

		s = malloc(bytes);
		if (s != NULL) {
			struct mail_part *parts = (struct mail_part *)(s + 1);
			struct mail_envelope_spans *envs =
				(struct mail_envelope_spans *)(parts + p.n_parts);

			memcpy(parts, p.parts, p.n_parts * sizeof(*parts));
			if (p.n_envs > 0)
				memcpy(envs, p.envs, p.n_envs * sizeof(*envs));
			s->size = p.size;
			s->n_parts = (uint16_t)p.n_parts;
			s->n_envelopes = (uint16_t)p.n_envs;
			s->bytes = (uint32_t)bytes;
			s->parts = parts;
			s->envelopes = envs;
			s->sortkeys = NULL;
			s->binary = NULL;
		}
	}
	free(p.parts);
	free(p.envs);
	free(p.bnd);
	return s;
}

void mail_structure_free(struct mail_structure **s)
{
	if (s == NULL)
		return;
	if (*s != NULL) {
		free((*s)->sortkeys);
		free((*s)->binary);
	}
	free(*s);
	*s = NULL;
}

static void structure_free_ext(void *ext)
{
	struct mail_structure *s = ext;
	mail_structure_free(&s);
}

const struct mail_structure *mail_structure_get(struct uimap_blob *blob)
{
	struct mail_structure *s;

	if (blob_ext(blob) != NULL)
		return blob_ext(blob);
	s = mail_structure_parse(blob->data, blob->size);
	if (s == NULL)
		return NULL;
	blob_set_ext(blob, s, structure_free_ext);
	return s;
}

uint16_t mail_part_child(const struct mail_structure *s, uint16_t i)
{
	if ((uint32_t)i + 1 < s->n_parts && s->parts[i + 1].parent == i)
		return (uint16_t)(i + 1);
	return MAIL_NONE;
}
