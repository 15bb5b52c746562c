/* A session's view of a selected mailbox: its sequence numbers, \Recent and sync. */
#include "store/memstore.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct store_view *view_of(struct uimap_store_view *pub)
{
	return (struct store_view *)pub;
}

/* Index of the first uid >= uid in a sorted array. */
static uint32_t uids_lower_bound(const uint32_t *uids, uint32_t n, uint32_t uid)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void view_reserve(struct store_view *v, uint32_t extra)
{
	if ((uint64_t)v->n + extra <= v->cap)
		return;
	uint64_t cap = v->cap == 0 ? 16 : v->cap;

	while (cap < (uint64_t)v->n + extra)
		cap *= 2;
	/* a mailbox holds fewer than 2^32 messages (UIDs are 32-bit) */
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	v->uids = xrealloc(v->uids, cap * sizeof(*v->uids));
	v->cap = (uint32_t)cap;
}

/* Take \Recent for uids [lo, hi) (RFC 3501 2.3.2: one session only). */
static void view_claim_recent(struct store_view *v, uint32_t lo, uint32_t hi)
{
	struct mailbox *box = v->box;

	if (lo >= hi)
		return;
	box->first_recent_uid = hi;
	uint32_t count = uids_lower_bound(v->uids, v->n, hi) -
			 uids_lower_bound(v->uids, v->n, lo);

	if (count == 0)
		return;
	v->n_recent += count;
	if (v->n_recent_ranges > 0 && v->recent[v->n_recent_ranges - 1].hi + 1 == lo) {
		v->recent[v->n_recent_ranges - 1].hi = hi - 1;
		return;
	}
	if (v->n_recent_ranges == v->cap_recent) {
		v->cap_recent = v->cap_recent == 0 ? 4 : v->cap_recent * 2;
		v->recent = xrealloc(v->recent, v->cap_recent * sizeof(*v->recent));
	}
	v->recent[v->n_recent_ranges++] = (struct uimap_range){ lo, hi - 1 };
}

static bool view_is_recent(const struct store_view *v, uint32_t uid)
{
	if (v->readonly)
		return uid >= v->box->first_recent_uid;
	size_t lo = 0, hi = v->n_recent_ranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->recent[mid].hi < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->n_recent_ranges && v->recent[lo].lo <= uid;
}

static uint32_t view_recent_count(const struct store_view *v)
{
	/* EXAMINE does not take \Recent (RFC 3501 6.3.2) but shows what nobody took. */
	if (v->readonly)
		return v->n - uids_lower_bound(v->uids, v->n, v->box->first_recent_uid);
	return v->n_recent;
}

int store_view_open(struct store_user *user, struct mailbox *box, bool readonly,
		    struct store_view **view_r, struct uimap_select_info *info_r)
{
	struct store_view *v = xcalloc(1, sizeof(*v));
	uint32_t first_unseen = 0;

	v->pub.vt = &uimap_store_memory_vtable;
	v->box = box;
	v->readonly = readonly;
	view_reserve(v, box->n_live);
	for (uint32_t i = 0; i < box->n_msgs; i++) {
		const struct store_msg *msg = &box->msgs[i];

		if (msg->state != MSG_LIVE)
			continue;
		v->uids[v->n++] = msg->uid;
		if (first_unseen == 0 && (msg->flags & UIMAP_FLAG_SEEN) == 0)
			first_unseen = v->n;
	}
	if (box->next_view_id == 0)
		box->next_view_id = 1;
	v->id = box->next_view_id++;
	v->horizon = box->uidnext;
	v->n_announced = v->n;
	v->n_keywords_announced = box->n_keywords;
	v->exp_cursor = box->exp_base + box->exp_n;
	v->flag_cursor = box->flag_base + box->flag_n;
	mailbox_cursor_added(box, v->exp_cursor, v->flag_cursor);
	v->next = box->views;
	if (box->views != NULL)
		box->views->prev = v;
	box->views = v;
	box->n_views++;
	box->refs++;
	user->store->n_views++;
	if (!readonly)
		view_claim_recent(v, box->first_recent_uid, box->uidnext);

	*info_r = (struct uimap_select_info){
		.exists = v->n, .recent = view_recent_count(v), .first_unseen = first_unseen,
		.uidvalidity = box->uidvalidity, .uidnext = box->uidnext,
		.highest_modseq = box->modseq, .readonly = readonly,
		.keywords_creatable = !readonly && box->n_keywords < UIMAP_STORE_MAX_KEYWORDS,
	};
	*view_r = v;
	return 0;
}

