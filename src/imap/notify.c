/* NOTIFY (RFC 5465): the session's setting, the store's events recorded, and the
   unsolicited STATUS / LIST responses written from them. */
#include "imap/notify.h"
#include "imap/cmd.h"
#include "imap/server.h"
#include "imap/session.h"
#include "core/alloc.h"
#include "net/conn.h"

#include <stdlib.h>
#include <string.h>

enum pending_kind {
	PENDING_STATUS,         /* message events of a mailbox (mask) */
	PENDING_NAME,           /* MailboxName: created or deleted (or its parent) */
	PENDING_RENAME,         /* MailboxName: name, formerly old */
	PENDING_SUBSCRIPTION,   /* SubscriptionChange */
};

enum {
	STATUS_MESSAGES = 1 << 0,   /* new or expunged messages */
	STATUS_FLAGS = 1 << 1,      /* flags changed */
	STATUS_SEEN = 1 << 2,       /* ... \Seen among them */
	STATUS_CREATED = 1 << 3,    /* a new mailbox (a new UIDVALIDITY) */
};

struct notify_pending {
	enum pending_kind kind;
	unsigned mask;
	char *name;
	char *old;
};

struct notify *notify_new(void)
{
	struct notify *n = xcalloc(1, sizeof(*n));
	arena_init(&n->arena, 1024);
	arena_init(&n->scratch, 4096);
	return n;
}

static void pending_clear(struct notify *n)
{
	for (unsigned i = 0; i < n->n_pending; i++) {
		free(n->pending[i].name);
		free(n->pending[i].old);
	}
	n->n_pending = 0;
}

void notify_destroy(struct notify **np)
{
	struct notify *n = *np;
	if (n == NULL)
		return;
	*np = NULL;
	pending_clear(n);
	free(n->pending);
	arena_free(&n->arena);
	arena_free(&n->scratch);
	free(n);
}

/* ---- recording (inside the store's mutating call: no output, no store calls) ---- */

static void add_pending(struct notify *n, enum pending_kind kind, const char *name,
			const char *old, unsigned mask)
{
	/* a mailbox's STATUS, or the LIST of a name, is told once with its state then */
	if (kind != PENDING_RENAME) {
		for (unsigned i = n->n_pending; i-- > 0;) {
			struct notify_pending *p = &n->pending[i];
			if (p->kind == kind && strcmp(p->name, name) == 0) {
				p->mask |= mask;
				return;
			}
		}
	}
	if (n->n_pending >= NOTIFY_MAX_PENDING) {
		n->overflow = true;
		pending_clear(n);
		return;
	}
	if (n->n_pending == n->cap_pending) {
		n->cap_pending = n->cap_pending ? 2 * n->cap_pending : 8;
		n->pending = xrealloc(n->pending, n->cap_pending * sizeof(*n->pending));
	}
	n->pending[n->n_pending++] = (struct notify_pending){
		.kind = kind, .mask = mask, .name = xstrdup(name),
		.old = old != NULL ? xstrdup(old) : NULL };
}

/* RFC 5465 §5.4: a created or deleted mailbox's direct parent is affected too */
static void add_name_and_parent(struct notify *n, const char *name)
{
	add_pending(n, PENDING_NAME, name, NULL, 0);
	const char *slash = strrchr(name, '/');
	if (slash != NULL && slash > name) {
		char *parent = xstrndup(name, (size_t)(slash - name));
		add_pending(n, PENDING_NAME, parent, NULL, 0);
		free(parent);
	}
}

