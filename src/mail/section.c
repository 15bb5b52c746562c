/* Section specs: parsing "1.2.HEADER.FIELDS (a b)", resolving to offsets, filtering. */
#include "mail/section.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool kw(const char *s, size_t len, size_t *pos, const char *word)
{
	size_t n = strlen(word);

	if (len - *pos < n || strncasecmp(s + *pos, word, n) != 0)
		return false;
	*pos += n;
	return true;
}

static int parse_fields(const char *s, size_t len, size_t pos, struct mail_section *sec,
			const char **error_r)
{
	size_t used = 0;

	if (pos >= len || s[pos] != ' ') {
		*error_r = "Missing header field list";
		return -1;
	}
	pos++;
	if (pos >= len || s[pos] != '(') {
		*error_r = "Missing header field list";
		return -1;
	}
	pos++;
	for (;;) {
		while (pos < len && s[pos] == ' ')
			pos++;
		if (pos >= len) {
			*error_r = "Unterminated header field list";
			return -1;
		}
		if (s[pos] == ')') {
			pos++;
			break;
		}
		if (sec->n_fields == MAIL_SECTION_MAX_FIELDS) {
			*error_r = "Too many header fields";
			return -1;
		}
		size_t start = used;

		if (s[pos] == '"') {
			pos++;
			while (pos < len && s[pos] != '"') {
				if (s[pos] == '\\' && pos + 1 < len)
					pos++;
				if (used >= sizeof(sec->names)) {
					*error_r = "Header field list too long";
					return -1;
				}
				sec->names[used++] = s[pos++];
			}
			if (pos >= len) {
				*error_r = "Unterminated quoted string";
				return -1;
			}
			pos++;
		} else {
			while (pos < len && s[pos] != ' ' && s[pos] != ')') {
				unsigned char c = (unsigned char)s[pos];

				if (c <= ' ' || c >= 0x7f || c == '(' || c == '"' || c == ':') {
					*error_r = "Invalid header field name";
					return -1;
				}
				if (used >= sizeof(sec->names)) {
					*error_r = "Header field list too long";
					return -1;
				}
				sec->names[used++] = s[pos++];
			}
		}
		if (used == start) {
			*error_r = "Empty header field name";
			return -1;
		}
		sec->field_off[sec->n_fields] = (uint16_t)start;
		sec->field_len[sec->n_fields] = (uint16_t)(used - start);
		sec->n_fields++;
	}
	if (pos != len) {
		*error_r = "Garbage after header field list";
		return -1;
	}
	if (sec->n_fields == 0) {
		*error_r = "Empty header field list";
		return -1;
	}
	return 1;
}

int mail_section_parse(const char *s, size_t len, struct mail_section *sec,
		       const char **error_r)
{
	size_t pos = 0;

	memset(sec, 0, offsetof(struct mail_section, field_off));
	sec->kind = MAIL_SECTION_ALL;
	/* part numbers */
	while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
		uint32_t n = 0;

		if (s[pos] == '0') {
			*error_r = "Invalid part number";
			return -1;
		}
		while (pos < len && s[pos] >= '0' && s[pos] <= '9') {
			if (n > 100000000) {
				*error_r = "Invalid part number";
				return -1;
			}
			n = n * 10 + (uint32_t)(s[pos++] - '0');
		}
		if (sec->n_parts == MAIL_SECTION_MAX_PARTS) {
			*error_r = "Section nested too deeply";
			return -1;
		}
		sec->part[sec->n_parts++] = n;
		if (pos == len)
			return 1;
		if (s[pos] != '.') {
			*error_r = "Invalid section";
			return -1;
		}
		pos++;
		if (pos == len) {
			*error_r = "Invalid section";
			return -1;
		}
	}
	if (pos == len)
		return 1;
	if (kw(s, len, &pos, "MIME")) {
		if (pos != len || sec->n_parts == 0) {
			*error_r = "Invalid section";
			return -1;
		}
		sec->kind = MAIL_SECTION_MIME;
		return 1;
	}
	if (kw(s, len, &pos, "TEXT")) {
		if (pos != len) {
			*error_r = "Invalid section";
			return -1;
		}
		sec->kind = MAIL_SECTION_TEXT;
		return 1;
	}
	if (kw(s, len, &pos, "HEADER")) {
		if (pos == len) {
			sec->kind = MAIL_SECTION_HEADER;
			return 1;
		}
		if (kw(s, len, &pos, ".FIELDS.NOT"))
			sec->kind = MAIL_SECTION_HEADER_FIELDS_NOT;
		else if (kw(s, len, &pos, ".FIELDS"))
			sec->kind = MAIL_SECTION_HEADER_FIELDS;
		else {
			*error_r = "Invalid section";
			return -1;
		}
		return parse_fields(s, len, pos, sec, error_r);
	}
	*error_r = "Invalid section";
	return -1;
}

