/* LIST and LSUB (RFC 3501 §6.3.8, §6.3.9) with CHILDREN (RFC 3348), LIST-EXTENDED
   (RFC 5258: selection and return options, several patterns, \NonExistent,
   \Subscribed, CHILDINFO), SPECIAL-USE (RFC 6154) and LIST-STATUS (RFC 5819). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "core/common.h"
#include "mail/imapstr.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	SEL_SUBSCRIBED = 1 << 0,
	SEL_REMOTE = 1 << 1,
	SEL_RECURSIVEMATCH = 1 << 2,
	SEL_SPECIAL_USE = 1 << 3,
};

enum {
	RET_SUBSCRIBED = 1 << 0,
	RET_CHILDREN = 1 << 1,
	RET_SPECIAL_USE = 1 << 2,
	RET_STATUS = 1 << 3,
};

/* One name a pattern matched (an existing mailbox, a subscription, or both). */
struct list_entry {
	const char *name;
	unsigned attrs;         /* enum uimap_list_attr of the mailbox (0: none exists) */
	unsigned special_use;
	bool exists, subscribed;
	const char *oldname;    /* NOTIFY MailboxName after RENAME (RFC 5465 §5.4) */
};

struct list_ctx {
	struct session *s;
	struct arena *arena;    /* the entries' memory (NULL: the command's) */
	struct list_entry *v;
	unsigned n, cap;
	bool from_lsub;         /* entries come from the subscription list */
};

static const struct {
	unsigned bit;
	const char *name;
} special_names[] = {
	{ UIMAP_SPECIAL_ALL, "\\All" },
	{ UIMAP_SPECIAL_ARCHIVE, "\\Archive" },
	{ UIMAP_SPECIAL_DRAFTS, "\\Drafts" },
	{ UIMAP_SPECIAL_FLAGGED, "\\Flagged" },
	{ UIMAP_SPECIAL_JUNK, "\\Junk" },
	{ UIMAP_SPECIAL_SENT, "\\Sent" },
	{ UIMAP_SPECIAL_TRASH, "\\Trash" },
};

unsigned special_use_parse(const char *name)
{
	for (unsigned i = 0; i < N_ELEMENTS(special_names); i++)
		if (strcasecmp(name, special_names[i].name) == 0)
			return special_names[i].bit;
	return 0;
}

static int collect(void *ctx, const char *name, unsigned attrs, unsigned special_use)
{
	struct list_ctx *lc = ctx;
	struct arena *a = lc->arena != NULL ? lc->arena : &lc->s->arena;
	if (lc->n == lc->cap) {
		unsigned cap = lc->cap ? 2 * lc->cap : 32;
		struct list_entry *v = arena_alloc(a, cap * sizeof(*v));
		if (lc->n > 0)
			memcpy(v, lc->v, lc->n * sizeof(*v));
		lc->v = v;
		lc->cap = cap;
	}
	struct list_entry *e = &lc->v[lc->n++];
	e->name = arena_strndup(a, name, strlen(name));
	e->oldname = NULL;
	e->attrs = attrs;
	e->special_use = special_use;
	/* from the subscriptions: a subscribed name (existing or not), or with '%' an
	   unsubscribed parent of one; whether a mailbox exists comes from the mailbox
	   list (merged by name) */
	e->exists = !lc->from_lsub;
	e->subscribed = (attrs & UIMAP_LIST_SUBSCRIBED) != 0;
	return 0;
}

static void write_entry(struct session *s, const char *verb, const struct list_entry *e,
			unsigned sel, unsigned ret, bool childinfo, bool extended);

/* RFC 3501 §6.3.9: LSUB as the store answers it (\Noselect for a subscription with no
   mailbox, and for an unsubscribed parent matched by '%'). */
static int lsub_one(void *ctx, const char *name, unsigned attrs, unsigned special_use)
{
	(void)special_use;
	struct list_entry e = { .name = name, .exists = true,
				.attrs = attrs & ~(unsigned)UIMAP_LIST_NONEXISTENT };
	if (attrs & UIMAP_LIST_NONEXISTENT)
		e.attrs |= UIMAP_LIST_NOSELECT;
	write_entry(ctx, "LSUB", &e, 0, 0, false, false);
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_entry *)a)->name, ((const struct list_entry *)b)->name);
}

