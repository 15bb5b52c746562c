/* uimapctl import: mbox files and Maildirs into a user's mailbox on a running server. */
#ifndef CLI_IMPORT_H
#define CLI_IMPORT_H

#include <stdbool.h>

struct import_args {
	const char *source;      /* an mbox file or a Maildir (cur/, new/) */
	const char *mailbox;     /* created when missing */
	const char *host, *port; /* a plain IMAP listener (loopback) */
	const char *user, *password;
};

/* Import every message with its flags (mbox Status/X-Status; Maildir ":2," letters) and
   time (mbox "From " line; Maildir file time) through APPEND. Prints the count.
   Returns the exit status (0, or 1 with a message on stderr). */
int import_run(const struct import_args *a);

/* Export MAILBOX (a->mailbox) of a->user to a->source: a new mbox file (maildir false;
   flags as Status/X-Status headers, ">From" quoted) or a Maildir (created; flags in the
   ":2," letters, the file time the INTERNALDATE). Returns the exit status. */
int export_run(const struct import_args *a, bool maildir);

#endif