static void watch_event(void *ctx, const struct uimap_store_event *ev)
{
	struct session *s = ctx;
	struct notify *n = s->notify;
	if (n == NULL || n->overflow)
		return;
	/* the selected mailbox renamed (by anyone): the view goes on under the new name,
	   and so must the name the filters compare with */
	if (ev->type == UIMAP_EVENT_MAILBOX_RENAME && ev->new_name != NULL && s->selected != NULL) {
		size_t len = strlen(ev->name);
		if (strncmp(s->selected, ev->name, len) == 0 &&
		    (s->selected[len] == '\0' || s->selected[len] == '/') &&
		    strcmp(ev->name, "INBOX") != 0) {
			char *renamed = xasprintf("%s%s", ev->new_name, s->selected + len);
			free(s->selected);
			s->selected = renamed;
		}
	}
	/* RFC 5465 §5: not the events this client caused itself */
	if (s->srv->acting == s)
		return;
	unsigned before = n->n_pending;
	switch (ev->type) {
	case UIMAP_EVENT_MESSAGE_NEW:
	case UIMAP_EVENT_MESSAGE_EXPUNGE:
		if (n->other_events & NOTIFY_MESSAGE_NEW)
			add_pending(n, PENDING_STATUS, ev->name, NULL, STATUS_MESSAGES);
		break;
	case UIMAP_EVENT_FLAGS:
		if (n->other_events & NOTIFY_FLAG_CHANGE)
			add_pending(n, PENDING_STATUS, ev->name, NULL,
				    STATUS_FLAGS | (ev->seen_changed ? STATUS_SEEN : 0));
		break;
	case UIMAP_EVENT_MAILBOX_CREATE:
		if (n->other_events & NOTIFY_MAILBOX_NAME)
			add_name_and_parent(n, ev->name);
		if (n->other_events & NOTIFY_MESSAGE_NEW)
			add_pending(n, PENDING_STATUS, ev->name, NULL, STATUS_CREATED);
		break;
	case UIMAP_EVENT_MAILBOX_DELETE:
		if (n->other_events & NOTIFY_MAILBOX_NAME)
			add_name_and_parent(n, ev->name);
		break;
	case UIMAP_EVENT_MAILBOX_RENAME:
		/* §5.4: renaming INBOX creates a new INBOX, no event for INBOX itself (the
		   new name was reported as created) */
		if ((n->other_events & NOTIFY_MAILBOX_NAME) && strcmp(ev->name, "INBOX") != 0 &&
		    ev->new_name != NULL)
			add_pending(n, PENDING_RENAME, ev->new_name, ev->name, 0);
		break;
	case UIMAP_EVENT_SUBSCRIBE:
	case UIMAP_EVENT_UNSUBSCRIBE:
		if (n->other_events & NOTIFY_SUBSCRIPTION_CHANGE)
			add_pending(n, PENDING_SUBSCRIPTION, ev->name, NULL, 0);
		break;
	}
	/* told between commands: wake the connection (nothing runs in this call) */
	if ((n->n_pending != before || n->overflow) && (!s->cmd_active || s->idling))
		conn_wake_soon(s->conn);
}

int notify_install(struct session *s, struct notify *n)
{
	struct uimap_store_user *u = s->mail;
	int r = 0;
	notify_destroy(&s->notify);
	if (u != NULL && u->vt->user_watch != NULL)
		r = u->vt->user_watch(u, n != NULL ? watch_event : NULL, s);
	if (r < 0) {
		notify_destroy(&n);
		return r;
	}
	s->notify = n;
	return 0;
}

/* ---- matching and writing (between commands or before a tagged reply) ---------- */

static int sub_found(void *ctx, const char *name, unsigned attrs, unsigned special_use)
{
	(void)attrs;
	(void)special_use;
	const char *want = ctx;
	return strcmp(name, want) == 0 ? 1 : 0;
}

static bool is_subscribed(struct session *s, const char *name)
{
	struct uimap_store_user *u = s->mail;
	return u->vt->mailbox_list(u, "", name, UIMAP_LIST_F_SUBSCRIBED, sub_found,
				   (void *)name) == 1;
}

static bool group_matches(struct session *s, const struct notify_group *g, const char *name)
{
	switch (g->filter) {
	case NOTIFY_INBOXES:
	case NOTIFY_PERSONAL:
		return true;
	case NOTIFY_SUBSCRIBED:
		return is_subscribed(s, name);
	case NOTIFY_SUBTREE:
		/* §6.5: the mailbox and every mailbox under it */
		for (unsigned i = 0; i < g->n_names; i++) {
			size_t len = strlen(g->names[i]);
			if (strncmp(name, g->names[i], len) == 0 &&
			    (name[len] == '\0' || name[len] == '/'))
				return true;
		}
		return false;
	case NOTIFY_MAILBOXES:
		/* §6.6: the names as they are, no wildcards */
		for (unsigned i = 0; i < g->n_names; i++)
			if (strcmp(name, g->names[i]) == 0)
				return true;
		return false;
	}
	return false;
}

