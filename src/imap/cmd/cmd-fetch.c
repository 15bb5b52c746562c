/* FETCH and UID FETCH (RFC 3501 §6.4.5): resumable under output back-pressure, message
   bodies sent by reference; MODSEQ and CHANGEDSINCE of CONDSTORE (RFC 7162 §3.1). */
#include "imap/fetch.h"
#include "imap/session.h"
#include "imap/context.h"
#include "imap/cursor.h"
#include "imap/datetime.h"
#include "imap/seqset.h"
#include "net/conn.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

struct fetch_state {
	struct fetch_items items;
	struct uimap_range *ranges;
	unsigned n_ranges;
	struct range_cursor cursor;
	uint64_t changedsince;        /* CHANGEDSINCE: only messages changed after it (0: all) */
	bool vanished;                /* VANISHED modifier (QRESYNC, RFC 7162 §3.2.6) */
	bool partial;                 /* PARTIAL modifier (RFC 9394 §3.2) */
	struct partial_range range;
	uint64_t pos, first, last;    /* position among the messages that qualify */
	bool any_expunged;
	const char *binary_error;     /* RFC 3516: the code of an undecodable BINARY part */
};

static const struct {
	const char *name;
	enum fetch_kind kind;
} simple_items[] = {
	{ "FLAGS", FETCH_FLAGS },
	{ "UID", FETCH_UID },
	{ "INTERNALDATE", FETCH_INTERNALDATE },
	{ "RFC822.SIZE", FETCH_RFC822_SIZE },
	{ "ENVELOPE", FETCH_ENVELOPE },
	{ "BODY", FETCH_BODY },
	{ "BODYSTRUCTURE", FETCH_BODYSTRUCTURE },
	{ "RFC822", FETCH_RFC822 },
	{ "RFC822.HEADER", FETCH_RFC822_HEADER },
	{ "RFC822.TEXT", FETCH_RFC822_TEXT },
	{ "MODSEQ", FETCH_MODSEQ },
};

static int parse_u32(const char *s, size_t n, uint32_t *v_r)
{
	uint64_t v = 0;
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > 0xffffffffULL)
		return -1;
	*v_r = (uint32_t)v;
	return 0;
}

/* BODY[section]<o.l> / BODY.PEEK[section]<o.l> */
static int parse_section_item(struct arena *a, const char *atom, struct fetch_item *it,
			      const char **error_r)
{
	const char *open = strchr(atom, '[');
	size_t prefix = (size_t)(open - atom);
	const char *name = "BODY";
	it->kind = FETCH_SECTION;
	if (prefix == 4 && strncasecmp(atom, "BODY", 4) == 0) {
		it->peek = false;
	} else if (prefix == 9 && strncasecmp(atom, "BODY.PEEK", 9) == 0) {
		it->peek = true;
	} else if (prefix == 6 && strncasecmp(atom, "BINARY", 6) == 0) {
		it->kind = FETCH_BINARY;
		name = "BINARY";
	} else if (prefix == 11 && strncasecmp(atom, "BINARY.PEEK", 11) == 0) {
		it->kind = FETCH_BINARY;
		it->peek = true;
		name = "BINARY";
	} else if (prefix == 11 && strncasecmp(atom, "BINARY.SIZE", 11) == 0) {
		it->kind = FETCH_BINARY_SIZE;
		it->peek = true;
		name = "BINARY.SIZE";
	} else {
		goto bad;
	}
	const char *close = strrchr(atom, ']');
	if (close == NULL || close < open)
		goto bad;
	it->section = arena_strndup(a, open + 1, (size_t)(close - open - 1));
	if (fetch_section_prepare(a, it, error_r) < 0)
		return -1;
	/* RFC 3516 §4.2: section-binary is part numbers only */
	if (it->kind != FETCH_SECTION && it->sec->kind != MAIL_SECTION_ALL) {
		*error_r = "BINARY takes part numbers only (no HEADER, TEXT or MIME)";
		return -1;
	}
	const char *rest = close + 1;
	if (*rest == '<' && it->kind != FETCH_BINARY_SIZE) {
		const char *dot = strchr(rest, '.');
		const char *gt = strchr(rest, '>');
		if (dot == NULL || gt == NULL || dot > gt || gt[1] != '\0' ||
		    parse_u32(rest + 1, (size_t)(dot - rest - 1), &it->origin) < 0 ||
		    parse_u32(dot + 1, (size_t)(gt - dot - 1), &it->length) < 0 || it->length == 0)
			goto bad;
		it->partial = true;
	} else if (*rest != '\0') {
		goto bad;
	}
	/* the response names the section as asked, partial with its origin only */
	char *label = arena_printf(a, "%s[%s]", name, it->section);
	if (it->partial)
		label = arena_printf(a, "%s<%u>", label, it->origin);
	it->label = label;
	return 0;
bad:
	*error_r = "Invalid FETCH body section";
	return -1;
}

