/* In-memory store internals: users, mailboxes, messages, views and the change hook. */
#ifndef UIMAP_STORE_MEMSTORE_H
#define UIMAP_STORE_MEMSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uimap/store.h"

#define STORE_SEP '/'
#define STORE_NAME_MAX 1024

/*
 * Messages
 * --------
 * A mailbox keeps its messages in one array sorted by UID (UIDs only grow, so an
 * append is a push). An expunged message stays in the array as a tombstone while a
 * view may still show it (MSG_EXPUNGED), then becomes MSG_DEAD (blob released) and
 * is squeezed out by an occasional compaction pass, so single expunges never move
 * the array. 40 bytes per message.
 */
enum msg_state {
	MSG_LIVE = 0,
	MSG_EXPUNGED = 1,   /* tombstone: some view has not been told yet */
	MSG_DEAD = 2,       /* nobody sees it; removed by mailbox_compact() */
};

struct store_msg {
	struct uimap_blob *blob;
	uint64_t modseq;
	uint64_t keywords;
	int64_t internaldate;
	uint32_t uid;
	int16_t tz_minutes;
	uint8_t flags;      /* UIMAP_FLAGS_STORABLE bits */
	uint8_t state;      /* enum msg_state */
};

/* One flag change, kept while some view has not synced past it. */
struct store_flag_event {
	uint32_t uid;
	uint32_t origin;    /* id of the view that made it, 0 = none */
	uint64_t modseq;    /* the message's modseq after the change */
};

/* Expunged UIDs lo..hi, the largest of their expunge mod-sequences (vanished.c). */
struct store_vanished {
	uint32_t lo, hi;
	uint64_t modseq;
};

struct memstore;
struct store_user;
struct store_view;

/*
 * Change notification: per mailbox, two append-only logs (expunged UIDs and flag
 * events) addressed by absolute positions. Each view holds a cursor into each; a
 * change touches only the views of its mailbox (mark + wake), and the logs are
 * trimmed up to the slowest cursor. Logs are kept only while views exist.
 */
struct mailbox {
	struct store_user *user;
	char *name;
	unsigned refs;              /* the tree's reference + one per view */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t first_recent_uid;  /* messages >= this are \Recent for nobody yet */
	uint64_t modseq;            /* HIGHESTMODSEQ */
	unsigned special_use;
	bool noselect;
	bool deleted;               /* detached from the tree; kept alive by views */
	struct mailbox *next_grave; /* in the store's graveyard, being freed */
	uint32_t n_freed;           /* messages freed there so far */

	struct store_msg *msgs;     /* sorted by uid, tombstones included */
	uint32_t n_msgs, cap_msgs;
	uint32_t n_live, n_unseen, n_deleted, n_dead;
	uint64_t live_bytes;
	uint64_t deleted_bytes;     /* of the live messages with \Deleted */
	uint64_t layout_gen;        /* bumped when msgs indexes move (view hints) */

	char *keywords[UIMAP_STORE_MAX_KEYWORDS];
	unsigned n_keywords;

	struct store_vanished *vanished; /* QRESYNC: expunged UID ranges, sorted */
	uint32_t n_vanished, cap_vanished;

	struct store_view *views;   /* doubly linked */
	unsigned n_views;
	unsigned n_wake_pending;    /* views woken and not synced since */
	/* Trimming is O(views), so it runs only when it can free something: when the
	   views at the slowest cursor (the floor, as of the last trim) have all moved
	   on, and at most once per n_views/8 cursor moves. N views catching up with a
	   change then cost O(N) in all, not O(N^2). */
	uint64_t exp_floor, flag_floor;
	unsigned n_exp_floor, n_flag_floor;
	unsigned cursor_moves;
	uint32_t next_view_id;

	/* Entries [head, n) are live; entry i has absolute position base + i. The
	   consumed prefix is dropped when it is at least half of the array. */
	uint32_t *exp_log;
	size_t exp_head, exp_n, exp_cap;
	uint64_t exp_base;
	struct store_flag_event *flag_log;
	size_t flag_head, flag_n, flag_cap;
	uint64_t flag_base;
};

