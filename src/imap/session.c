/* IMAP session: input assembly, command dispatch, suspension and resumption. */
#include "imap/session.h"
#include "imap/notify.h"
#include "imap/usercount.h"
#include "core/alloc.h"
#include "imap/server.h"
#include "auth/auth-worker.h"
#include "core/common.h"
#include "core/log.h"
#include "core/probes.h"
#include "persist/persist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_ARENA_BLOCK 2048
#define STASH_MAX (1024 * 1024)

static void durable_done(struct persist_waiter *w, int err);

static void *session_create(void *server_ctx, struct conn *c)
{
	struct uimap_server *srv = server_ctx;
	struct session *s = xcalloc(1, sizeof(*s));
	s->conn = c;
	s->srv = srv;
	s->out = &c->out;
	s->state = SESSION_NOT_AUTH;
	s->durable.done = durable_done;
	if (srv->cfg->login_timeout > 0) {
		s->login_deadline_ms = clock_ms() + (uint64_t)srv->cfg->login_timeout * 1000u;
		conn_wake_at(c, s->login_deadline_ms);
	}
	arena_init(&s->arena, CMD_ARENA_BLOCK);
	arena_init(&s->scratch, 4096);
	parser_init(&s->parser, &s->arena, srv->cfg->max_line, srv->cfg->max_literal);
	/* RFC 3501 §7.1.1: the greeting may carry the capability list */
	outq_puts(s->out, "* OK [CAPABILITY ");
	cmd_write_capabilities(s, s->out);
	outq_puts(s->out, "] uimap ready.\r\n");
	return s;
}

static void session_destroy(void *ctx)
{
	struct session *s = ctx;
	if (s->cmd_active && s->cmd.cleanup != NULL)
		s->cmd.cleanup(&s->cmd);
	if (s->srv->persist != NULL)
		persist_waiter_cancel(s->srv->persist, &s->durable);
	/* a password check under way: its result is dropped */
	if (s->auth_pending)
		auth_worker_cancel(s->srv->auth_worker, s);
	session_unselect(s);
	(void)notify_install(s, NULL);
	if (s->state != SESSION_NOT_AUTH && s->user != NULL)
		usercount_remove(s->srv->users, s->user);
	uimap_store_user_close(&s->mail);
	parser_deinit(&s->parser);
	arena_free(&s->arena);
	arena_free(&s->scratch);
	buf_free(&s->stash);
	free(s->user);
	free(s->master);
	free(s->client_id);
	free(s);
}

static unsigned session_idle_timeout(void *ctx)
{
	const struct session *s = ctx;
	return s->state == SESSION_NOT_AUTH ? s->srv->cfg->unauth_idle : s->srv->cfg->auth_idle;
}

void session_untagged(struct session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	outq_puts(s->out, "* ");
	outq_append(s->out, line, (size_t)n);
	outq_puts(s->out, "\r\n");
	conn_mark_dirty(s->conn);
}

