/* SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3501 §6.3.1, §6.3.2, §6.4.2; RFC 3691). */
#include "imap/cmd.h"
#include "core/alloc.h"
#include "imap/session.h"
#include "net/conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int select_common(struct uimap_cmd *cmd, bool readonly)
{
	struct session *s = cmd->s;
	const char *name;
	if (cmd->c.n_args != 1 || !arg_mailbox(&cmd->c.args[0], &name)) {
		cmd_reply(cmd, "BAD", "%s takes one mailbox name.", cmd->def->name);
		return CMD_DONE;
	}
	/* RFC 3501 §6.3.1: the previous mailbox is deselected (without expunging),
	   and stays deselected if this SELECT fails */
	session_unselect(s);
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
