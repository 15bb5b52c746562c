/* Unit tests for views: \Recent, and what concurrent sessions learn (RFC 3501 5.2, 7.4.1). */
#include "store-test.h"

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

TestSuite(store_view, .init = setup, .fini = teardown);

static struct uimap_store_view *t_open(const char *box, bool readonly,
				       struct uimap_select_info *info)
{
	struct uimap_store_view *v = NULL;
	struct uimap_select_info dummy;

	cr_assert_eq(user->vt->view_open(user, box, readonly, &v, info ? info : &dummy), 0);
	return v;
}

static void t_fill(const char *box, int n)
{
	for (int i = 0; i < n; i++) {
		char text[64];

		snprintf(text, sizeof(text), "Subject: %d\r\n\r\nbody %d\r\n", i + 1, i + 1);
		t_append(user, box, text, 0);
	}
}

static bool t_recent(struct uimap_store_view *v, uint32_t seq)
{
	struct uimap_msg_info info;

	cr_assert_eq(v->vt->view_msg(v, seq, &info), 0);
	return (info.flags.system & UIMAP_FLAG_RECENT) != 0;
}

Test(store_view, recent_belongs_to_one_session)
{
	struct uimap_select_info ia, ib, ic;
	struct t_sync s;

	t_fill("INBOX", 2);
	struct uimap_store_view *a = t_open("INBOX", false, &ia);
	struct uimap_store_view *b = t_open("INBOX", false, &ib);

	cr_assert_eq(ia.exists, 2);
	cr_assert_eq(ia.recent, 2);
	cr_assert_eq(ib.exists, 2);
	cr_assert_eq(ib.recent, 0);
	cr_assert(t_recent(a, 1) && t_recent(a, 2));
	cr_assert(!t_recent(b, 1) && !t_recent(b, 2));

	/* A message arriving while both have it selected: recent in the one that
	   learns of it first. */
	t_fill("INBOX", 1);
	cr_assert_str_eq(t_sync(b, UIMAP_SYNC_EXPUNGES, &s), "X3/1 ");
	cr_assert_str_eq(t_sync(a, UIMAP_SYNC_EXPUNGES, &s), "X3/2 ");
	cr_assert(t_recent(b, 3));
	cr_assert(!t_recent(a, 3));

	/* EXAMINE never takes \Recent but shows what nobody has taken yet. */
	t_fill("INBOX", 1);
	struct uimap_store_view *c = t_open("INBOX", true, &ic);

	cr_assert_eq(ic.exists, 4);
	cr_assert_eq(ic.recent, 1);
	cr_assert(t_recent(c, 4));
	cr_assert_str_eq(t_sync(a, 0, &s), "X4/3 ");
	cr_assert(t_recent(a, 4));
	cr_assert(!t_recent(c, 4));
	cr_assert_str_eq(t_sync(b, 0, &s), "X4/1 ");
	cr_assert(!t_recent(b, 4));

	/* Reselecting does not bring \Recent back. */
	uimap_store_view_close(&a);
	a = t_open("INBOX", false, &ia);
	cr_assert_eq(ia.recent, 0);

	/* A recent message that is expunged no longer counts. */
	t_fill("INBOX", 2);
	cr_assert_str_eq(t_sync(a, 0, &s), "X6/2 ");
	cr_assert_eq(t_store_flags(a, 6, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(a->vt->view_expunge(a, NULL, 0), 1);
	cr_assert_str_eq(t_sync(a, UIMAP_SYNC_EXPUNGES, &s), "E6 ");
	t_fill("INBOX", 1);
	cr_assert_str_eq(t_sync(a, UIMAP_SYNC_EXPUNGES, &s), "X6/2 ");
	uimap_store_view_close(&a);
	uimap_store_view_close(&b);
	uimap_store_view_close(&c);
}

Test(store_view, appending_session_is_told_exists)
{
	struct t_sync s;
	struct uimap_store_view *a = t_open("INBOX", false, NULL);

	cr_assert_eq(a->vt->view_count(a), 0);
	t_fill("INBOX", 1);
	cr_assert_eq(a->vt->view_count(a), 0, "nothing changes before the sync");
	cr_assert_str_eq(t_sync(a, 0, &s), "X1/1 ");
	cr_assert_str_eq(t_sync(a, 0, &s), "");
	uimap_store_view_close(&a);
}

Test(store_view, expunges_wait_until_allowed)
{
	struct t_sync s;
	struct uimap_msg_info info;

	t_fill("INBOX", 5);
	struct uimap_store_view *a = t_open("INBOX", false, NULL);
	struct uimap_store_view *b = t_open("INBOX", false, NULL);

	cr_assert_eq(t_store_flags(a, 2, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(t_store_flags(a, 4, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(a->vt->view_expunge(a, NULL, 0), 2);
	/* RFC 3501 7.4.1: running numbers, each EXPUNGE shifts the later ones. */
	cr_assert_str_eq(t_sync(a, UIMAP_SYNC_EXPUNGES, &s), "E2 E3 ");
	cr_assert_eq(a->vt->view_count(a), 3);
	cr_assert_eq(t_uid(a, 1), 1);
	cr_assert_eq(t_uid(a, 2), 3);
	cr_assert_eq(t_uid(a, 3), 5);

	/* B is inside a FETCH: nothing moves, the expunged messages stay readable. */
	cr_assert_str_eq(t_sync(b, 0, &s), "");
	cr_assert_eq(b->vt->view_count(b), 5);
	cr_assert_eq(b->vt->view_msg(b, 2, &info), 0);
	cr_assert(info.expunged);
	cr_assert_eq(info.uid, 2);
	cr_assert_eq(memcmp(info.blob->data, "Subject: 2\r\n", 12), 0);
	cr_assert_eq(t_store_flags(b, 2, UIMAP_FLAGS_ADD, UIMAP_FLAG_SEEN), -ESTALE);
	cr_assert_eq(b->vt->view_msg(b, 3, &info), 0);
	cr_assert_not(info.expunged);

	/* A new message meanwhile: EXISTS counts the not yet expunged ones. */
	t_fill("INBOX", 1);
	cr_assert_str_eq(t_sync(b, 0, &s), "X6/1 ", "B saw it first: B's \\Recent");
	cr_assert_str_eq(t_sync(b, UIMAP_SYNC_EXPUNGES, &s), "E2 E3 ");
	cr_assert_eq(b->vt->view_count(b), 4);
	cr_assert_eq(t_uid(b, 4), 6);
	cr_assert_str_eq(t_sync(a, UIMAP_SYNC_EXPUNGES, &s), "X4/3 ");
	uimap_store_view_close(&a);
	uimap_store_view_close(&b);
}

Test(store_view, expunges_from_several_batches_are_ordered)
{
	struct t_sync s;

	t_fill("INBOX", 6);
	struct uimap_store_view *a = t_open("INBOX", false, NULL);
	struct uimap_store_view *b = t_open("INBOX", false, NULL);

	/* UID EXPUNGE of 5 first, then of 2: B still reports in ascending order. */
	cr_assert_eq(t_store_flags(a, 5, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(t_store_flags(a, 2, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(t_store_flags(a, 6, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(a->vt->view_expunge(a, &(struct uimap_range){ 5, 5 }, 1), 1);
	cr_assert_eq(a->vt->view_expunge(a, &(struct uimap_range){ 1, 3 }, 1), 1);
	/* ...then the \Deleted flag of uid 6, now seq 4 */
	cr_assert_str_eq(t_sync(b, UIMAP_SYNC_EXPUNGES, &s), "E2 E4 F4:8 ");
	cr_assert_eq(b->vt->view_count(b), 4);
	cr_assert_eq(t_uid(b, 4), 6);
	/* uid 6 is \Deleted but outside both UID EXPUNGE sets */
	cr_assert_str_eq(t_sync(a, UIMAP_SYNC_EXPUNGES, &s), "E2 E4 ");
	cr_assert_eq(a->vt->view_expunge(a, NULL, 0), 1);
	cr_assert_str_eq(t_sync(a, UIMAP_SYNC_EXPUNGES, &s), "E4 ");
	uimap_store_view_close(&a);
	uimap_store_view_close(&b);
}

Test(store_view, flag_changes_reach_other_views)
{
	struct t_sync s;
	struct uimap_msg_info info;
	struct uimap_flags f = { .system = UIMAP_FLAG_SEEN };

	t_fill("INBOX", 3);
	struct uimap_store_view *a = t_open("INBOX", false, NULL);
	struct uimap_store_view *b = t_open("INBOX", false, NULL);

	cr_assert_eq(a->vt->view_store_flags(a, 1, UIMAP_FLAGS_ADD, &f, 0, &info), 1);
	cr_assert_eq(info.flags.system, UIMAP_FLAG_SEEN | UIMAP_FLAG_RECENT);
	cr_assert_eq(a->vt->view_store_flags(a, 1, UIMAP_FLAGS_ADD, &f, 0, &info), 0,
		     "no change");
	cr_assert_str_eq(t_sync(b, 0, &s), "F1:1 ");
	cr_assert_str_eq(t_sync(a, 0, &s), "", "a session's own STORE is not echoed");
	cr_assert_str_eq(t_sync(b, 0, &s), "");

	/* Several changes to one message: reported once, with the final flags. */
	cr_assert_eq(t_store_flags(a, 2, UIMAP_FLAGS_ADD, UIMAP_FLAG_FLAGGED), 1);
	cr_assert_eq(t_store_flags(a, 2, UIMAP_FLAGS_ADD, UIMAP_FLAG_ANSWERED), 1);
	cr_assert_eq(t_store_flags(a, 3, UIMAP_FLAGS_SET, UIMAP_FLAG_DRAFT), 1);
	cr_assert_str_eq(t_sync(b, 0, &s), "F2:6 F3:10 ");

	/* B changes what A changed: A hears of it. */
	cr_assert_eq(t_store_flags(b, 2, UIMAP_FLAGS_REMOVE, UIMAP_FLAG_FLAGGED), 1);
	cr_assert_str_eq(t_sync(a, 0, &s), "F2:22 ", "ANSWERED plus A's \\Recent");
	/* A changes after B: B hears only the last, A nothing. */
	cr_assert_eq(t_store_flags(b, 3, UIMAP_FLAGS_ADD, UIMAP_FLAG_SEEN), 1);
	cr_assert_eq(t_store_flags(a, 3, UIMAP_FLAGS_ADD, UIMAP_FLAG_FLAGGED), 1);
	cr_assert_str_eq(t_sync(a, 0, &s), "");
	cr_assert_str_eq(t_sync(b, 0, &s), "F3:15 ");

	/* CONDSTORE's UNCHANGEDSINCE */
	cr_assert_eq(b->vt->view_msg(b, 1, &info), 0);
	cr_assert_eq(b->vt->view_store_flags(b, 1, UIMAP_FLAGS_ADD, &f, info.modseq - 1, NULL),
		     -ECANCELED);
	f.system = UIMAP_FLAG_DELETED;
	cr_assert_eq(b->vt->view_store_flags(b, 1, UIMAP_FLAGS_ADD, &f, info.modseq, NULL), 1);
	uimap_store_view_close(&a);
	uimap_store_view_close(&b);
}

Test(store_view, no_flags_for_unannounced_messages)
{
	struct t_sync s;

	t_fill("INBOX", 2);
	struct uimap_store_view *a = t_open("INBOX", false, NULL);
	struct uimap_store_view *b = t_open("INBOX", false, NULL);

	t_fill("INBOX", 1);
	cr_assert_str_eq(t_sync(a, 0, &s), "X3/3 ");
	cr_assert_eq(t_store_flags(a, 3, UIMAP_FLAGS_ADD, UIMAP_FLAG_FLAGGED), 1);
	/* B learns of message 3 with EXISTS before any FETCH about it. */
	cr_assert_str_eq(t_sync(b, 0, &s), "X3/0 F3:4 ");

	/* A message flagged and expunged before B hears of it never reaches B. */
	t_fill("INBOX", 1);
	cr_assert_str_eq(t_sync(a, 0, &s), "X4/4 ");
	cr_assert_eq(t_store_flags(a, 4, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(a->vt->view_expunge(a, NULL, 0), 1);
	cr_assert_str_eq(t_sync(b, 0, &s), "");
	cr_assert_str_eq(t_sync(b, UIMAP_SYNC_EXPUNGES, &s), "");
	cr_assert_eq(b->vt->view_count(b), 3);
	uimap_store_view_close(&a);
	uimap_store_view_close(&b);
}

Test(store_view, keywords_announced)
{
	struct t_sync s;
	struct uimap_flags f = { 0 };
	int k;

	t_fill("INBOX", 1);
	struct uimap_store_view *a = t_open("INBOX", false, NULL);
	struct uimap_store_view *b = t_open("INBOX", false, NULL);
	struct uimap_store_view *ro = t_open("INBOX", true, NULL);

	cr_assert_eq(a->vt->view_keyword_index(a, "$Label1", false), -ENOENT);
	k = a->vt->view_keyword_index(a, "$Label1", true);
	cr_assert_eq(k, 0);
	cr_assert_eq(a->vt->view_keyword_index(a, "$label1", true), 0);
	cr_assert_eq(a->vt->view_keyword_index(a, "\\Seen", true), -EINVAL);
	cr_assert_eq(a->vt->view_keyword_index(a, "a b", true), -EINVAL);
	cr_assert_eq(ro->vt->view_keyword_index(ro, "New", true), -EROFS);
	cr_assert_eq(ro->vt->view_keyword_index(ro, "$Label1", true), 0);
	f.keywords = 1ull << k;
	cr_assert_eq(a->vt->view_store_flags(a, 1, UIMAP_FLAGS_ADD, &f, 0, NULL), 1);
	f.keywords = 1ull << 5;
	cr_assert_eq(a->vt->view_store_flags(a, 1, UIMAP_FLAGS_ADD, &f, 0, NULL), -EINVAL);
	cr_assert_str_eq(t_sync(b, 0, &s), "K F1:0 ");
	cr_assert_eq(s.n_keywords, 1);

	/* the table is bounded */
	for (int i = 1; i < UIMAP_STORE_MAX_KEYWORDS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "kw%d", i);
		cr_assert_eq(a->vt->view_keyword_index(a, name, true), i);
	}
	cr_assert_eq(a->vt->view_keyword_index(a, "one-too-many", true), -ENOSPC);
	uimap_store_view_close(&a);
	uimap_store_view_close(&b);
	uimap_store_view_close(&ro);
}

Test(store_view, read_only_view)
{
	struct uimap_copy_result cres;

	t_fill("INBOX", 2);
	struct uimap_store_view *ro = t_open("INBOX", true, NULL);

	cr_assert_eq(t_store_flags(ro, 1, UIMAP_FLAGS_ADD, UIMAP_FLAG_SEEN), -EROFS);
	cr_assert_eq(ro->vt->view_expunge(ro, NULL, 0), -EROFS);
	cr_assert_eq(ro->vt->view_copy(ro, &(struct uimap_range){ 1, 2 }, 1, "Trash", true, &cres),
		     -EROFS);
	cr_assert_eq(ro->vt->view_copy(ro, &(struct uimap_range){ 1, 2 }, 1, "Trash", false, &cres),
		     0);
	cr_assert_eq(cres.count, 2);
	uimap_store_view_close(&ro);
}

static unsigned wakes;

static void on_wake(void *ctx)
{
	(void)ctx;
	wakes++;
}

Test(store_view, wake_hook_fires_once_per_sync)
{
	struct t_sync s;

	t_fill("INBOX", 2);
	struct uimap_store_view *a = t_open("INBOX", false, NULL);
	struct uimap_store_view *b = t_open("INBOX", false, NULL);
	struct uimap_store_view *other = t_open("Trash", false, NULL);

	wakes = 0;
	b->vt->view_set_wake(b, on_wake, NULL);
	a->vt->view_set_wake(a, on_wake, NULL);
	other->vt->view_set_wake(other, on_wake, NULL);
	cr_assert_eq(t_store_flags(a, 1, UIMAP_FLAGS_ADD, UIMAP_FLAG_SEEN), 1);
	cr_assert_eq(wakes, 1, "B only: not the origin, not another mailbox");
	cr_assert_eq(t_store_flags(a, 2, UIMAP_FLAGS_ADD, UIMAP_FLAG_SEEN), 1);
	cr_assert_eq(wakes, 1, "already pending");
	t_sync(b, 0, &s);
	t_fill("INBOX", 1);
	cr_assert_eq(wakes, 3, "B again, and A for the APPEND");
	b->vt->view_set_wake(b, NULL, NULL);
	uimap_store_view_close(&a);
	uimap_store_view_close(&b);
	uimap_store_view_close(&other);
}

Test(store_view, uid_lookups)
{
	struct uimap_range r;
	uint32_t seq;

	t_fill("INBOX", 10);
	struct uimap_store_view *a = t_open("INBOX", false, NULL);
	struct t_sync s;

	for (uint32_t seqn = 2; seqn <= 10; seqn += 2)
		cr_assert_eq(t_store_flags(a, seqn, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(a->vt->view_expunge(a, NULL, 0), 5);
	t_sync(a, UIMAP_SYNC_EXPUNGES, &s);
	cr_assert_str_eq(s.out, "E2 E3 E4 E5 E6 ");
	/* uids 1 3 5 7 9 */
	cr_assert_eq(a->vt->view_uid_to_seq(a, 7, &seq), 1);
	cr_assert_eq(seq, 4);
	cr_assert_eq(a->vt->view_uid_to_seq(a, 8, &seq), 0);
	cr_assert_eq(a->vt->view_uid_range(a, (struct uimap_range){ 2, 7 }, &r), 1);
	cr_assert_eq(r.lo, 2);
	cr_assert_eq(r.hi, 4);
	cr_assert_eq(a->vt->view_uid_range(a, (struct uimap_range){ 9, UINT32_MAX }, &r), 1);
	cr_assert_eq(r.lo, 5);
	cr_assert_eq(r.hi, 5);
	cr_assert_eq(a->vt->view_uid_range(a, (struct uimap_range){ 10, 100 }, &r), 0);
	cr_assert_eq(a->vt->view_uid_range(a, (struct uimap_range){ 4, 4 }, &r), 0);
	cr_assert_eq(a->vt->view_msg(a, 0, &(struct uimap_msg_info){ 0 }), -EINVAL);
	cr_assert_eq(a->vt->view_msg(a, 6, &(struct uimap_msg_info){ 0 }), -EINVAL);
	uimap_store_view_close(&a);
}

Test(store_view, copy_and_move)
{
	struct t_sync s;
	struct uimap_copy_result res;
	struct uimap_msg_info info;
	struct uimap_flags f = { .system = UIMAP_FLAG_FLAGGED };

	t_fill("INBOX", 4);
	struct uimap_store_view *a = t_open("INBOX", false, NULL);
	struct uimap_store_view *t = t_open("Trash", false, NULL);

	cr_assert_eq(t->vt->view_keyword_index(t, "Other", true), 0);
	int k = a->vt->view_keyword_index(a, "Work", true);

	f.keywords = 1ull << k;
	cr_assert_eq(a->vt->view_store_flags(a, 2, UIMAP_FLAGS_ADD, &f, 0, NULL), 1);
	cr_assert_eq(a->vt->view_copy(a, (struct uimap_range[]){ { 1, 2 }, { 4, 4 } }, 2, "trash",
				      false, &res), -ENOENT, "names are case-sensitive");
	cr_assert_eq(a->vt->view_copy(a, (struct uimap_range[]){ { 1, 2 }, { 4, 4 } }, 2, "Trash",
				      false, &res), 0);
	cr_assert_eq(res.count, 3);
	cr_assert_eq(res.first_uid, 1);
	cr_assert_eq(a->vt->view_copy(a, &(struct uimap_range){ 1, 9 }, 1, "Trash", false, &res),
		     -EINVAL);
	cr_assert_eq(a->vt->view_copy(a, &(struct uimap_range){ 1, 1 }, 1, "Nope", false, &res),
		     -ENOENT);
	cr_assert_str_eq(t_sync(t, 0, &s), "K X3/3 ");
	cr_assert_eq(t->vt->view_msg(t, 2, &info), 0);
	cr_assert_eq(info.flags.system, UIMAP_FLAG_FLAGGED | UIMAP_FLAG_RECENT);
	cr_assert_str_eq(t->vt->view_keyword_name(t, 1), "Work");
	cr_assert_eq(info.flags.keywords, 2, "mapped by name to the target's table");
	cr_assert_eq(info.internaldate, 1700000000);
	cr_assert_eq(info.tz_minutes, 60);

	/* MOVE: the target learns EXISTS, the source EXPUNGEs. */
	cr_assert_eq(a->vt->view_copy(a, &(struct uimap_range){ 2, 3 }, 1, "Trash", true, &res), 0);
	cr_assert_eq(res.first_uid, 4);
	cr_assert_eq(res.count, 2);
	/* A created "Work" itself: it is told to resend FLAGS too. */
	cr_assert_str_eq(t_sync(a, UIMAP_SYNC_EXPUNGES, &s), "E2 E2 K ");
	cr_assert_str_eq(t_sync(t, 0, &s), "X5/5 ");
	/* COPY into the mailbox itself */
	cr_assert_eq(a->vt->view_copy(a, &(struct uimap_range){ 1, 2 }, 1, "INBOX", false, &res), 0);
	cr_assert_eq(res.first_uid, 5);
	cr_assert_str_eq(t_sync(a, UIMAP_SYNC_EXPUNGES, &s), "X4/4 ");
	cr_assert_eq(t_uid(a, 4), 6);
	uimap_store_view_close(&a);
	uimap_store_view_close(&t);
}

Test(store_view, deleted_and_renamed_selected_mailbox)
{
	struct t_sync s;
	struct uimap_status st;

	cr_assert_eq(user->vt->mailbox_create(user, "x", 0), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "y/sub", 0), 0);
	t_fill("x", 2);
	t_fill("y", 2);
	struct uimap_store_view *a = t_open("x", false, NULL);
	struct uimap_store_view *b = t_open("y", false, NULL);

	/* RENAME keeps the view working under the new name. */
	cr_assert_eq(user->vt->mailbox_rename(user, "x", "z"), 0);
	t_fill("z", 1);
	cr_assert_str_eq(t_sync(a, UIMAP_SYNC_EXPUNGES, &s), "X3/3 ");

	/* DELETE: views keep reading what they had, are told -ENOENT at every sync
	   (no expunges: the session goes), and can change nothing. */
	cr_assert_eq(user->vt->mailbox_delete(user, "z"), 0);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(a->vt->view_sync(a, 0, t_callbacks(), &s), -ENOENT);
	cr_assert_eq(a->vt->view_sync(a, UIMAP_SYNC_EXPUNGES, t_callbacks(), &s), -ENOENT);
	cr_assert_str_eq(s.out, "");
	cr_assert_eq(a->vt->view_count(a), 3, "still readable");
	struct uimap_msg_info mi;
	cr_assert_eq(a->vt->view_msg(a, 3, &mi), 0);
	cr_assert_eq(a->vt->view_expunge(a, NULL, 0), 0);
	/* a new mailbox with the old name is a new incarnation */
	cr_assert_eq(user->vt->mailbox_create(user, "z", 0), 0);
	t_fill("z", 1);
	cr_assert_eq(a->vt->view_sync(a, UIMAP_SYNC_EXPUNGES, t_callbacks(), &s), -ENOENT);
	cr_assert_str_eq(s.out, "");
	cr_assert_eq(user->vt->mailbox_status(user, "z", &st), 0);
	cr_assert_eq(st.messages, 1);
	uimap_store_view_close(&a);

	/* DELETE of a mailbox with children: \Noselect, a different incarnation */
	cr_assert_eq(user->vt->mailbox_delete(user, "y"), 0);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(b->vt->view_sync(b, UIMAP_SYNC_EXPUNGES, t_callbacks(), &s), -ENOENT);
	cr_assert_str_eq(s.out, "");
	cr_assert_eq(user->vt->mailbox_create(user, "y", 0), 0);
	cr_assert_eq(user->vt->mailbox_status(user, "y", &st), 0);
	cr_assert_eq(st.messages, 0);
	uimap_store_view_close(&b);

	/* RENAME INBOX: INBOX's views see its messages go */
	t_fill("INBOX", 2);
	struct uimap_store_view *c = t_open("INBOX", false, NULL);

	cr_assert_eq(user->vt->mailbox_rename(user, "INBOX", "Saved"), 0);
	cr_assert_str_eq(t_sync(c, UIMAP_SYNC_EXPUNGES, &s), "E1 E1 ");
	t_fill("INBOX", 1);
	cr_assert_str_eq(t_sync(c, UIMAP_SYNC_EXPUNGES, &s), "X1/1 ");
	uimap_store_view_close(&c);
}

Test(store_view, tombstones_released_when_last_view_moves_on)
{
	struct t_sync s;
	struct uimap_store_stats st;

	t_fill("INBOX", 100);
	struct uimap_store_view *a = t_open("INBOX", false, NULL);
	struct uimap_store_view *b = t_open("INBOX", false, NULL);

	for (uint32_t seq = 1; seq <= 100; seq++)
		cr_assert_eq(t_store_flags(a, seq, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(a->vt->view_expunge(a, NULL, 0), 100);
	t_sync(a, UIMAP_SYNC_EXPUNGES, &s);
	cr_assert_eq(s.n_expunge, 100);
	cr_assert_eq(store->vt->stats(store, &st), 0);
	cr_assert_eq(st.tombstones, 100, "B still shows them");
	t_sync(b, UIMAP_SYNC_EXPUNGES, &s);
	cr_assert_eq(s.n_expunge, 100);
	cr_assert_eq(s.n_flags, 0, "flags of expunged messages are not reported");
	cr_assert_eq(store->vt->stats(store, &st), 0);
	cr_assert_eq(st.tombstones, 0);
	uimap_store_view_close(&a);
	uimap_store_view_close(&b);
}

static int collect_uid(void *ctx, const struct uimap_msg_info *info)
{
	char *out = ctx, item[16];

	snprintf(item, sizeof(item), "%u:%u ", info->seq, info->uid);
	strcat(out, item);
	return info->uid == 9 ? 7 : 0;
}

Test(store_view, foreach_over_sets)
{
	char out[256] = "";
	struct t_sync s;

	t_fill("INBOX", 10);
	struct uimap_store_view *a = t_open("INBOX", false, NULL);

	for (uint32_t seq = 1; seq <= 10; seq += 3)
		cr_assert_eq(t_store_flags(a, seq, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	cr_assert_eq(a->vt->view_expunge(a, NULL, 0), 4);
	t_sync(a, UIMAP_SYNC_EXPUNGES, &s);
	/* uids 2 3 5 6 8 9 */
	cr_assert_eq(uimap_store_view_foreach(a, (struct uimap_range[]){ { 1, 2 }, { 5, 99 } }, 2,
					      false, collect_uid, out), 7, "stopped by uid 9");
	cr_assert_str_eq(out, "1:2 2:3 5:8 6:9 ");
	out[0] = '\0';
	cr_assert_eq(uimap_store_view_foreach(a, (struct uimap_range[]){ { 1, 4 }, { 7, UINT32_MAX } },
					      2, true, collect_uid, out), 7);
	cr_assert_str_eq(out, "1:2 2:3 5:8 6:9 ");
	uimap_store_view_close(&a);
}
