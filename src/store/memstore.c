/* The in-memory store: lifecycle, users, the vtable, statistics and the change hook. */
#include "store/memstore.h"
#include "core/alloc.h"
#include "core/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static const struct uimap_store_default_mailbox memstore_defaults[] = {
	{ "Drafts", UIMAP_SPECIAL_DRAFTS },
	{ "Sent", UIMAP_SPECIAL_SENT },
	{ "Trash", UIMAP_SPECIAL_TRASH },
	{ "Junk", UIMAP_SPECIAL_JUNK },
	{ "Archive", UIMAP_SPECIAL_ARCHIVE },
};

static struct memstore *memstore_of(struct uimap_store *pub)
{
	return (struct memstore *)pub;
}

void store_memory_set_change_hook(struct uimap_store *store, store_change_fn *fn,
				  store_reserve_fn *reserve, void *ctx)
{
	struct memstore *ms = memstore_of(store);

	ms->hook = fn;
	ms->reserve = fn != NULL ? reserve : NULL;
	ms->hook_ctx = ctx;
}

int store_reserve(struct memstore *ms, uint64_t bytes)
{
	return ms->reserve != NULL ? ms->reserve(ms->hook_ctx, bytes) : 0;
}

uint64_t store_record_bytes(const struct store_user *user, const char *mailbox,
			    uint64_t extra)
{
	/* a record's header, lengths and fixed fields (at most ~70 bytes); extra
	   holds a keyword, a second name or a message */
	return 128 + strlen(user->name) + (mailbox != NULL ? strlen(mailbox) : 0) + extra;
}

void store_change_emit(struct memstore *ms, const struct store_change *change)
{
	if (ms->hook != NULL && ms->hook_muted == 0)
		ms->hook(ms->hook_ctx, change);
	if (ms->n_watchers > 0)
		store_watch_dispatch(ms, change);
}

uint32_t store_next_uidvalidity(struct memstore *ms)
{
	/* Seeded from the clock (so a restart without persistence still moves
	   forward), then a counter: two mailboxes created in one second, or a name
	   deleted and created again, never share a UIDVALIDITY. */
	uint32_t now = (uint32_t)time(NULL);
	uint32_t v = ms->last_uidvalidity + 1;

	if (now > v)
		v = now;
	if (v == 0)
		v = 1;
	ms->last_uidvalidity = v;
	return v;
}

