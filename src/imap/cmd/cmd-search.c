/* SEARCH and UID SEARCH (RFC 3501 §6.4.4), evaluated in slices so a long search over a
   large mailbox does not stall other connections; ESEARCH's RETURN options (RFC 4731),
   SEARCHRES's SAVE (RFC 5182), and CONTEXT=SEARCH's UPDATE with CANCELUPDATE
   (RFC 5267 §4.3, the updates themselves in imap/context.c). */
#include "imap/search.h"
#include "imap/fetch.h"
#include "imap/context.h"
#include "imap/session.h"
#include "imap/cursor.h"
#include "imap/seqset.h"
#include "core/alloc.h"
#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

enum search_return {
	RET_MIN = 1 << 0,
	RET_MAX = 1 << 1,
	RET_ALL = 1 << 2,
	RET_COUNT = 1 << 3,
	RET_SAVE = 1 << 4,
	RET_PARTIAL = 1 << 5,   /* RFC 9394 */
	RET_UPDATE = 1 << 6,    /* RFC 5267 §4.3 */
	RET_CONTEXT = 1 << 7,   /* RFC 5267 §4.2: a hint, nothing to do */
};

struct search_state {
	struct search_key *prog;
	struct uimap_range all;      /* 1:count */
	struct range_cursor cursor;
	uint64_t max_modseq;         /* of the matches, for "(MODSEQ n)" */
	/* ESEARCH (RETURN given) */
	unsigned ret;                /* enum search_return; 0: a classic SEARCH */
	uint32_t min, max, count;    /* numbers as answered (UIDs for UID SEARCH) */
	uint32_t min_uid, max_uid;
	uint64_t min_modseq, max_modseq_of_max;
	struct seqset_writer all_set;
	struct uimap_range *saved;   /* SAVE: the matches' UIDs, ascending ranges */
	unsigned n_saved, cap_saved;
	struct partial_range partial;   /* PARTIAL: the positions asked for */
	const char *partial_text;
	uint32_t *found;             /* PARTIAL: every match's number, in order */
	uint32_t n_found, cap_found;
	struct search_context *context; /* UPDATE: owns prog until attached at the end */
	const struct imap_arg *update_fetch; /* UPDATE (fetch-att ...), RFC 5465 §7 */
};

static void search_cleanup(struct uimap_cmd *cmd)
{
	struct search_state *st = cmd->ctx;
	if (st->context != NULL)
		context_free(st->context);   /* with the program */
	else
		search_free(st->prog);
	buf_free(&st->all_set.text);
	free(st->saved);
	free(st->found);
}

static void saved_add(struct search_state *st, uint32_t uid)
{
	if (st->n_saved > 0 && st->saved[st->n_saved - 1].hi + 1 == uid) {
		st->saved[st->n_saved - 1].hi = uid;
		return;
	}
	if (st->n_saved == st->cap_saved) {
		st->cap_saved = st->cap_saved ? 2 * st->cap_saved : 8;
		st->saved = xrealloc(st->saved, st->cap_saved * sizeof(*st->saved));
	}
	st->saved[st->n_saved++] = (struct uimap_range){ uid, uid };
}

/* RFC 5182 §2.1: $ takes the result (replacing the last one). */
static void searchres_set(struct session *s, struct uimap_range *uids, unsigned n)
{
	free(s->searchres);
	s->searchres = uids;
	s->n_searchres = n;
}

/* RFC 5182 §2.1: with MIN and/or MAX but neither ALL nor COUNT, SAVE keeps only the
   minimum and/or maximum. */
static bool save_min_max_only(unsigned ret)
{
	/* with PARTIAL the whole result is saved, as Dovecot does */
	return (ret & (RET_MIN | RET_MAX)) != 0 && (ret & (RET_ALL | RET_COUNT | RET_PARTIAL)) == 0;
}

