/* IMAP string output with Dovecot's choices of quoted string or literal. */
#ifndef MAIL_IMAPSTR_H
#define MAIL_IMAPSTR_H

#include "net/outq.h"

#include <stddef.h>

/* NIL when s is NULL; else a quoted string (resp_quoted) unless s has CR, LF, NUL or
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
