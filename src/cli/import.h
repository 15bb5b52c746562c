/* uimapctl import / export through IMAP on a running server. */
#ifndef CLI_IMPORT_H
#define CLI_IMPORT_H

#include <stdbool.h>

struct import_args {
	const char *source;      /* import: an mbox file or a Maildir; export: the new one */
	const char *mailbox;     /* import: created when missing */
	const char *host, *port; /* online: a plain IMAP listener (loopback) */
	const char *user, *password;
	const char *data_dir;    /* offline: the data directory (no server runs on it) */
	bool keep_uids;          /* offline import: fail unless UIDs are kept */
	bool maildir;            /* export: a Maildir rather than an mbox file */
};

/* Import every message of a->source with its flags, keywords (mbox Status/X-Status/
   X-Keywords; Maildir ":2," letters and dovecot-keywords) and time (mbox "From "
   line; Maildir file time) through APPEND; the source's UIDs are not kept (the
   server gives new ones). Prints the count. Returns the exit status (0, or 1 with a
   message on stderr). */
int import_run(const struct import_args *a);

/* Export a->mailbox of a->user to a->source: a new mbox file or (a->maildir) a new
   Maildir, with flags, keywords, dates, and the UIDs and UIDVALIDITY (X-UID and
   X-IMAPbase headers; dovecot-uidlist). Returns the exit status. */
int export_run(const struct import_args *a);

#endif