static void match(struct uimap_cmd *cmd, struct search_state *st, uint32_t seq,
		  const struct uimap_msg_info *info)
{
	uint32_t num = cmd->uid ? info->uid : seq;
	if (info->modseq > st->max_modseq)
		st->max_modseq = info->modseq;
	if (st->context != NULL)
		context_add(st->context, info->uid);
	if (st->ret == 0) {
		char text[16];
		int n = snprintf(text, sizeof(text), " %u", num);
		outq_append(cmd->s->out, text, (size_t)n);
		return;
	}
	if (st->count++ == 0) {
		st->min = num;
		st->min_uid = info->uid;
		st->min_modseq = info->modseq;
	}
	st->max = num;
	st->max_uid = info->uid;
	st->max_modseq_of_max = info->modseq;
	if (st->ret & RET_ALL)
		seqset_writer_add(&st->all_set, num);
	if (st->ret & RET_PARTIAL) {
		if (st->n_found == st->cap_found) {
			st->cap_found = st->cap_found ? 2 * st->cap_found : 64;
			st->found = xrealloc(st->found, st->cap_found * sizeof(*st->found));
		}
		st->found[st->n_found++] = num;
	}
	/* SAVE with only MIN and/or MAX saves just those (added at the end) */
	if ((st->ret & RET_SAVE) && !save_min_max_only(st->ret))
		saved_add(st, info->uid);
}

/* "* ESEARCH (TAG "t") [UID] MIN MAX COUNT ALL [MODSEQ]" (RFC 4731 §3.1) */
static void esearch_reply(struct uimap_cmd *cmd, struct search_state *st)
{
	struct session *s = cmd->s;
	struct outq *q = s->out;
	unsigned shown = st->ret & (RET_MIN | RET_MAX | RET_ALL | RET_COUNT | RET_PARTIAL |
				    RET_UPDATE);
	if ((st->ret & RET_SAVE) && save_min_max_only(st->ret)) {
		/* RFC 5182 §2.1: SAVE with MIN/MAX only saves those messages */
		if (st->count > 0 && (st->ret & RET_MIN))
			saved_add(st, st->min_uid);
		if (st->count > 0 && (st->ret & RET_MAX) && st->max_uid != st->min_uid)
			saved_add(st, st->max_uid);
	}
	if (st->ret & RET_SAVE) {
		searchres_set(s, st->saved, st->n_saved);
		st->saved = NULL;
		st->n_saved = st->cap_saved = 0;
	}
	/* RFC 5182 §2.1: SAVE alone answers no ESEARCH; UPDATE alone answers one with no
	   data (as Dovecot: the client asks for ALL to get the initial result) */
	if (shown == 0)
		return;
	outq_printf(q, "* ESEARCH (TAG \"%s\")%s", cmd->c.tag, cmd->uid ? " UID" : "");
	if (st->count > 0 && (st->ret & RET_MIN))
		outq_printf(q, " MIN %u", st->min);
	if (st->count > 0 && (st->ret & RET_MAX))
		outq_printf(q, " MAX %u", st->max);
	if (st->ret & RET_COUNT)
		outq_printf(q, " COUNT %u", st->count);
	if (st->ret & RET_PARTIAL) {
		/* RFC 9394 §3.1: PARTIAL (range set), NIL when the range holds no result */
		uint64_t first, last;
		outq_printf(q, " PARTIAL (%s ", st->partial_text);
		if (partial_range_positions(&st->partial, st->n_found, &first, &last)) {
			struct seqset_writer w = { 0 };
			for (uint64_t i = first; i <= last; i++)
				seqset_writer_add(&w, st->found[i - 1]);
			seqset_writer_add(&w, 0);
			outq_append(q, w.text.data, w.text.len);
			buf_free(&w.text);
		} else {
			outq_puts(q, "NIL");
		}
		outq_puts(q, ")");
	}
	if (st->count > 0 && (st->ret & RET_ALL)) {
		seqset_writer_add(&st->all_set, 0);
		outq_puts(q, " ALL ");
		outq_append(q, st->all_set.text.data, st->all_set.text.len);
	}
	if (st->prog->uses_modseq && st->count > 0) {
		/* RFC 7162 §3.1.5: the highest mod-sequence of the messages returned; with
		   only MIN/MAX, of those */
		uint64_t m = st->max_modseq;
		if (!(st->ret & (RET_ALL | RET_COUNT))) {
			m = 0;
			if ((st->ret & RET_MIN) && st->min_modseq > m)
				m = st->min_modseq;
			if ((st->ret & RET_MAX) && st->max_modseq_of_max > m)
				m = st->max_modseq_of_max;
		}
		outq_printf(q, " MODSEQ %" PRIu64, m);
	}
	outq_puts(q, "\r\n");
}