struct store_view {
	struct uimap_store_view pub;
	struct mailbox *box;
	struct store_view *prev, *next;
	uint32_t id;
	bool readonly;
	bool wake_pending;
	void (*wake)(void *ctx);
	void *wake_ctx;

	uint32_t *uids;             /* seq - 1 -> uid, ascending */
	uint32_t n, cap;
	uint32_t horizon;           /* every uid below was considered for this view */
	uint32_t n_announced;       /* the session's idea of EXISTS */
	unsigned n_keywords_announced;
	uint64_t exp_cursor, flag_cursor;

	/* \Recent owned by this read-write view: ascending UID ranges. */
	struct uimap_range *recent;
	size_t n_recent_ranges, cap_recent;
	uint32_t n_recent;

	/* lookup hint: the msgs index of the last seq served */
	uint32_t hint_seq, hint_idx;
	uint64_t hint_gen;
};

struct store_user {
	struct uimap_store_user pub;
	struct memstore *store;
	char *name;
	unsigned sessions;
	struct mailbox **boxes;     /* sorted by name (strcmp) */
	size_t n_boxes, cap_boxes;
	char **subs;                /* sorted subscribed names */
	size_t n_subs, cap_subs;
	uint64_t n_messages, n_bytes; /* live messages of all mailboxes, their sizes */
	struct uimap_store_limits limits;  /* in force: base_limits and the quota */
	struct uimap_store_limits base_limits; /* the last set_limits() */
	bool has_quota;             /* an administrator's SETQUOTA */
	struct uimap_quota quota;
	struct store_watcher *watchers;  /* NOTIFY sessions (user_watch) */
	size_t n_watchers, cap_watchers;
	struct store_urlkey *urlkeys;    /* URLAUTH mailbox access keys */
	size_t n_urlkeys, cap_urlkeys;
	uint64_t replay_after;      /* loading: the snapshot holds this user's journal
				       records up to this seq (0: none) */
};

/* A mailbox access key (URLAUTH, RFC 4467), by mailbox name. */
struct store_urlkey {
	char *mailbox;
	unsigned char key[UIMAP_URLAUTH_KEY_SIZE];
};

/* ---- change hook (the single place every mutation passes through) ---------- */

enum store_change_type {
	STORE_CHANGE_USER_CREATE,
	STORE_CHANGE_MAILBOX_CREATE,  /* mailbox, uidvalidity, special_use */
	STORE_CHANGE_MAILBOX_DELETE,  /* mailbox (the incarnation uidvalidity) */
	STORE_CHANGE_MAILBOX_RENAME,  /* mailbox -> new_name */
	STORE_CHANGE_SUBSCRIBE,       /* mailbox */
	STORE_CHANGE_UNSUBSCRIBE,     /* mailbox */
	STORE_CHANGE_KEYWORD,         /* mailbox, keyword, index */
	STORE_CHANGE_APPEND,          /* mailbox, msg */
	STORE_CHANGE_FLAGS,           /* mailbox, msg (new state) */
	STORE_CHANGE_EXPUNGE,         /* mailbox, uid, modseq */
	STORE_CHANGE_COPY,            /* mailbox, msg (flags, keywords; blob NULL on
					 replay), src_* (a live message whose bytes
					 the copy shares), src_size */
	STORE_CHANGE_USER_QUOTA,      /* has_quota, quota (an administrator's SETQUOTA) */
	STORE_CHANGE_URLAUTH_KEY,     /* mailbox (NULL: all of the user's keys), has_key,
					 key (URLAUTH, RFC 4467) */
};

