/* ENABLE (RFC 5161): CONDSTORE, QRESYNC, UTF8=ACCEPT and IMAP4rev2 can be enabled;
   unknown names are ignored. */
#include "imap/cmd.h"
#include "imap/session.h"

#include <strings.h>

int cmd_enable(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	bool condstore = false, qresync = false, utf8 = false, rev2 = false;
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
		else if (strcasecmp(cmd->c.args[i].u.str, "IMAP4rev2") == 0)
			rev2 = true;
	}
	/* RFC 5161 §3.1: ENABLED lists what this command enabled (not what already
	   was, as Dovecot does); unknown names are ignored */
	bool new_condstore = condstore && !s->condstore;
	bool new_qresync = qresync && !s->qresync;
	bool new_utf8 = utf8 && !s->utf8;
	bool new_rev2 = rev2 && !s->rev2;
	session_untagged(s, "ENABLED%s%s%s%s", new_condstore ? " CONDSTORE" : "",
			 new_qresync ? " QRESYNC" : "", new_utf8 ? " UTF8=ACCEPT" : "",
			 new_rev2 ? " IMAP4rev2" : "");
	/* RFC 9051: IMAP4rev2's mailbox names and strings are UTF-8 too */
	if (new_rev2)
		s->rev2 = s->utf8 = true;
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
