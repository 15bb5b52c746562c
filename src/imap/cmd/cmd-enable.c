/* ENABLE (RFC 5161): no extension needs enabling yet; unknown names are ignored. */
#include "imap/cmd.h"
#include "imap/session.h"

int cmd_enable(struct uimap_cmd *cmd)
{
	if (cmd->c.n_args == 0) {
		cmd_reply(cmd, "BAD", "ENABLE needs at least one capability name.");
		return CMD_DONE;
	}
	for (unsigned i = 0; i < cmd->c.n_args; i++) {
		if (cmd->c.args[i].type != IMAP_ARG_ATOM) {
			cmd_reply(cmd, "BAD", "ENABLE takes capability names (atoms).");
			return CMD_DONE;
		}
	}
	/* RFC 5161 §3.1: ENABLED lists only what was enabled; unknown ones are ignored */
	session_untagged(cmd->s, "ENABLED");
	cmd_reply(cmd, "OK", "ENABLE completed.");
	return CMD_DONE;
}
