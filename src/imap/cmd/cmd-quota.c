/* QUOTA (RFC 9208): GETQUOTA, GETQUOTAROOT and SETQUOTA, with the resources STORAGE and
   MESSAGE. Each user has one quota root, "", holding all of its mailboxes; its limits
   are the configuration's (--quota-storage, --quota-messages), overridden by the
   user's passwd-file fields (Dovecot's userdb_quota_rule=*:storage=1G), as at login,
   and by an administrator's SETQUOTA, which the store keeps. An administrator (the
   userdb field admin=yes, as in Dovecot) is offered QUOTASET and may also name other
   users' roots, "user/NAME". */
#include "imap/cmd.h"
#include "imap/limits.h"
#include "imap/server.h"
#include "imap/session.h"
#include "mail/imapstr.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OTHER_ROOT "user/"

/* The limits in force for user (its handle mail): the configuration's, the user's
   fields, then an administrator's quota. */
static void user_limits(struct uimap_server *srv, const char *user,
			struct uimap_store_user *mail, struct uimap_store_limits *l)
{
	const char *fields = srv->auth->user_fields != NULL
			     ? srv->auth->user_fields(srv->auth_ctx, user) : NULL;
	const char *err;
	struct uimap_quota q;
	limits_for_user(srv->cfg, fields, l, &err);
	if (mail->vt->quota_get != NULL && mail->vt->quota_get(mail, &q) == 1) {
		l->max_bytes = q.max_bytes;
		l->max_messages = q.max_messages;
	}
}

/* "* QUOTA root (STORAGE used limit MESSAGE used limit)": only the resources that
   have a limit (RFC 9208 §5.1; STORAGE in units of 1024 octets, rounded up). */
