/* BINARY sections: which bytes go out as they are, which part bodies are decoded, and
   their decoded sizes (computed once per message, kept with its MIME structure). */
#include "mail/binary.h"
#include "mail/charset.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum cte { CTE_IDENTITY, CTE_BASE64, CTE_QP, CTE_UNKNOWN };

/* Per part: its encoding and, for base64/quoted-printable, the decoded body size or
   MAIL_BINARY_BROKEN. */
struct mail_binary_cache {
	uint32_t n;
	struct {
		uint8_t cte;
		int8_t status;
		uint32_t size;
	} part[];
};

static enum cte part_cte(const char *data, const struct mail_part *p)
{
	struct mail_span v = p->field[MAIL_F_CONTENT_TRANSFER_ENCODING];
	if (v.off == MAIL_SPAN_NONE)
		return CTE_IDENTITY;
	/* the first token, folding and case aside (RFC 2045 §6.1) */
	size_t i = 0, n = v.len;
	const char *s = data + v.off;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	size_t start = i;
	while (i < n && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n' &&
	       s[i] != ';' && s[i] != '(')
		i++;
	size_t len = i - start;
	static const struct {
		const char *name;
		enum cte cte;
	} names[] = {
		{ "7bit", CTE_IDENTITY }, { "8bit", CTE_IDENTITY }, { "binary", CTE_IDENTITY },
		{ "base64", CTE_BASE64 }, { "quoted-printable", CTE_QP },
	};
	if (len == 0)
		return CTE_IDENTITY;   /* an empty value: the default, 7bit */
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strlen(names[k].name) == len && strncasecmp(s + start, names[k].name, len) == 0)
			return names[k].cte;
	return CTE_UNKNOWN;
}

/* A part whose body is decoded as a whole: no children, or an encoding of its own
   (a message/rfc822 or multipart part encoded in base64 is decoded as one body). */
static bool decoded_whole(const struct mail_structure *s, uint16_t i, enum cte cte)
{
	return mail_part_child(s, i) == MAIL_NONE || cte != CTE_IDENTITY;
}

static const struct mail_binary_cache *cache_get(const char *data, struct mail_structure *s)
{
	if (s->binary != NULL)
		return s->binary;
	struct mail_binary_cache *c = malloc(sizeof(*c) + s->n_parts * sizeof(c->part[0]));
	if (c == NULL)
		return NULL;
	c->n = s->n_parts;
	for (uint16_t i = 0; i < s->n_parts; i++) {
		const struct mail_part *p = &s->parts[i];
		enum cte cte = part_cte(data, p);
		const char *body = data + p->body_off;
		size_t len = p->body_end - p->body_off;
		c->part[i].cte = (uint8_t)cte;
		c->part[i].status = MAIL_BINARY_OK;
		c->part[i].size = (uint32_t)len;
		if (cte == CTE_BASE64) {
			ssize_t n = mail_base64_decode_to(NULL, body, len, true);
			if (n < 0)
				c->part[i].status = MAIL_BINARY_BROKEN;
			else
				c->part[i].size = (uint32_t)n;
		} else if (cte == CTE_QP) {
			c->part[i].size = (uint32_t)mail_qp_decode_to(NULL, body, len, false);
		} else if (cte == CTE_UNKNOWN) {
			c->part[i].status = MAIL_BINARY_UNKNOWN_CTE;
		}
	}
	s->binary = c;
	return c;
}

static void add(struct mail_piece *pieces, int *n, enum mail_piece_kind kind, uint16_t part,
		uint32_t off, uint32_t len, uint32_t size)
{
	if (kind == MAIL_PIECE_SLICE && len == 0)
		return;
	/* adjacent slices are one */
	if (kind == MAIL_PIECE_SLICE && *n > 0 && pieces[*n - 1].kind == MAIL_PIECE_SLICE &&
	    pieces[*n - 1].off + pieces[*n - 1].len == off) {
		pieces[*n - 1].len += len;
		pieces[*n - 1].size += len;
		return;
	}
	pieces[(*n)++] = (struct mail_piece){ kind, part, off, len, size };
}

int mail_binary_pieces(const char *data, struct mail_structure *s,
		       const struct mail_section *sec, struct mail_piece *pieces)
{
	struct mail_section_result res;
	mail_section_resolve(s, sec, &res);
	if (res.kind != MAIL_SECTION_SLICE)
		return 0;
	const struct mail_binary_cache *c = cache_get(data, s);
	if (c == NULL)
		return MAIL_BINARY_BROKEN;
	uint32_t start = res.off, end = res.off + res.len, pos = start;
	int n = 0;
	for (uint16_t i = 0; i < s->n_parts; i++) {
		const struct mail_part *p = &s->parts[i];
		enum cte cte = (enum cte)c->part[i].cte;
		/* only parts whose body lies inside the section, each decoded once */
		if (p->body_off < start || p->body_end > end || !decoded_whole(s, i, cte))
			continue;
		if (cte == CTE_IDENTITY)
			continue;
		if (c->part[i].status != MAIL_BINARY_OK)
			return c->part[i].status;
		struct mail_span v = p->field[MAIL_F_CONTENT_TRANSFER_ENCODING];
		if (v.off >= pos && v.off + v.len <= p->body_off) {
			/* its MIME header is in the section: it is no longer encoded */
			add(pieces, &n, MAIL_PIECE_SLICE, 0, pos, v.off - pos, 0);
			add(pieces, &n, MAIL_PIECE_BINARY_WORD, i, 0, 0, 6);
			pos = v.off + v.len;
		}
		add(pieces, &n, MAIL_PIECE_SLICE, 0, pos, p->body_off - pos, 0);
		add(pieces, &n, MAIL_PIECE_DECODE, i, p->body_off, p->body_end - p->body_off,
		    c->part[i].size);
		pos = p->body_end;
		/* the parts inside a part decoded whole are skipped with it */
		uint16_t k = i + 1;
		while (k < s->n_parts && s->parts[k].depth > p->depth)
			k++;
		i = (uint16_t)(k - 1);
	}
	add(pieces, &n, MAIL_PIECE_SLICE, 0, pos, end - pos, 0);
	for (int k = 0; k < n; k++)
		if (pieces[k].kind == MAIL_PIECE_SLICE)
			pieces[k].size = pieces[k].len;
	return n;
}

void mail_binary_decode(const char *data, const struct mail_structure *s,
			const struct mail_piece *piece, char *out)
{
	const struct mail_binary_cache *c = s->binary;
	if (c->part[piece->part].cte == CTE_BASE64)
		(void)mail_base64_decode_to(out, data + piece->off, piece->len, true);
	else
		(void)mail_qp_decode_to(out, data + piece->off, piece->len, false);
}
