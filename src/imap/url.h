/* IMAP URLs (RFC 5092) naming a message or a part of one, as CATENATE (RFC 4469 §5)
   and URLAUTH (RFC 4467) use them: parsing, and reading the bytes they name. */
#ifndef IMAP_URL_H
#define IMAP_URL_H

#include "core/arena.h"
#include "core/outq.h"
#include "uimap/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* RFC 4467 §3 access identifiers */
enum imap_url_access {
	IMAP_URL_ACCESS_NONE,       /* no ;URLAUTH= */
	IMAP_URL_ACCESS_ANONYMOUS,  /* "anonymous": anyone */
	IMAP_URL_ACCESS_AUTHUSER,   /* "authuser": any logged-in user */
	IMAP_URL_ACCESS_SUBMIT,     /* "submit+USER": a submission server for USER */
	IMAP_URL_ACCESS_USER,       /* "user+USER": USER */
};

struct imap_url {
	char *user;             /* the absolute URL's user (decoded); NULL: not given */
	char *mailbox;          /* modified UTF-7; NULL: the selected mailbox */
	uint32_t uidvalidity;   /* 0: not given */
	uint32_t uid;
	char *section;          /* NULL: the whole message */
	bool partial;
	uint32_t origin, length;
	/* URLAUTH (RFC 4467 §3, RFC 5092 §3): [;EXPIRE=t];URLAUTH=access[:mech:token] */
	bool has_expire;
	time_t expire;
	enum imap_url_access access;
	char *access_user;      /* SUBMIT and USER: the user named (decoded) */
	char *mech;             /* NULL: a rump URL (no verifier) */
	char *token;            /* hex digits (32 or more) */
	size_t rump_len;        /* bytes of the URL up to the access identifier's end */
};

/* Parse url (len bytes) for user: "imap://[user[;AUTH=*]@]host[:port]/mailbox
   [;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]", the same from "/mailbox",
   or ";UID=n..." relative to the selected mailbox, each optionally followed by
   "[;EXPIRE=date-time];URLAUTH=access[:mechanism:token]" (RFC 4467 §3; the
   date-time is RFC 3339's). An absolute URL's user, when given, must be user
   (another user's mail is not reachable) unless user is NULL. Strings come from a.
   Returns 0, or -1 with *error_r. */
int imap_url_parse(struct arena *a, const char *url, size_t len, const char *user,
		   struct imap_url *url_r, const char **error_r);

/* The bytes url names in the user's mail (selected: the selected mailbox's name or
   NULL), copied into memory from a: the message, or its section (BODY[section]
   semantics) and partial range. Returns 0 with *data_r / *len_r, or -1 with *error_r
   (no such mailbox, UIDVALIDITY changed, no such message or part). */
int imap_url_fetch(struct arena *a, struct uimap_store_user *mail, const char *selected,
		   const struct imap_url *url, const char **data_r, size_t *len_r,
		   const char **error_r);

/* What imap_url_fetch_ext() is asked for besides the bytes (RFC 5524). */
struct imap_url_fetch_opts {
	bool binary;            /* the section's Content-Transfer-Encoding undone
				   (RFC 3516 BINARY[part]: part numbers only) */
	struct outq *structure; /* not NULL: the named part's BODYSTRUCTURE is written
				   here (extended form) */
	bool nul;               /* out: the bytes hold a NUL (send a literal8) */
};

/* imap_url_fetch() with o's choices. Besides its errors, BINARY of a section that
   is not part numbers only or of an encoding that cannot be undone is -1. */
int imap_url_fetch_ext(struct arena *a, struct uimap_store_user *mail, const char *selected,
		       const struct imap_url *url, struct imap_url_fetch_opts *o,
		       const char **data_r, size_t *len_r, const char **error_r);

#endif
