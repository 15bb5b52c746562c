/* COPY, MOVE and their UID forms (RFC 3501 §6.4.7, RFC 6851, COPYUID of RFC 4315). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "core/buf.h"

#include <errno.h>
#include <stdio.h>

/* Append "a:b" or "a" to the UID set text, joining consecutive UIDs into ranges. */
static void uidset_add(struct buf *b, uint32_t *run_lo, uint32_t *run_hi, uint32_t uid)
{
	if (*run_lo != 0 && uid == *run_hi + 1) {
		*run_hi = uid;
		return;
	}
	if (*run_lo != 0) {
		char tmp[32];
		int n = *run_lo == *run_hi ? snprintf(tmp, sizeof(tmp), "%s%u", b->len ? "," : "", *run_lo)
					   : snprintf(tmp, sizeof(tmp), "%s%u:%u", b->len ? "," : "",
						      *run_lo, *run_hi);
		buf_append(b, tmp, (size_t)n);
	}
	*run_lo = *run_hi = uid;
}

static int copy_common(struct uimap_cmd *cmd, bool move)
{
	struct session *s = cmd->s;
	struct uimap_store_view *v = s->view;
	const char *dest, *error;
	if (cmd->c.n_args != 2 || !arg_mailbox(&cmd->c.args[1], &dest)) {
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
	/* source UIDs in sequence order, before MOVE expunges them */
	struct buf src = { 0 };
	uint32_t lo = 0, hi = 0;
	for (unsigned i = 0; i < n; i++) {
		for (uint32_t seq = ranges[i].lo; seq <= ranges[i].hi; seq++) {
			struct uimap_msg_info info;
			if (v->vt->view_msg(v, seq, &info) == 0)
				uidset_add(&src, &lo, &hi, info.uid);
			if (seq == 0xffffffffu)
				break;
		}
	}
	uidset_add(&src, &lo, &hi, 0);
	buf_append(&src, "", 1);
	struct uimap_copy_result res;
	int r = v->vt->view_copy(v, ranges, n, dest, move, &res);
	if (r < 0) {
		buf_free(&src);
		if (r == -ENOENT)
			/* RFC 3501 §6.4.7 */
			cmd_reply(cmd, "NO", "[TRYCREATE] Mailbox does not exist.");
		else
			reply_store_error(cmd, r, move ? "MOVE" : "COPY");
		return CMD_DONE;
	}
	char dst[32];
	if (res.count <= 1)
		snprintf(dst, sizeof(dst), "%u", res.first_uid);
	else
		snprintf(dst, sizeof(dst), "%u:%u", res.first_uid, res.first_uid + res.count - 1);
	if (res.count == 0) {
		cmd_reply(cmd, "OK", "%s completed.", move ? "MOVE" : "COPY");
	} else if (move) {
		/* RFC 6851 §4.3: COPYUID comes untagged, before the EXPUNGEs */
		outq_printf(s->out, "* OK [COPYUID %u %s %s] Moved UIDs.\r\n", res.uidvalidity,
			    src.data, dst);
		cmd_reply(cmd, "OK", "MOVE completed.");
	} else {
		cmd_reply(cmd, "OK", "[COPYUID %u %s %s] COPY completed.", res.uidvalidity, src.data,
			  dst);
	}
	buf_free(&src);
	return CMD_DONE;
}

int cmd_copy(struct uimap_cmd *cmd)
{
	return copy_common(cmd, false);
}

int cmd_move(struct uimap_cmd *cmd)
{
	return copy_common(cmd, true);
}
