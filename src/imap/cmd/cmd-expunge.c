/* EXPUNGE, UID EXPUNGE (RFC 4315 §2.1) and CHECK (RFC 3501 §6.4.1, §6.4.3). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "imap/seqset.h"

int cmd_expunge(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct uimap_store_view *v = s->view;
	const struct uimap_range *uids = NULL;
	size_t n = 0;
	if (cmd->c.n_args != (cmd->uid ? 1u : 0u)) {
		cmd_reply(cmd, "BAD", cmd->uid ? "UID EXPUNGE takes a UID set." :
				      "EXPUNGE takes no arguments.");
		return CMD_DONE;
	}
	if (cmd->uid) {
		const char *error;
		struct seqset set;
		uint32_t count = v->vt->view_count(v), star = 0;
		struct uimap_msg_info last;
		if (count > 0 && v->vt->view_msg(v, count, &last) == 0)
			star = last.uid;
		if (cmd->c.args[0].type != IMAP_ARG_ATOM ||
		    seqset_parse(&s->arena, cmd->c.args[0].u.str, star, &set, &error) < 0) {
			cmd_reply(cmd, "BAD", "Invalid UID set.");
			return CMD_DONE;
		}
		struct uimap_range *r = arena_alloc(&s->arena, set.n * sizeof(*r));
		for (unsigned i = 0; i < set.n; i++) {
			r[i].lo = set.r[i].lo;
			r[i].hi = set.r[i].hi;
		}
		uids = r;
		n = set.n;
	}
	int r = v->vt->view_expunge(v, uids, n);
	if (r < 0) {
		reply_store_error(cmd, r, "EXPUNGE");
		return CMD_DONE;
	}
	/* the EXPUNGE responses come from the sync before the tagged reply */
	cmd_reply(cmd, "OK", "%sEXPUNGE completed.", cmd->uid ? "UID " : "");
	return CMD_DONE;
}

int cmd_check(struct uimap_cmd *cmd)
{
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "CHECK takes no arguments.");
		return CMD_DONE;
	}
	cmd_reply(cmd, "OK", "CHECK completed.");
	return CMD_DONE;
}
