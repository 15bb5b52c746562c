/* SORT and UID SORT (RFC 5256 §3) with the DISPLAYFROM / DISPLAYTO keys of RFC 5957,
   ESORT's RETURN options (RFC 5267 §3: MIN MAX ALL COUNT, with SAVE of RFC 5182 and
   PARTIAL of RFC 9394),
   and THREAD=ORDEREDSUBJECT / THREAD=REFERENCES (RFC 5256 §4, thread.c). The matches are gathered in slices, like
   SEARCH (the keys of a message are made on first use and kept with its MIME
   structure), then sorted or threaded at once. */
#include "imap/search.h"
#include "imap/fetch.h"
#include "imap/context.h"
#include "imap/session.h"
#include "imap/cursor.h"
#include "imap/seqset.h"
#include "imap/sortorder.h"
#include "imap/thread.h"
#include "core/alloc.h"
#include "core/common.h"
#include "mail/charset.h"
#include "mail/sortkey.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ESORT's RETURN options (RFC 5267 §3.1). */
enum sort_return {
	SRET_MIN = 1 << 0,
	SRET_MAX = 1 << 1,
	SRET_ALL = 1 << 2,
	SRET_COUNT = 1 << 3,
	SRET_SAVE = 1 << 4,
	SRET_PARTIAL = 1 << 5,
	SRET_UPDATE = 1 << 6,   /* CONTEXT=SORT (RFC 5267 §4.3) */
	SRET_CONTEXT = 1 << 7,  /* RFC 5267 §4.2: a hint, nothing to do */
};

struct sort_state {
	struct search_key *prog;
	unsigned ret;                      /* enum sort_return; 0: a classic SORT */
	struct partial_range partial;
	const char *partial_text;
	struct sort_spec spec;
	struct search_context *context;    /* UPDATE: owns prog until attached */
	const struct imap_arg *update_fetch; /* UPDATE (fetch-att ...), RFC 5465 §7 */
	struct sort_item *items;
	uint32_t n, cap;
	struct uimap_range all;
	struct range_cursor cursor;
	int (*finish)(struct uimap_cmd *cmd);   /* SORT or THREAD, once gathered */
};

static void sort_cleanup(struct uimap_cmd *cmd)
{
	struct sort_state *st = cmd->ctx;
	if (st->context != NULL)
		context_free(st->context);   /* with the program */
	else
		search_free(st->prog);
	free(st->items);
}

static int cmp_u32(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
	return a < b ? -1 : a > b;
}

static int compare(const void *pa, const void *pb, void *ctx)
{
	const struct sort_state *st = ctx;
	return sort_compare(&st->spec, pa, pb);
}

/* Numbers in sort order as a sequence-set: a range only for an ascending run
   (RFC 5267 §3.2: every range expands in increasing order). */
static void write_ordered_set(struct outq *q, const struct sort_item *items, uint32_t n,
			      bool uid)
{
	uint32_t i = 0;
	while (i < n) {
		uint32_t first = uid ? items[i].uid : items[i].seq, last = first, j = i + 1;
		while (j < n && (uid ? items[j].uid : items[j].seq) == last + 1) {
			last++;
			j++;
		}
		if (last != first)
			outq_printf(q, "%s%u:%u", i ? "," : "", first, last);
		else
			outq_printf(q, "%s%u", i ? "," : "", first);
		i = j;
	}
}

/* RFC 5182 §2.1 (SAVE): "$" is the result as a set of UIDs; with MIN and/or MAX but
   neither ALL, COUNT nor PARTIAL, only those messages. */
static void esort_save(struct session *s, const struct sort_state *st)
{
	uint32_t *uids = xmalloc((st->n + 1) * sizeof(*uids));
	uint32_t n = 0;
	bool min_max_only = (st->ret & (SRET_MIN | SRET_MAX)) &&
			    !(st->ret & (SRET_ALL | SRET_COUNT | SRET_PARTIAL));
	for (uint32_t i = 0; i < st->n; i++)
		if (!min_max_only || ((st->ret & SRET_MIN) && i == 0) ||
		    ((st->ret & SRET_MAX) && i == st->n - 1))
			uids[n++] = st->items[i].uid;
	qsort(uids, n, sizeof(*uids), cmp_u32);
	struct uimap_range *r = xmalloc((n + 1) * sizeof(*r));
	unsigned nr = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (nr > 0 && r[nr - 1].hi + 1 >= uids[i])
			r[nr - 1].hi = uids[i];
		else
			r[nr++] = (struct uimap_range){ uids[i], uids[i] };
	}
	free(uids);
	free(s->searchres);
	s->searchres = r;
	s->n_searchres = nr;
}

