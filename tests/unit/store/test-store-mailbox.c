/* Unit tests for the in-memory store's mailbox operations (RFC 3501 6.3). */
#include "store-test.h"
#include "core/blob.h"

static struct uimap_store *store;
static struct uimap_store_user *user;

static void setup(void)
{
	store = t_store();
	user = t_user(store, "alice");
}

static void teardown(void)
{
	uimap_store_user_close(&user);
	uimap_store_free(&store);
}

TestSuite(store_mailbox, .init = setup, .fini = teardown);

Test(store_mailbox, default_set)
{
	struct t_list l;

	cr_assert_str_eq(t_list(user, "", "*", 0, &l),
			 "Archive HN SU;Drafts HN SU;INBOX HN;Junk HN SU;Sent HN SU;Trash HN SU;");
	cr_assert_str_eq(t_list(user, "", "*", UIMAP_LIST_F_SUBSCRIBED, &l), "");
}

Test(store_mailbox, configurable_defaults)
{
	static const struct uimap_store_default_mailbox defs[] = {
		{ "Sent Items", UIMAP_SPECIAL_SENT }, { "Lists/Work", 0 },
	};
	struct uimap_store_memory_settings set = {
		.default_mailboxes = defs, .n_default_mailboxes = 2, .subscribe_defaults = true };
	struct uimap_store *s2;
	struct uimap_store_user *u2;
	struct t_list l;

	cr_assert_eq(uimap_store_memory_new(&set, &s2), 0);
	u2 = t_user(s2, "bob");
	cr_assert_str_eq(t_list(u2, "", "*", 0, &l),
			 "INBOX HN S;Lists HC;Lists/Work HN S;Sent Items HN S SU;");
	uimap_store_user_close(&u2);
	uimap_store_free(&s2);

	static const struct uimap_store_default_mailbox bad[] = { { "a*b", 0 } };

	set.default_mailboxes = bad;
	set.n_default_mailboxes = 1;
	cr_assert_eq(uimap_store_memory_new(&set, &s2), -EINVAL);
}

Test(store_mailbox, users_are_separate_and_persist)
{
	struct uimap_store_user *bob = t_user(store, "bob"), *again;
	struct uimap_status st;

	t_append(user, "INBOX", "Subject: a\r\n\r\nx\r\n", 0);
	cr_assert_eq(bob->vt->mailbox_status(bob, "INBOX", &st), 0);
	cr_assert_eq(st.messages, 0);
	uimap_store_user_close(&user);
	again = t_user(store, "alice");
	cr_assert_eq(again->vt->mailbox_status(again, "inbox", &st), 0);
	cr_assert_eq(st.messages, 1);
	user = again;
	uimap_store_user_close(&bob);
}

Test(store_mailbox, create_rules)
{
	struct t_list l;

	cr_assert_eq(user->vt->mailbox_create(user, "a/b/c/", 0), 0);
	cr_assert_str_eq(t_list(user, "", "a*", 0, &l), "a HC;a/b HC;a/b/c HN;");
	cr_assert_eq(user->vt->mailbox_create(user, "a/b", 0), -EEXIST);
	cr_assert_eq(user->vt->mailbox_create(user, "inbox", 0), -EEXIST);
	cr_assert_eq(user->vt->mailbox_create(user, "INBOX/x", 0), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "inbox/y", 0), 0);
	cr_assert_str_eq(t_list(user, "", "INBOX*", 0, &l), "INBOX HC;INBOX/x HN;INBOX/y HN;");
	cr_assert_eq(user->vt->mailbox_create(user, "bad*", 0), -EINVAL);
	cr_assert_eq(user->vt->mailbox_create(user, "bad%", 0), -EINVAL);
	cr_assert_eq(user->vt->mailbox_create(user, "x//y", 0), -EINVAL);
	cr_assert_eq(user->vt->mailbox_create(user, "caf\xc3\xa9", 0), -EINVAL);
	cr_assert_eq(user->vt->mailbox_create(user, "a&b", 0), -EINVAL);
	cr_assert_eq(user->vt->mailbox_create(user, "/", 0), -EINVAL);
	cr_assert_eq(user->vt->mailbox_create(user, "~peter/mail/&U,BTFw-/&ZeVnLIqe-", 0), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "Entw&APw-rfe", UIMAP_SPECIAL_DRAFTS), 0);
	cr_assert_str_eq(t_list(user, "", "Entw*", 0, &l), "Entw&APw-rfe HN SU;");
}

