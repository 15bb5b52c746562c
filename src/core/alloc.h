/* Memory allocation with one out-of-memory policy. The library's own bookkeeping
   (connections, sessions, the store's arrays and logs, journal buffers, parser and
   output chunks) is allocated with these x*() functions, and a failure ends the
   process with a message, as Redis's zmalloc does: half-updated state is worse
   than a restart from the journal. Memory whose size a client chooses (literal
   buffers, message blobs) is allocated with plain malloc() where it arrives, and a
   failure there fails the command instead (NO [SERVERBUG] / [TOOBIG]). */
#ifndef CORE_ALLOC_H
#define CORE_ALLOC_H

#include <stddef.h>

/* Log "out of memory" with the size and abort(). */
void oom(size_t size) __attribute__((noreturn, cold));

/* malloc, calloc, realloc, strdup, strndup and asprintf that never return NULL. */
void *xmalloc(size_t size) __attribute__((malloc, returns_nonnull));
void *xcalloc(size_t n, size_t size) __attribute__((malloc, returns_nonnull));
void *xrealloc(void *p, size_t size) __attribute__((returns_nonnull));
char *xstrdup(const char *s) __attribute__((malloc, returns_nonnull));
char *xstrndup(const char *s, size_t n) __attribute__((malloc, returns_nonnull));
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2), returns_nonnull));

#endif