size_t memstore_user_pos(const struct memstore *ms, const char *name)
{
	size_t lo = 0, hi = ms->n_users;

	/* snapshots list users in order: appending is the common case */
	if (hi > 0 && strcmp(ms->users[hi - 1]->name, name) < 0)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ms->users[mid]->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int memstore_user_open(struct uimap_store *pub, const char *username,
			      struct uimap_store_user **user_r)
{
	struct memstore *ms = memstore_of(pub);
	size_t pos = memstore_user_pos(ms, username);
	struct store_user *user;

	if (pos < ms->n_users && strcmp(ms->users[pos]->name, username) == 0) {
		user = ms->users[pos];
	} else {
		int r = store_user_create(ms, username, &user);

		if (r < 0)
			return r;
	}
	user->sessions++;
	*user_r = &user->pub;
	return 0;
}

static void memstore_user_close(struct uimap_store_user *pub)
{
	struct store_user *user = (struct store_user *)pub;

	/* The mail stays: users live as long as the store. */
	if (user->sessions > 0)
		user->sessions--;
}

static void memstore_destroy(struct uimap_store *pub)
{
	struct memstore *ms = memstore_of(pub);

	ms->lazy_free = false;
	for (size_t i = 0; i < ms->n_users; i++)
		store_user_free(&ms->users[i]);
	store_collect(ms, UINT32_MAX);
	for (size_t i = 0; i < ms->n_defaults; i++)
		free(ms->defaults[i].name);
	free(ms->defaults);
	free(ms->users);
	free(ms);
}

/* Messages freed per loop turn: about a millisecond's work. */
#define COLLECT_PER_TURN 16384

static bool memstore_background(struct uimap_store *pub)
{
	struct memstore *ms = memstore_of(pub);

	ms->lazy_free = true;
	return store_collect(ms, COLLECT_PER_TURN);
}

static int memstore_stats(struct uimap_store *pub, struct uimap_store_stats *st)
{
	struct memstore *ms = memstore_of(pub);

	memset(st, 0, sizeof(*st));
	st->users = ms->n_users;
	st->views = ms->n_views;
	st->metadata_bytes = sizeof(*ms) + ms->cap_users * sizeof(*ms->users);
	for (size_t u = 0; u < ms->n_users; u++) {
		const struct store_user *user = ms->users[u];

		st->metadata_bytes += sizeof(*user) + strlen(user->name) + 1 +
				      user->cap_boxes * sizeof(*user->boxes) +
				      user->cap_subs * sizeof(*user->subs);
		for (size_t i = 0; i < user->n_subs; i++)
			st->metadata_bytes += strlen(user->subs[i]) + 1;
		for (size_t b = 0; b < user->n_boxes; b++) {
			const struct mailbox *box = user->boxes[b];

			st->mailboxes++;
			st->messages += box->n_live;
			st->tombstones += box->n_msgs - box->n_live;
			st->message_bytes += box->live_bytes;
			st->metadata_bytes += mailbox_metadata_bytes(box);
			for (const struct store_view *v = box->views; v != NULL; v = v->next)
				st->metadata_bytes += store_view_metadata_bytes(v);
		}
	}
	if (st->messages > 0)
		st->metadata_per_message = (st->metadata_bytes + st->messages / 2) / st->messages;
	return 0;
}

UIMAP_EXPORT const struct uimap_store_vtable uimap_store_memory_vtable = {
	.name = "memory",
	.destroy = memstore_destroy,
	.background = memstore_background,
	.stats = memstore_stats,
	.user_open = memstore_user_open,
	.user_close = memstore_user_close,
	.mailbox_create = store_mailbox_create,
	.mailbox_delete = store_mailbox_delete,
	.mailbox_rename = store_mailbox_rename,
	.mailbox_subscribe = store_mailbox_subscribe,
	.mailbox_list = store_mailbox_list,
	.mailbox_status = store_mailbox_status,
	.mailbox_append = store_mailbox_append,
	.view_open = store_view_open_vt,
	.view_close = store_view_close_vt,
	.view_set_wake = store_view_set_wake,
	.view_sync = store_view_sync,
	.view_count = store_view_count,
	.view_msg = store_view_msg,
	.view_uid_to_seq = store_view_uid_to_seq,
	.view_uid_range = store_view_uid_range,
	.view_keyword_index = store_view_keyword_index,
	.view_keyword_name = store_view_keyword_name,
	.view_store_flags = store_view_store_flags,
	.view_expunge = store_view_expunge,
	.view_copy = store_view_copy,
	.view_vanished = store_view_vanished,
	.view_highest_modseq = store_view_highest_modseq,
	.reserve = store_user_reserve,
	.set_limits = store_user_set_limits,
	.quota_set = store_user_quota_set,
	.quota_get = store_user_quota_get,
	.urlauth_key_get = store_user_urlauth_key_get,
	.urlauth_key_set = store_user_urlauth_key_set,
	.usage = store_user_usage,
	.user_watch = store_user_watch,
};

UIMAP_EXPORT int uimap_store_memory_new(const struct uimap_store_memory_settings *settings,
					struct uimap_store **store_r)
{
	const struct uimap_store_default_mailbox *defs = memstore_defaults;
	size_t n_defs = sizeof(memstore_defaults) / sizeof(memstore_defaults[0]);
	struct memstore *ms = xcalloc(1, sizeof(*ms));

	ms->pub.vt = &uimap_store_memory_vtable;
	if (settings != NULL && settings->default_mailboxes != NULL) {
		defs = settings->default_mailboxes;
		n_defs = settings->n_default_mailboxes;
	}
	ms->subscribe_defaults = settings != NULL && settings->subscribe_defaults;
	ms->defaults = xcalloc(n_defs == 0 ? 1 : n_defs, sizeof(*ms->defaults));
	for (size_t i = 0; i < n_defs; i++) {
		char name[STORE_NAME_MAX + 1];

		if (store_name_canon(defs[i].name, true, name) < 0 || !store_name_valid(name)) {
			memstore_destroy(&ms->pub);
			return -EINVAL;
		}
		ms->defaults[i].name = xstrdup(name);
		ms->defaults[i].special_use = defs[i].special_use;
		ms->n_defaults++;
	}
	*store_r = &ms->pub;
	return 0;
}
