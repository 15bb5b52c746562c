/* The store's import primitives (uimapctl's offline import): a mailbox given a
   UIDVALIDITY when new or empty, messages with given UIDs and keywords, UIDNEXT. */
#include "store-test.h"

static struct memstore *ms_of(struct uimap_store *s)
{
	return (struct memstore *)s;
}

Test(store_import, new_user_and_mailbox_keep_uids)
{
	struct uimap_store *s = t_store();
	struct mailbox *box;
	bool kept;
	uint32_t uid;
	const char *kws[] = { "$Label1", "Junk" };
	struct uimap_blob *blob = uimap_blob_new_copy("Subject: x\r\n\r\n", 14);

	cr_assert_eq(store_import_mailbox(ms_of(s), "alice", "Old/Mail", 4242, 5, 1000000, &box, &kept), 0);
	cr_assert(kept);
	cr_assert_eq(box->uidvalidity, 4242);
	cr_assert_eq(box->modseq, 1000000, "HIGHESTMODSEQ from the floor");
	cr_assert_str_eq(box->name, "Old/Mail");
	struct store_user *user = store_find_user(ms_of(s), "alice");

	cr_assert_not_null(user);
	cr_assert_not_null(store_user_find(user, "INBOX"), "the user's default mailboxes");
	cr_assert_not_null(store_user_find(user, "Old"), "the parent");
	cr_assert_eq(store_import_append(box, blob, UIMAP_FLAG_SEEN | UIMAP_FLAG_RECENT, kws, 2,
					 1000, 0, 5, &uid), 0);
	cr_assert_eq(uid, 5);
	cr_assert_eq(box->msgs[0].modseq, 1000001);
	cr_assert_eq(store_import_append(box, blob, 0, kws + 1, 1, 2000, 60, 9, &uid), 0);
	cr_assert_eq(uid, 9);
	cr_assert_eq(store_import_append(box, blob, 0, NULL, 0, 3000, 0, 9, &uid), -EINVAL,
		     "UIDs only grow");
	cr_assert_eq(store_import_append(box, blob, 0, NULL, 0, 3000, 0, 0, &uid), 0);
	cr_assert_eq(uid, 10, "0: the next UID");
	const char *bad[] = { "has space" };

	cr_assert_eq(store_import_append(box, blob, 0, bad, 1, 3000, 0, 0, &uid), -EINVAL);
	cr_assert_eq(box->n_live, 3);
	cr_assert_eq(box->msgs[0].flags, UIMAP_FLAG_SEEN, "\\Recent is never stored");
	cr_assert_eq(box->msgs[0].keywords, 3);
	cr_assert_eq(box->msgs[1].keywords, 2);
	cr_assert_eq(box->msgs[1].tz_minutes, 60);
	store_import_uidnext(box, 50);
	cr_assert_eq(box->uidnext, 50);
	store_import_uidnext(box, 20);
	cr_assert_eq(box->uidnext, 50, "never lowered");
	cr_assert_eq(store_import_mailbox(ms_of(s), "alice", "bad*name", 1, 1, 0, &box, &kept),
		     -EINVAL);
	uimap_blob_unref(&blob);
	uimap_store_free(&s);
}

Test(store_import, existing_mailboxes)
{
	struct uimap_store *s = t_store();
	struct uimap_store_user *user = t_user(s, "bob");
	struct mailbox *box, *sent;
	bool kept;
	uint32_t uid;

	/* empty: made anew with the given UIDVALIDITY, its special use kept */
	sent = store_user_find((struct store_user *)user, "Sent");
	cr_assert_eq(store_import_mailbox(ms_of(s), "bob", "Sent", 77, 1, 0, &box, &kept), 0);
	cr_assert(kept);
	cr_assert_eq(box->uidvalidity, 77);
	cr_assert_eq(box->special_use, sent != NULL ? UIMAP_SPECIAL_SENT : 0);
	/* not empty: numbered on, its UIDVALIDITY stays */
	t_append(user, "INBOX", "hello", 0);
	uint32_t inbox_uv = store_user_find((struct store_user *)user, "INBOX")->uidvalidity;

	cr_assert_eq(store_import_mailbox(ms_of(s), "bob", "inbox", 88, 1, 5000, &box, &kept), 0);
	cr_assert_not(kept);
	cr_assert_eq(box->uidvalidity, inbox_uv);
	cr_assert_lt(box->modseq, 5000, "not kept: its HIGHESTMODSEQ goes on as it was");
	/* empty with that UIDVALIDITY already: only when no UID at or above first_uid
	   was handed out */
	cr_assert_eq(store_import_append(box, box->msgs[0].blob, 0, NULL, 0, 1, 0, 0, &uid), 0);
	cr_assert_eq(user->vt->mailbox_create(user, "Box", 0), 0);
	struct mailbox *b = store_user_find((struct store_user *)user, "Box");
	uint32_t uv = b->uidvalidity;

	b->uidnext = 30;   /* as if messages had been expunged */
	cr_assert_eq(store_import_mailbox(ms_of(s), "bob", "Box", uv, 10, 0, &box, &kept), 0);
	cr_assert_not(kept);
	cr_assert_eq(store_import_mailbox(ms_of(s), "bob", "Box", uv, 30, 0, &box, &kept), 0);
	cr_assert(kept);
	cr_assert_eq(box->uidvalidity, uv);
	uimap_store_user_close(&user);
	uimap_store_free(&s);
}
