/* MIME structure of a message: header/body offsets and the part tree, parsed once per blob. */
#ifndef MAIL_MIME_H
#define MAIL_MIME_H

#include "uimap/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The structure is one allocation: a struct mail_structure followed by its part
 * array and its envelope array. Everything points into the message bytes as 32-bit
 * offsets (messages of 4 GiB or more are not parsed). Parts are in pre-order (the
 * IMAP part numbering order): part 0 is the message itself, the first child of part
 * i (if any) is part i + 1, the others are linked through next.
 *
 * Parsing follows Dovecot's message parser (lib-mail/message-parser.c): a boundary
 * line is "--" + a prefix-match of any enclosing boundary (the longest wins), the
 * [CR]LF before it belongs to the boundary, a header ends at a blank line or at a
 * boundary line, multipart/digest children default to message/rfc822, others to
 * text/plain. Nesting is bounded (MAIL_MAX_DEPTH, MAIL_MAX_PARTS): deeper
 * multiparts and messages are treated as leaf parts.
 */

#define MAIL_MAX_DEPTH 100
#define MAIL_MAX_PARTS 10000
#define MAIL_NONE 0xffffu          /* no part / no envelope */
#define MAIL_SPAN_NONE UINT32_MAX  /* header field absent */

/* A header value: len bytes at off, still folded (the CR/LF of continuation lines
   are included; mail_span_unfold() drops them, as Dovecot does). off is
   MAIL_SPAN_NONE when the field is absent. */
struct mail_span {
	uint32_t off;
	uint32_t len;
};

/* MIME header fields kept per part (the first occurrence, as Dovecot). */
enum mail_field {
	MAIL_F_CONTENT_TYPE,
	MAIL_F_CONTENT_TRANSFER_ENCODING,
	MAIL_F_CONTENT_ID,
	MAIL_F_CONTENT_DESCRIPTION,
	MAIL_F_CONTENT_DISPOSITION,
	MAIL_F_CONTENT_LANGUAGE,
	MAIL_F_CONTENT_LOCATION,
	MAIL_F_CONTENT_MD5,
	MAIL_F_COUNT
};

/* ENVELOPE header fields kept per message (part 0 and each message/rfc822 body). */
enum mail_env_field {
	MAIL_ENV_DATE,
	MAIL_ENV_SUBJECT,
	MAIL_ENV_FROM,
	MAIL_ENV_SENDER,
	MAIL_ENV_REPLY_TO,
	MAIL_ENV_TO,
	MAIL_ENV_CC,
	MAIL_ENV_BCC,
	MAIL_ENV_IN_REPLY_TO,
	MAIL_ENV_MESSAGE_ID,
	MAIL_ENV_COUNT
};

enum mail_part_flags {
	MAIL_PART_MULTIPART = 1u << 0,  /* multipart/x: children when it has a boundary */
	MAIL_PART_MESSAGE = 1u << 1,    /* message/rfc822: its one child is the message */
	MAIL_PART_TEXT = 1u << 2,       /* text/x, or no Content-Type outside a digest */
	MAIL_PART_DIGEST = 1u << 3,     /* multipart/digest */
	MAIL_PART_HAS_EOH = 1u << 4,    /* the header ended with a blank line */
};

struct mail_part {
	uint32_t hdr_off;   /* start of the part's header (MIME header, or the message's) */
	uint32_t body_off;  /* start of the body, after the blank line */
	uint32_t body_end;  /* end of the body (before the [CR]LF of a boundary line) */
	uint32_t lines;     /* LFs in the body */
	uint16_t parent;    /* MAIL_NONE for part 0 */
	uint16_t next;      /* next sibling, 0 when none */
	uint16_t env;       /* index in envelopes[] when this part is a message, or MAIL_NONE */
	uint8_t depth;      /* 0 for part 0 */
	uint8_t flags;      /* enum mail_part_flags */
	struct mail_span field[MAIL_F_COUNT];
};

struct mail_envelope_spans {
	/* Date, Subject, In-Reply-To, Message-ID: the last occurrence (as Dovecot);
	   address fields: the first occurrence, with the bit (1 << field) set in
	   repeated when there are more (they are then joined at render time). */
	struct mail_span field[MAIL_ENV_COUNT];
	uint32_t repeated;
};

struct mail_sortkeys;
struct mail_binary_cache;

struct mail_structure {
	uint32_t size;          /* message size in bytes */
	uint16_t n_parts;
	uint16_t n_envelopes;
	uint32_t bytes;         /* size of this allocation */
	const struct mail_part *parts;                  /* n_parts, in this allocation */
	const struct mail_envelope_spans *envelopes;    /* n_envelopes */
	struct mail_sortkeys *sortkeys; /* SORT keys, made on first use (sortkey.c) */
	struct mail_binary_cache *binary; /* decoded part sizes, on first use (binary.c) */
};

/* Parse size bytes of data. Returns the structure (free with mail_structure_free), or
   NULL when out of memory or size >= 4 GiB. Never fails on malformed input. */
struct mail_structure *mail_structure_parse(const char *data, size_t size);

/* Free a structure from mail_structure_parse() and NULL *s (NULL allowed). */
void mail_structure_free(struct mail_structure **s);

/* The structure of blob: parsed on the first call and cached on the blob (blob_set_ext; freed
   with the blob; copies share it). Returns NULL only when parsing failed (out of
   memory, too large). Event-loop thread only. */
const struct mail_structure *mail_structure_get(struct uimap_blob *blob);

/* The first child of part i, or MAIL_NONE. */
uint16_t mail_part_child(const struct mail_structure *s, uint16_t i);

/* Iterate the header lines of the header block [off, end): on return 1, *name_r /
   *name_len_r is the field name (trailing whitespace trimmed; the whole line when it
   has no colon), *value_r the value span (see struct mail_span) and *line_end_r the
   offset after the field's last line (continuations included). *pos is advanced.
   Returns 0 at the end of the block (blank line or end). */
int mail_header_next(const char *data, uint32_t *pos, uint32_t end, const char **name_r,
		     size_t *name_len_r, struct mail_span *value_r, uint32_t *line_end_r);

/* Copy the span without CR and LF bytes into out (at least span.len bytes); returns
   the length written. */
size_t mail_span_unfold(const char *data, struct mail_span span, char *out);

#endif
