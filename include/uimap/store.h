/* uimap: the mail store (the seed's model_class) as a vtable, and the in-memory store. */
#ifndef UIMAP_STORE_H
#define UIMAP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Model
 * -----
 * A store holds users; a user holds a tree of mailboxes (hierarchy separator '/',
 * names in modified UTF-7, "INBOX" case-insensitive, other names case-sensitive) and
 * a list of subscribed names; a mailbox holds messages sorted by UID. A message is an
 * immutable, reference-counted byte blob (CRLF text) plus UID, flags, modseq and
 * INTERNALDATE.
 *
 * A session that SELECTs (or EXAMINEs) a mailbox gets a view: the view owns that
 * session's sequence numbers. Changes made by anyone (other views, APPEND, COPY,
 * DELETE) become visible to a view only when the protocol layer calls view_sync(),
 * which reports them through callbacks in RFC 3501 order (section 5.2, 5.5, 7.4.1).
 *
 * Errors are negative errno values:
 *   -ENOENT     no such mailbox (APPEND/COPY: answer NO [TRYCREATE])
 *   -EEXIST     the mailbox already exists
 *   -EINVAL     invalid mailbox name, keyword or argument
 *   -EPERM      not permitted: DELETE INBOX, SELECT/APPEND on a \Noselect name
 *   -ENOTEMPTY  DELETE of a \Noselect name that still has children
 *   -EROFS      the view is read-only (EXAMINE)
 *   -ENOSPC     the mailbox keyword table is full
 *   -ESTALE     the message was expunged by another session (not yet reported)
 *   -ECANCELED  UNCHANGEDSINCE test failed (the message changed)
 *   -EIO        the change cannot be saved now (persistence cannot write: a full
 *               or failing disk); nothing was changed
 *   -EDQUOT     over the user's quota (messages or bytes): NO [OVERQUOTA]
 *   -EMLINK     over a limit (messages in a mailbox, mailboxes, subscriptions):
 *               NO [LIMIT]
 *   -ENOMEM     out of memory (an embedder's store; the in-memory store's own
 *               bookkeeping never returns it: out of memory ends the process)
 * Every function is called on the event loop thread only.
 */

/* ---- flags ---------------------------------------------------------------- */

/* System flags, stored as bits. UIMAP_FLAG_RECENT is never stored: it is reported
   in uimap_msg_info for the one view that owns the message's \Recent state. */
enum uimap_flag {
	UIMAP_FLAG_SEEN = 1u << 0,
	UIMAP_FLAG_ANSWERED = 1u << 1,
	UIMAP_FLAG_FLAGGED = 1u << 2,
	UIMAP_FLAG_DELETED = 1u << 3,
	UIMAP_FLAG_DRAFT = 1u << 4,
	UIMAP_FLAG_RECENT = 1u << 5,
};
#define UIMAP_FLAGS_STORABLE 0x1fu

/* Keywords are numbered per mailbox (view_keyword_index/_name); a message holds a
   bit mask, so a mailbox knows at most this many distinct keywords. */
#define UIMAP_STORE_MAX_KEYWORDS 64

struct uimap_flags {
	uint32_t system;    /* enum uimap_flag bits */
	uint64_t keywords;  /* bit i = keyword i of the mailbox's keyword table */
};

enum uimap_flags_mode {
	UIMAP_FLAGS_SET = 0,    /* STORE FLAGS */
	UIMAP_FLAGS_ADD = 1,    /* STORE +FLAGS */
	UIMAP_FLAGS_REMOVE = 2, /* STORE -FLAGS */
};

/* RFC 6154 special-use attributes (kept per mailbox, reported by LIST). */
enum uimap_special_use {
	UIMAP_SPECIAL_ALL = 1u << 0,
	UIMAP_SPECIAL_ARCHIVE = 1u << 1,
	UIMAP_SPECIAL_DRAFTS = 1u << 2,
	UIMAP_SPECIAL_FLAGGED = 1u << 3,
	UIMAP_SPECIAL_JUNK = 1u << 4,
	UIMAP_SPECIAL_SENT = 1u << 5,
	UIMAP_SPECIAL_TRASH = 1u << 6,
};