struct store_change {
	enum store_change_type type;
	const char *user;
	const char *mailbox;
	const char *new_name;
	const char *keyword;
	unsigned index;
	uint32_t uidvalidity;
	uint32_t uid;
	uint64_t modseq;
	unsigned special_use;
	const struct store_msg *msg;
	const char *src_mailbox;     /* COPY: the message the bytes come from */
	uint32_t src_uidvalidity, src_uid;
	uint64_t src_size;           /* COPY: its size (a check on replay) */
	bool seen_changed;           /* FLAGS: \Seen was set or cleared */
	bool has_quota;              /* USER_QUOTA: set (quota) or removed */
	struct uimap_quota quota;
	bool has_key;                /* URLAUTH_KEY: set (key) or removed */
	unsigned char key[UIMAP_URLAUTH_KEY_SIZE];
};

typedef void store_change_fn(void *ctx, const struct store_change *change);

/* Before a change is applied: may bytes of change records be saved? 0, or -EIO
   when the change must be refused (nothing is applied then). */
typedef int store_reserve_fn(void *ctx, uint64_t bytes);

struct store_default_box {
	char *name;
	unsigned special_use;
};

struct memstore {
	struct uimap_store pub;
	struct store_user **users;  /* sorted by name */
	size_t n_users, cap_users;
	uint32_t last_uidvalidity;
	struct store_default_box *defaults;
	size_t n_defaults;
	bool subscribe_defaults;
	store_change_fn *hook;
	store_reserve_fn *reserve;
	void *hook_ctx;
	unsigned hook_muted;        /* >0 inside compound changes emitted as one */
	size_t n_watchers;          /* over all users: 0 keeps changes off watch.c */
	uint64_t n_views;
	/* Big mailboxes no one refers to any more, freed a slice per loop turn
	   (store_collect) once a loop drives the store, rather than in one go. */
	struct mailbox *graveyard;
	bool lazy_free;
};

/* memstore.c */
/* Attach fn(ctx, change) to every mutation of the store (a journal), and reserve
   (may be NULL) to be asked before each is applied; NULL fn detaches both. The
   change and the strings in it are valid only during the call. */
void store_memory_set_change_hook(struct uimap_store *store, store_change_fn *fn,
				  store_reserve_fn *reserve, void *ctx);
/* Ask the reserve hook for bytes of change records (0 without one). A vtable
   entry calls it before changing anything and returns its -EIO as is. */
int store_reserve(struct memstore *ms, uint64_t bytes);
/* A change record's size, never less: the fixed part plus the user's and the
   mailbox's names and extra (a keyword, a second name, a message's bytes). */
uint64_t store_record_bytes(const struct store_user *user, const char *mailbox,
			    uint64_t extra);
/* Pass a change to the hook, if any. */
void store_change_emit(struct memstore *ms, const struct store_change *change);
/* A UIDVALIDITY never handed out before by this store (counter seeded from time). */
uint32_t store_next_uidvalidity(struct memstore *ms);

/* names.c */
/* Copy name to out (size STORE_NAME_MAX + 1) with "INBOX" in any case as the first
   level canonicalised, and trailing separators stripped when strip is set.
   Returns 0, or -EINVAL when too long or empty. */
int store_name_canon(const char *name, bool strip, char *out);
/* Whether a canonical name may be created: modified UTF-7, printable, no '*' or
   '%', no empty level, no leading separator. */
bool store_name_valid(const char *name);
/* RFC 3501 LIST matching: '*' matches anything, '%' anything but sep. The pattern
   must already be canonical (see store_list_pattern). */
bool store_list_match(const char *pattern, const char *name, char sep);
/* Combine LIST reference and mailbox pattern (RFC 3501 6.3.8) into out (size
   2 * STORE_NAME_MAX + 2), with a leading "INBOX" canonicalised. Returns 0 or
   -EINVAL when too long. */
int store_list_pattern(const char *reference, const char *pattern, char *out);

/* mailbox.c */
/* An empty mailbox (refs = 1, a fresh UIDVALIDITY), not yet in the tree; NULL when
   out of memory. */
struct mailbox *mailbox_new(struct store_user *user, const char *name);
/* Drop a reference; the mailbox is freed (blobs released) with the last. */
void mailbox_unref(struct mailbox **box);
/* Free up to max messages of the mailboxes in the graveyard (all of them for
   UINT32_MAX). Returns whether some are left. */
