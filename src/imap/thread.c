/* THREAD=REFERENCES, the steps of RFC 5256 §4 in order. Containers live in one array
   (index links, -1 = none) and message ids in an open-addressing hash table. */
#include "imap/thread.h"
#include "core/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct box {
	int64_t msg;          /* index in msgs, or -1 for a dummy */
	int64_t parent;
	int64_t *kids;        /* children, grown as needed */
	uint32_t n_kids, cap_kids;
};

struct ctx {
	const struct thread_msg *msgs;
	struct box *boxes;
	uint32_t n, cap;
	/* id -> box: ids are "<...>" (without the trailing space) */
	const char **keys;
	size_t *key_len;
	uint32_t *vals;
	size_t slots;
};

static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static uint32_t new_box(struct ctx *c)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->boxes = xrealloc(c->boxes, c->cap * sizeof(*c->boxes));
	}
	c->boxes[c->n] = (struct box){ .msg = -1, .parent = -1 };
	return c->n++;
}

/* The box of id (len bytes), made when missing. */
static uint32_t box_of(struct ctx *c, const char *id, size_t len)
{
	size_t i = hash(id, len) & (c->slots - 1);
	while (c->keys[i] != NULL) {
		if (c->key_len[i] == len && memcmp(c->keys[i], id, len) == 0)
			return c->vals[i];
		i = (i + 1) & (c->slots - 1);
	}
	c->keys[i] = id;
	c->key_len[i] = len;
	return c->vals[i] = new_box(c);
}

/* Whether a is b or an ancestor of b. */
static bool reaches(const struct ctx *c, int64_t a, int64_t b)
{
	for (int64_t x = b; x >= 0; x = c->boxes[x].parent)
		if (x == a)
			return true;
	return false;
}

static void link(struct ctx *c, int64_t parent, int64_t child)
{
	c->boxes[child].parent = parent;
}

static void add_kid(struct ctx *c, int64_t parent, int64_t child)
{
	struct box *p = &c->boxes[parent];
	if (p->n_kids == p->cap_kids) {
		p->cap_kids = p->cap_kids ? 2 * p->cap_kids : 4;
		p->kids = xrealloc(p->kids, p->cap_kids * sizeof(*p->kids));
	}
	p->kids[p->n_kids++] = child;
	c->boxes[child].parent = parent;
}

/* Step 1: every message in a box; References linked parent to child, the last one
   the message's parent (no link that would make a loop; A keeps existing links). */
static void step1(struct ctx *c, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct thread_msg *m = &c->msgs[i];
		size_t id_len = strcspn(m->message_id, " ");
		uint32_t b = id_len > 0 ? box_of(c, m->message_id, id_len) : 0;
		/* no id, or one seen already: a box of its own that no reference finds */
		if (id_len == 0 || c->boxes[b].msg >= 0)
			b = new_box(c);
		c->boxes[b].msg = i;
		int64_t prev = -1;
		for (const char *r = m->references; *r != '\0';) {
			size_t len = strcspn(r, " ");
			int64_t rb = box_of(c, r, len);
			if (prev >= 0 && rb != prev && c->boxes[rb].parent < 0 && !reaches(c, rb, prev))
				link(c, prev, rb);
			prev = rb;
			r += len;
			r += strspn(r, " ");
		}
		/* B: the last reference is the parent, replacing any earlier guess */
		c->boxes[b].parent = -1;
		if (prev >= 0 && prev != b && !reaches(c, b, prev))
			link(c, prev, b);
	}
	/* children lists from the parent links */
	for (uint32_t i = 0; i < c->n; i++)
		if (c->boxes[i].parent >= 0) {
			int64_t p = c->boxes[i].parent;
			add_kid(c, p, i);
		}
}

/* Step 3: dummies without children go; a dummy's children take its place, except a
   dummy at the root with more than one child. Rewrites list in place. */