/* LIST/LSUB name attributes. */
enum uimap_list_attr {
	UIMAP_LIST_NOSELECT = 1u << 0,
	UIMAP_LIST_NOINFERIORS = 1u << 1,
	UIMAP_LIST_HAS_CHILDREN = 1u << 2,
	UIMAP_LIST_HAS_NO_CHILDREN = 1u << 3,
	UIMAP_LIST_SUBSCRIBED = 1u << 4,
	/* LSUB: subscribed, but no mailbox has that name (RFC 3501 6.3.9 keeps it). */
	UIMAP_LIST_NONEXISTENT = 1u << 5,
};

/* mailbox_list() flags. */
enum uimap_list_flags {
	UIMAP_LIST_F_SUBSCRIBED = 1u << 0, /* LSUB semantics */
};

/* view_sync() flags. */
enum uimap_sync_flags {
	/* Pending expunges may be applied and reported now (RFC 3501 7.4.1: never
	   while a FETCH, STORE or SEARCH runs, nor during a UID-less command). */
	UIMAP_SYNC_EXPUNGES = 1u << 0,
};

/* A range of sequence numbers or UIDs, lo <= hi, both inclusive. */
struct uimap_range {
	uint32_t lo, hi;
};

/* ---- message blobs --------------------------------------------------------- */

/* An immutable message text shared by reference: by the mailboxes that hold the
   message (COPY adds a reference, never copies bytes) and by queued output iovecs.
   The bytes stay valid while a reference is held, even after EXPUNGE. The
   reference count is atomic, so a background snapshot writer may hold one.
   Blobs are made only by the uimap_blob_new_*() functions: the library allocates
   them with private state (the count, the cached MIME structure) after these two
   read-only fields. */
struct uimap_blob {
	const char *data;   /* size bytes; not NUL-terminated */
	size_t size;
};

/* A blob holding a copy of data. Returns NULL when out of memory. refs = 1. */
struct uimap_blob *uimap_blob_new_copy(const void *data, size_t size);

/* A blob adopting buf, a malloc()ed buffer of size bytes, without copying: buf is
   free()d with the last reference. On failure (NULL) buf is still the caller's. */
struct uimap_blob *uimap_blob_new_adopt(void *buf, size_t size);

/* A blob over caller-owned bytes (an mmap, an embedder's cache): release(ctx, data,
   size) is called when the last reference goes. NULL when out of memory. */
struct uimap_blob *uimap_blob_new_custom(const void *data, size_t size,
					 void (*release)(void *ctx, const void *data,
							 size_t size),
					 void *ctx);

/* Take a reference; returns blob. */
struct uimap_blob *uimap_blob_ref(struct uimap_blob *blob);

/* Drop a reference and NULL *blob; the bytes are freed with the last one.
   NULL and *blob == NULL are allowed. */
void uimap_blob_unref(struct uimap_blob **blob);

/* ---- results ---------------------------------------------------------------- */

struct uimap_msg_info {
	uint32_t seq;               /* in the view */
	uint32_t uid;
	struct uimap_flags flags;   /* system includes UIMAP_FLAG_RECENT when recent here */
	uint64_t modseq;
	time_t internaldate;
	int16_t tz_minutes;         /* INTERNALDATE zone, minutes east of UTC */
	/* Expunged by another session, not yet reported to this view. Its data and last
	   flags stay readable (FETCH returns them, as Dovecot does); STORE gives -ESTALE. */
	bool expunged;
	size_t size;                /* RFC822.SIZE */
	struct uimap_blob *blob;    /* borrowed: uimap_blob_ref() to keep it */
};

struct uimap_select_info {
	uint32_t exists;
	uint32_t recent;
	uint32_t first_unseen;      /* sequence number, 0 when every message is \Seen */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highest_modseq;
	bool readonly;
	bool keywords_creatable;    /* PERMANENTFLAGS may include \* */
};

struct uimap_status {
	uint32_t messages;
	uint32_t recent;
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint32_t unseen;
	uint32_t deleted;           /* messages with \Deleted */
	uint64_t highest_modseq;
	uint64_t size;              /* sum of RFC822.SIZE */
	uint64_t deleted_size;      /* sum of RFC822.SIZE of those with \Deleted */
};