/* The events of the groups that cover name (0: none). */
static unsigned events_for(struct session *s, const char *name)
{
	const struct notify *n = s->notify;
	unsigned ev = 0;
	for (unsigned i = 0; i < n->n_groups; i++) {
		const struct notify_group *g = &n->groups[i];
		if ((g->events & ~ev) != 0 && group_matches(s, g, name))
			ev |= g->events;
	}
	return ev;
}

static bool is_selected(const struct session *s, const char *name)
{
	return s->selected != NULL && strcmp(s->selected, name) == 0;
}

static void write_status(struct session *s, const char *name, const unsigned *which, unsigned n)
{
	struct status_items items = { (unsigned *)which, n };
	(void)status_write(s, name, &items);   /* gone meanwhile: nothing to tell */
}

static void flush_status(struct session *s, const struct notify_pending *p)
{
	/* §3.1: the SELECTED group alone decides about the selected mailbox */
	if (is_selected(s, p->name))
		return;
	unsigned ev = events_for(s, p->name);
	bool modseq = s->condstore || s->qresync;
	unsigned which[6], n = 0;
	if ((p->mask & (STATUS_MESSAGES | STATUS_CREATED)) && (ev & NOTIFY_MESSAGE_NEW)) {
		/* §5.2, §5.3: UIDNEXT and MESSAGES (UNSEEN too, as Dovecot); HIGHESTMODSEQ
		   once CONDSTORE is on; UIDVALIDITY for a new mailbox */
		which[n++] = ST_MESSAGES;
		which[n++] = ST_UIDNEXT;
		if ((p->mask & STATUS_CREATED) || modseq)
			which[n++] = ST_UIDVALIDITY;
		which[n++] = ST_UNSEEN;
		if (modseq)
			which[n++] = ST_HIGHESTMODSEQ;
	} else if ((p->mask & STATUS_FLAGS) && (ev & NOTIFY_FLAG_CHANGE)) {
		/* §5.1: HIGHESTMODSEQ and UIDVALIDITY with CONDSTORE; without it UNSEEN when
		   \Seen changed, else nothing */
		if (modseq) {
			which[n++] = ST_UIDVALIDITY;
			which[n++] = ST_HIGHESTMODSEQ;
			which[n++] = ST_UNSEEN;
		} else if (p->mask & STATUS_SEEN) {
			which[n++] = ST_UNSEEN;
		}
	}
	if (n > 0)
		write_status(s, p->name, which, n);
}

static void flush_one(struct session *s, const struct notify_pending *p)
{
	switch (p->kind) {
	case PENDING_STATUS:
		flush_status(s, p);
		break;
	case PENDING_NAME:
		if (events_for(s, p->name) & NOTIFY_MAILBOX_NAME)
			list_write_event(s, &s->notify->scratch, p->name, NULL);
		break;
	case PENDING_RENAME:
		if ((events_for(s, p->name) | events_for(s, p->old)) & NOTIFY_MAILBOX_NAME)
			list_write_event(s, &s->notify->scratch, p->name, p->old);
		break;
	case PENDING_SUBSCRIPTION:
		/* §6.4: under SUBSCRIBED a name that was just unsubscribed is told too */
		for (unsigned i = 0; i < s->notify->n_groups; i++) {
			const struct notify_group *g = &s->notify->groups[i];
			if ((g->events & NOTIFY_SUBSCRIPTION_CHANGE) &&
			    (g->filter == NOTIFY_SUBSCRIBED || group_matches(s, g, p->name))) {
				list_write_event(s, &s->notify->scratch, p->name, NULL);
				break;
			}
		}
		break;
	}
	arena_reset(&s->notify->scratch);
}

