/* The store's mutations, one primitive per change record: live commands are built
   from these primitives (each emits exactly one record to the change hook), and
   journal replay hands each decoded record to store_change_apply(), which runs the
   same primitive with the recorded identities. One apply path, live and replayed. */
#include "store/memstore.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void emit(struct store_user *user, enum store_change_type type,
		 const struct mailbox *box, const char *name, const char *new_name)
{
	store_change_emit(user->store, &(struct store_change){
		.type = type, .user = user->name, .mailbox = name, .new_name = new_name,
		.uidvalidity = box != NULL ? box->uidvalidity : 0,
		.special_use = box != NULL ? box->special_use : 0 });
}

struct store_user *store_find_user(struct memstore *ms, const char *name)
{
	size_t pos = memstore_user_pos(ms, name);

	if (pos < ms->n_users && strcmp(ms->users[pos]->name, name) == 0)
		return ms->users[pos];
	return NULL;
}

int store_insert_user(struct memstore *ms, struct store_user *user)
{
	size_t pos = memstore_user_pos(ms, user->name);

	if (pos < ms->n_users && strcmp(ms->users[pos]->name, user->name) == 0)
		return -EEXIST;
	if (ms->n_users == ms->cap_users) {
		size_t cap = ms->cap_users == 0 ? 16 : ms->cap_users * 2;
		ms->users = xrealloc(ms->users, cap * sizeof(*ms->users));
		ms->cap_users = cap;
	}
	memmove(ms->users + pos + 1, ms->users + pos, (ms->n_users - pos) * sizeof(*ms->users));
	ms->users[pos] = user;
	ms->n_users++;
	return 0;
}

struct store_user *store_new_user(struct memstore *ms, const char *name)
{
	struct store_user *user = xcalloc(1, sizeof(*user));

	user->name = xstrdup(name);
	user->pub.vt = &uimap_store_memory_vtable;
	user->store = ms;
	return user;
}

int store_apply_user_create(struct memstore *ms, const char *name, struct store_user **user_r)
{
	struct store_user *user;
	int r;

	if (store_find_user(ms, name) != NULL)
		return -EEXIST;
	user = store_new_user(ms, name);
	r = store_insert_user(ms, user);
	if (r < 0) {
		store_user_free(&user);
		return r;
	}
	emit(user, STORE_CHANGE_USER_CREATE, NULL, NULL, NULL);
	if (user_r != NULL)
		*user_r = user;
	return 0;
}

/* A mailbox in the tree whose parents exist; not announced (a \Noselect
   placeholder, or the first half of a create). */
static struct mailbox *insert_box(struct store_user *user, const char *name, bool noselect)
{
	struct mailbox *box = mailbox_new(user, name);

	box->noselect = noselect;
	store_user_insert_box(user, box);
	return box;
}

int store_apply_mailbox_create(struct store_user *user, const char *name, uint32_t uidvalidity,
			       unsigned special_use)
{
	struct memstore *ms = user->store;
	struct mailbox *box = store_user_find(user, name);

	if (box != NULL && !box->noselect)
		return -EEXIST;
	if (box == NULL) {
		box = insert_box(user, name, false);
	} else {
		/* A \Noselect placeholder left by DELETE becomes a fresh mailbox; it
		   never had views, so only the UIDVALIDITY needs renewing. */
		box->noselect = false;
		box->uidvalidity = store_next_uidvalidity(ms);
	}
	if (uidvalidity != 0) {
		box->uidvalidity = uidvalidity;
		if (uidvalidity > ms->last_uidvalidity)
			ms->last_uidvalidity = uidvalidity;
	}
	box->special_use = special_use;
	emit(user, STORE_CHANGE_MAILBOX_CREATE, box, name, NULL);
	return 0;
}