struct uimap_append {
	struct uimap_blob *blob;        /* the store takes its own reference */
	uint32_t system_flags;          /* UIMAP_FLAGS_STORABLE bits */
	const char *const *keywords;    /* n_keywords names */
	size_t n_keywords;
	time_t internaldate;            /* 0: now */
	int16_t tz_minutes;
};

struct uimap_append_result {
	uint32_t uidvalidity;           /* [APPENDUID uidvalidity uid] */
	uint32_t uid;
};

/* COPY/MOVE: the copies get UIDs first_uid .. first_uid + count - 1, in ascending
   order of the source sequence numbers ([COPYUID uidvalidity src-uids dst-uids]). */
struct uimap_copy_result {
	uint32_t uidvalidity;
	uint32_t first_uid;
	uint32_t count;
};

/* Limits of one user (0 = none). The server sets them at login from its
   configuration and the user's own settings (the passwd-file's quota rules). */
struct uimap_store_limits {
	uint64_t max_messages;          /* messages of the user (RFC 9208 MESSAGE) */
	uint64_t max_bytes;             /* their RFC822.SIZE sum (RFC 9208 STORAGE) */
	uint32_t max_mailbox_messages;  /* messages in one mailbox */
	uint32_t max_mailboxes;         /* mailboxes of the user */
	uint32_t max_subscriptions;
};

/* An administrator's limits for a user (SETQUOTA, RFC 9208 §4.2), 0 = none. */
struct uimap_quota {
	uint64_t max_bytes;             /* STORAGE, in octets */
	uint64_t max_messages;          /* MESSAGE */
};

/* The size of a mailbox access key (URLAUTH, RFC 4467 §7). */
#define UIMAP_URLAUTH_KEY_SIZE 32

/* What a user holds, against its limits. */
struct uimap_store_usage {
	uint64_t messages, bytes;
	uint32_t mailboxes, subscriptions;
};

struct uimap_store_stats {
	uint64_t users;
	uint64_t mailboxes;
	uint64_t messages;          /* live messages over all mailboxes */
	uint64_t tombstones;        /* expunged, still held for a view or not compacted */
	uint64_t views;
	uint64_t message_bytes;     /* sum of message sizes (a shared blob once per copy) */
	uint64_t metadata_bytes;    /* everything except the message bytes */
	uint64_t metadata_per_message; /* per live message, in bytes (rounded) */
};

/* view_sync() reports, in this order. The callbacks may call the view's read-only
   functions (view_msg, view_count, view_keyword_name) from keywords, exists and
   flags, but not from expunge (the numbering is mid-update there), and must not
   change the store. Any callback may be NULL. */
struct uimap_sync_callbacks {
	/* "* seq EXPUNGE": seq is already adjusted for the expunges reported before it
	   in the same sync, so the lines can be written as they come. */
	void (*expunge)(void *ctx, uint32_t seq, uint32_t uid);
	/* The keyword table grew: send FLAGS (and PERMANENTFLAGS) again. Optional. */
	void (*keywords)(void *ctx);
	/* "* exists EXISTS" and "* recent RECENT": new messages were announced. */
	void (*exists)(void *ctx, uint32_t exists, uint32_t recent);
	/* "* seq FETCH (FLAGS ...)": another session changed the flags of a message
	   this session knows about. Changes made through this view are not repeated. */
	void (*flags)(void *ctx, const struct uimap_msg_info *info);
};

/* LIST/LSUB output, in name order. name is modified UTF-7. special_use is a mask
   of enum uimap_special_use. Return 0 to continue, non-zero to stop (returned by
   mailbox_list). For LIST "" "" the single call has the root name (may be "") and
   attrs = UIMAP_LIST_NOSELECT. */
typedef int uimap_list_cb(void *ctx, const char *name, unsigned attrs,
			  unsigned special_use);

/* Changes to a user's mailboxes, for NOTIFY (RFC 5465): see user_watch. */
enum uimap_store_event_type {
	UIMAP_EVENT_MAILBOX_CREATE,     /* name (also each missing parent created) */
	UIMAP_EVENT_MAILBOX_DELETE,     /* name */
	UIMAP_EVENT_MAILBOX_RENAME,     /* name -> new_name (inferiors move along,
					   not reported one by one) */
	UIMAP_EVENT_SUBSCRIBE,          /* name */
	UIMAP_EVENT_UNSUBSCRIBE,        /* name */
	UIMAP_EVENT_MESSAGE_NEW,        /* name: APPEND, COPY or MOVE into it */
	UIMAP_EVENT_MESSAGE_EXPUNGE,    /* name */
	UIMAP_EVENT_FLAGS,              /* name; seen_changed: \Seen was set or cleared */
};

