/* The logger: one formatted write per line, per-thread current logger. */
#include "core/log.h"
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static struct logger default_logger = { .level = UIMAP_LOG_INFO, .fd = STDERR_FILENO };
static __thread struct logger *thread_logger;

struct logger *log_current(void)
{
	return thread_logger != NULL ? thread_logger : &default_logger;
}

void log_use(struct logger *l)
{
	thread_logger = l;
}

static const char *const level_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };


void log_write(enum uimap_log_level level, unsigned long cid, const char *addr,
	       const char *fmt, ...)
{
	struct logger *l = log_current();
	if (level > l->level || l->fd < 0)
		return;
	char line[1024];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
			 level_names[level <= UIMAP_LOG_DEBUG ? level : UIMAP_LOG_DEBUG]);
	if (cid != 0 && n < (int)sizeof(line))
		n += snprintf(line + n, sizeof(line) - (size_t)n, "[c%lu %s] ", cid,
			      addr ? addr : "-");
	if (n < (int)sizeof(line)) {
		va_list ap;
		va_start(ap, fmt);
		n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t r = write(l->fd, line, (size_t)n);
	(void)r;
}