/* "* ESEARCH (TAG "t") [UID] MIN MAX COUNT PARTIAL ALL [MODSEQ]" in sort order
   (RFC 5267 §3.1: MIN and MAX are the first and last in that order). */
static void esort_reply(struct uimap_cmd *cmd, struct sort_state *st)
{
	struct session *s = cmd->s;
	struct outq *q = s->out;
	bool u = cmd->uid;
	uint64_t modseq = 0;
	if (st->ret & SRET_SAVE)
		esort_save(s, st);
	if (!(st->ret & ~(unsigned)SRET_SAVE))
		return;   /* RFC 5182 §2.1: SAVE alone answers no ESEARCH */
	outq_printf(q, "* ESEARCH (TAG \"%s\")%s", cmd->c.tag, u ? " UID" : "");
	const struct sort_item *first = st->n ? &st->items[0] : NULL;
	const struct sort_item *last = st->n ? &st->items[st->n - 1] : NULL;
	if (first != NULL && (st->ret & SRET_MIN)) {
		outq_printf(q, " MIN %u", u ? first->uid : first->seq);
		modseq = first->modseq;
	}
	if (last != NULL && (st->ret & SRET_MAX)) {
		outq_printf(q, " MAX %u", u ? last->uid : last->seq);
		if (last->modseq > modseq)
			modseq = last->modseq;
	}
	if (st->ret & SRET_COUNT)
		outq_printf(q, " COUNT %u", st->n);
	uint64_t lo = 1, hi = st->n;
	if (st->ret & SRET_PARTIAL) {
		/* RFC 9394 §3.1: positions in the sorted result; NIL when none */
		outq_printf(q, " PARTIAL (%s ", st->partial_text);
		if (partial_range_positions(&st->partial, st->n, &lo, &hi))
			write_ordered_set(q, st->items + lo - 1, (uint32_t)(hi - lo + 1), u);
		else
			outq_puts(q, "NIL");
		outq_puts(q, ")");
	}
	if (st->n > 0 && (st->ret & SRET_ALL)) {
		outq_puts(q, " ALL ");
		write_ordered_set(q, st->items, st->n, u);
	}
	if (st->prog->uses_modseq && st->n > 0) {
		/* RFC 7162 §3.1.5: the highest mod-sequence of what is returned */
		if (st->ret & (SRET_ALL | SRET_COUNT | SRET_PARTIAL)) {
			uint32_t a = 0, b = st->n;
			if (!(st->ret & (SRET_ALL | SRET_COUNT))) {
				a = (uint32_t)lo - 1;
				b = (uint32_t)hi;
			}
			for (uint32_t i = a; i < b && i < st->n; i++)
				if (st->items[i].modseq > modseq)
					modseq = st->items[i].modseq;
		}
		if (modseq != 0)
			outq_printf(q, " MODSEQ %" PRIu64, modseq);
	}
	outq_puts(q, "\r\n");
}

static int sort_finish(struct uimap_cmd *cmd)
{
	struct sort_state *st = cmd->ctx;
	struct outq *q = cmd->s->out;
	char num[16];
	uint64_t max_modseq = 0;
	if (st->n > 1)
		qsort_r(st->items, st->n, sizeof(*st->items), compare, st);
	if (st->ret != 0) {
		esort_reply(cmd, st);
		if (st->context != NULL) {
			/* CONTEXT=SORT: the result in its order from now on (RFC 5267 §4.3) */
			struct session *s = cmd->s;
			struct uimap_store_view *v = s->view;
			struct uimap_msg_info last;
			for (uint32_t i = 0; i < st->n; i++)
				context_add_sorted(st->context, &st->items[i]);
			context_attach(s, st->context, st->all.hi > 0 &&
					v->vt->view_msg(v, st->all.hi, &last) == 0 ? last.uid : 0);
			st->context = NULL;
			st->prog = NULL;
		}
		cmd_reply(cmd, "OK", "%sSORT completed.", cmd->uid ? "UID " : "");
		return CMD_DONE;
	}
	outq_puts(q, "* SORT");
	for (uint32_t i = 0; i < st->n; i++) {
		int n = snprintf(num, sizeof(num), " %u", cmd->uid ? st->items[i].uid
								   : st->items[i].seq);
		outq_append(q, num, (size_t)n);
		if (st->items[i].modseq > max_modseq)
			max_modseq = st->items[i].modseq;
	}
	/* RFC 7162 §3.1.5: with a MODSEQ key, the highest mod-sequence found */
	if (st->prog->uses_modseq && max_modseq != 0)
		outq_printf(q, " (MODSEQ %" PRIu64 ")", max_modseq);
	outq_puts(q, "\r\n");
	cmd_reply(cmd, "OK", "%sSORT completed.", cmd->uid ? "UID " : "");
	return CMD_DONE;
}

