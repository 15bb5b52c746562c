/* UID FETCH / STORE / COPY / MOVE / SEARCH / EXPUNGE / SORT (RFC 3501 §6.4.8, RFC 4315,
   RFC 5256). */
#include "imap/cmd.h"
#include "imap/session.h"

#include <strings.h>

int cmd_uid(struct uimap_cmd *cmd)
{
	static const struct {
		const char *name;
		cmd_handler *handler;
	} subs[] = {
		{ "FETCH", cmd_fetch }, { "STORE", cmd_store }, { "COPY", cmd_copy },
		{ "MOVE", cmd_move }, { "SEARCH", cmd_search }, { "EXPUNGE", cmd_expunge },
		{ "SORT", cmd_sort }, { "THREAD", cmd_thread },
	};
	if (cmd->c.n_args < 1 || cmd->c.args[0].type != IMAP_ARG_ATOM) {
		cmd_reply(cmd, "BAD", "UID needs a command.");
		return CMD_DONE;
	}
	for (unsigned i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcasecmp(cmd->c.args[0].u.str, subs[i].name) == 0) {
			cmd->uid = true;
			cmd->c.args++;
			cmd->c.n_args--;
			return subs[i].handler(cmd);
		}
	}
	cmd_reply(cmd, "BAD", "Unknown UID command %.20s.", cmd->c.args[0].u.str);
	return CMD_DONE;
}
