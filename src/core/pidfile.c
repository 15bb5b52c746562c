/* The pid file: flock() tells whether its writer still runs. */
#include "core/pidfile.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int pidfile_claim(const char *path, struct pidfile *pf, const char **error_r)
{
	pf->fd = pf->dir_fd = -1;
	pf->name = NULL;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return error_set(error_r, "pid file %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		char text[32] = "";
		ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
		text[n > 0 ? n : 0] = '\0';
		text[strcspn(text, "\n")] = '\0';
		close(fd);
		if (err == EWOULDBLOCK)
			return error_set(error_r, "pid file %s is held by a running process (pid "
					 "%s): another uimapd serves", path, text[0] ? text : "unknown");
		return error_set(error_r, "pid file %s: %s", path, strerror(err));
	}
	char *copy1 = xstrdup(path), *copy2 = xstrdup(path);
	pf->dir_fd = open(dirname(copy1), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	pf->name = xstrdup(basename(copy2));
	free(copy1);
	free(copy2);
	pf->fd = fd;
	return 0;
}

int pidfile_write(const struct pidfile *pf, pid_t pid)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld\n", (long)pid);
	if (ftruncate(pf->fd, 0) < 0 || pwrite(pf->fd, text, (size_t)n, 0) != n)
		return -errno;
	return 0;
}

void pidfile_release(struct pidfile *pf)
{
	if (pf->fd < 0)
		return;
	/* unlinked while still locked: a new instance never sees our pid in it */
	if (pf->dir_fd < 0 || unlinkat(pf->dir_fd, pf->name, 0) < 0)
		(void)ftruncate(pf->fd, 0);
	close(pf->fd);
	if (pf->dir_fd >= 0)
		close(pf->dir_fd);
	free(pf->name);
	pf->fd = pf->dir_fd = -1;
	pf->name = NULL;
}
