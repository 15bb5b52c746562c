/* Small shared macros: export marker, branch hints, array length, container_of. */
#ifndef CORE_COMMON_H
#define CORE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifndef UIMAP_EXPORT
#define UIMAP_EXPORT __attribute__((visibility("default")))
#endif

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

#if defined(__SANITIZE_ADDRESS__)
#define UIMAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UIMAP_ASAN 1
#endif
#endif

/* The monotonic clock (CLOCK_MONOTONIC) in milliseconds and microseconds. */
uint64_t clock_ms(void);
uint64_t clock_us(void);

#endif