Test(store_mailbox, delete_rules)
{
	struct t_list l;
	struct uimap_status st;

	cr_assert_eq(user->vt->mailbox_delete(user, "INBOX"), -EPERM);
	cr_assert_eq(user->vt->mailbox_delete(user, "inbox"), -EPERM);
	cr_assert_eq(user->vt->mailbox_delete(user, "nope"), -ENOENT);
	cr_assert_eq(user->vt->mailbox_create(user, "foo/bar", 0), 0);
	t_append(user, "foo", "m1\r\n", 0);
	t_append(user, "foo", "m2\r\n", 0);
	/* RFC 3501 6.3.4: foo has an inferior: it loses its messages, \Noselect. */
	cr_assert_eq(user->vt->mailbox_delete(user, "foo"), 0);
	cr_assert_str_eq(t_list(user, "", "foo*", 0, &l), "foo NS HC;foo/bar HN;");
	cr_assert_eq(user->vt->mailbox_status(user, "foo", &st), -EPERM);
	cr_assert_eq(user->vt->mailbox_append(user, "foo", &(struct uimap_append){ 0 },
					      &(struct uimap_append_result){ 0 }), -EPERM);
	/* a \Noselect name with inferiors cannot be deleted */
	cr_assert_eq(user->vt->mailbox_delete(user, "foo"), -ENOTEMPTY);
	cr_assert_eq(user->vt->mailbox_delete(user, "foo/bar"), 0);
	cr_assert_str_eq(t_list(user, "", "foo*", 0, &l), "foo NS HN;");
	/* ...and once it has none it is removed */
	cr_assert_eq(user->vt->mailbox_delete(user, "foo"), 0);
	cr_assert_str_eq(t_list(user, "", "foo*", 0, &l), "");
	/* CREATE over a \Noselect name makes it selectable again */
	cr_assert_eq(user->vt->mailbox_create(user, "p/q", 0), 0);
	cr_assert_eq(user->vt->mailbox_delete(user, "p"), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "p", 0), 0);
	cr_assert_eq(user->vt->mailbox_status(user, "p", &st), 0);
	cr_assert_eq(st.messages, 0);
}

Test(store_mailbox, rename_moves_children_and_creates_parents)
{
	struct t_list l;
	struct uimap_status st;
	uint32_t uidv;

	cr_assert_eq(user->vt->mailbox_create(user, "a/b", 0), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "a-x", 0), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "a b", 0), 0);
	t_append(user, "a", "m\r\n", 0);
	cr_assert_eq(user->vt->mailbox_status(user, "a", &st), 0);
	uidv = st.uidvalidity;
	cr_assert_eq(user->vt->mailbox_rename(user, "a", "x/y/z"), 0);
	cr_assert_str_eq(t_list(user, "", "*", 0, &l),
			 "Archive HN SU;Drafts HN SU;INBOX HN;Junk HN SU;Sent HN SU;Trash HN SU;"
			 "a b HN;a-x HN;x HC;x/y HC;x/y/z HC;x/y/z/b HN;");
	cr_assert_eq(user->vt->mailbox_status(user, "x/y/z", &st), 0);
	cr_assert_eq(st.messages, 1);
	cr_assert_eq(st.uidvalidity, uidv);
	cr_assert_eq(user->vt->mailbox_rename(user, "nope", "q"), -ENOENT);
	cr_assert_eq(user->vt->mailbox_rename(user, "a b", "a-x"), -EEXIST);
	cr_assert_eq(user->vt->mailbox_rename(user, "x", "x/sub"), -EINVAL);
	cr_assert_eq(user->vt->mailbox_rename(user, "x", "bad*"), -EINVAL);
	/* a child's target name already taken */
	cr_assert_eq(user->vt->mailbox_create(user, "w/y", 0), 0);
	cr_assert_eq(user->vt->mailbox_rename(user, "x", "w"), -EEXIST);
	cr_assert_eq(user->vt->mailbox_delete(user, "w/y"), 0);
	cr_assert_eq(user->vt->mailbox_delete(user, "w"), 0);
	cr_assert_eq(user->vt->mailbox_rename(user, "x", "w"), 0);
	cr_assert_str_eq(t_list(user, "", "w*", 0, &l), "w HC;w/y HC;w/y/z HC;w/y/z/b HN;");
}

