/* systemd integration: sd_notify states, the watchdog ping from the loop, socket
   activation (sd_listen_fds_with_names). */
#include "imap/systemd.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/error.h"
#include "core/log.h"
#include "net/server.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#ifdef UIMAP_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

void systemd_notify(const char *state)
{
#ifdef UIMAP_HAVE_SYSTEMD
	(void)sd_notify(0, state);
#else
	(void)state;
#endif
}

int systemd_adopt_listeners(struct net_server *net, const char **error_r)
{
#ifdef UIMAP_HAVE_SYSTEMD
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names);
	if (n <= 0) {
		if (n < 0)
			log_warn("systemd socket activation: %s", strerror(-n));
		return 0;
	}
	int *fds = xmalloc((size_t)n * sizeof(*fds));
	bool *tls = xmalloc((size_t)n * sizeof(*tls));
	int ret = n;
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names != NULL && names[i] != NULL ? names[i] : "";
		fds[i] = fd;
		tls[i] = strcmp(name, "imaps") == 0 || strcmp(name, "tls") == 0;
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			ret = error_set(error_r, "systemd passed descriptor %d (%s) which is "
				       "not a listening stream socket", fd, name);
			break;
		}
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	if (ret > 0 && net_server_adopt(net, fds, tls, (unsigned)n, error_r) < 0)
		ret = -1;
	if (ret > 0)
		log_info("serving on %d socket(s) from systemd; listen and tls-listen "
			 "are not used", n);
	free(fds);
	free(tls);
	if (names != NULL) {
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
	}
	return ret;
#else
	(void)net;
	(void)error_r;
	return 0;
#endif
}

static void watchdog_fired(struct timer *t)
{
	struct systemd_watchdog *w = container_of(t, struct systemd_watchdog, timer);
	systemd_notify("WATCHDOG=1");
	timer_set(w->timers, &w->timer, clock_ms() + w->interval_ms, watchdog_fired);
}

void systemd_watchdog_start(struct systemd_watchdog *w, struct timer_heap *timers)
{
	w->timers = timers;
	w->interval_ms = 0;
#ifdef UIMAP_HAVE_SYSTEMD
	uint64_t usec;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	/* half the period, as sd_watchdog_enabled(3) advises */
	w->interval_ms = usec / 2000 > 0 ? usec / 2000 : 1;
	log_info("systemd watchdog: a ping every %llu ms",
		 (unsigned long long)w->interval_ms);
	systemd_notify("WATCHDOG=1");
	timer_set(timers, &w->timer, clock_ms() + w->interval_ms, watchdog_fired);
#endif
}

void systemd_watchdog_stop(struct systemd_watchdog *w)
{
	if (w->timers != NULL)
		timer_cancel(w->timers, &w->timer);
}
