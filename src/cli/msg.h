/* One message as uimapctl moves it between uimap and mbox files or Maildirs. */
#ifndef CLI_MSG_H
#define CLI_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg {
	char *data;            /* the bytes with CRLF lines, as IMAP has them (malloc) */
	size_t len;
	unsigned flags;        /* UIMAP_FLAG_* system flags (uimap/store.h) */
	char **keywords;       /* n_keywords names (malloc) */
	size_t n_keywords;
	int64_t date;          /* INTERNALDATE, seconds since the epoch; 0: unknown */
	uint32_t uid;          /* 0: none */
	unsigned bad_keywords; /* keywords left out: not IMAP atoms */
};

/* Free what m holds and zero it. */
void msg_clear(struct msg *m);

/* Add keyword name (len bytes; not NUL-terminated) unless m has it already (compared
   case-insensitively, as IMAP keywords are). A name that is no IMAP atom (RFC 3501
   flag-keyword: printable ASCII without atom-specials, 255 bytes at most) is left
   out and counted in m->bad_keywords. Returns 0 or -ENOMEM. */
int msg_add_keyword(struct msg *m, const char *name, size_t len);

/* s (len bytes) with every bare LF made CRLF, into a new malloc()ed buffer
   (*len_r bytes, NUL after them). NULL when out of memory. */
char *msg_to_crlf(const char *s, size_t len, size_t *len_r);

/* The IMAP flag list of m without parentheses ("\\Seen \\Flagged $Label1") into
   out (size bytes; truncated at a whole name). */
void msg_flag_list(const struct msg *m, char *out, size_t size);

/* Parse one IMAP flag name of len bytes into m: a system flag (case-insensitive;
   \\Recent and unknown ones ignored) or a keyword. Returns 0 or -ENOMEM. */
int msg_parse_flag(struct msg *m, const char *name, size_t len);

#endif
