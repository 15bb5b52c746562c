/* SORT keys of a message (RFC 5256 §2, RFC 5957): made once per message on first use
   and kept with its MIME structure (so copies share them). */
#ifndef MAIL_SORTKEY_H
#define MAIL_SORTKEY_H

#include "core/buf.h"
#include "uimap/store.h"

#include <stdbool.h>
#include <stdint.h>

struct mail_sortkeys {
	bool has_date;          /* a Date: that parses */
	int64_t date;           /* its time in UTC seconds */
	/* compared byte by byte: the i;unicode-casemap keys (RFC 5051, mail_casemap());
	   "" when the field is missing */
	const char *subject;    /* the base subject (RFC 5256 §2.1), decoded to UTF-8 */
	const char *from, *to, *cc;     /* addr-mailbox of the first address */
	const char *display_from, *display_to; /* RFC 5957: display name, or addr-spec */
	/* THREAD=REFERENCES (RFC 5256 §4), compared as octets: */
	const char *message_id;    /* "<id> ", or "" */
	const char *references;    /* "<a> <b> " from References (or In-Reply-To), or "" */
	bool subject_reply;        /* the base subject lost a Re:/Fwd:/(fwd)/[fwd:] */
};

/* The keys of blob's message, made and cached on first call; NULL when the message
   cannot be parsed (out of memory). Event-loop thread only. */
const struct mail_sortkeys *mail_sortkeys_get(struct uimap_blob *blob);

/* Append the base subject (RFC 5256 §2.1) of the raw Subject value s (len bytes,
   maybe folded, RFC 2047 words encoded) to out, not upper-cased, no NUL added.
   *reply_r (may be NULL): whether a reply/forward marker was removed. */
void mail_base_subject(struct buf *out, const char *s, size_t len, bool *reply_r);

#endif
