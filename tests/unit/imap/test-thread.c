/* Unit tests for THREAD=REFERENCES (src/imap/thread.c): loops in References, a message
   naming itself, long chains, subject grouping, dummies. */
#include <criterion/criterion.h>
#include <string.h>

#include "imap/thread.h"

static char out[4096];

static const char *thread(const struct thread_msg *m, uint32_t n)
{
	struct buf b = { 0 };
	thread_references(m, n, &b);
	cr_assert_lt(b.len, sizeof(out));
	memcpy(out, b.data ? b.data : "", b.len);
	out[b.len] = '\0';
	buf_free(&b);
	return out;
}

#define MSG(n, d, id, refs, subj, rep) \
	{ .num = (n), .seq = (n), .date = (d), .message_id = (id), .references = (refs), \
	  .subject = (subj), .reply = (rep) }

Test(thread, loops_are_not_followed)
{
	/* A says its parent is B, B says A: one link is refused, no loop */
	const struct thread_msg m[] = {
		MSG(1, 1, "<a> ", "<b> ", "X", false),
		MSG(2, 2, "<b> ", "<a> ", "Y", false),
	};
	cr_assert_str_eq(thread(m, 2), "(2 1)");
}

Test(thread, self_reference_and_missing_ids)
{
	const struct thread_msg m[] = {
		MSG(1, 1, "<a> ", "<a> ", "S", false),   /* names itself */
		MSG(2, 2, "", "<a> ", "T", false),       /* no Message-ID */
		MSG(3, 3, "", "", "U", false),
	};
	cr_assert_str_eq(thread(m, 3), "(1 2)(3)");
}

Test(thread, long_references_and_dummies)
{
	/* a chain through ids nobody has: the dummies go, the message hangs under the
	   last one that exists */
	const struct thread_msg m[] = {
		MSG(1, 1, "<r> ", "", "Root", false),
		MSG(2, 2, "<z> ", "<r> <x1> <x2> <x3> <x4> <x5> <x6> <x7> <x8> ", "Re: Root", true),
	};
	cr_assert_str_eq(thread(m, 2), "(1 2)");
}

Test(thread, subjects_group_roots)
{
	/* two unrelated messages with one base subject, neither a reply: a new dummy over
	   both; a later reply-subject root joins under it */
	const struct thread_msg m[] = {
		MSG(1, 1, "<a> ", "", "Same", false),
		MSG(2, 2, "<b> ", "", "Same", false),
		MSG(3, 3, "<c> ", "", "Same", true),
		MSG(4, 4, "<d> ", "", "", false),        /* empty subjects never group */
		MSG(5, 5, "<e> ", "", "", false),
	};
	cr_assert_str_eq(thread(m, 5), "((1)(2)(3))(4)(5)");
}

Test(thread, siblings_by_date_then_sequence)
{
	const struct thread_msg m[] = {
		MSG(1, 10, "<p> ", "", "P", false),
		MSG(2, 30, "<q> ", "<p> ", "Re: P", true),
		MSG(3, 20, "<r> ", "<p> ", "Re: P", true),
		MSG(4, 20, "<s> ", "<p> ", "Re: P", true),
	};
	cr_assert_str_eq(thread(m, 4), "(1 (3)(4)(2))");
	cr_assert_str_eq(thread(m, 0), "");
}
