/* Internals shared by source.c, maildir.c and mbox.c. */
#ifndef CLI_SOURCE_PRIVATE_H
#define CLI_SOURCE_PRIVATE_H

#include "cli/source.h"

#include <stdio.h>

struct sink {
	bool maildir;
	char *path;
	uint32_t uidvalidity, uidnext;
	unsigned count;
	FILE *mbox;                        /* mbox: the file */
	char *keywords[MAILDIR_KEYWORDS];  /* Maildir: letter -> keyword */
	char *uidlist;                     /* Maildir: its record lines so far */
	size_t uidlist_len, uidlist_cap;
	size_t dropped;                    /* keywords without a letter */
};

/* maildir.c: list path's cur/ and new/ with its dovecot-uidlist and
   dovecot-keywords into src (items in UID order, the unlisted after in name
   order). Returns 0 or -1 with err. */
int maildir_list(struct source *src, char *err, size_t size);
/* Message i's bytes, flags, keywords and file time into m. 0 or -1 with err. */
int maildir_read(struct source *src, size_t i, struct msg *m, char *err, size_t size);
/* The Maildir sink's parts (see sink_open, sink_put, sink_close). */
int maildir_sink_open(struct sink *s, char *err, size_t size);
int maildir_sink_put(struct sink *s, const struct msg *m, char *err, size_t size);
int maildir_sink_close(struct sink *s, char *err, size_t size);

/* mbox.c: map src->path and list its messages with their UIDs. 0 or -1 with err. */
int mbox_list(struct source *src, char *err, size_t size);
/* Message i (unquoted, metadata headers out, CRLF) with its metadata into m. */
int mbox_read(struct source *src, size_t i, struct msg *m, char *err, size_t size);
/* The mbox sink's parts (see sink_open, sink_put, sink_close). */
int mbox_sink_open(struct sink *s, char *err, size_t size);
int mbox_sink_put(struct sink *s, const struct msg *m, char *err, size_t size);
int mbox_sink_close(struct sink *s, char *err, size_t size);

/* source.c: make path and its missing parents (mode 0700). 0 or -errno. */
int source_make_dirs(const char *path);
/* source.c: read a whole file (malloc, NUL after its *len_r bytes); NULL with errno. */
char *source_slurp(const char *path, size_t *len_r);

#endif
