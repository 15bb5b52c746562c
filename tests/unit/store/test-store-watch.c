/* Unit tests for the store's watchers (src/store/watch.c, user_watch for NOTIFY): each
   change of a user's mailboxes reaches every watcher of that user, once, as it happens;
   other users' watchers hear nothing; removal stops them. */
#include "store-test.h"

static struct uimap_store *store;
static struct uimap_store_user *user, *other;

struct heard {
	char text[2048];
	unsigned n;
};

static void on_event(void *ctx, const struct uimap_store_event *ev)
{
	static const char *const names[] = { "create", "delete", "rename", "sub", "unsub",
					     "new", "expunge", "flags" };
	struct heard *h = ctx;
	char item[256];
	snprintf(item, sizeof(item), "%s:%s%s%s%s;", names[ev->type], ev->name,
		 ev->new_name != NULL ? ">" : "", ev->new_name != NULL ? ev->new_name : "",
		 ev->type == UIMAP_EVENT_FLAGS && ev->seen_changed ? "+seen" : "");
	strncat(h->text, item, sizeof(h->text) - strlen(h->text) - 1);
	h->n++;
}

static void setup(void)
{
	store = t_store();
	user = t_user(store, "alice");
	other = t_user(store, "bob");
}

static void teardown(void)
{
	user->vt->user_close(user);
	other->vt->user_close(other);
	uimap_store_free(&store);
}

TestSuite(store_watch, .init = setup, .fini = teardown);

Test(store_watch, every_kind_of_change)
{
	struct heard h = { 0 };
	struct uimap_store_view *v;
	struct uimap_select_info info;

	cr_assert_not_null(user->vt->user_watch);
	cr_assert_eq(user->vt->user_watch(user, on_event, &h), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "Work/Sub", 0), 0);
	t_append(user, "Work", "Subject: a\r\n\r\nx\r\n", 0);
	cr_assert_eq(user->vt->view_open(user, "Work", false, &v, &info), 0);
	cr_assert_eq(t_store_flags(v, 1, UIMAP_FLAGS_ADD, UIMAP_FLAG_FLAGGED), 1);
	cr_assert_eq(t_store_flags(v, 1, UIMAP_FLAGS_ADD, UIMAP_FLAG_SEEN | UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 1);
	v->vt->view_close(v);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "Work", true), 1);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "Work", false), 1);
	cr_assert_eq(user->vt->mailbox_rename(user, "Work", "Play"), 0);
	cr_assert_eq(user->vt->mailbox_delete(user, "Play/Sub"), 0);
	cr_assert_str_eq(h.text, "create:Work;create:Work/Sub;new:Work;flags:Work;"
				 "flags:Work+seen;expunge:Work;sub:Work;unsub:Work;"
				 "rename:Work>Play;delete:Play/Sub;");
}

Test(store_watch, per_user_and_removal)
{
	struct heard a = { 0 }, a2 = { 0 }, b = { 0 };

	cr_assert_eq(user->vt->user_watch(user, on_event, &a), 0);
	cr_assert_eq(user->vt->user_watch(user, on_event, &a2), 0);
	cr_assert_eq(other->vt->user_watch(other, on_event, &b), 0);
	t_append(user, "INBOX", "Subject: a\r\n\r\nx\r\n", 0);
	cr_assert_eq(a.n, 1);
	cr_assert_eq(a2.n, 1);
	cr_assert_eq(b.n, 0, "another user's change is not told");
	/* a second registration with the same ctx replaces, not adds */
	cr_assert_eq(user->vt->user_watch(user, on_event, &a), 0);
	t_append(user, "INBOX", "Subject: b\r\n\r\nx\r\n", 0);
	cr_assert_eq(a.n, 2);
	cr_assert_eq(user->vt->user_watch(user, NULL, &a), 0);
	t_append(user, "INBOX", "Subject: c\r\n\r\nx\r\n", 0);
	cr_assert_eq(a.n, 2, "removed");
	cr_assert_eq(a2.n, 3);
	/* removing an unknown ctx is harmless; the store frees what is left */
	cr_assert_eq(user->vt->user_watch(user, NULL, &b), 0);
}
