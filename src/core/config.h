/* The configuration's typed fields (internal: the public API sets them by key). */
#ifndef CORE_CONFIG_H
#define CORE_CONFIG_H

#include "uimap/config.h"

#include <stdbool.h>
#include <stddef.h>

/* A repeatable option's values, in the order given. */
struct strlist {
	char **v;
	unsigned n, cap;
};

struct uimap_config {
	struct strlist listen;        /* "HOST:PORT"; IPv6 hosts in brackets */
	struct strlist tls_listen;
	/* listeners where a trusted proxy sends a PROXY protocol header first */
	struct strlist proxy_listen, tls_proxy_listen;
	/* client address rules (the seed's allow/deny/cidr_allow/cidr_deny) */
	struct strlist allow, deny, cidr_allow, cidr_deny;
	struct strlist trusted_proxy; /* CIDRs whose ID x-originating-ip is believed */

	char *cert_file;
	char *key_file;
	char *passwd_file;            /* Dovecot passwd-file format; NULL: no default auth */
	char *master_passwd_file;     /* master users (Dovecot's master passdb), or NULL */
	char *master_separator;       /* "user*master" (default "*") */
	char *data_dir;

	bool allow_plaintext_auth;    /* allow LOGIN/AUTHENTICATE without TLS */
	enum uimap_log_level log_level;
	char *log_file;               /* instead of stderr; reopened on SIGHUP */
	char *pid_file;               /* written after binding, removed at exit */
	char *user, *group;           /* dropped to after binding */
	char *chroot_dir;             /* entered after binding, before the drop */
	unsigned max_connections_per_user; /* logged-in sessions of one user (0 = none) */
	bool syslog;                  /* to the syslog daemon (instead of stderr) */
	char *syslog_ident;           /* default "uimapd" */
	char *syslog_facility;        /* default "mail" */
	char *syslog_options;         /* "pid" (default), ndelay, nowait, cons, perror */
	char *syslog_socket;          /* default /dev/log */

	unsigned unauth_commands;     /* commands allowed before login, 0 = unlimited */
	unsigned unauth_idle;         /* seconds, 0 = never */
	unsigned login_timeout;       /* seconds from connect to login, 0 = none */
	unsigned auth_idle;           /* seconds, 0 = never */
	unsigned poll_every;          /* seconds between mailbox polls, 0 = every command */
	unsigned max_connections;     /* global, 0 = unlimited */
	unsigned max_connections_per_ip; /* 0 = unlimited */
	unsigned max_unauth_per_ip;   /* not logged in yet, per address; 0 = unlimited */
	size_t max_line;              /* bytes of command text outside literals */
	size_t max_literal;           /* bytes of one literal */
	unsigned login_delay_ms;      /* first failed-login delay */
	unsigned login_delay_max_ms;  /* cap of the doubling delay */
	unsigned auth_workers;        /* password-hashing threads */

	/* per-user limits (0 = none); a user's own quota rules override them */
	size_t quota_storage;         /* bytes of messages (RFC 9208 STORAGE) */
	unsigned quota_messages;      /* messages (RFC 9208 MESSAGE) */
	unsigned max_mailbox_messages;
	unsigned max_mailboxes;
	unsigned max_subscriptions;
	unsigned max_command_messages; /* messages one COPY/MOVE/STORE/FETCH may name */

	/* persistence (data_dir must be set for any of it) */
	unsigned snapshot_interval;   /* seconds between snapshots, 0 = off */
	unsigned snapshot_changes;    /* snapshot after this many changes, 0 = off */
	enum uimap_journal_fsync journal_fsync;
	bool ignore_corrupt_snapshot; /* start with what verified instead of refusing */

	bool allow_root;              /* uimapd: serve as root without --user */

	/* reverse lookups of client addresses (the seed's reverse_lookups) */
	bool reverse_lookups;
	unsigned reverse_lookup_timeout_ms; /* the greeting waits at most this long */
	unsigned reverse_lookup_workers;    /* resolver threads */

	char *metrics_listen;         /* "HOST:PORT" of the HTTP /metrics listener; NULL: none */

	/* TLS handshake threads; 0: handshakes on the loop thread */
	unsigned tls_workers;
	unsigned tls_worker_nice;     /* added to their niceness (0..19) */
};

/* Call fn(ctx, key) for every option whose value differs between a and b (keys in
   their canonical form, e.g. "max-line"). */
void config_diff(const struct uimap_config *a, const struct uimap_config *b,
		 void (*fn)(void *ctx, const char *key), void *ctx);

/* Give dst the value src has for key (the old one is freed). Returns 0, or -1 for an
   unknown key. */
int config_copy_key(struct uimap_config *dst, const struct uimap_config *src, const char *key);

#endif
