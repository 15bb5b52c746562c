/* Logging: level, UTC time, connection id and client address, one line per write,
   to stderr or a log file, to syslog, and to an embedder's callback. Each server
   has its own logger and makes it the current one of the thread that runs it, so
   several servers in several threads log apart. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include "uimap/config.h"

#include <stdbool.h>

struct logger {
	enum uimap_log_level level;
	int fd;                     /* stderr or the log file; -1 = none */
	bool fd_owned;              /* a log file opened here (reopened on SIGHUP) */
	char *file;                 /* its path */
	/* systemd captures stderr (JOURNAL_STREAM set): "<N>" priority prefixes */
	bool priority_prefix;
	int syslog_fd;              /* a datagram socket to the syslog daemon, -1 = off */
	char syslog_ident[32];
	int syslog_facility;        /* LOG_MAIL, ... (already shifted, as in syslog.h) */
	bool syslog_pid;            /* the "pid" option: "ident[pid]:" */
	/* an embedder's sink: the line without its newline */
	void (*callback)(void *ctx, enum uimap_log_level level, const char *line);
	void *callback_ctx;
};

/* Set up a logger from the configuration: log-level, log-file (opened for append,
   created 0640), syslog, syslog-ident, syslog-facility, syslog-options,
   syslog-socket. Returns 0, or -1 with *error_r (a file or socket that cannot be
   opened, an unknown facility or option). */
int log_open(struct logger *l, const struct uimap_config *cfg, const char **error_r);

/* Reopen the log file (after logrotate moved it: SIGHUP). Returns 0, or -1 with
   *error_r; the old file stays in use then. */
int log_reopen(struct logger *l, const char **error_r);

/* Close what log_open() opened. */
void log_close(struct logger *l);

/* The calling thread's logger: the one set with log_use(), else a default that
   writes to stderr at UIMAP_LOG_INFO. */
struct logger *log_current(void);

/* Make l the calling thread's logger (NULL: back to the default). l must outlive
   its use. */
void log_use(struct logger *l);

/* Whether a line of level would be written by the calling thread's logger. */
static inline bool log_enabled(enum uimap_log_level level)
{
	return level <= log_current()->level;
}

/* Write one line "TIME LEVEL [cid addr] message" when level is enabled. cid 0 and
   addr NULL mean "no connection". Never log passwords or literals. */
void log_write(enum uimap_log_level level, unsigned long cid, const char *addr,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_error(...) log_write(UIMAP_LOG_ERROR, 0, NULL, __VA_ARGS__)
#define log_warn(...) log_write(UIMAP_LOG_WARN, 0, NULL, __VA_ARGS__)
#define log_info(...) log_write(UIMAP_LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_debug(...) do { if (log_enabled(UIMAP_LOG_DEBUG)) \
	log_write(UIMAP_LOG_DEBUG, 0, NULL, __VA_ARGS__); } while (0)

#endif