bool store_collect(struct memstore *ms, uint32_t max);
/* Index of the first message with uid >= uid (n_msgs when none). */
uint32_t mailbox_lower_bound(const struct mailbox *box, uint32_t uid);
/* 1 with *idx_r when uid is in the array (any state), 0 otherwise. */
int mailbox_find(const struct mailbox *box, uint32_t uid, uint32_t *idx_r);
/* Keyword index for name, created if create. Same results as view_keyword_index. */
/* RFC 3501 flag-keyword = atom: 1 to 255 characters, no atom-specials (so no
   leading '\\' either). */
bool store_keyword_valid(const char *name, size_t len);

int mailbox_keyword_index(struct mailbox *box, const char *name, bool create);
/* The modseq of a change: the next one (modseq 0), or the recorded one (replay);
   HIGHESTMODSEQ follows. */
uint64_t mailbox_next_modseq(struct mailbox *box, uint64_t modseq);
/* Append a message; takes a new reference on blob. uid 0: the next UID; else that
   UID (>= uidnext: replay, RENAME INBOX). modseq 0: the next. Returns 0 with
   *uid_r, -EINVAL (uid below uidnext), -ENOSPC. */
int mailbox_add(struct mailbox *box, struct uimap_blob *blob, uint8_t flags,
		uint64_t keywords, int64_t internaldate, int16_t tz_minutes,
		uint32_t uid, uint64_t modseq, uint32_t *uid_r);
/* Append a copy of src->msgs[src_idx] (any state with its bytes) to box, sharing
   its bytes; flags and keywords (box's indices) as given; uid and modseq as for
   mailbox_add. Emits a COPY change (a reference, not the bytes) when the source
   is live in a mailbox of the tree, an APPEND otherwise. Same results as
   mailbox_add. */
int mailbox_add_copy(struct mailbox *box, const struct mailbox *src, uint32_t src_idx,
		     uint8_t flags, uint64_t keywords, uint32_t uid, uint64_t modseq,
		     uint32_t *uid_r);
/* Whether mailbox_add_copy of src->msgs[src_idx] emits a reference (a small
   record) rather than the bytes. */
bool mailbox_copy_by_reference(const struct mailbox *src, uint32_t src_idx);
/* Apply a flag update to msgs[idx] (live). origin: the view making it, or NULL.
   modseq 0: the next. Returns 1 when changed, 0 when not. */
int mailbox_update_flags(struct mailbox *box, uint32_t idx, enum uimap_flags_mode mode,
			 uint8_t flags, uint64_t keywords, struct store_view *origin,
			 uint64_t modseq);
/* Expunge msgs[idx] (live): tombstone for views, or dead when none. modseq 0: the
   next. Call mailbox_changed() after a batch. */
void mailbox_expunge_at(struct mailbox *box, uint32_t idx, uint64_t modseq);
/* QRESYNC (vanished.c): remember that uid was expunged at modseq. */
void mailbox_vanished_add(struct mailbox *box, uint32_t uid, uint64_t modseq);
/* After a load from a snapshot (which keeps no expunge history): every UID below
   uidnext without a live message counts as expunged at modseq (the snapshot's
   HIGHESTMODSEQ), so a client that synced before it still learns of them. */
void mailbox_vanished_rebuild(struct mailbox *box, uint64_t modseq);
/* Move every live message of from into to keeping UIDs, flags and keywords (by
   name), then expunge them from from (RENAME INBOX). Emits nothing itself: the
   caller mutes the hook (the move is implied by its RENAME record). */
int mailbox_move_all(struct mailbox *from, struct mailbox *to);
/* Expunge every live message (DELETE, RENAME INBOX). */
void mailbox_expunge_all(struct mailbox *box);
/* After a batch of changes: wake the views (except origin), trim, maybe compact. */
void mailbox_changed(struct mailbox *box, struct store_view *origin);
/* Drop log entries every view has passed; tombstones nobody needs become dead.
   O(views + entries dropped). */
