/* LOGIN and AUTHENTICATE PLAIN (RFC 3501 §6.2, RFC 4959 SASL-IR), off-loop password checks
   and the growing failed-login delay. */
#include "imap/cmd.h"
#include "core/alloc.h"
#include "imap/session.h"
#include "imap/usercount.h"
#include "auth/auth-worker.h"
#include "auth/sasl.h"
#include "core/base64.h"
#include "core/common.h"
#include "core/log.h"
#include "core/probes.h"
#include "auth/passwd-file.h"
#include "auth/penalty.h"
#include "imap/server.h"
#include "imap/limits.h"
#include "net/conn.h"
#include "net/iptable.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void reply_logged_in(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct outq *q = s->out;
	outq_puts(q, cmd->c.tag);
	outq_puts(q, " OK [CAPABILITY ");
	cmd_write_capabilities(s, q);
	outq_puts(q, "] Logged in.\r\n");
	cmd->replied = true;
	s->reply_status = CMD_REPLY_OK;
	conn_mark_dirty(s->conn);
}

/* The user's limits: the configuration's, with the user's own quota rules. */
static void apply_user_limits(struct session *s)
{
	struct uimap_server *srv = s->srv;
	const char *fields = srv->auth->user_fields != NULL
			     ? srv->auth->user_fields(srv->auth_ctx, s->user) : NULL;
	struct uimap_store_limits limits;
	const char *err;

	s->admin = user_is_admin(fields);
	s->urlauth_submit = user_field_yes(fields, "urlauth_submit");
	if (limits_for_user(srv->cfg, fields, &limits, &err) < 0)
		log_write(UIMAP_LOG_WARN, s->conn->id, s->conn->addr, "user %s: %s", s->user,
			  err);
	if (s->mail->vt->set_limits != NULL)
		s->mail->vt->set_limits(s->mail, &limits);
}

