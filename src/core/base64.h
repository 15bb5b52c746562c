/* RFC 4648 base64 encoding and strict decoding (SASL, AUTHENTICATE). */
#ifndef CORE_BASE64_H
#define CORE_BASE64_H

#include <stddef.h>

/* Number of characters base64_encode() writes for n input bytes, not counting
   the terminating NUL (always a multiple of 4). */
size_t base64_encoded_len(size_t n);

/* Upper bound of bytes base64_decode() writes for n input characters. */
size_t base64_decoded_max(size_t n);

/* Encode n bytes of in with the standard alphabet and '=' padding (RFC 4648
   section 4). out must hold base64_encoded_len(n) + 1 bytes; it is NUL-terminated. */
void base64_encode(const void *in, size_t n, char *out);

/* Strictly decode n characters of in (RFC 4648 section 4): n must be a multiple of 4,
   only alphabet characters are allowed, '=' only as one or two final padding
   characters, and the unused bits before padding must be zero (section 3.5).
   No whitespace is skipped. out must hold base64_decoded_max(n) (n/4*3) bytes;
   out may equal in (in-place decoding). Returns 0 with *out_len_r set, or -1 on
   malformed input (out contents are then unspecified). */
int base64_decode(const char *in, size_t n, unsigned char *out, size_t *out_len_r);

#endif