static void prune(struct ctx *c, int64_t **list, uint32_t *n, uint32_t *cap, bool root)
{
	for (uint32_t i = 0; i < *n;) {
		int64_t x = (*list)[i];
		struct box *b = &c->boxes[x];
		prune(c, &b->kids, &b->n_kids, &b->cap_kids, false);
		b = &c->boxes[x];
		if (b->msg >= 0 || (root && b->n_kids > 1)) {
			i++;
			continue;
		}
		/* remove x, insert its children at its place */
		uint32_t k = b->n_kids;
		if (*n - 1 + k > *cap) {
			*cap = *n - 1 + k + 4;
			*list = xrealloc(*list, *cap * sizeof(**list));
		}
		memmove(&(*list)[i + k], &(*list)[i + 1], (*n - i - 1) * sizeof(**list));
		for (uint32_t j = 0; j < k; j++)
			(*list)[i + j] = c->boxes[x].kids[j];
		*n = *n - 1 + k;
		/* the promoted children are pruned already; go past them */
		i += k;
	}
}

static const struct thread_msg *first_msg(const struct ctx *c, int64_t x)
{
	while (c->boxes[x].msg < 0 && c->boxes[x].n_kids > 0)
		x = c->boxes[x].kids[0];
	return c->boxes[x].msg >= 0 ? &c->msgs[c->boxes[x].msg] : NULL;
}