static int parse_one(struct arena *arena, const struct imap_arg *a, struct fetch_items *items,
		     const char **error_r)
{
	if (a->type != IMAP_ARG_ATOM) {
		*error_r = "Invalid FETCH item";
		return -1;
	}
	struct fetch_item *it = &items->v[items->n];
	memset(it, 0, sizeof(*it));
	if (strchr(a->u.str, '[') != NULL) {
		if (parse_section_item(arena, a->u.str, it, error_r) < 0)
			return -1;
		if (!it->peek)
			items->sets_seen = true;
		items->n++;
		return 0;
	}
	for (size_t i = 0; i < sizeof(simple_items) / sizeof(simple_items[0]); i++) {
		if (strcasecmp(a->u.str, simple_items[i].name) == 0) {
			it->kind = simple_items[i].kind;
			it->label = simple_items[i].name;
			if (it->kind == FETCH_RFC822 || it->kind == FETCH_RFC822_HEADER ||
			    it->kind == FETCH_RFC822_TEXT) {
				/* = BODY[], BODY.PEEK[HEADER], BODY[TEXT]: parsed once here */
				it->section = it->kind == FETCH_RFC822 ? "" :
					      it->kind == FETCH_RFC822_HEADER ? "HEADER" : "TEXT";
				if (fetch_section_prepare(arena, it, error_r) < 0)
					return -1;
			}
			if (it->kind == FETCH_RFC822 || it->kind == FETCH_RFC822_TEXT)
				items->sets_seen = true;
			if (it->kind == FETCH_FLAGS)
				items->has_flags = true;
			if (it->kind == FETCH_UID)
				items->has_uid = true;
			if (it->kind == FETCH_MODSEQ)
				items->has_modseq = true;
			if (it->kind == FETCH_ENVELOPE || it->kind == FETCH_BODY ||
			    it->kind == FETCH_BODYSTRUCTURE)
				items->needs_mime = true;
			items->n++;
			return 0;
		}
	}
	/* RFC 3501 §6.4.5: unknown items are an error, not silently dropped */
	*error_r = "Unknown FETCH item";
	return -1;
}

int fetch_items_parse(struct uimap_cmd *cmd, const struct imap_arg *arg,
		      struct fetch_items *items_r, const char **error_r)
{
	return fetch_items_parse_in(&cmd->s->arena, arg, items_r, error_r);
}

int fetch_items_parse_in(struct arena *a, const struct imap_arg *arg,
			 struct fetch_items *items_r, const char **error_r)
{
	static const char *const macro_all[] = { "FLAGS", "INTERNALDATE", "RFC822.SIZE",
						 "ENVELOPE", "BODY" };
	memset(items_r, 0, sizeof(*items_r));
	const struct imap_arg *list = arg;
	unsigned n = 1;
	if (arg->type == IMAP_ARG_LIST) {
		list = arg->u.list;
		n = arg->len;
		if (n == 0) {
			*error_r = "Empty FETCH item list";
			return -1;
		}
	} else if (arg->type == IMAP_ARG_ATOM) {
		unsigned m = 0;
		if (strcasecmp(arg->u.str, "ALL") == 0)
			m = 4;
		else if (strcasecmp(arg->u.str, "FAST") == 0)
			m = 3;
		else if (strcasecmp(arg->u.str, "FULL") == 0)
			m = 5;
		if (m != 0) {
			struct imap_arg *v = arena_alloc(a, m * sizeof(*v));
			for (unsigned i = 0; i < m; i++) {
				v[i].type = IMAP_ARG_ATOM;
				v[i].u.str = macro_all[i];
				v[i].len = (uint32_t)strlen(macro_all[i]);
			}
			list = v;
			n = m;
		}
	}
	items_r->v = arena_alloc(a, (n + 1) * sizeof(struct fetch_item));
	for (unsigned i = 0; i < n; i++)
		if (parse_one(a, &list[i], items_r, error_r) < 0)
			return -1;
	return 1;
}

