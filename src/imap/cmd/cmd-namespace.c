/* NAMESPACE (RFC 2342): one personal namespace, no others. */
#include "imap/cmd.h"
#include "imap/session.h"

int cmd_namespace(struct uimap_cmd *cmd)
{
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "NAMESPACE takes no arguments.");
		return CMD_DONE;
	}
	session_untagged(cmd->s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	cmd_reply(cmd, "OK", "NAMESPACE completed.");
	return CMD_DONE;
}