static int search_continue(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct search_state *st = cmd->ctx;
	struct uimap_store_view *v = s->view;
	struct slice sl;
	uint32_t seq;
	slice_begin(&sl);
	while (cursor_next(&st->cursor, &seq)) {
		struct uimap_msg_info info;
		if (v->vt->view_msg(v, seq, &info) == 0 && search_match(s, st->prog, seq, &info))
			match(cmd, st, seq, &info);
		/* the response line may go out in parts; sequence numbers stay put (the
		   view is synced only at the tagged reply) */
		enum cmd_wait wait = slice_check(&sl, s);
		if (wait != CMD_WAIT_NONE && cursor_left(&st->cursor) > 0)
			return cmd_block(cmd, wait, search_continue);
	}
	if (st->ret != 0) {
		esearch_reply(cmd, st);
		if (st->context != NULL) {
			struct uimap_msg_info last;
			uint32_t max_uid = st->all.hi > 0 && v->vt->view_msg(v, st->all.hi, &last) == 0 ?
						   last.uid : 0;
			context_attach(s, st->context, max_uid);
			st->context = NULL;
			st->prog = NULL;
		}
	} else {
		/* RFC 7162 §3.1.5: a search with MODSEQ tells the highest mod-sequence found */
		if (st->prog->uses_modseq && st->max_modseq != 0)
			outq_printf(s->out, " (MODSEQ %" PRIu64 ")", st->max_modseq);
		outq_puts(s->out, "\r\n");
	}
	cmd_reply(cmd, "OK", "%sSEARCH completed.", cmd->uid ? "UID " : "");
	return CMD_DONE;
}

/* RETURN (options) of RFC 4731 §3.1 and PARTIAL (RFC 9394); an empty list means ALL.
   Returns the option bits, or 0 with *error_r. */
static unsigned parse_return(const struct imap_arg *list, struct search_state *st,
			     const char **error_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = { { "MIN", RET_MIN }, { "MAX", RET_MAX }, { "ALL", RET_ALL },
		     { "COUNT", RET_COUNT }, { "SAVE", RET_SAVE }, { "UPDATE", RET_UPDATE },
		     { "CONTEXT", RET_CONTEXT } };
	unsigned ret = 0;
	if (list->type != IMAP_ARG_LIST) {
		*error_r = "RETURN takes a list of options";
		return 0;
	}
	for (unsigned i = 0; i < list->len; i++) {
		const struct imap_arg *a = &list->u.list[i];
		unsigned k = 0;
		if (a->type == IMAP_ARG_ATOM && strcasecmp(a->u.str, "PARTIAL") == 0 &&
		    !(ret & RET_PARTIAL)) {
			const struct imap_arg *r = i + 1 < list->len ? &list->u.list[++i] : NULL;
			if (r == NULL || r->type != IMAP_ARG_ATOM ||
			    partial_range_parse(r->u.str, &st->partial) < 0) {
				*error_r = "PARTIAL takes a range (a:b or -a:-b)";
				return 0;
			}
			st->partial_text = r->u.str;
			ret |= RET_PARTIAL;
			continue;
		}
		for (; a->type == IMAP_ARG_ATOM && k < N_ELEMENTS(opts); k++)
			if (strcasecmp(a->u.str, opts[k].name) == 0)
				break;
		if (a->type != IMAP_ARG_ATOM || k == N_ELEMENTS(opts)) {
			*error_r = "Unknown SEARCH RETURN option";
			return 0;
		}
		ret |= opts[k].bit;
		if (opts[k].bit == RET_UPDATE && i + 1 < list->len &&
		    list->u.list[i + 1].type == IMAP_ARG_LIST)
			st->update_fetch = &list->u.list[++i];
	}
	/* RFC 9394 §3.1: PARTIAL and ALL exclude each other */
	if ((ret & RET_PARTIAL) && (ret & RET_ALL)) {
		*error_r = "PARTIAL cannot go with ALL";
		return 0;
	}
	/* RFC 4731 §3.1: an empty list means ALL */
	return ret != 0 ? ret : RET_ALL;
}

