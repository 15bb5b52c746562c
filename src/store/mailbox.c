/* A mailbox: the UID-sorted message array, keywords, counters and the change logs. */
#include "store/memstore.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct mailbox *mailbox_new(struct store_user *user, const char *name)
{
	struct mailbox *box = xcalloc(1, sizeof(*box));

	box->name = xstrdup(name);
	box->user = user;
	box->refs = 1;
	box->uidvalidity = store_next_uidvalidity(user->store);
	box->uidnext = 1;
	box->first_recent_uid = 1;
	box->modseq = 1;
	box->next_view_id = 1;
	return box;
}

/* Mailboxes with more messages than this are freed in slices when a loop drives
   the store (a DELETE of a million messages must not stall it). */
#define MAILBOX_FREE_AT_ONCE 4096

/* Free up to max of box's messages; then, when all are, the mailbox. Returns
   whether it is gone. */
static bool mailbox_free_some(struct mailbox *box, uint32_t *max)
{
	for (; box->n_freed < box->n_msgs && *max > 0; box->n_freed++, (*max)--) {
		struct store_msg *msg = &box->msgs[box->n_freed];
		if (msg->state != MSG_DEAD)
			uimap_blob_unref(&msg->blob);
	}
	if (box->n_freed < box->n_msgs)
		return false;
	for (unsigned i = 0; i < box->n_keywords; i++)
		free(box->keywords[i]);
	free(box->msgs);
	free(box->exp_log);
	free(box->flag_log);
	free(box->vanished);
	free(box->name);
	free(box);
	return true;
}

void mailbox_unref(struct mailbox **boxp)
{
	struct mailbox *box = *boxp;

	*boxp = NULL;
	if (box == NULL || --box->refs > 0)
		return;
	struct memstore *ms = box->user->store;
	if (ms->lazy_free && box->n_msgs > MAILBOX_FREE_AT_ONCE) {
		box->next_grave = ms->graveyard;
		ms->graveyard = box;
		return;
	}
	uint32_t all = UINT32_MAX;
	mailbox_free_some(box, &all);
}

bool store_collect(struct memstore *ms, uint32_t max)
{
	while (ms->graveyard != NULL && max > 0) {
		struct mailbox *box = ms->graveyard;
		struct mailbox *next = box->next_grave;
		if (!mailbox_free_some(box, &max))
			break;
		ms->graveyard = next;
	}
	return ms->graveyard != NULL;
}