Test(store_mailbox, rename_inbox_moves_messages)
{
	struct uimap_status st, old;
	struct t_list l;

	t_append(user, "INBOX", "one\r\n", UIMAP_FLAG_SEEN);
	t_append(user, "INBOX", "two\r\n", 0);
	cr_assert_eq(user->vt->mailbox_create(user, "INBOX/child", 0), 0);
	cr_assert_eq(user->vt->mailbox_status(user, "INBOX", &old), 0);
	cr_assert_eq(user->vt->mailbox_rename(user, "inbox", "Old/Mail"), 0);
	cr_assert_eq(user->vt->mailbox_status(user, "INBOX", &st), 0);
	cr_assert_eq(st.messages, 0);
	cr_assert_eq(st.uidvalidity, old.uidvalidity);
	cr_assert_eq(st.uidnext, old.uidnext, "INBOX UIDs are never reused");
	cr_assert_eq(user->vt->mailbox_status(user, "Old/Mail", &st), 0);
	cr_assert_eq(st.messages, 2);
	cr_assert_eq(st.unseen, 1);
	cr_assert_neq(st.uidvalidity, old.uidvalidity);
	cr_assert_str_eq(t_list(user, "", "INBOX*", 0, &l), "INBOX HC;INBOX/child HN;");
	cr_assert_str_eq(t_list(user, "", "Old*", 0, &l), "Old HC;Old/Mail HN;");
	cr_assert_eq(user->vt->mailbox_rename(user, "INBOX", "Old/Mail"), -EEXIST);
}

Test(store_mailbox, uidvalidity_unique_and_uidnext_monotonic)
{
	struct uimap_status st;
	uint32_t seen[50];

	/* Many incarnations of one name within one second. */
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(user->vt->mailbox_create(user, "tmp", 0), 0);
		cr_assert_eq(user->vt->mailbox_status(user, "tmp", &st), 0);
		seen[i] = st.uidvalidity;
		for (int k = 0; k < i; k++)
			cr_assert_neq(seen[k], seen[i]);
		cr_assert_eq(user->vt->mailbox_delete(user, "tmp"), 0);
	}
	/* UIDNEXT only grows, even when the highest message is expunged. */
	uint32_t u1 = t_append(user, "INBOX", "a\r\n", UIMAP_FLAG_DELETED);
	uint32_t u2 = t_append(user, "INBOX", "b\r\n", UIMAP_FLAG_DELETED);
	struct uimap_store_view *v;
	struct uimap_select_info info;

	cr_assert_eq(u2, u1 + 1);
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 2);
	uimap_store_view_close(&v);
	uint32_t u3 = t_append(user, "INBOX", "c\r\n", 0);

	cr_assert_eq(u3, u2 + 1);
	cr_assert_eq(user->vt->mailbox_status(user, "INBOX", &st), 0);
	cr_assert_eq(st.messages, 1);
	cr_assert_eq(st.uidnext, u3 + 1);
}

Test(store_mailbox, subscriptions_and_lsub)
{
	struct t_list l;

	cr_assert_eq(user->vt->mailbox_create(user, "foo/bar/baz", 0), 0);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "foo/bar", true), 1);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "foo/bar", true), 0);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "ghost", true), 1);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "inbox", true), 1);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "bad*", true), -EINVAL);
	/* LSUB "" "*": subscribed names, existing or not */
	cr_assert_str_eq(t_list(user, "", "*", UIMAP_LIST_F_SUBSCRIBED, &l),
			 "INBOX HN S;foo/bar HC S;ghost S NX;");
	/* RFC 3501 6.3.9: "%" returns the unsubscribed parent as \Noselect */
	cr_assert_str_eq(t_list(user, "", "%", UIMAP_LIST_F_SUBSCRIBED, &l),
			 "INBOX HN S;foo NS HC;ghost S NX;");
	cr_assert_str_eq(t_list(user, "foo/", "%", UIMAP_LIST_F_SUBSCRIBED, &l), "foo/bar HC S;");
	/* LIST shows \Subscribed too */
	cr_assert_str_eq(t_list(user, "", "foo/%", 0, &l), "foo/bar HC S;");
	/* a subscription survives DELETE (RFC 3501 6.3.9) */
	cr_assert_eq(user->vt->mailbox_delete(user, "foo/bar/baz"), 0);
	cr_assert_eq(user->vt->mailbox_delete(user, "foo/bar"), 0);
	cr_assert_str_eq(t_list(user, "", "foo/*", UIMAP_LIST_F_SUBSCRIBED, &l), "foo/bar S NX;");
	cr_assert_eq(user->vt->mailbox_subscribe(user, "foo/bar", false), 1);
	cr_assert_eq(user->vt->mailbox_subscribe(user, "foo/bar", false), 0);
	cr_assert_str_eq(t_list(user, "", "*", UIMAP_LIST_F_SUBSCRIBED, &l), "INBOX HN S;ghost S NX;");
}