int store_apply_mailbox_delete(struct store_user *user, const char *name)
{
	struct mailbox *box = store_user_find(user, name);
	bool children;

	if (box == NULL)
		return -ENOENT;
	children = store_user_has_children(user, name);
	emit(user, STORE_CHANGE_MAILBOX_DELETE, box, name, NULL);
	/* Out of the tree in O(1): the user gives back what it held, views keep the
	   mailbox alive (still readable, no longer changeable) until their next sync
	   tells their sessions it is gone, and the messages are freed with the last
	   reference (a slice per loop turn when big). */
	user->n_messages -= box->n_live;
	user->n_bytes -= box->live_bytes;
	box->n_live = box->n_unseen = box->n_deleted = 0;
	box->live_bytes = box->deleted_bytes = 0;
	box->deleted = true;
	mailbox_changed(box, NULL);
	store_user_remove_box(user, box);
	mailbox_unref(&box);
	/* With inferiors the name stays as \Noselect (a new incarnation: views of the
	   old one must not confuse it with a later CREATE). */
	if (children)
		insert_box(user, name, true);
	return 0;
}

static int box_name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct mailbox *const *)a)->name, (*(struct mailbox *const *)b)->name);
}

int store_apply_mailbox_rename(struct store_user *user, const char *old_name,
			       const char *new_name)
{
	struct mailbox *src = store_user_find(user, old_name);
	size_t old_len = strlen(old_name);

	if (src == NULL)
		return -ENOENT;
	if (strcmp(old_name, "INBOX") == 0) {
		/* INBOX's messages move to new_name (created before) with their UIDs;
		   the moves are implied by the RENAME record */
		struct mailbox *dst = store_user_find(user, new_name);

		/* the target was created empty just before (store_mailbox_rename) */
		if (dst == NULL || dst->noselect || dst == src || dst->n_msgs != 0)
			return -ENOENT;
		emit(user, STORE_CHANGE_MAILBOX_RENAME, dst, old_name, new_name);
		user->store->hook_muted++;
		int r = mailbox_move_all(src, dst);
		user->store->hook_muted--;
		return r;
	}
	if (store_user_find(user, new_name) != NULL)
		return -EEXIST;
	/* old and its inferiors "old/..." (contiguous in strcmp order) get new names */
	char prefix[STORE_NAME_MAX + 2];

	snprintf(prefix, sizeof(prefix), "%s%c", old_name, STORE_SEP);
	size_t first = store_user_box_pos(user, prefix), last = first;

	while (last < user->n_boxes && strncmp(user->boxes[last]->name, prefix, old_len + 1) == 0)
		last++;
	size_t count = last - first + 1;
	struct mailbox **moved = xcalloc(count, sizeof(*moved));
	char **names = xcalloc(count, sizeof(*names));

	moved[0] = src;
	for (size_t i = first; i < last; i++)
		moved[i - first + 1] = user->boxes[i];
	for (size_t i = 0; i < count; i++)
		names[i] = xasprintf("%s%s", new_name, moved[i]->name + old_len);
	emit(user, STORE_CHANGE_MAILBOX_RENAME, src, old_name, new_name);
	for (size_t i = 0; i < count; i++) {
		free(moved[i]->name);
		moved[i]->name = names[i];
	}
	free(names);
	free(moved);
	qsort(user->boxes, user->n_boxes, sizeof(*user->boxes), box_name_cmp);
	return 0;
}

int store_apply_subscribe(struct store_user *user, const char *name, bool subscribe)
{
	size_t pos = store_user_sub_pos(user, name);
	bool present = pos < user->n_subs && strcmp(user->subs[pos], name) == 0;

	if (present == subscribe)
		return 0;
	if (!subscribe) {
		free(user->subs[pos]);
		memmove(user->subs + pos, user->subs + pos + 1,
			(user->n_subs - pos - 1) * sizeof(*user->subs));
		user->n_subs--;
		emit(user, STORE_CHANGE_UNSUBSCRIBE, NULL, name, NULL);
		return 1;
	}
	if (store_user_sub_insert(user, name) == 0)
		return 0;
	emit(user, STORE_CHANGE_SUBSCRIBE, NULL, name, NULL);
	return 1;
}

/* ---- replay: a decoded record to its primitive ------------------------------ */

