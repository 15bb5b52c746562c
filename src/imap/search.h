/* SEARCH programs: parsed from the arguments once, evaluated per message. */
#ifndef IMAP_SEARCH_H
#define IMAP_SEARCH_H

#include "imap/cmd.h"
#include "imap/seqset.h"
#include "mail/text-search.h"

enum search_op {
	SEARCH_ALL,
	SEARCH_AND,       /* children */
	SEARCH_OR,        /* two children */
	SEARCH_NOT,       /* one child */
	SEARCH_SEQSET,
	SEARCH_UIDSET,
	SEARCH_FLAG_SET,  /* system flag bit set */
	SEARCH_FLAG_UNSET,
	SEARCH_KEYWORD,
	SEARCH_UNKEYWORD,
	SEARCH_LARGER,
	SEARCH_SMALLER,
	SEARCH_BEFORE,    /* INTERNALDATE, day granularity */
	SEARCH_ON,
	SEARCH_SINCE,
	SEARCH_SENTBEFORE, /* Date: header */
	SEARCH_SENTON,
	SEARCH_SENTSINCE,
	SEARCH_HEADER,    /* field name + string */
	SEARCH_ADDRESS,   /* FROM / TO / CC / BCC: field name + string, on parsed addresses */
	SEARCH_BODY,
	SEARCH_TEXT,
	SEARCH_MODSEQ,    /* modseq >= number (RFC 7162 §3.1.5) */
};

struct search_key {
	enum search_op op;
	struct search_key *child;  /* AND / OR / NOT */
	struct search_key *next;   /* sibling in an AND list */
	uint32_t flag;
	int keyword;               /* index, -1 when the keyword is unknown */
	uint64_t number;           /* size, or day number for dates */
	struct seqset set;
	const char *field;         /* HEADER, ADDRESS */
	const char *value;
	size_t value_len;
	struct mail_search_key *text; /* HEADER / ADDRESS / BODY / TEXT: the prepared needle */
	struct search_key *next_text; /* every key with a prepared needle, for freeing */
	bool uses_modseq;          /* the root: a MODSEQ key is in the program */
};

/* Parse search keys from args (after an optional CHARSET). Returns 1 with the
   program (an AND node), 0 with *error_r for an unsupported charset (NO
   [BADCHARSET]), or -1 with *error_r for a syntax error (BAD). */
int search_parse(struct uimap_cmd *cmd, const struct imap_arg *args, unsigned n,
		 struct search_key **program_r, const char **error_r);

/* search_parse() into the given arena (for a program that outlives the command: the
   strings it needs are copied there too). */
int search_parse_in(struct uimap_cmd *cmd, struct arena *arena, const struct imap_arg *args,
		    unsigned n, struct search_key **program_r, const char **error_r);

/* search_parse_in() for args after the charset, given apart (SORT, THREAD): charset
   NULL, "UTF-8" or "US-ASCII" take the strings as UTF-8; another charset iconv(3)
   converts (mail_charset_known()) has them converted to UTF-8 first; any other is
   0 with a NO [BADCHARSET (...)] text in *error_r. */
int search_parse_charset(struct uimap_cmd *cmd, struct arena *arena, const char *charset,
			 const struct imap_arg *args, unsigned n, struct search_key **program_r,
			 const char **error_r);

/* Resolve KEYWORD/UNKEYWORD keys whose keyword did not exist when parsed (a kept
   program: the keyword may have been created since). */
void search_refresh_keywords(struct search_key *program, struct uimap_store_view *v);

/* Turn message-number keys into the UIDs they stand for now (RFC 5267 §4.3: the
   numbers of a kept search are those of when the command ran). */
void search_seqsets_to_uids(struct search_key *program, struct uimap_store_view *v);

/* Days since the epoch of a civil date (m 0-11). */
int64_t search_days_from_civil(int y, int m, int d);

/* Release what search_parse() prepared outside the arena. */
void search_free(struct search_key *program);

/* Whether message seq (info) matches the program. */
bool search_match(struct session *s, const struct search_key *k, uint32_t seq,
		  const struct uimap_msg_info *info);

/* The day (days since the epoch) of the message's Date: header in the header's own
   zone (RFC 3501 §6.4.4 disregards time and timezone); 0 (1-Jan-1970) when the
   message has no Date: or one rfc822_date_parse() cannot read, as Dovecot does. */
int64_t search_sent_day(struct uimap_blob *blob);

/* Text matching for HEADER / ADDRESS (field), BODY and TEXT: case-insensitive
   substring on decoded text (see mail_search_match()). An empty value with HEADER or
   ADDRESS matches any message that has the field. */
bool search_text(struct uimap_blob *blob, const struct search_key *k);

/* Days since the epoch of a "d-Mon-yyyy" date, or INT64_MIN when invalid. */
int64_t search_parse_date(const char *s);

#endif
