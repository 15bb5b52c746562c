/* Building the in-memory store's structures directly, for snapshot load and replay. */
#include "persist/persist-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct store_user *restore_user_find(struct memstore *ms, const char *name)
{
	size_t pos = memstore_user_pos(ms, name);

	if (pos < ms->n_users && strcmp(ms->users[pos]->name, name) == 0)
		return ms->users[pos];
	return NULL;
}

int restore_user_insert(struct memstore *ms, struct store_user *user)
{
	size_t pos = memstore_user_pos(ms, user->name);

	if (pos < ms->n_users && strcmp(ms->users[pos]->name, user->name) == 0)
		return -EEXIST;
	if (ms->n_users == ms->cap_users) {
		size_t cap = ms->cap_users == 0 ? 16 : ms->cap_users * 2;
		struct store_user **users = realloc(ms->users, cap * sizeof(*users));

		if (users == NULL)
			return -ENOMEM;
		ms->users = users;
		ms->cap_users = cap;
	}
	memmove(ms->users + pos + 1, ms->users + pos, (ms->n_users - pos) * sizeof(*ms->users));
	ms->users[pos] = user;
	ms->n_users++;
	return 0;
}

struct store_user *restore_user_add(struct memstore *ms, const char *name)
{
	struct store_user *user = restore_user_find(ms, name);

	if (user != NULL)
		return user;
	user = calloc(1, sizeof(*user));
	if (user == NULL || (user->name = strdup(name)) == NULL) {
		free(user);
		return NULL;
	}
	user->pub.vt = &uimap_store_memory_vtable;
	user->store = ms;
	if (restore_user_insert(ms, user) < 0) {
		store_user_free(&user);
		return NULL;
	}
	return user;
}

int restore_box_insert(struct store_user *user, struct mailbox *box)
{
	size_t lo = 0, hi = user->n_boxes;

	if (hi > 0 && strcmp(user->boxes[hi - 1]->name, box->name) < 0) {
		lo = hi;
	} else {
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (strcmp(user->boxes[mid]->name, box->name) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	if (user->n_boxes == user->cap_boxes) {
		size_t cap = user->cap_boxes == 0 ? 16 : user->cap_boxes * 2;
		struct mailbox **boxes = realloc(user->boxes, cap * sizeof(*boxes));

		if (boxes == NULL)
			return -ENOMEM;
		user->boxes = boxes;
		user->cap_boxes = cap;
	}
	memmove(user->boxes + lo + 1, user->boxes + lo, (user->n_boxes - lo) * sizeof(*user->boxes));
	user->boxes[lo] = box;
	user->n_boxes++;
	return 0;
}

int restore_sub_add(struct store_user *user, const char *name)
{
	int r = store_user_sub_insert(user, name);

	return r < 0 ? r : 0;
}

void restore_box_recount(struct mailbox *box)
{
	box->n_live = box->n_unseen = box->n_deleted = box->n_dead = 0;
	box->live_bytes = 0;
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
		if ((msg->flags & UIMAP_FLAG_DELETED) != 0)
			box->n_deleted++;
		box->live_bytes += msg->blob->size;
	}
}
