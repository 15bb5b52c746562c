/* Sequence-set parsing into merged ranges, membership by binary search. */
#include "imap/seqset.h"
#include "core/arena.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int parse_number(const char **sp, uint32_t star, uint32_t *v_r)
{
	const char *s = *sp;
	if (*s == '*') {
		*v_r = star;
		*sp = s + 1;
		return 0;
	}
	/* nz-number: no leading zero, at most 4294967295 */
	if (*s < '1' || *s > '9')
		return -1;
	uint64_t v = 0;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > 0xffffffffULL)
			return -1;
		s++;
	}
	*v_r = (uint32_t)v;
	*sp = s;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct seq_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

int seqset_parse(struct arena *a, const char *s, uint32_t star, struct seqset *set_r,
		 const char **error_r)
{
	unsigned cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	struct seq_range *r = arena_alloc(a, cap * sizeof(*r));
	unsigned n = 0;
	const char *p = s;
	for (;;) {
		uint32_t lo, hi;
		if (parse_number(&p, star, &lo) < 0)
			goto bad;
		hi = lo;
		if (*p == ':') {
			p++;
			if (parse_number(&p, star, &hi) < 0)
				goto bad;
		}
		/* RFC 3501 §9: "2:4" and "4:2" are the same set */
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		r[n].lo = lo;
		r[n].hi = hi;
		n++;
		if (*p == '\0')
			break;
		if (*p != ',')
			goto bad;
		p++;
	}
	qsort(r, n, sizeof(*r), cmp_range);
	unsigned out = 0;
	for (unsigned i = 1; i < n; i++) {
		if ((uint64_t)r[i].lo <= (uint64_t)r[out].hi + 1) {
			if (r[i].hi > r[out].hi)
				r[out].hi = r[i].hi;
		} else {
			r[++out] = r[i];
		}
	}
	set_r->r = r;
	set_r->n = out + 1;
	return 1;
bad:
	*error_r = "Invalid sequence set";
	return -1;
}

bool seqset_contains(const struct seqset *set, uint32_t v)
{
	unsigned lo = 0, hi = set->n;
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		if (v < set->r[mid].lo)
			hi = mid;
		else if (v > set->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t seqset_count(const struct seqset *set)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < set->n; i++)
		n += (uint64_t)set->r[i].hi - set->r[i].lo + 1;
	return n;
}

void seqset_writer_add(struct seqset_writer *w, uint32_t v)
{
	if (w->lo != 0 && v != 0 && v == w->hi + 1) {  /* hi + 1 wraps to 0 at 2^32-1 */
		w->hi = v;
		return;
	}
	if (w->lo != 0) {
		char tmp[32];
		const char *sep = w->text.len ? "," : "";
		int n = w->lo == w->hi ? snprintf(tmp, sizeof(tmp), "%s%u", sep, w->lo)
				       : snprintf(tmp, sizeof(tmp), "%s%u:%u", sep, w->lo, w->hi);
		buf_append(&w->text, tmp, (size_t)n);
	}
	w->lo = w->hi = v;
}

void seqset_writer_add_range(struct seqset_writer *w, uint32_t lo, uint32_t hi)
{
	seqset_writer_add(w, lo);
	if (hi > w->hi)
		w->hi = hi;   /* the run now ends at hi (lo started or extended it) */
}

static int partial_number(const char **sp, bool minus, uint32_t *v_r)
{
	const char *s = *sp;
	uint64_t v = 0;
	if (minus && *s++ != '-')
		return -1;
	if (*s < '1' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s++ - '0');
		if (v > 0xffffffffULL)
			return -1;
	}
	*v_r = (uint32_t)v;
	*sp = s;
	return 0;
}

int partial_range_parse(const char *s, struct partial_range *r)
{
	uint32_t a, b;
	bool minus = *s == '-';
	if (partial_number(&s, minus, &a) < 0 || *s++ != ':' ||
	    partial_number(&s, minus, &b) < 0 || *s != '\0')
		return -1;
	r->from_end = minus;
	r->lo = a < b ? a : b;
	r->hi = a < b ? b : a;
	return 0;
}

bool partial_range_positions(const struct partial_range *r, uint64_t n, uint64_t *first_r,
			     uint64_t *last_r)
{
	if (n == 0 || r->lo > n)
		return false;
	uint64_t hi = r->hi < n ? r->hi : n;
	if (!r->from_end) {
		*first_r = r->lo;
		*last_r = hi;
	} else {
		/* -1 is position n, -k position n - k + 1 */
		*first_r = n - hi + 1;
		*last_r = n - r->lo + 1;
	}
	return true;
}
