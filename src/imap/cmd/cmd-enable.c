/* ENABLE (RFC 5161): CONDSTORE, QRESYNC and UTF8=ACCEPT can be enabled; unknown names
   are ignored. */
#include "imap/cmd.h"
#include "imap/session.h"

#include <strings.h>

int cmd_enable(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	bool condstore = false, qresync = false, utf8 = false;
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
		else if (strcasecmp(cmd->c.args[i].u.str, "QRESYNC") == 0 && session_qresync_offered(s))
			qresync = true;
		else if (strcasecmp(cmd->c.args[i].u.str, "UTF8=ACCEPT") == 0)
			utf8 = true;
	}
	/* RFC 5161 §3.1: ENABLED lists what this command enabled (not what already
	   was, as Dovecot does); unknown names are ignored */
	bool new_condstore = condstore && !s->condstore;
	bool new_qresync = qresync && !s->qresync;
	bool new_utf8 = utf8 && !s->utf8;
	session_untagged(s, "ENABLED%s%s%s", new_condstore ? " CONDSTORE" : "",
			 new_qresync ? " QRESYNC" : "", new_utf8 ? " UTF8=ACCEPT" : "");
	/* RFC 6855 §3: from now on mailbox names and strings are UTF-8 */
	if (new_utf8)
		s->utf8 = true;
	/* RFC 7162 §3.2.3: QRESYNC implies CONDSTORE */
	if (new_condstore || new_qresync)
		session_enable_condstore(s);
	if (new_qresync)
		s->qresync = true;
	cmd_reply(cmd, "OK", "ENABLE completed.");
	return CMD_DONE;
}