void cmd_reply(struct uimap_cmd *cmd, const char *status, const char *fmt, ...)
{
	char small[1024];
	char *line = small;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(small)) {
		/* e.g. a long COPYUID set */
		line = arena_alloc(&cmd->s->arena, (size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(line, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	struct session *s = cmd->s;
	/* untagged updates go before the tagged reply (RFC 3501 §7) */
	if (cmd->def != NULL && s->view != NULL && !(cmd->def->flags & CMD_FLAG_NO_SYNC) &&
	    (s->srv->cfg->poll_every == 0 ||
	     clock_ms() - s->last_sync_ms >= (uint64_t)s->srv->cfg->poll_every * 1000u))
		session_sync(s, !(cmd->def->flags & CMD_FLAG_NO_EXPUNGE));
	/* RFC 5465: what other mailboxes did goes out before the reply too */
	if (notify_pending(s))
		notify_flush(s);
	struct outq *q = s->out;
	outq_puts(q, cmd->c.tag != NULL ? cmd->c.tag : "*");
	outq_puts(q, " ");
	outq_puts(q, status);
	outq_puts(q, " ");
	outq_append(q, line, (size_t)n);
	outq_puts(q, "\r\n");
	cmd->replied = true;
	s->reply_status = status[0] == 'O' ? CMD_REPLY_OK : status[0] == 'N' ? CMD_REPLY_NO
									  : CMD_REPLY_BAD;
	conn_mark_dirty(cmd->s->conn);
}

void session_bye(struct session *s, const char *text)
{
	session_untagged(s, "BYE %s", text);
	s->state = SESSION_LOGOUT;
	conn_close(s->conn, true);
}

static void session_timed_out(void *ctx)
{
	struct session *s = ctx;
	session_untagged(s, "BYE Disconnected for inactivity.");
	s->state = SESSION_LOGOUT;
}

static void session_shutdown(void *ctx)
{
	struct session *s = ctx;
	session_untagged(s, "BYE Server shutting down.");
	s->state = SESSION_LOGOUT;
}

bool session_auth_allowed(const struct session *s)
{
	return conn_is_secure(s->conn) || s->srv->cfg->allow_plaintext_auth;
}

bool arg_string(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg->type == IMAP_ARG_LIST)
		return false;
	*str_r = arg->u.str;
	*len_r = arg->len;
	return true;
}

/* The journal made this session's changes durable (err 0): let its output go; or
   it cannot (the disk failed): the replies waiting for it must never be sent, so
   they are dropped and the client is told to go (the change's outcome is unknown
   to it, as after a dropped connection). */
static void durable_done(struct persist_waiter *w, int err)
{
	struct session *s = container_of(w, struct session, durable);
	if (err == 0) {
		conn_hold_output(s->conn, false);
		return;
	}
	log_write(UIMAP_LOG_WARN, s->conn->id, s->conn->addr,
		  "journal failed (%s): unacknowledged replies dropped, disconnecting",
		  strerror(-err));
	outq_clear(s->out);
	conn_hold_output(s->conn, false);
	session_bye(s, "[UNAVAILABLE] The server cannot store changes right now.");
}

/* The running command is over: count it, free its memory, get ready for the next
   one. */
static void command_done(struct session *s)
{
	uint64_t now = clock_us();
	uint64_t us = now - s->cmd_start_us;
	if (s->cmd_start_us != 0)
		imap_metrics_command(&s->srv->metrics, s->cmd_index, s->reply_status, us);
	s->cmd_start_us = 0;
	s->reply_status = CMD_REPLY_NONE;
	if (s->cmd_active && s->cmd.cleanup != NULL) {
		s->cmd.cleanup(&s->cmd);
		s->cmd.cleanup = NULL;
	}
	struct persist *p = s->srv->persist;
	if (p != NULL && s->cmd_active) {
		/* journal-fsync=always: hold the reply until the change is on disk */
		uint64_t seq = persist_journal_seq(p);
		if (seq != s->cmd_journal_seq && !persist_journal_is_durable(p, seq)) {
			conn_hold_output(s->conn, true);
			persist_wait_durable(p, &s->durable, seq);
		}
	}
	if (s->cmd_active && s->cmd.def != NULL)
		PROBE2(cmd__done, s->cmd.def->name, us);
	s->cmd_active = false;
	memset(&s->cmd, 0, sizeof(s->cmd));
	parser_set_line_mode(&s->parser, false);
	parser_reset(&s->parser);
	arena_reset(&s->arena);
}

int cmd_block(struct uimap_cmd *cmd, enum cmd_wait wait, int (*resume)(struct uimap_cmd *cmd))
{
	struct session *s = cmd->s;
	cmd->wait = wait;
	cmd->resume = resume;
	switch (wait) {
	case CMD_WAIT_LINE:
		/* the command's own text is no longer needed (its arguments are in
		   the arena) */
		s->parser.text.len = 0;
		parser_set_line_mode(&s->parser, true);
		break;
	case CMD_WAIT_TURN:
		/* runs after this turn's other completions, before the next wait */
		conn_wake_soon(s->conn);
		break;
	case CMD_WAIT_OUTPUT:
	case CMD_WAIT_TIME:
	case CMD_WAIT_AUTH:
	case CMD_WAIT_NONE:
		break;
	}
	conn_mark_dirty(s->conn);
	return CMD_WAIT;
}

/* The connection has one wake-up timer: the earlier of the login deadline (before
   login) and the running command's CMD_WAIT_TIME deadline. */
static void arm_timer(struct session *s)
{
	uint64_t when = s->state == SESSION_NOT_AUTH ? s->login_deadline_ms : 0;
	if (s->cmd_active && s->cmd.wait == CMD_WAIT_TIME && (when == 0 || s->wait_until_ms < when))
		when = s->wait_until_ms;
	conn_wake_at(s->conn, when);
}

int cmd_block_until(struct uimap_cmd *cmd, uint64_t when_ms,
		    int (*resume)(struct uimap_cmd *cmd))
{
	cmd->s->wait_until_ms = when_ms;
	int r = cmd_block(cmd, CMD_WAIT_TIME, resume);
	arm_timer(cmd->s);
	return r;
}

static void resume_done(struct session *s);

bool session_unblock(struct session *s, enum cmd_wait wait)
{
	struct uimap_cmd *cmd = &s->cmd;
	if (!s->cmd_active || cmd->wait != wait || cmd->resume == NULL)
		return false;
	int (*resume)(struct uimap_cmd *) = cmd->resume;
	cmd->wait = CMD_WAIT_NONE;
	cmd->resume = NULL;
	if (wait == CMD_WAIT_LINE)
		parser_set_line_mode(&s->parser, false);
	struct session *acting = s->srv->acting;
	s->srv->acting = s;
	int r = resume(cmd);
	s->srv->acting = acting;
	if (r == CMD_DONE)
		resume_done(s);
	return true;
}

static bool blocked(const struct session *s)
{
	return s->conn->closing || (s->cmd_active && s->cmd.wait != CMD_WAIT_LINE) ||
	       s->out->bytes > CONN_OUT_HIGH_WATER;
}

static void run_command(struct session *s)
{
	struct uimap_cmd *cmd = &s->cmd;
	memset(cmd, 0, sizeof(*cmd));
	cmd->s = s;
	s->cmd_start_us = clock_us();
	s->cmd_index = CMD_INDEX_OTHER;
	const char *error;
	if (parser_command(&s->parser, &cmd->c, &error) < 0) {
		if (cmd->c.tag == NULL)
			cmd->c.tag = "*";
		cmd_reply(cmd, "BAD", "%s", error);
		command_done(s);
		return;
	}
	if (s->state == SESSION_NOT_AUTH && s->srv->cfg->unauth_commands != 0 &&
	    ++s->unauth_commands > s->srv->cfg->unauth_commands) {
		log_write(UIMAP_LOG_INFO, s->conn->id, s->conn->addr,
			  "too many commands before authentication");
		command_done(s);
		session_bye(s, "Too many commands before authentication.");
		return;
	}
	const struct cmd_def *def = cmd_lookup(s->srv, cmd->c.name);
	if (def == NULL) {
		cmd_reply(cmd, "BAD", "Unknown command %.40s", cmd->c.name);
		command_done(s);
		return;
	}
	s->cmd_index = def->index;
	if ((def->states & (unsigned)s->state) == 0) {
		cmd_reply(cmd, "BAD", "%s not allowed %s", def->name,
			  s->state == SESSION_NOT_AUTH ? "before authentication"
						       : "in this state");
		command_done(s);
		return;
	}
	cmd->def = def;
	s->cmd_active = true;
	s->wait_until_ms = 0;
	if (s->srv->persist != NULL)
		s->cmd_journal_seq = persist_journal_seq(s->srv->persist);
	PROBE1(cmd__start, def->name);
	struct session *acting = s->srv->acting;
	s->srv->acting = s;
	int r = def->handler(cmd);
	s->srv->acting = acting;
	if (r == CMD_DONE)
		command_done(s);
}

static void stash_input(struct session *s, const unsigned char *data, size_t len)
{
	buf_append(&s->stash, data, len);
	if (s->stash.len > STASH_MAX)
		conn_pause_recv(s->conn);
}

/* Feed input to the parser and run what completes. */
static void process(struct session *s, const unsigned char *data, size_t len)
{
	while (len > 0) {
		if (blocked(s)) {
			if (!s->conn->closing)
				stash_input(s, data, len);
			return;
		}
		int r = parser_feed(&s->parser, &data, &len);
		switch (r) {
		case PARSER_MORE:
			break;
		case PARSER_CONTINUE:
			/* RFC 3501 §7.5: ready for the synchronizing literal */
			outq_puts(s->out, "+ OK\r\n");
			conn_mark_dirty(s->conn);
			break;
		case PARSER_COMMAND:
			run_command(s);
			if (s->discard_input) {
				/* RFC 2595 §3.1 / CVE-2011-0411: the bytes after STARTTLS in
				   this plaintext buffer are dropped */
				s->discard_input = false;
				parser_reset(&s->parser);
				return;
			}
			if (s->compress_started) {
				/* RFC 4978 §3: the client's stream starts after the COMPRESS
				   line; bytes it pipelined in this read go back to be inflated */
				s->compress_started = false;
				parser_reset(&s->parser);
				conn_compress_input(s->conn, data, len);
				return;
			}
			break;
		case PARSER_LINE: {
			struct uimap_cmd *cmd = &s->cmd;
			if (!s->cmd_active || cmd->wait != CMD_WAIT_LINE) {
				parser_reset(&s->parser);
				break;
			}
			cmd->line = parser_line(&s->parser, &cmd->line_len);
			session_unblock(s, CMD_WAIT_LINE);
			s->parser.text.len = 0;
			break;
		}
		case PARSER_ERROR: {
			const char *tag = parser_error_tag(&s->parser);
			if (!s->cmd_active) {
				/* a line the parser refused is a command too (a BAD one) */
				s->cmd_start_us = clock_us();
				s->cmd_index = CMD_INDEX_OTHER;
			}
			if (s->cmd_active && s->cmd.wait == CMD_WAIT_LINE) {
				/* a continuation line was bad: it ends the command */
				cmd_reply(&s->cmd, "BAD", "%s", parser_error(&s->parser));
			} else {
				struct uimap_cmd tmp = { .s = s };
				tmp.c.tag = tag != NULL ? tag : "*";
				cmd_reply(&tmp, "BAD", "%s", parser_error(&s->parser));
			}
			command_done(s);
			break;
		}
		case PARSER_FATAL:
		default: {
			char reason[128];
			snprintf(reason, sizeof(reason), "%s", parser_error(&s->parser));
			command_done(s);
			session_bye(s, reason);
			return;
		}
		}
	}
}

static void drain_stash(struct session *s)
{
	if (s->draining)
		return;
	s->draining = true;
	while (s->stash.len > 0 && !blocked(s)) {
		struct buf in = s->stash;
		memset(&s->stash, 0, sizeof(s->stash));
		process(s, (const unsigned char *)in.data, in.len);
		buf_free(&in);
	}
	s->draining = false;
	if (s->stash.len == 0 && !s->conn->closing)
		conn_resume_recv(s->conn);
}

/* Between commands an idle session keeps no command memory. */
static void trim_if_idle(struct session *s)
{
	if (!s->cmd_active && !parser_pending(&s->parser) && s->stash.len == 0) {
		arena_free(&s->arena);
		arena_free(&s->scratch);
		parser_deinit(&s->parser);
		buf_free(&s->stash);
	}
}

static void session_input(void *ctx, const unsigned char *data, size_t len)
{
	struct session *s = ctx;
	if (s->stash.len > 0) {
		stash_input(s, data, len);
		drain_stash(s);
	} else {
		process(s, data, len);
	}
	trim_if_idle(s);
}

bool session_output_full(const struct session *s)
{
	return s->out->bytes > CONN_OUT_HIGH_WATER;
}

static void push_notifications(struct session *s);

static void session_drained(void *ctx)
{
	struct session *s = ctx;
	if (!session_output_full(s) && session_unblock(s, CMD_WAIT_OUTPUT))
		return;
	if (s->stash.len > 0)
		drain_stash(s);
	/* NOTIFY's pushes wait while the client does not read */
	push_notifications(s);
}

/* RFC 5465 §3.1: with NOTIFY the client listens between commands (and in IDLE):
   changes of the selected mailbox under SELECTED(-DELAYED), then the other
   mailboxes' STATUS / LIST. Nothing while a command runs or the output is full. */
static void push_notifications(struct session *s)
{
	if (s->notify == NULL || s->conn->closing || (s->cmd_active && !s->idling) ||
	    session_output_full(s))
		return;
	if (s->view_changed && !s->idling && notify_push_selected(s))
		session_sync(s, notify_push_expunges(s));
	if (!s->conn->closing && s->notify != NULL && notify_pending(s))
		notify_flush(s);
}

/* The connection's wake-up: a time slice (TURN), a deadline (TIME), or the
   selected mailbox changed (pushed at once to an idling client, RFC 2177). */
static void session_wake(void *ctx)
{
	struct session *s = ctx;
	if (s->state == SESSION_NOT_AUTH && s->login_deadline_ms != 0 &&
	    clock_ms() >= s->login_deadline_ms) {
		/* however busy it kept the connection (Dovecot: 3 minutes) */
		log_write(UIMAP_LOG_INFO, s->conn->id, s->conn->addr, "login timeout after %u s",
			  s->srv->cfg->login_timeout);
		session_untagged(s, "BYE Login timeout.");
		s->state = SESSION_LOGOUT;
		conn_close(s->conn, true);
		return;
	}
	if (s->cmd_active && s->cmd.wait == CMD_WAIT_TIME && clock_ms() >= s->wait_until_ms)
		session_unblock(s, CMD_WAIT_TIME);
	else
		session_unblock(s, CMD_WAIT_TURN);
	if (s->view_changed && s->idling && !s->conn->closing)
		session_sync(s, true);
	push_notifications(s);
	if (!s->conn->closing)
		arm_timer(s);
}

/* A command finished after being blocked (its reply is queued): clean up and go
   on with what the client sent meanwhile. */
static void resume_done(struct session *s)
{
	command_done(s);
	conn_mark_dirty(s->conn);
	if (s->conn->closing)
		conn_check_free(s->conn);
	else
		drain_stash(s);
	trim_if_idle(s);
}

const struct conn_handler session_handler = {
	.create = session_create,
	.input = session_input,
	.drained = session_drained,
	.wake = session_wake,
	.idle_timeout = session_idle_timeout,
	.timed_out = session_timed_out,
	.shutdown = session_shutdown,
	.destroy = session_destroy,
};