uint32_t mailbox_lower_bound(const struct mailbox *box, uint32_t uid)
{
	uint32_t lo = 0, hi = box->n_msgs;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (box->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int mailbox_find(const struct mailbox *box, uint32_t uid, uint32_t *idx_r)
{
	uint32_t idx = mailbox_lower_bound(box, uid);

	if (idx >= box->n_msgs || box->msgs[idx].uid != uid)
		return 0;
	*idx_r = idx;
	return 1;
}

bool store_keyword_valid(const char *name, size_t len)
{
	if (len == 0 || len > 255)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return false;
	}
	return true;
}

int mailbox_keyword_index(struct mailbox *box, const char *name, bool create)
{
	if (!store_keyword_valid(name, strlen(name)))
		return -EINVAL;
	/* Keywords compare case-insensitively, like Dovecot's. */
	for (unsigned i = 0; i < box->n_keywords; i++) {
		if (strcasecmp(box->keywords[i], name) == 0)
			return (int)i;
	}
	if (!create)
		return -ENOENT;
	if (box->n_keywords >= UIMAP_STORE_MAX_KEYWORDS)
		return -ENOSPC;
	char *copy = xstrdup(name);
	unsigned idx = box->n_keywords++;

	box->keywords[idx] = copy;
	store_change_emit(box->user->store, &(struct store_change){
		.type = STORE_CHANGE_KEYWORD, .user = box->user->name,
		.mailbox = box->name, .keyword = copy, .index = idx,
		.uidvalidity = box->uidvalidity });
	return (int)idx;
}

static void mailbox_count(struct mailbox *box, const struct store_msg *msg, int dir)
{
	box->n_live += (uint32_t)dir;
	if ((msg->flags & UIMAP_FLAG_SEEN) == 0)
		box->n_unseen += (uint32_t)dir;
	if ((msg->flags & UIMAP_FLAG_DELETED) != 0) {
		box->n_deleted += (uint32_t)dir;
		box->deleted_bytes += (uint64_t)((int64_t)dir * (int64_t)msg->blob->size);
	}
	box->live_bytes += (uint64_t)((int64_t)dir * (int64_t)msg->blob->size);
	box->user->n_messages += (uint64_t)(int64_t)dir;
	box->user->n_bytes += (uint64_t)((int64_t)dir * (int64_t)msg->blob->size);
}

/* mailbox_add, with the change emitted as a reference to src_uid of src when src
   is not NULL. */
static int mailbox_insert(struct mailbox *box, struct uimap_blob *blob, uint8_t flags,
			  uint64_t keywords, int64_t internaldate, int16_t tz_minutes,
			  uint32_t uid, uint64_t modseq, const struct mailbox *src,
			  uint32_t src_uid, uint32_t *uid_r)
{
	if (uid != 0) {
		/* replay, or a move that keeps UIDs: never below what was handed out */
		if (uid < box->uidnext || uid == UINT32_MAX)
			return -EINVAL;
		box->uidnext = uid;
	}
	if (box->uidnext == UINT32_MAX)
		return -ENOSPC;
	if (box->n_msgs == box->cap_msgs) {
		box->cap_msgs = box->cap_msgs == 0 ? 16 : box->cap_msgs * 2;
		box->msgs = xrealloc(box->msgs, (size_t)box->cap_msgs * sizeof(*box->msgs));
	}
	struct store_msg *msg = &box->msgs[box->n_msgs++];

	msg->blob = uimap_blob_ref(blob);
	msg->modseq = mailbox_next_modseq(box, modseq);
	msg->keywords = keywords;
	msg->internaldate = internaldate;
	msg->uid = box->uidnext++;
	msg->tz_minutes = tz_minutes;
	msg->flags = flags & UIMAP_FLAGS_STORABLE;
	msg->state = MSG_LIVE;
	mailbox_count(box, msg, 1);
	*uid_r = msg->uid;
	store_change_emit(box->user->store, &(struct store_change){
		.type = src != NULL ? STORE_CHANGE_COPY : STORE_CHANGE_APPEND,
		.user = box->user->name, .mailbox = box->name,
		.uidvalidity = box->uidvalidity, .uid = msg->uid, .modseq = msg->modseq,
		.msg = msg, .src_mailbox = src != NULL ? src->name : NULL,
		.src_uidvalidity = src != NULL ? src->uidvalidity : 0, .src_uid = src_uid,
		.src_size = blob->size });
	return 0;
}

int mailbox_add(struct mailbox *box, struct uimap_blob *blob, uint8_t flags,
		uint64_t keywords, int64_t internaldate, int16_t tz_minutes,
		uint32_t uid, uint64_t modseq, uint32_t *uid_r)
{
	return mailbox_insert(box, blob, flags, keywords, internaldate, tz_minutes, uid, modseq,
			      NULL, 0, uid_r);
}

bool mailbox_copy_by_reference(const struct mailbox *src, uint32_t src_idx)
{
	/* A replay finds a live message of a mailbox of the tree where the live store
	   found it: the records before this one made it so (and no other kind). */
	return !src->deleted && !src->noselect && src->msgs[src_idx].state == MSG_LIVE;
}

int mailbox_add_copy(struct mailbox *box, const struct mailbox *src, uint32_t src_idx,
		     uint8_t flags, uint64_t keywords, uint32_t uid, uint64_t modseq,
		     uint32_t *uid_r)
{
	/* by value: adding to box may move src->msgs when box == src */
	struct store_msg m = src->msgs[src_idx];
	bool ref = mailbox_copy_by_reference(src, src_idx);

	return mailbox_insert(box, m.blob, flags, keywords, m.internaldate, m.tz_minutes, uid,
			      modseq, ref ? src : NULL, m.uid, uid_r);
}

static void *mailbox_grow(void *array, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return array;
	*cap = *cap == 0 ? 64 : *cap * 2;
	return xrealloc(array, *cap * size);
}

int mailbox_update_flags(struct mailbox *box, uint32_t idx, enum uimap_flags_mode mode,
			 uint8_t flags, uint64_t keywords, struct store_view *origin,
			 uint64_t modseq)
{
	struct store_msg *msg = &box->msgs[idx];
	uint8_t nflags = msg->flags;
	uint64_t nkw = msg->keywords;

	flags &= UIMAP_FLAGS_STORABLE;
	switch (mode) {
	case UIMAP_FLAGS_SET:
		nflags = flags;
		nkw = keywords;
		break;
	case UIMAP_FLAGS_ADD:
		nflags |= flags;
		nkw |= keywords;
		break;
	case UIMAP_FLAGS_REMOVE:
		nflags &= (uint8_t)~flags;
		nkw &= ~keywords;
		break;
	}
	if (nflags == msg->flags && nkw == msg->keywords)
		return 0;
	if (box->n_views > 0) {
		box->flag_log = mailbox_grow(box->flag_log, &box->flag_cap, box->flag_n,
					     sizeof(*box->flag_log));
	}
	bool seen_changed = ((nflags ^ msg->flags) & UIMAP_FLAG_SEEN) != 0;

	mailbox_count(box, msg, -1);
	msg->flags = nflags;
	msg->keywords = nkw;
	mailbox_count(box, msg, 1);
	msg->modseq = mailbox_next_modseq(box, modseq);
	if (box->n_views > 0) {
		uint64_t pos = box->flag_base + box->flag_n;

		box->flag_log[box->flag_n++] = (struct store_flag_event){
			.uid = msg->uid, .origin = origin != NULL ? origin->id : 0,
			.modseq = msg->modseq };
		/* The origin would skip its own event: a caught-up origin passes it now,
		   so a lone session's STOREs do not pile up in the log. */
		if (origin != NULL && origin->flag_cursor == pos) {
			origin->flag_cursor = pos + 1;
			if (pos == box->flag_floor && box->n_flag_floor > 0)
				box->n_flag_floor--;
		}
	}
	store_change_emit(box->user->store, &(struct store_change){
		.type = STORE_CHANGE_FLAGS, .user = box->user->name, .mailbox = box->name,
		.uidvalidity = box->uidvalidity, .uid = msg->uid, .modseq = msg->modseq,
		.msg = msg, .seen_changed = seen_changed });
	return 1;
}

static void mailbox_kill(struct mailbox *box, struct store_msg *msg)
{
	msg->state = MSG_DEAD;
	uimap_blob_unref(&msg->blob);
	box->n_dead++;
}

void mailbox_expunge_at(struct mailbox *box, uint32_t idx, uint64_t modseq)
{
	struct store_msg *msg = &box->msgs[idx];

	mailbox_count(box, msg, -1);
	msg->modseq = mailbox_next_modseq(box, modseq);
	mailbox_vanished_add(box, msg->uid, msg->modseq);
	store_change_emit(box->user->store, &(struct store_change){
		.type = STORE_CHANGE_EXPUNGE, .user = box->user->name, .mailbox = box->name,
		.uidvalidity = box->uidvalidity, .uid = msg->uid, .modseq = msg->modseq });
	if (box->n_views == 0) {
		mailbox_kill(box, msg);
		return;
	}
	/* a view showing the message must be told before the tombstone may go */
	box->exp_log = mailbox_grow(box->exp_log, &box->exp_cap, box->exp_n, sizeof(*box->exp_log));
	box->exp_log[box->exp_n++] = msg->uid;
	msg->state = MSG_EXPUNGED;
}

void mailbox_expunge_all(struct mailbox *box)
{
	for (uint32_t i = 0; i < box->n_msgs; i++) {
		if (box->msgs[i].state == MSG_LIVE)
			mailbox_expunge_at(box, i, 0);
	}
}

uint64_t mailbox_next_modseq(struct mailbox *box, uint64_t modseq)
{
	/* a recorded modseq (replay) is kept; HIGHESTMODSEQ never goes back */
	if (modseq == 0)
		return ++box->modseq;
	if (modseq > box->modseq)
		box->modseq = modseq;
	return modseq;
}

int mailbox_move_all(struct mailbox *from, struct mailbox *to)
{
	int r = 0;

	for (unsigned i = 0; i < from->n_keywords && r >= 0; i++)
		r = mailbox_keyword_index(to, from->keywords[i], true);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < from->n_msgs; i++) {
		const struct store_msg *msg = &from->msgs[i];
		uint64_t kw = 0;
		uint32_t uid;

		if (msg->state != MSG_LIVE)
			continue;
		for (uint64_t bits = msg->keywords; bits != 0; bits &= bits - 1)
			kw |= 1ull << mailbox_keyword_index(to, from->keywords[__builtin_ctzll(bits)],
							    false);
		r = mailbox_add(to, msg->blob, msg->flags, kw, msg->internaldate, msg->tz_minutes,
				msg->uid, 0, &uid);
		if (r < 0)
			return r;
	}
	if (from->uidnext > to->uidnext)
		to->uidnext = from->uidnext;
	to->first_recent_uid = from->first_recent_uid;
	mailbox_expunge_all(from);
	mailbox_changed(from, NULL);
	mailbox_changed(to, NULL);
	return 0;
}