Test(store_mailbox, list_reference_and_wildcards)
{
	struct t_list l;

	cr_assert_eq(user->vt->mailbox_create(user, "m/a/1", 0), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "m/b", 0), 0);
	cr_assert_str_eq(t_list(user, "", "", 0, &l), " NS;");
	cr_assert_str_eq(t_list(user, "", "%", 0, &l),
			 "Archive HN SU;Drafts HN SU;INBOX HN;Junk HN SU;Sent HN SU;Trash HN SU;m HC;");
	cr_assert_str_eq(t_list(user, "m/", "%", 0, &l), "m/a HC;m/b HN;");
	cr_assert_str_eq(t_list(user, "m/", "*", 0, &l), "m/a HC;m/a/1 HN;m/b HN;");
	cr_assert_str_eq(t_list(user, "m", "/%", 0, &l), "");
	cr_assert_str_eq(t_list(user, "", "m/%/%", 0, &l), "m/a/1 HN;");
	cr_assert_str_eq(t_list(user, "", "inbox", 0, &l), "INBOX HN;");
	cr_assert_str_eq(t_list(user, "", "nothing*", 0, &l), "");
}

Test(store_mailbox, status_and_append)
{
	struct uimap_status st;
	struct uimap_append_result res;
	const char *kws[] = { "$Forwarded", "Work" };
	struct uimap_append msg = { .system_flags = UIMAP_FLAG_SEEN | UIMAP_FLAG_DELETED,
				    .keywords = kws, .n_keywords = 2 };

	msg.blob = uimap_blob_new_copy("Subject: x\r\n\r\nbody\r\n", 20);
	cr_assert_eq(user->vt->mailbox_append(user, "Drafts", &msg, &res), 0);
	cr_assert_eq(res.uid, 1);
	cr_assert_eq(user->vt->mailbox_append(user, "nope", &msg, &res), -ENOENT);
	const char *badkw[] = { "\\Seen" };

	msg.keywords = badkw;
	msg.n_keywords = 1;
	cr_assert_eq(user->vt->mailbox_append(user, "Drafts", &msg, &res), -EINVAL);
	uimap_blob_unref(&msg.blob);
	cr_assert_null(msg.blob);

	t_append(user, "Drafts", "second\r\n", 0);
	cr_assert_eq(user->vt->mailbox_status(user, "Drafts", &st), 0);
	cr_assert_eq(st.messages, 2);
	cr_assert_eq(st.recent, 2);
	cr_assert_eq(st.unseen, 1);
	cr_assert_eq(st.deleted, 1);
	cr_assert_eq(st.uidnext, 3);
	cr_assert_eq(st.size, 20 + 8);
	cr_assert_gt(st.highest_modseq, 1);
	cr_assert_eq(user->vt->mailbox_status(user, "nope", &st), -ENOENT);

	/* the keywords and INTERNALDATE reach the view */
	struct uimap_store_view *v;
	struct uimap_select_info info;
	struct uimap_msg_info mi;

	cr_assert_eq(user->vt->view_open(user, "Drafts", false, &v, &info), 0);
	cr_assert_eq(info.exists, 2);
	cr_assert_eq(info.recent, 2);
	cr_assert_eq(info.first_unseen, 2);
	cr_assert_eq(v->vt->view_msg(v, 1, &mi), 0);
	cr_assert_eq(mi.flags.system, UIMAP_FLAG_SEEN | UIMAP_FLAG_DELETED | UIMAP_FLAG_RECENT);
	cr_assert_eq(mi.flags.keywords, 3);
	cr_assert_str_eq(v->vt->view_keyword_name(v, 0), "$Forwarded");
	cr_assert_str_eq(v->vt->view_keyword_name(v, 1), "Work");
	cr_assert_null(v->vt->view_keyword_name(v, 2));
	cr_assert_eq(v->vt->view_keyword_index(v, "work", false), 1);
	cr_assert_eq(mi.size, 20);
	cr_assert_eq(memcmp(mi.blob->data, "Subject: x\r\n", 12), 0);
	cr_assert_neq(mi.internaldate, 0);
	uimap_store_view_close(&v);
	/* STATUS does not take \Recent, SELECT does */
	cr_assert_eq(user->vt->mailbox_status(user, "Drafts", &st), 0);
	cr_assert_eq(st.recent, 0);
}