static void write_item(struct session *s, const struct fetch_item *it,
		       const struct uimap_msg_info *info, bool *ok)
{
	struct outq *q = s->out;
	const char *error;
	switch (it->kind) {
	case FETCH_FLAGS:
		outq_puts(q, "FLAGS ");
		write_flags(q, s->view, &info->flags, !s->rev2);
		break;
	case FETCH_UID:
		outq_printf(q, "UID %u", info->uid);
		break;
	case FETCH_INTERNALDATE: {
		char date[32];
		imap_datetime_format(info->internaldate, info->tz_minutes, date);
		outq_printf(q, "INTERNALDATE \"%s\"", date);
		break;
	}
	case FETCH_RFC822_SIZE:
		outq_printf(q, "RFC822.SIZE %zu", info->size);
		break;
	case FETCH_MODSEQ:
		write_modseq(q, info->modseq);
		break;
	case FETCH_ENVELOPE:
	case FETCH_BODY:
	case FETCH_BODYSTRUCTURE:
		outq_printf(q, "%s ", it->label);
		if (fetch_write_mime(s, it->kind, info->blob) < 0)
			*ok = false;
		break;
	case FETCH_BINARY:
	case FETCH_BINARY_SIZE:
		outq_printf(q, "%s ", it->label);
		fetch_write_binary(s, it, info->blob);
		break;
	case FETCH_RFC822:
	case FETCH_RFC822_HEADER:
	case FETCH_RFC822_TEXT:
	case FETCH_SECTION:
		outq_printf(q, "%s ", it->label);
		if (fetch_write_section(s, it, info->blob, &error) < 0)
			*ok = false;
		break;
	}
}

static int fetch_continue(struct uimap_cmd *cmd);

static int fetch_one(struct uimap_cmd *cmd, struct fetch_state *st, uint32_t seq, bool *ok)
{
	struct session *s = cmd->s;
	struct uimap_store_view *v = s->view;
	struct uimap_msg_info info;
	if (v->vt->view_msg(v, seq, &info) < 0)
		return 0;
	/* RFC 7162 §3.1.4.1: CHANGEDSINCE leaves out messages not changed since */
	if (st->changedsince != 0 && info.modseq <= st->changedsince)
		return 0;
	/* RFC 9394 §3.2: only the qualifying messages at the positions asked for */
	if (st->partial && (++st->pos < st->first || st->pos > st->last))
		return 0;
	bool flags_changed = false;
	if (st->items.sets_seen && !s->readonly && !(info.flags.system & UIMAP_FLAG_SEEN) &&
	    !info.expunged) {
		/* RFC 3501 §6.4.5: BODY[] (not PEEK), RFC822 and RFC822.TEXT set \Seen */
		struct uimap_flags seen = { UIMAP_FLAG_SEEN, 0 };
		struct uimap_msg_info after;
		if (v->vt->view_store_flags(v, seq, UIMAP_FLAGS_ADD, &seen, 0, &after) > 0) {
			info.flags = after.flags;
			info.modseq = after.modseq;
			flags_changed = true;
		}
	}
	if (info.expunged)
		st->any_expunged = true;
	if (st->items.has_flags || flags_changed)
		session_announce_keywords(s, info.flags.keywords);
	struct outq *q = s->out;
	outq_printf(q, "* %u FETCH (", seq);
	bool first = true;
	/* RFC 3501 §6.4.8: UID FETCH always returns the UID; RFC 7162 §3.1: with
	   CONDSTORE, so does a FETCH that set \Seen */
	if (!st->items.has_uid && (cmd->uid || (flags_changed && s->condstore))) {
		outq_printf(q, "UID %u", info.uid);
		first = false;
	}
	for (unsigned i = 0; i < st->items.n; i++) {
		const struct fetch_item *it = &st->items.v[i];
		const char *code;
		/* a part we cannot decode is left out, the others go on; the command
		   ends NO with the code (as Dovecot) */
		if ((it->kind == FETCH_BINARY || it->kind == FETCH_BINARY_SIZE) &&
		    fetch_binary_check(s, it, info.blob, &code) < 0) {
			if (st->binary_error == NULL)
				st->binary_error = code;
			continue;
		}
		if (!first)
			outq_append(q, " ", 1);
		first = false;
		write_item(s, it, &info, ok);
	}
	/* RFC 3501 §9: a FETCH response holds at least one item (all were left out) */
	if (first) {
		outq_printf(q, "UID %u", info.uid);
		first = false;
	}
	if (flags_changed && !st->items.has_flags) {
		outq_puts(q, " FLAGS ");
		write_flags(q, v, &info.flags, !s->rev2);
	}
	/* RFC 7162 §3.1.4.1: CHANGEDSINCE implies MODSEQ; §3.1: so does a \Seen change
	   once CONDSTORE is on */
	if (!st->items.has_modseq && (st->changedsince != 0 || (flags_changed && s->condstore))) {
		outq_append(q, " ", 1);
		write_modseq(q, info.modseq);
	}
	outq_puts(q, ")\r\n");
	if (flags_changed && s->contexts != NULL)
		context_flags_changed(s, &info);   /* RFC 5267 §4.3: \Seen may change results */
	arena_reset(&s->scratch);
	return 0;
}

