/* uimapctl snapshot info | verify | compact: a data directory's snapshot and journals. */
#ifndef CLI_DATADIR_H
#define CLI_DATADIR_H

#include <stdbool.h>

/* Print the directory's files and sizes, the snapshot's format version, creation
   time and the journal records it covers, the journals' length and records after
   it, and the users, mailboxes, messages and message bytes (mailboxes: a line
   "mailbox: USER uidvalidity=N uidnext=N messages=N bytes=N NAME" per mailbox
   too). Read-only, not locked. Returns the exit status (1 when the data
   does not load, or loads only in part: the damage is printed). */
int datadir_info(const char *dir, bool mailboxes);

/* Load everything, checking every checksum and record, as uimapd does at start:
   prints "ok ..." and returns 0, or prints the first problem (file and offset)
   and returns 1. Read-only, not locked. */
int datadir_verify(const char *dir);

/* Load the snapshot and the journals, write a fresh snapshot and delete the
   journals it covers (a new empty journal follows), as uimapd does after a
   snapshot. Refused (1) while a uimapd has the directory open. ignore_corrupt: keep
   what verifies of damaged data (uimapd's ignore-corrupt-snapshot) and report what
   was dropped. Returns the exit status. */
int datadir_compact(const char *dir, bool ignore_corrupt);

#endif
