/* SORT order: see sortorder.h. */
#include "imap/sortorder.h"
#include "core/common.h"
#include "mail/sortkey.h"

#include <string.h>
#include <strings.h>

int sort_cmp_str(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

int64_t sort_sent_date(const struct sort_item *it)
{
	return it->k != NULL && it->k->has_date ? it->k->date : it->arrival;
}

int sort_compare(const struct sort_spec *spec, const struct sort_item *a,
		 const struct sort_item *b)
{
	static const struct mail_sortkeys none = { 0 };
	const struct mail_sortkeys *ka = a->k ? a->k : &none, *kb = b->k ? b->k : &none;
	for (unsigned i = 0; i < spec->n_keys; i++) {
		int c = 0;
		switch (spec->keys[i].kind) {
		case SORT_ARRIVAL: c = cmp_i64(a->arrival, b->arrival); break;
		case SORT_DATE: c = cmp_i64(sort_sent_date(a), sort_sent_date(b)); break;
		case SORT_SIZE: c = a->size < b->size ? -1 : a->size > b->size; break;
		case SORT_SUBJECT: c = sort_cmp_str(ka->subject, kb->subject); break;
		case SORT_FROM: c = sort_cmp_str(ka->from, kb->from); break;
		case SORT_TO: c = sort_cmp_str(ka->to, kb->to); break;
		case SORT_CC: c = sort_cmp_str(ka->cc, kb->cc); break;
		case SORT_DISPLAYFROM: c = sort_cmp_str(ka->display_from, kb->display_from); break;
		case SORT_DISPLAYTO: c = sort_cmp_str(ka->display_to, kb->display_to); break;
		}
		if (c != 0)
			return spec->keys[i].reverse ? -c : c;
	}
	/* RFC 5256 §3: equal by every key: by sequence number (= by UID) */
	return a->uid < b->uid ? -1 : a->uid > b->uid;
}

void sort_item_init(struct sort_item *it, const struct sort_spec *spec, uint32_t seq,
		    const struct uimap_msg_info *info)
{
	*it = (struct sort_item){
		.seq = seq, .uid = info->uid, .size = info->size, .modseq = info->modseq,
		.arrival = (int64_t)info->internaldate, .blob = info->blob,
		.k = spec->need_headers ? mail_sortkeys_get(info->blob) : NULL,
	};
}

/* RFC 5256 §3 sort-criteria, with RFC 5957's DISPLAYFROM and DISPLAYTO. */
int sort_spec_parse(const struct imap_arg *list, struct sort_spec *spec)
{
	static const struct {
		const char *name;
		enum sort_kind kind;
		bool header;
	} names[] = {
		{ "ARRIVAL", SORT_ARRIVAL, false }, { "CC", SORT_CC, true },
		{ "DATE", SORT_DATE, true }, { "FROM", SORT_FROM, true },
		{ "SIZE", SORT_SIZE, false }, { "SUBJECT", SORT_SUBJECT, true },
		{ "TO", SORT_TO, true }, { "DISPLAYFROM", SORT_DISPLAYFROM, true },
		{ "DISPLAYTO", SORT_DISPLAYTO, true },
	};
	bool reverse = false;
	if (list->type != IMAP_ARG_LIST || list->len == 0)
		return -1;
	for (unsigned i = 0; i < list->len; i++) {
		const struct imap_arg *a = &list->u.list[i];
		if (a->type != IMAP_ARG_ATOM)
			return -1;
		if (strcasecmp(a->u.str, "REVERSE") == 0 && !reverse) {
			reverse = true;
			continue;
		}
		unsigned k = 0;
		while (k < N_ELEMENTS(names) && strcasecmp(a->u.str, names[k].name) != 0)
			k++;
		if (k == N_ELEMENTS(names) || spec->n_keys == SORT_MAX_KEYS)
			return -1;
		spec->keys[spec->n_keys++] = (struct sort_key){ names[k].kind, reverse };
		spec->need_headers |= names[k].header;
		reverse = false;
	}
	return reverse ? -1 : 0;   /* REVERSE must come before a key */
}