void mailbox_cursor_added(struct mailbox *box, uint64_t exp, uint64_t flag)
{
	if (exp == box->exp_floor)
		box->n_exp_floor++;
	if (flag == box->flag_floor)
		box->n_flag_floor++;
}

void mailbox_cursor_moved(struct mailbox *box, uint64_t old_exp, uint64_t old_flag,
			  const struct store_view *v, bool closed)
{
	if (old_exp == box->exp_floor && (closed || v->exp_cursor != old_exp) &&
	    box->n_exp_floor > 0)
		box->n_exp_floor--;
	if (old_flag == box->flag_floor && (closed || v->flag_cursor != old_flag) &&
	    box->n_flag_floor > 0)
		box->n_flag_floor--;
	box->cursor_moves++;
	if (box->n_views == 0 ||
	    ((box->n_exp_floor == 0 || box->n_flag_floor == 0) &&
	     box->cursor_moves >= box->n_views / 8)) {
		mailbox_trim_logs(box);
		mailbox_maybe_compact(box, false);
	}
}

void mailbox_trim_logs(struct mailbox *box)
{
	uint64_t exp_end = box->exp_base + box->exp_n;
	uint64_t flag_end = box->flag_base + box->flag_n;
	uint64_t min_exp = exp_end, min_flag = flag_end;
	unsigned n_exp = 0, n_flag = 0;

	for (struct store_view *v = box->views; v != NULL; v = v->next) {
		if (v->exp_cursor < min_exp) {
			min_exp = v->exp_cursor;
			n_exp = 0;
		}
		if (v->exp_cursor == min_exp)
			n_exp++;
		if (v->flag_cursor < min_flag) {
			min_flag = v->flag_cursor;
			n_flag = 0;
		}
		if (v->flag_cursor == min_flag)
			n_flag++;
	}
	box->exp_floor = min_exp;
	box->n_exp_floor = n_exp;
	box->flag_floor = min_flag;
	box->n_flag_floor = n_flag;
	box->cursor_moves = 0;
	/* Tombstones every view has passed are dead. */
	size_t exp_upto = (size_t)(min_exp - box->exp_base);

	for (size_t i = box->exp_head; i < exp_upto; i++) {
		uint32_t idx;

		if (mailbox_find(box, box->exp_log[i], &idx) &&
		    box->msgs[idx].state == MSG_EXPUNGED)
			mailbox_kill(box, &box->msgs[idx]);
	}
	if (exp_upto > box->exp_head)
		box->exp_head = exp_upto;
	if (box->exp_head == box->exp_n) {
		box->exp_base += box->exp_n;
		box->exp_head = box->exp_n = 0;
	} else if (box->exp_head >= 64 && box->exp_head * 2 >= box->exp_n) {
		memmove(box->exp_log, box->exp_log + box->exp_head,
			(box->exp_n - box->exp_head) * sizeof(*box->exp_log));
		box->exp_base += box->exp_head;
		box->exp_n -= box->exp_head;
		box->exp_head = 0;
	}

	size_t flag_upto = (size_t)(min_flag - box->flag_base);

	if (flag_upto > box->flag_head)
		box->flag_head = flag_upto;
	if (box->flag_head == box->flag_n) {
		box->flag_base += box->flag_n;
		box->flag_head = box->flag_n = 0;
	} else if (box->flag_head >= 64 && box->flag_head * 2 >= box->flag_n) {
		memmove(box->flag_log, box->flag_log + box->flag_head,
			(box->flag_n - box->flag_head) * sizeof(*box->flag_log));
		box->flag_base += box->flag_head;
		box->flag_n -= box->flag_head;
		box->flag_head = 0;
	}
	if (box->n_views == 0) {
		free(box->exp_log);
		free(box->flag_log);
		box->exp_log = NULL;
		box->flag_log = NULL;
		box->exp_cap = box->flag_cap = 0;
	}
}