void store_view_close(struct store_view *v)
{
	struct mailbox *box = v->box;

	if (v->prev != NULL)
		v->prev->next = v->next;
	else
		box->views = v->next;
	if (v->next != NULL)
		v->next->prev = v->prev;
	box->n_views--;
	box->user->store->n_views--;
	if (v->wake_pending)
		box->n_wake_pending--;
	mailbox_cursor_moved(box, v->exp_cursor, v->flag_cursor, v, true);
	free(v->uids);
	free(v->recent);
	free(v);
	mailbox_unref(&box);
}

uint64_t store_view_metadata_bytes(const struct store_view *v)
{
	return sizeof(*v) + (uint64_t)v->cap * sizeof(*v->uids) +
	       v->cap_recent * sizeof(*v->recent);
}

/* The mailbox entry of v's message at seq (1..n), or NULL. */
static struct store_msg *view_lookup(struct store_view *v, uint32_t seq, uint32_t *idx_r)
{
	struct mailbox *box = v->box;
	uint32_t uid = v->uids[seq - 1], idx;

	/* FETCH 1:* walks forward: try the entries after the previous one first
	   (tombstones may sit in between). */
	if (v->hint_gen == box->layout_gen && v->hint_seq != 0 && seq == v->hint_seq + 1) {
		for (idx = v->hint_idx + 1; idx < box->n_msgs && idx <= v->hint_idx + 8; idx++) {
			if (box->msgs[idx].uid == uid)
				goto found;
			if (box->msgs[idx].uid > uid)
				break;
		}
	}
	if (!mailbox_find(box, uid, &idx))
		return NULL;
found:
	v->hint_seq = seq;
	v->hint_idx = idx;
	v->hint_gen = box->layout_gen;
	*idx_r = idx;
	return &box->msgs[idx];
}

