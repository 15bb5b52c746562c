/* ENABLE (RFC 5161): CONDSTORE can be enabled; unknown names are ignored. */
#include "imap/cmd.h"
#include "imap/session.h"

#include <strings.h>

int cmd_enable(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	bool condstore = false;
	if (cmd->c.n_args == 0) {
		cmd_reply(cmd, "BAD", "ENABLE needs at least one capability name.");
		return CMD_DONE;
	}
	for (unsigned i = 0; i < cmd->c.n_args; i++) {
		if (cmd->c.args[i].type != IMAP_ARG_ATOM) {
			cmd_reply(cmd, "BAD", "ENABLE takes capability names (atoms).");
			return CMD_DONE;
		}
		if (strcasecmp(cmd->c.args[i].u.str, "CONDSTORE") == 0)
			condstore = true;
	}
	/* RFC 5161 §3.1: ENABLED lists what this command enabled (not what already
	   was, as Dovecot does); unknown names are ignored */
	bool newly = condstore && !s->condstore;
	session_untagged(s, "ENABLED%s", newly ? " CONDSTORE" : "");
	if (newly)
		session_enable_condstore(s);
	cmd_reply(cmd, "OK", "ENABLE completed.");
	return CMD_DONE;
}
