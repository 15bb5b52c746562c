/* The pid file: flock() tells whether its writer still runs. */
#include "core/pidfile.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int pidfile_claim(const char *path, const char **error_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		error_set(error_r, "pid file %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;
		char text[32] = "";
		ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
		text[n > 0 ? n : 0] = '\0';
		text[strcspn(text, "\n")] = '\0';
		close(fd);
		if (err == EWOULDBLOCK)
			error_set(error_r, "pid file %s is held by a running process (pid %s): "
				  "another uimapd serves", path, text[0] ? text : "unknown");
		else
			error_set(error_r, "pid file %s: %s", path, strerror(err));
		return -1;
	}
	return fd;
}

int pidfile_write(int fd, pid_t pid)
{
	char text[32];
	int n = snprintf(text, sizeof(text), "%ld\n", (long)pid);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n)
		return -errno;
	return 0;
}

void pidfile_release(const char *path, int fd)
{
	if (fd < 0)
		return;
	/* unlinked while still locked: a new instance never sees our pid in it */
	unlink(path);
	close(fd);
}