struct uimap_store_event {
	enum uimap_store_event_type type;
	const char *name;
	const char *new_name;
	bool seen_changed;
};

/* Called inside the mutating call (the strings are valid only then): it must only
   record the event and must not call into the store. */
typedef void uimap_store_watch_fn(void *ctx, const struct uimap_store_event *event);

/* ---- the backend vtable ------------------------------------------------------ */

struct uimap_store_vtable;

/* Handles: a backend embeds these as the first member of its own structures. */
struct uimap_store {
	const struct uimap_store_vtable *vt;
};
struct uimap_store_user {
	const struct uimap_store_vtable *vt;
};
struct uimap_store_view {
	const struct uimap_store_vtable *vt;
};

/* Optional members are appended at the end as the library grows (tests/abi keeps the
   exported ABI): a backend is compiled against the headers of the library it runs with,
   and leaves the members it does not implement NULL (designated initializers). */
struct uimap_store_vtable {
	const char *name;

	/* Free the store. Every user and view must have been closed. */
	void (*destroy)(struct uimap_store *store);
	/* Optional. Fill *stats_r. Returns 0 or -errno. */
	int (*stats)(struct uimap_store *store, struct uimap_store_stats *stats_r);

	/* Open a user after authentication (several sessions may hold the same user).
	   A store may create the user with a default mailbox set on first use.
	   Returns 0 with *user_r, or -errno. */
	int (*user_open)(struct uimap_store *store, const char *username,
			 struct uimap_store_user **user_r);
	/* Release a user from user_open(). Views of the user must be closed first. */
	void (*user_close)(struct uimap_store_user *user);

	/* CREATE: creates missing parents, strips a trailing '/', validates the name
	   (modified UTF-7, no '*' or '%', no empty level). CREATE of an existing
	   \Noselect name makes it selectable. special_use: enum uimap_special_use mask
	   (RFC 6154 CREATE-SPECIAL-USE; 0 normally). Returns 0, -EEXIST, -EINVAL. */
	int (*mailbox_create)(struct uimap_store_user *user, const char *name,
			      unsigned special_use);
	/* DELETE (RFC 3501 6.3.4): INBOX gives -EPERM; a mailbox with children loses
	   its messages and becomes \Noselect; a \Noselect name with children gives
	   -ENOTEMPTY; otherwise the name is removed. Views on it keep reading what
	   they had but change nothing (STORE gives -ESTALE, EXPUNGE and MOVE leave
	   it), and every view_sync() returns -ENOENT without reporting expunges (the
	   session is to go, as Dovecot's does). Costs O(1): the messages are freed
	   with the last view (over several background() calls when many). Returns 0
	   or -errno. */
	int (*mailbox_delete)(struct uimap_store_user *user, const char *name);
	/* RENAME (RFC 3501 6.3.5): children move along, missing parents of new_name are
	   created, views keep working under the new name. Renaming INBOX moves its
	   messages to new_name and leaves INBOX empty (views on INBOX see them expunged).
	   Subscriptions are not changed. Returns 0, -ENOENT, -EEXIST, -EINVAL. */
	int (*mailbox_rename)(struct uimap_store_user *user, const char *old_name,
			      const char *new_name);
	/* SUBSCRIBE / UNSUBSCRIBE. Any valid name may be subscribed, existing or not.
	   Returns 1 when the list changed, 0 when it already was so, -EINVAL. */
	int (*mailbox_subscribe)(struct uimap_store_user *user, const char *name,
				 bool subscribe);
	/* LIST / LSUB (RFC 3501 6.3.8, 6.3.9) with reference and pattern ('*', '%').
	   flags: enum uimap_list_flags. Returns 0, the callback's non-zero value, or
	   -errno. */
	int (*mailbox_list)(struct uimap_store_user *user, const char *reference,
			    const char *pattern, unsigned flags, uimap_list_cb *cb, void *ctx);
	/* STATUS. Does not change \Recent. Returns 0, -ENOENT, -EPERM (\Noselect). */
	int (*mailbox_status)(struct uimap_store_user *user, const char *name,
			      struct uimap_status *status_r);
	/* APPEND one message. Views on the mailbox (including the appending session's)
	   learn of it on their next view_sync(). Returns 0 with *result_r, -ENOENT
	   (TRYCREATE), -EPERM, -EINVAL (bad keyword), -ENOSPC. */
	int (*mailbox_append)(struct uimap_store_user *user, const char *name,
			      const struct uimap_append *msg,
			      struct uimap_append_result *result_r);

