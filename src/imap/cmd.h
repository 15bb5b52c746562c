/* Internal protocol types: the running command, its waits, the command table. */
#ifndef IMAP_CMD_H
#define IMAP_CMD_H

#include "uimap/command.h"
#include "uimap/store.h"
#include "core/arena.h"
#include "core/buf.h"
#include "imap/parser.h"
#include "core/outq.h"

#include <stdbool.h>
#include <stdint.h>

struct session;
struct uimap_server;

/* Handler results: the command finished (its tagged reply is queued), or it
   blocked (cmd_block) and will be resumed by the event it waits for. */
enum cmd_result {
	CMD_WAIT = 0,
	CMD_DONE = 1,
};

/* What a blocked command waits for. Every wait of a running command goes through
   cmd_block() and is ended by the module that owns the event calling
   session_unblock() (Dovecot's command wait states, Redis's blockClient):
     LINE    the next input line (AUTHENTICATE's response, IDLE's DONE): the
             session's input (the line is in cmd->line / cmd->line_len)
     OUTPUT  the output queue draining under the low-water mark (FETCH, SEARCH
             back-pressure): the connection's drained event
     TURN    the next loop turn, after other connections ran (a long command's
             time slice): the connection's wake-up
     TIME    a deadline (the failed-login delay): the connection's timed wake-up
     AUTH    the password check on an auth worker thread: the worker's result
   Waits that are not a running command's: a literal being received is the
   parser's state before the command runs; a reply waiting for the journal is an
   output hold (session->durable, persist wakes it), so pipelined writes share one
   fsync; IDLE is a LINE wait whose pushes ride the connection's wake-up. */
