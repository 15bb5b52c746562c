/* IMAP string syntax: atom characters, and output as atom, quoted string or literal
   (with Dovecot's choices where they matter). */
#ifndef MAIL_IMAPSTR_H
#define MAIL_IMAPSTR_H

#include "core/outq.h"

#include <stdbool.h>
#include <stddef.h>

/* RFC 3501 §9 ATOM-CHAR: any CHAR except atom-specials ("(" ")" "{" SP CTL
   list-wildcards quoted-specials resp-specials). */
bool imap_is_atom_char(unsigned char c);

/* Whether s can be sent as a quoted string (no CR, LF, NUL or 8-bit bytes). */
bool imapstr_can_quote(const char *s, size_t len);

/* Write s quoted (escaping " and \); s must satisfy imapstr_can_quote(). */
void imapstr_quoted(struct outq *q, const char *s, size_t len);

/* Write s as a quoted string when possible, else as a literal {n}. */
void imapstr_string(struct outq *q, const char *s, size_t len);

/* Write s as an atom when it is a non-empty atom other than NIL, else as
   imapstr_string() does (astring, RFC 3501 §9). */
void imapstr_astring(struct outq *q, const char *s, size_t len);

/* NIL when s is NULL; else a quoted string (imapstr_quoted) unless s has CR, LF, NUL or
   8-bit bytes or more than 4 quote/backslash characters, in which case a literal
   (NULs are sent as 0x80). This is Dovecot's imap_append_nstring(). */
void imapstr_nstring(struct outq *q, const char *s, size_t len);

/* imapstr_nstring() after removing every CR and LF (Dovecot's _nolf variant, used
   for unfolded header values). */
void imapstr_nstring_nolf(struct outq *q, const char *s, size_t len);

/* A string "for humans" (Dovecot's imap_append_string_for_humans(), used for the
   subject and display names): CR/LF removed, TABs as spaces, runs of spaces
   collapsed, leading/trailing spaces dropped. Sent quoted when nothing had to be
   changed and there are no quotes, backslashes or 8-bit bytes; "" when only spaces;
   a literal of the cleaned text otherwise. */
void imapstr_human(struct outq *q, const char *s, size_t len);

#endif
