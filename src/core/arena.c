/* Bump arena with a kept first block, large-allocation side list and ASan poisoning. */
#include "core/arena.h"
#include "core/alloc.h"
#include "core/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#ifdef UIMAP_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN 16

struct arena_block {
	struct arena_block *next;
	size_t size;
	size_t used;
	size_t pad_;
	_Alignas(ALIGN) unsigned char data[];
};

struct arena_large {
	struct arena_large *next;
	void *ptr;
};

void arena_init(struct arena *a, size_t block_size)
{
	a->block_size = block_size < 256 ? 256 : block_size;
	a->head = NULL;
	a->large = NULL;
	a->total = 0;
}

static struct arena_block *block_new(size_t size)
{
	struct arena_block *b = xmalloc(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	POISON(b->data, size);
	return b;
}

void *arena_alloc(struct arena *a, size_t n)
{
	if (n > SIZE_MAX / 2)
		oom(n);
	size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (need == 0)
		need = ALIGN;
	struct arena_block *b = a->head;
	if (b == NULL || b->size - b->used < need) {
		if (need > a->block_size / 2 && b != NULL) {
			/* big request: its own block behind the current one, so the
			   current block keeps serving small requests */
			struct arena_block *nb = block_new(need);
			nb->next = b->next;
			b->next = nb;
			b = nb;
		} else {
			struct arena_block *nb = block_new(MAX(need, a->block_size));
			nb->next = b;
			a->head = nb;
			b = nb;
		}
	}
	void *p = b->data + b->used;
	b->used += need;
	a->total += need;
	UNPOISON(p, n ? n : 1);
	return p;
}

void *arena_zalloc(struct arena *a, size_t n)
{
	void *p = arena_alloc(a, n);
	memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* UBSan's null checks make GCC see a NULL fmt path here and warn; fmt is never NULL */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
char *arena_printf(struct arena *a, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	char *p = arena_alloc(a, (size_t)n + 1);
	if ((size_t)n < sizeof(small)) {
		memcpy(p, small, (size_t)n + 1);
		return p;
	}
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}
#pragma GCC diagnostic pop

void *arena_alloc_large(struct arena *a, size_t n)
{
	void *ptr = malloc(n ? n : 1);
	if (ptr == NULL)
		return NULL;
	struct arena_large *l = arena_alloc(a, sizeof(*l));
	l->ptr = ptr;
	l->next = a->large;
	a->large = l;
	a->total += n;
	return l->ptr;
}

int arena_large_take(struct arena *a, void *p)
{
	for (struct arena_large *l = a->large; l != NULL; l = l->next) {
		if (l->ptr == p) {
			l->ptr = NULL;
			return 0;
		}
	}
	return -1;
}

static void free_large(struct arena *a)
{
	for (struct arena_large *l = a->large; l != NULL; l = l->next)
		free(l->ptr);
	a->large = NULL;
}

void arena_reset(struct arena *a)
{
	free_large(a);
	struct arena_block *b = a->head;
	if (b == NULL)
		return;
	/* keep the last block of the chain (the oldest, normal-sized one) */
	struct arena_block *keep = NULL;
	while (b != NULL) {
		struct arena_block *next = b->next;
		if (next == NULL && b->size == a->block_size)
			keep = b;
		else
			free(b);
		b = next;
	}
	if (keep != NULL) {
		keep->used = 0;
		POISON(keep->data, keep->size);
	}
	a->head = keep;
	a->total = 0;
}

void arena_free(struct arena *a)
{
	free_large(a);
	struct arena_block *b = a->head;
	while (b != NULL) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->total = 0;
}
