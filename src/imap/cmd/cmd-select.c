/* SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3501 §6.3.1, §6.3.2, §6.4.2; RFC 3691). */
#include "imap/cmd.h"
#include "core/alloc.h"
#include "imap/session.h"
#include "net/conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int select_common(struct uimap_cmd *cmd, bool readonly)
{
	struct session *s = cmd->s;
	const char *name;
	bool condstore = false;
	if (cmd->c.n_args < 1 || cmd->c.n_args > 2 || !arg_mailbox(&cmd->c.args[0], &name) ||
	    (cmd->c.n_args == 2 && cmd->c.args[1].type != IMAP_ARG_LIST)) {
		cmd_reply(cmd, "BAD", "%s takes a mailbox name and optional parameters.",
			  cmd->def->name);
		return CMD_DONE;
	}
	/* RFC 4466 §2.1 select parameters; RFC 7162 §3.1.8 (CONDSTORE) */
	for (unsigned i = 0; cmd->c.n_args == 2 && i < cmd->c.args[1].len; i++) {
		const struct imap_arg *p = &cmd->c.args[1].u.list[i];
		if (p->type != IMAP_ARG_ATOM || strcasecmp(p->u.str, "CONDSTORE") != 0) {
			cmd_reply(cmd, "BAD", "Unknown %s parameter.", cmd->def->name);
			return CMD_DONE;
		}
		condstore = true;
	}
	/* RFC 3501 §6.3.1: the previous mailbox is deselected (without expunging),
	   and stays deselected if this SELECT fails */
	session_unselect(s);
	if (condstore)
		session_enable_condstore(s);  /* nothing selected now: SELECT tells it */
	struct uimap_store_view *view;
	struct uimap_select_info info;
	int r = s->mail->vt->view_open(s->mail, name, readonly, &view, &info);
	if (r < 0) {
		reply_store_error(cmd, r, cmd->def->name);
		return CMD_DONE;
	}
	s->view = view;
	s->selected = xstrdup(name);
	s->readonly = info.readonly;
	s->state = SESSION_SELECTED;
	session_watch_view(s);
	write_mailbox_flags(s);
	outq_printf(s->out, "* %u EXISTS\r\n* %u RECENT\r\n", info.exists, info.recent);
	if (info.first_unseen != 0)
		outq_printf(s->out, "* OK [UNSEEN %u] First unseen.\r\n", info.first_unseen);
	outq_printf(s->out, "* OK [UIDVALIDITY %u] UIDs valid.\r\n", info.uidvalidity);
	outq_printf(s->out, "* OK [UIDNEXT %u] Predicted next UID.\r\n", info.uidnext);
	if (s->condstore)
		outq_printf(s->out, "* OK [HIGHESTMODSEQ %" PRIu64 "] Highest\r\n",
			    info.highest_modseq);
	cmd_reply(cmd, "OK", "[%s] %s completed.", info.readonly ? "READ-ONLY" : "READ-WRITE",
		  cmd->def->name);
	return CMD_DONE;
}

int cmd_select(struct uimap_cmd *cmd)
{
	return select_common(cmd, false);
}

int cmd_examine(struct uimap_cmd *cmd)
{
	return select_common(cmd, true);
}

int cmd_close(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "CLOSE takes no arguments.");
		return CMD_DONE;
	}
	/* RFC 3501 §6.4.2: expunge silently (no EXPUNGE responses) unless read-only */
	if (!s->readonly)
		s->view->vt->view_expunge(s->view, NULL, 0);
	session_unselect(s);
	cmd_reply(cmd, "OK", "CLOSE completed.");
	return CMD_DONE;
}

int cmd_unselect(struct uimap_cmd *cmd)
{
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "UNSELECT takes no arguments.");
		return CMD_DONE;
	}
	session_unselect(cmd->s);
	cmd_reply(cmd, "OK", "UNSELECT completed.");
	return CMD_DONE;
}