int cmd_search(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct search_state *st = arena_zalloc(&s->arena, sizeof(*st));
	const struct imap_arg *args = cmd->c.args;
	unsigned n = cmd->c.n_args;
	const char *error;
	if (n >= 1 && args[0].type == IMAP_ARG_ATOM && strcasecmp(args[0].u.str, "RETURN") == 0) {
		st->ret = n >= 2 ? parse_return(&args[1], st, &error) : 0;
		if (st->ret == 0) {
			cmd_reply(cmd, "BAD", "%s.", n >= 2 ? error : "RETURN takes options");
			return CMD_DONE;
		}
		args += 2;
		n -= 2;
	} else if (s->rev2) {
		/* RFC 9051 §6.4.4: IMAP4rev2 answers SEARCH with ESEARCH, ALL by default */
		st->ret = RET_ALL;
	}
	struct arena *arena = &s->arena;
	if (st->ret & RET_UPDATE) {
		/* RFC 5267 §4.3: the tag names the context; reusing a live one is BAD */
		if (context_exists(s, cmd->c.tag)) {
			cmd_reply(cmd, "BAD", "Tag %s already names a search context.", cmd->c.tag);
			return CMD_DONE;
		}
		if (context_count(s) >= SEARCH_CONTEXTS_MAX) {
			/* RFC 5267 §4.3.1: answered, but not updated */
			outq_printf(s->out, "* NO [NOUPDATE \"%s\"] Too many search contexts\r\n",
				    cmd->c.tag);
		} else {
			st->context = context_new(cmd->c.tag, cmd->uid);
			arena = context_arena(st->context);
		}
		if (st->update_fetch != NULL) {
			const char *ferror;
			struct fetch_items check;
			int fr = st->context != NULL ?
				 context_set_fetch(st->context, st->update_fetch, &ferror) :
				 fetch_items_parse_in(&s->arena, st->update_fetch, &check, &ferror);
			if (fr < 0) {
				context_free(st->context);
				st->context = NULL;
				cmd_reply(cmd, "BAD", "UPDATE: %s.", ferror);
				return CMD_DONE;
			}
		}
	}
	cmd->ctx = st;
	cmd->cleanup = search_cleanup;
	int r = search_parse_in(cmd, arena, args, n, &st->prog, &error);
	if (r <= 0) {
		/* RFC 5182 §2.1: a failed SEARCH ... RETURN (SAVE) empties $ */
		if (st->ret & RET_SAVE)
			searchres_set(s, NULL, 0);
		cmd_reply(cmd, r == 0 ? "NO" : "BAD", "%s.", error);
		return CMD_DONE;
	}
	if (st->context != NULL)
		context_set_program(st->context, s, st->prog);
	if (st->prog->uses_modseq)
		session_enable_condstore(s);  /* RFC 7162 §3.1: an enabling command */
	st->all = (struct uimap_range){ 1, s->view->vt->view_count(s->view) };
	cursor_init(&st->cursor, &st->all, st->all.hi > 0 ? 1 : 0);
	if (st->ret == 0)
		outq_puts(s->out, "* SEARCH");
	return search_continue(cmd);
}

/* CANCELUPDATE "tag" ... (RFC 5267 §4.3.5): every tag must name a context (else NO, as
   Dovecot, and none is cancelled). */
int cmd_cancelupdate(struct uimap_cmd *cmd)
{
	const struct imap_arg *args = cmd->c.args;
	unsigned n = cmd->c.n_args;
	if (n == 0) {
		cmd_reply(cmd, "BAD", "CANCELUPDATE needs the tags of search contexts.");
		return CMD_DONE;
	}
	for (unsigned i = 0; i < n; i++) {
		if (args[i].type != IMAP_ARG_STRING && args[i].type != IMAP_ARG_LITERAL) {
			cmd_reply(cmd, "BAD", "CANCELUPDATE takes quoted tags.");
			return CMD_DONE;
		}
		if (!context_exists(cmd->s, args[i].u.str)) {
			cmd_reply(cmd, "NO", "Unknown search context tag.");
			return CMD_DONE;
		}
	}
	for (unsigned i = 0; i < n; i++)
		context_cancel(cmd->s, args[i].u.str);
	cmd_reply(cmd, "OK", "Updates cancelled.");
	return CMD_DONE;
}
