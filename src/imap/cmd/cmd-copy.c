/* COPY, MOVE and their UID forms (RFC 3501 §6.4.7, RFC 6851, COPYUID of RFC 4315). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "imap/cursor.h"
#include "imap/seqset.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/log.h"
#include "net/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages per store call: about one slice's worth of loop time. */
#define COPY_CHUNK 1024

struct copy_state {
	bool move;
	const char *dest;
	const struct uimap_range *ranges; /* the source sequence numbers */
	unsigned n_ranges;
	struct range_cursor cursor;      /* over them: first to scan, then to copy */
	uint64_t msgs, bytes;            /* what the scan found */
	struct uimap_range *chunk;       /* this call's ranges */
	struct seqset_writer src, dst;   /* COPYUID's UID sets */
	uint32_t uidvalidity, copied;
	struct uimap_range *made;        /* the copies' UIDs, for an undo */
	unsigned n_made, cap_made;
	bool over;                       /* replied: nothing left to undo */
};

static void made_add(struct copy_state *st, uint32_t first, uint32_t count)
{
	if (st->n_made > 0 && st->made[st->n_made - 1].hi + 1 == first) {
		st->made[st->n_made - 1].hi = first + count - 1;
		return;
	}
	if (st->n_made == st->cap_made) {
		st->cap_made = st->cap_made ? 2 * st->cap_made : 8;
		st->made = xrealloc(st->made, st->cap_made * sizeof(*st->made));
	}
	st->made[st->n_made++] = (struct uimap_range){ first, first + count - 1 };
}

/* RFC 3501 §6.4.7: a COPY that fails (or is cut short by a disconnect) after some
   chunks went in leaves the destination as it was: the copies are expunged again.
   A MOVE is left as far as it got: every message is in exactly one of the two
   mailboxes, which RFC 6851 §3.3 allows. */
static void copy_undo(struct session *s, struct copy_state *st)
{
	struct uimap_store_view *dv;
	struct uimap_select_info info;
	if (st->move || st->n_made == 0)
		return;
	if (s->mail->vt->view_open(s->mail, st->dest, false, &dv, &info) < 0)
		return; /* the destination is gone, and the copies with it */
	const struct uimap_flags del = { .system = UIMAP_FLAG_DELETED };
	for (unsigned i = 0; i < st->n_made; i++) {
		struct uimap_range seqs;
		if (dv->vt->view_uid_range(dv, st->made[i], &seqs) <= 0)
			continue;
		for (uint32_t seq = seqs.lo; seq <= seqs.hi; seq++)
			dv->vt->view_store_flags(dv, seq, UIMAP_FLAGS_ADD, &del, 0, NULL);
	}
	int r = dv->vt->view_expunge(dv, st->made, st->n_made);
	if (r < 0)
		log_write(UIMAP_LOG_WARN, s->conn->id, s->conn->addr,
			  "COPY to %s cut short: its copies could not be removed (%s)", st->dest,
			  strerror(-r));
	dv->vt->view_close(dv);
	st->n_made = 0;
}

static void copy_cleanup(struct uimap_cmd *cmd)
{
	struct copy_state *st = cmd->ctx;
	if (!st->over)
		copy_undo(cmd->s, st);
	buf_free(&st->src.text);
	buf_free(&st->dst.text);
	free(st->made);
}

static int copy_finish(struct uimap_cmd *cmd)
{
	struct copy_state *st = cmd->ctx;
	st->over = true;
	seqset_writer_add(&st->dst, 0);
	buf_append(&st->dst.text, "", 1);
	if (st->copied == 0) {
		cmd_reply(cmd, "OK", "%s completed.", st->move ? "MOVE" : "COPY");
	} else if (st->move) {
		/* RFC 6851 §4.3: COPYUID comes untagged, before the EXPUNGEs */
		outq_printf(cmd->s->out, "* OK [COPYUID %u %s %s] Moved UIDs.\r\n",
			    st->uidvalidity, st->src.text.data, st->dst.text.data);
		cmd_reply(cmd, "OK", "MOVE completed.");
	} else {
		cmd_reply(cmd, "OK", "[COPYUID %u %s %s] COPY completed.", st->uidvalidity,
			  st->src.text.data, st->dst.text.data);
	}
	return CMD_DONE;
}

/* The command ends on error r: TRYCREATE when the destination is gone (RFC 3501
   §6.4.7, also when it went away meanwhile), else the store's error. */
static int copy_fail(struct uimap_cmd *cmd, struct copy_state *st, int r)
{
	st->over = true;
	if (r == -ENOENT)
		cmd_reply(cmd, "NO", "[TRYCREATE] Mailbox does not exist.");
	else
		reply_store_error(cmd, r, st->move ? "MOVE" : "COPY");
	return CMD_DONE;
}

/* One chunk per loop turn: the source numbers stay put between chunks (MOVE's
   expunges are reported at the tagged reply), and everything was checked and the
   journal space reserved before the first. */