	/* SELECT (readonly false) or EXAMINE (true): a new view. A read-write view
	   takes \Recent for messages that arrived since the last read-write SELECT
	   (RFC 3501 2.3.2). Returns 0 with *view_r and *info_r, -ENOENT, -EPERM. */
	int (*view_open)(struct uimap_store_user *user, const char *name, bool readonly,
			 struct uimap_store_view **view_r, struct uimap_select_info *info_r);
	/* Close a view without expunging (CLOSE = view_expunge + view_close; UNSELECT
	   and SELECT of another mailbox = view_close). */
	void (*view_close)(struct uimap_store_view *view);
	/* Call wake(ctx) when a change this view has not seen happens (at most once
	   between two view_sync() calls), so the loop can push it to an IDLE client.
	   wake runs inside the mutating call: it must only schedule work and must not
	   call into the store. wake NULL removes the hook. */
	void (*view_set_wake)(struct uimap_store_view *view, void (*wake)(void *ctx),
			      void *ctx);
	/* Bring the view up to date and report what changed: expunges (only with
	   UIMAP_SYNC_EXPUNGES; otherwise the expunged messages keep their sequence
	   numbers and stay readable), then keywords, then new messages (exists), then
	   flag changes of messages already announced. Returns 0, or -ENOENT when the
	   mailbox was deleted (the session should leave the selected state). */
	int (*view_sync)(struct uimap_store_view *view, unsigned flags,
			 const struct uimap_sync_callbacks *cb, void *ctx);
	/* Number of messages the session knows (the last EXISTS minus EXPUNGEs sent). */
	uint32_t (*view_count)(struct uimap_store_view *view);
	/* Message at sequence number seq (1..count). Returns 0 with *info_r, or -EINVAL
	   when seq is out of range. O(log n); consecutive seqs are O(1). */
	int (*view_msg)(struct uimap_store_view *view, uint32_t seq,
			struct uimap_msg_info *info_r);
	/* UID to sequence number by binary search. Returns 1 with *seq_r, 0 when the
	   view has no message with that UID. */
	int (*view_uid_to_seq)(struct uimap_store_view *view, uint32_t uid, uint32_t *seq_r);
	/* The sequence numbers of the messages whose UIDs are in uids (for UID FETCH,
	   UID STORE, UID SEARCH, UID COPY; the caller resolves '*' to the last UID).
	   Returns 1 with *seqs_r, or 0 when no message falls in the range. */
	int (*view_uid_range)(struct uimap_store_view *view, struct uimap_range uids,
			      struct uimap_range *seqs_r);
	/* Keyword name to index in the mailbox's table; create adds it if missing.
	   Returns the index, -ENOENT (missing and !create), -EINVAL (not a keyword:
	   empty, or starting with '\'), -ENOSPC (table full), -EROFS (create on a
	   read-only view). */
	int (*view_keyword_index)(struct uimap_store_view *view, const char *keyword,
				  bool create);
	/* Keyword i's name, or NULL when i >= the number of keywords (for FLAGS). */
	const char *(*view_keyword_name)(struct uimap_store_view *view, unsigned i);
	/* STORE on message seq. UIMAP_FLAG_RECENT in flags is ignored. unchangedsince 0
	   means no test (CONDSTORE). Fills *info_r (may be NULL) with the resulting
	   state. Returns 1 when the flags changed (modseq bumped, other views told),
	   0 when not, -EROFS, -ESTALE, -ECANCELED, -EINVAL. */
	int (*view_store_flags)(struct uimap_store_view *view, uint32_t seq,
				enum uimap_flags_mode mode, const struct uimap_flags *flags,
				uint64_t unchangedsince, struct uimap_msg_info *info_r);
	/* EXPUNGE (uids NULL) or UID EXPUNGE (n sorted UID ranges): removes \Deleted
	   messages from the mailbox. The view reports its EXPUNGE responses in its next
	   view_sync(UIMAP_SYNC_EXPUNGES). Returns the number expunged, or -EROFS. */
	int (*view_expunge)(struct uimap_store_view *view, const struct uimap_range *uids,
			    size_t n);
	/* COPY (move false) or MOVE (true) of the messages at the n sorted sequence
	   ranges to dest, sharing their blobs; flags (keywords mapped by name) and
	   INTERNALDATE are kept, the copies are \Recent. MOVE then expunges the
	   originals (reported by the next view_sync). Nothing is copied on error.
	   Returns 0 with *result_r, -ENOENT (TRYCREATE), -EPERM, -EINVAL, -ENOSPC,
	   -EROFS (MOVE from a read-only view). */
	int (*view_copy)(struct uimap_store_view *view, const struct uimap_range *seqs,
			 size_t n, const char *dest, bool move,
			 struct uimap_copy_result *result_r);

