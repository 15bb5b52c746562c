/* ENVELOPE (RFC 3501 7.4.2) rendering and RFC 5322 address-list parsing. */
#ifndef MAIL_ENVELOPE_H
#define MAIL_ENVELOPE_H

#include "mail/mime.h"
#include "core/outq.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

/* One parsed address. Strings are offsets into the owning list's text buffer
   (NUL-terminated there), or -1 for NIL. A group is (NIL NIL name NIL) ... and
   ends with an all-NIL entry, as ENVELOPE writes them. */
struct mail_address {
	int32_t name, route, mailbox, domain;
};

struct mail_address_list {
	struct mail_address *addrs;
	size_t n, cap;
	struct buf text;
};

/* Append the addresses in len bytes of header value (folded or not) to list, as
   Dovecot's message_address_parse() with MISSING_MAILBOX / MISSING_DOMAIN fill-in
   does: display names and comments, quoted strings, route-addr, groups. Never fails
   on malformed input (the result may then contain filler values). */
void mail_address_parse(struct mail_address_list *list, const char *value, size_t len);

/* Free the list's memory; the list is empty and reusable. */
void mail_address_list_free(struct mail_address_list *list);

/* The string at offset off of list (off >= 0). */
static inline const char *mail_address_str(const struct mail_address_list *list, int32_t off)
{
	return list->text.data + off;
}

/* Append list to out as text for SEARCH FROM/TO/CC/BCC, in the form of Dovecot's
   message_address_write(): "Name <@route:mailbox@domain>" ("<mailbox@domain>" without
   a name), groups as "group: a, b;", addresses joined by ", ". Unlike Dovecot, names
   are not quoted or escaped, so that a search for "Doe, John <jd" or "O'Brien" finds
   what the user sees. RFC 2047 words are left encoded. */
void mail_address_write(struct buf *out, const struct mail_address_list *list);

/* Write the parenthesised ENVELOPE of the message whose top part is msg_part (0 for
   the whole message, or the child of a message/rfc822 part) to q. Sender and
   Reply-To default to From; strings follow Dovecot (subject and display names
   cleaned for humans, others unfolded), RFC 2047 words are left encoded. */
void mail_envelope_write(struct outq *q, const char *data, const struct mail_structure *s,
			 uint16_t msg_part);

#endif