/* imap_msgpart_find() semantics. */
uint16_t mail_section_part(const struct mail_structure *s, const struct mail_section *sec)
{
	uint16_t part = 0;

	for (uint32_t i = 0; i < sec->n_parts; i++) {
		uint32_t num = sec->part[i];
		bool more = i + 1 < sec->n_parts;
		const struct mail_part *p = &s->parts[part];

		if (p->flags & MAIL_PART_MULTIPART) {
			uint16_t c = mail_part_child(s, part);

			for (; num > 1 && c != MAIL_NONE; num--)
				c = s->parts[c].next != 0 ? s->parts[c].next : MAIL_NONE;
			if (c == MAIL_NONE)
				return MAIL_NONE;
			part = c;
		} else if (num != 1) {
			return MAIL_NONE;
		} else if (more && !(p->flags & MAIL_PART_MESSAGE)) {
			return MAIL_NONE;
		}
		if ((s->parts[part].flags & MAIL_PART_MESSAGE) && more) {
			uint16_t c = mail_part_child(s, part);

			if (c == MAIL_NONE)
				return MAIL_NONE;
			part = c;
		}
	}
	return part;
}

void mail_section_resolve(const struct mail_structure *s, const struct mail_section *sec,
			  struct mail_section_result *res)
{
	uint16_t part = 0;
	const struct mail_part *p;

	res->kind = MAIL_SECTION_EMPTY;
	res->off = res->len = 0;
	if (sec->n_parts > 0) {
		part = mail_section_part(s, sec);
		if (part == MAIL_NONE)
			return;
		switch (sec->kind) {
		case MAIL_SECTION_HEADER:
		case MAIL_SECTION_HEADER_FIELDS:
		case MAIL_SECTION_HEADER_FIELDS_NOT:
		case MAIL_SECTION_TEXT:
			if (!(s->parts[part].flags & MAIL_PART_MESSAGE))
				return;
			part = mail_part_child(s, part);
			if (part == MAIL_NONE)
				return;
			break;
		default:
			break;
		}
	}
	p = &s->parts[part];
	switch (sec->kind) {
	case MAIL_SECTION_ALL:
		res->kind = MAIL_SECTION_SLICE;
		if (sec->n_parts == 0) {
			res->off = 0;
			res->len = s->size;
		} else {
			res->off = p->body_off;
			res->len = p->body_end - p->body_off;
		}
		return;
	case MAIL_SECTION_TEXT:
		res->kind = MAIL_SECTION_SLICE;
		res->off = p->body_off;
		res->len = p->body_end - p->body_off;
		return;
	case MAIL_SECTION_HEADER:
	case MAIL_SECTION_MIME:
		res->kind = MAIL_SECTION_SLICE;
		res->off = p->hdr_off;
		res->len = p->body_off - p->hdr_off;
		return;
	case MAIL_SECTION_HEADER_FIELDS:
	case MAIL_SECTION_HEADER_FIELDS_NOT:
		res->kind = MAIL_SECTION_FILTER;
		res->off = p->hdr_off;
		res->len = p->body_off - p->hdr_off;
		return;
	}
}

static bool field_listed(const struct mail_section *sec, const char *name, size_t len)
{
	for (uint32_t i = 0; i < sec->n_fields; i++) {
		if (sec->field_len[i] == len &&
		    strncasecmp(sec->names + sec->field_off[i], name, len) == 0)
			return true;
	}
	return false;
}

/* Copy [from, to) with every line end as CRLF; returns bytes written (out may be
   NULL to count). */
static size_t copy_crlf(char *out, const char *from, const char *to)
{
	size_t n = 0;

	for (const char *s = from; s < to; s++) {
		if (*s == '\n' && (s == from || s[-1] != '\r')) {
			if (out != NULL)
				out[n] = '\r';
			n++;
		}
		if (out != NULL)
			out[n] = *s;
		n++;
	}
	return n;
}

static size_t filter_pass(char *out, const char *data, const struct mail_section_result *res,
			  const struct mail_section *sec)
{
	bool keep_listed = sec->kind == MAIL_SECTION_HEADER_FIELDS;
	uint32_t pos = res->off, end = res->off + res->len, line_end;
	const char *name;
	size_t name_len, n = 0;
	struct mail_span v;

	while (mail_header_next(data, &pos, end, &name, &name_len, &v, &line_end) == 1) {
		uint32_t start = (uint32_t)(name - data);

		if (field_listed(sec, name, name_len) == keep_listed) {
			n += copy_crlf(out != NULL ? out + n : NULL, data + start, data + line_end);
			/* a last line without a line end gets one */
			if (line_end == start || data[line_end - 1] != '\n') {
				if (out != NULL)
					memcpy(out + n, "\r\n", 2);
				n += 2;
			}
		}
	}
	/* A header without a blank line gets none, except for the message's own
	   HEADER.FIELDS, which Dovecot answers from its header cache. */
	if (pos >= end && !(keep_listed && sec->n_parts == 0))
		return n;
	if (out != NULL)
		memcpy(out + n, "\r\n", 2);
	return n + 2;
}

char *mail_section_filter(struct arena *a, const char *data,
			  const struct mail_section_result *res,
			  const struct mail_section *sec, size_t *len_r)
{
	size_t n = filter_pass(NULL, data, res, sec);
	char *out = arena_alloc(a, n);

	*len_r = filter_pass(out, data, res, sec);
	return out;
}