/* A record about one mailbox incarnation: the mailbox, if it is that one. */
static struct mailbox *change_box(struct memstore *ms, const struct store_change *c,
				  const char **why_r)
{
	struct store_user *user = store_find_user(ms, c->user);
	struct mailbox *box = user != NULL ? store_user_find(user, c->mailbox) : NULL;

	*why_r = "no such mailbox (or another UIDVALIDITY)";
	if (box == NULL || box->uidvalidity != c->uidvalidity || box->noselect)
		return NULL;
	return box;
}

static struct store_user *change_user(struct memstore *ms, const struct store_change *c,
				      const char **why_r)
{
	struct store_user *user = store_find_user(ms, c->user);

	*why_r = "no such user";
	return user;
}

/* 1 applied, 0 refused (why): the primitive's result mapped. */
static int applied(int r, const char *what, const char **why_r)
{
	*why_r = what;
	return r >= 0 ? 1 : 0;
}

static int apply_user_create(struct memstore *ms, const struct store_change *c,
			     const char **why_r)
{
	/* a user created again (an older journal replayed over a snapshot) is there */
	if (store_find_user(ms, c->user) != NULL)
		return 1;
	return applied(store_apply_user_create(ms, c->user, NULL), "user create failed", why_r);
}

static int apply_mailbox_create(struct memstore *ms, const struct store_change *c,
				const char **why_r)
{
	struct store_user *user = change_user(ms, c, why_r);

	if (user == NULL)
		return 0;
	return applied(store_apply_mailbox_create(user, c->mailbox, c->uidvalidity,
						  c->special_use), "CREATE failed", why_r);
}

static int apply_mailbox_delete(struct memstore *ms, const struct store_change *c,
				const char **why_r)
{
	struct store_user *user = change_user(ms, c, why_r);

	if (user == NULL)
		return 0;
	return applied(store_apply_mailbox_delete(user, c->mailbox), "DELETE failed", why_r);
}

static int apply_mailbox_rename(struct memstore *ms, const struct store_change *c,
				const char **why_r)
{
	struct store_user *user = change_user(ms, c, why_r);

	if (user == NULL)
		return 0;
	return applied(store_apply_mailbox_rename(user, c->mailbox, c->new_name),
		       "RENAME failed", why_r);
}

static int apply_subscribe(struct memstore *ms, const struct store_change *c,
			   const char **why_r)
{
	struct store_user *user = change_user(ms, c, why_r);

	if (user == NULL)
		return 0;
	return applied(store_apply_subscribe(user, c->mailbox,
					     c->type == STORE_CHANGE_SUBSCRIBE),
		       "SUBSCRIBE failed", why_r);
}

static int apply_keyword(struct memstore *ms, const struct store_change *c, const char **why_r)
{
	struct mailbox *box = change_box(ms, c, why_r);
	int r;

	if (box == NULL)
		return 0;
	r = mailbox_keyword_index(box, c->keyword, true);
	*why_r = "keyword index differs";
	return r == (int)c->index ? 1 : 0;
}

/* Whether flags and keywords are ones the store can hold: storable system flags and
   keywords of the mailbox's table (what the snapshot loader requires too). */
static bool flags_ok(const struct mailbox *box, const struct store_msg *m, const char **why_r)
{
	uint64_t known = box->n_keywords >= 64 ? ~0ull : (1ull << box->n_keywords) - 1;

	*why_r = "unknown flags or keywords";
	return (m->flags & ~(uint32_t)UIMAP_FLAGS_STORABLE) == 0 && (m->keywords & ~known) == 0;
}

static int apply_append(struct memstore *ms, const struct store_change *c, const char **why_r)
{
	struct mailbox *box = change_box(ms, c, why_r);
	const struct store_msg *m = c->msg;
	uint32_t uid;

	if (box == NULL || !flags_ok(box, m, why_r))
		return 0;
	return applied(mailbox_add(box, m->blob, m->flags, m->keywords, m->internaldate,
				   m->tz_minutes, c->uid, c->modseq, &uid),
		       "UID below UIDNEXT", why_r);
}

/* A COPY record: the bytes are those of a live message the records before this
   one left in place; a source that is not there (or not that size) refuses it. */
