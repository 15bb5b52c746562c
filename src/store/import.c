/* Offline import (uimapctl): a mailbox made with a given UIDVALIDITY, messages added
   with given UIDs, UIDNEXT raised past a source's, through the store's primitives. */
#include "store/memstore.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int store_import_mailbox(struct memstore *ms, const char *user_name, const char *raw,
			 uint32_t uidvalidity, uint32_t first_uid, uint64_t modseq_floor,
			 struct mailbox **box_r, bool *kept_r)
{
	struct uimap_store_user *pub;
	struct store_user *user;
	struct mailbox *box;
	char name[STORE_NAME_MAX + 1];
	int r;

	*kept_r = false;
	if (store_name_canon(raw, true, name) < 0 || !store_name_valid(name))
		return -EINVAL;
	/* a new user gets INBOX and the default mailboxes, as at its first login */
	r = ms->pub.vt->user_open(&ms->pub, user_name, &pub);
	if (r < 0)
		return r;
	user = (struct store_user *)pub;
	ms->pub.vt->user_close(pub);
	box = store_user_find(user, name);
	if (box == NULL || box->noselect) {
		r = ms->pub.vt->mailbox_create(pub, name, 0);
		if (r < 0)
			return r;
		box = store_user_find(user, name);
		*kept_r = uidvalidity != 0;
	} else {
		/* empty: made anew with the source's UIDVALIDITY (a client that knew
		   the old one resynchronises), unless it has it already and handed out
		   UIDs the source would reuse */
		*kept_r = uidvalidity != 0 && box->n_live == 0 &&
			  (box->uidvalidity != uidvalidity || first_uid >= box->uidnext);
	}
	if (*kept_r && box->uidvalidity != uidvalidity) {
		/* through the primitives, so a journal would record it as it is */
		unsigned special_use = box->special_use;

		r = store_apply_mailbox_delete(user, name);
		if (r == 0)
			r = store_apply_mailbox_create(user, name, uidvalidity, special_use);
		if (r < 0)
			return r;
		box = store_user_find(user, name);
	}
	if (box == NULL)
		return -ENOENT;
	/* RFC 7162: with the source's UIDVALIDITY kept, a client's cached
	   HIGHESTMODSEQ from the source must not lie ahead of this mailbox's */
	if (*kept_r && modseq_floor > box->modseq && modseq_floor <= (uint64_t)INT64_MAX)
		box->modseq = modseq_floor;
	*box_r = box;
	return 0;
}

int store_import_append(struct mailbox *box, struct uimap_blob *blob, uint8_t flags,
			const char *const *keywords, size_t n_keywords, int64_t internaldate,
			int16_t tz_minutes, uint32_t uid, uint32_t *uid_r)
{
	uint64_t mask = 0;

	for (size_t i = 0; i < n_keywords; i++) {
		int idx = mailbox_keyword_index(box, keywords[i], true);

		if (idx < 0)
			return idx;
		mask |= 1ull << idx;
	}
	return mailbox_add(box, blob, flags & UIMAP_FLAGS_STORABLE, mask, internaldate,
			   tz_minutes, uid, 0, uid_r);
}

void store_import_uidnext(struct mailbox *box, uint32_t uidnext)
{
	if (uidnext > box->uidnext && uidnext != UINT32_MAX)
		box->uidnext = uidnext;
	mailbox_changed(box, NULL);
}
