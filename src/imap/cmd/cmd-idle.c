/* IDLE (RFC 2177): mailbox changes are pushed as they happen until DONE. */
#include "imap/cmd.h"
#include "imap/session.h"
#include "net/conn.h"

#include <strings.h>

static int idle_line(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	s->idling = false;
	if (cmd->line_len == 4 && strncasecmp(cmd->line, "DONE", 4) == 0)
		cmd_reply(cmd, "OK", "IDLE terminated.");
	else
		cmd_reply(cmd, "BAD", "Expected DONE.");
	return CMD_DONE;
}

int cmd_idle(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "IDLE takes no arguments.");
		return CMD_DONE;
	}
	outq_puts(s->out, "+ idling\r\n");
	s->idling = true;
	/* what happened before IDLE started is reported at once; later changes wake
	   the session (view_woken) and are pushed at the start of the next turn */
	if (session_sync(s, true) < 0)
		return CMD_DONE;
	return cmd_block(cmd, CMD_WAIT_LINE, idle_line);
}
