/* SEARCH and UID SEARCH (RFC 3501 §6.4.4): evaluated in slices so a long search over a
   large mailbox does not stall other connections. */
#include "imap/search.h"
#include "imap/session.h"
#include "imap/cursor.h"
#include "core/common.h"

#include <inttypes.h>
#include <stdio.h>

struct search_state {
	struct search_key *prog;
	struct uimap_range all;      /* 1:count */
	struct range_cursor cursor;
	uint64_t max_modseq;         /* of the matches, for "(MODSEQ n)" */
};

static void search_cleanup(struct uimap_cmd *cmd)
{
	struct search_state *st = cmd->ctx;
	search_free(st->prog);
}

static int search_continue(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct search_state *st = cmd->ctx;
	struct uimap_store_view *v = s->view;
	struct outq *q = s->out;
	struct slice sl;
	uint32_t seq;
	char num[16];
	slice_begin(&sl);
	while (cursor_next(&st->cursor, &seq)) {
		struct uimap_msg_info info;
		if (v->vt->view_msg(v, seq, &info) == 0 && search_match(s, st->prog, seq, &info)) {
			int n = snprintf(num, sizeof(num), " %u", cmd->uid ? info.uid : seq);
			outq_append(q, num, (size_t)n);
			if (info.modseq > st->max_modseq)
				st->max_modseq = info.modseq;
		}
		/* the response line may go out in parts; sequence numbers stay put (the
		   view is synced only at the tagged reply) */
		enum cmd_wait wait = slice_check(&sl, s);
		if (wait != CMD_WAIT_NONE && cursor_left(&st->cursor) > 0)
			return cmd_block(cmd, wait, search_continue);
	}
	/* RFC 7162 §3.1.5: a search with MODSEQ tells the highest mod-sequence found */
	if (st->prog->uses_modseq && st->max_modseq != 0)
		outq_printf(q, " (MODSEQ %" PRIu64 ")", st->max_modseq);
	outq_puts(q, "\r\n");
	cmd_reply(cmd, "OK", "%sSEARCH completed.", cmd->uid ? "UID " : "");
	return CMD_DONE;
}

int cmd_search(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct search_state *st = arena_zalloc(&s->arena, sizeof(*st));
	const char *error;
	int r = search_parse(cmd, cmd->c.args, cmd->c.n_args, &st->prog, &error);
	if (r <= 0) {
		cmd_reply(cmd, r == 0 ? "NO" : "BAD", "%s.", error);
		return CMD_DONE;
	}
	cmd->ctx = st;
	cmd->cleanup = search_cleanup;
	if (st->prog->uses_modseq)
		session_enable_condstore(s);  /* RFC 7162 §3.1: an enabling command */
	st->all = (struct uimap_range){ 1, s->view->vt->view_count(s->view) };
	cursor_init(&st->cursor, &st->all, st->all.hi > 0 ? 1 : 0);
	outq_puts(s->out, "* SEARCH");
	return search_continue(cmd);
}