static void write_quota(struct session *s, const char *root, const char *user,
			struct uimap_store_user *mail)
{
	struct uimap_store_limits l;
	struct uimap_store_usage use = { 0 };
	user_limits(s->srv, user, mail, &l);
	mail->vt->usage(mail, &use);
	struct outq *q = s->out;
	outq_puts(q, "* QUOTA ");
	imapstr_astring(q, root, strlen(root));
	outq_puts(q, " (");
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

/* The user a quota root names: "" the session's own; "user/NAME" another user's
   (administrators only). Returns 1 with *mail_r (*opened_r: to be closed) and
   *user_r, or 0 after replying NO. */
static int root_user(struct uimap_cmd *cmd, const char *root, size_t len,
		     struct uimap_store_user **mail_r, bool *opened_r, const char **user_r)
{
	struct session *s = cmd->s;
	*opened_r = false;
	if (len == 0) {
		*mail_r = s->mail;
		*user_r = s->user;
		return 1;
	}
	size_t pl = strlen(OTHER_ROOT);
	if (!s->admin || len <= pl || strncasecmp(root, OTHER_ROOT, pl) != 0 ||
	    memchr(root, '\0', len) != NULL) {
		cmd_reply(cmd, "NO", "[NONEXISTENT] No such quota root (yours is \"\").");
		return 0;
	}
	struct uimap_store *store = s->srv->store;
	if (strcmp(root + pl, s->user) == 0) {
		*mail_r = s->mail;
		*user_r = s->user;
		return 1;
	}
	if (store->vt->user_open(store, root + pl, mail_r) < 0) {
		cmd_reply(cmd, "NO", "[UNAVAILABLE] That user's mail cannot be opened.");
		return 0;
	}
	*opened_r = true;
	*user_r = root + pl;
	return 1;
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
	struct uimap_store_user *mail;
	const char *user;
	bool opened;
	if (!root_user(cmd, root, len, &mail, &opened, &user))
		return CMD_DONE;
	write_quota(cmd->s, root, user, mail);
	if (opened)
		uimap_store_user_close(&mail);
	cmd_reply(cmd, "OK", "GETQUOTA completed.");
	return CMD_DONE;
}

int cmd_getquotaroot(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const char *name;
	struct uimap_status st;
	if (cmd->c.n_args != 1 || !cmd_mailbox(cmd, &cmd->c.args[0], &name)) {
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
	session_write_mailbox(s, s->out, name);
	outq_puts(s->out, " \"\"\r\n");
	write_quota(s, "", s->user, s->mail);
	cmd_reply(cmd, "OK", "GETQUOTAROOT completed.");
	return CMD_DONE;
}

/* RFC 9208 §4.2: SETQUOTA root (resource limit ...) replaces the root's limits: a
   resource left out has none. */
int cmd_setquota(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const char *root;
	size_t len;
	if (cmd->c.n_args != 2 || !arg_string(&cmd->c.args[0], &root, &len) ||
	    cmd->c.args[1].type != IMAP_ARG_LIST || cmd->c.args[1].len % 2 != 0) {
		cmd_reply(cmd, "BAD", "SETQUOTA takes a quota root and a list of resources "
			  "and limits.");
		return CMD_DONE;
	}
	struct uimap_quota q = { 0, 0 };
	const struct imap_arg *l = cmd->c.args[1].u.list;
	bool seen_storage = false, seen_message = false;
	for (unsigned i = 0; i < cmd->c.args[1].len; i += 2) {
		const char *res, *num;
		size_t rl, nl;
		char *end;
		if (l[i].type != IMAP_ARG_ATOM || l[i + 1].type != IMAP_ARG_ATOM ||
		    !arg_string(&l[i], &res, &rl) || !arg_string(&l[i + 1], &num, &nl) ||
		    num[0] < '0' || num[0] > '9' || nl > 19) {
			cmd_reply(cmd, "BAD", "SETQUOTA: a resource name and a number each.");
			return CMD_DONE;
		}
		uint64_t v = strtoull(num, &end, 10);
		if (*end != '\0' || v > (uint64_t)INT64_MAX / 1024) {
			cmd_reply(cmd, "BAD", "SETQUOTA: invalid limit.");
			return CMD_DONE;
		}
		bool storage = strcasecmp(res, "STORAGE") == 0;
		if (!storage && strcasecmp(res, "MESSAGE") != 0) {
			/* RFC 9208 §4.2: a resource the server does not support */
			cmd_reply(cmd, "NO", "SETQUOTA: only STORAGE and MESSAGE are supported.");
			return CMD_DONE;
		}
		if ((storage && seen_storage) || (!storage && seen_message)) {
			cmd_reply(cmd, "BAD", "SETQUOTA: a resource is given twice.");
			return CMD_DONE;
		}
		if (v == 0) {
			cmd_reply(cmd, "NO", "SETQUOTA: a limit of 0 is not supported (leave the "
				  "resource out for no limit).");
			return CMD_DONE;
		}
		if (storage) {
			seen_storage = true;
			q.max_bytes = v * 1024;   /* STORAGE is in units of 1024 octets */
		} else {
			seen_message = true;
			q.max_messages = v;
		}
	}
	if (s->mail->vt->quota_set == NULL) {
		cmd_reply(cmd, "NO", "Quotas are not set through IMAP here.");
		return CMD_DONE;
	}
	if (!s->admin) {
		cmd_reply(cmd, "NO", "[NOPERM] Only an administrator sets quotas (userdb_admin=yes "
			  "in the passwd-file).");
		return CMD_DONE;
	}
	struct uimap_store_user *mail;
	const char *user;
	bool opened;
	if (!root_user(cmd, root, len, &mail, &opened, &user))
		return CMD_DONE;
	int r = mail->vt->quota_set(mail, q.max_bytes == 0 && q.max_messages == 0 ? NULL : &q);
	if (r < 0) {
		if (opened)
			uimap_store_user_close(&mail);
		reply_store_error(cmd, r, "SETQUOTA");
		return CMD_DONE;
	}
	log_write(UIMAP_LOG_INFO, s->conn->id, s->conn->addr, "quota of %s set by %s: "
		  "storage %" PRIu64 " bytes, %" PRIu64 " messages (0: none)", user, s->user,
		  q.max_bytes, q.max_messages);
	write_quota(s, root, user, mail);
	if (opened)
		uimap_store_user_close(&mail);
	cmd_reply(cmd, "OK", "SETQUOTA completed.");
	return CMD_DONE;
}
