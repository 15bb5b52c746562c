/* Mailbox files as import sources (mbox, Maildir) and export destinations. */
#ifndef CLI_SOURCE_H
#define CLI_SOURCE_H

#include "cli/msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAILDIR_KEYWORDS 26    /* Dovecot's keyword letters a..z */

/* Where message i of a source is. */
struct source_item {
	char *name;            /* Maildir: the file's path under the Maildir (cur/...) */
	size_t off, len;       /* mbox: the bytes after its From line, as in the file */
	int64_t date;          /* mbox: the From line's time (0: unreadable) */
	uint32_t uid;          /* 0 when the source has no UIDs */
};

/*
 * A source's UIDs follow Dovecot's reading of the same files: the mailbox has UIDs
 * when a dovecot-uidlist (Maildir; Courier's courierimapuiddb format too) or an
 * X-IMAPbase/X-IMAP header (mbox, the first message) gives a UIDVALIDITY. Listed
 * messages (X-UID headers growing from message to message) keep theirs; the others
 * get the next ones in order, as Dovecot would give them, and count as renumbered.
 */
struct source {
	bool maildir;
	char *path;
	uint32_t uidvalidity;  /* 0: the source has no UIDs */
	uint32_t uidnext;      /* above every UID, at least the source's own UIDNEXT */
	size_t n;              /* messages, in UID order (else the file's / name order) */
	struct source_item *items;
	size_t renumbered;     /* messages without a UID of their own (see above) */
	char *keywords[MAILDIR_KEYWORDS]; /* Maildir: dovecot-keywords */
	const char *map;       /* mbox: the file, mapped */
	size_t map_len;
};

/* Open the mbox file (an empty file is an empty mbox) or Maildir (cur/ and new/) at
   path and list its messages. Returns 0, or -1 with err (size bytes) saying why. */
int source_open(const char *path, struct source *src, char *err, size_t size);

/* Message i into m (cleared first): its bytes with CRLF lines (mbox: ">From"
   unquoted, the metadata headers Status, X-Status, X-Keywords, X-UID, X-IMAP and
   X-IMAPbase taken out, as Dovecot hides them), flags, keywords, date and UID.
   Returns 0, or -1 with err. */
int source_read(struct source *src, size_t i, struct msg *m, char *err, size_t size);

/* Free what source_open() made (src zeroed). */
void source_close(struct source *src);

/* An export destination: a new mbox file or a Maildir. */
struct sink;

/* Create it at path: a new mbox file (never an existing one), or a Maildir (made
   with its parents; refused when its cur/ or new/ holds files already; an mbox
   file's missing directories are made too).
   uidvalidity and uidnext (0 when unknown) go into its dovecot-uidlist or the
   first message's X-IMAPbase. Returns 0 with *sink_r, or -1 with err. */
int sink_open(struct sink **sink_r, const char *path, bool maildir, uint32_t uidvalidity,
	      uint32_t uidnext, char *err, size_t size);

/* Write m: mbox: a "From MAILER-DAEMON" line with its date, Status/X-Status/
   X-Keywords/X-UID headers first, LF lines, mboxrd quoting, a blank line after;
   Maildir: a cur/ file whose name carries the flags (":2," letters, keywords as
   Dovecot's a..z letters) and whose time is the date. Returns 0, or -1 with err. */
int sink_put(struct sink *sink, const struct msg *m, char *err, size_t size);

/* Finish (Maildir: dovecot-uidlist and dovecot-keywords; an empty mbox: UW-IMAP's
   "FOLDER INTERNAL DATA" message with the UIDVALIDITY), close and free. *dropped_r
   (may be NULL): keyword uses a Maildir could not name (more than 26 keywords).
   Returns 0, or -1 with err. */
int sink_close(struct sink **sink, size_t *dropped_r, char *err, size_t size);

/* ---- the formats' pieces (unit-tested) ---------------------------------------- */

/* dovecot-uidlist: "3 V<uidvalidity> N<uidnext> ..." (or version 1: "1 <uidvalidity>
   <uidnext>") then "<uid> [<key><value> ...] :<file name>" lines ("<uid> <name>" in
   version 1) with growing UIDs. Records keep the name's base (up to ':'). */
struct uidlist_rec {
	uint32_t uid;
	char *base;
};

struct uidlist {
	unsigned version;
	uint32_t uidvalidity, uidnext;
	struct uidlist_rec *recs;
	size_t n;
};

/* Parse text (len bytes). Returns 0, or -1 with err naming the line that is wrong
   (ul is then empty). */
int uidlist_parse(const char *text, size_t len, struct uidlist *ul, char *err, size_t size);
/* Free the records (ul zeroed). */
void uidlist_free(struct uidlist *ul);

/* dovecot-keywords: "<index> <name>" lines, index 0..25 (letters a..z); others are
   ignored. names[i] (malloc) is set for each index given. */
void maildir_keywords_parse(const char *text, size_t len, char *names[MAILDIR_KEYWORDS]);

/* The length of a Maildir file name's base (up to its ":2," info). */
size_t maildir_base_len(const char *name);

/* The flags of a Maildir name's ":2," letters into m: S R F T D, and a..z keywords
   named by names (a letter without a name is ignored). Returns 0 or -ENOMEM. */
int maildir_name_flags(const char *name, char *const names[MAILDIR_KEYWORDS], struct msg *m);

/* The ":2," letters of m into out (size >= 32): D F R S T, then the keywords' letters
   from names, a keyword not there taking the first free index. Returns how many of
   m's keywords found no letter (all 26 taken). */
size_t maildir_letters(const struct msg *m, char *names[MAILDIR_KEYWORDS], char *out,
		       size_t size);

/* The metadata headers of an mbox message's header (msg, len bytes, LF or CRLF
   lines): Status/X-Status flags and X-Keywords into m, X-UID into *uid_r (0 when
   none or not a number), X-IMAPbase/X-IMAP into *uidvalidity_r and *uid_last_r
   (0 when none; *pseudo_r set for X-IMAP, UW-IMAP's folder data message). The
   message without those headers (continuation lines included) is copied to out
   (len bytes at most); *out_len_r its length. Returns 0 or -ENOMEM. */
int mbox_meta(const char *msg, size_t len, struct msg *m, uint32_t *uid_r,
	      uint32_t *uidvalidity_r, uint32_t *uid_last_r, bool *pseudo_r, char *out,
	      size_t *out_len_r);

/* "From sender Mon Jan  2 10:00:00 2023" (line, n bytes) -> its time, UTC assumed;
   0 when unreadable. */
int64_t mbox_from_time(const char *line, size_t n);

#endif
