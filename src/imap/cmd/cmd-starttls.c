/* STARTTLS (RFC 3501 §6.2.1, RFC 2595): the OK goes out in plaintext, then TLS; whatever
   the client pipelined after the command is discarded (CVE-2011-0411). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "net/conn.h"
#include "core/log.h"

int cmd_starttls(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "STARTTLS takes no arguments.");
		return CMD_DONE;
	}
	if (conn_is_secure(s->conn)) {
		cmd_reply(cmd, "BAD", "TLS is already active.");
		return CMD_DONE;
	}
	if (!conn_can_starttls(s->conn)) {
		cmd_reply(cmd, "NO", "TLS is not configured.");
		return CMD_DONE;
	}
	cmd_reply(cmd, "OK", "Begin TLS negotiation now.");
	if (conn_starttls(s->conn) < 0) {
		log_write(UIMAP_LOG_ERROR, s->conn->id, s->conn->addr, "STARTTLS failed to start");
		conn_close(s->conn, true);
		return CMD_DONE;
	}
	/* plaintext received after STARTTLS must never be executed */
	s->discard_input = true;
	buf_free(&s->stash);
	return CMD_DONE;
}