	/* Optional. A command is about to make up to changes changes in mailbox name,
	   adding messages new messages and carrying bytes of message data and keyword
	   names (a STORE over a set, a MULTIAPPEND): whether they all fit the user's
	   limits and can all be saved, so that it changes all or nothing. Returns 0,
	   -EDQUOT, -EMLINK, -ENOENT (no such mailbox), or -EIO; nothing must be
	   changed after an error. */
	int (*reserve)(struct uimap_store_user *user, const char *name, uint64_t changes,
		       uint64_t messages, uint64_t bytes);

	/* Optional. Enforce limits on the user from now on (changes that would pass
	   one fail with -EDQUOT or -EMLINK and change nothing; what is over a lowered
	   limit stays). Several sessions of a user share its limits: the last set. */
	void (*set_limits)(struct uimap_store_user *user, const struct uimap_store_limits *limits);
	/* Optional. What the user holds now. */
	void (*usage)(struct uimap_store_user *user, struct uimap_store_usage *usage_r);

	/* Optional. Called by the server once per loop turn, so that a store can spread
	   big work (freeing a deleted mailbox of a million messages) over turns instead
	   of stalling the loop. Returns true while work is left (the loop then polls
	   instead of sleeping). */
	bool (*background)(struct uimap_store *store);

	/* Optional (QRESYNC, RFC 7162 §3.2; without it QRESYNC is not offered). Call
	   cb(ctx, lo, hi) for the UIDs expunged from the view's mailbox at a
	   mod-sequence above modseq, as ascending ranges, limited to the n sorted
	   ranges uids (uids NULL: all). The ranges may also hold UIDs expunged earlier
	   or never used (a client ignores those), never a message that exists.
	   Returns 0 or -errno. */
	int (*view_vanished)(struct uimap_store_view *view, uint64_t modseq,
			     const struct uimap_range *uids, size_t n,
			     void (*cb)(void *ctx, uint32_t lo, uint32_t hi), void *ctx);
	/* Optional. The HIGHESTMODSEQ of the view's mailbox now, in O(1) (else the server
	   asks mailbox_status(), which may count \Recent messages). */
	uint64_t (*view_highest_modseq)(struct uimap_store_view *view);

	/* Optional (NOTIFY, RFC 5465; without it NOTIFY is not offered). Call fn(ctx,
	   event) for every change to the user's mailboxes and subscriptions, made by
	   any session of the user, from now on; fn NULL stops the watcher registered
	   with ctx. A user may have many watchers (one per session). Returns 0 or
	   -errno. */
	int (*user_watch)(struct uimap_store_user *user, uimap_store_watch_fn *fn, void *ctx);

	/* Optional (SETQUOTA, RFC 9208 §4.2; without it QUOTASET is not offered). Give
	   the user an administrator's STORAGE and MESSAGE limits, which replace those of
	   set_limits() from now on and for the user's sessions at once (what is over a
	   lowered limit stays); q NULL removes them. The store keeps them (persisted
	   like the mail). Returns 0, or -EIO when the change cannot be saved (nothing
	   changed). */
	int (*quota_set)(struct uimap_store_user *user, const struct uimap_quota *q);
	/* Optional. The administrator's limits of the user: 1 with *q_r, 0 when none. */
	int (*quota_get)(struct uimap_store_user *user, struct uimap_quota *q_r);

