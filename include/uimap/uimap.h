/* uimap: an embeddable single-threaded io_uring IMAP server. Server lifecycle. */
#ifndef UIMAP_UIMAP_H
#define UIMAP_UIMAP_H

#include "config.h"
#include "auth.h"
#include "command.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UIMAP_VERSION "0.1.0"

struct uimap_server;

/* The library version string, e.g. "0.1.0". */
const char *uimap_version(void);

/* Create a server from cfg (copied: cfg may be freed afterwards). Nothing is bound yet.
   When cfg->passwd_file is set the passwd-file backend is loaded. Returns 0, or -1 with
   *error_r (static storage or owned by the library until the next call). */
int uimap_server_new(const struct uimap_config *cfg, struct uimap_server **server_r,
		     const char **error_r);

/* Use backend with ctx for authentication instead of the default. Call before
   uimap_server_run(). ctx belongs to the caller. */
void uimap_server_set_auth(struct uimap_server *server,
			   const struct uimap_auth_backend *backend, void *ctx);

/* Use store for mail instead of the default in-memory store. Call before
   uimap_server_run(). store belongs to the caller and must outlive the server.
   Persistence (data_dir) works with the default store only: with data_dir set this
   returns -1 with *error_r and changes nothing. Returns 0 otherwise. */
int uimap_server_set_store(struct uimap_server *server, struct uimap_store *store,
			   const char **error_r);

/* The store the server uses (the default in-memory one unless replaced). */
struct uimap_store *uimap_server_store(struct uimap_server *server);

/* Send the server's log lines to fn (a line without its newline: "LEVEL [cid addr]
   message" after a UTC time stamp) instead of stderr; a log file or syslog set in
   the configuration keeps receiving them too. fn runs on the server's thread.
   NULL takes the lines back to where the configuration sends them. Call before
   uimap_server_run(). */
void uimap_server_set_log_callback(struct uimap_server *server,
				   void (*fn)(void *ctx, enum uimap_log_level level,
					      const char *line),
				   void *ctx);

/* Register an extra command (copied). Returns 0, or -1 when the name is invalid or
   already taken. Call before uimap_server_run(). */
int uimap_server_add_command(struct uimap_server *server, const struct uimap_command *cmd);

/* On SIGHUP (with uimap_server_handle_signals()), call load(ctx, &error) for a fresh
   configuration (uimapd reads its --config file and command line again) and compare
   it with the running one: limits, timeouts, the address rules, the log level,
   plaintext auth and the certificate paths are applied at once; other changes
   (listeners, data directory, user, ...) are logged as needing a restart. load
   returns a configuration the server frees, or NULL with *error_r to keep the
   running one. Call before uimap_server_run(); load runs on the server's thread. */
void uimap_server_set_config_loader(struct uimap_server *server,
				    struct uimap_config *(*load)(void *ctx, const char **error_r),
				    void *ctx);

/* Set a field of the server's ID response (RFC 2971; the seed's id method): "name"
   and "version" are "uimap" and its version by default; "vendor", "support-url",
   "os", ... may be added. A NULL value removes the field (no fields: ID answers NIL).
   Fields are at most 30 octets (30 of them), values at most 1024, on one line.
   Returns 0, or -1 with *error_r (error_r may be NULL). Call before
   uimap_server_run(). */
int uimap_server_set_id(struct uimap_server *server, const char *field, const char *value,
			const char **error_r);

/* The CAPABILITY list the server announces (the seed's capability method) to a
   client before login (authenticated false) or after, on a TLS connection or not:
   written to buf as a NUL-terminated string, truncated to size - 1 bytes. Returns
   the full length (as snprintf does), so a return >= size means buf was too small.
   Custom commands' capabilities are included once added. */
size_t uimap_server_capability(struct uimap_server *server, bool authenticated, bool tls,
			       char *buf, size_t size);

/* Bind every listener without serving yet, so the caller can read the ports or
   drop privileges. Returns 0, or -1 with *error_r. Optional: uimap_server_run()
   binds when this was not called. The server may then run on another thread: the
   io_uring ring is created by uimap_server_run() on the thread that runs it. */
int uimap_server_bind(struct uimap_server *server, const char **error_r);

/* Bind the listeners and serve until uimap_server_stop() or SIGINT/SIGTERM (when
   handle_signals was requested). Returns 0 after a clean shutdown (every client was
   sent "* BYE" and closed, listeners closed), or -1 with *error_r. */
int uimap_server_run(struct uimap_server *server, const char **error_r);

/* Install SIGINT/SIGTERM handling through a signalfd read on the ring: they stop
   the server cleanly. Call before uimap_server_run(); blocks those signals in the
   calling thread. */
void uimap_server_handle_signals(struct uimap_server *server);

/* Ask a running server to shut down. Safe from any thread and from a signal
   handler; also safe from inside a command handler. */
void uimap_server_stop(struct uimap_server *server);

/* The port listener i (plain listeners first, then TLS) is bound to (useful with
   port 0), or -1 when there is no such bound listener. */
int uimap_server_port(const struct uimap_server *server, unsigned listener);

/* One connection, as uimap_server_foreach_connection() shows it (the strings are
   valid during the callback only). */
struct uimap_connection_info {
	unsigned long id;           /* as in the log lines ("c42") */
	const char *addr;           /* the client's "ip:port" */
	const char *user;           /* NULL before login */
	const char *mailbox;        /* the selected mailbox, or NULL */
	bool tls;                   /* TLS (implicit or after STARTTLS) */
	bool idling;                /* in IDLE */
	const char *host;           /* the client's forward-confirmed host name (option
				       reverse-lookups), or NULL */
};

/* The seed's connections / concurrent_user_connections /
   concurrent_mailbox_connections, for command handlers and other code on the server's
   thread (not thread-safe). */

/* Call fn for every open connection (in no particular order) until it returns
   non-zero; returns that value, or 0. */
int uimap_server_foreach_connection(struct uimap_server *server,
				    int (*fn)(void *ctx, const struct uimap_connection_info *info),
				    void *ctx);

/* Logged-in connections of user (O(1)). */
unsigned uimap_server_user_connections(const struct uimap_server *server, const char *user);

/* Connections of user that have mailbox selected (INBOX in any case). */
unsigned uimap_server_mailbox_connections(struct uimap_server *server, const char *user,
					  const char *mailbox);

/* Free the server and NULL *server; NULL is allowed. */
void uimap_server_free(struct uimap_server **server);

#ifdef __cplusplus
}
#endif
#endif
