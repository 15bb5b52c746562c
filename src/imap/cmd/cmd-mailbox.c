/* CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 3501 §6.3.3 - §6.3.7). */
#include "imap/cmd.h"
#include "imap/session.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static bool one_name(struct uimap_cmd *cmd, const char **name_r)
{
	if (cmd->c.n_args != 1 || !cmd_mailbox(cmd, &cmd->c.args[0], name_r)) {
		cmd_reply(cmd, "BAD", "%s takes one mailbox name.", cmd->def->name);
		return false;
	}
	return true;
}

/* RFC 6154 §3 CREATE-SPECIAL-USE: CREATE name (USE (\Archive ...)). Returns the
   attribute bits, or -1 after replying. */
static int create_use(struct uimap_cmd *cmd, const struct imap_arg *params)
{
	unsigned use = 0;
	const struct imap_arg *p = params->u.list;
	if (params->len != 2 || p[0].type != IMAP_ARG_ATOM || strcasecmp(p[0].u.str, "USE") != 0 ||
	    p[1].type != IMAP_ARG_LIST) {
		cmd_reply(cmd, "BAD", "CREATE takes a mailbox name and (USE (attributes)).");
		return -1;
	}
	for (unsigned i = 0; i < p[1].len; i++) {
		const struct imap_arg *a = &p[1].u.list[i];
		unsigned bit = a->type == IMAP_ARG_ATOM ? special_use_parse(a->u.str) : 0;
		/* \All and \Flagged are virtual mailboxes: none exist here */
		if (bit == 0 || bit == UIMAP_SPECIAL_ALL || bit == UIMAP_SPECIAL_FLAGGED) {
			cmd_reply(cmd, "NO", "[USEATTR] Special-use attribute not supported.");
			return -1;
		}
		use |= bit;
	}
	return (int)use;
}

int cmd_create(struct uimap_cmd *cmd)
{
	const char *name;
	int use = 0;
	if (cmd->c.n_args == 2 && cmd->c.args[1].type == IMAP_ARG_LIST &&
	    cmd_mailbox(cmd, &cmd->c.args[0], &name)) {
		use = create_use(cmd, &cmd->c.args[1]);
		if (use < 0)
			return CMD_DONE;
	} else if (!one_name(cmd, &name)) {
		return CMD_DONE;
	}
	int r = cmd->s->mail->vt->mailbox_create(cmd->s->mail, name, (unsigned)use);
	if (r < 0)
		reply_store_error(cmd, r, "CREATE");
	else
		cmd_reply(cmd, "OK", "CREATE completed.");
	return CMD_DONE;
}

static bool same_mailbox(const char *a, const char *b)
{
	if (strcasecmp(a, "INBOX") == 0 && strcasecmp(b, "INBOX") == 0)
		return true;
	return strcmp(a, b) == 0;
}

int cmd_delete(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const char *name;
	if (!one_name(cmd, &name))
		return CMD_DONE;
	/* deleting our own selected mailbox: leave it first instead of being told
	   that it vanished */
	bool was_selected = s->selected != NULL && same_mailbox(s->selected, name) &&
			    strcasecmp(name, "INBOX") != 0;
	if (was_selected)
		session_unselect(s);
	int r = s->mail->vt->mailbox_delete(s->mail, name);
	if (r < 0)
		reply_store_error(cmd, r, "DELETE");
	else
		cmd_reply(cmd, "OK", "DELETE completed.");
	return CMD_DONE;
}

int cmd_rename(struct uimap_cmd *cmd)
{
	const char *from, *to;
	if (cmd->c.n_args != 2 || !cmd_mailbox(cmd, &cmd->c.args[0], &from) ||
	    !cmd_mailbox(cmd, &cmd->c.args[1], &to)) {
		cmd_reply(cmd, "BAD", "RENAME takes two mailbox names.");
		return CMD_DONE;
	}
	int r = cmd->s->mail->vt->mailbox_rename(cmd->s->mail, from, to);
	if (r < 0)
		reply_store_error(cmd, r, "RENAME");
	else
		cmd_reply(cmd, "OK", "RENAME completed.");
	return CMD_DONE;
}

static int subscribe(struct uimap_cmd *cmd, bool on)
{
	const char *name;
	if (!one_name(cmd, &name))
		return CMD_DONE;
	int r = cmd->s->mail->vt->mailbox_subscribe(cmd->s->mail, name, on);
	if (r < 0)
		reply_store_error(cmd, r, cmd->def->name);
	else if (r == 0 && !on)
		cmd_reply(cmd, "NO", "[NONEXISTENT] Not subscribed to that name.");
	else
		cmd_reply(cmd, "OK", "%s completed.", cmd->def->name);
	return CMD_DONE;
}

int cmd_subscribe(struct uimap_cmd *cmd)
{
	return subscribe(cmd, true);
}

int cmd_unsubscribe(struct uimap_cmd *cmd)
{
	return subscribe(cmd, false);
}