static int apply_copy(struct memstore *ms, const struct store_change *c, const char **why_r)
{
	struct mailbox *box = change_box(ms, c, why_r), *src;
	uint32_t idx, uid;

	if (box == NULL || !flags_ok(box, c->msg, why_r))
		return 0;
	src = store_user_find(box->user, c->src_mailbox);
	*why_r = "copy source missing";
	if (src == NULL || src->uidvalidity != c->src_uidvalidity ||
	    !mailbox_find(src, c->src_uid, &idx) || !mailbox_copy_by_reference(src, idx) ||
	    src->msgs[idx].blob->size != c->src_size)
		return 0;
	return applied(mailbox_add_copy(box, src, idx, c->msg->flags, c->msg->keywords, c->uid,
					c->modseq, &uid),
		       "UID below UIDNEXT", why_r);
}

static int apply_flags(struct memstore *ms, const struct store_change *c, const char **why_r)
{
	struct mailbox *box = change_box(ms, c, why_r);
	uint32_t idx;

	if (box == NULL)
		return 0;
	*why_r = "no such message";
	if (!mailbox_find(box, c->uid, &idx) || box->msgs[idx].state != MSG_LIVE)
		return 0;
	if (!flags_ok(box, c->msg, why_r))
		return 0;
	int r = mailbox_update_flags(box, idx, UIMAP_FLAGS_SET, c->msg->flags, c->msg->keywords,
				     NULL, c->modseq);

	/* a record that changed nothing here still carries its modseq */
	if (r == 0)
		box->msgs[idx].modseq = mailbox_next_modseq(box, c->modseq);
	return 1;
}

static int apply_expunge(struct memstore *ms, const struct store_change *c, const char **why_r)
{
	struct mailbox *box = change_box(ms, c, why_r);
	uint32_t idx;

	if (box == NULL)
		return 0;
	*why_r = "no such message";
	if (!mailbox_find(box, c->uid, &idx) || box->msgs[idx].state != MSG_LIVE)
		return 0;
	mailbox_expunge_at(box, idx, c->modseq);
	mailbox_changed(box, NULL);
	return 1;
}

static int apply_user_quota(struct memstore *ms, const struct store_change *c,
			    const char **why_r)
{
	struct store_user *user = change_user(ms, c, why_r);

	if (user == NULL)
		return 0;
	store_apply_user_quota(user, c->has_quota, &c->quota);
	return 1;
}

static int apply_urlauth_key(struct memstore *ms, const struct store_change *c,
			     const char **why_r)
{
	struct store_user *user = change_user(ms, c, why_r);

	if (user == NULL)
		return 0;
	store_apply_urlauth_key(user, c->mailbox, c->has_key ? c->key : NULL);
	return 1;
}

static int (*const appliers[])(struct memstore *, const struct store_change *, const char **) = {
	[STORE_CHANGE_USER_CREATE] = apply_user_create,
	[STORE_CHANGE_MAILBOX_CREATE] = apply_mailbox_create,
	[STORE_CHANGE_MAILBOX_DELETE] = apply_mailbox_delete,
	[STORE_CHANGE_MAILBOX_RENAME] = apply_mailbox_rename,
	[STORE_CHANGE_SUBSCRIBE] = apply_subscribe,
	[STORE_CHANGE_UNSUBSCRIBE] = apply_subscribe,
	[STORE_CHANGE_KEYWORD] = apply_keyword,
	[STORE_CHANGE_APPEND] = apply_append,
	[STORE_CHANGE_FLAGS] = apply_flags,
	[STORE_CHANGE_EXPUNGE] = apply_expunge,
	[STORE_CHANGE_COPY] = apply_copy,
	[STORE_CHANGE_USER_QUOTA] = apply_user_quota,
	[STORE_CHANGE_URLAUTH_KEY] = apply_urlauth_key,
};

int store_change_apply(struct memstore *ms, const struct store_change *c, const char **why_r)
{
	*why_r = "unknown record type";
	if ((unsigned)c->type >= sizeof(appliers) / sizeof(appliers[0]) || appliers[c->type] == NULL)
		return 0;
	return appliers[c->type](ms, c, why_r);
}
