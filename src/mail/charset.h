/* Content decoding for SEARCH: quoted-printable, base64, RFC 2047 words, charsets to UTF-8. */
#ifndef MAIL_CHARSET_H
#define MAIL_CHARSET_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Append len bytes of text in charset cs (cs_len bytes, case-insensitive name) to
   out as UTF-8: us-ascii and utf-8 are copied, iso-8859-1 (latin1), iso-8859-15 and
   windows-1252 are converted; any other charset is copied unchanged. */
void mail_charset_to_utf8(struct buf *out, const char *cs, size_t cs_len, const char *s,
			  size_t len);

/* Decode quoted-printable (RFC 2045 6.7; header true: RFC 2047 "Q", '_' is a space)
   leniently: bad escapes are kept as they are. Appends to out. */
void mail_qp_decode(struct buf *out, const char *s, size_t len, bool header);

/* The same into out (room for len bytes: never longer than the input), or only
   counting when out is NULL. Returns the decoded length. */
size_t mail_qp_decode_to(char *out, const char *s, size_t len, bool header);

/* Decode base64 leniently: characters outside the alphabet are skipped, decoding
   stops at '='. Appends to out. */
void mail_base64_decode(struct buf *out, const char *s, size_t len);

/* Decode base64 into out (room for len / 4 * 3 + 3 bytes), or only count when out is
   NULL. Not strict: as mail_base64_decode(). strict: only the alphabet and line
   breaks/blanks before the '=' padding, only padding and blanks after it, no
   dangling character: -1 otherwise (a broken part, RFC 3516's BINARY refuses it).
   Returns the decoded length. */
ssize_t mail_base64_decode_to(char *out, const char *s, size_t len, bool strict);

/* Append header value s (unfolded or not: CR/LF are dropped) to out with its RFC 2047
   encoded words decoded to UTF-8 (whitespace between adjacent encoded words dropped);
   the other bytes are copied. */
void mail_rfc2047_decode(struct buf *out, const char *s, size_t len);

#endif
