/* Scale tests: UID/sequence mapping with a million messages, timings and memory per message. */
#include "store-test.h"

#include <time.h>

#define N_MSGS 1000000u

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned expunge_count;
static uint32_t expunge_bad;

/* After "every 10th expunged", the k-th report (0-based) must be seq 9 + 9k + 1:
   uid 10(k+1) sat at seq 10(k+1), minus the k reported before it. */
static void check_expunge(void *ctx, uint32_t seq, uint32_t uid)
{
	(void)ctx;
	if (seq != 9 * expunge_count + 10 || uid != 10 * (expunge_count + 1))
		expunge_bad++;
	expunge_count++;
}

static void check_mapping(struct uimap_store_view *v)
{
	struct uimap_msg_info info;
	uint32_t n = v->vt->view_count(v), seq;

	cr_assert_eq(n, N_MSGS - N_MSGS / 10);
	/* seq -> uid: uids 1..9, 11..19, ... */
	for (uint32_t s = 1; s <= n; s++) {
		uint32_t want = s + (s - 1) / 9;

		if (v->vt->view_msg(v, s, &info) != 0 || info.uid != want)
			cr_assert_fail("seq %u -> uid %u, want %u", s, info.uid, want);
	}
	/* uid -> seq, including the expunged ones */
	for (uint32_t uid = 1; uid <= N_MSGS; uid++) {
		int r = v->vt->view_uid_to_seq(v, uid, &seq);

		if (uid % 10 == 0) {
			if (r != 0)
				cr_assert_fail("expunged uid %u still mapped", uid);
		} else if (r != 1 || seq != uid - uid / 10) {
			cr_assert_fail("uid %u -> seq %u", uid, seq);
		}
	}
}