void mailbox_maybe_compact(struct mailbox *box, bool force)
{
	if (box->n_dead == 0)
		return;
	/* Amortised: only when the dead are at least 1/8 of the array, so a single
	   EXPUNGE never moves a million entries. */
	if (!force && box->n_dead != box->n_msgs &&
	    (box->n_dead < 64 || (uint64_t)box->n_dead * 8 < box->n_msgs))
		return;
	uint32_t o = 0;

	for (uint32_t i = 0; i < box->n_msgs; i++) {
		if (box->msgs[i].state != MSG_DEAD)
			box->msgs[o++] = box->msgs[i];
	}
	box->n_msgs = o;
	box->n_dead = 0;
	box->layout_gen++;
	if (box->cap_msgs > 64 && box->n_msgs < box->cap_msgs / 4) {
		uint32_t cap = box->n_msgs < 32 ? 64 : box->n_msgs * 2;
		struct store_msg *msgs = realloc(box->msgs, (size_t)cap * sizeof(*msgs));

		if (msgs != NULL) {
			box->msgs = msgs;
			box->cap_msgs = cap;
		}
	}
}

void mailbox_changed(struct mailbox *box, struct store_view *origin)
{
	/* every view but the origin already woken: nothing to do (a big STORE calls
	   this once per message) */
	unsigned others = box->n_views - (origin != NULL && !origin->wake_pending ? 1 : 0);

	if (box->n_wake_pending < others) {
		for (struct store_view *v = box->views; v != NULL; v = v->next) {
			if (v == origin || v->wake_pending)
				continue;
			v->wake_pending = true;
			box->n_wake_pending++;
			if (v->wake != NULL)
				v->wake(v->wake_ctx);
		}
	}
	/* with no view left to tell, tombstones die at once */
	if (box->n_views == 0)
		mailbox_trim_logs(box);
	mailbox_maybe_compact(box, false);
}

