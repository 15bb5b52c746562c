/* NOTIFY (RFC 5465): SET [STATUS] (filter events)... and NONE. Unsupported events get
   NO [BADEVENT (...)] naming the supported ones; the rules of §5 and §6.1 (MessageNew
   with MessageExpunge, FlagChange with both, SELECTED only once and only with message
   events, fetch attributes only there) get BAD. */
#include "imap/cmd.h"
#include "imap/fetch.h"
#include "imap/notify.h"
#include "imap/session.h"
#include "core/common.h"

#include <string.h>
#include <strings.h>

#define SUPPORTED_EVENTS "MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"

static const struct {
	const char *name;
	unsigned bit;       /* 0: known, not supported */
	bool message;
} event_names[] = {
	{ "MessageNew", NOTIFY_MESSAGE_NEW, true },
	{ "MessageExpunge", NOTIFY_MESSAGE_EXPUNGE, true },
	{ "FlagChange", NOTIFY_FLAG_CHANGE, true },
	{ "AnnotationChange", 0, true },
	{ "MailboxName", NOTIFY_MAILBOX_NAME, false },
	{ "SubscriptionChange", NOTIFY_SUBSCRIPTION_CHANGE, false },
	{ "MailboxMetadataChange", 0, false },
	{ "ServerMetadataChange", 0, false },
};

struct parse {
	struct uimap_cmd *cmd;  /* the session's form of mailbox names (UTF8=ACCEPT) */
	struct notify *n;
	const char *error;      /* BAD text */
	bool badevent;          /* an event we do not support: NO [BADEVENT] */
};

/* A mailbox name as the store keeps it: "INBOX" in any case canonical (RFC 3501 §5.1). */
static const char *canonical_name(struct arena *a, const char *name)
{
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/')) {
		char *c = arena_strndup(a, name, strlen(name));
		memcpy(c, "INBOX", 5);
		return c;
	}
	return arena_strndup(a, name, strlen(name));
}

static int parse_names(struct parse *p, const struct imap_arg *arg, struct notify_group *g)
{
	const struct imap_arg *v = arg;
	unsigned count = 1;
	if (arg->type == IMAP_ARG_LIST) {
		v = arg->u.list;
		count = arg->len;
		if (count == 0) {
			p->error = "Empty mailbox list.";
			return -1;
		}
	}
	g->names = arena_alloc(&p->n->arena, count * sizeof(*g->names));
	for (unsigned i = 0; i < count; i++) {
		const char *name;
		if (!cmd_mailbox(p->cmd, &v[i], &name)) {
			p->error = "Invalid mailbox name.";
			return -1;
		}
		g->names[g->n_names++] = canonical_name(&p->n->arena, name);
	}
	return 0;
}

/* The events of one group: a list, or NONE. Returns the bits, or -1. */
static int parse_events(struct parse *p, const struct imap_arg *arg, bool selected)
{
	if (arg->type == IMAP_ARG_ATOM && strcasecmp(arg->u.str, "NONE") == 0)
		return 0;
	if (arg->type != IMAP_ARG_LIST || arg->len == 0) {
		p->error = "Events must be a list or NONE.";
		return -1;
	}
	unsigned bits = 0;
	bool new = false, expunge = false, flags = false;
	for (unsigned i = 0; i < arg->len; i++) {
		const struct imap_arg *e = &arg->u.list[i];
		if (e->type != IMAP_ARG_ATOM) {
			p->error = "Invalid event.";
			return -1;
		}
		unsigned k = 0;
		while (k < N_ELEMENTS(event_names) && strcasecmp(e->u.str, event_names[k].name) != 0)
			k++;
		if (k == N_ELEMENTS(event_names)) {
			p->badevent = true;     /* event-ext: syntactically fine, unknown here */
			continue;
		}
		if (selected && !event_names[k].message) {
			/* RFC 5465 §6.1: only message events with SELECTED(-DELAYED) */
			p->error = "SELECTED takes only message events.";
			return -1;
		}
		if (event_names[k].bit == 0)
			p->badevent = true;
		bits |= event_names[k].bit;
		new |= event_names[k].bit == NOTIFY_MESSAGE_NEW;
		expunge |= event_names[k].bit == NOTIFY_MESSAGE_EXPUNGE;
		flags |= event_names[k].bit == NOTIFY_FLAG_CHANGE || (event_names[k].message &&
								     event_names[k].bit == 0);
		if (event_names[k].bit == NOTIFY_MESSAGE_NEW && i + 1 < arg->len &&
		    arg->u.list[i + 1].type == IMAP_ARG_LIST) {
			/* RFC 5465 §8: fetch attributes only for the selected mailbox */
			if (!selected) {
				p->error = "MessageNew takes fetch attributes only with SELECTED.";
				return -1;
			}
			const char *error;
			if (fetch_items_parse_in(&p->n->arena, &arg->u.list[i + 1], &p->n->fetch,
						 &error) < 0) {
				p->error = error;
				return -1;
			}
			p->n->has_fetch = true;
			i++;
		}
	}
	/* RFC 5465 §5: MessageNew and MessageExpunge together; FlagChange (and
	   AnnotationChange) only with both */
	if (new != expunge) {
		p->error = "MessageNew and MessageExpunge go together.";
		return -1;
	}
	if (flags && !new) {
		p->error = "FlagChange needs MessageNew and MessageExpunge.";
		return -1;
	}
	return (int)bits;
}

