/* Sequence sets (RFC 3501 §9 sequence-set): parsed into sorted, merged ranges. */
#ifndef IMAP_SEQSET_H
#define IMAP_SEQSET_H

#include "core/buf.h"

#include <stdbool.h>
#include <stdint.h>

struct arena;

struct seq_range {
	uint32_t lo, hi;   /* inclusive, lo <= hi */
};

struct seqset {
	struct seq_range *r;
	unsigned n;
};

/* Parse s ("1,3:5,7:*") into ranges sorted by lo and merged (overlapping or
   adjacent ranges joined); "*" stands for star (the largest number in use).
   Ranges are never enumerated, so "1:4294967295" costs one entry.
   Returns 1, or -1 with *error_r for a syntax error, a 0, or a number above
   4294967295. Storage is taken from a. */
int seqset_parse(struct arena *a, const char *s, uint32_t star, struct seqset *set_r,
		 const char **error_r);

/* Whether v is in the set (binary search). */
bool seqset_contains(const struct seqset *set, uint32_t v);

/* How many numbers the set holds. */
uint64_t seqset_count(const struct seqset *set);

/* Writes a set of ascending numbers as text ("1:3,7"), joining runs into ranges:
   for COPYUID and MODIFIED. Zero-initialise; free text with buf_free(). */
struct seqset_writer {
	struct buf text;
	uint32_t lo, hi;   /* the run not yet written (lo 0: none) */
};

/* Add v (above every number added before), or 0 to write out the last run (call it
   once before reading text). */
void seqset_writer_add(struct seqset_writer *w, uint32_t v);

/* RFC 9394 partial-range: "a:b" (positions a..b of a result, from 1, either order) or
   "-a:-b" (counted from the last, -1 being the last). */
struct partial_range {
	bool from_end;
	uint32_t lo, hi;   /* lo <= hi, both >= 1 */
};

/* Parse s into *r. Returns 0, or -1 when it is not a partial-range. */
int partial_range_parse(const char *s, struct partial_range *r);

/* The 1-based positions [*first_r, *last_r] r selects in a result of n items.
   Returns false when it selects none. */
bool partial_range_positions(const struct partial_range *r, uint64_t n, uint64_t *first_r,
			     uint64_t *last_r);

/* Add lo..hi (lo <= hi, lo above every number added before). */
void seqset_writer_add_range(struct seqset_writer *w, uint32_t lo, uint32_t hi);

#endif
