/* SASL mechanism helpers: decoding the PLAIN initial response (RFC 4616). */
#ifndef AUTH_SASL_H
#define AUTH_SASL_H

#include <stddef.h>

/* Split a decoded SASL PLAIN message "[authzid] NUL authcid NUL passwd" (RFC 4616
   section 2) into three NUL-terminated strings without allocating.
   scratch must hold len + 1 bytes; it receives a copy of in plus a final NUL and the
   result pointers point into it. scratch may equal in (decode in place) provided the
   buffer has room for the extra byte. Rejected (returns -1 with *error_r, a static
   string suitable for a NO/BAD text): a missing NUL separator, more than two NULs,
   an empty authcid or passwd, and an authzid that is neither empty nor equal to the
   authcid (we do not support acting as another user). Returns 0 on success with
   *authzid_r ("" when absent), *authcid_r and *pass_r set. The caller should wipe
   scratch (explicit_bzero) once the password has been used. */
int sasl_plain_decode(const unsigned char *in, size_t len, char *scratch,
		      const char **authzid_r, const char **authcid_r,
		      const char **pass_r, const char **error_r);

#endif
