/* RFC 3516 BINARY: a section's content with its Content-Transfer-Encoding undone. */
#ifndef MAIL_BINARY_H
#define MAIL_BINARY_H

#include "mail/mime.h"
#include "mail/section.h"

#include <stddef.h>
#include <stdint.h>

enum mail_binary_error {
	MAIL_BINARY_OK = 0,
	MAIL_BINARY_UNKNOWN_CTE = -1,   /* an encoding we cannot undo: NO [UNKNOWN-CTE] */
	MAIL_BINARY_BROKEN = -2,        /* base64 that is not base64: NO [PARSE] */
};

/* One piece of a decoded section, in order: a slice of the message to send as it
   is, a part body to decode, or the word "binary" that replaces a decoded part's
   Content-Transfer-Encoding value when the section includes its MIME header. */
enum mail_piece_kind { MAIL_PIECE_SLICE, MAIL_PIECE_DECODE, MAIL_PIECE_BINARY_WORD };

struct mail_piece {
	enum mail_piece_kind kind;
	uint16_t part;          /* MAIL_PIECE_DECODE: the part whose body it is */
	uint32_t off, len;      /* in the message (SLICE; DECODE: the encoded body) */
	uint32_t size;          /* bytes this piece contributes to the output */
};

#define MAIL_BINARY_MAX_PIECES (3 * MAIL_MAX_PARTS + 1)

/* The pieces of BINARY[sec] (sec->kind must be MAIL_SECTION_ALL: part numbers only)
   of data with structure s, into pieces (room for MAIL_BINARY_MAX_PIECES). Every
   part inside the section whose encoding is base64 or quoted-printable is decoded
   (7bit, 8bit, binary and none are sent as they are); when the section includes a
   decoded part's MIME header (BINARY[] of a single-part message, a message/rfc822
   part, a multipart) its Content-Transfer-Encoding becomes "binary", as Dovecot does.
   Decoded sizes are computed once per message and kept with its structure. A part
   that does not exist gives no piece (an empty string). Returns the piece count, or
   a negative enum mail_binary_error. Event-loop thread only (the cache). */
int mail_binary_pieces(const char *data, struct mail_structure *s,
		       const struct mail_section *sec, struct mail_piece *pieces);

/* Decode the body of a MAIL_PIECE_DECODE piece into out (piece->size bytes). */
void mail_binary_decode(const char *data, const struct mail_structure *s,
			const struct mail_piece *piece, char *out);

#endif