static int sort_continue(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct sort_state *st = cmd->ctx;
	struct uimap_store_view *v = s->view;
	struct slice sl;
	uint32_t seq;
	slice_begin(&sl);
	while (cursor_next(&st->cursor, &seq)) {
		struct uimap_msg_info info;
		if (v->vt->view_msg(v, seq, &info) == 0 && search_match(s, st->prog, seq, &info)) {
			if (st->n == st->cap) {
				st->cap = st->cap ? 2 * st->cap : 256;
				st->items = xrealloc(st->items, st->cap * sizeof(*st->items));
			}
			sort_item_init(&st->items[st->n++], &st->spec, seq, &info);
		}
		enum cmd_wait wait = slice_check(&sl, s);
		if (wait == CMD_WAIT_TURN && cursor_left(&st->cursor) > 0)
			return cmd_block(cmd, wait, sort_continue);
	}
	return st->finish(cmd);
}

static int gather(struct uimap_cmd *cmd, struct sort_state *st, const char *charset,
		  const struct imap_arg *args, unsigned n);

/* RETURN (options) of RFC 5267 §3.1 (an empty list means ALL), SAVE (RFC 5182) and
   PARTIAL (RFC 9394). Returns the bits, or 0 with *error_r. */
static unsigned parse_return(const struct imap_arg *list, struct sort_state *st,
			     const char **error_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = { { "MIN", SRET_MIN }, { "MAX", SRET_MAX }, { "ALL", SRET_ALL },
		     { "COUNT", SRET_COUNT }, { "SAVE", SRET_SAVE }, { "UPDATE", SRET_UPDATE },
		     { "CONTEXT", SRET_CONTEXT } };
	unsigned ret = 0;
	if (list->type != IMAP_ARG_LIST) {
		*error_r = "RETURN takes a list of options";
		return 0;
	}
	for (unsigned i = 0; i < list->len; i++) {
		const struct imap_arg *a = &list->u.list[i];
		if (a->type != IMAP_ARG_ATOM) {
			*error_r = "Unknown SORT RETURN option";
			return 0;
		}
		if (strcasecmp(a->u.str, "PARTIAL") == 0 && !(ret & SRET_PARTIAL)) {
			const struct imap_arg *r = i + 1 < list->len ? &list->u.list[++i] : NULL;
			if (r == NULL || r->type != IMAP_ARG_ATOM ||
			    partial_range_parse(r->u.str, &st->partial) < 0) {
				*error_r = "PARTIAL takes a range (a:b or -a:-b)";
				return 0;
			}
			st->partial_text = r->u.str;
			ret |= SRET_PARTIAL;
			continue;
		}
		unsigned k = 0;
		while (k < N_ELEMENTS(opts) && strcasecmp(a->u.str, opts[k].name) != 0)
			k++;
		if (k == N_ELEMENTS(opts)) {
			*error_r = "Unknown SORT RETURN option";
			return 0;
		}
		ret |= opts[k].bit;
		if (opts[k].bit == SRET_UPDATE && i + 1 < list->len &&
		    list->u.list[i + 1].type == IMAP_ARG_LIST)
			st->update_fetch = &list->u.list[++i];
	}
	if ((ret & SRET_PARTIAL) && (ret & SRET_ALL)) {
		*error_r = "PARTIAL cannot go with ALL";   /* RFC 9394 §3.1 */
		return 0;
	}
	/* RFC 5267 §3.1 (an empty list, or only the CONTEXT hint): ALL */
	return (ret & ~(unsigned)SRET_CONTEXT) != 0 ? ret : ret | SRET_ALL;
}

