/* BODY and BODYSTRUCTURE (RFC 3501 7.4.2) rendered as Dovecot renders them. */
#ifndef MAIL_BODYSTRUCTURE_H
#define MAIL_BODYSTRUCTURE_H

#include "mail/mime.h"
#include "core/outq.h"

#include <stdbool.h>
#include <stdint.h>

/* Write the parenthesised BODYSTRUCTURE (extended true: with the extension data
   md5/disposition/language/location, and params/disposition/language/location for
   multiparts) or BODY (extended false) of part (0 for the whole message) to q.
   Defaults as Dovecot: "text" "plain" ("charset" "us-ascii") without Content-Type,
   "7bit" without Content-Transfer-Encoding, a multipart without any part shows one
   empty text/plain part; type, subtype and parameter names keep their case; sizes
   are octets of the body as stored, lines are LF counts (text/x and
   message/rfc822 only). */
void mail_bodystructure_write(struct outq *q, const char *data, const struct mail_structure *s,
			      uint16_t part, bool extended);

#endif
