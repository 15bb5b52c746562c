/* Failed-login penalties: a fixed-size hash table of (address, user) pairs. */
#include "auth/penalty.h"
#include "core/alloc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define BUCKETS 4096
#define BUCKET_WAYS (AUTH_PENALTY_MAX_ENTRIES / BUCKETS)

struct entry {
	uint64_t key;       /* hash of address and user (names are not kept) */
	uint64_t last_ms;   /* last failure */
	unsigned fails;     /* failures as of last_ms */
};

struct auth_penalty {
	uint64_t seed;
	struct entry e[BUCKETS][BUCKET_WAYS];
};

struct auth_penalty *auth_penalty_new(void)
{
	struct auth_penalty *p = xcalloc(1, sizeof(*p));
	/* a secret seed: a client cannot aim its pairs at one bucket */
	if (getrandom(&p->seed, sizeof(p->seed), 0) != (ssize_t)sizeof(p->seed))
		p->seed = (uint64_t)(uintptr_t)p ^ 0x9e3779b97f4a7c15ull;
	return p;
}

/* FNV-1a over the seed, the address and the user name (case kept: user names
   are case-sensitive in the passwd file). */
static uint64_t pair_hash(const struct auth_penalty *p, const unsigned char addr[16],
			  const char *user)
{
	uint64_t h = 0xcbf29ce484222325ull ^ p->seed;
	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 0x100000001b3ull;
	for (const unsigned char *u = (const unsigned char *)user; *u; u++)
		h = (h ^ *u) * 0x100000001b3ull;
	return h | 1; /* 0 marks a free slot */
}

static unsigned decayed(const struct entry *e, uint64_t now_ms)
{
	uint64_t forgiven = now_ms > e->last_ms ? (now_ms - e->last_ms) / AUTH_PENALTY_DECAY_MS : 0;
	return forgiven >= e->fails ? 0 : e->fails - (unsigned)forgiven;
}

static struct entry *lookup(struct auth_penalty *p, uint64_t key, bool create)
{
	struct entry *b = p->e[key % BUCKETS], *victim = &b[0];
	for (int i = 0; i < BUCKET_WAYS; i++) {
		if (b[i].key == key)
			return &b[i];
		if (b[i].key == 0 || b[i].last_ms < victim->last_ms)
			victim = &b[i];
	}
	if (!create)
		return NULL;
	*victim = (struct entry){ .key = key };
	return victim;
}

unsigned auth_penalty_fail(struct auth_penalty *p, const unsigned char addr[16],
			   const char *user, uint64_t now_ms, unsigned base_ms, unsigned max_ms)
{
	struct entry *e = lookup(p, pair_hash(p, addr, user), true);
	unsigned before = decayed(e, now_ms);
	e->fails = before + 1;
	e->last_ms = now_ms;
	uint64_t delay = base_ms;
	for (unsigned i = 0; i < before && delay < max_ms; i++)
		delay *= 2;
	return (unsigned)(delay > max_ms ? max_ms : delay);
}

unsigned auth_penalty_count(struct auth_penalty *p, const unsigned char addr[16],
			    const char *user, uint64_t now_ms)
{
	struct entry *e = lookup(p, pair_hash(p, addr, user), false);
	return e == NULL ? 0 : decayed(e, now_ms);
}

void auth_penalty_success(struct auth_penalty *p, const unsigned char addr[16],
			  const char *user)
{
	struct entry *e = lookup(p, pair_hash(p, addr, user), false);
	if (e != NULL)
		*e = (struct entry){ 0 };
}

void auth_penalty_free(struct auth_penalty **p)
{
	free(*p);
	*p = NULL;
}
