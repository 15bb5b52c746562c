/* Helpers shared by the store unit tests: a store with one user, appends, LIST capture. */
#ifndef TESTS_STORE_TEST_H
#define TESTS_STORE_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uimap/store.h"
#include "store/memstore.h"

static inline struct uimap_store *t_store(void)
{
	struct uimap_store *store = NULL;

	cr_assert_eq(uimap_store_memory_new(NULL, &store), 0);
	return store;
}

static inline struct uimap_store_user *t_user(struct uimap_store *store, const char *name)
{
	struct uimap_store_user *user = NULL;

	cr_assert_eq(store->vt->user_open(store, name, &user), 0);
	return user;
}

/* Append text (CRLF added) with flags; returns the UID. */
static inline uint32_t t_append(struct uimap_store_user *user, const char *box, const char *text,
				uint32_t flags)
{
	struct uimap_append msg = { .system_flags = flags, .internaldate = 1700000000,
				    .tz_minutes = 60 };
	struct uimap_append_result res;
	int r;

	msg.blob = uimap_blob_new_copy(text, strlen(text));
	cr_assert_not_null(msg.blob);
	r = user->vt->mailbox_append(user, box, &msg, &res);
	uimap_blob_unref(&msg.blob);
	cr_assert_eq(r, 0, "append to %s: %d", box, r);
	return res.uid;
}

/* LIST output collected as "name attrs;name attrs;..." */
struct t_list {
	char out[4096];
};

static inline int t_list_cb(void *ctx, const char *name, unsigned attrs, unsigned special_use)
{
	struct t_list *l = ctx;
	char item[512];

	snprintf(item, sizeof(item), "%s%s%s%s%s%s%s;", name,
		 attrs & UIMAP_LIST_NOSELECT ? " NS" : "",
		 attrs & UIMAP_LIST_HAS_CHILDREN ? " HC" : "",
		 attrs & UIMAP_LIST_HAS_NO_CHILDREN ? " HN" : "",
		 attrs & UIMAP_LIST_SUBSCRIBED ? " S" : "",
		 attrs & UIMAP_LIST_NONEXISTENT ? " NX" : "",
		 special_use != 0 ? " SU" : "");
	strncat(l->out, item, sizeof(l->out) - strlen(l->out) - 1);
	return 0;
}

static inline const char *t_list(struct uimap_store_user *user, const char *ref, const char *pat,
				 unsigned flags, struct t_list *l)
{
	l->out[0] = '\0';
	cr_assert_eq(user->vt->mailbox_list(user, ref, pat, flags, t_list_cb, l), 0);
	return l->out;
}

/* Sync recorder: the untagged responses as text, e.g. "E3 X5/1 F2:\Seen ". */
struct t_sync {
	char out[8192];
	struct uimap_store_view *view;
	unsigned n_expunge, n_exists, n_flags, n_keywords;
	uint32_t last_exists;
};

static inline void t_sync_put(struct t_sync *s, const char *item)
{
	strncat(s->out, item, sizeof(s->out) - strlen(s->out) - 1);
}

static inline void t_on_expunge(void *ctx, uint32_t seq, uint32_t uid)
{
	struct t_sync *s = ctx;
	char item[32];

	(void)uid;
	s->n_expunge++;
	if (strlen(s->out) < sizeof(s->out) - 64) {
		snprintf(item, sizeof(item), "E%u ", seq);
		t_sync_put(s, item);
	}
}

static inline void t_on_keywords(void *ctx)
{
	struct t_sync *s = ctx;

	s->n_keywords++;
	t_sync_put(s, "K ");
}

static inline void t_on_exists(void *ctx, uint32_t exists, uint32_t recent)
{
	struct t_sync *s = ctx;
	char item[32];

	s->n_exists++;
	s->last_exists = exists;
	snprintf(item, sizeof(item), "X%u/%u ", exists, recent);
	t_sync_put(s, item);
}

static inline void t_on_flags(void *ctx, const struct uimap_msg_info *info)
{
	struct t_sync *s = ctx;
	char item[64];

	s->n_flags++;
	if (strlen(s->out) < sizeof(s->out) - 64) {
		snprintf(item, sizeof(item), "F%u:%x ", info->seq, info->flags.system);
		t_sync_put(s, item);
	}
}

static inline const struct uimap_sync_callbacks *t_callbacks(void)
{
	static const struct uimap_sync_callbacks cb = {
		.expunge = t_on_expunge, .keywords = t_on_keywords, .exists = t_on_exists,
		.flags = t_on_flags,
	};
	return &cb;
}

/* Sync view and return the recorded responses. */
static inline const char *t_sync(struct uimap_store_view *view, unsigned flags, struct t_sync *s)
{
	memset(s, 0, sizeof(*s));
	cr_assert_eq(view->vt->view_sync(view, flags, t_callbacks(), s), 0);
	return s->out;
}

static inline uint32_t t_uid(struct uimap_store_view *view, uint32_t seq)
{
	struct uimap_msg_info info;

	cr_assert_eq(view->vt->view_msg(view, seq, &info), 0, "seq %u", seq);
	return info.uid;
}

static inline int t_store_flags(struct uimap_store_view *view, uint32_t seq,
				enum uimap_flags_mode mode, uint32_t flags)
{
	struct uimap_flags f = { .system = flags };

	return view->vt->view_store_flags(view, seq, mode, &f, 0, NULL);
}

#endif