static int released;

static void release_cb(void *ctx, const void *data, size_t size)
{
	(void)data;
	(void)size;
	*(int *)ctx += 1;
}

Test(store_mailbox, blobs_shared_and_outlive_expunge)
{
	char *buf = strdup("adopted\r\n");
	struct uimap_append msg = { 0 };
	struct uimap_append_result res;
	struct uimap_store_view *v;
	struct uimap_select_info info;
	struct uimap_msg_info mi;
	struct uimap_copy_result cres;
	struct uimap_blob *held;

	msg.blob = uimap_blob_new_adopt(buf, strlen(buf));
	cr_assert_eq(msg.blob->data, buf, "adopted without copying");
	cr_assert_eq(user->vt->mailbox_append(user, "INBOX", &msg, &res), 0);
	uimap_blob_unref(&msg.blob);

	released = 0;
	msg.blob = uimap_blob_new_custom("custom\r\n", 8, release_cb, &released);
	msg.system_flags = UIMAP_FLAG_DELETED;
	cr_assert_eq(user->vt->mailbox_append(user, "INBOX", &msg, &res), 0);
	uimap_blob_unref(&msg.blob);
	cr_assert_eq(released, 0);

	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
	cr_assert_eq(v->vt->view_copy(v, &(struct uimap_range){ 1, 2 }, 1, "Trash", false, &cres), 0);
	cr_assert_eq(cres.count, 2);
	cr_assert_eq(cres.first_uid, 1);
	/* the output queue holds the custom blob while it is expunged everywhere */
	cr_assert_eq(v->vt->view_msg(v, 2, &mi), 0);
	held = uimap_blob_ref(mi.blob);
	cr_assert_eq(blob_refs(held), 3, "INBOX + Trash + output share one blob");
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 1);
	cr_assert_eq(v->vt->view_sync(v, UIMAP_SYNC_EXPUNGES, NULL, NULL), 0);
	uimap_store_view_close(&v);
	cr_assert_eq(user->vt->view_open(user, "Trash", false, &v, &info), 0);
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 1);
	uimap_store_view_close(&v);
	cr_assert_eq(released, 0);
	cr_assert_eq(memcmp(held->data, "custom\r\n", 8), 0);
	uimap_blob_unref(&held);
	cr_assert_eq(released, 1);
}

/* A DELETE is O(1) for the user; a big mailbox's messages are then freed a slice
   per background() call once a loop drives the store; a view of it still reads
   the messages but can change nothing, and its next sync says it is gone. */
Test(store_mailbox, big_delete_frees_in_slices)
{
	struct uimap_append msg = { 0 };
	struct uimap_append_result res;
	struct uimap_store_view *v, *reader;
	struct uimap_select_info info;
	struct uimap_copy_result cres;
	struct uimap_store_usage usage;
	struct uimap_msg_info mi;
	const struct uimap_flags seen = { .system = UIMAP_FLAG_SEEN };

	cr_assert_not(store->vt->background(store), "nothing to do yet");
	cr_assert_eq(user->vt->mailbox_create(user, "big", 0), 0);
	released = 0;
	msg.blob = uimap_blob_new_custom("custom\r\n", 8, release_cb, &released);
	cr_assert_eq(user->vt->mailbox_append(user, "big", &msg, &res), 0);
	uimap_blob_unref(&msg.blob);
	cr_assert_eq(user->vt->view_open(user, "big", false, &v, &info), 0);
	for (uint32_t n = 1; n < 40000; n *= 2) {
		cr_assert_eq(v->vt->view_copy(v, &(struct uimap_range){ 1, n }, 1, "big", false,
					      &cres), 0);
		cr_assert_eq(v->vt->view_sync(v, UIMAP_SYNC_EXPUNGES, NULL, NULL), 0);
	}
	uimap_store_view_close(&v);
	cr_assert_eq(user->vt->view_open(user, "big", false, &reader, &info), 0);
	cr_assert_eq(info.exists, 65536);

	cr_assert_eq(user->vt->mailbox_delete(user, "big"), 0);
	user->vt->usage(user, &usage);
	cr_assert_eq(usage.messages, 0, "the user gives the messages back at once");
	cr_assert_eq(user->vt->mailbox_status(user, "big", &(struct uimap_status){ 0 }), -ENOENT);
	/* the reader still reads, cannot change, and is told at its next sync */
	cr_assert_eq(reader->vt->view_msg(reader, 65536, &mi), 0);
	cr_assert_eq(memcmp(mi.blob->data, "custom", 6), 0);
	cr_assert_eq(reader->vt->view_store_flags(reader, 1, UIMAP_FLAGS_ADD, &seen, 0, NULL),
		     -ESTALE);
	cr_assert_eq(reader->vt->view_sync(reader, UIMAP_SYNC_EXPUNGES, NULL, NULL), -ENOENT);
	uimap_store_view_close(&reader);
	cr_assert_eq(released, 0, "not freed in one go");
	unsigned turns = 0;
	while (store->vt->background(store))
		turns++;
	cr_assert_geq(turns, 2, "freed over several turns (%u)", turns);
	cr_assert_eq(released, 1, "every copy of the blob was released");
}

