/* Command table built from commands.def, capabilities, and custom commands. */
#include "imap/cmd.h"
#include "core/alloc.h"
#include "imap/session.h"
#include "imap/server.h"
#include "net/conn.h"
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct cmd_def builtin[] = {
#define CMD(name, handler, states, flags, cap) \
	{ #name, handler, states, flags, cap, NULL, CMD_INDEX_##name },
#include "imap/commands.def"
#undef CMD
};

struct cmd_registry {
	struct cmd_def *defs;
	struct uimap_command *cmds;
	unsigned n, cap;
};

static int custom_handler(struct uimap_cmd *cmd)
{
	const struct uimap_command *c = cmd->def->custom;
	int ret = c->handler(cmd, c->ctx);
	if (!cmd->replied) {
		if (ret == 0)
			cmd_reply(cmd, "OK", "%s completed", c->name);
		else
			cmd_reply(cmd, "NO", "%s failed", c->name);
	}
	return CMD_DONE;
}

struct cmd_registry *cmd_registry_new(void)
{
	return xcalloc(1, sizeof(struct cmd_registry));
}

int cmd_registry_add(struct cmd_registry *r, const struct uimap_command *cmd)
{
	if (cmd->name == NULL || cmd->handler == NULL || cmd->name[0] == '\0' ||
	    strlen(cmd->name) > 64 || (cmd->states & UIMAP_STATE_ANY) == 0)
		return -1;
	for (const char *p = cmd->name; *p; p++)
		if (!imap_is_atom_char((unsigned char)*p))
			return -1;
	for (size_t i = 0; i < N_ELEMENTS(builtin); i++)
		if (strcasecmp(builtin[i].name, cmd->name) == 0)
			return -1;
	for (unsigned i = 0; i < r->n; i++)
		if (strcasecmp(r->cmds[i].name, cmd->name) == 0)
			return -1;
	if (r->n == r->cap) {
		unsigned cap = r->cap ? r->cap * 2 : 8;
		struct uimap_command *nc = xcalloc(cap, sizeof(*nc));
		struct cmd_def *nd = xcalloc(cap, sizeof(*nd));
		if (r->n > 0) {
			memcpy(nc, r->cmds, r->n * sizeof(*nc));
			memcpy(nd, r->defs, r->n * sizeof(*nd));
		}
		free(r->cmds);
		free(r->defs);
		r->cmds = nc;
		r->defs = nd;
		r->cap = cap;
		for (unsigned i = 0; i < r->n; i++)
			r->defs[i].custom = &r->cmds[i];
	}
	struct uimap_command *c = &r->cmds[r->n];
	*c = *cmd;
	c->name = xstrdup(cmd->name);
	c->capability = cmd->capability ? xstrdup(cmd->capability) : NULL;
	struct cmd_def *d = &r->defs[r->n];
	d->name = c->name;
	d->handler = custom_handler;
	d->states = cmd->states & UIMAP_STATE_ANY;
	d->flags = 0;
	d->capability = c->capability;
	d->custom = c;
	d->index = CMD_INDEX_OTHER;
	r->n++;
	return 0;
}

void cmd_registry_free(struct cmd_registry **rp)
{
	struct cmd_registry *r = *rp;
	if (r == NULL)
		return;
	*rp = NULL;
	for (unsigned i = 0; i < r->n; i++) {
		free((char *)r->cmds[i].name);
		free((char *)r->cmds[i].capability);
	}
	free(r->cmds);
	free(r->defs);
	free(r);
}

const struct cmd_def *cmd_lookup(const struct uimap_server *srv, const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(builtin); i++)
		if (strcasecmp(builtin[i].name, name) == 0)
			return &builtin[i];
	const struct cmd_registry *r = srv->commands;
	for (unsigned i = 0; r != NULL && i < r->n; i++)
		if (strcasecmp(r->defs[i].name, name) == 0)
			return &r->defs[i];
	return NULL;
}

const char *cmd_index_name(enum cmd_index i)
{
	return i < N_ELEMENTS(builtin) ? builtin[i].name : "other";
}

/* The capability list of srv for a connection: before login (not_auth), where
   STARTTLS is possible, where plaintext authentication is allowed. */