static int parse_group(struct parse *p, const struct imap_arg *arg)
{
	struct notify *n = p->n;
	if (arg->type != IMAP_ARG_LIST || arg->len < 2 || arg->u.list[0].type != IMAP_ARG_ATOM) {
		p->error = "An event group is (mailboxes events).";
		return -1;
	}
	const struct imap_arg *v = arg->u.list;
	const char *filter = v[0].u.str;
	bool selected = strcasecmp(filter, "SELECTED") == 0;
	bool delayed = strcasecmp(filter, "SELECTED-DELAYED") == 0;
	if (selected || delayed) {
		if (arg->len != 2) {
			p->error = "An event group is (mailboxes events).";
			return -1;
		}
		if (n->selected || n->selected_events != 0 || n->selected_delayed) {
			/* RFC 5465 §6.1: only one of them, once */
			p->error = "SELECTED or SELECTED-DELAYED may be given once.";
			return -1;
		}
		int ev = parse_events(p, &v[1], true);
		if (ev < 0)
			return -1;
		n->selected_events = (unsigned)ev;
		/* SELECTED NONE: no message events for the selected mailbox (handled as
		   without a SELECTED group, see docs/extensions.md) */
		n->selected = ev != 0;
		n->selected_delayed = delayed;
		return 0;
	}
	struct notify_group g = { 0 };
	unsigned events_at = 1;
	if (strcasecmp(filter, "INBOXES") == 0) {
		g.filter = NOTIFY_INBOXES;
	} else if (strcasecmp(filter, "PERSONAL") == 0) {
		g.filter = NOTIFY_PERSONAL;
	} else if (strcasecmp(filter, "SUBSCRIBED") == 0) {
		g.filter = NOTIFY_SUBSCRIBED;
	} else if (strcasecmp(filter, "SUBTREE") == 0 || strcasecmp(filter, "MAILBOXES") == 0) {
		g.filter = strcasecmp(filter, "SUBTREE") == 0 ? NOTIFY_SUBTREE : NOTIFY_MAILBOXES;
		if (arg->len != 3) {
			p->error = "SUBTREE and MAILBOXES take mailbox names, then events.";
			return -1;
		}
		if (parse_names(p, &v[1], &g) < 0)
			return -1;
		events_at = 2;
	} else {
		p->error = "Unknown mailbox filter.";
		return -1;
	}
	if (arg->len != events_at + 1) {
		p->error = "An event group is (mailboxes events).";
		return -1;
	}
	int ev = parse_events(p, &v[events_at], false);
	if (ev < 0)
		return -1;
	g.events = (unsigned)ev;
	struct notify_group *groups = arena_alloc(&n->arena, (n->n_groups + 1) * sizeof(*groups));
	if (n->n_groups > 0)
		memcpy(groups, n->groups, n->n_groups * sizeof(*groups));
	groups[n->n_groups++] = g;
	n->groups = groups;
	n->other_events |= g.events;
	return 0;
}

int cmd_notify(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const struct imap_arg *args = cmd->c.args;
	unsigned n_args = cmd->c.n_args;
	if (s->mail == NULL || s->mail->vt->user_watch == NULL) {
		cmd_reply(cmd, "BAD", "NOTIFY is not supported by this server's store.");
		return CMD_DONE;
	}
	if (n_args == 0 || args[0].type != IMAP_ARG_ATOM) {
		cmd_reply(cmd, "BAD", "NOTIFY takes SET or NONE.");
		return CMD_DONE;
	}
	if (strcasecmp(args[0].u.str, "NONE") == 0) {
		if (n_args != 1) {
			cmd_reply(cmd, "BAD", "NOTIFY NONE takes no arguments.");
			return CMD_DONE;
		}
		(void)notify_install(s, NULL);
		cmd_reply(cmd, "OK", "NOTIFY completed.");
		return CMD_DONE;
	}
	if (strcasecmp(args[0].u.str, "SET") != 0) {
		cmd_reply(cmd, "BAD", "NOTIFY takes SET or NONE.");
		return CMD_DONE;
	}
	unsigned i = 1;
	bool status = false;
	if (i < n_args && args[i].type == IMAP_ARG_ATOM && strcasecmp(args[i].u.str, "STATUS") == 0) {
		status = true;
		i++;
	}
	if (i == n_args) {
		cmd_reply(cmd, "BAD", "NOTIFY SET needs at least one event group.");
		return CMD_DONE;
	}
	struct parse p = { .cmd = cmd, .n = notify_new() };
	for (; i < n_args; i++)
		if (parse_group(&p, &args[i]) < 0)
			break;
	if (p.error != NULL) {
		cmd_reply(cmd, "BAD", "%s", p.error);
		notify_destroy(&p.n);
		return CMD_DONE;
	}
	if (p.badevent) {
		/* RFC 5465 §3.1: NO (not BAD), naming every event supported */
		cmd_reply(cmd, "NO", "[BADEVENT (" SUPPORTED_EVENTS ")] Unsupported event.");
		notify_destroy(&p.n);
		return CMD_DONE;
	}
	int r = notify_install(s, p.n);
	if (r < 0) {
		reply_store_error(cmd, r, "NOTIFY");
		return CMD_DONE;
	}
	if (status)
		notify_initial_status(s);
	/* RFC 5465 §3.1: an implicit NOOP (the reply's sync tells the selected mailbox's
	   changes) */
	cmd_reply(cmd, "OK", "NOTIFY completed.");
	return CMD_DONE;
}
