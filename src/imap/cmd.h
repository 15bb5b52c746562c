/* Internal protocol types: the session, the running command, the command table. */
#ifndef IMAP_CMD_H
#define IMAP_CMD_H

#include "uimap/command.h"
#include "uimap/store.h"
#include "core/arena.h"
#include "core/buf.h"
#include "imap/parser.h"
#include "loop/timer.h"
#include "core/outq.h"

#include <stdbool.h>

struct conn;
struct uimap_server;

enum session_state {
	SESSION_NOT_AUTH = UIMAP_STATE_NOT_AUTH,
	SESSION_AUTH = UIMAP_STATE_AUTH,
	SESSION_SELECTED = UIMAP_STATE_SELECTED,
	SESSION_LOGOUT = 8,
};

/* Handler results: the command finished (its tagged reply is queued), or it
   suspended and will be resumed by an event (a line, a timer, a worker result). */
enum cmd_result {
	CMD_WAIT = 0,
	CMD_DONE = 1,
};

struct uimap_cmd;
typedef int cmd_handler(struct uimap_cmd *cmd);

/* Command flags. */
enum cmd_flags {
	CMD_FLAG_NONE = 0,
	/* RFC 3501 §7.4.1: no EXPUNGE responses while this command runs
	   (FETCH, STORE, SEARCH by sequence number) */
	CMD_FLAG_NO_EXPUNGE = 1 << 0,
	/* the handler syncs the mailbox itself (or must not be synced) */
	CMD_FLAG_NO_SYNC = 1 << 1,
};

struct cmd_def {
	const char *name;
	cmd_handler *handler;
	unsigned states;
	unsigned flags;
	const char *capability;
	const struct uimap_command *custom; /* embedder's command, else NULL */
};

struct uimap_cmd {
	struct session *s;
	const struct cmd_def *def;
	struct imap_command c;        /* tag, name, arguments (in the command arena) */
	/* continuation input: the next line goes here while set */
	int (*on_line)(struct uimap_cmd *cmd, const char *line, size_t len);
	/* output back-pressure: called again when the output queue has drained */
	int (*on_drain)(struct uimap_cmd *cmd);
	/* a long command yielded the loop: called again on the next loop turn */
	int (*on_yield)(struct uimap_cmd *cmd);
	/* releases what the handler holds outside the arena; called when the command
	   ends, however it ends (also when the connection closes under it) */
	void (*cleanup)(struct uimap_cmd *cmd);
	void *ctx;                    /* handler state, in the command arena */
	bool replied;
	bool uid;                     /* UID FETCH / STORE / COPY / MOVE / SEARCH / EXPUNGE */
};

struct session {
	/* permanent */
	struct conn *conn;
	struct uimap_server *srv;
	struct outq *out;
	enum session_state state;
	char *user;                   /* malloc'd after login */
	char *client_id;              /* the client's ID fields (RFC 2971), printable */
	unsigned unauth_commands;
	unsigned failed_logins;
	struct timer delay_timer;     /* failed-login delay */
	struct timer yield_timer;     /* resumes a command that yielded the loop */
	struct buf stash;             /* input that arrived while a command waited */

	/* mail */
	struct uimap_store_user *mail;    /* opened at login */
	struct uimap_store_view *view;    /* the selected mailbox */
	char *selected;                   /* its name */
	bool readonly;
	bool idling;                      /* in IDLE: changes are pushed at once */
	unsigned kw_announced;            /* keywords told by the last "* FLAGS" */
	bool wake_queued;
	struct session *next_wake;
	uint64_t last_sync_ms;

	/* the command in progress; reset by session_command_done() */
	struct arena arena;
	struct parser parser;
	struct uimap_cmd cmd;
	bool cmd_active;
	bool waiting_async;           /* a worker result or timer will resume it */
	bool auth_pending;            /* an auth worker job refers to this session */
	bool draining;
	bool discard_input;           /* STARTTLS: drop the rest of this plaintext */
	struct arena scratch;         /* per-message scratch of a running command */
	uint64_t cmd_start_ms;
	uint64_t cmd_journal_seq;     /* journal position when the command started */
	int auth_result;
};

/* Look a command up by name (case-insensitive): built-ins, then the embedder's. */
const struct cmd_def *cmd_lookup(const struct uimap_server *srv, const char *name);

