/* uimap: server configuration, shared by the embedding API, the config file and the CLI. */
#ifndef UIMAP_CONFIG_H
#define UIMAP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

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

/* The configuration: an opaque set of options, each named by its config-file key
   (docs/configuration.md lists them all). The same table serves the config file,
   uimapd's command line and embedders, so every option is reachable from all three
   and the ABI does not change when options are added. */
struct uimap_config;

/* A configuration with every option at its default (listen 127.0.0.1:1430,
   unauth_idle 300, auth_idle 3600, unauth_commands 10, max_line 64 KiB,
   max_literal 64 MiB, ...). Never NULL (the process aborts when out of memory).
   Free with uimap_config_free(). */
struct uimap_config *uimap_config_new(void);

/* A deep copy of cfg (a server keeps its own). Never NULL. */
struct uimap_config *uimap_config_copy(const struct uimap_config *cfg);

/* Set one option by its key ("max-line" or "max_line", both accepted). Repeatable
   keys (listen, tls-listen, ...) append. value may be NULL for boolean keys
   (meaning "true"). Returns 0, or -1 with a human-readable *error_r (thread-local
   storage, valid until the next error on this thread) for an unknown key or a
   malformed value; cfg is unchanged then. */
int uimap_config_set(struct uimap_config *cfg, const char *key, const char *value,
		     const char **error_r);

/* Put one option back to its default (a repeatable key loses all its values).
   Returns 0, or -1 with *error_r for an unknown key. */
int uimap_config_reset(struct uimap_config *cfg, const char *key, const char **error_r);

/* Read a "key = value" file (# comments, blank lines ignored) into cfg.
   Returns 0, or -1 with *error_r naming the file and line. */
int uimap_config_load_file(struct uimap_config *cfg, const char *path, const char **error_r);

/* 1 when key names a boolean option (no value on the command line), 0 for any
   other known option, -1 for an unknown key. */
int uimap_config_key_is_bool(const char *key);

/* Free cfg and NULL *cfg; NULL and *cfg == NULL are allowed. */
void uimap_config_free(struct uimap_config **cfg);

#ifdef __cplusplus
}
#endif
#endif
