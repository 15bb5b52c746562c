/* uimap: authentication backends (the seed's auth_class) as a vtable. */
#ifndef UIMAP_AUTH_H
#define UIMAP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct uimap_auth_backend {
	const char *name;
	/* true when verify_plain may block (slow password hashes, network): it is then
	   called on an auth worker thread, never on the event loop. When false it is
	   called inline on the loop and must return quickly. */
	bool blocking;
	/* Optional. Called once before the server starts. Returns 0, or -1 with *error_r. */
	int (*init)(void *ctx, const char **error_r);
	/* Check a user name and password. Returns 1 when they match, 0 when they do not
	   (unknown user or wrong password: not distinguished to the client), -1 on an
	   internal error with *error_r set (static storage). Must be thread-safe when
	   blocking is true (several workers may call it at once). */
	int (*verify_plain)(void *ctx, const char *user, const char *password,
			    const char **error_r);
	/* Optional. Called once when the server is freed. */
	void (*deinit)(void *ctx);
	/* Optional. The user's extra fields: "key=value" pairs separated by spaces
	   (Dovecot's userdb extra fields, e.g. "userdb_quota_rule=*:storage=1G"), or
	   NULL. Called on the loop thread after a successful login; the server copies
	   what it needs before returning to the loop. */
	const char *(*user_fields)(void *ctx, const char *user);
};

/* The default backend: a Dovecot passwd-file
   ("user:{SCHEME}secret[:uid:gid:gecos:home:shell:extra fields]"; the extra fields,
   which may contain ':', are the rest of the line after the seventh ':').
   Schemes: PLAIN, CLEARTEXT, CRYPT, SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, MD5-CRYPT
   and yescrypt via crypt(3); a secret without {SCHEME} is a crypt(3) hash.
   Comparison is constant time. */
extern const struct uimap_auth_backend uimap_auth_passwd_file;

/* Load a passwd-file. Returns a context for uimap_auth_passwd_file, or NULL with
   *error_r (static storage) when the file cannot be read or a line is malformed. */
void *uimap_auth_passwd_file_open(const char *path, const char **error_r);

/* Read the file again (its path from uimap_auth_passwd_file_open()) and use it for
   the next checks; checks under way finish with the old contents. Call it from the
   thread that runs the server's loop (uimapd does on SIGHUP). Returns 0, or -1 with
   *error_r when the file cannot be read or parsed: the old contents stay. */
int uimap_auth_passwd_file_reload(void *ctx, const char **error_r);

/* Free a context from uimap_auth_passwd_file_open(); NULL is allowed. */
void uimap_auth_passwd_file_close(void *ctx);

#ifdef __cplusplus
}
#endif
#endif