/* Sort by name and merge the entries of one name (found by several patterns, or as a
   mailbox and as a subscription). */
static void merge(struct list_ctx *lc)
{
	if (lc->n > 1)
		qsort(lc->v, lc->n, sizeof(*lc->v), entry_cmp);
	unsigned out = 0;
	for (unsigned i = 0; i < lc->n; i++) {
		struct list_entry *e = &lc->v[i];
		if (out > 0 && strcmp(lc->v[out - 1].name, e->name) == 0) {
			struct list_entry *m = &lc->v[out - 1];
			if (e->exists) {
				m->attrs = e->attrs;
				m->special_use = e->special_use;
				m->exists = true;
			}
			m->subscribed |= e->subscribed;
			continue;
		}
		lc->v[out++] = *e;
	}
	lc->n = out;
}

static bool selected_by(const struct list_entry *e, unsigned sel)
{
	if ((sel & SEL_SUBSCRIBED) ? !e->subscribed : !e->exists)
		return false;
	return !(sel & SEL_SPECIAL_USE) || (e->exists && e->special_use != 0);
}

/* RFC 5258 §3.5 RECURSIVEMATCH: whether some descendant of e is selected. all holds
   every mailbox and subscription, sorted, so the descendants follow e's name. */
static bool has_selected_child(const struct list_ctx *all, const char *name, unsigned sel)
{
	size_t len = strlen(name);
	/* the first name >= "name/": the descendants are a run from there */
	unsigned lo = 0, hi = all->n;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = strncmp(all->v[mid].name, name, len);
		if (c < 0 || (c == 0 && (unsigned char)all->v[mid].name[len] < '/'))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (unsigned i = lo; i < all->n; i++) {
		const struct list_entry *d = &all->v[i];
		if (strncmp(d->name, name, len) != 0 || d->name[len] != '/')
			break;
		if (selected_by(d, sel))
			return true;
	}
	return false;
}

static void write_entry(struct session *s, const char *verb, const struct list_entry *e,
			unsigned sel, unsigned ret, bool childinfo, bool extended)
{
	struct outq *q = s->out;
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ UIMAP_LIST_NOSELECT, "\\Noselect" },
		{ UIMAP_LIST_NOINFERIORS, "\\Noinferiors" },
		{ UIMAP_LIST_HAS_CHILDREN, "\\HasChildren" },
		{ UIMAP_LIST_HAS_NO_CHILDREN, "\\HasNoChildren" },
	};
	outq_printf(q, "* %s (", verb);
	const char *sep = "";
	if (!e->exists && extended) {
		/* RFC 5258 §3: \NonExistent implies \Noselect */
		outq_puts(q, "\\NonExistent");
		sep = " ";
	} else {
		for (unsigned i = 0; i < N_ELEMENTS(names); i++) {
			if (e->attrs & names[i].bit) {
				outq_printf(q, "%s%s", sep, names[i].name);
				sep = " ";
			}
		}
	}
	if (e->subscribed && ((ret & RET_SUBSCRIBED) || (sel & SEL_SUBSCRIBED))) {
		outq_printf(q, "%s\\Subscribed", sep);
		sep = " ";
	}
	/* RFC 6154 §2: the attributes may come with every LIST (as Dovecot sends them) */
	for (unsigned i = 0; e->exists && i < N_ELEMENTS(special_names); i++) {
		if (e->special_use & special_names[i].bit) {
			outq_printf(q, "%s%s", sep, special_names[i].name);
			sep = " ";
		}
	}
	outq_puts(q, ") \"/\" ");
	session_write_mailbox(s, q, e->name);
	if (childinfo) {
		/* RFC 5258 §3.5: which selection criteria a descendant matched */
		outq_puts(q, " (\"CHILDINFO\" (");
		sep = "";
		if (sel & SEL_SUBSCRIBED) {
			outq_puts(q, "\"SUBSCRIBED\"");
			sep = " ";
		}
		if (sel & SEL_SPECIAL_USE)
			outq_printf(q, "%s\"SPECIAL-USE\"", sep);
		outq_puts(q, "))");
	}
	if (e->oldname != NULL) {
		outq_puts(q, " (\"OLDNAME\" (");
		session_write_mailbox(s, q, e->oldname);
		outq_puts(q, "))");
	}
	outq_puts(q, "\r\n");
}

