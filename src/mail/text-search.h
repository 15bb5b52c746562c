/* SEARCH text matching: decoded MIME text and header values, case-insensitive. */
#ifndef MAIL_TEXT_SEARCH_H
#define MAIL_TEXT_SEARCH_H

#include "mail/mime.h"
#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>

enum mail_search_scope {
	MAIL_SEARCH_BODY,       /* SEARCH BODY: the decoded text parts */
	MAIL_SEARCH_TEXT,       /* SEARCH TEXT: the decoded header values, then BODY */
	MAIL_SEARCH_HEADER,     /* SEARCH HEADER name / SUBJECT: one field */
	MAIL_SEARCH_ADDRESS,    /* SEARCH FROM / TO / CC / BCC: one address field, parsed */
};

/* A needle prepared once for many messages: its i;unicode-casemap key. */
struct mail_search_key {
	struct buf folded;
};

/* Prepare needle (len bytes of UTF-8; bytes that are not valid UTF-8 are taken as
   they are). */
void mail_search_key_init(struct mail_search_key *key, const char *needle, size_t len);

/* Free the key's memory. */
void mail_search_key_free(struct mail_search_key *key);

/* Whether the message contains the key (RFC 3501 6.4.4 substring semantics under
   the i;unicode-casemap comparator, RFC 5051: see mail_casemap()).
   Text parts (text/x, or no Content-Type) of every depth are decoded
   (quoted-printable, base64) and converted to UTF-8 from their charset by
   mail_charset_convert() (a charset iconv does not know: the raw bytes are
   searched); header values have their RFC 2047 words decoded the same way. For MAIL_SEARCH_HEADER and
   MAIL_SEARCH_ADDRESS, name is the field name (case-insensitive) of the message's
   header and an empty key matches when the field exists. MAIL_SEARCH_ADDRESS matches
   each occurrence of the field as Dovecot does: its addresses parsed (comments,
   quoting, folding and routes resolved as for ENVELOPE) and written out by
   mail_address_write(), then RFC 2047-decoded; the raw header text is not searched.
   MAIL_SEARCH_TEXT searches the header of every part (the message's, each MIME
   part's and each attached message's, "Name: value" per field) and then the text
   parts as BODY does.
   Work and memory are linear in the message size. */
bool mail_search_match(const char *data, const struct mail_structure *s,
		       enum mail_search_scope scope, const char *name,
		       const struct mail_search_key *key);

/* One-shot convenience: mail_search_key_init + mail_search_match + free. */
bool mail_search_text(const struct uimap_blob *blob, const struct mail_structure *s,
		      enum mail_search_scope scope, const char *name, const char *needle);

/* Append the casemap key of s (mail_casemap(), what mail_search_match compares). */
void mail_search_fold(struct buf *out, const char *s, size_t len);

/* Call fn(ctx, text, len) with the decoded UTF-8 text of each text part in part
   order; stops when fn returns non-zero and returns that value, else 0. */
int mail_text_foreach(const char *data, const struct mail_structure *s,
		      int (*fn)(void *ctx, const char *text, size_t len), void *ctx);

#endif
