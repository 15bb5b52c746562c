/* SEARCH and UID SEARCH (RFC 3501 §6.4.4). */
#include "imap/search.h"
#include "core/buf.h"

#include <stdio.h>

int cmd_search(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct uimap_store_view *v = s->view;
	struct search_key *prog;
	const char *error;
	int r = search_parse(cmd, cmd->c.args, cmd->c.n_args, &prog, &error);
	if (r <= 0) {
		cmd_reply(cmd, r == 0 ? "NO" : "BAD", "%s.", error);
		return CMD_DONE;
	}
	uint32_t count = v->vt->view_count(v);
	struct outq *q = s->out;
	outq_puts(q, "* SEARCH");
	char num[16];
	for (uint32_t seq = 1; seq <= count; seq++) {
		struct uimap_msg_info info;
		if (v->vt->view_msg(v, seq, &info) < 0)
			continue;
		if (!search_match(s, prog, seq, &info))
			continue;
		int n = snprintf(num, sizeof(num), " %u", cmd->uid ? info.uid : seq);
		outq_append(q, num, (size_t)n);
	}
	outq_puts(q, "\r\n");
	search_free(prog);
	cmd_reply(cmd, "OK", "%sSEARCH completed.", cmd->uid ? "UID " : "");
	return CMD_DONE;
}