/* Selection options (RFC 5258 §3.1, RFC 6154 §3). Returns the bits, or -1. */
static int parse_selection(const struct imap_arg *list)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = { { "SUBSCRIBED", SEL_SUBSCRIBED }, { "REMOTE", SEL_REMOTE },
		     { "RECURSIVEMATCH", SEL_RECURSIVEMATCH }, { "SPECIAL-USE", SEL_SPECIAL_USE } };
	unsigned sel = 0;
	for (unsigned i = 0; i < list->len; i++) {
		const struct imap_arg *a = &list->u.list[i];
		unsigned k = 0;
		for (; a->type == IMAP_ARG_ATOM && k < N_ELEMENTS(opts); k++)
			if (strcasecmp(a->u.str, opts[k].name) == 0)
				break;
		if (a->type != IMAP_ARG_ATOM || k == N_ELEMENTS(opts))
			return -1;
		sel |= opts[k].bit;
	}
	/* RFC 5258 §3.1: RECURSIVEMATCH needs another option that selects (not REMOTE) */
	if ((sel & SEL_RECURSIVEMATCH) && !(sel & (SEL_SUBSCRIBED | SEL_SPECIAL_USE)))
		return -1;
	return (int)sel;
}

/* Return options (RFC 5258 §3.2, RFC 6154 §3, RFC 5819). Returns the bits, or -1. */
static int parse_return(struct uimap_cmd *cmd, const struct imap_arg *list,
			struct status_items *status_r)
{
	unsigned ret = 0;
	if (list->type != IMAP_ARG_LIST)
		return -1;
	for (unsigned i = 0; i < list->len; i++) {
		const struct imap_arg *a = &list->u.list[i];
		if (a->type != IMAP_ARG_ATOM)
			return -1;
		if (strcasecmp(a->u.str, "SUBSCRIBED") == 0)
			ret |= RET_SUBSCRIBED;
		else if (strcasecmp(a->u.str, "CHILDREN") == 0)
			ret |= RET_CHILDREN;
		else if (strcasecmp(a->u.str, "SPECIAL-USE") == 0)
			ret |= RET_SPECIAL_USE;
		else if (strcasecmp(a->u.str, "STATUS") == 0 && i + 1 < list->len &&
			 !(ret & RET_STATUS) && status_items_parse(cmd, &list->u.list[++i], status_r) == 0)
			ret |= RET_STATUS;
		else
			return -1;
	}
	return (int)ret;
}

