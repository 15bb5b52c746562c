/* SASL mechanism helpers: decoding the PLAIN initial response (RFC 4616). */
#include "auth/sasl.h"

#include <string.h>

int sasl_plain_decode(const unsigned char *in, size_t len, char *scratch,
		      const char **authzid_r, const char **authcid_r,
		      const char **pass_r, const char **error_r)
{
	const char *fields[3];
	unsigned n = 0;

	if (len == 0) {
		*error_r = "Empty SASL PLAIN message";
		return -1;
	}
	memmove(scratch, in, len);
	scratch[len] = '\0';

	/* message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 section 2) */
	fields[n++] = scratch;
	for (size_t i = 0; i < len; i++) {
		if (scratch[i] != '\0')
			continue;
		if (n == 3) {
			*error_r = "Too many NUL separators in SASL PLAIN message";
			return -1;
		}
		fields[n++] = scratch + i + 1;
	}
	if (n != 3) {
		*error_r = "Missing NUL separator in SASL PLAIN message";
		return -1;
	}
	if (fields[1][0] == '\0') {
		*error_r = "Empty authentication identity";
		return -1;
	}
	if (fields[2][0] == '\0') {
		*error_r = "Empty password";
		return -1;
	}
	/* Proxy authorization (section 2: "authzid ... derived from authcid") is not
	   supported: an authzid must be absent or name the authenticating user. */
	if (fields[0][0] != '\0' && strcmp(fields[0], fields[1]) != 0) {
		*error_r = "Authorization identity must be empty or equal the authentication identity";
		return -1;
	}
	*authzid_r = fields[0];
	*authcid_r = fields[1];
	*pass_r = fields[2];
	return 0;
}
