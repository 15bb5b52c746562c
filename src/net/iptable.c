/* Chained hash table keyed by client address. */
#include "net/iptable.h"
#include "core/alloc.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ip_key(const struct sockaddr_storage *ss, unsigned char key_r[16])
{
	memset(key_r, 0, 16);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
		key_r[10] = key_r[11] = 0xff;
		memcpy(key_r + 12, &in->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		memcpy(key_r, &in6->sin6_addr, 16);
	}
}

static unsigned hash_key(const unsigned char k[16])
{
	uint64_t a, b;
	memcpy(&a, k, 8);
	memcpy(&b, k + 8, 8);
	uint64_t h = (a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xC2B2AE3D27D4EB4FULL);
	return (unsigned)(h ^ (h >> 29));
}

static void grow(struct iptable *t)
{
	unsigned n = t->n_buckets ? t->n_buckets * 2 : 256;
	struct ipentry **nb = xcalloc(n, sizeof(*nb));
	for (unsigned i = 0; i < t->n_buckets; i++) {
		struct ipentry *e = t->buckets[i];
		while (e != NULL) {
			struct ipentry *next = e->next;
			unsigned h = hash_key(e->addr) & (n - 1);
			e->next = nb[h];
			nb[h] = e;
			e = next;
		}
	}
	free(t->buckets);
	t->buckets = nb;
	t->n_buckets = n;
}

struct ipentry *iptable_get(struct iptable *t, const unsigned char key[16], int create)
{
	if (t->n_buckets != 0) {
		unsigned h = hash_key(key) & (t->n_buckets - 1);
		for (struct ipentry *e = t->buckets[h]; e != NULL; e = e->next)
			if (memcmp(e->addr, key, 16) == 0)
				return e;
	}
	if (!create)
		return NULL;
	if (t->n_entries >= t->n_buckets)
		grow(t);
	struct ipentry *e = xcalloc(1, sizeof(*e));
	memcpy(e->addr, key, 16);
	unsigned h = hash_key(key) & (t->n_buckets - 1);
	e->next = t->buckets[h];
	t->buckets[h] = e;
	t->n_entries++;
	return e;
}

void iptable_maybe_drop(struct iptable *t, struct ipentry *e, uint64_t now_ms,
			uint64_t forget_ms)
{
	if (e->conns > 0 || (e->fails > 0 && now_ms - e->last_fail_ms < forget_ms))
		return;
	unsigned h = hash_key(e->addr) & (t->n_buckets - 1);
	for (struct ipentry **pp = &t->buckets[h]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			free(e);
			t->n_entries--;
			return;
		}
	}
}

void iptable_free(struct iptable *t)
{
	for (unsigned i = 0; i < t->n_buckets; i++) {
		struct ipentry *e = t->buckets[i];
		while (e != NULL) {
			struct ipentry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}
