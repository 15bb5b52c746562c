/* CAPABILITY, NOOP, LOGOUT: the commands valid in every state (RFC 3501 §6.1). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "net/conn.h"

int cmd_capability(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	outq_puts(s->out, "* CAPABILITY ");
	cmd_write_capabilities(s, s->out);
	outq_puts(s->out, "\r\n");
	cmd_reply(cmd, "OK", "Capability completed.");
	return CMD_DONE;
}

int cmd_noop(struct uimap_cmd *cmd)
{
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "NOOP takes no arguments.");
		return CMD_DONE;
	}
	cmd_reply(cmd, "OK", "NOOP completed.");
	return CMD_DONE;
}

int cmd_logout(struct uimap_cmd *cmd)
{
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "LOGOUT takes no arguments.");
		return CMD_DONE;
	}
	struct session *s = cmd->s;
	/* RFC 3501 §6.1.3: untagged BYE, then the tagged OK, then close; no mailbox
	   updates (CMD_FLAG_NO_SYNC): the client is tearing its view down */
	session_untagged(s, "BYE Logging out.");
	/* from the BYE on nothing else is told (a NOTIFY event waiting, RFC 5465) */
	s->state = SESSION_LOGOUT;
	cmd_reply(cmd, "OK", "Logout completed.");
	conn_close(s->conn, true);
	return CMD_DONE;
}
