/* uimap: server configuration, shared by the embedding API, the config file and the CLI. */
#ifndef UIMAP_CONFIG_H
#define UIMAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UIMAP_MAX_LISTEN 16

enum uimap_log_level {
	UIMAP_LOG_ERROR = 0,
	UIMAP_LOG_WARN = 1,
	UIMAP_LOG_INFO = 2,
	UIMAP_LOG_DEBUG = 3,
};

enum uimap_journal_fsync {
	UIMAP_JOURNAL_FSYNC_ALWAYS = 0,
	UIMAP_JOURNAL_FSYNC_PERIODIC = 1,
	UIMAP_JOURNAL_FSYNC_OFF = 2,
};

struct uimap_config {
	/* "HOST:PORT" strings; IPv6 hosts in brackets: "[::1]:1430". */
	const char *listen[UIMAP_MAX_LISTEN];
	unsigned n_listen;
	const char *tls_listen[UIMAP_MAX_LISTEN];
	unsigned n_tls_listen;

	const char *cert_file;
	const char *key_file;
	const char *passwd_file;   /* Dovecot passwd-file format; NULL: no default auth */
	const char *data_dir;

	bool allow_plaintext_auth; /* allow LOGIN/AUTHENTICATE without TLS */
	enum uimap_log_level log_level;

	unsigned unauth_commands;  /* commands allowed before login, 0 = unlimited */
	unsigned unauth_idle;      /* seconds, 0 = never */
	unsigned auth_idle;        /* seconds, 0 = never */
	unsigned poll_every;       /* seconds between mailbox polls, 0 = after every command */
	unsigned max_connections;  /* global, 0 = unlimited */
	unsigned max_connections_per_ip; /* 0 = unlimited */
	unsigned max_unauth_per_ip; /* connections not logged in yet, per address; 0 = unlimited */
	size_t max_line;           /* bytes of command text outside literals */
	size_t max_literal;        /* bytes of one literal */
	unsigned login_delay_ms;   /* first failed-login delay */
	unsigned login_delay_max_ms; /* cap of the doubling delay */
	unsigned auth_workers;     /* password-hashing threads */

	/* persistence (data_dir must be set for any of it) */
	unsigned snapshot_interval;   /* seconds between snapshots, 0 = off */
	unsigned snapshot_changes;    /* snapshot after this many changes, 0 = off */
	enum uimap_journal_fsync journal_fsync;
	bool ignore_corrupt_snapshot; /* start with what verified instead of refusing */

	/* private: strings allocated by uimap_config_set(), freed by uimap_config_clear() */
	char *owned_[64];
	unsigned n_owned_;
};

/* Fill cfg with the defaults (listen 127.0.0.1:1430, unauth_idle 300, auth_idle 3600,
   unauth_commands 10, max_line 64 KiB, max_literal 64 MiB, ...). Never fails. */
void uimap_config_init(struct uimap_config *cfg);

/* Set one option by its config-file key ("max-line" or "max_line", both accepted).
   Repeatable keys (listen, tls-listen) append. value may be NULL for boolean keys
   (meaning "true"). Returns 0 on success, -1 with a human-readable *error_r
   (static or thread-local storage) for an unknown key or a malformed value. */
int uimap_config_set(struct uimap_config *cfg, const char *key, const char *value,
		     const char **error_r);

/* Read a "key = value" file (# comments, blank lines ignored) into cfg.
   Returns 0, or -1 with *error_r naming the file and line. */
int uimap_config_load_file(struct uimap_config *cfg, const char *path, const char **error_r);

/* 1 when key names a boolean option (no value on the command line), 0 for any
   other known option, -1 for an unknown key. */
int uimap_config_key_is_bool(const char *key);

/* Free the strings uimap_config_set() copied; cfg can be reused after uimap_config_init(). */
void uimap_config_clear(struct uimap_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
