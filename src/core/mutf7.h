/* Modified UTF-7 mailbox names (RFC 3501 section 5.1.3): encode, decode, validate. */
#ifndef UIMAP_CORE_MUTF7_H
#define UIMAP_CORE_MUTF7_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes that always suffice for mutf7_encode() of n input bytes, NUL included. */
#define MUTF7_ENCODED_MAX(n) (5 * (n) + 1)

/* Bytes that always suffice for mutf7_decode() of n input bytes, NUL included. UTF-8
   can be longer than the modified UTF-7 text it came from: a 16-bit unit takes 8/3
   BASE64 characters and up to 3 UTF-8 bytes, so at most 9/8 of n ("&" + 24 + "-",
   9 CJK characters, is 26 bytes that decode to 27). */
#define MUTF7_DECODED_MAX(n) ((n) + (n) / 8 + 1)

/* Encode n bytes of UTF-8 as modified UTF-7: printable US-ASCII except '&' stands
   for itself, '&' becomes "&-", everything else is modified BASE64 of UTF-16BE between
   '&' and '-'. out receives a NUL-terminated string of at most out_size bytes.
   Returns 0 with *out_len_r (without the NUL), -EINVAL when in is not valid UTF-8
   (overlong forms, surrogates, code points above U+10FFFF, NUL bytes), or -ENOSPC
   when out is too small (MUTF7_ENCODED_MAX(n) is always enough). */
int mutf7_encode(const char *in, size_t n, char *out, size_t out_size, size_t *out_len_r);

/* Decode n bytes of modified UTF-7 into NUL-terminated UTF-8. Strict: only printable
   US-ASCII, every shift must end with '-', the BASE64 alphabet uses ',' for '/', the
   padding bits must be zero, surrogates must pair, and BASE64 must not encode a
   printable US-ASCII character. Returns 0 with *out_len_r, -EINVAL on malformed
   input, or -ENOSPC when out is too small (MUTF7_DECODED_MAX(n) is always enough). */
int mutf7_decode(const char *in, size_t n, char *out, size_t out_size, size_t *out_len_r);

/* Whether n bytes of in are valid modified UTF-7 in canonical form (what
   mutf7_encode() would produce for the decoded text: e.g. no "-&" between two
   shifted runs). Used to validate mailbox names in CREATE and RENAME. */
bool mutf7_valid(const char *in, size_t n);

#endif
