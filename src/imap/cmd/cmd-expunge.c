/* EXPUNGE, UID EXPUNGE (RFC 4315 §2.1) and CHECK (RFC 3501 §6.4.1, §6.4.3). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "imap/seqset.h"

#include <inttypes.h>

/* Messages per store call, as COPY's chunks. */
#define EXPUNGE_CHUNK 1024

struct expunge_state {
	const struct uimap_range *set; /* UID EXPUNGE's set (NULL: every \Deleted) */
	unsigned n_set;
	struct uimap_range *part;      /* the set cut to this chunk */
	uint32_t seq, count;           /* next chunk's first message, the view's size */
};

/* The UIDs of the chunk starting at message seq, tiling the UID space: from the
   first message's UID (1 for the first chunk) to just below the next chunk's
   (UINT32_MAX for the last, which also covers messages the view has not seen). */
static struct uimap_range chunk_uids(struct uimap_store_view *v, uint32_t seq, uint32_t count,
				     uint32_t *next_r)
{
	struct uimap_range r = { 1, UINT32_MAX };
	struct uimap_msg_info info;
	uint32_t next = count >= seq && count - seq >= EXPUNGE_CHUNK ? seq + EXPUNGE_CHUNK : count + 1;
	if (seq > 1 && v->vt->view_msg(v, seq, &info) == 0)
		r.lo = info.uid;
	if (next <= count && v->vt->view_msg(v, next, &info) == 0)
		r.hi = info.uid - 1;
	*next_r = next;
	return r;
}

/* One chunk per loop turn; the view's numbers stay put until the tagged reply's
   sync, which reports the EXPUNGE responses. */
static int expunge_continue(struct uimap_cmd *cmd)
{
	struct uimap_store_view *v = cmd->s->view;
	struct expunge_state *st = cmd->ctx;
	uint32_t next;
	struct uimap_range c = chunk_uids(v, st->seq, st->count, &next);
	const struct uimap_range *uids = &c;
	size_t n = 1;
	if (st->set != NULL) {
		n = 0;
		for (unsigned i = 0; i < st->n_set; i++) {
			uint32_t lo = st->set[i].lo > c.lo ? st->set[i].lo : c.lo;
			uint32_t hi = st->set[i].hi < c.hi ? st->set[i].hi : c.hi;
			if (lo <= hi)
				st->part[n++] = (struct uimap_range){ lo, hi };
		}
		uids = st->part;
	}
	int r = n > 0 ? v->vt->view_expunge(v, uids, n) : 0;
	if (r < 0) {
		reply_store_error(cmd, r, "EXPUNGE");
		return CMD_DONE;
	}
	st->seq = next;
	if (st->seq <= st->count)
		return cmd_block(cmd, CMD_WAIT_TURN, expunge_continue);
	/* the EXPUNGE responses come from the sync before the tagged reply */
	/* RFC 7162 §3.1.10 (§3.2.10 example): with CONDSTORE the client learns the new
	   HIGHESTMODSEQ along */
	if (cmd->s->condstore)
		cmd_reply(cmd, "OK", "[HIGHESTMODSEQ %" PRIu64 "] %sEXPUNGE completed.",
			  session_highest_modseq(cmd->s), cmd->uid ? "UID " : "");
	else
		cmd_reply(cmd, "OK", "%sEXPUNGE completed.", cmd->uid ? "UID " : "");
	return CMD_DONE;
}

int cmd_expunge(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct uimap_store_view *v = s->view;
	struct expunge_state *st = arena_zalloc(&s->arena, sizeof(*st));
	if (cmd->c.n_args != (cmd->uid ? 1u : 0u)) {
		cmd_reply(cmd, "BAD", cmd->uid ? "UID EXPUNGE takes a UID set." :
				      "EXPUNGE takes no arguments.");
		return CMD_DONE;
	}
	st->count = v->vt->view_count(v);
	st->seq = 1;
	if (cmd->uid) {
		const char *error;
		struct seqset set;
		uint32_t star = 0;
		struct uimap_msg_info last;
		if (st->count > 0 && v->vt->view_msg(v, st->count, &last) == 0)
			star = last.uid;
		if (cmd->c.args[0].type != IMAP_ARG_ATOM ||
		    seqset_parse(&s->arena, cmd->c.args[0].u.str, star, &set, &error) < 0) {
			cmd_reply(cmd, "BAD", "Invalid UID set.");
			return CMD_DONE;
		}
		struct uimap_range *r = arena_alloc(&s->arena, set.n * sizeof(*r));
		for (unsigned i = 0; i < set.n; i++) {
			r[i].lo = set.r[i].lo;
			r[i].hi = set.r[i].hi;
		}
		st->set = r;
		st->n_set = set.n;
		st->part = arena_alloc(&s->arena, set.n * sizeof(*st->part));
	}
	cmd->ctx = st;
	return expunge_continue(cmd);
}

int cmd_check(struct uimap_cmd *cmd)
{
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "CHECK takes no arguments.");
		return CMD_DONE;
	}
	cmd_reply(cmd, "OK", "CHECK completed.");
	return CMD_DONE;
}