enum cmd_wait {
	CMD_WAIT_NONE = 0,
	CMD_WAIT_LINE,
	CMD_WAIT_OUTPUT,
	CMD_WAIT_TURN,
	CMD_WAIT_TIME,
	CMD_WAIT_AUTH,
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

/* Each built-in command's position in the command table (commands.def order);
   CMD_INDEX_OTHER stands for the embedder's commands and for lines that name no
   command (the metrics count commands by these). */
enum cmd_index {
#define CMD(name, handler, states, flags, cap) CMD_INDEX_##name,
#include "imap/commands.def"
#undef CMD
	CMD_INDEX_OTHER,
	CMD_INDEX_COUNT,
};

struct cmd_def {
	const char *name;
	cmd_handler *handler;
	unsigned states;
	unsigned flags;
	const char *capability;
	const struct uimap_command *custom; /* embedder's command, else NULL */
	enum cmd_index index;
};

struct uimap_cmd {
	struct session *s;
	const struct cmd_def *def;
	struct imap_command c;        /* tag, name, arguments (in the command arena) */
	/* blocked: what for, and what runs when it comes (see enum cmd_wait) */
	enum cmd_wait wait;
	int (*resume)(struct uimap_cmd *cmd);
	const char *line;             /* CMD_WAIT_LINE: the line, valid during resume */
	size_t line_len;
	/* releases what the handler holds outside the arena; called when the command
	   ends, however it ends (also when the connection closes under it) */
	void (*cleanup)(struct uimap_cmd *cmd);
	void *ctx;                    /* handler state, in the command arena */
	bool replied;
	bool uid;                     /* UID FETCH / STORE / COPY / MOVE / SEARCH / EXPUNGE */
};

/* Look a command up by name (case-insensitive): built-ins, then the embedder's. */
const struct cmd_def *cmd_lookup(const struct uimap_server *srv, const char *name);

/* The name of command index i (upper case), "other" for CMD_INDEX_OTHER. */
const char *cmd_index_name(enum cmd_index i);

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

/* Block the running command until wait happens, then call resume (which returns
   CMD_DONE or blocks again). Returns CMD_WAIT, for the handler to return. */
int cmd_block(struct uimap_cmd *cmd, enum cmd_wait wait, int (*resume)(struct uimap_cmd *cmd));

/* CMD_WAIT_TIME: block until when_ms (clock_ms() time). Returns CMD_WAIT. */
int cmd_block_until(struct uimap_cmd *cmd, uint64_t when_ms,
		    int (*resume)(struct uimap_cmd *cmd));

/* The event wait happened: resume the running command if it waits for exactly
   this; when it completes, go on with stashed input. Returns whether it ran. */
bool session_unblock(struct session *s, enum cmd_wait wait);

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

/* During a sync with QRESYNC: write the expunges gathered so far as "* VANISHED" (so
   a sequence number told next is the one the client has). */
void session_flush_vanished(struct session *s);

/* Ask to be woken (IDLE push) when the selected mailbox changes. */
void session_watch_view(struct session *s);

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

/* A mailbox name argument in the session's form, as the store keeps it (modified
   UTF-7): the argument as is, or, after ENABLE UTF8=ACCEPT, UTF-8 converted (RFC 6855
   §3; from the command's arena). Returns false when arg is not a string, holds a NUL,
   or (UTF-8 mode) is not valid UTF-8. */
bool cmd_mailbox(struct uimap_cmd *cmd, const struct imap_arg *arg, const char **name_r);

/* Write the stored (modified UTF-7) mailbox name as an astring in the session's form:
   as is, or as UTF-8 after ENABLE UTF8=ACCEPT. */
void session_write_mailbox(struct session *s, struct outq *q, const char *name);

/* Reply NO with a text (and response code) fitting the store error. */
void reply_store_error(struct uimap_cmd *cmd, int err, const char *what);

/* Whether the output queue is over its high-water mark (a long FETCH should
   block with CMD_WAIT_OUTPUT). */
bool session_output_full(const struct session *s);

/* Resolve a sequence-set argument against the selected mailbox: message sequence
   numbers, or UIDs when uid is set (turned into sequence ranges). Returns 1 with
   merged sequence ranges (possibly none for UIDs), or -1 with *error_r. */
int arg_seq_ranges(struct uimap_cmd *cmd, const struct imap_arg *arg, bool uid,
		   struct uimap_range **ranges_r, unsigned *n_r, const char **error_r);

/* The saved SEARCH result "$" (RFC 5182) as a set of UIDs, allocated from a. */
struct seqset;
void searchres_seqset(struct session *s, struct arena *a, struct seqset *set_r);

/* max-command-messages: when the ranges name more messages than one command may,
   reply NO [LIMIT] and return false. */
bool command_size_ok(struct uimap_cmd *cmd, const struct uimap_range *ranges, unsigned n);

/* CONDSTORE (RFC 7162): switch it on for the rest of the connection (ENABLE, or the
   first command that uses it); when a mailbox is selected, "* OK [HIGHESTMODSEQ n]"
   is sent. From then on every FETCH response that carries flags also carries the
   UID and MODSEQ. */
void session_enable_condstore(struct session *s);

/* The selected mailbox's HIGHESTMODSEQ now (O(1) with the memory store). */
uint64_t session_highest_modseq(struct session *s);

/* Whether the store reports a user's usage (QUOTA, RFC 9208). */
bool session_quota_offered(const struct session *s);

/* Whether the store keeps URLAUTH's mailbox access keys (RFC 4467). */
bool session_urlauth_offered(const struct session *s);

/* The bytes a URLAUTH-authorized URL (RFC 4467 §6.3; url, len bytes) names, for this
   session: verified (INTERNAL token, EXPIRE, access identifier) and read from its
   owner's mail as o asks (RFC 5524: decoded, with the part's structure), copied into
   the command's arena. Returns 0 with *data_r and *len_r, or -1 when the URL is
   invalid or not authorized (why is not told). */
struct imap_url_fetch_opts;
int urlauth_fetch(struct session *s, const char *url, size_t len, struct imap_url_fetch_opts *o,
		  const char **data_r, size_t *len_r);

/* Whether the store keeps what QRESYNC needs (view_vanished). */
bool session_qresync_offered(const struct session *s);

/* Write "* VANISHED (EARLIER) uids" (RFC 7162 §3.2.5.1) for the UIDs expunged from the
   selected mailbox since modseq, limited to the n sorted UID ranges uids (NULL: all);
   nothing when there are none. */
void write_vanished_earlier(struct session *s, uint64_t modseq, const struct uimap_range *uids,
			    size_t n);

/* A mod-sequence argument (an atom of digits, 1 .. 2^63-1; 0 too when zero_ok, the
   RFC's mod-sequence-valzer). Returns false when arg is not one. */
bool arg_modseq(const struct imap_arg *arg, bool zero_ok, uint64_t *v_r);

/* Write "MODSEQ (n)" (a FETCH data item). */
void write_modseq(struct outq *q, uint64_t modseq);

/* STATUS items (RFC 3501 §6.3.10 and extensions), for STATUS and LIST-STATUS (and
   NOTIFY's unsolicited STATUS). */
enum status_item {
	ST_MESSAGES, ST_RECENT, ST_UIDNEXT, ST_UIDVALIDITY, ST_UNSEEN, ST_HIGHESTMODSEQ,
	ST_SIZE, ST_DELETED, ST_DELETED_STORAGE, ST_APPENDLIMIT,
};

struct status_items {
	unsigned *which;
	unsigned n;
};

/* Parse a non-empty list of STATUS item names into items_r (arena). Returns 0, or -1
   for an empty list or an unknown name. HIGHESTMODSEQ enables CONDSTORE. */
int status_items_parse(struct uimap_cmd *cmd, const struct imap_arg *list,
		       struct status_items *items_r);

/* Write "* STATUS name (...)" for mailbox name. Returns 0, or the store's -errno
   (nothing written). */
int status_write(struct session *s, const char *name, const struct status_items *items);

/* Write an unsolicited "* LIST (attrs) "/" name" for name as it is now (NOTIFY
   MailboxName and SubscriptionChange, RFC 5465 §5.4-5.5): \NonExistent when no
   mailbox has it, \Subscribed when subscribed, ("OLDNAME" (oldname)) when oldname is
   not NULL. Scratch memory comes from a. */
void list_write_event(struct session *s, struct arena *a, const char *name,
		      const char *oldname);

/* A special-use attribute name ("\\Trash", RFC 6154 §2) to its enum uimap_special_use
   bit, or 0 when it is not one. */
unsigned special_use_parse(const char *name);

/* Whether the server's users include user (the password file's, or those an
   embedder's backend tells the fields of). */
bool login_user_exists(struct uimap_server *srv, const char *user);

/* Argument helpers: the string of an atom, quoted string or literal. */
bool arg_string(const struct imap_arg *arg, const char **str_r, size_t *len_r);

#define CMD(name, handler, states, flags, cap) int handler(struct uimap_cmd *cmd);
#include "imap/commands.def"
#undef CMD

#endif