void mailbox_trim_logs(struct mailbox *box);
/* A view's cursors moved from (old_exp, old_flag) to its current ones (a sync), or
   a view at those cursors closed (closed set): trim when it may pay off. */
void mailbox_cursor_moved(struct mailbox *box, uint64_t old_exp, uint64_t old_flag,
			  const struct store_view *v, bool closed);
/* A view at (exp, flag) was added: count it at the floor when it is there. */
void mailbox_cursor_added(struct mailbox *box, uint64_t exp, uint64_t flag);
/* Squeeze dead messages out of the array (one pass) when there are enough. */
void mailbox_maybe_compact(struct mailbox *box, bool force);
/* Recount n_live, n_unseen, n_deleted, n_dead, live_bytes (after a load). */
void mailbox_recount(struct mailbox *box);
/* Fill status counters. */
void mailbox_status(const struct mailbox *box, struct uimap_status *status_r);
/* Bytes of metadata held by the mailbox (arrays, logs, names), views excluded. */
uint64_t mailbox_metadata_bytes(const struct mailbox *box);

/* view.c */
/* A view of box (selectable) for SELECT (readonly false: takes \Recent) or EXAMINE.
   Returns 0 with *view_r and *info_r. */
int store_view_open(struct store_user *user, struct mailbox *box, bool readonly,
		    struct store_view **view_r, struct uimap_select_info *info_r);
/* Unlink and free view; tombstones only it still needed die. */
void store_view_close(struct store_view *view);
/* Bytes of metadata held by the view. */
uint64_t store_view_metadata_bytes(const struct store_view *view);

/* apply.c: the mutating primitives (see the file's comment). Names are canonical
   and valid; callers check what the protocol requires first. Each emits one
   change record. */
/* The user called name, or NULL. */
struct store_user *store_find_user(struct memstore *ms, const char *name);
/* A new user structure (not in the store). */
struct store_user *store_new_user(struct memstore *ms, const char *name);
/* Insert user in name order. Returns 0 or -EEXIST. */
int store_insert_user(struct memstore *ms, struct store_user *user);
/* A user without mailboxes (USER_CREATE). Returns 0 with *user_r (may be NULL),
   or -EEXIST. */
int store_apply_user_create(struct memstore *ms, const char *name, struct store_user **user_r);
/* Mailbox name, whose parents exist, or a \Noselect placeholder made selectable
   (MAILBOX_CREATE). uidvalidity 0: a fresh one. Returns 0 or -EEXIST. */
int store_apply_mailbox_create(struct store_user *user, const char *name, uint32_t uidvalidity,
			       unsigned special_use);
/* Delete name: views see its messages expunged; with inferiors it stays as a
   \Noselect placeholder (MAILBOX_DELETE). Returns 0 or -ENOENT. */
int store_apply_mailbox_delete(struct store_user *user, const char *name);
/* Rename old_name and its inferiors to new_name (parents of new_name are the
   caller's); INBOX: move its messages, with their UIDs, into the existing
   new_name (MAILBOX_RENAME). Returns 0, -ENOENT, -EEXIST. */
int store_apply_mailbox_rename(struct store_user *user, const char *old_name,
			       const char *new_name);
/* (UN)SUBSCRIBE name. Returns 1 when changed, 0 when already so. */
int store_apply_subscribe(struct store_user *user, const char *name, bool subscribe);
/* Replay: apply a decoded change record with the primitive that made it.
   Returns 1, or 0 when it does not apply to the store (*why_r says why). */
int store_change_apply(struct memstore *ms, const struct store_change *change,
		       const char **why_r);

/* import.c: offline import (uimapctl) into a loaded store */
/* Mailbox raw of user user_name ready for an import; the user is created with its
   default mailboxes and the mailbox with its parents when missing. With uidvalidity
   not 0, a new mailbox, or one without messages (and, when it has that UIDVALIDITY
   already, no UID handed out at or above first_uid), gets that UIDVALIDITY: the
   source's UIDs can be kept (*kept_r true), and its HIGHESTMODSEQ is raised to
   modseq_floor (above any the source reached, so a CONDSTORE/QRESYNC client that
   cached the source's never sees it go back, and resynchronises flags). Otherwise
   *kept_r is false and the messages get the next UIDs. Returns 0 with *box_r,
   -EINVAL (a name that cannot be created), or the vtable's -errno. */