struct hook_log {
	unsigned counts[16];
};

static void hook(void *ctx, const struct store_change *ch)
{
	struct hook_log *log = ctx;

	log->counts[ch->type]++;
	cr_assert_not_null(ch->user);
}

Test(store_mailbox, every_mutation_passes_the_hook)
{
	struct hook_log log = { { 0 } };
	struct uimap_store_view *v;
	struct uimap_select_info info;
	struct uimap_copy_result cres;

	store_memory_set_change_hook(store, hook, NULL, &log);
	struct uimap_store_user *carol = t_user(store, "carol");

	cr_assert_eq(log.counts[STORE_CHANGE_USER_CREATE], 1);
	cr_assert_eq(log.counts[STORE_CHANGE_MAILBOX_CREATE], 6);
	cr_assert_eq(carol->vt->mailbox_create(carol, "x/y", 0), 0);
	cr_assert_eq(log.counts[STORE_CHANGE_MAILBOX_CREATE], 8);
	cr_assert_eq(carol->vt->mailbox_subscribe(carol, "x", true), 1);
	cr_assert_eq(carol->vt->mailbox_subscribe(carol, "x", false), 1);
	t_append(carol, "x", "m\r\n", 0);
	cr_assert_eq(carol->vt->view_open(carol, "x", false, &v, &info), 0);
	cr_assert_eq(t_store_flags(v, 1, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(v->vt->view_keyword_index(v, "kw", true), 0);
	cr_assert_eq(v->vt->view_copy(v, &(struct uimap_range){ 1, 1 }, 1, "x/y", false, &cres), 0);
	cr_assert_eq(v->vt->view_expunge(v, NULL, 0), 1);
	uimap_store_view_close(&v);
	cr_assert_eq(carol->vt->mailbox_rename(carol, "x", "z"), 0);
	cr_assert_eq(carol->vt->mailbox_delete(carol, "z/y"), 0);
	cr_assert_eq(log.counts[STORE_CHANGE_SUBSCRIBE], 1);
	cr_assert_eq(log.counts[STORE_CHANGE_UNSUBSCRIBE], 1);
	cr_assert_eq(log.counts[STORE_CHANGE_APPEND], 1);
	cr_assert_eq(log.counts[STORE_CHANGE_COPY], 1);   /* a reference to the source */
	cr_assert_eq(log.counts[STORE_CHANGE_FLAGS], 1);
	cr_assert_eq(log.counts[STORE_CHANGE_KEYWORD], 1);
	cr_assert_eq(log.counts[STORE_CHANGE_EXPUNGE], 1);
	cr_assert_eq(log.counts[STORE_CHANGE_MAILBOX_RENAME], 1);
	cr_assert_eq(log.counts[STORE_CHANGE_MAILBOX_DELETE], 1);
	uimap_store_user_close(&carol);
}

Test(store_mailbox, stats)
{
	struct uimap_store_stats st;

	for (int i = 0; i < 100; i++)
		t_append(user, "INBOX", "0123456789\r\n", 0);
	cr_assert_eq(store->vt->stats(store, &st), 0);
	cr_assert_eq(st.users, 1);
	cr_assert_eq(st.mailboxes, 6);
	cr_assert_eq(st.messages, 100);
	cr_assert_eq(st.message_bytes, 1200);
	cr_assert_gt(st.metadata_per_message, sizeof(struct store_msg));
}