static int fetch_continue(struct uimap_cmd *cmd)
{
	struct fetch_state *st = cmd->ctx;
	struct slice sl;
	uint32_t seq;
	bool ok = true;
	slice_begin(&sl);
	while (ok && !(st->partial && st->pos >= st->last) && cursor_next(&st->cursor, &seq)) {
		fetch_one(cmd, st, seq, &ok);
		enum cmd_wait wait = slice_check(&sl, cmd->s);
		/* back-pressure (go on when the client has read this) or the slice's time */
		if (ok && wait != CMD_WAIT_NONE && cursor_left(&st->cursor) > 0)
			return cmd_block(cmd, wait, fetch_continue);
	}
	if (!ok)
		cmd_reply(cmd, "NO", "FETCH failed for some items.");
	else if (st->binary_error != NULL)
		cmd_reply(cmd, "NO", "[%s] %s", st->binary_error,
			  strcmp(st->binary_error, "UNKNOWN-CTE") == 0
			  ? "Unknown Content-Transfer-Encoding: the part cannot be decoded."
			  : "The part's encoding is broken: it cannot be decoded.");
	else if (st->any_expunged)
		cmd_reply(cmd, "OK", "[EXPUNGEISSUED] Some messages were expunged meanwhile.");
	else
		cmd_reply(cmd, "OK", "%sFETCH completed.", cmd->uid ? "UID " : "");
	return CMD_DONE;
}

/* RFC 4466 §2.4 fetch modifiers: CHANGEDSINCE (RFC 7162 §3.1.4.1), VANISHED
   (§3.2.6). */
static int fetch_modifiers(const struct imap_arg *list, struct fetch_state *st,
			   const char **error_r)
{
	const struct imap_arg *m = list->u.list;
	if (list->len == 0) {
		*error_r = "Empty FETCH modifier list";
		return -1;
	}
	for (unsigned i = 0; i < list->len; i++) {
		if (m[i].type == IMAP_ARG_ATOM && strcasecmp(m[i].u.str, "VANISHED") == 0 &&
		    !st->vanished) {
			st->vanished = true;
			continue;
		}
		if (m[i].type == IMAP_ARG_ATOM && strcasecmp(m[i].u.str, "PARTIAL") == 0 &&
		    !st->partial) {
			if (++i >= list->len || m[i].type != IMAP_ARG_ATOM ||
			    partial_range_parse(m[i].u.str, &st->range) < 0) {
				*error_r = "PARTIAL takes a range (a:b or -a:-b)";
				return -1;
			}
			st->partial = true;
			continue;
		}
		if (m[i].type != IMAP_ARG_ATOM || strcasecmp(m[i].u.str, "CHANGEDSINCE") != 0 ||
		    st->changedsince != 0) {
			*error_r = "Unknown FETCH modifier";
			return -1;
		}
		if (++i >= list->len || !arg_modseq(&m[i], false, &st->changedsince)) {
			*error_r = "CHANGEDSINCE takes a mod-sequence (1 or more)";
			return -1;
		}
	}
	return 0;
}

/* RFC 7162 §3.2.6: "* VANISHED (EARLIER)" for the UIDs of the set expunged since
   modseq ('*' reaching every UID, so trailing expunges are told too). */
static void fetch_vanished(struct uimap_cmd *cmd, const struct imap_arg *arg, uint64_t modseq)
{
	struct session *s = cmd->s;
	struct seqset set;
	const char *error;
	if (strcmp(arg->u.str, "$") == 0)
		searchres_seqset(s, &s->arena, &set);
	else if (seqset_parse(&s->arena, arg->u.str, UINT32_MAX, &set, &error) < 0)
		return;
	struct uimap_range *uids = arena_alloc(&s->arena, (set.n + 1) * sizeof(*uids));
	for (unsigned i = 0; i < set.n; i++)
		uids[i] = (struct uimap_range){ set.r[i].lo, set.r[i].hi };
	write_vanished_earlier(s, modseq, uids, set.n);
}

