/* Bump arena: fast allocation for one command or one connection, freed all at once. */
#ifndef CORE_ARENA_H
#define CORE_ARENA_H

#include <stddef.h>
#include <stdarg.h>

struct arena_block;
struct arena_large;

struct arena {
	/* permanent */
	size_t block_size;
	/* reset by arena_reset() */
	struct arena_block *head;   /* current block; older blocks follow via ->next */
	struct arena_large *large;  /* allocations bigger than a block, freed on reset */
	size_t total;               /* bytes handed out since the last reset */
};

/* Initialise an empty arena whose blocks are block_size bytes (no memory yet). */
void arena_init(struct arena *a, size_t block_size);

/* Allocate n bytes aligned to 16. Never returns NULL (aborts on out-of-memory,
   as there is no way to answer a client without memory). n = 0 is allowed. */
void *arena_alloc(struct arena *a, size_t n);

/* Allocate and zero. */
void *arena_zalloc(struct arena *a, size_t n);

/* Copy n bytes of s into the arena, NUL-terminated. */
char *arena_strndup(struct arena *a, const char *s, size_t n);

/* printf into the arena. */
char *arena_printf(struct arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Allocate a large buffer (malloc'd, freed at reset unless taken with
   arena_large_take()). Its size is the client's choice (a literal), so running out
   of memory fails the command, not the process: returns NULL then. */
void *arena_alloc_large(struct arena *a, size_t n);

/* Take ownership of a buffer returned by arena_alloc_large(): the arena will not
   free it; the caller must free() it. Returns 0, or -1 if p is not a large buffer. */
int arena_large_take(struct arena *a, void *p);

/* Release everything allocated since the last reset. The first block is kept for
   reuse; freed memory is poisoned under ASan. */
void arena_reset(struct arena *a);

/* Release all memory, including the kept block. The arena can be used again. */
void arena_free(struct arena *a);

#endif
