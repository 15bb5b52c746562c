/* The i;unicode-casemap comparator (RFC 5051) for SEARCH and SORT, by libunistring. */
#ifndef MAIL_CASEMAP_H
#define MAIL_CASEMAP_H

#include "core/buf.h"

#include <stddef.h>

/* Append the casemap key of s (len bytes of UTF-8) to out, no NUL added: each
   character's full upper-case mapping (Unicode SpecialCasing, no language), then
   NFKD (RFC 5051 §2 steps 2 and 3, with the upper case standing for the title case:
   the classes are the same; the full mappings add ß = SS, ﬁ = FI). Two strings are
   equal under the comparator when their keys are equal octet by octet, one contains
   the other (SEARCH, RFC 3501 §6.4.4) when its key is a substring, and SORT orders
   by the keys' octets (RFC 5051 §2.4, RFC 5256 §2). ASCII text maps to its ASCII
   upper case without other work. A byte that starts no valid UTF-8 sequence is
   copied as it is (text in a charset iconv does not know is searched raw). */
void mail_casemap(struct buf *out, const char *s, size_t len);

#endif
