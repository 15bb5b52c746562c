/* Watchers of a user's mailboxes (NOTIFY, RFC 5465): the change hook's events, told
   to every session of the user that asked. Sessions only record what they are told;
   the cost of a change is O(watchers of its user), none when nobody watches. */
#include "store/memstore.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct store_watcher {
	uimap_store_watch_fn *fn;
	void *ctx;
};

int store_user_watch(struct uimap_store_user *pub, uimap_store_watch_fn *fn, void *ctx)
{
	struct store_user *user = (struct store_user *)pub;
	struct memstore *ms = user->store;

	for (size_t i = 0; i < user->n_watchers; i++) {
		if (user->watchers[i].ctx != ctx)
			continue;
		if (fn != NULL) {
			user->watchers[i].fn = fn;
			return 0;
		}
		user->watchers[i] = user->watchers[--user->n_watchers];
		ms->n_watchers--;
		if (user->n_watchers == 0) {
			free(user->watchers);
			user->watchers = NULL;
			user->cap_watchers = 0;
		}
		return 0;
	}
	if (fn == NULL)
		return 0;
	if (user->n_watchers == user->cap_watchers) {
		user->cap_watchers = user->cap_watchers ? 2 * user->cap_watchers : 4;
		user->watchers = xrealloc(user->watchers,
					  user->cap_watchers * sizeof(*user->watchers));
	}
	user->watchers[user->n_watchers++] = (struct store_watcher){ fn, ctx };
	ms->n_watchers++;
	return 0;
}

void store_watch_free(struct store_user *user)
{
	user->store->n_watchers -= user->n_watchers;
	free(user->watchers);
	user->watchers = NULL;
	user->n_watchers = user->cap_watchers = 0;
}

void store_watch_dispatch(struct memstore *ms, const struct store_change *c)
{
	struct uimap_store_event ev = { .name = c->mailbox, .new_name = c->new_name };

	switch (c->type) {
	case STORE_CHANGE_MAILBOX_CREATE: ev.type = UIMAP_EVENT_MAILBOX_CREATE; break;
	case STORE_CHANGE_MAILBOX_DELETE: ev.type = UIMAP_EVENT_MAILBOX_DELETE; break;
	case STORE_CHANGE_MAILBOX_RENAME: ev.type = UIMAP_EVENT_MAILBOX_RENAME; break;
	case STORE_CHANGE_SUBSCRIBE: ev.type = UIMAP_EVENT_SUBSCRIBE; break;
	case STORE_CHANGE_UNSUBSCRIBE: ev.type = UIMAP_EVENT_UNSUBSCRIBE; break;
	case STORE_CHANGE_APPEND:
	case STORE_CHANGE_COPY: ev.type = UIMAP_EVENT_MESSAGE_NEW; break;
	case STORE_CHANGE_EXPUNGE: ev.type = UIMAP_EVENT_MESSAGE_EXPUNGE; break;
	case STORE_CHANGE_FLAGS:
		ev.type = UIMAP_EVENT_FLAGS;
		ev.seen_changed = c->seen_changed;
		break;
	case STORE_CHANGE_USER_CREATE:
	case STORE_CHANGE_KEYWORD:
	default:
		return;
	}
	if (c->user == NULL || c->mailbox == NULL)
		return;
	struct store_user *user = store_find_user(ms, c->user);

	if (user == NULL)
		return;
	for (size_t i = 0; i < user->n_watchers; i++)
		user->watchers[i].fn(user->watchers[i].ctx, &ev);
}