int store_import_mailbox(struct memstore *ms, const char *user_name, const char *raw,
			 uint32_t uidvalidity, uint32_t first_uid, uint64_t modseq_floor,
			 struct mailbox **box_r, bool *kept_r);
/* Add a message to box: system flags, keywords by name (added to its table),
   internaldate and zone; uid 0: the next UID, else that UID (at least UIDNEXT).
   Takes its own reference on blob. Returns 0 with *uid_r, -EINVAL (a UID below
   UIDNEXT, a keyword that is no atom), -ENOSPC (the keyword table or the UIDs are
   full). */
int store_import_append(struct mailbox *box, struct uimap_blob *blob, uint8_t flags,
			const char *const *keywords, size_t n_keywords, int64_t internaldate,
			int16_t tz_minutes, uint32_t uid, uint32_t *uid_r);
/* Raise UIDNEXT to uidnext (a source's, past UIDs it expunged) when higher. No change
   record tells this: a snapshot must follow (uimapctl writes one). */
void store_import_uidnext(struct mailbox *box, uint32_t uidnext);

/* watch.c */
/* user_watch (see uimap/store.h). */
int store_user_watch(struct uimap_store_user *user, uimap_store_watch_fn *fn, void *ctx);
/* Drop the user's watchers (the user is being freed). */
void store_watch_free(struct store_user *user);
/* Tell the change to the watchers of its user (store_change_emit calls it while
   anyone watches). */
void store_watch_dispatch(struct memstore *ms, const struct store_change *change);

/* user.c */
/* The user's mailbox with canonical name, or NULL. */
struct mailbox *store_user_find(struct store_user *user, const char *name);
/* Position of the first mailbox whose name is >= name. */
size_t store_user_box_pos(const struct store_user *user, const char *name);
/* Whether any mailbox name starts with name + '/'. */
bool store_user_has_children(const struct store_user *user, const char *name);
/* Insert box in name order. */
void store_user_insert_box(struct store_user *user, struct mailbox *box);
/* Take box out of the user's array (no unref). */
void store_user_remove_box(struct store_user *user, struct mailbox *box);
/* Position of the first subscription >= name. */
size_t store_user_sub_pos(const struct store_user *user, const char *name);
/* Recount n_messages and n_bytes from the mailboxes (after a load). */
void store_user_recount(struct store_user *user);
/* Whether box_messages more in box and user_messages of user_bytes more for the
   user keep it within its limits: 0, -EMLINK (the mailbox's limit) or -EDQUOT
   (the user's quota). */
int store_user_check_add(const struct store_user *user, const struct mailbox *box,
			 uint64_t box_messages, uint64_t user_messages, uint64_t user_bytes);
/* Whether n more mailboxes / subscriptions fit: 0 or -EMLINK. */
int store_user_check_mailboxes(const struct store_user *user, uint64_t n);
int store_user_check_subscriptions(const struct store_user *user, uint64_t n);
void store_user_set_limits(struct uimap_store_user *user,
			   const struct uimap_store_limits *limits);
int store_user_quota_set(struct uimap_store_user *user, const struct uimap_quota *q);
int store_user_quota_get(struct uimap_store_user *user, struct uimap_quota *q_r);
/* Set or remove the administrator's quota (the primitive of quota_set and of
   replay): emits STORE_CHANGE_USER_QUOTA. */
void store_apply_user_quota(struct store_user *user, bool has_quota,
			    const struct uimap_quota *q);
int store_user_urlauth_key_get(struct uimap_store_user *user, const char *mailbox,
			       unsigned char *key_r);
int store_user_urlauth_key_set(struct uimap_store_user *user, const char *mailbox,
			       const unsigned char *key);
/* Set (key) or remove (key NULL) mailbox's access key without telling anyone (the
   snapshot loader). */
