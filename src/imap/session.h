/* IMAP session: the protocol state of one connection, fed with plaintext input. */
#ifndef IMAP_SESSION_H
#define IMAP_SESSION_H

#include "imap/cmd.h"
#include "imap/metrics.h"
#include "net/conn.h"
#include "persist/persist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uimap_server;
struct seqset_writer;

enum session_state {
	SESSION_NOT_AUTH = UIMAP_STATE_NOT_AUTH,
	SESSION_AUTH = UIMAP_STATE_AUTH,
	SESSION_SELECTED = UIMAP_STATE_SELECTED,
	SESSION_LOGOUT = 8,
};

struct session {
	/* permanent */
	struct conn *conn;            /* the host: output queue, wake-ups, close */
	struct uimap_server *srv;
	struct outq *out;
	enum session_state state;
	char *user;                   /* malloc'd after login */
	char *master;                 /* the master user who logged in as user, or NULL */
	char *client_id;              /* the client's ID fields (RFC 2971), printable */
	unsigned unauth_commands;
	unsigned failed_logins;
	struct buf stash;             /* input that arrived while a command waited */
	/* the journal must hold this session's last change before its output goes
	   out (journal-fsync=always): the output is held meanwhile */
	struct persist_waiter durable;

	/* mail */
	struct uimap_store_user *mail;    /* opened at login */
	struct uimap_store_view *view;    /* the selected mailbox */
	char *selected;                   /* its name */
	bool readonly;
	bool idling;                      /* in IDLE: changes are pushed at once */
	bool view_changed;                /* woken by the store since the last sync */
	bool condstore;                   /* CONDSTORE enabled (RFC 7162 §3.1) */
	bool admin;                       /* userdb_admin=yes: may SETQUOTA (RFC 9208) */
	bool urlauth_submit;              /* userdb_urlauth_submit=yes: a submission
					     server (URLAUTH submit+USER, RFC 4467) */
	bool qresync;                     /* QRESYNC enabled (RFC 7162 §3.2) */
	bool utf8;                        /* UTF8=ACCEPT enabled (RFC 6855) */
	bool rev2;                        /* IMAP4rev2 enabled (RFC 9051) */
	uint64_t hms_told;                /* the last HIGHESTMODSEQ sent for the mailbox */
	struct seqset_writer *vanished;   /* during a sync with QRESYNC: the expunged
					     UIDs for "* VANISHED" */
	struct uimap_range *searchres;    /* SEARCHRES "$" (RFC 5182): saved UIDs as
					     ascending ranges (malloc'd); cleared when
					     the mailbox is left */
	unsigned n_searchres;
	struct search_context *contexts;  /* RETURN (UPDATE) searches (RFC 5267), while
					     the mailbox stays selected */
	struct notify *notify;            /* NOTIFY SET (RFC 5465), NULL: none */
	uint32_t sync_known;              /* during a sync: the messages the client
					     knows (after the expunges told so far) */
	unsigned kw_announced;            /* keywords told by the last "* FLAGS" */
	uint64_t last_sync_ms;

	/* the command in progress; reset by command_done() */
	struct arena arena;
	struct parser parser;
	struct uimap_cmd cmd;
	bool cmd_active;
	uint64_t wait_until_ms;       /* CMD_WAIT_TIME deadline */
	uint64_t login_deadline_ms;   /* login-timeout: BYE if not logged in by then */
	bool auth_pending;            /* an auth worker job refers to this session
					 (cancelled when the session goes away) */
	int auth_result;              /* its verdict, for the resumed command */
	const char *auth_error;
	bool draining;
	bool discard_input;           /* STARTTLS: drop the rest of this plaintext */
	bool compress_started;        /* COMPRESS: the rest of this input is compressed */
	struct arena scratch;         /* per-message scratch of a running command */
	uint64_t cmd_start_us;        /* clock_us() at its parse; 0: nothing to count */
	uint64_t cmd_journal_seq;     /* journal position when the command started */
	enum cmd_index cmd_index;     /* what the metrics count it as */
	enum cmd_reply_status reply_status; /* its tagged reply, set by cmd_reply() */
};

/* The connection handler the server installs: a session per connection. */
extern const struct conn_handler session_handler;

/* The auth worker answered for the session cookie (result as verify_plain). */
void session_auth_done(void *cookie, int result, const char *error);

#endif