Test(store_scale, million_messages, .timeout = 300)
{
	struct uimap_store *store = t_store();
	struct uimap_store_user *user = t_user(store, "bulk");
	static const char text[] = "From: a@example.org\r\nSubject: hello\r\n\r\nbody\r\n";
	struct uimap_append msg = { .internaldate = 1700000000 };
	struct uimap_append_result res;
	struct uimap_select_info info;
	struct uimap_store_view *a, *b;
	struct uimap_store_stats st;
	struct uimap_msg_info mi;
	double t0, t_build, t_select, t_lookup, t_walk, t_flags, t_expunge, t_sync;
	uint32_t seq, x = 12345;
	uint64_t sum = 0;

	t0 = now_s();
	for (uint32_t i = 0; i < N_MSGS; i++) {
		msg.blob = uimap_blob_new_copy(text, sizeof(text) - 1);
		cr_assert_eq(user->vt->mailbox_append(user, "INBOX", &msg, &res), 0);
		uimap_blob_unref(&msg.blob);
	}
	t_build = now_s() - t0;
	cr_assert_eq(res.uid, N_MSGS);

	cr_assert_eq(store->vt->stats(store, &st), 0);
	printf("store: %u messages: metadata %.1f MB = %llu bytes/message "
	       "(struct store_msg %zu + blob header %zu + slack); message bytes %.1f MB\n",
	       N_MSGS, (double)st.metadata_bytes / 1e6,
	       (unsigned long long)st.metadata_per_message, sizeof(struct store_msg),
	       sizeof(struct uimap_blob), (double)st.message_bytes / 1e6);

	t0 = now_s();
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &a, &info), 0);
	t_select = now_s() - t0;
	cr_assert_eq(info.exists, N_MSGS);
	cr_assert_eq(info.recent, N_MSGS);
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &b, &info), 0);
	cr_assert_eq(store->vt->stats(store, &st), 0);
	printf("store: with 2 views: %llu bytes/message\n",
	       (unsigned long long)st.metadata_per_message);

	/* 1M random UID -> seq and seq -> message lookups */
	t0 = now_s();
	for (uint32_t i = 0; i < N_MSGS; i++) {
		x = x * 1103515245u + 12345u;
		uint32_t uid = x % N_MSGS + 1;

		cr_assert_eq(a->vt->view_uid_to_seq(a, uid, &seq), 1);
		cr_assert_eq(a->vt->view_msg(a, seq, &mi), 0);
		sum += mi.uid;
	}
	t_lookup = now_s() - t0;
	cr_assert_gt(sum, 0);

	/* FETCH 1:* */
	t0 = now_s();
	for (seq = 1; seq <= N_MSGS; seq++) {
		cr_assert_eq(a->vt->view_msg(a, seq, &mi), 0);
		sum += mi.size;
	}
	t_walk = now_s() - t0;

	/* STORE +FLAGS \Deleted on every 10th, then EXPUNGE */
	t0 = now_s();
	for (seq = 10; seq <= N_MSGS; seq += 10)
		cr_assert_eq(t_store_flags(a, seq, UIMAP_FLAGS_ADD, UIMAP_FLAG_DELETED), 1);
	t_flags = now_s() - t0;
	t0 = now_s();
	cr_assert_eq(a->vt->view_expunge(a, NULL, 0), (int)(N_MSGS / 10));
	t_expunge = now_s() - t0;

	/* B, busy in a FETCH, still sees everything. */
	cr_assert_eq(b->vt->view_sync(b, 0, NULL, NULL), 0);
	cr_assert_eq(b->vt->view_count(b), N_MSGS);
	cr_assert_eq(b->vt->view_msg(b, 10, &mi), 0);
	cr_assert(mi.expunged);

	struct uimap_sync_callbacks cb = { .expunge = check_expunge };

	expunge_count = expunge_bad = 0;
	t0 = now_s();
	cr_assert_eq(a->vt->view_sync(a, UIMAP_SYNC_EXPUNGES, &cb, NULL), 0);
	t_sync = now_s() - t0;
	cr_assert_eq(expunge_count, N_MSGS / 10);
	cr_assert_eq(expunge_bad, 0);
	check_mapping(a);

	expunge_count = expunge_bad = 0;
	cr_assert_eq(b->vt->view_sync(b, UIMAP_SYNC_EXPUNGES, &cb, NULL), 0);
	cr_assert_eq(expunge_count, N_MSGS / 10);
	cr_assert_eq(expunge_bad, 0);
	check_mapping(b);

	cr_assert_eq(store->vt->stats(store, &st), 0);
	cr_assert_eq(st.messages, N_MSGS - N_MSGS / 10);
	/* Every view has passed the expunges: the blobs are released; the 100k dead
	   slots (1/10 of the array) wait for the amortised compaction at 1/8. */
	struct mailbox *box = store_user_find((struct store_user *)user, "INBOX");

	cr_assert_eq(box->n_dead, N_MSGS / 10);
	cr_assert_eq(st.tombstones, N_MSGS / 10);
	cr_assert_eq(st.message_bytes, (uint64_t)(N_MSGS - N_MSGS / 10) * (sizeof(text) - 1));

	printf("store: 1M: build %.0f ms (%.0f ns/append), SELECT %.1f ms, "
	       "random uid->seq->msg %.0f ns/lookup, FETCH 1:* walk %.0f ns/msg, "
	       "STORE %.0f ns/msg, EXPUNGE 100k %.1f ms, sync 100k EXPUNGE %.1f ms\n",
	       t_build * 1e3, t_build * 1e9 / N_MSGS, t_select * 1e3,
	       t_lookup * 1e9 / N_MSGS, t_walk * 1e9 / N_MSGS, t_flags * 1e9 / (N_MSGS / 10),
	       t_expunge * 1e3, t_sync * 1e3);
	fflush(stdout);

	uimap_store_view_close(&a);
	uimap_store_view_close(&b);
	uimap_store_user_close(&user);
	uimap_store_free(&store);
}

Test(store_scale, single_expunges_are_amortised, .timeout = 300)
{
	struct uimap_store *store = t_store();
	struct uimap_store_user *user = t_user(store, "bulk");
	struct uimap_store_view *a;
	struct uimap_select_info info;
	struct uimap_append msg = { .system_flags = UIMAP_FLAG_DELETED };
	struct uimap_append_result res;
	double t0, t;

	msg.blob = uimap_blob_new_copy("x\r\n", 3);
	for (uint32_t i = 0; i < 200000; i++)
		cr_assert_eq(user->vt->mailbox_append(user, "INBOX", &msg, &res), 0);
	uimap_blob_unref(&msg.blob);
	cr_assert_eq(user->vt->view_open(user, "INBOX", false, &a, &info), 0);
	/* 2000 UID EXPUNGEs of the lowest message, each reported right away. */
	t0 = now_s();
	for (uint32_t uid = 1; uid <= 2000; uid++) {
		cr_assert_eq(a->vt->view_expunge(a, &(struct uimap_range){ uid, uid }, 1), 1);
		expunge_count = 0;
		cr_assert_eq(a->vt->view_sync(a, UIMAP_SYNC_EXPUNGES, NULL, NULL), 0);
		cr_assert_eq(t_uid(a, 1), uid + 1);
	}
	t = now_s() - t0;
	printf("store: 200k messages, 2000 single expunges at the front + sync: %.1f us each\n",
	       t * 1e6 / 2000);
	fflush(stdout);
	uimap_store_view_close(&a);
	uimap_store_user_close(&user);
	uimap_store_free(&store);
}