	/* Optional (URLAUTH, RFC 4467; without them URLAUTH is not offered). A
	   mailbox's access key (UIMAP_URLAUTH_KEY_SIZE bytes), by mailbox name, kept by
	   the store (persisted like the mail). urlauth_key_get: 1 with key_r, 0 when the
	   mailbox has none. urlauth_key_set: give mailbox key, or remove its key (key
	   NULL), or remove all of the user's keys (mailbox and key NULL). Returns 0, or
	   -EIO when the change cannot be saved (nothing changed). */
	int (*urlauth_key_get)(struct uimap_store_user *user, const char *mailbox,
			       unsigned char *key_r);
	int (*urlauth_key_set)(struct uimap_store_user *user, const char *mailbox,
			       const unsigned char *key);
};

/* Convenience destructors: call the vtable and NULL the handle (NULL allowed). */
static inline void uimap_store_free(struct uimap_store **store)
{
	if (*store != NULL)
		(*store)->vt->destroy(*store);
	*store = NULL;
}

static inline void uimap_store_user_close(struct uimap_store_user **user)
{
	if (*user != NULL)
		(*user)->vt->user_close(*user);
	*user = NULL;
}

static inline void uimap_store_view_close(struct uimap_store_view **view)
{
	if (*view != NULL)
		(*view)->vt->view_close(*view);
	*view = NULL;
}

/* Call fn(ctx, info) for every message of view in n sorted, non-overlapping ranges
   of sequence numbers (by_uid false; clipped to 1..count) or of UIDs (by_uid true;
   UIDs the view does not have are skipped), in ascending order (FETCH, SEARCH,
   STORE, COPY sets). Stops at the first non-zero return of fn and returns it;
   returns 0 otherwise. */
static inline int uimap_store_view_foreach(struct uimap_store_view *view,
					   const struct uimap_range *ranges, size_t n,
					   bool by_uid,
					   int (*fn)(void *ctx, const struct uimap_msg_info *info),
					   void *ctx)
{
	uint32_t count = view->vt->view_count(view);

	for (size_t i = 0; i < n; i++) {
		struct uimap_range seqs = ranges[i];

		if (by_uid) {
			if (view->vt->view_uid_range(view, ranges[i], &seqs) != 1)
				continue;
		} else {
			if (seqs.lo == 0)
				seqs.lo = 1;
			if (seqs.hi > count)
				seqs.hi = count;
		}
		for (uint32_t seq = seqs.lo; seq >= 1 && seq <= seqs.hi; seq++) {
			struct uimap_msg_info info;
			int r;

			if (view->vt->view_msg(view, seq, &info) != 0)
				continue;
			r = fn(ctx, &info);
			if (r != 0)
				return r;
			if (seq == UINT32_MAX)
				break;
		}
	}
	return 0;
}

/* ---- the in-memory store ------------------------------------------------------- */

struct uimap_store_default_mailbox {
	const char *name;           /* modified UTF-7 */
	unsigned special_use;       /* enum uimap_special_use */
};

struct uimap_store_memory_settings {
	/* Mailboxes created for a new user besides INBOX (always created). NULL:
	   Drafts, Sent, Trash, Junk, Archive with their special-use attributes. */
	const struct uimap_store_default_mailbox *default_mailboxes;
	size_t n_default_mailboxes;
	/* Subscribe new users to their default mailboxes. */
	bool subscribe_defaults;
};

/* The default store: everything in memory (persistence attaches to its change
   hook). settings may be NULL. Returns 0 with *store_r, or -EINVAL
   (an invalid default mailbox name). Free with uimap_store_free(). */
int uimap_store_memory_new(const struct uimap_store_memory_settings *settings,
			   struct uimap_store **store_r);

/* The in-memory store's vtable (to wrap or extend it). */
extern const struct uimap_store_vtable uimap_store_memory_vtable;

#ifdef __cplusplus
}
#endif
#endif
