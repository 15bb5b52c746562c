/* LIST and LSUB (RFC 3501 §6.3.8, §6.3.9) with the CHILDREN attributes (RFC 3348). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "mail/imapstr.h"

#include <string.h>

struct list_ctx {
	struct session *s;
	const char *verb;
};

static int list_one(void *ctx, const char *name, unsigned attrs, unsigned special_use)
{
	struct list_ctx *lc = ctx;
	struct outq *q = lc->s->out;
	(void)special_use;
	outq_printf(q, "* %s (", lc->verb);
	const char *sep = "";
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{ UIMAP_LIST_NOSELECT, "\\Noselect" },
		{ UIMAP_LIST_NOINFERIORS, "\\Noinferiors" },
		{ UIMAP_LIST_HAS_CHILDREN, "\\HasChildren" },
		{ UIMAP_LIST_HAS_NO_CHILDREN, "\\HasNoChildren" },
	};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (attrs & names[i].bit) {
			outq_printf(q, "%s%s", sep, names[i].name);
			sep = " ";
		}
	}
	outq_puts(q, ") \"/\" ");
	imapstr_astring(q, name, strlen(name));
	outq_puts(q, "\r\n");
	return 0;
}

static int list_common(struct uimap_cmd *cmd, bool lsub)
{
	const char *ref, *pattern;
	if (cmd->c.n_args != 2 || !arg_mailbox(&cmd->c.args[0], &ref) ||
	    !arg_mailbox(&cmd->c.args[1], &pattern)) {
		cmd_reply(cmd, "BAD", "%s takes a reference and a mailbox pattern.",
			  cmd->def->name);
		return CMD_DONE;
	}
	struct list_ctx lc = { cmd->s, lsub ? "LSUB" : "LIST" };
	struct uimap_store_user *u = cmd->s->mail;
	int r = u->vt->mailbox_list(u, ref, pattern, lsub ? UIMAP_LIST_F_SUBSCRIBED : 0,
				    list_one, &lc);
	if (r < 0)
		reply_store_error(cmd, r, cmd->def->name);
	else
		cmd_reply(cmd, "OK", "%s completed.", cmd->def->name);
	return CMD_DONE;
}

int cmd_list(struct uimap_cmd *cmd)
{
	return list_common(cmd, false);
}

int cmd_lsub(struct uimap_cmd *cmd)
{
	return list_common(cmd, true);
}