void store_user_urlkey_put(struct store_user *user, const char *mailbox,
			   const unsigned char *key);
/* Set or remove a mailbox access key, or all of them (mailbox NULL): the primitive
   of urlauth_key_set and of replay and loading; emits STORE_CHANGE_URLAUTH_KEY. */
void store_apply_urlauth_key(struct store_user *user, const char *mailbox,
			     const unsigned char *key);
void store_user_usage(struct uimap_store_user *user, struct uimap_store_usage *usage_r);
/* Free a user and everything it holds (store teardown). */
void store_user_free(struct store_user **user);
/* Create a user in the store with its default mailboxes. Returns 0 with *user_r
   (also set, partly set up, on a later error), or -errno. */
int store_user_create(struct memstore *ms, const char *name, struct store_user **user_r);

/* The vtable entries, shared between files: their contracts are those of the
   members of struct uimap_store_vtable in uimap/store.h. */
int store_mailbox_create(struct uimap_store_user *user, const char *name,
			 unsigned special_use);
int store_mailbox_delete(struct uimap_store_user *user, const char *name);
int store_mailbox_rename(struct uimap_store_user *user, const char *old_name,
			 const char *new_name);
int store_mailbox_subscribe(struct uimap_store_user *user, const char *name,
			    bool subscribe);
int store_mailbox_list(struct uimap_store_user *user, const char *reference,
		       const char *pattern, unsigned flags, uimap_list_cb *cb, void *ctx);
int store_mailbox_status(struct uimap_store_user *user, const char *name,
			 struct uimap_status *status_r);
int store_mailbox_append(struct uimap_store_user *user, const char *name,
			 const struct uimap_append *msg, struct uimap_append_result *result_r);
int store_user_reserve(struct uimap_store_user *user, const char *name, uint64_t changes,
		       uint64_t messages, uint64_t bytes);
int store_view_open_vt(struct uimap_store_user *user, const char *name, bool readonly,
		       struct uimap_store_view **view_r, struct uimap_select_info *info_r);
void store_view_close_vt(struct uimap_store_view *view);
void store_view_set_wake(struct uimap_store_view *view, void (*wake)(void *ctx),
			 void *ctx);
int store_view_sync(struct uimap_store_view *view, unsigned flags,
		    const struct uimap_sync_callbacks *cb, void *ctx);
uint32_t store_view_count(struct uimap_store_view *view);
int store_view_msg(struct uimap_store_view *view, uint32_t seq,
		   struct uimap_msg_info *info_r);
int store_view_uid_to_seq(struct uimap_store_view *view, uint32_t uid, uint32_t *seq_r);
int store_view_uid_range(struct uimap_store_view *view, struct uimap_range uids,
			 struct uimap_range *seqs_r);
int store_view_keyword_index(struct uimap_store_view *view, const char *keyword,
			     bool create);
const char *store_view_keyword_name(struct uimap_store_view *view, unsigned i);
int store_view_store_flags(struct uimap_store_view *view, uint32_t seq,
			   enum uimap_flags_mode mode, const struct uimap_flags *flags,
			   uint64_t unchangedsince, struct uimap_msg_info *info_r);
int store_view_expunge(struct uimap_store_view *view, const struct uimap_range *uids,
		       size_t n);
uint64_t store_view_highest_modseq(struct uimap_store_view *view);
int store_view_vanished(struct uimap_store_view *view, uint64_t modseq,
			const struct uimap_range *uids, size_t n,
			void (*cb)(void *ctx, uint32_t lo, uint32_t hi), void *ctx);
int store_view_copy(struct uimap_store_view *view, const struct uimap_range *seqs,
		    size_t n, const char *dest, bool move, struct uimap_copy_result *result_r);

/* Position of user name in ms->users (sorted by name): its index, or where it
   would be inserted. */
size_t memstore_user_pos(const struct memstore *ms, const char *name);

/* Add name to the user's sorted subscription list (no change event). Returns 1
   when added, 0 when already there. */
int store_user_sub_insert(struct store_user *user, const char *name);

#endif
