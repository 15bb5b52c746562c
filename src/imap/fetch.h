/* FETCH data items: parsed once per command, written per message. */
#ifndef IMAP_FETCH_H
#define IMAP_FETCH_H

#include "imap/cmd.h"
#include "mail/section.h"

#include <stdbool.h>
#include <stdint.h>

enum fetch_kind {
	FETCH_FLAGS,
	FETCH_UID,
	FETCH_INTERNALDATE,
	FETCH_RFC822_SIZE,
	FETCH_ENVELOPE,
	FETCH_BODY,           /* BODY without section: non-extensible BODYSTRUCTURE */
	FETCH_BODYSTRUCTURE,
	FETCH_RFC822,         /* = BODY[] and sets \Seen */
	FETCH_RFC822_HEADER,  /* = BODY.PEEK[HEADER] */
	FETCH_RFC822_TEXT,    /* = BODY[TEXT] and sets \Seen */
	FETCH_SECTION,        /* BODY[section]<partial>, BODY.PEEK[...] */
	FETCH_MODSEQ,         /* RFC 7162 §3.1.5 */
	FETCH_BINARY,         /* RFC 3516 BINARY[part]<partial>, BINARY.PEEK[...] */
	FETCH_BINARY_SIZE,    /* RFC 3516 BINARY.SIZE[part] */
};

struct fetch_item {
	enum fetch_kind kind;
	bool peek;
	bool partial;
	uint32_t origin, length;
	const char *section;  /* inside the brackets, e.g. "1.2.HEADER.FIELDS (From)" */
	struct mail_section *sec; /* parsed section */
	const char *label;    /* response label, e.g. "BODY[1.2]<0>" */
};

struct fetch_items {
	struct fetch_item *v;
	unsigned n;
	bool sets_seen;       /* a non-PEEK body item is present */
	bool has_flags;
	bool has_uid;
	bool has_modseq;
	bool needs_mime;      /* ENVELOPE, BODY, BODYSTRUCTURE or a MIME section */
};

/* Parse the FETCH item argument (atom, macro or list). Returns 1, or -1 with
   *error_r (unknown items are errors, RFC 3501 §6.4.5). */
int fetch_items_parse(struct uimap_cmd *cmd, const struct imap_arg *arg,
		      struct fetch_items *items_r, const char **error_r);
/* The same, allocating from a (items kept beyond the command: NOTIFY's MessageNew). */
int fetch_items_parse_in(struct arena *a, const struct imap_arg *arg,
			 struct fetch_items *items_r, const char **error_r);

/* Parse item->section into item->sec (from a). Returns 0, or -1 with *error_r. */
int fetch_section_prepare(struct arena *a, struct fetch_item *item, const char **error_r);

/* NOTIFY MessageNew (RFC 5465 §5.2): write "* seq FETCH (UID n items)" for message seq
   of the selected mailbox. Body items are sent as if PEEKed (a notification never
   sets \Seen). */
void fetch_write_notify(struct session *s, const struct fetch_items *items, uint32_t seq);

/* Write the value of a body section item (the literal or NIL) for one message:
   slices of the message go out by reference, never copied. Returns 0, or -1 with
   *error_r when the section cannot be parsed. */
int fetch_write_section(struct session *s, const struct fetch_item *it,
			struct uimap_blob *blob, const char **error_r);

/* Whether BINARY[...] / BINARY.SIZE[...] can be made for blob: 0, or -1 with the
   response code for the tagged NO in *code_r ("UNKNOWN-CTE": an encoding we cannot
   undo; "PARSE": a broken one). */
int fetch_binary_check(struct session *s, const struct fetch_item *it, struct uimap_blob *blob,
		       const char **code_r);

/* Write the value of a BINARY item (after fetch_binary_check() said yes): a literal8
   when the bytes hold a NUL, a literal otherwise (RFC 3516 §4.3); slices that need no
   decoding go out by reference. BINARY.SIZE: the decoded size. */
void fetch_write_binary(struct session *s, const struct fetch_item *it,
			struct uimap_blob *blob);

/* Write ENVELOPE / BODY / BODYSTRUCTURE values. Return 0 or -1 when unsupported. */
int fetch_write_mime(struct session *s, enum fetch_kind kind, struct uimap_blob *blob);

#endif
