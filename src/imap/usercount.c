/* Sessions per user: a chained hash table that doubles when it gets full, so a
   login costs O(1) whatever the number of users and connections. */
#include "imap/usercount.h"
#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;
	unsigned count;
	char user[];
};

struct usercount {
	struct entry **buckets;
	size_t n_buckets, n_entries;
};

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

struct usercount *usercount_new(void)
{
	struct usercount *t = xcalloc(1, sizeof(*t));
	t->n_buckets = 64;
	t->buckets = xcalloc(t->n_buckets, sizeof(*t->buckets));
	return t;
}

static struct entry **find(const struct usercount *t, const char *user)
{
	struct entry **e = &t->buckets[hash(user) & (t->n_buckets - 1)];
	while (*e != NULL && strcmp((*e)->user, user) != 0)
		e = &(*e)->next;
	return e;
}

unsigned usercount_get(const struct usercount *t, const char *user)
{
	struct entry *e = *find(t, user);
	return e != NULL ? e->count : 0;
}

static void grow(struct usercount *t)
{
	size_t n = t->n_buckets * 2;
	struct entry **b = xcalloc(n, sizeof(*b));
	for (size_t i = 0; i < t->n_buckets; i++) {
		for (struct entry *e = t->buckets[i], *next; e != NULL; e = next) {
			next = e->next;
			size_t k = hash(e->user) & (n - 1);
			e->next = b[k];
			b[k] = e;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->n_buckets = n;
}

void usercount_add(struct usercount *t, const char *user)
{
	struct entry **e = find(t, user);
	if (*e == NULL) {
		size_t len = strlen(user);
		*e = xmalloc(sizeof(**e) + len + 1);
		(*e)->next = NULL;
		(*e)->count = 0;
		memcpy((*e)->user, user, len + 1);
		if (++t->n_entries > t->n_buckets)
			grow(t);
		e = find(t, user);
	}
	(*e)->count++;
}

void usercount_remove(struct usercount *t, const char *user)
{
	struct entry **e = find(t, user);
	if (*e == NULL)
		return;
	if (--(*e)->count == 0) {
		struct entry *gone = *e;
		*e = gone->next;
		free(gone);
		t->n_entries--;
	}
}

void usercount_free(struct usercount **tp)
{
	struct usercount *t = *tp;
	if (t == NULL)
		return;
	*tp = NULL;
	for (size_t i = 0; i < t->n_buckets; i++) {
		for (struct entry *e = t->buckets[i], *next; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(t->buckets);
	free(t);
}
