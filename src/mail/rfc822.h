/* RFC 5322 / MIME lexical scanning (atoms, quoted strings, comments, parameters). */
#ifndef MAIL_RFC822_H
#define MAIL_RFC822_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* The scanning rules mirror Dovecot's rfc822-parser.c so that ENVELOPE and
   BODYSTRUCTURE come out the same. Functions returning int answer like Dovecot's:
   1 = parsed and more input follows, 0 = parsed and the input ended, -1 = syntax
   error (the position is then wherever scanning stopped). */
struct rfc822 {
	const unsigned char *p;
	const unsigned char *end;
	struct buf *comment;    /* when not NULL: the text of the last comment skipped */
};

/* Whether c is an atext character (8-bit bytes count as atext, as in Dovecot). */
bool rfc822_is_atext(unsigned char c);

/* Initialise a scanner over len bytes at data; comment may be NULL. */
void rfc822_init(struct rfc822 *r, const char *data, size_t len, struct buf *comment);

/* Skip whitespace (SP, HTAB, CR, LF) and comments. */
int rfc822_skip_lwsp(struct rfc822 *r);

/* 1*atext, then CFWS. Appends to out. */
int rfc822_atom(struct rfc822 *r, struct buf *out);

/* dot-atom, allowing CFWS around the dots (RFC 822 compatibility). */
int rfc822_dot_atom(struct rfc822 *r, struct buf *out);

/* A quoted string starting at '"': appends its unescaped content (folding CR/LF
   dropped), then skips CFWS. */
int rfc822_quoted_string(struct rfc822 *r, struct buf *out);

/* phrase / obs-phrase: words joined by one space. */
int rfc822_phrase(struct rfc822 *r, struct buf *out);

/* domain after the '@' at the current position: dot-atom or domain-literal. */
int rfc822_domain(struct rfc822 *r, struct buf *out);

/* MIME token (atext without tspecials, plus '.'), then CFWS; may be empty. */
int rfc822_mime_token(struct rfc822 *r, struct buf *out);

/* "type/subtype": appends what was read (also on error). */
int rfc822_content_type(struct rfc822 *r, struct buf *out);

/* The "; name=value" parameters after a MIME value, parsed as Dovecot's
   rfc2231_parse() does, as NUL-terminated pairs in out (name\0value\0...): plain
   parameters in order, then the RFC 2231 ones (name*, name*N, name*N*) sorted by
   name and index, continuations joined (name, or name* when extended). A broken
   parameter makes the scan skip one byte and retry; NULs in values become 0x80.
   Returns the number of pairs. */
size_t rfc822_params(struct rfc822 *r, struct buf *out);

/* Parse the date-time of a Date: header value (len bytes, folded or not): RFC 5322
   §3.3 and the obsolete forms of §4.3 as old mail and spam carry them. Comments and
   folding anywhere; an optional day name (with or without ','); day, month and year
   separated by spaces or '-'; month names in any case, abbreviated or in full; 2-digit
   years (00-49 are 20xx, 50-99 19xx) and 3-digit years (+1900); the time with or
   without seconds, or missing (00:00); the zone numeric, UT/GMT, the US zones
   EST/EDT/CST/CDT/MST/MDT/PST/PDT, or missing, military or unknown (all three taken
   as -0000, §4.3). ctime order ("Wed Jan  1 10:00:00 [zone] 2020") is accepted too.
   Text after the zone is ignored. Returns 1 with the UTC time in *time_r and the
   zone in minutes east of UTC in *tz_minutes_r, or -1 with *error_r. */
int rfc822_date_parse(const char *data, size_t len, time_t *time_r, int *tz_minutes_r,
		      const char **error_r);

#endif
