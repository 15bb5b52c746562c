/* Response writer: IMAP string encodings (atom / quoted / literal / NIL) into an outq. */
#ifndef IMAP_RESP_H
#define IMAP_RESP_H

#include "net/outq.h"

#include <stdbool.h>
#include <stddef.h>

/* Whether s can be sent as a quoted string (no CR, LF, NUL or 8-bit bytes). */
bool resp_can_quote(const char *s, size_t len);

/* Write s as a quoted string when possible, else as a literal {n}. */
void resp_string(struct outq *q, const char *s, size_t len);

/* Like resp_string(), but NIL when s is NULL. */
void resp_nstring(struct outq *q, const char *s, size_t len);

/* Write s as an atom when it is a non-empty atom other than NIL, else as
   resp_string() does (astring, RFC 3501 §9). */
void resp_astring(struct outq *q, const char *s, size_t len);

/* Write s quoted (escaping " and \); s must satisfy resp_can_quote(). */
void resp_quoted(struct outq *q, const char *s, size_t len);

#endif