/* Write the capability list for the session's current state (no prefix/CRLF). */
void cmd_write_capabilities(struct session *s, struct outq *q);

/* Registry of the embedder's commands. */
struct cmd_registry *cmd_registry_new(void);
int cmd_registry_add(struct cmd_registry *r, const struct uimap_command *cmd);
void cmd_registry_free(struct cmd_registry **r);

/* Queue "tag STATUS text\r\n" for the running command. */
void cmd_reply(struct uimap_cmd *cmd, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Queue "* text\r\n". */
void session_untagged(struct session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Route the next input line to cmd->on_line (AUTHENTICATE, IDLE). */
void session_want_line(struct session *s, bool on);

/* A suspended command finished asynchronously (its reply is queued): clean up
   and continue with any stashed input. */
void session_resume_done(struct session *s);

/* Queue "* BYE text" and close the connection after flushing. */
void session_bye(struct session *s, const char *text);

/* Start verifying a user name and password for LOGIN / AUTHENTICATE. Returns
   CMD_DONE (reply queued) or CMD_WAIT (a worker or a delay timer will finish it). */
int login_begin(struct uimap_cmd *cmd, const char *user, const char *password);

/* Whether plaintext authentication is allowed on this connection. */
bool session_auth_allowed(const struct session *s);

/* Report pending mailbox changes as untagged responses (EXPUNGE only when
   expunges is set). Leaves the selected state (with a BYE to the client) when the
   mailbox was deleted. Returns 0, or -1 when the session is over. */
int session_sync(struct session *s, bool expunges);

/* Ask to be woken (IDLE push) when the selected mailbox changes. */
void session_watch_view(struct session *s);

/* Drop the session from the server's wake list (before it is freed). */
void session_wake_forget(struct session *s);

/* Deselect: close the view without expunging. */
void session_unselect(struct session *s);

/* Write "(\Seen kw ...)" for flags, keyword names from the view. */
void write_flags(struct outq *q, struct uimap_store_view *view, const struct uimap_flags *f,
		 bool with_recent);

/* Write the "* FLAGS" and "* OK [PERMANENTFLAGS]" lines for the selected mailbox. */
void write_mailbox_flags(struct session *s);

/* Before a response that shows keywords (a keyword bit mask): send "* FLAGS" first
   when one of them was created since the client was last told (RFC 3501 §7.2.6). */
void session_announce_keywords(struct session *s, uint64_t keywords);

/* Parse a flag list argument into system flags and keyword names (stored in the
   arena). Returns 1, or -1 with *error_r (\Recent and unknown system flags are
   invalid). */
int parse_flag_list(struct uimap_cmd *cmd, const struct imap_arg *arg, uint32_t *system_r,
		    const char ***keywords_r, size_t *n_keywords_r, const char **error_r);

/* A mailbox name argument (astring). Returns false when arg is not a string or
   contains a NUL. */
bool arg_mailbox(const struct imap_arg *arg, const char **name_r);

/* Reply NO with a text (and response code) fitting the store error. */
void reply_store_error(struct uimap_cmd *cmd, int err, const char *what);

/* Let other connections run: fn is called on the next loop turn. The handler
   returns CMD_WAIT after this. */
void session_yield(struct session *s, int (*fn)(struct uimap_cmd *cmd));

/* Whether the output queue is over its high-water mark (a long FETCH should
   suspend with on_drain). */
bool session_output_full(const struct session *s);

/* Resolve a sequence-set argument against the selected mailbox: message sequence
   numbers, or UIDs when uid is set (turned into sequence ranges). Returns 1 with
   merged sequence ranges (possibly none for UIDs), or -1 with *error_r. */
int arg_seq_ranges(struct uimap_cmd *cmd, const struct imap_arg *arg, bool uid,
		   struct uimap_range **ranges_r, unsigned *n_r, const char **error_r);

/* Argument helpers: the string of an atom, quoted string or literal. */
bool arg_string(const struct imap_arg *arg, const char **str_r, size_t *len_r);

#define CMD(name, handler, states, flags, cap) int handler(struct uimap_cmd *cmd);
#include "imap/commands.def"
#undef CMD

#endif