static void view_fill_info(const struct store_view *v, uint32_t seq,
			   const struct store_msg *msg, struct uimap_msg_info *info)
{
	*info = (struct uimap_msg_info){
		.seq = seq, .uid = msg->uid,
		.flags = { .system = msg->flags, .keywords = msg->keywords },
		.modseq = msg->modseq, .internaldate = (time_t)msg->internaldate,
		.tz_minutes = msg->tz_minutes, .expunged = msg->state != MSG_LIVE,
		.size = msg->blob != NULL ? msg->blob->size : 0, .blob = msg->blob,
	};
	if (view_is_recent(v, msg->uid))
		info->flags.system |= UIMAP_FLAG_RECENT;
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Remove from v the UIDs logged as expunged since its cursor, in one pass over the
   tail of v->uids, reporting each with its running sequence number. */
static void view_apply_expunges(struct store_view *v, const struct uimap_sync_callbacks *cb,
				void *ctx)
{
	struct mailbox *box = v->box;
	uint64_t end = box->exp_base + box->exp_n;
	size_t k = (size_t)(end - v->exp_cursor);
	const uint32_t *src;
	uint32_t *gone;

	if (k == 0)
		return; /* and exp_log may be NULL */
	src = box->exp_log + (v->exp_cursor - box->exp_base);
	gone = xmalloc(k * sizeof(*gone));
	memcpy(gone, src, k * sizeof(*gone));
	qsort(gone, k, sizeof(*gone), uid_cmp);
	v->exp_cursor = end;

	uint32_t i = uids_lower_bound(v->uids, v->n, gone[0]), o = i, removed = 0;
	size_t j = 0;

	for (; i < v->n && j < k; i++) {
		uint32_t uid = v->uids[i];

		while (j < k && gone[j] < uid)
			j++;
		if (j < k && gone[j] == uid) {
			if (!v->readonly && view_is_recent(v, uid))
				v->n_recent--;
			/* RFC 3501 7.4.1: each EXPUNGE renumbers the later messages. */
			if (cb != NULL && cb->expunge != NULL)
				cb->expunge(ctx, i - removed + 1, uid);
			removed++;
			j++;
			continue;
		}
		v->uids[o++] = uid;
	}
	if (removed > 0) {
		memmove(v->uids + o, v->uids + i, (size_t)(v->n - i) * sizeof(*v->uids));
		v->n -= removed;
		v->n_announced -= removed;
		v->hint_seq = 0;
	}
	free(gone);
}

/* Take in messages that arrived since the horizon; returns how many. */
static uint32_t view_take_new(struct store_view *v)
{
	struct mailbox *box = v->box;
	uint32_t start = mailbox_lower_bound(box, v->horizon), added = 0;

	if (box->uidnext <= v->horizon)
		return 0;
	view_reserve(v, box->n_msgs - start);
	for (uint32_t i = start; i < box->n_msgs; i++) {
		if (box->msgs[i].state == MSG_LIVE) {
			v->uids[v->n++] = box->msgs[i].uid;
			added++;
		}
	}
	v->horizon = box->uidnext;
	/* A read-write view that sees a message first takes its \Recent, unless a
	   session selecting meanwhile took it (first_recent_uid moved past it). */
	if (!v->readonly)
		view_claim_recent(v, box->first_recent_uid, v->horizon);
	return added;
}

static void view_report_flags(struct store_view *v, const struct uimap_sync_callbacks *cb,
			      void *ctx)
{
	struct mailbox *box = v->box;
	uint64_t end = box->flag_base + box->flag_n;

	for (uint64_t pos = v->flag_cursor; pos < end; pos++) {
		const struct store_flag_event *ev = &box->flag_log[pos - box->flag_base];
		uint32_t idx, seq;

		if (ev->origin == v->id || !mailbox_find(box, ev->uid, &idx))
			continue;
		/* Only the latest change of a message is reported (and none after its
		   expunge, which bumps the modseq). */
		if (box->msgs[idx].modseq != ev->modseq)
			continue;
		/* Never for a message the session was not told about (EXISTS first). */
		if (store_view_uid_to_seq(&v->pub, ev->uid, &seq) != 1)
			continue;
		if (cb != NULL && cb->flags != NULL) {
			struct uimap_msg_info info;

			view_fill_info(v, seq, &box->msgs[idx], &info);
			cb->flags(ctx, &info);
		}
	}
	v->flag_cursor = end;
}

int store_view_sync(struct uimap_store_view *pub, unsigned flags,
		    const struct uimap_sync_callbacks *cb, void *ctx)
{
	struct store_view *v = view_of(pub);
	struct mailbox *box = v->box;
	uint64_t old_exp = v->exp_cursor, old_flag = v->flag_cursor;

	if (v->wake_pending) {
		v->wake_pending = false;
		box->n_wake_pending--;
	}
	if ((flags & UIMAP_SYNC_EXPUNGES) != 0)
		view_apply_expunges(v, cb, ctx);
	if (box->n_keywords != v->n_keywords_announced) {
		v->n_keywords_announced = box->n_keywords;
		if (cb != NULL && cb->keywords != NULL)
			cb->keywords(ctx);
	}
	view_take_new(v);
	if (v->n > v->n_announced) {
		v->n_announced = v->n;
		if (cb != NULL && cb->exists != NULL)
			cb->exists(ctx, v->n, view_recent_count(v));
	}
	view_report_flags(v, cb, ctx);
	mailbox_cursor_moved(box, old_exp, old_flag, v, false);
	return box->deleted ? -ENOENT : 0;
}

void store_view_set_wake(struct uimap_store_view *pub, void (*wake)(void *ctx), void *ctx)
{
	struct store_view *v = view_of(pub);

	v->wake = wake;
	v->wake_ctx = ctx;
}

uint32_t store_view_count(struct uimap_store_view *pub)
{
	return view_of(pub)->n;
}

int store_view_msg(struct uimap_store_view *pub, uint32_t seq, struct uimap_msg_info *info_r)
{
	struct store_view *v = view_of(pub);
	struct store_msg *msg;
	uint32_t idx;

	if (seq == 0 || seq > v->n)
		return -EINVAL;
	msg = view_lookup(v, seq, &idx);
	if (msg == NULL)
		return -ESTALE;
	view_fill_info(v, seq, msg, info_r);
	return 0;
}

int store_view_uid_to_seq(struct uimap_store_view *pub, uint32_t uid, uint32_t *seq_r)
{
	struct store_view *v = view_of(pub);
	uint32_t i = uids_lower_bound(v->uids, v->n, uid);

	if (i >= v->n || v->uids[i] != uid)
		return 0;
	*seq_r = i + 1;
	return 1;
}

int store_view_uid_range(struct uimap_store_view *pub, struct uimap_range uids,
			 struct uimap_range *seqs_r)
{
	struct store_view *v = view_of(pub);
	uint32_t lo, hi;

	if (uids.lo > uids.hi)
		return 0;
	lo = uids_lower_bound(v->uids, v->n, uids.lo);
	hi = uids.hi == UINT32_MAX ? v->n : uids_lower_bound(v->uids, v->n, uids.hi + 1);
	if (lo >= hi)
		return 0;
	*seqs_r = (struct uimap_range){ lo + 1, hi };
	return 1;
}

int store_view_keyword_index(struct uimap_store_view *pub, const char *keyword, bool create)
{
	struct store_view *v = view_of(pub);
	int r = mailbox_keyword_index(v->box, keyword, false);

	if (r != -ENOENT || !create)
		return r;
	if (v->readonly)
		return -EROFS;
	if (mailbox_keyword_index(v->box, keyword, false) == -EINVAL)
		return -EINVAL;
	r = store_reserve(v->box->user->store,
			  store_record_bytes(v->box->user, v->box->name, strlen(keyword)));
	if (r < 0)
		return r;
	return mailbox_keyword_index(v->box, keyword, true);
}

const char *store_view_keyword_name(struct uimap_store_view *pub, unsigned i)
{
	struct store_view *v = view_of(pub);

	return i < v->box->n_keywords ? v->box->keywords[i] : NULL;
}

int store_view_store_flags(struct uimap_store_view *pub, uint32_t seq,
			   enum uimap_flags_mode mode, const struct uimap_flags *flags,
			   uint64_t unchangedsince, struct uimap_msg_info *info_r)
{
	struct store_view *v = view_of(pub);
	struct mailbox *box = v->box;
	struct store_msg *msg;
	uint32_t idx;
	int r;

	if (v->readonly)
		return -EROFS;
	if (seq == 0 || seq > v->n || mode > UIMAP_FLAGS_REMOVE)
		return -EINVAL;
	if (box->n_keywords < 64 && (flags->keywords >> box->n_keywords) != 0)
		return -EINVAL;
	msg = view_lookup(v, seq, &idx);
	if (msg == NULL || msg->state != MSG_LIVE || box->deleted)
		return -ESTALE;
	if (unchangedsince != 0 && msg->modseq > unchangedsince)
		return -ECANCELED;
	r = store_reserve(box->user->store, store_record_bytes(box->user, box->name, 0));
	if (r < 0)
		return r;
	r = mailbox_update_flags(box, idx, mode, (uint8_t)(flags->system & UIMAP_FLAGS_STORABLE),
				 flags->keywords, v, 0);
	if (r < 0)
		return r;
	if (info_r != NULL)
		view_fill_info(v, seq, &box->msgs[idx], info_r);
	if (r > 0)
		mailbox_changed(box, v);
	return r;
}

int store_view_expunge(struct uimap_store_view *pub, const struct uimap_range *uids, size_t n)
{
	struct store_view *v = view_of(pub);
	struct mailbox *box = v->box;
	int count = 0;

	if (v->readonly)
		return -EROFS;
	if (box->n_deleted == 0 || box->deleted)
		return 0;
	/* all or nothing: room for the record of every \Deleted message first */
	int reserved = store_reserve(box->user->store, (uint64_t)box->n_deleted *
						       store_record_bytes(box->user, box->name, 0));
	if (reserved < 0)
		return reserved;
	if (uids == NULL) {
		for (uint32_t i = 0; i < box->n_msgs; i++) {
			const struct store_msg *msg = &box->msgs[i];

			if (msg->state == MSG_LIVE && (msg->flags & UIMAP_FLAG_DELETED) != 0) {
				mailbox_expunge_at(box, i, 0);
				count++;
			}
		}
	} else {
		for (size_t r = 0; r < n; r++) {
			for (uint32_t i = mailbox_lower_bound(box, uids[r].lo);
			     i < box->n_msgs && box->msgs[i].uid <= uids[r].hi; i++) {
				const struct store_msg *msg = &box->msgs[i];

				if (msg->state == MSG_LIVE &&
				    (msg->flags & UIMAP_FLAG_DELETED) != 0) {
					mailbox_expunge_at(box, i, 0);
					count++;
				}
			}
		}
	}
	if (count > 0)
		mailbox_changed(box, v);
	return count;
}

int store_view_copy(struct uimap_store_view *pub, const struct uimap_range *seqs, size_t n,
		    const char *dest, bool move, struct uimap_copy_result *result_r)
{
	struct store_view *v = view_of(pub);
	struct mailbox *src = v->box, *dst;
	char name[STORE_NAME_MAX + 1];
	int8_t kwmap[UIMAP_STORE_MAX_KEYWORDS];
	uint64_t used = 0;
	uint32_t first_uid, count = 0;

	if (move && v->readonly)
		return -EROFS;
	if (store_name_canon(dest, true, name) < 0)
		return -ENOENT;
	dst = store_user_find(src->user, name);
	if (dst == NULL)
		return -ENOENT;
	if (dst->noselect)
		return -EPERM;
	/* Validate everything first so that nothing is copied on error. */
	for (size_t r = 0; r < n; r++) {
		if (seqs[r].lo == 0 || seqs[r].lo > seqs[r].hi || seqs[r].hi > v->n)
			return -EINVAL;
		for (uint32_t seq = seqs[r].lo; seq <= seqs[r].hi; seq++) {
			uint32_t idx;
			const struct store_msg *msg = view_lookup(v, seq, &idx);

			if (msg == NULL || msg->blob == NULL)
				return -ESTALE;
			used |= msg->keywords;
		}
	}
	/* all or nothing: room for every copy's record (and MOVE's expunges) first */
	uint64_t bytes = 0, n_msgs = 0, msg_bytes = 0;

	for (size_t r = 0; r < n; r++) {
		for (uint32_t seq = seqs[r].lo; seq <= seqs[r].hi; seq++) {
			uint32_t idx;
			const struct store_msg *msg = view_lookup(v, seq, &idx);

			/* a live source is journalled as a reference, not its bytes again */
			bytes += store_record_bytes(dst->user, dst->name,
						    mailbox_copy_by_reference(src, idx)
						    ? strlen(src->name) + 16 : msg->blob->size);
			msg_bytes += msg->blob->size;
			n_msgs++;
		}
	}
	/* keywords travel by name: the ones dst lacks become records too */
	for (unsigned k = 0; k < src->n_keywords; k++)
		bytes += store_record_bytes(dst->user, dst->name, strlen(src->keywords[k]));
	if (move)
		bytes += n_msgs * store_record_bytes(src->user, src->name, 0);
	/* a MOVE only adds to dst (the user holds as much as before); a COPY adds to
	   the user too */
	int limited = dst == src && move ? 0
		      : store_user_check_add(dst->user, dst, n_msgs, move ? 0 : n_msgs,
					     move ? 0 : msg_bytes);
	if (limited < 0)
		return limited;
	int reserved = store_reserve(src->user->store, bytes);

	if (reserved < 0)
		return reserved;
	if ((uint64_t)dst->uidnext + (uint64_t)v->n >= UINT32_MAX)
		return -ENOSPC;
	/* Keywords travel by name. */
	for (unsigned k = 0; k < UIMAP_STORE_MAX_KEYWORDS; k++) {
		kwmap[k] = -1;
		if ((used >> k & 1) == 0)
			continue;
		int idx = dst == src ? (int)k : mailbox_keyword_index(dst, src->keywords[k], true);

		if (idx < 0)
			return idx;
		kwmap[k] = (int8_t)idx;
	}
	first_uid = dst->uidnext;
	for (size_t r = 0; r < n; r++) {
		for (uint32_t seq = seqs[r].lo; seq <= seqs[r].hi; seq++) {
			uint32_t idx, uid;
			/* Re-read through the array: adding to dst may move src->msgs. */
			const struct store_msg *msg = view_lookup(v, seq, &idx);
			uint64_t kw = 0;

			for (uint64_t bits = msg->keywords; bits != 0; bits &= bits - 1)
				kw |= 1ull << kwmap[__builtin_ctzll(bits)];
			int ret = mailbox_add_copy(dst, src, idx, msg->flags, kw, 0, 0, &uid);
			if (ret < 0)
				return ret; /* only on out of memory */
			count++;
		}
	}
	/* a deleted source stays as it is (its session hears of the DELETE next) */
	if (move && !src->deleted) {
		for (size_t r = 0; r < n; r++) {
			for (uint32_t seq = seqs[r].lo; seq <= seqs[r].hi; seq++) {
				uint32_t idx;
				const struct store_msg *msg = view_lookup(v, seq, &idx);

				if (msg->state == MSG_LIVE)
					mailbox_expunge_at(src, idx, 0);
			}
		}
	}
	mailbox_changed(dst, NULL);
	if (move && dst != src)
		mailbox_changed(src, v);
	*result_r = (struct uimap_copy_result){
		.uidvalidity = dst->uidvalidity, .first_uid = first_uid, .count = count };
	return 0;
}
