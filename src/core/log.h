/* Logging to stderr: level, UTC time, connection id and client address. */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include "uimap/config.h"

extern enum uimap_log_level log_level;

/* Write one line "TIME LEVEL [cid addr] message" to stderr when level is enabled.
   cid 0 and addr NULL mean "no connection". Never log passwords or literals. */
void log_write(enum uimap_log_level level, unsigned long cid, const char *addr,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_error(...) log_write(UIMAP_LOG_ERROR, 0, NULL, __VA_ARGS__)
#define log_warn(...) log_write(UIMAP_LOG_WARN, 0, NULL, __VA_ARGS__)
#define log_info(...) log_write(UIMAP_LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_debug(...) do { if (log_level >= UIMAP_LOG_DEBUG) \
	log_write(UIMAP_LOG_DEBUG, 0, NULL, __VA_ARGS__); } while (0)

#endif