static void write_capability_list(const struct uimap_server *srv, bool not_auth,
				  bool starttls, bool auth_allowed, struct outq *q)
{
	outq_puts(q, "IMAP4rev1 IMAP4rev2 LITERAL+");
	/* RFC 3501 §6.2.1: STARTTLS only before TLS and before login */
	if (not_auth && starttls)
		outq_puts(q, " STARTTLS");
	if (not_auth) {
		/* RFC 3501 §6.2.3 / RFC 2595: no plaintext auth on an insecure link */
		if (auth_allowed)
			outq_puts(q, " SASL-IR AUTH=PLAIN");
		else
			outq_puts(q, " LOGINDISABLED");
	}
	for (size_t i = 0; i < N_ELEMENTS(builtin); i++)
		if (builtin[i].capability != NULL) {
			outq_puts(q, " ");
			outq_puts(q, builtin[i].capability);
		}
	/* extensions of existing commands (advertised only when complete) */
	outq_puts(q, " BINARY CATENATE UTF8=ACCEPT CONDSTORE ESEARCH SEARCHRES PARTIAL STATUS=SIZE LIST-EXTENDED"
		     " LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE SORT SORT=DISPLAY ESORT CONTEXT=SORT"
		     " THREAD=ORDEREDSUBJECT THREAD=REFERENCES");
	/* QRESYNC when the store keeps expunged UIDs (view_vanished) */
	if (srv->store->vt->view_vanished != NULL)
		outq_puts(q, " QRESYNC");
	/* RFC 5465: when the store tells changes to watchers */
	if (srv->store->vt->user_watch != NULL)
		outq_puts(q, " NOTIFY");
	/* RFC 9208: when the store counts usage */
	if (srv->store->vt->usage != NULL)
		outq_puts(q, " QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE");
	/* RFC 4467, RFC 5524: when the store keeps mailbox access keys */
	if (srv->store->vt->urlauth_key_set != NULL)
		outq_puts(q, " URLAUTH URLAUTH=BINARY");
	/* RFC 7889: the largest message APPEND takes (one literal) */
	outq_printf(q, " APPENDLIMIT=%zu", srv->cfg->max_literal);
	const struct cmd_registry *r = srv->commands;
	for (unsigned i = 0; r != NULL && i < r->n; i++)
		if (r->defs[i].capability != NULL) {
			outq_puts(q, " ");
			outq_puts(q, r->defs[i].capability);
		}
}

void cmd_write_capabilities(struct session *s, struct outq *q)
{
	bool not_auth = s->state == SESSION_NOT_AUTH;
	write_capability_list(s->srv, not_auth, conn_can_starttls(s->conn),
			      session_auth_allowed(s), q);
	/* RFC 9208 §4.1: SETQUOTA works for this user (an administrator) */
	if (s->admin && s->srv->store->vt->quota_set != NULL)
		outq_puts(q, " QUOTASET");
}

UIMAP_EXPORT size_t uimap_server_capability(struct uimap_server *srv, bool authenticated,
					    bool tls, char *buf, size_t size)
{
	struct outq q = { 0 };
	write_capability_list(srv, !authenticated, !tls && srv->cfg->cert_file != NULL,
			      tls || srv->cfg->allow_plaintext_auth, &q);
	size_t len = q.bytes, o = 0;
	struct iovec iov[16];
	int n;
	while (o < len && size > 0 && (n = outq_iov(&q, iov, 16)) > 0) {
		size_t took = 0;
		for (int i = 0; i < n && o + 1 < size; i++) {
			size_t k = MIN(iov[i].iov_len, size - 1 - o);
			memcpy(buf + o, iov[i].iov_base, k);
			o += k;
			took += k;
		}
		if (took == 0)
			break;
		outq_consume(&q, took);
	}
	if (size > 0)
		buf[o] = '\0';
	outq_clear(&q);
	return len;
}

/* ---- public API for embedders' command handlers ---- */

UIMAP_EXPORT unsigned uimap_cmd_arg_count(const struct uimap_cmd *cmd)
{
	return cmd->c.n_args;
}

UIMAP_EXPORT int uimap_cmd_arg_string(const struct uimap_cmd *cmd, unsigned i,
				      const char **str_r, size_t *len_r)
{
	if (i >= cmd->c.n_args)
		return -1;
	return arg_string(&cmd->c.args[i], str_r, len_r) ? 0 : -1;
}

UIMAP_EXPORT const char *uimap_cmd_user(const struct uimap_cmd *cmd)
{
	return cmd->s->user;
}

UIMAP_EXPORT void uimap_cmd_untagged(struct uimap_cmd *cmd, const char *text)
{
	/* keep the stream well-formed whatever the embedder passes */
	size_t n = strcspn(text, "\r\n");
	outq_puts(cmd->s->out, "* ");
	outq_append(cmd->s->out, text, n);
	outq_puts(cmd->s->out, "\r\n");
	conn_mark_dirty(cmd->s->conn);
}

UIMAP_EXPORT void uimap_cmd_reply(struct uimap_cmd *cmd, const char *status, const char *text)
{
	if (cmd->replied)
		return;
	if (strcmp(status, "OK") != 0 && strcmp(status, "NO") != 0 && strcmp(status, "BAD") != 0)
		status = "NO";
	size_t n = strcspn(text, "\r\n");
	cmd_reply(cmd, status, "%.*s", (int)n, text);
}