static int copy_continue(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct uimap_store_view *v = s->view;
	struct copy_state *st = cmd->ctx;
	unsigned k = 0, taken = 0;
	uint32_t seq;

	while (taken < COPY_CHUNK && cursor_next(&st->cursor, &seq)) {
		if (k > 0 && st->chunk[k - 1].hi + 1 == seq)
			st->chunk[k - 1].hi = seq;
		else
			st->chunk[k++] = (struct uimap_range){ seq, seq };
		taken++;
	}
	if (k > 0) {
		struct uimap_copy_result res;
		int r = v->vt->view_copy(v, st->chunk, k, st->dest, st->move, &res);
		if (r < 0) {
			copy_undo(s, st);
			return copy_fail(cmd, st, r);
		}
		st->uidvalidity = res.uidvalidity;
		for (uint32_t i = 0; i < res.count; i++)
			seqset_writer_add(&st->dst, res.first_uid + i);
		st->copied += res.count;
		if (res.count > 0)
			made_add(st, res.first_uid, res.count);
	}
	if (cursor_left(&st->cursor) > 0)
		return cmd_block(cmd, CMD_WAIT_TURN, copy_continue);
	return copy_finish(cmd);
}

/* First, in slices: the source UIDs in sequence order (before MOVE expunges them)
   and the sizes; then, all or nothing, the limits and the journal space for the
   whole set (a MOVE adds nothing to the user: only its records are counted). */
static int copy_scan(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct uimap_store_view *v = s->view;
	struct copy_state *st = cmd->ctx;
	struct slice sl;
	uint32_t seq;
	slice_begin(&sl);
	while (cursor_next(&st->cursor, &seq)) {
		struct uimap_msg_info info;
		if (v->vt->view_msg(v, seq, &info) == 0) {
			seqset_writer_add(&st->src, info.uid);
			st->msgs++;
			st->bytes += info.size;
		}
		if (slice_check(&sl, s) == CMD_WAIT_TURN && cursor_left(&st->cursor) > 0)
			return cmd_block(cmd, CMD_WAIT_TURN, copy_scan);
	}
	seqset_writer_add(&st->src, 0);
	buf_append(&st->src.text, "", 1);
	if (s->mail->vt->reserve != NULL) {
		int r = s->mail->vt->reserve(s->mail, st->dest, st->move ? 2 * st->msgs : st->msgs,
					     st->move ? 0 : st->msgs, st->move ? 0 : st->bytes);
		if (r < 0)
			return copy_fail(cmd, st, r);
	}
	cursor_init(&st->cursor, st->ranges, st->n_ranges);
	return copy_continue(cmd);
}

static int copy_common(struct uimap_cmd *cmd, bool move)
{
	struct session *s = cmd->s;
	const char *dest, *error;
	if (cmd->c.n_args != 2 || !cmd_mailbox(cmd, &cmd->c.args[1], &dest)) {
		cmd_reply(cmd, "BAD", "%s takes a sequence set and a mailbox.", move ? "MOVE" : "COPY");
		return CMD_DONE;
	}
	struct uimap_range *ranges;
	unsigned n;
	if (arg_seq_ranges(cmd, &cmd->c.args[0], cmd->uid, &ranges, &n, &error) < 0) {
		cmd_reply(cmd, "BAD", "%s.", error);
		return CMD_DONE;
	}
	if (n == 0) {
		/* UID set matched nothing: nothing to do (RFC 4315 §3) */
		cmd_reply(cmd, "OK", "No messages.");
		return CMD_DONE;
	}
	if (!command_size_ok(cmd, ranges, n))
		return CMD_DONE;
	if (move && s->readonly) {
		cmd_reply(cmd, "NO", "[READ-ONLY] Mailbox is read-only.");
		return CMD_DONE;
	}
	struct copy_state *st = arena_zalloc(&s->arena, sizeof(*st));
	st->move = move;
	st->dest = dest;
	st->ranges = ranges;
	st->n_ranges = n;
	st->chunk = arena_alloc(&s->arena, COPY_CHUNK * sizeof(*st->chunk));
	cmd->ctx = st;
	cmd->cleanup = copy_cleanup;
	/* RFC 3501 §6.4.7: a missing destination is told at once, before the scan */
	struct uimap_status status;
	if (s->mail->vt->mailbox_status(s->mail, dest, &status) == -ENOENT) {
		cmd_reply(cmd, "NO", "[TRYCREATE] Mailbox does not exist.");
		return CMD_DONE;
	}
	cursor_init(&st->cursor, ranges, n);
	return copy_scan(cmd);
}

int cmd_copy(struct uimap_cmd *cmd)
{
	return copy_common(cmd, false);
}

int cmd_move(struct uimap_cmd *cmd)
{
	return copy_common(cmd, true);
}