void mailbox_recount(struct mailbox *box)
{
	box->n_live = box->n_unseen = box->n_deleted = box->n_dead = 0;
	box->live_bytes = box->deleted_bytes = 0;
	for (uint32_t i = 0; i < box->n_msgs; i++) {
		const struct store_msg *msg = &box->msgs[i];

		if (msg->state == MSG_DEAD) {
			box->n_dead++;
			continue;
		}
		if (msg->state != MSG_LIVE)
			continue;
		box->n_live++;
		if ((msg->flags & UIMAP_FLAG_SEEN) == 0)
			box->n_unseen++;
		if ((msg->flags & UIMAP_FLAG_DELETED) != 0) {
			box->n_deleted++;
			box->deleted_bytes += msg->blob->size;
		}
		box->live_bytes += msg->blob->size;
	}
}

void mailbox_status(const struct mailbox *box, struct uimap_status *st)
{
	uint32_t recent = 0;

	for (uint32_t i = mailbox_lower_bound(box, box->first_recent_uid); i < box->n_msgs;
	     i++) {
		if (box->msgs[i].state == MSG_LIVE)
			recent++;
	}
	*st = (struct uimap_status){
		.messages = box->n_live, .recent = recent, .uidnext = box->uidnext,
		.uidvalidity = box->uidvalidity, .unseen = box->n_unseen,
		.deleted = box->n_deleted, .highest_modseq = box->modseq,
		.size = box->live_bytes, .deleted_size = box->deleted_bytes,
	};
}

uint64_t mailbox_metadata_bytes(const struct mailbox *box)
{
	uint64_t bytes = sizeof(*box) + strlen(box->name) + 1;

	bytes += (uint64_t)box->cap_msgs * sizeof(struct store_msg);
	bytes += box->exp_cap * sizeof(*box->exp_log);
	bytes += box->flag_cap * sizeof(*box->flag_log);
	bytes += (uint64_t)box->cap_vanished * sizeof(*box->vanished);
	/* a blob per message not dead yet: counted, not walked (a scrape or SIGUSR2 on a
	   store of millions of messages would hold the loop for milliseconds) */
	bytes += (uint64_t)(box->n_msgs - box->n_dead) * sizeof(struct uimap_blob);
	for (unsigned i = 0; i < box->n_keywords; i++)
		bytes += strlen(box->keywords[i]) + 1;
	return bytes;
}
