/* IDLE (RFC 2177): mailbox changes are pushed as they happen until DONE. */
#include "imap/cmd.h"
#include "net/conn.h"

#include <strings.h>

static int idle_line(struct uimap_cmd *cmd, const char *line, size_t len)
{
	struct session *s = cmd->s;
	s->idling = false;
	cmd->on_line = NULL;
	session_want_line(s, false);
	if (len == 4 && strncasecmp(line, "DONE", 4) == 0)
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
	conn_mark_dirty(s->conn);
	s->idling = true;
	/* what happened before IDLE started is reported at once */
	if (session_sync(s, true) < 0)
		return CMD_DONE;
	cmd->on_line = idle_line;
	session_want_line(s, true);
	return CMD_WAIT;
}
