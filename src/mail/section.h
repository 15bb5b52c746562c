/* BODY[section] specs (RFC 3501 6.4.5): parsing and resolution to message bytes. */
#ifndef MAIL_SECTION_H
#define MAIL_SECTION_H

#include "mail/mime.h"
#include "core/arena.h"

#include <stddef.h>
#include <stdint.h>

#define MAIL_SECTION_MAX_PARTS 32       /* part-number components, 1.2.3... */
#define MAIL_SECTION_MAX_FIELDS 64      /* HEADER.FIELDS names */
#define MAIL_SECTION_FIELDS_BYTES 1024  /* their total length */

enum mail_section_kind {
	MAIL_SECTION_ALL,               /* [] or [n.n]: whole message / part body */
	MAIL_SECTION_HEADER,            /* [HEADER], [n.HEADER] */
	MAIL_SECTION_TEXT,              /* [TEXT], [n.TEXT] */
	MAIL_SECTION_MIME,              /* [n.MIME] */
	MAIL_SECTION_HEADER_FIELDS,     /* [HEADER.FIELDS (a b)] */
	MAIL_SECTION_HEADER_FIELDS_NOT, /* [HEADER.FIELDS.NOT (a b)] */
};

struct mail_section {
	enum mail_section_kind kind;
	uint32_t n_parts;
	uint32_t part[MAIL_SECTION_MAX_PARTS];  /* 1-based part numbers */
	uint32_t n_fields;
	uint16_t field_off[MAIL_SECTION_MAX_FIELDS];    /* into names */
	uint16_t field_len[MAIL_SECTION_MAX_FIELDS];
	char names[MAIL_SECTION_FIELDS_BYTES];
};

/* Parse the text between '[' and ']' (len bytes, e.g. "1.2.HEADER.FIELDS (From
   To)"; keywords case-insensitive; field names are atoms or quoted strings).
   Returns 1 with *sec_r filled, or -1 with *error_r set (a static string). */
int mail_section_parse(const char *spec, size_t len, struct mail_section *sec_r,
		       const char **error_r);

enum mail_section_result_kind {
	MAIL_SECTION_EMPTY,     /* the part does not exist: send "" (as Dovecot) */
	MAIL_SECTION_SLICE,     /* send len bytes at off of the message, by reference */
	MAIL_SECTION_FILTER,    /* send mail_section_filter() of the header at off/len */
};

struct mail_section_result {
	enum mail_section_result_kind kind;
	uint32_t off;
	uint32_t len;
};

/* Resolve sec against the structure (Dovecot's rules: a non-multipart part has
   part 1 = itself; numbers continue inside message/rfc822; HEADER/TEXT/HEADER.FIELDS
   of a numbered part need a message/rfc822 part; MIME of a message/rfc822 part is
   its MIME header). Fills *res_r. */
void mail_section_resolve(const struct mail_structure *s, const struct mail_section *sec,
			  struct mail_section_result *res_r);

/* The part sec's part numbers name (0 without numbers: the whole message), or
   MAIL_NONE when there is none. */
uint16_t mail_section_part(const struct mail_structure *s, const struct mail_section *sec);

/* Write the header block at res (MAIL_SECTION_FILTER) of data filtered by sec's field
   list (HEADER.FIELDS keeps, .NOT drops the named fields; names compared
   case-insensitively; continuation lines kept; line ends written as CRLF; ends with
   the blank line CRLF, except, as in Dovecot, for HEADER.FIELDS.NOT and for a
   message/rfc822 part's HEADER.FIELDS when the header itself has no blank line)
   into memory from arena a. Returns the bytes, *len_r their
   count. */
char *mail_section_filter(struct arena *a, const char *data,
			  const struct mail_section_result *res,
			  const struct mail_section *sec, size_t *len_r);

#endif