int cmd_sort(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const struct imap_arg *args = cmd->c.args;
	unsigned n_args = cmd->c.n_args;
	struct sort_state *st = arena_zalloc(&s->arena, sizeof(*st));
	const char *cs;
	size_t cs_len;
	if (n_args >= 1 && args[0].type == IMAP_ARG_ATOM && strcasecmp(args[0].u.str, "RETURN") == 0) {
		const char *error = "RETURN takes options";
		st->ret = n_args >= 2 ? parse_return(&args[1], st, &error) : 0;
		if (st->ret == 0) {
			cmd_reply(cmd, "BAD", "%s.", error);
			return CMD_DONE;
		}
		args += 2;
		n_args -= 2;
	}
	if (n_args < 3 || sort_spec_parse(&args[0], &st->spec) < 0 ||
	    !arg_string(&args[1], &cs, &cs_len)) {
		cmd_reply(cmd, "BAD", "SORT takes (sort keys), a charset and search criteria.");
		return CMD_DONE;
	}
	if (!mail_charset_known(cs, cs_len)) {
		cmd_reply(cmd, "NO", "[BADCHARSET (" MAIL_CHARSET_BADCHARSET_LIST
			  ")] Unsupported charset.");
		return CMD_DONE;
	}
	st->finish = sort_finish;
	if (st->ret & SRET_UPDATE) {
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
			context_set_sort(st->context, &st->spec);
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
	return gather(cmd, st, cs, &args[2], n_args - 2);
}

/* Parse the criteria (after the charset, their strings in it) and gather the matches
   in slices. */
static int gather(struct uimap_cmd *cmd, struct sort_state *st, const char *charset,
		  const struct imap_arg *args, unsigned n)
{
	struct session *s = cmd->s;
	const char *error;
	cmd->ctx = st;
	cmd->cleanup = sort_cleanup;
	struct arena *arena = st->context != NULL ? context_arena(st->context) : &s->arena;
	int r = search_parse_charset(cmd, arena, charset, args, n, &st->prog, &error);
	if (r <= 0) {
		if (st->ret & SRET_SAVE) {
			/* RFC 5182 §2.1: a failed command with SAVE empties $ */
			free(s->searchres);
			s->searchres = NULL;
			s->n_searchres = 0;
		}
		cmd_reply(cmd, r == 0 ? "NO" : "BAD", "%s.", error);
		return CMD_DONE;
	}
	if (st->context != NULL)
		context_set_program(st->context, s, st->prog);
	if (st->prog->uses_modseq)
		session_enable_condstore(s);  /* RFC 7162 §3.1: an enabling command */
	st->all = (struct uimap_range){ 1, s->view->vt->view_count(s->view) };
	cursor_init(&st->cursor, &st->all, st->all.hi > 0 ? 1 : 0);
	return sort_continue(cmd);
}

/* ---- THREAD=ORDEREDSUBJECT (RFC 5256 §4) ---- */

static int thread_date_cmp(const void *pa, const void *pb, void *ctx)
{
	(void)ctx;
	const struct sort_item *a = pa, *b = pb;
	int64_t da = sort_sent_date(a), db = sort_sent_date(b);
	int c = da < db ? -1 : da > db;
	return c != 0 ? c : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

struct thread_span {
	uint32_t first, n;   /* items [first, first + n) */
};

static int span_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct sort_state *st = ctx;
	const struct thread_span *a = pa, *b = pb;
	return thread_date_cmp(&st->items[a->first], &st->items[b->first], NULL);
}

/* Messages with the same base subject form one thread: the earliest is the parent
   of all the others, in date order; threads go by their first message's date. */
static int thread_finish(struct uimap_cmd *cmd)
{
	struct sort_state *st = cmd->ctx;
	struct outq *q = cmd->s->out;
	if (st->n > 1)
		qsort_r(st->items, st->n, sizeof(*st->items), compare, st);  /* SUBJECT DATE */
	struct thread_span *spans = xmalloc((st->n + 1) * sizeof(*spans));
	uint32_t n_spans = 0;
	for (uint32_t i = 0; i < st->n; i++) {
		if (n_spans > 0 && sort_cmp_str(st->items[i].k ? st->items[i].k->subject : "",
					   st->items[spans[n_spans - 1].first].k ?
					   st->items[spans[n_spans - 1].first].k->subject : "") == 0)
			spans[n_spans - 1].n++;
		else
			spans[n_spans++] = (struct thread_span){ i, 1 };
	}
	if (n_spans > 1)
		qsort_r(spans, n_spans, sizeof(*spans), span_cmp, st);
	outq_puts(q, "* THREAD");
	char num[16];
	for (uint32_t t = 0; t < n_spans; t++) {
		const struct sort_item *it = &st->items[spans[t].first];
		outq_puts(q, t == 0 ? " (" : "(");
		for (uint32_t j = 0; j < spans[t].n; j++) {
			uint32_t v = cmd->uid ? it[j].uid : it[j].seq;
			/* one child: "(a b)"; several: "(a (b)(c))" (RFC 5256 §4 grammar) */
			bool nest = spans[t].n > 2 && j > 0;
			int len = snprintf(num, sizeof(num), "%s%s%u%s",
					   j == 1 ? " " : "", nest ? "(" : "", v, nest ? ")" : "");
			outq_append(q, num, (size_t)len);
		}
		outq_puts(q, ")");
	}
	outq_puts(q, "\r\n");
	free(spans);
	cmd_reply(cmd, "OK", "%sTHREAD completed.", cmd->uid ? "UID " : "");
	return CMD_DONE;
}

/* THREAD=REFERENCES: the matches in mailbox order, handed to thread.c. */
static int thread_refs_finish(struct uimap_cmd *cmd)
{
	struct sort_state *st = cmd->ctx;
	struct thread_msg *m = xmalloc((st->n + 1) * sizeof(*m));
	for (uint32_t i = 0; i < st->n; i++) {
		const struct sort_item *it = &st->items[i];
		const struct mail_sortkeys *k = it->k;
		m[i] = (struct thread_msg){
			.num = cmd->uid ? it->uid : it->seq, .seq = it->seq, .date = sort_sent_date(it),
			.message_id = k ? k->message_id : "", .references = k ? k->references : "",
			.subject = k ? k->subject : "", .reply = k ? k->subject_reply : false,
		};
	}
	struct buf out = { 0 };
	thread_references(m, st->n, &out);
	outq_puts(cmd->s->out, st->n > 0 ? "* THREAD " : "* THREAD");
	outq_append(cmd->s->out, out.data, out.len);
	outq_puts(cmd->s->out, "\r\n");
	buf_free(&out);
	free(m);
	cmd_reply(cmd, "OK", "%sTHREAD completed.", cmd->uid ? "UID " : "");
	return CMD_DONE;
}

int cmd_thread(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const struct imap_arg *args = cmd->c.args;
	struct sort_state *st = arena_zalloc(&s->arena, sizeof(*st));
	const char *cs;
	size_t cs_len;
	if (cmd->c.n_args < 3 || args[0].type != IMAP_ARG_ATOM ||
	    !arg_string(&args[1], &cs, &cs_len)) {
		cmd_reply(cmd, "BAD", "THREAD takes an algorithm, a charset and search criteria.");
		return CMD_DONE;
	}
	bool references = strcasecmp(args[0].u.str, "REFERENCES") == 0;
	if (!references && strcasecmp(args[0].u.str, "ORDEREDSUBJECT") != 0) {
		cmd_reply(cmd, "BAD", "Unknown THREAD algorithm (ORDEREDSUBJECT, REFERENCES).");
		return CMD_DONE;
	}
	if (!mail_charset_known(cs, cs_len)) {
		cmd_reply(cmd, "NO", "[BADCHARSET (" MAIL_CHARSET_BADCHARSET_LIST
			  ")] Unsupported charset.");
		return CMD_DONE;
	}
	st->spec.need_headers = true;
	if (references) {
		st->finish = thread_refs_finish;
	} else {
		/* RFC 5256 §4: by base subject, then by sent date */
		st->spec.keys[0] = (struct sort_key){ SORT_SUBJECT, false };
		st->spec.keys[1] = (struct sort_key){ SORT_DATE, false };
		st->spec.n_keys = 2;
		st->finish = thread_finish;
	}
	return gather(cmd, st, cs, &args[2], cmd->c.n_args - 2);
}
