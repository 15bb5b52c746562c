/* EXPUNGE and CHECK (RFC 3501 §6.4.1, §6.4.3). */
#include "imap/cmd.h"

int cmd_expunge(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "EXPUNGE takes no arguments.");
		return CMD_DONE;
	}
	int r = s->view->vt->view_expunge(s->view, NULL, 0);
	if (r < 0) {
		reply_store_error(cmd, r, "EXPUNGE");
		return CMD_DONE;
	}
	/* the EXPUNGE responses come from the sync before the tagged reply */
	cmd_reply(cmd, "OK", "EXPUNGE completed.");
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
