/* A pid file that says which process serves: claimed with an exclusive lock (so a
   second instance is refused while the first lives, and a stale file from a crash is
   simply taken over), written once the listeners are bound, removed at exit. */
#ifndef CORE_PIDFILE_H
#define CORE_PIDFILE_H

#include <sys/types.h>

/* Open (creating it, 0644) and lock path. Returns the descriptor, or -1 with
   *error_r: another live process holds the lock (its pid in the text), or the file
   cannot be opened. Nothing is written yet. */
int pidfile_claim(const char *path, const char **error_r);

/* Write pid (and a newline) into the claimed file. Returns 0, or -errno. */
int pidfile_write(int fd, pid_t pid);

/* Remove path and close fd (the lock goes with it). fd < 0: nothing. */
void pidfile_release(const char *path, int fd);

#endif