/* The positions PARTIAL selects among the messages of the set (those changed since
   CHANGEDSINCE, counted first, when it is given). Returns false when none. */
static bool fetch_partial_positions(struct session *s, struct fetch_state *st)
{
	uint64_t n = 0;
	if (st->changedsince == 0) {
		for (unsigned i = 0; i < st->n_ranges; i++)
			n += (uint64_t)st->ranges[i].hi - st->ranges[i].lo + 1;
	} else {
		struct range_cursor c;
		uint32_t seq;
		struct uimap_msg_info info;
		cursor_init(&c, st->ranges, st->n_ranges);
		while (cursor_next(&c, &seq))
			if (s->view->vt->view_msg(s->view, seq, &info) == 0 &&
			    info.modseq > st->changedsince)
				n++;
	}
	return partial_range_positions(&st->range, n, &st->first, &st->last);
}

int cmd_fetch(struct uimap_cmd *cmd)
{
	const char *error;
	if (cmd->c.n_args != 2 && (cmd->c.n_args != 3 || cmd->c.args[2].type != IMAP_ARG_LIST)) {
		cmd_reply(cmd, "BAD", "FETCH takes a sequence set, data items and modifiers.");
		return CMD_DONE;
	}
	struct fetch_state *st = arena_zalloc(&cmd->s->arena, sizeof(*st));
	if (fetch_items_parse(cmd, &cmd->c.args[1], &st->items, &error) < 0 ||
	    (cmd->c.n_args == 3 && fetch_modifiers(&cmd->c.args[2], st, &error) < 0) ||
	    arg_seq_ranges(cmd, &cmd->c.args[0], cmd->uid, &st->ranges, &st->n_ranges, &error) < 0) {
		cmd_reply(cmd, "BAD", "%s.", error);
		return CMD_DONE;
	}
	if (st->vanished && (!cmd->uid || !cmd->s->qresync || st->changedsince == 0)) {
		/* RFC 7162 §3.2.6: UID FETCH only, with CHANGEDSINCE, after ENABLE QRESYNC */
		cmd_reply(cmd, "BAD", "VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC enabled.");
		return CMD_DONE;
	}
	if (st->items.has_modseq || st->changedsince != 0)
		session_enable_condstore(cmd->s);  /* RFC 7162 §3.1: enabling commands */
	if (st->vanished)
		fetch_vanished(cmd, &cmd->c.args[0], st->changedsince);
	if (st->partial) {
		if (!fetch_partial_positions(cmd->s, st)) {
			cmd_reply(cmd, "OK", "%sFETCH completed (nothing in the range).",
				  cmd->uid ? "UID " : "");
			return CMD_DONE;
		}
		/* max-command-messages counts the page, not the set it is taken from */
		struct uimap_range page = { 1, (uint32_t)(st->last - st->first + 1) };
		if (!command_size_ok(cmd, &page, 1))
			return CMD_DONE;
	} else if (!command_size_ok(cmd, st->ranges, st->n_ranges)) {
		return CMD_DONE;
	}
	cursor_init(&st->cursor, st->ranges, st->n_ranges);
	cmd->ctx = st;
	return fetch_continue(cmd);
}

void fetch_write_notify(struct session *s, const struct fetch_items *items, uint32_t seq)
{
	struct uimap_store_view *v = s->view;
	struct uimap_msg_info info;
	bool ok = true;
	if (v->vt->view_msg(v, seq, &info) < 0)
		return;
	if (items->has_flags)
		session_announce_keywords(s, info.flags.keywords);
	struct outq *q = s->out;
	outq_printf(q, "* %u FETCH (", seq);
	/* the UID always, so that the client can tell the message by it (RFC 5465 §5.2's
	   example) */
	bool first = true;
	if (!items->has_uid) {
		outq_printf(q, "UID %u", info.uid);
		first = false;
	}
	for (unsigned i = 0; i < items->n; i++) {
		const char *code;
		if ((items->v[i].kind == FETCH_BINARY || items->v[i].kind == FETCH_BINARY_SIZE) &&
		    fetch_binary_check(s, &items->v[i], info.blob, &code) < 0)
			continue;   /* no tagged reply to carry the error: left out */
		if (!first)
			outq_append(q, " ", 1);
		first = false;
		write_item(s, &items->v[i], &info, &ok);
	}
	outq_puts(q, ")\r\n");
	arena_reset(&s->scratch);
}
