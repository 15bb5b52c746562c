/* uimapctl import / export straight into and out of a data directory (no server). */
#ifndef CLI_OFFLINE_H
#define CLI_OFFLINE_H

#include "cli/import.h"

/* Import a->source into a->mailbox of a->user in a->data_dir, which no uimapd may
   have open (its lock is taken). The source's UIDs and UIDVALIDITY are kept when it
   has them and the mailbox is new or empty, else the messages are numbered on
   (a->keep_uids: an error instead). The whole import is written as one new
   snapshot (the journals folded into it), so an interrupted one changes nothing.
   Returns the exit status (0, or 1 with a message on stderr). */
int offline_import(const struct import_args *a);

/* Export a->mailbox of a->user from a->data_dir (read, not locked: a running uimapd
   may have it open) to a->source as export_run() does. Returns the exit status. */
int offline_export(const struct import_args *a);

/* A data directory's files that are not owned by its owner are given to it (the
   tool ran as root on the directory of an unprivileged uimapd). */
void offline_fix_owner(const char *data_dir);

#endif