static int list_common(struct uimap_cmd *cmd, bool lsub)
{
	struct session *s = cmd->s;
	const struct imap_arg *args = cmd->c.args;
	unsigned n = cmd->c.n_args, i = 0;
	int sel = 0, ret = 0;
	bool extended = false;
	struct status_items status = { 0 };
	const char *ref;

	if (!lsub && n > 0 && args[0].type == IMAP_ARG_LIST) {
		sel = parse_selection(&args[0]);
		if (sel < 0) {
			cmd_reply(cmd, "BAD", "Invalid LIST selection options.");
			return CMD_DONE;
		}
		extended = true;
		i = 1;
	}
	if (!lsub && n == i + 4 && args[i + 2].type == IMAP_ARG_ATOM &&
	    strcasecmp(args[i + 2].u.str, "RETURN") == 0) {
		ret = parse_return(cmd, &args[i + 3], &status);
		if (ret < 0) {
			cmd_reply(cmd, "BAD", "Invalid LIST return options.");
			return CMD_DONE;
		}
		extended = true;
		n -= 2;
	}
	const struct imap_arg *pats = &args[i + 1];
	unsigned n_pats = 1;
	if (!lsub && n == i + 2 && pats->type == IMAP_ARG_LIST) {
		/* RFC 5258 §3: several patterns */
		n_pats = pats->len;
		pats = pats->u.list;
		extended = true;
	}
	if (n != i + 2 || !cmd_mailbox(cmd, &args[i], &ref) || n_pats == 0) {
		cmd_reply(cmd, "BAD", "%s takes a reference and a mailbox pattern.",
			  cmd->def->name);
		return CMD_DONE;
	}
	/* the names the patterns match: mailboxes, and subscriptions when they select */
	struct list_ctx lc = { .s = s };
	struct uimap_store_user *u = s->mail;
	for (unsigned p = 0; p < n_pats; p++) {
		const char *pattern;
		if (!cmd_mailbox(cmd, &pats[p], &pattern)) {
			cmd_reply(cmd, "BAD", "Invalid mailbox pattern.");
			return CMD_DONE;
		}
		if (pattern[0] == '\0' && !lsub) {
			/* RFC 3501 §6.3.8: the hierarchy delimiter and the root */
			outq_puts(s->out, "* LIST (\\Noselect) \"/\" \"\"\r\n");
			continue;
		}
		int r = 0;
		lc.from_lsub = false;
		if (lsub)
			r = u->vt->mailbox_list(u, ref, pattern, UIMAP_LIST_F_SUBSCRIBED, lsub_one, s);
		else
			r = u->vt->mailbox_list(u, ref, pattern, 0, collect, &lc);
		if (r == 0 && (sel & SEL_SUBSCRIBED)) {
			lc.from_lsub = true;
			r = u->vt->mailbox_list(u, ref, pattern, UIMAP_LIST_F_SUBSCRIBED, collect, &lc);
		}
		if (r < 0) {
			reply_store_error(cmd, r, cmd->def->name);
			return CMD_DONE;
		}
	}
	if (lsub) {
		cmd_reply(cmd, "OK", "LSUB completed.");
		return CMD_DONE;
	}
	merge(&lc);
	struct list_ctx all = { .s = s };
	if (sel & SEL_RECURSIVEMATCH) {
		int r = u->vt->mailbox_list(u, "", "*", 0, collect, &all);
		all.from_lsub = true;
		if (r == 0)
			r = u->vt->mailbox_list(u, "", "*", UIMAP_LIST_F_SUBSCRIBED, collect, &all);
		if (r < 0) {
			reply_store_error(cmd, r, "LIST");
			return CMD_DONE;
		}
		merge(&all);
	}
	for (unsigned k = 0; k < lc.n; k++) {
		const struct list_entry *e = &lc.v[k];
		bool childinfo = false;
		if (!selected_by(e, (unsigned)sel)) {
			if (!(sel & SEL_RECURSIVEMATCH) || !has_selected_child(&all, e->name,
									       (unsigned)sel))
				continue;
			childinfo = true;
		}
		if (!e->exists && !e->subscribed && !childinfo)
			continue;
		write_entry(s, "LIST", e, (unsigned)sel, (unsigned)ret, childinfo, extended);
		/* RFC 5819 §2: STATUS right after the LIST of each selectable mailbox */
		if ((ret & RET_STATUS) && e->exists && !(e->attrs & UIMAP_LIST_NOSELECT))
			status_write(s, e->name, &status);
	}
	cmd_reply(cmd, "OK", "%s completed.", cmd->def->name);
	return CMD_DONE;
}

int cmd_list(struct uimap_cmd *cmd)
{
	return list_common(cmd, false);
}

int cmd_lsub(struct uimap_cmd *cmd)
{
	return list_common(cmd, true);
}

void list_write_event(struct session *s, struct arena *a, const char *name, const char *oldname)
{
	struct uimap_store_user *u = s->mail;
	struct list_ctx lc = { .s = s, .arena = a };
	struct list_entry e = { .name = name, .oldname = oldname };
	/* the name as it is now: \NonExistent when gone (RFC 5465 §5.4), every attribute
	   computed as LIST would (§5.5) */
	if (u->vt->mailbox_list(u, "", name, 0, collect, &lc) == 0) {
		for (unsigned i = 0; i < lc.n; i++) {
			if (strcmp(lc.v[i].name, name) == 0) {
				e = lc.v[i];
				e.oldname = oldname;
			}
		}
	}
	lc.n = 0;
	lc.from_lsub = true;
	if (u->vt->mailbox_list(u, "", name, UIMAP_LIST_F_SUBSCRIBED, collect, &lc) == 0)
		for (unsigned i = 0; i < lc.n; i++)
			if (strcmp(lc.v[i].name, name) == 0)
				e.subscribed = true;
	write_entry(s, "LIST", &e, 0, RET_SUBSCRIBED, false, true);
}