static int reply_failed(struct uimap_cmd *cmd)
{
	cmd_reply(cmd, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
	return CMD_DONE;
}

/* A login attempt ends without logging in (wrong credentials, or refused). */
static void count_failed(struct session *s)
{
	s->srv->metrics.logins_failed++;
}

/* Whether the server's users include user (a master login names one). */
bool login_user_exists(struct uimap_server *srv, const char *user)
{
	if (srv->auth_owned)
		return passwd_file_has_user(srv->auth_ctx, user);
	/* an embedder's backend: those that tell a user's fields tell who exists */
	return srv->auth->user_fields != NULL && srv->auth->user_fields(srv->auth_ctx, user);
}

/* The verdict (s->auth_result, as verify_plain) for the pending user: reply now,
   or after the failure delay. */
static int login_resume(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct conn *c = s->conn;
	int result = s->auth_result;
	unsigned char addr[16];
	ip_key(&c->peer, addr);
	/* a master user's password was right: the user logged in as must exist */
	if (result > 0 && s->master != NULL && !login_user_exists(s->srv, s->user))
		result = 0;
	if (result <= 0)
		count_failed(s);
	if (result > 0) {
		struct uimap_store *store = s->srv->store;
		unsigned limit = s->srv->cfg->max_connections_per_user;
		/* the seed's concurrent_user_connections: refused at login, the session
		   stays usable (another LOGIN, LOGOUT) */
		if (limit != 0 && usercount_get(s->srv->users, s->user) >= limit) {
			log_write(UIMAP_LOG_INFO, c->id, c->addr,
				  "login refused: user=%s has %u sessions (max-connections-per-user)",
				  s->user, limit);
			free(s->user);
			s->user = NULL;
			count_failed(s);
			cmd_reply(cmd, "NO", "[LIMIT] Too many connections for this user.");
			return CMD_DONE;
		}
		int r = store->vt->user_open(store, s->user, &s->mail);
		if (r < 0) {
			log_write(UIMAP_LOG_ERROR, c->id, c->addr, "cannot open mail of %s: %d",
				  s->user, r);
			free(s->user);
			s->user = NULL;
			count_failed(s);
			cmd_reply(cmd, "NO", "[UNAVAILABLE] Mail storage is unavailable.");
			return CMD_DONE;
		}
		apply_user_limits(s);
		s->state = SESSION_AUTH;
		usercount_add(s->srv->users, s->user);
		auth_penalty_success(s->srv->penalty, addr, s->user);
		conn_set_authenticated(c);
		s->srv->metrics.logins_ok++;
		if (s->master != NULL)
			log_write(UIMAP_LOG_INFO, c->id, c->addr, "login: user=%s master=%s",
				  s->user, s->master);
		else
			log_write(UIMAP_LOG_INFO, c->id, c->addr, "login: user=%s", s->user);
		PROBE1(login, s->user);
		reply_logged_in(cmd);
		/* the authenticated idle timeout applies from now */
		conn_idle_reset(c);
		return CMD_DONE;
	}
	if (result < 0) {
		free(s->user);
		s->user = NULL;
		log_write(UIMAP_LOG_ERROR, c->id, c->addr, "auth backend error: %s",
			  s->auth_error ? s->auth_error : "unknown");
		cmd_reply(cmd, "NO", "[UNAVAILABLE] Authentication is temporarily unavailable.");
		return CMD_DONE;
	}
	s->failed_logins++;
	uint64_t now = clock_ms();
	/* the penalty grows per (address, user): another user's success does not
	   reset it, and it decays with time */
	unsigned delay = auth_penalty_fail(s->srv->penalty, addr, s->user, now,
					   s->srv->cfg->login_delay_ms,
					   s->srv->cfg->login_delay_max_ms);
	log_write(UIMAP_LOG_INFO, c->id, c->addr, "login failed: user=%s%s%s (%u recent failures)",
		  s->user, s->master ? " master=" : "", s->master ? s->master : "",
		  auth_penalty_count(s->srv->penalty, addr, s->user, now));
	free(s->user);
	s->user = NULL;
	free(s->master);
	s->master = NULL;
	if (delay == 0)
		return reply_failed(cmd);
	return cmd_block_until(cmd, now + delay, reply_failed);
}

int login_begin(struct uimap_cmd *cmd, const char *user, const char *password)
{
	struct session *s = cmd->s;
	struct uimap_server *srv = s->srv;
	const struct uimap_auth_backend *backend = srv->auth;
	void *ctx = srv->auth_ctx;
	const char *sep = srv->cfg->master_separator != NULL ? srv->cfg->master_separator : "*";
	const char *at = srv->master_ctx != NULL ? strstr(user, sep) : NULL;
	if (srv->auth == NULL || srv->auth->verify_plain == NULL) {
		cmd_reply(cmd, "NO", "[UNAVAILABLE] No authentication backend is configured.");
		return CMD_DONE;
	}
	free(s->master);   /* from an earlier attempt that failed */
	s->master = NULL;
	if (at != NULL && at != user && at[strlen(sep)] != '\0') {
		/* Dovecot's master users: "user*master" with the master's password */
		s->user = xstrndup(user, (size_t)(at - user));
		s->master = xstrdup(at + strlen(sep));
		user = s->master;
		backend = &uimap_auth_passwd_file;
		ctx = srv->master_ctx;
	} else {
		s->user = xstrdup(user);
	}
	if (backend->blocking && srv->auth_worker != NULL) {
		int r = auth_worker_submit(srv->auth_worker, backend, ctx, user, password, s);
		if (r < 0) {
			free(s->user);
			s->user = NULL;
			free(s->master);
			s->master = NULL;
			cmd_reply(cmd, "NO", "[UNAVAILABLE] Authentication service is busy.");
			return CMD_DONE;
		}
		s->auth_pending = true;
		return cmd_block(cmd, CMD_WAIT_AUTH, login_resume);
	}
	s->auth_error = NULL;
	s->auth_result = backend->verify_plain(ctx, user, password, &s->auth_error);
	return login_resume(cmd);
}

void session_auth_done(void *cookie, int result, const char *error)
{
	struct session *s = cookie;
	s->auth_pending = false;
	if (s->conn->closing)
		return;
	s->auth_result = result;
	s->auth_error = error;
	session_unblock(s, CMD_WAIT_AUTH);
}

int cmd_login(struct uimap_cmd *cmd)
{
	const char *user, *pass;
	size_t ulen, plen;
	if (cmd->c.n_args != 2 || !arg_string(&cmd->c.args[0], &user, &ulen) ||
	    !arg_string(&cmd->c.args[1], &pass, &plen)) {
		cmd_reply(cmd, "BAD", "LOGIN takes a user name and a password.");
		return CMD_DONE;
	}
	if (!session_auth_allowed(cmd->s)) {
		cmd_reply(cmd, "NO", "[ALERT] Plaintext authentication is not allowed on an "
			  "unencrypted connection; use TLS.");
		return CMD_DONE;
	}
	if (strlen(user) != ulen || strlen(pass) != plen || ulen == 0) {
		count_failed(cmd->s);
		cmd_reply(cmd, "NO", "[AUTHENTICATIONFAILED] Authentication failed.");
		return CMD_DONE;
	}
	int r = login_begin(cmd, user, pass);
	explicit_bzero((char *)pass, plen);
	return r;
}

/* Decode a base64 SASL PLAIN response and start the check. */
static int authenticate_response(struct uimap_cmd *cmd, const char *b64, size_t len)
{
	if (len == 1 && b64[0] == '=')
		len = 0; /* RFC 4959 §3: "=" is an empty initial response */
	unsigned char *raw = arena_alloc(&cmd->s->arena, base64_decoded_max(len) + 1);
	size_t rawlen;
	if (base64_decode(b64, len, raw, &rawlen) < 0) {
		cmd_reply(cmd, "BAD", "Invalid base64 in SASL response.");
		return CMD_DONE;
	}
	const char *authz, *authc, *pass, *error;
	char *scratch = arena_alloc(&cmd->s->arena, rawlen + 1);
	if (sasl_plain_decode(raw, rawlen, scratch, &authz, &authc, &pass, &error) < 0) {
		explicit_bzero(raw, rawlen);
		explicit_bzero(scratch, rawlen + 1);
		count_failed(cmd->s);
		cmd_reply(cmd, "NO", "[AUTHENTICATIONFAILED] %s", error);
		return CMD_DONE;
	}
	int r = login_begin(cmd, authc, pass);
	explicit_bzero(raw, rawlen);
	explicit_bzero(scratch, rawlen + 1);
	return r;
}

static int authenticate_line(struct uimap_cmd *cmd)
{
	const char *line = cmd->line;
	size_t len = cmd->line_len;
	if (len == 1 && line[0] == '*') {
		/* RFC 3501 §6.2.2: the client cancelled */
		cmd_reply(cmd, "BAD", "Authentication cancelled.");
		return CMD_DONE;
	}
	int r = authenticate_response(cmd, line, len);
	explicit_bzero((char *)line, len);
	return r;
}

int cmd_authenticate(struct uimap_cmd *cmd)
{
	const char *mech, *ir = NULL;
	size_t mlen, irlen = 0;
	unsigned n = cmd->c.n_args;
	if (n < 1 || n > 2 || cmd->c.args[0].type != IMAP_ARG_ATOM ||
	    !arg_string(&cmd->c.args[0], &mech, &mlen) ||
	    (n == 2 && (cmd->c.args[1].type != IMAP_ARG_ATOM ||
			!arg_string(&cmd->c.args[1], &ir, &irlen)))) {
		cmd_reply(cmd, "BAD", "AUTHENTICATE takes a mechanism and an optional initial response.");
		return CMD_DONE;
	}
	if (strcasecmp(mech, "PLAIN") != 0) {
		cmd_reply(cmd, "NO", "Unsupported authentication mechanism.");
		return CMD_DONE;
	}
	if (!session_auth_allowed(cmd->s)) {
		cmd_reply(cmd, "NO", "[ALERT] Plaintext authentication is not allowed on an "
			  "unencrypted connection; use TLS.");
		return CMD_DONE;
	}
	if (ir != NULL)
		return authenticate_response(cmd, ir, irlen);
	/* RFC 3501 §6.2.2: an empty challenge for PLAIN */
	outq_puts(cmd->s->out, "+ \r\n");
	return cmd_block(cmd, CMD_WAIT_LINE, authenticate_line);
}
