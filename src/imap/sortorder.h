/* SORT order (RFC 5256 §3 with RFC 5957's display keys): the keys of a SORT command
   and the comparison of two messages by them, shared by SORT / THREAD and by the
   sort contexts of CONTEXT=SORT (context.c). */
#ifndef IMAP_SORTORDER_H
#define IMAP_SORTORDER_H

#include "imap/parser.h"
#include "uimap/store.h"

#include <stdbool.h>
#include <stdint.h>

struct mail_sortkeys;

enum sort_kind {
	SORT_ARRIVAL, SORT_CC, SORT_DATE, SORT_FROM, SORT_SIZE, SORT_SUBJECT, SORT_TO,
	SORT_DISPLAYFROM, SORT_DISPLAYTO,
};

#define SORT_MAX_KEYS 16

struct sort_key {
	enum sort_kind kind;
	bool reverse;
};

struct sort_spec {
	struct sort_key keys[SORT_MAX_KEYS];
	unsigned n_keys;
	bool need_headers;                 /* a key that comes from the header */
};

/* What a message is sorted by. */
struct sort_item {
	uint32_t seq, uid;
	uint64_t size, modseq;
	int64_t arrival;                   /* INTERNALDATE */
	const struct mail_sortkeys *k;     /* NULL when no header key is needed */
	struct uimap_blob *blob;           /* borrowed (k lives in its cache) */
};

/* Parse a sort-criteria list ("(REVERSE DATE SUBJECT)") into spec (zeroed by the
   caller). Returns 0, or -1 when it is not one. */
int sort_spec_parse(const struct imap_arg *list, struct sort_spec *spec);

/* Fill it for message seq of a view (info from view_msg); the header keys are made
   (once per message) only when spec needs them. */
void sort_item_init(struct sort_item *it, const struct sort_spec *spec, uint32_t seq,
		    const struct uimap_msg_info *info);

/* <0, 0, >0 as a sorts before, with or after b; messages equal by every key go by UID
   (in a view, the same as by sequence number: RFC 5256 §3). */
int sort_compare(const struct sort_spec *spec, const struct sort_item *a,
		 const struct sort_item *b);

/* RFC 5256 §2.2: the sent date, or INTERNALDATE when the Date: is missing or bad. */
int64_t sort_sent_date(const struct sort_item *it);

/* Byte comparison of two keys (NULL as ""). */
int sort_cmp_str(const char *a, const char *b);

#endif
