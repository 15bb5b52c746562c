/* NOTIFY (RFC 5465): which events a session asked for, the events of other mailboxes
   waiting to be told (unsolicited STATUS and LIST), and the rules for the selected
   mailbox (pushed between commands, MessageNew's FETCH). The store tells a watching
   session each change of its user's mailboxes (user_watch); the session only records
   it there and writes the responses when no command runs (or IDLE does), or before the
   next tagged reply. */
#ifndef IMAP_NOTIFY_H
#define IMAP_NOTIFY_H

#include "core/arena.h"
#include "imap/fetch.h"

#include <stdbool.h>
#include <stdint.h>

struct session;

enum notify_event {
	NOTIFY_MESSAGE_NEW = 1 << 0,
	NOTIFY_MESSAGE_EXPUNGE = 1 << 1,
	NOTIFY_FLAG_CHANGE = 1 << 2,
	NOTIFY_MAILBOX_NAME = 1 << 3,
	NOTIFY_SUBSCRIPTION_CHANGE = 1 << 4,
};
#define NOTIFY_MESSAGE_EVENTS (NOTIFY_MESSAGE_NEW | NOTIFY_MESSAGE_EXPUNGE | NOTIFY_FLAG_CHANGE)

/* The mailbox specifiers of RFC 5465 §6 other than SELECTED / SELECTED-DELAYED. */
enum notify_filter {
	NOTIFY_INBOXES,      /* = PERSONAL: any mailbox may receive mail here (§6.3) */
	NOTIFY_PERSONAL,
	NOTIFY_SUBSCRIBED,
	NOTIFY_SUBTREE,
	NOTIFY_MAILBOXES,
};

struct notify_group {
	enum notify_filter filter;
	unsigned events;            /* enum notify_event bits */
	const char **names;         /* SUBTREE / MAILBOXES: canonical names */
	unsigned n_names;
};

struct notify_pending;

struct notify {
	struct arena arena;         /* groups, names, MessageNew's items: until replaced */
	struct arena scratch;       /* while writing notifications */
	struct notify_group *groups;
	unsigned n_groups;
	unsigned other_events;      /* union of the groups' events */
	/* SELECTED / SELECTED-DELAYED (§6.1): message events of the selected mailbox */
	bool selected;
	bool selected_delayed;
	unsigned selected_events;
	bool has_fetch;             /* MessageNew (fetch-att ...) */
	struct fetch_items fetch;
	/* events of other mailboxes not yet told, in order (STATUS ones merged per name) */
	struct notify_pending *pending;
	unsigned n_pending, cap_pending;
	bool overflow;              /* too many: NOTIFICATIONOVERFLOW at the next flush */
};

/* Events waiting at most (names of other mailboxes; a STATUS per mailbox is merged):
   one more and the session gets "* OK [NOTIFICATIONOVERFLOW]" (§5.8) and NOTIFY NONE. */
#define NOTIFY_MAX_PENDING 1000

/* A new, empty setting; the NOTIFY command fills it (memory from its arena). */
struct notify *notify_new(void);

/* Free a setting that was never installed (NULL allowed). */
void notify_destroy(struct notify **n);

/* Make n the session's setting (the old one is freed; NULL is NOTIFY NONE, and the
   session's end) and watch (or stop watching) the user's mailboxes. Returns 0, or the
   store's -errno (the old setting is gone either way). */
int notify_install(struct session *s, struct notify *n);

/* NOTIFY SET STATUS (§3.1): "* STATUS" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN, and
   HIGHESTMODSEQ with FlagChange or CONDSTORE) for each mailbox other than the selected
   one whose message events the setting asks for. */
void notify_initial_status(struct session *s);

/* Whether events of other mailboxes wait to be told (or an overflow). */
bool notify_pending(const struct session *s);

/* Tell what waits: STATUS and LIST responses for the groups that match now, or
   "* OK [NOTIFICATIONOVERFLOW]" and NOTIFY NONE. */
void notify_flush(struct session *s);

/* The selected mailbox under SELECTED / SELECTED-DELAYED: whether its changes are
   pushed between commands, whether expunges may be pushed too (SELECTED), whether
   other sessions' flag changes are told (FlagChange). Without a setting or without a
   SELECTED group: the pre-NOTIFY rules (at the end of commands, and in IDLE). */
bool notify_push_selected(const struct session *s);
bool notify_push_expunges(const struct session *s);
bool notify_tell_flags(const struct session *s);

/* After "* n EXISTS": MessageNew's FETCH for the new messages first..last. */
void notify_new_messages(struct session *s, uint32_t first, uint32_t last);

#endif
