/* A pid file that says which process serves: claimed with an exclusive lock (so a
   second instance is refused while the first lives, and a stale file from a crash is
   simply taken over), written once the listeners are bound, removed at exit (through
   its directory, opened at the claim, so a chroot since does not matter). */
#ifndef CORE_PIDFILE_H
#define CORE_PIDFILE_H

#include <sys/types.h>

struct pidfile {
	int fd, dir_fd;     /* -1: none */
	char *name;         /* the file's name in its directory */
};

/* Open (creating it, 0644) and lock path into *pf. Returns 0, or -1 with *error_r:
   another live process holds the lock (its pid in the text), or the file cannot be
   opened. Nothing is written yet. */
int pidfile_claim(const char *path, struct pidfile *pf, const char **error_r);

/* Write pid (and a newline) into the claimed file. Returns 0, or -errno. */
int pidfile_write(const struct pidfile *pf, pid_t pid);

/* Remove the file and close it (the lock goes with it); nothing when not claimed.
   After a drop of privileges the removal may be refused: the file is then emptied. */
void pidfile_release(struct pidfile *pf);

#endif
