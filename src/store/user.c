/* A user's mailbox tree and subscriptions: CREATE, DELETE, RENAME, LIST, STATUS, APPEND. */
#include "store/memstore.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct store_user *user_of(struct uimap_store_user *pub)
{
	return (struct store_user *)pub;
}

/* Position of the first mailbox whose name is >= name. */
size_t store_user_box_pos(const struct store_user *user, const char *name)
{
	size_t lo = 0, hi = user->n_boxes;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(user->boxes[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct mailbox *store_user_find(struct store_user *user, const char *name)
{
	size_t pos = store_user_box_pos(user, name);

	if (pos < user->n_boxes && strcmp(user->boxes[pos]->name, name) == 0)
		return user->boxes[pos];
	return NULL;
}

/* Whether any mailbox name starts with name + '/'. Names sharing a prefix are
   contiguous in strcmp order, so one binary search answers. */
bool store_user_has_children(const struct store_user *user, const char *name)
{
	char prefix[STORE_NAME_MAX + 2];
	size_t len = strlen(name), pos;

	memcpy(prefix, name, len);
	prefix[len] = STORE_SEP;
	prefix[len + 1] = '\0';
	pos = store_user_box_pos(user, prefix);
	return pos < user->n_boxes && strncmp(user->boxes[pos]->name, prefix, len + 1) == 0;
}

void store_user_insert_box(struct store_user *user, struct mailbox *box)
{
	size_t pos = store_user_box_pos(user, box->name);

	if (user->n_boxes == user->cap_boxes) {
		user->cap_boxes = user->cap_boxes == 0 ? 16 : user->cap_boxes * 2;
		user->boxes = xrealloc(user->boxes, user->cap_boxes * sizeof(*user->boxes));
	}
	memmove(user->boxes + pos + 1, user->boxes + pos,
		(user->n_boxes - pos) * sizeof(*user->boxes));
	user->boxes[pos] = box;
	user->n_boxes++;
}

void store_user_remove_box(struct store_user *user, struct mailbox *box)
{
	size_t pos = store_user_box_pos(user, box->name);

	memmove(user->boxes + pos, user->boxes + pos + 1,
		(user->n_boxes - pos - 1) * sizeof(*user->boxes));
	user->n_boxes--;
}

/* Create the missing superior names of name (RFC 3501 6.3.3) as mailboxes. */
static int user_create_parents(struct store_user *user, const char *name)
{
	char parent[STORE_NAME_MAX + 1];

	for (const char *p = strchr(name, STORE_SEP); p != NULL; p = strchr(p + 1, STORE_SEP)) {
		memcpy(parent, name, (size_t)(p - name));
		parent[p - name] = '\0';
		if (store_user_find(user, parent) == NULL) {
			int r = store_apply_mailbox_create(user, parent, 0, 0);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Levels of name (a/b/c: 3): the most mailboxes a create of it makes. */
static unsigned name_levels(const char *name)
{
	unsigned n = 1;
	for (const char *p = strchr(name, STORE_SEP); p != NULL; p = strchr(p + 1, STORE_SEP))
		n++;
	return n;
}

int store_mailbox_create(struct uimap_store_user *pub, const char *raw, unsigned special_use)
{
	struct store_user *user = user_of(pub);
	char name[STORE_NAME_MAX + 1];
	struct mailbox *box;
	int r;

	if (store_name_canon(raw, true, name) < 0 || !store_name_valid(name))
		return -EINVAL;
	box = store_user_find(user, name);
	if (box != NULL && !box->noselect)
		return -EEXIST;
	r = store_user_check_mailboxes(user, box != NULL ? 0 : name_levels(name));
	if (r < 0)
		return r;
	r = store_reserve(user->store, name_levels(name) * store_record_bytes(user, name, 0));
	if (r < 0)
		return r;
	r = user_create_parents(user, name);
	if (r < 0)
		return r;
	return store_apply_mailbox_create(user, name, 0, special_use);
}

int store_mailbox_delete(struct uimap_store_user *pub, const char *raw)
{
	struct store_user *user = user_of(pub);
	char name[STORE_NAME_MAX + 1];
	struct mailbox *box;

	if (store_name_canon(raw, true, name) < 0)
		return -ENOENT;
	if (strcmp(name, "INBOX") == 0)
		return -EPERM;
	box = store_user_find(user, name);
	if (box == NULL)
		return -ENOENT;
	/* RFC 3501 6.3.4: a \Noselect name with inferiors cannot be deleted. */
	if (box->noselect && store_user_has_children(user, name))
		return -ENOTEMPTY;
	int r = store_reserve(user->store, store_record_bytes(user, name, 0));
	if (r < 0)
		return r;
	return store_apply_mailbox_delete(user, name);
}

int store_mailbox_rename(struct uimap_store_user *pub, const char *raw_old, const char *raw_new)
{
	struct store_user *user = user_of(pub);
	char old_name[STORE_NAME_MAX + 1], new_name[STORE_NAME_MAX + 1];
	size_t old_len, new_len;
	int r;

	if (store_name_canon(raw_old, true, old_name) < 0)
		return -ENOENT;
	if (store_name_canon(raw_new, true, new_name) < 0 || !store_name_valid(new_name))
		return -EINVAL;
	if (store_user_find(user, old_name) == NULL)
		return -ENOENT;
	if (store_user_find(user, new_name) != NULL)
		return -EEXIST;
	r = store_user_check_mailboxes(user, strcmp(old_name, "INBOX") == 0
						     ? name_levels(new_name) : name_levels(new_name) - 1);
	if (r == 0)
		r = store_reserve(user->store, (1 + name_levels(new_name)) *
					       store_record_bytes(user, old_name, strlen(new_name)));
	if (r < 0)
		return r;
	if (strcmp(old_name, "INBOX") == 0) {
		/* RFC 3501 6.3.5: INBOX's messages move to a new mailbox; INBOX stays */
		r = user_create_parents(user, new_name);
		if (r == 0)
			r = store_apply_mailbox_create(user, new_name, 0, 0);
		return r < 0 ? r : store_apply_mailbox_rename(user, old_name, new_name);
	}
	old_len = strlen(old_name);
	new_len = strlen(new_name);
	/* A mailbox cannot become its own inferior. */
	if (strncmp(new_name, old_name, old_len) == 0 && new_name[old_len] == STORE_SEP)
		return -EINVAL;
	/* The inferiors "old/..." are contiguous in strcmp order, but not necessarily
	   next to "old" itself ("old-x" sorts in between). */
	char prefix[STORE_NAME_MAX + 2];

	snprintf(prefix, sizeof(prefix), "%s%c", old_name, STORE_SEP);
	for (size_t i = store_user_box_pos(user, prefix); i < user->n_boxes; i++) {
		const char *n = user->boxes[i]->name;

		if (strncmp(n, prefix, old_len + 1) != 0)
			break;
		char target[2 * STORE_NAME_MAX + 2];

		if (new_len + strlen(n + old_len) > STORE_NAME_MAX)
			return -EINVAL;
		snprintf(target, sizeof(target), "%s%s", new_name, n + old_len);
		if (store_user_find(user, target) != NULL)
			return -EEXIST;
	}
	r = store_apply_mailbox_rename(user, old_name, new_name);
	/* Parents last: the old names are gone, so they cannot collide. */
	return r < 0 ? r : user_create_parents(user, new_name);
}

/* Position of the first subscription >= name. */
size_t store_user_sub_pos(const struct store_user *user, const char *name)
{
	size_t lo = 0, hi = user->n_subs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(user->subs[mid], name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool user_subscribed(const struct store_user *user, const char *name)
{
	size_t pos = store_user_sub_pos(user, name);

	return pos < user->n_subs && strcmp(user->subs[pos], name) == 0;
}

int store_mailbox_subscribe(struct uimap_store_user *pub, const char *raw, bool subscribe)
{
	struct store_user *user = user_of(pub);
	char name[STORE_NAME_MAX + 1];

	if (store_name_canon(raw, true, name) < 0)
		return -EINVAL;
	if (subscribe && !store_name_valid(name))
		return -EINVAL;
	int r = subscribe ? store_user_check_subscriptions(user, 1) : 0;
	if (r == 0)
		r = store_reserve(user->store, store_record_bytes(user, name, 0));
	if (r < 0)
		return r;
	return store_apply_subscribe(user, name, subscribe);
}

int store_user_sub_insert(struct store_user *user, const char *name)
{
	size_t pos = store_user_sub_pos(user, name);

	if (pos < user->n_subs && strcmp(user->subs[pos], name) == 0)
		return 0;
	if (user->n_subs == user->cap_subs) {
		user->cap_subs = user->cap_subs == 0 ? 16 : user->cap_subs * 2;
		user->subs = xrealloc(user->subs, user->cap_subs * sizeof(*user->subs));
	}
	memmove(user->subs + pos + 1, user->subs + pos, (user->n_subs - pos) * sizeof(*user->subs));
	user->subs[pos] = xstrdup(name);
	user->n_subs++;
	return 1;
}

static unsigned user_attrs(const struct store_user *user, const struct mailbox *box)
{
	unsigned attrs = store_user_has_children(user, box->name) ? UIMAP_LIST_HAS_CHILDREN
							     : UIMAP_LIST_HAS_NO_CHILDREN;

	if (box->noselect)
		attrs |= UIMAP_LIST_NOSELECT;
	if (user_subscribed(user, box->name))
		attrs |= UIMAP_LIST_SUBSCRIBED;
	return attrs;
}

struct lsub_entry {
	char *name;
	unsigned attrs, special_use;
};

static int lsub_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lsub_entry *)a)->name, ((const struct lsub_entry *)b)->name);
}

static int user_lsub(struct store_user *user, const char *pattern, uimap_list_cb *cb, void *ctx)
{
	struct lsub_entry *out = NULL;
	size_t n = 0, cap = 0;
	bool percent = strchr(pattern, '%') != NULL;
	int r = 0;

	for (size_t i = 0; i < user->n_subs && r == 0; i++) {
		const char *sub = user->subs[i];
		char anc[STORE_NAME_MAX + 1];

		for (const char *p = sub;; p++) {
			bool whole = *p == '\0';
			const char *name = sub;

			if (!whole && *p != STORE_SEP)
				continue;
			if (!whole) {
				/* RFC 3501 6.3.9: with '%', an unsubscribed parent of a
				   subscribed name is returned as \Noselect. */
				if (!percent)
					continue;
				memcpy(anc, sub, (size_t)(p - sub));
				anc[p - sub] = '\0';
				name = anc;
				if (user_subscribed(user, anc))
					continue;
			}
			if (store_list_match(pattern, name, STORE_SEP)) {
				const struct mailbox *box = store_user_find(user, name);
				unsigned attrs;

				if (!whole)
					attrs = UIMAP_LIST_NOSELECT | UIMAP_LIST_HAS_CHILDREN;
				else if (box == NULL)
					attrs = UIMAP_LIST_NONEXISTENT | UIMAP_LIST_SUBSCRIBED;
				else
					attrs = user_attrs(user, box);
				if (n == cap) {
					cap = cap == 0 ? 16 : cap * 2;
					out = xrealloc(out, cap * sizeof(*out));
				}
				out[n].name = xstrdup(name);
				out[n].attrs = attrs;
				out[n].special_use = box != NULL ? box->special_use : 0;
				n++;
			}
			if (whole)
				break;
		}
	}
	if (n > 0)
		qsort(out, n, sizeof(*out), lsub_cmp);
	for (size_t i = 0; i < n; i++) {
		/* Duplicates: a \Noselect parent found through several children. */
		if (r == 0 && (i == 0 || strcmp(out[i].name, out[i - 1].name) != 0))
			r = cb(ctx, out[i].name, out[i].attrs, out[i].special_use);
	}
	for (size_t i = 0; i < n; i++)
		free(out[i].name);
	free(out);
	return r;
}

int store_mailbox_list(struct uimap_store_user *pub, const char *reference, const char *pattern,
		       unsigned flags, uimap_list_cb *cb, void *ctx)
{
	struct store_user *user = user_of(pub);
	char full[2 * STORE_NAME_MAX + 2];

	/* RFC 3501 6.3.8: an empty pattern asks for the delimiter and the root. */
	if (pattern[0] == '\0')
		return cb(ctx, "", UIMAP_LIST_NOSELECT, 0);
	if (store_list_pattern(reference, pattern, full) < 0)
		return -EINVAL;
	if ((flags & UIMAP_LIST_F_SUBSCRIBED) != 0)
		return user_lsub(user, full, cb, ctx);
	for (size_t i = 0; i < user->n_boxes; i++) {
		const struct mailbox *box = user->boxes[i];

		if (!store_list_match(full, box->name, STORE_SEP))
			continue;
		int r = cb(ctx, box->name, user_attrs(user, box), box->special_use);

		if (r != 0)
			return r;
	}
	return 0;
}

static struct mailbox *user_selectable(struct store_user *user, const char *raw, int *err_r)
{
	char name[STORE_NAME_MAX + 1];
	struct mailbox *box;

	if (store_name_canon(raw, true, name) < 0 || (box = store_user_find(user, name)) == NULL) {
		*err_r = -ENOENT;
		return NULL;
	}
	if (box->noselect) {
		*err_r = -EPERM;
		return NULL;
	}
	return box;
}

/* The selectable mailbox raw names, or NULL with *err_r. */

int store_mailbox_status(struct uimap_store_user *pub, const char *raw,
			 struct uimap_status *status_r)
{
	int err;
	struct mailbox *box = user_selectable(user_of(pub), raw, &err);

	if (box == NULL)
		return err;
	mailbox_status(box, status_r);
	return 0;
}

void store_user_recount(struct store_user *user)
{
	user->n_messages = user->n_bytes = 0;
	for (size_t i = 0; i < user->n_boxes; i++) {
		user->n_messages += user->boxes[i]->n_live;
		user->n_bytes += user->boxes[i]->live_bytes;
	}
}

int store_user_check_add(const struct store_user *user, const struct mailbox *box,
			 uint64_t box_messages, uint64_t user_messages, uint64_t user_bytes)
{
	const struct uimap_store_limits *l = &user->limits;

	if (l->max_mailbox_messages != 0 &&
	    box->n_live + box_messages > l->max_mailbox_messages)
		return -EMLINK;
	if ((l->max_messages != 0 && user->n_messages + user_messages > l->max_messages) ||
	    (l->max_bytes != 0 && user->n_bytes + user_bytes > l->max_bytes))
		return -EDQUOT;
	return 0;
}

int store_user_check_mailboxes(const struct store_user *user, uint64_t n)
{
	uint64_t max = user->limits.max_mailboxes;
	return max != 0 && user->n_boxes + n > max ? -EMLINK : 0;
}

int store_user_check_subscriptions(const struct store_user *user, uint64_t n)
{
	uint64_t max = user->limits.max_subscriptions;
	return max != 0 && user->n_subs + n > max ? -EMLINK : 0;
}

/* The limits in force: the last set_limits()'s, an administrator's quota first. */
static void user_limits_update(struct store_user *user)
{
	user->limits = user->base_limits;
	if (user->has_quota) {
		user->limits.max_bytes = user->quota.max_bytes;
		user->limits.max_messages = user->quota.max_messages;
	}
}

void store_user_set_limits(struct uimap_store_user *pub, const struct uimap_store_limits *limits)
{
	struct store_user *user = user_of(pub);
	user->base_limits = *limits;
	user_limits_update(user);
}

void store_apply_user_quota(struct store_user *user, bool has_quota, const struct uimap_quota *q)
{
	user->has_quota = has_quota;
	user->quota = has_quota ? *q : (struct uimap_quota){ 0, 0 };
	user_limits_update(user);
	store_change_emit(user->store, &(struct store_change){
		.type = STORE_CHANGE_USER_QUOTA, .user = user->name,
		.has_quota = user->has_quota, .quota = user->quota });
}

int store_user_quota_set(struct uimap_store_user *pub, const struct uimap_quota *q)
{
	struct store_user *user = user_of(pub);
	/* the journal must be able to take the record (a full disk refuses it) */
	int r = store_reserve(user->store, 64 + strlen(user->name));
	if (r < 0)
		return r;
	store_apply_user_quota(user, q != NULL, q);
	return 0;
}

int store_user_quota_get(struct uimap_store_user *pub, struct uimap_quota *q_r)
{
	struct store_user *user = user_of(pub);
	if (!user->has_quota)
		return 0;
	*q_r = user->quota;
	return 1;
}

/* The index of mailbox's key in user->urlkeys, or n_urlkeys. */
static size_t urlkey_find(const struct store_user *user, const char *mailbox)
{
	size_t i = 0;
	while (i < user->n_urlkeys && strcmp(user->urlkeys[i].mailbox, mailbox) != 0)
		i++;
	return i;
}

static void urlkeys_clear(struct store_user *user)
{
	for (size_t i = 0; i < user->n_urlkeys; i++) {
		explicit_bzero(user->urlkeys[i].key, sizeof(user->urlkeys[i].key));
		free(user->urlkeys[i].mailbox);
	}
	user->n_urlkeys = 0;
}

void store_user_urlkey_put(struct store_user *user, const char *mailbox,
			   const unsigned char *key)
{
	size_t i = urlkey_find(user, mailbox);
	if (key == NULL) {
		if (i < user->n_urlkeys) {
			explicit_bzero(user->urlkeys[i].key, sizeof(user->urlkeys[i].key));
			free(user->urlkeys[i].mailbox);
			user->urlkeys[i] = user->urlkeys[--user->n_urlkeys];
		}
		return;
	}
	if (i == user->n_urlkeys) {
		if (user->n_urlkeys == user->cap_urlkeys) {
			user->cap_urlkeys = user->cap_urlkeys ? user->cap_urlkeys * 2 : 4;
			user->urlkeys = xrealloc(user->urlkeys,
						 user->cap_urlkeys * sizeof(*user->urlkeys));
		}
		user->urlkeys[user->n_urlkeys++].mailbox = xstrdup(mailbox);
	}
	memcpy(user->urlkeys[i].key, key, UIMAP_URLAUTH_KEY_SIZE);
}

void store_apply_urlauth_key(struct store_user *user, const char *mailbox,
			     const unsigned char *key)
{
	struct store_change c = { .type = STORE_CHANGE_URLAUTH_KEY, .user = user->name,
				  .mailbox = mailbox, .has_key = key != NULL };
	if (mailbox == NULL)
		urlkeys_clear(user);
	else
		store_user_urlkey_put(user, mailbox, key);
	if (key != NULL)
		memcpy(c.key, key, UIMAP_URLAUTH_KEY_SIZE);
	store_change_emit(user->store, &c);
	explicit_bzero(c.key, sizeof(c.key));
}

int store_user_urlauth_key_get(struct uimap_store_user *pub, const char *mailbox,
			       unsigned char *key_r)
{
	struct store_user *user = user_of(pub);
	size_t i = urlkey_find(user, mailbox);
	if (i == user->n_urlkeys)
		return 0;
	memcpy(key_r, user->urlkeys[i].key, UIMAP_URLAUTH_KEY_SIZE);
	return 1;
}

int store_user_urlauth_key_set(struct uimap_store_user *pub, const char *mailbox,
			       const unsigned char *key)
{
	struct store_user *user = user_of(pub);
	/* the journal must be able to take the record (a full disk refuses it) */
	int r = store_reserve(user->store, 96 + strlen(user->name) +
				     (mailbox != NULL ? strlen(mailbox) : 0));
	if (r < 0)
		return r;
	store_apply_urlauth_key(user, mailbox, key);
	return 0;
}

void store_user_usage(struct uimap_store_user *pub, struct uimap_store_usage *usage_r)
{
	struct store_user *user = user_of(pub);

	*usage_r = (struct uimap_store_usage){ .messages = user->n_messages,
					       .bytes = user->n_bytes,
					       .mailboxes = (uint32_t)user->n_boxes,
					       .subscriptions = (uint32_t)user->n_subs };
}


int store_user_reserve(struct uimap_store_user *pub, const char *name, uint64_t changes,
		       uint64_t messages, uint64_t bytes)
{
	struct store_user *user = user_of(pub);

	if (messages > 0) {
		int err;
		struct mailbox *box = user_selectable(user, name, &err);

		if (box == NULL)
			return err;
		err = store_user_check_add(user, box, messages, messages, bytes);
		if (err < 0)
			return err;
	}
	return store_reserve(user->store, changes * store_record_bytes(user, name, 0) + bytes);
}

int store_mailbox_append(struct uimap_store_user *pub, const char *raw,
			 const struct uimap_append *msg, struct uimap_append_result *result_r)
{
	int err;
	struct mailbox *box = user_selectable(user_of(pub), raw, &err);
	uint64_t keywords = 0;
	uint32_t uid;

	if (box == NULL)
		return err;
	if (msg->blob == NULL)
		return -EINVAL;
	/* the message, and a record per keyword it may create */
	err = store_user_check_add(box->user, box, 1, 1, msg->blob->size);
	if (err < 0)
		return err;
	uint64_t bytes = store_record_bytes(box->user, box->name, msg->blob->size);
	for (size_t i = 0; i < msg->n_keywords; i++)
		bytes += store_record_bytes(box->user, box->name, strlen(msg->keywords[i]));
	err = store_reserve(box->user->store, bytes);
	if (err < 0)
		return err;
	for (size_t i = 0; i < msg->n_keywords; i++) {
		int idx = mailbox_keyword_index(box, msg->keywords[i], true);

		if (idx < 0)
			return idx;
		keywords |= 1ull << idx;
	}
	err = mailbox_add(box, msg->blob, (uint8_t)(msg->system_flags & UIMAP_FLAGS_STORABLE),
			  keywords, msg->internaldate != 0 ? msg->internaldate : time(NULL),
			  msg->tz_minutes, 0, 0, &uid);
	if (err < 0)
		return err;
	mailbox_changed(box, NULL);
	*result_r = (struct uimap_append_result){ .uidvalidity = box->uidvalidity, .uid = uid };
	return 0;
}

int store_view_open_vt(struct uimap_store_user *pub, const char *raw, bool readonly,
		       struct uimap_store_view **view_r, struct uimap_select_info *info_r)
{
	struct store_user *user = user_of(pub);
	struct store_view *v;
	int err;
	struct mailbox *box = user_selectable(user, raw, &err);

	if (box == NULL)
		return err;
	err = store_view_open(user, box, readonly, &v, info_r);
	if (err < 0)
		return err;
	*view_r = &v->pub;
	return 0;
}

void store_view_close_vt(struct uimap_store_view *view)
{
	store_view_close((struct store_view *)view);
}

int store_user_create(struct memstore *ms, const char *name, struct store_user **user_r)
{
	/* the user, INBOX, the defaults and their subscriptions */
	uint64_t bytes = (uint64_t)(3 + 2 * ms->n_defaults) * (256 + strlen(name));
	int reserved = store_reserve(ms, bytes);

	if (reserved < 0)
		return reserved;
	struct store_user *user;
	int r = store_apply_user_create(ms, name, &user);

	if (r < 0)
		return r;
	r = store_apply_mailbox_create(user, "INBOX", 0, 0);
	for (size_t i = 0; i < ms->n_defaults && r == 0; i++) {
		const struct store_default_box *d = &ms->defaults[i];

		if (store_user_find(user, d->name) != NULL)
			continue;
		r = user_create_parents(user, d->name);
		if (r == 0)
			r = store_apply_mailbox_create(user, d->name, 0, d->special_use);
	}
	for (size_t i = 0; i < ms->n_defaults && r == 0 && ms->subscribe_defaults; i++)
		(void)store_apply_subscribe(user, ms->defaults[i].name, true);
	if (r == 0 && ms->subscribe_defaults)
		(void)store_apply_subscribe(user, "INBOX", true);
	*user_r = user;
	return r;
}

void store_user_free(struct store_user **userp)
{
	struct store_user *user = *userp;

	*userp = NULL;
	if (user == NULL)
		return;
	for (size_t i = 0; i < user->n_boxes; i++)
		mailbox_unref(&user->boxes[i]);
	for (size_t i = 0; i < user->n_subs; i++)
		free(user->subs[i]);
	store_watch_free(user);
	urlkeys_clear(user);
	free(user->urlkeys);
	free(user->boxes);
	free(user->subs);
	free(user->name);
	free(user);
}
