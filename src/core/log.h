/* Logging: level, UTC time, connection id and client address, one line per write.
   Each server has its own logger and makes it the current one of the thread that
   runs it, so several servers in several threads log apart. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include "uimap/config.h"

#include <stdbool.h>

struct logger {
	enum uimap_log_level level;
	int fd;                     /* where lines go (stderr by default) */
};

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
