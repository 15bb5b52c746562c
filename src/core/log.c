/* The logger: one formatted line per event to its sinks; a per-thread current one. */
#include "core/log.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/config.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static struct logger default_logger = { .level = UIMAP_LOG_INFO, .fd = STDERR_FILENO,
					.syslog_fd = -1 };
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
/* syslog(3) priorities of our levels */
static const int level_priorities[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

static const struct {
	const char *name;
	int facility;
} facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "auth", LOG_AUTH }, { "authpriv", LOG_AUTHPRIV }, { "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

static int open_file(const char *path, const char **error_r)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		error_set(error_r, "log file %s: %s", path, strerror(errno));
	return fd;
}

/* The syslog daemon's socket: a connected datagram socket, like openlog(LOG_NDELAY)
   but per logger (several servers may log under different idents). */
static int open_syslog(const char *path, const char **error_r)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path))
		return error_set(error_r, "syslog socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return error_set(error_r, "syslog socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		close(fd);
		return error_set(error_r, "syslog socket %s: %s", path, strerror(e));
	}
	return fd;
}

int log_open(struct logger *l, const struct uimap_config *cfg, const char **error_r)
{
	*l = (struct logger){ .level = cfg->log_level, .fd = STDERR_FILENO, .syslog_fd = -1 };
	/* systemd's journal reads "<N>" priorities from the lines of a service's stderr */
	l->priority_prefix = getenv("JOURNAL_STREAM") != NULL;
	if (cfg->log_file != NULL) {
		l->fd = open_file(cfg->log_file, error_r);
		if (l->fd < 0)
			return -1;
		l->fd_owned = true;
		l->file = xstrdup(cfg->log_file);
		l->priority_prefix = false;
	} else if (cfg->syslog) {
		l->fd = -1;   /* syslog instead of stderr, as Net::Server's log_file "Sys::Syslog" */
	}
	if (cfg->syslog) {
		l->syslog_facility = LOG_MAIL;
		if (cfg->syslog_facility != NULL) {
			size_t i;
			for (i = 0; i < N_ELEMENTS(facilities); i++)
				if (strcasecmp(cfg->syslog_facility, facilities[i].name) == 0)
					break;
			if (i == N_ELEMENTS(facilities)) {
				log_close(l);
				return error_set(error_r, "unknown syslog facility '%s'",
						 cfg->syslog_facility);
			}
			l->syslog_facility = facilities[i].facility;
		}
		/* Net::Server's syslog_logopt: pid (others are what a datagram socket
		   does anyway: ndelay, nowait; cons, perror ignored) */
		const char *o = cfg->syslog_options != NULL ? cfg->syslog_options : "pid";
		while (*o != '\0') {
			size_t n = strcspn(o, ",| ");
			if (n == 3 && strncasecmp(o, "pid", 3) == 0)
				l->syslog_pid = true;
			else if (n > 0 && !(n == 6 && strncasecmp(o, "ndelay", 6) == 0) &&
				 !(n == 6 && strncasecmp(o, "nowait", 6) == 0) &&
				 !(n == 4 && strncasecmp(o, "cons", 4) == 0) &&
				 !(n == 6 && strncasecmp(o, "perror", 6) == 0)) {
				log_close(l);
				return error_set(error_r, "unknown syslog option '%.*s'", (int)n, o);
			}
			o += n;
			o += strspn(o, ",| ");
		}
		snprintf(l->syslog_ident, sizeof(l->syslog_ident), "%s",
			 cfg->syslog_ident != NULL ? cfg->syslog_ident : "uimapd");
		l->syslog_fd = open_syslog(cfg->syslog_socket != NULL ? cfg->syslog_socket
								      : "/dev/log", error_r);
		if (l->syslog_fd < 0) {
			log_close(l);
			return -1;
		}
	}
	return 0;
}

int log_reopen(struct logger *l, const char **error_r)
{
	if (!l->fd_owned || l->file == NULL)
		return 0;
	int fd = open_file(l->file, error_r);
	if (fd < 0)
		return -1;
	/* the descriptor number stays: a line being written goes to one file or the other */
	if (dup3(fd, l->fd, O_CLOEXEC) < 0) {
		int e = errno;
		close(fd);
		return error_set(error_r, "log file %s: %s", l->file, strerror(e));
	}
	close(fd);
	return 0;
}

void log_close(struct logger *l)
{
	if (l->fd_owned && l->fd >= 0)
		close(l->fd);
	if (l->syslog_fd >= 0)
		close(l->syslog_fd);
	free(l->file);
	*l = (struct logger){ .level = l->level, .fd = -1, .syslog_fd = -1 };
}

/* RFC 3164 "<PRI>Mmm dd hh:mm:ss ident[pid]: message", local time as syslogd expects. */
static void send_syslog(struct logger *l, enum uimap_log_level level, const char *msg,
			size_t len)
{
	char dgram[1200], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	int n = l->syslog_pid
		? snprintf(dgram, sizeof(dgram), "<%d>%s %s[%d]: ",
			   l->syslog_facility | level_priorities[level], stamp, l->syslog_ident,
			   (int)getpid())
		: snprintf(dgram, sizeof(dgram), "<%d>%s %s: ",
			   l->syslog_facility | level_priorities[level], stamp, l->syslog_ident);
	if (n < 0 || (size_t)n >= sizeof(dgram))
		return;
	size_t k = MIN(len, sizeof(dgram) - (size_t)n);
	memcpy(dgram + n, msg, k);
	/* a full queue drops the line rather than stall the loop */
	ssize_t r = send(l->syslog_fd, dgram, (size_t)n + k, MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)r;
}

void log_write(enum uimap_log_level level, unsigned long cid, const char *addr,
	       const char *fmt, ...)
{
	struct logger *l = log_current();
	if (level > l->level || level > UIMAP_LOG_DEBUG)
		return;
	if (l->fd < 0 && l->syslog_fd < 0 && l->callback == NULL)
		return;
	char line[1024];
	/* "<N>" first when systemd reads our stderr; the message starts after the stamp */
	int pre = l->priority_prefix ? snprintf(line, sizeof(line), "<%d>",
						 level_priorities[level]) : 0;
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = pre + snprintf(line + pre, sizeof(line) - (size_t)pre,
			       "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ",
			       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			       tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[level]);
	/* syslog stamps lines itself: it gets "LEVEL [cid addr] message", after the
	   25-byte UTC stamp */
	int msg = pre + 25;
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
	line[n] = '\0';
	if (l->syslog_fd >= 0)
		send_syslog(l, level, line + msg, (size_t)(n - msg));
	if (l->callback != NULL)
		l->callback(l->callback_ctx, level, line + pre);
	if (l->fd >= 0) {
		line[n++] = '\n';
		ssize_t r = write(l->fd, line, (size_t)n);
		(void)r;
	}
}
