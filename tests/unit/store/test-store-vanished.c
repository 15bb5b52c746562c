/* Unit tests for the expunge history (src/store/vanished.c): UID ranges with their
   mod-sequences, joined as messages go, bounded by the live messages, answered through
   the view's view_vanished(). */
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
	user->vt->user_close(user);
	uimap_store_free(&store);
}

TestSuite(store_vanished, .init = setup, .fini = teardown);

struct collected {
	char text[4096];
	size_t len;
};

static void collect(void *ctx, uint32_t lo, uint32_t hi)
{
	struct collected *c = ctx;
	c->len += (size_t)snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s%u:%u",
				   c->len ? "," : "", lo, hi);
}

static struct uimap_store_view *open_inbox(void)
{
	struct uimap_store_view *v;
	struct uimap_select_info info;
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &v, &info), 0);
	return v;
}

/* Expunge the messages with these UIDs through the view. */
static void expunge(struct uimap_store_view *v, const uint32_t *uids, size_t n)
{
	const struct uimap_flags del = { .system = UIMAP_FLAG_DELETED };
	struct uimap_range r[64];
	for (size_t i = 0; i < n; i++) {
		uint32_t seq;
		cr_assert_eq(v->vt->view_uid_to_seq(v, uids[i], &seq), 1);
		cr_assert_geq(v->vt->view_store_flags(v, seq, UIMAP_FLAGS_ADD, &del, 0, NULL), 0);
		r[i] = (struct uimap_range){ uids[i], uids[i] };
	}
	cr_assert_eq(v->vt->view_expunge(v, r, n), (int)n);
	cr_assert_eq(v->vt->view_sync(v, UIMAP_SYNC_EXPUNGES, NULL, NULL), 0);
}

static const char *since(struct uimap_store_view *v, uint64_t modseq,
			 const struct uimap_range *uids, size_t n, struct collected *c)
{
	memset(c, 0, sizeof(*c));
	cr_assert_eq(v->vt->view_vanished(v, modseq, uids, n, collect, c), 0);
	return c->text;
}

static struct mailbox *inbox(void)
{
	return store_user_find((struct store_user *)user, "INBOX");
}

Test(store_vanished, ranges_join_in_any_order)
{
	for (int i = 0; i < 10; i++)
		t_append(user, "INBOX", "Subject: x\r\n\r\nbody", 0);
	struct uimap_store_view *v = open_inbox();
	struct collected c;
	/* 5, then 3, then 4: three singles become one range */
	expunge(v, (const uint32_t[]){ 5 }, 1);
	expunge(v, (const uint32_t[]){ 3 }, 1);
	cr_assert_str_eq(since(v, 0, NULL, 0, &c), "3:3,5:5");
	expunge(v, (const uint32_t[]){ 4 }, 1);
	cr_assert_str_eq(since(v, 0, NULL, 0, &c), "3:5");
	cr_assert_eq(inbox()->n_vanished, 1);
	expunge(v, (const uint32_t[]){ 9, 10 }, 2);
	cr_assert_str_eq(since(v, 0, NULL, 0, &c), "3:5,9:10");
	v->vt->view_close(v);
}

Test(store_vanished, since_a_modseq_and_within_uids)
{
	for (int i = 0; i < 10; i++)
		t_append(user, "INBOX", "Subject: x\r\n\r\nbody", 0);
	struct uimap_store_view *v = open_inbox();
	struct collected c;
	expunge(v, (const uint32_t[]){ 2 }, 1);
	uint64_t mid = inbox()->modseq;
	expunge(v, (const uint32_t[]){ 7, 8 }, 2);
	cr_assert_str_eq(since(v, mid, NULL, 0, &c), "7:8", "only what went after mid");
	cr_assert_str_eq(since(v, 0, NULL, 0, &c), "2:2,7:8");
	cr_assert_str_eq(since(v, inbox()->modseq, NULL, 0, &c), "", "nothing after the last");
	const struct uimap_range within[] = { { 1, 2 }, { 8, 20 } };
	cr_assert_str_eq(since(v, 0, within, 2, &c), "2:2,8:8");
	/* a range whose newest expunge is after mid is answered whole (a superset) */
	expunge(v, (const uint32_t[]){ 3 }, 1);
	cr_assert_str_eq(since(v, mid, NULL, 0, &c), "2:3,7:8");
	v->vt->view_close(v);
}

Test(store_vanished, bounded_by_live_messages)
{
	/* every other message goes, then the rest but one: ranges never exceed live + 1 */
	for (int i = 0; i < 200; i++)
		t_append(user, "INBOX", "Subject: x\r\n\r\nbody", 0);
	struct uimap_store_view *v = open_inbox();
	for (uint32_t u = 2; u <= 200; u += 2) {
		expunge(v, &u, 1);
		cr_assert_leq(inbox()->n_vanished, inbox()->n_live + 1);
	}
	cr_assert_eq(inbox()->n_vanished, 100);
	for (uint32_t u = 3; u <= 199; u += 2) {
		expunge(v, &u, 1);
		cr_assert_leq(inbox()->n_vanished, inbox()->n_live + 1);
	}
	cr_assert_eq(inbox()->n_vanished, 1, "2..200 is one range");
	struct collected c;
	cr_assert_str_eq(since(v, 0, NULL, 0, &c), "2:200");
	v->vt->view_close(v);
}

Test(store_vanished, rebuilt_from_gaps)
{
	for (int i = 0; i < 6; i++)
		t_append(user, "INBOX", "Subject: x\r\n\r\nbody", 0);
	struct uimap_store_view *v = open_inbox();
	expunge(v, (const uint32_t[]){ 1, 4 }, 2);
	expunge(v, (const uint32_t[]){ 6 }, 1);
	struct collected c;
	/* what a snapshot load does: the missing UIDs, at the mailbox's HIGHESTMODSEQ */
	mailbox_vanished_rebuild(inbox(), 50);
	cr_assert_str_eq(since(v, 49, NULL, 0, &c), "1:1,4:4,6:6");
	cr_assert_str_eq(since(v, 50, NULL, 0, &c), "");
	/* an expunge replayed after the load joins the rebuilt ranges */
	expunge(v, (const uint32_t[]){ 5 }, 1);
	cr_assert_str_eq(since(v, 0, NULL, 0, &c), "1:1,4:6");
	v->vt->view_close(v);
}
