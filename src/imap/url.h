/* IMAP URLs (RFC 5092) naming a message or a part of one, as CATENATE (RFC 4469 §5)
   uses them: parsing, and reading the bytes they name from the user's own mail. */
#ifndef IMAP_URL_H
#define IMAP_URL_H

#include "core/arena.h"
#include "uimap/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_url {
	char *mailbox;          /* modified UTF-7; NULL: the selected mailbox */
	uint32_t uidvalidity;   /* 0: not given */
	uint32_t uid;
	char *section;          /* NULL: the whole message */
	bool partial;
	uint32_t origin, length;
};

/* Parse url (len bytes) for user: "imap://[user[;AUTH=*]@]host[:port]/mailbox
   [;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]", the same from "/mailbox",
   or ";UID=n..." relative to the selected mailbox. An absolute URL's user, when given,
   must be user (another user's mail is not reachable). Strings come from a. Returns 0,
   or -1 with *error_r. */
int imap_url_parse(struct arena *a, const char *url, size_t len, const char *user,
		   struct imap_url *url_r, const char **error_r);

/* The bytes url names in the user's mail (selected: the selected mailbox's name or
   NULL), copied into memory from a: the message, or its section (BODY[section]
   semantics) and partial range. Returns 0 with *data_r / *len_r, or -1 with *error_r
   (no such mailbox, UIDVALIDITY changed, no such message or part). */
int imap_url_fetch(struct arena *a, struct uimap_store_user *mail, const char *selected,
		   const struct imap_url *url, const char **data_r, size_t *len_r,
		   const char **error_r);

#endif
