/* libFuzzer harness for the IMAP command parser and sequence sets: the input is fed
   in chunks derived from its first bytes, every result kind is handled as the session
   does, and the transcript must not depend on the chunking. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "imap/seqset.h"

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz-parser: invariant violated: %s\n", what);
	abort();
}

#define TR_CHECK(cond, msg) do { if (!(cond)) fuzz_fail(msg); } while (0)
#include "../unit/imap/parser-transcript.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check a parsed set against the text it came from. */
static void check_seqset(struct arena *a, const char *s, uint32_t star)
{
	struct seqset set;
	const char *err = NULL;
	if (seqset_parse(a, s, star, &set, &err) < 0) {
		TR_CHECK(err != NULL, "seqset error without text");
		return;
	}
	TR_CHECK(set.n > 0, "empty set");
	uint64_t count = 0;
	for (unsigned i = 0; i < set.n; i++) {
		TR_CHECK(set.r[i].lo <= set.r[i].hi, "range lo > hi");
		if (i > 0)
			TR_CHECK((uint64_t)set.r[i].lo > (uint64_t)set.r[i - 1].hi + 1,
				 "ranges not sorted and merged");
		TR_CHECK(seqset_contains(&set, set.r[i].lo), "lo not contained");
		TR_CHECK(seqset_contains(&set, set.r[i].hi), "hi not contained");
		if (set.r[i].hi < UINT32_MAX && (i + 1 == set.n || set.r[i + 1].lo > set.r[i].hi + 1))
			TR_CHECK(!seqset_contains(&set, set.r[i].hi + 1), "hi + 1 contained");
		if (set.r[i].lo > 0 && (i == 0 || set.r[i - 1].hi < set.r[i].lo - 1))
			TR_CHECK(!seqset_contains(&set, set.r[i].lo - 1), "lo - 1 contained");
		count += (uint64_t)set.r[i].hi - set.r[i].lo + 1;
	}
	TR_CHECK(seqset_count(&set) == count, "count mismatch");
	/* every number written in the text is in the set */
	for (const char *p = s; *p != '\0';) {
		if (*p >= '1' && *p <= '9') {
			uint64_t v = 0;
			while (*p >= '0' && *p <= '9')
				v = v * 10 + (uint64_t)(*p++ - '0');
			TR_CHECK(v <= UINT32_MAX && seqset_contains(&set, (uint32_t)v),
				 "number from the text missing");
		} else {
			if (*p == '*')
				TR_CHECK(seqset_contains(&set, star), "star missing");
			p++;
		}
	}
}

static void on_atom(struct arena *a, const char *s, size_t len, void *ctx)
{
	(void)len;
	uint32_t star = *(const uint32_t *)ctx;
	check_seqset(a, s, star);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	/* byte 0: limits and mode; bytes 1-2: chunking seed */
	uint8_t cfg = data[0];
	uint32_t star = (uint32_t)data[1] * 7u + (cfg & 1u ? 0xfffff000u : 1u);
	struct tr_opts o = {
		.max_line = (size_t)16 << (cfg & 7),           /* 16 .. 2048 */
		.max_literal = (size_t)1 << ((cfg >> 3) & 15), /* 1 .. 32768 */
		.line_mode = (cfg & 0x80) != 0 && (data[2] & 1) != 0,
		.hide_toolong_tag = true,
		.on_atom = on_atom,
		.atom_ctx = &star,
	};
	uint64_t seed = ((uint64_t)data[1] << 8 | data[2]) * 0x9e3779b97f4a7c15ULL + 1;
	const uint8_t *in = data + 3;
	size_t len = size - 3;

	char *all = tr_run(&o, in, len, tr_chunk_all, NULL);
	TR_CHECK(o.max_text_cap <= 2 * o.max_line + 1024, "text buffer beyond max_line");
	char *rnd = tr_run(&o, in, len, tr_chunk_random, &seed);
	if (strcmp(all, rnd) != 0) {
		fprintf(stderr, "all at once:\n%s\nrandom chunks:\n%s\n", all, rnd);
		fuzz_fail("transcript depends on chunking");
	}
	free(rnd);
	if (len <= 512) {
		char *one = tr_run(&o, in, len, tr_chunk_one, NULL);
		if (strcmp(all, one) != 0) {
			fprintf(stderr, "all at once:\n%s\nbyte by byte:\n%s\n", all, one);
			fuzz_fail("transcript depends on chunking (bytes)");
		}
		free(one);
	}
	free(all);

	/* the whole input as a sequence set */
	struct arena a;
	arena_init(&a, 1024);
	char *s = malloc(len + 1);
	memcpy(s, in, len);
	s[len] = '\0';
	check_seqset(&a, s, star);
	free(s);
	arena_free(&a);
	return 0;
}
