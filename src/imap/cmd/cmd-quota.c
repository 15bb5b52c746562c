/* QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT and SETQUOTA, with the resources STORAGE and
   MESSAGE. Each user has one quota root, "", holding all of its mailboxes; its limits
   are the configuration's (--quota-storage, --quota-messages), overridden by the
   user's passwd-file fields (Dovecot's userdb_quota_rule=*:storage=1G), as at login.
   SETQUOTA is refused: limits come from the administrator's files, not from IMAP, so
   QUOTASET is not advertised (RFC 9208 §4.1). */
#include "imap/cmd.h"
#include "imap/limits.h"
#include "imap/server.h"
#include "imap/session.h"
#include "mail/imapstr.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* "* QUOTA "" (STORAGE used limit MESSAGE used limit)": only the resources that have a
   limit (RFC 9208 §5.1; STORAGE in units of 1024 octets, rounded up). */
static void write_quota(struct session *s)
{
	struct uimap_server *srv = s->srv;
	const char *fields = srv->auth->user_fields != NULL
			     ? srv->auth->user_fields(srv->auth_ctx, s->user) : NULL;
	struct uimap_store_limits l;
	struct uimap_store_usage use = { 0 };
	const char *err;
	limits_for_user(srv->cfg, fields, &l, &err);
	s->mail->vt->usage(s->mail, &use);
	struct outq *q = s->out;
	outq_puts(q, "* QUOTA \"\" (");
	const char *sep = "";
	if (l.max_bytes != 0) {
		outq_printf(q, "STORAGE %" PRIu64 " %" PRIu64, (use.bytes + 1023) / 1024,
			    (l.max_bytes + 1023) / 1024);
		sep = " ";
	}
	if (l.max_messages != 0)
		outq_printf(q, "%sMESSAGE %" PRIu64 " %" PRIu64, sep, use.messages, l.max_messages);
	outq_puts(q, ")\r\n");
}

bool session_quota_offered(const struct session *s)
{
	return s->srv->store->vt->usage != NULL;
}

int cmd_getquota(struct uimap_cmd *cmd)
{
	const char *root;
	size_t len;
	if (cmd->c.n_args != 1 || !arg_string(&cmd->c.args[0], &root, &len)) {
		cmd_reply(cmd, "BAD", "GETQUOTA takes a quota root.");
		return CMD_DONE;
	}
	if (!session_quota_offered(cmd->s)) {
		cmd_reply(cmd, "NO", "Quotas are not available here.");
		return CMD_DONE;
	}
	if (len != 0) {
		cmd_reply(cmd, "NO", "[NONEXISTENT] No such quota root (the only one is \"\").");
		return CMD_DONE;
	}
	write_quota(cmd->s);
	cmd_reply(cmd, "OK", "GETQUOTA completed.");
	return CMD_DONE;
}

int cmd_getquotaroot(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const char *name;
	struct uimap_status st;
	if (cmd->c.n_args != 1 || !arg_mailbox(&cmd->c.args[0], &name)) {
		cmd_reply(cmd, "BAD", "GETQUOTAROOT takes a mailbox name.");
		return CMD_DONE;
	}
	if (!session_quota_offered(s)) {
		cmd_reply(cmd, "NO", "Quotas are not available here.");
		return CMD_DONE;
	}
	int r = s->mail->vt->mailbox_status(s->mail, name, &st);
	if (r < 0 && r != -EPERM) {   /* a \Noselect name still has a quota root */
		reply_store_error(cmd, r, "GETQUOTAROOT");
		return CMD_DONE;
	}
	outq_puts(s->out, "* QUOTAROOT ");
	imapstr_astring(s->out, name, strlen(name));
	outq_puts(s->out, " \"\"\r\n");
	write_quota(s);
	cmd_reply(cmd, "OK", "GETQUOTAROOT completed.");
	return CMD_DONE;
}

int cmd_setquota(struct uimap_cmd *cmd)
{
	if (cmd->c.n_args != 2 || cmd->c.args[1].type != IMAP_ARG_LIST) {
		cmd_reply(cmd, "BAD", "SETQUOTA takes a quota root and a resource list.");
		return CMD_DONE;
	}
	/* RFC 9208 §4.1: without QUOTASET, limits are not set through IMAP */
	cmd_reply(cmd, "NO", "[NOPERM] Quotas are set by the administrator (passwd-file "
		  "quota_rule, --quota-storage, --quota-messages).");
	return CMD_DONE;
}
