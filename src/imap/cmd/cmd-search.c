/* SEARCH and UID SEARCH (RFC 3501 §6.4.4): evaluated in slices so a long search over a
   large mailbox does not stall other connections. */
#include "imap/search.h"
#include "imap/session.h"
#include "core/common.h"

#include <stdio.h>

#define SLICE_MSGS 1024    /* messages between clock checks */
#define SLICE_MS 2         /* then the loop is given back */

struct search_state {
	struct search_key *prog;
	uint32_t next, count;
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
	uint64_t start = clock_ms();
	char num[16];
	while (st->next <= st->count) {
		uint32_t seq = st->next++;
		struct uimap_msg_info info;
		if (v->vt->view_msg(v, seq, &info) == 0 && search_match(s, st->prog, seq, &info)) {
			int n = snprintf(num, sizeof(num), " %u", cmd->uid ? info.uid : seq);
			outq_append(q, num, (size_t)n);
		}
		if (seq % SLICE_MSGS == 0 && st->next <= st->count &&
		    clock_ms() - start >= SLICE_MS) {
			/* sequence numbers stay put: the view is synced only at the tagged reply */
			return cmd_block(cmd, CMD_WAIT_TURN, search_continue);
		}
	}
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
	st->next = 1;
	st->count = s->view->vt->view_count(s->view);
	outq_puts(s->out, "* SEARCH");
	return search_continue(cmd);
}
