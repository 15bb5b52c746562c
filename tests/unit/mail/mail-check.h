/* Structural sanity checks shared by the corpus and malformed-input tests. */
#ifndef TEST_MAIL_CHECK_H
#define TEST_MAIL_CHECK_H

#include "mail-test.h"

#include "mail/bodystructure.h"
#include "mail/envelope.h"
#include "mail/mime.h"
#include "mail/text-search.h"
#include "mail/section.h"
#include "core/arena.h"

/* Whether len bytes at s are one well-formed IMAP list (parentheses balanced outside
   quoted strings and literals, quoted strings properly escaped, literal counts right). */
static inline bool imap_list_ok(const char *s, size_t len)
{
	int depth = 0;
	size_t i = 0;

	while (i < len) {
		char c = s[i];

		if (c == '(') {
			depth++;
			i++;
		} else if (c == ')') {
			if (--depth < 0)
				return false;
			i++;
		} else if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\') {
					i++;
					if (i >= len || (s[i] != '"' && s[i] != '\\'))
						return false;
				} else if (s[i] == '\r' || s[i] == '\n' || (unsigned char)s[i] >= 0x80 ||
					   s[i] == '\0') {
					return false;
				}
			}
			if (i >= len)
				return false;
			i++;
		} else if (c == '{') {
			size_t n = 0;

			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++)
				n = n * 10 + (size_t)(s[i] - '0');
			if (i + 3 > len || s[i] != '}' || s[i + 1] != '\r' || s[i + 2] != '\n')
				return false;
			i += 3 + n;
			if (i > len)
				return false;
			if (memchr(s + i - n, '\0', n) != NULL)
				return false;
		} else {
			i++;
		}
		if (depth == 0 && i < len)
			return false; /* something after the closing parenthesis */
	}
	return depth == 0;
}

/* Check the tree invariants of s over a message of size bytes, render everything
   and check the output syntax. Returns the number of parts. */
static inline unsigned check_structure(const char *data, size_t size, const struct mail_structure *s,
				     const char *what)
{
	cr_assert_eq(s->size, size, "%s: size", what);
	cr_assert_geq(s->n_parts, 1, "%s: parts", what);
	for (uint16_t i = 0; i < s->n_parts; i++) {
		const struct mail_part *p = &s->parts[i];

		cr_assert(p->hdr_off <= p->body_off && p->body_off <= p->body_end &&
			  p->body_end <= size, "%s part %u: offsets %u %u %u of %zu", what, i,
			  p->hdr_off, p->body_off, p->body_end, size);
		cr_assert_leq(p->depth, MAIL_MAX_DEPTH, "%s: depth", what);
		cr_assert_leq(p->lines, p->body_end - p->body_off, "%s: lines", what);
		if (i == 0) {
			cr_assert_eq(p->parent, MAIL_NONE);
			cr_assert_eq(p->hdr_off, 0);
			continue;
		}
		const struct mail_part *par = &s->parts[p->parent];

		cr_assert_lt(p->parent, i, "%s: pre-order", what);
		cr_assert_eq(p->depth, par->depth + 1, "%s: depth", what);
		cr_assert(p->hdr_off >= par->body_off && p->body_end <= par->body_end,
			  "%s part %u inside its parent", what, i);
		if (par->flags & MAIL_PART_MESSAGE) {
			cr_assert_eq(p->hdr_off, par->body_off, "%s: rfc822 child", what);
			cr_assert_eq(p->body_end, par->body_end, "%s: rfc822 child end", what);
			cr_assert_neq(p->env, MAIL_NONE);
		}
		if (p->next != 0) {
			cr_assert_gt(p->next, i);
			cr_assert_eq(s->parts[p->next].parent, p->parent);
			cr_assert_geq(s->parts[p->next].hdr_off, p->body_end, "%s: siblings", what);
		}
	}
	/* children of a multipart: their sizes add up within the parent's body */
	for (uint16_t i = 0; i < s->n_parts; i++) {
		uint64_t sum = 0;

		for (uint16_t c = mail_part_child(s, i); c != MAIL_NONE && c != 0;
		     c = s->parts[c].next)
			sum += s->parts[c].body_end - s->parts[c].hdr_off;
		cr_assert_leq(sum, s->parts[i].body_end - s->parts[i].body_off, "%s: sum", what);
	}
	/* rendering */
	struct outq q = { 0 };
	size_t n;
	char *out;

	for (int ext = 0; ext < 2; ext++) {
		mail_bodystructure_write(&q, data, s, 0, ext);
		out = outq_take(&q, &n);
		cr_assert(imap_list_ok(out, n), "%s: BODYSTRUCTURE syntax: %s", what, out);
		free(out);
	}
	mail_envelope_write(&q, data, s, 0);
	out = outq_take(&q, &n);
	cr_assert(imap_list_ok(out, n), "%s: ENVELOPE syntax: %s", what, out);
	free(out);

	static const char *const specs[] = { "", "1", "1.MIME", "2.HEADER", "TEXT", "HEADER",
		"1.1.1", "2.1", "3.TEXT", "HEADER.FIELDS (From To Subject)",
		"HEADER.FIELDS.NOT (Received)", "1.HEADER.FIELDS (Subject)" };
	struct arena a;

	arena_init(&a, 4096);
	for (size_t k = 0; k < sizeof(specs) / sizeof(specs[0]); k++) {
		struct mail_section sec;
		struct mail_section_result res;
		const char *err;

		cr_assert_eq(mail_section_parse(specs[k], strlen(specs[k]), &sec, &err), 1);
		mail_section_resolve(s, &sec, &res);
		cr_assert_leq((uint64_t)res.off + res.len, size);
		if (res.kind == MAIL_SECTION_FILTER) {
			size_t flen;
			char *f = mail_section_filter(&a, data, &res, &sec, &flen);

			cr_assert_leq(flen, 2 * (size_t)res.len + 2);
			(void)f;
		}
	}
	arena_free(&a);
	struct mail_search_key key;

	mail_search_key_init(&key, "zzq-never-there", 15);
	cr_assert(!mail_search_match(data, s, MAIL_SEARCH_TEXT, NULL, &key), "%s", what);
	mail_search_key_free(&key);
	return s->n_parts;
}

#endif