static int by_date(const void *pa, const void *pb, void *ctx)
{
	const struct thread_msg *a = first_msg(ctx, *(const int64_t *)pa);
	const struct thread_msg *b = first_msg(ctx, *(const int64_t *)pb);
	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Step 6 (and the dates step 4 needs): siblings by sent date, depth first. */
static void sort_tree(struct ctx *c, int64_t *list, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		sort_tree(c, c->boxes[list[i]].kids, c->boxes[list[i]].n_kids);
	if (n > 1)
		qsort_r(list, n, sizeof(*list), by_date, c);
}

static const char *subject_of(const struct ctx *c, int64_t x, bool *reply_r)
{
	const struct thread_msg *m = first_msg(c, x);
	*reply_r = m != NULL && m->reply;
	return m != NULL ? m->subject : "";
}

/* Step 5: roots with the same base subject gathered. */
static void group(struct ctx *c, int64_t **roots, uint32_t *n)
{
	size_t slots = 64;
	while (slots < 2 * (size_t)*n)
		slots *= 2;
	int64_t *table = xmalloc(slots * sizeof(*table));
	for (size_t i = 0; i < slots; i++)
		table[i] = -1;
#define SLOT(subj) (hash((subj), strlen(subj)) & (slots - 1))
	/* B: one root per subject: a dummy over a message, a non-reply over a reply */
	for (uint32_t i = 0; i < *n; i++) {
		int64_t x = (*roots)[i];
		bool reply, t_reply;
		const char *subj = subject_of(c, x, &reply);
		if (subj[0] == '\0')
			continue;
		size_t s = SLOT(subj);
		while (table[s] >= 0 && strcmp(subject_of(c, table[s], &t_reply), subj) != 0)
			s = (s + 1) & (slots - 1);
		if (table[s] < 0) {
			table[s] = x;
			continue;
		}
		int64_t t = table[s];
		subject_of(c, t, &t_reply);
		bool x_dummy = c->boxes[x].msg < 0, t_dummy = c->boxes[t].msg < 0;
		if ((x_dummy && !t_dummy) || (t_reply && !reply && !t_dummy))
			table[s] = x;
	}
	/* C: merge every other root with that subject into the table's */
	uint32_t out = 0;
	for (uint32_t i = 0; i < *n; i++) {
		int64_t x = (*roots)[i];
		bool reply, t_reply;
		const char *subj = subject_of(c, x, &reply);
		size_t s = SLOT(subj);
		if (subj[0] != '\0')
			while (table[s] >= 0 && strcmp(subject_of(c, table[s], &t_reply), subj) != 0)
				s = (s + 1) & (slots - 1);
		int64_t t = subj[0] != '\0' ? table[s] : -1;
		if (t < 0 || t == x) {
			(*roots)[out++] = x;
			continue;
		}
		subject_of(c, t, &t_reply);
		bool x_dummy = c->boxes[x].msg < 0, t_dummy = c->boxes[t].msg < 0;
		if (x_dummy && t_dummy) {
			for (uint32_t j = 0; j < c->boxes[x].n_kids; j++)
				add_kid(c, t, c->boxes[x].kids[j]);
			c->boxes[x].n_kids = 0;
		} else if (t_dummy || (reply && !t_reply)) {
			add_kid(c, t, x);
		} else {
			/* both messages (or neither a reply): a new dummy over both */
			int64_t d = new_box(c);
			c->boxes[t].parent = c->boxes[x].parent = -1;
			add_kid(c, d, t);
			add_kid(c, d, x);
			table[s] = d;
			/* the dummy takes t's place among the roots */
			for (uint32_t j = 0; j < out; j++)
				if ((*roots)[j] == t)
					(*roots)[j] = d;
			for (uint32_t j = i + 1; j < *n; j++)
				if ((*roots)[j] == t)
					(*roots)[j] = d;
		}
	}
	*n = out;
	free(table);
#undef SLOT
}

static void write_list(const struct ctx *c, const int64_t *list, uint32_t n, struct buf *out);

/* A container's members: "a b c" down a single line of children, then "(x)(y)" for a
   branching point (RFC 5256 §4 thread-members / thread-nested). */
static void write_node(const struct ctx *c, int64_t x, struct buf *out, bool first)
{
	char num[16];
	const struct box *b = &c->boxes[x];
	if (b->msg >= 0) {
		int len = snprintf(num, sizeof(num), "%s%u", first ? "" : " ",
				   c->msgs[b->msg].num);
		buf_append(out, num, (size_t)len);
		if (b->n_kids == 1) {
			write_node(c, b->kids[0], out, false);
		} else if (b->n_kids > 1) {
			buf_append(out, " ", 1);
			write_list(c, b->kids, b->n_kids, out);
		}
		return;
	}
	if (b->n_kids == 1) {
		write_node(c, b->kids[0], out, first);
		return;
	}
	if (!first)
		buf_append(out, " ", 1);
	write_list(c, b->kids, b->n_kids, out);
}

static void write_list(const struct ctx *c, const int64_t *list, uint32_t n, struct buf *out)
{
	for (uint32_t i = 0; i < n; i++) {
		buf_append(out, "(", 1);
		write_node(c, list[i], out, true);
		buf_append(out, ")", 1);
	}
}

void thread_references(const struct thread_msg *msgs, uint32_t n, struct buf *out)
{
	struct ctx c = { .msgs = msgs };
	/* every id a message names, at most: the table stays under half full */
	size_t ids = n;
	for (uint32_t i = 0; i < n; i++)
		for (const char *r = msgs[i].references; *r != '\0'; r++)
			ids += *r == ' ';
	c.slots = 64;
	while (c.slots < 2 * ids + 64)
		c.slots *= 2;
	c.keys = xcalloc(c.slots, sizeof(*c.keys));
	c.key_len = xcalloc(c.slots, sizeof(*c.key_len));
	c.vals = xcalloc(c.slots, sizeof(*c.vals));
	step1(&c, n);
	/* step 2: the root set */
	uint32_t n_roots = 0, cap_roots = c.n + 1;
	int64_t *roots = xmalloc(cap_roots * sizeof(*roots));
	for (uint32_t i = 0; i < c.n; i++)
		if (c.boxes[i].parent < 0)
			roots[n_roots++] = i;
	prune(&c, &roots, &n_roots, &cap_roots, true);       /* step 3 */
	sort_tree(&c, roots, n_roots);                        /* step 4 */
	group(&c, &roots, &n_roots);                          /* step 5 */
	sort_tree(&c, roots, n_roots);                        /* step 6 */
	write_list(&c, roots, n_roots, out);
	for (uint32_t i = 0; i < c.n; i++)
		free(c.boxes[i].kids);
	free(c.boxes);
	free(roots);
	free(c.keys);
	free(c.key_len);
	free(c.vals);
}
