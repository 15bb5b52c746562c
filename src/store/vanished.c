/* Expunged UIDs with their mod-sequences, for QRESYNC's VANISHED (RFC 7162 §3.2.5).

   A mailbox keeps them as disjoint ranges sorted by UID, each with the largest
   mod-sequence of its UIDs. An expunge joins the range ending just below it and the
   one starting just above, so two ranges are always separated by a UID that is not
   expunged (a live message, or a UID never used here): there are at most
   live messages + 1 ranges (plus unused UID runs), 16 bytes each, however many
   messages were ever expunged. Asked for "since modseq m", a range whose largest
   mod-sequence is above m is answered whole: it may name UIDs expunged before m,
   which the RFC allows (the client ignores UIDs it does not have), never a message
   that exists. */
#include "store/memstore.h"
#include "core/alloc.h"

#include <string.h>

/* The index of the first range with lo > uid. */
static uint32_t vanished_upper(const struct mailbox *box, uint32_t uid)
{
	uint32_t lo = 0, hi = box->n_vanished;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (box->vanished[mid].lo <= uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void vanished_insert(struct mailbox *box, uint32_t at, struct store_vanished r)
{
	if (box->n_vanished == box->cap_vanished) {
		box->cap_vanished = box->cap_vanished ? 2 * box->cap_vanished : 8;
		box->vanished = xrealloc(box->vanished,
					 box->cap_vanished * sizeof(*box->vanished));
	}
	memmove(&box->vanished[at + 1], &box->vanished[at],
		(box->n_vanished - at) * sizeof(*box->vanished));
	box->vanished[at] = r;
	box->n_vanished++;
}

void mailbox_vanished_add(struct mailbox *box, uint32_t uid, uint64_t modseq)
{
	uint32_t i = vanished_upper(box, uid);
	struct store_vanished *left = i > 0 ? &box->vanished[i - 1] : NULL;
	struct store_vanished *right = i < box->n_vanished ? &box->vanished[i] : NULL;

	if (left != NULL && uid <= left->hi) {
		/* already in (a replayed expunge inside a range rebuilt at load) */
		if (modseq > left->modseq)
			left->modseq = modseq;
		return;
	}
	bool join_left = left != NULL && left->hi + 1 == uid;
	bool join_right = right != NULL && uid != UINT32_MAX && right->lo == uid + 1;
	if (join_left && join_right) {
		left->hi = right->hi;
		if (right->modseq > left->modseq)
			left->modseq = right->modseq;
		if (modseq > left->modseq)
			left->modseq = modseq;
		memmove(right, right + 1, (box->n_vanished - i - 1) * sizeof(*box->vanished));
		box->n_vanished--;
	} else if (join_left) {
		left->hi = uid;
		if (modseq > left->modseq)
			left->modseq = modseq;
	} else if (join_right) {
		right->lo = uid;
		if (modseq > right->modseq)
			right->modseq = modseq;
	} else {
		vanished_insert(box, i, (struct store_vanished){ uid, uid, modseq });
	}
}

void mailbox_vanished_rebuild(struct mailbox *box, uint64_t modseq)
{
	uint32_t next = 1;   /* the lowest UID not yet accounted for */

	box->n_vanished = 0;
	for (uint32_t i = 0; i <= box->n_msgs; i++) {
		uint32_t uid = i < box->n_msgs ? box->msgs[i].uid : box->uidnext;
		if (i < box->n_msgs && box->msgs[i].state != MSG_LIVE)
			continue;
		if (uid > next)
			vanished_insert(box, box->n_vanished,
					(struct store_vanished){ next, uid - 1, modseq });
		if (uid == UINT32_MAX)
			break;
		next = uid + 1;
	}
}

int store_view_vanished(struct uimap_store_view *pub, uint64_t modseq,
			const struct uimap_range *uids, size_t n,
			void (*cb)(void *ctx, uint32_t lo, uint32_t hi), void *ctx)
{
	const struct mailbox *box = ((struct store_view *)pub)->box;
	size_t k = 0;

	for (uint32_t i = 0; i < box->n_vanished; i++) {
		const struct store_vanished *r = &box->vanished[i];
		if (r->modseq <= modseq)
			continue;
		if (uids == NULL) {
			cb(ctx, r->lo, r->hi);
			continue;
		}
		/* both sorted: walk the UID set alongside */
		while (k < n && uids[k].hi < r->lo)
			k++;
		for (size_t j = k; j < n && uids[j].lo <= r->hi; j++) {
			uint32_t lo = uids[j].lo > r->lo ? uids[j].lo : r->lo;
			uint32_t hi = uids[j].hi < r->hi ? uids[j].hi : r->hi;
			cb(ctx, lo, hi);
		}
	}
	return 0;
}

uint64_t store_view_highest_modseq(struct uimap_store_view *pub)
{
	return ((struct store_view *)pub)->box->modseq;
}
