/* Error texts for *error_r out-parameters: one thread-local buffer for the library. */
#ifndef CORE_ERROR_H
#define CORE_ERROR_H

/* Format a message into the calling thread's error buffer and point *error_r at it
   (error_r may be NULL). The text stays valid until the next error_set() on the
   same thread. Returns -1, for "return error_set(error_r, ...);". */
int error_set(const char **error_r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The calling thread's last error_set() text ("" before any). */
const char *error_last(void);

#endif