bool notify_pending(const struct session *s)
{
	return s->notify != NULL && (s->notify->n_pending > 0 || s->notify->overflow);
}

void notify_flush(struct session *s)
{
	struct notify *n = s->notify;
	/* nothing after LOGOUT's BYE (RFC 3501 §6.1.3) */
	if (n == NULL || s->mail == NULL || s->state == SESSION_LOGOUT)
		return;
	if (n->overflow) {
		/* RFC 5465 §5.8: say so, then as after NOTIFY NONE */
		session_untagged(s, "OK [NOTIFICATIONOVERFLOW] Too many events; NOTIFY is off.");
		(void)notify_install(s, NULL);
		return;
	}
	if (n->n_pending == 0)
		return;
	/* the list is taken first: a response written here changes nothing in the store */
	struct notify_pending *v = n->pending;
	unsigned count = n->n_pending;
	n->pending = NULL;
	n->n_pending = n->cap_pending = 0;
	for (unsigned i = 0; i < count; i++)
		flush_one(s, &v[i]);
	for (unsigned i = 0; i < count; i++) {
		free(v[i].name);
		free(v[i].old);
	}
	free(v);
	/* an idle session keeps no scratch memory */
	if (s->notify != NULL)
		arena_free(&s->notify->scratch);
	conn_mark_dirty(s->conn);
}

/* ---- NOTIFY SET STATUS ------------------------------------------------------------ */

struct name_list {
	struct arena *a;
	const char **v;
	unsigned n, cap;
};

static int collect_name(void *ctx, const char *name, unsigned attrs, unsigned special_use)
{
	(void)special_use;
	struct name_list *l = ctx;
	if (attrs & (UIMAP_LIST_NOSELECT | UIMAP_LIST_NONEXISTENT))
		return 0;
	if (l->n == l->cap) {
		unsigned cap = l->cap ? 2 * l->cap : 32;
		const char **v = arena_alloc(l->a, cap * sizeof(*v));
		if (l->n > 0)
			memcpy(v, l->v, l->n * sizeof(*v));
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = arena_strndup(l->a, name, strlen(name));
	return 0;
}

void notify_initial_status(struct session *s)
{
	struct notify *n = s->notify;
	struct uimap_store_user *u = s->mail;
	if (n == NULL || !(n->other_events & NOTIFY_MESSAGE_NEW))
		return;
	struct name_list l = { .a = &n->scratch };
	if (u->vt->mailbox_list(u, "", "*", 0, collect_name, &l) < 0)
		return;
	for (unsigned i = 0; i < l.n; i++) {
		if (is_selected(s, l.v[i]))
			continue;
		unsigned ev = events_for(s, l.v[i]);
		if (!(ev & NOTIFY_MESSAGE_NEW))
			continue;
		/* §3.1: MESSAGES UIDNEXT UIDVALIDITY; HIGHESTMODSEQ for FlagChange */
		unsigned which[5] = { ST_MESSAGES, ST_UIDNEXT, ST_UIDVALIDITY, ST_UNSEEN,
				      ST_HIGHESTMODSEQ };
		write_status(s, l.v[i], which,
			     (ev & NOTIFY_FLAG_CHANGE) || s->condstore || s->qresync ? 5 : 4);
	}
	arena_free(&n->scratch);
}

/* ---- the selected mailbox ---------------------------------------------------------- */

bool notify_push_selected(const struct session *s)
{
	return s->notify != NULL && s->notify->selected;
}

bool notify_push_expunges(const struct session *s)
{
	return notify_push_selected(s) && !s->notify->selected_delayed;
}

bool notify_tell_flags(const struct session *s)
{
	return !notify_push_selected(s) || (s->notify->selected_events & NOTIFY_FLAG_CHANGE);
}

void notify_new_messages(struct session *s, uint32_t first, uint32_t last)
{
	if (!notify_push_selected(s) || !s->notify->has_fetch)
		return;
	for (uint32_t seq = first; seq >= 1 && seq <= last; seq++)
		fetch_write_notify(s, &s->notify->fetch, seq);
}
