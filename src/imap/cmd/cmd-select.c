/* SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3501 §6.3.1, §6.3.2, §6.4.2; RFC 3691), with
   CONDSTORE and QRESYNC (RFC 7162). */
#include "imap/cmd.h"
#include "core/alloc.h"
#include "imap/cursor.h"
#include "imap/seqset.h"
#include "imap/session.h"
#include "net/conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* SELECT (QRESYNC (uidvalidity modseq [known-uids [seq-match]])), RFC 7162 §3.2.5 */
struct qresync_param {
	bool given;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct uimap_range *known;   /* known-uids as sorted ranges (NULL: all) */
	unsigned n_known;
};

struct select_state {
	struct qresync_param qr;
	bool readonly;
	struct uimap_range all;      /* 1:exists, for the changed-flags scan */
	struct range_cursor cursor;
};

static bool parse_qresync(struct uimap_cmd *cmd, const struct imap_arg *list,
			  struct qresync_param *qr)
{
	struct session *s = cmd->s;
	const struct imap_arg *a = list->u.list;
	struct seqset set;
	const char *error;
	uint64_t uv;
	if (list->type != IMAP_ARG_LIST || list->len < 2 || list->len > 4 ||
	    !arg_modseq(&a[0], false, &uv) || uv > UINT32_MAX || !arg_modseq(&a[1], false, &qr->modseq))
		return false;
	qr->uidvalidity = (uint32_t)uv;
	qr->given = true;
	if (list->len >= 3) {
		if (a[2].type != IMAP_ARG_ATOM ||
		    seqset_parse(&s->arena, a[2].u.str, UINT32_MAX, &set, &error) < 0)
			return false;
		qr->known = arena_alloc(&s->arena, (set.n + 1) * sizeof(*qr->known));
		for (unsigned i = 0; i < set.n; i++)
			qr->known[i] = (struct uimap_range){ set.r[i].lo, set.r[i].hi };
		qr->n_known = set.n;
	}
	if (list->len == 4) {
		/* seq-match-data: checked for form; the expunge history here is complete
		   enough that the server does not need it (RFC 7162 §3.2.5.2 allows that) */
		const struct imap_arg *m = &a[3];
		struct seqset set2;
		if (m->type != IMAP_ARG_LIST || m->len != 2 || m->u.list[0].type != IMAP_ARG_ATOM ||
		    m->u.list[1].type != IMAP_ARG_ATOM ||
		    seqset_parse(&s->arena, m->u.list[0].u.str, UINT32_MAX, &set, &error) < 0 ||
		    seqset_parse(&s->arena, m->u.list[1].u.str, UINT32_MAX, &set2, &error) < 0 ||
		    seqset_count(&set) != seqset_count(&set2))
			return false;
	}
	return true;
}

/* The rest of a QRESYNC SELECT: the flags of every message changed since the client's
   modseq, in slices (a mailbox of a million messages does not stall the loop). */
static int select_resync(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct select_state *st = cmd->ctx;
	struct uimap_store_view *v = s->view;
	struct slice sl;
	uint32_t seq;
	slice_begin(&sl);
	while (cursor_next(&st->cursor, &seq)) {
		struct uimap_msg_info info;
		if (v->vt->view_msg(v, seq, &info) == 0 && info.modseq > st->qr.modseq) {
			session_announce_keywords(s, info.flags.keywords);
			outq_printf(s->out, "* %u FETCH (UID %u FLAGS ", seq, info.uid);
			write_flags(s->out, v, &info.flags, !s->rev2);
			outq_append(s->out, " ", 1);
			write_modseq(s->out, info.modseq);
			outq_puts(s->out, ")\r\n");
		}
		enum cmd_wait wait = slice_check(&sl, s);
		if (wait != CMD_WAIT_NONE && cursor_left(&st->cursor) > 0)
			return cmd_block(cmd, wait, select_resync);
	}
	cmd_reply(cmd, "OK", "[%s] %s completed.", st->readonly ? "READ-ONLY" : "READ-WRITE",
		  cmd->def->name);
	return CMD_DONE;
}

static int select_common(struct uimap_cmd *cmd, bool readonly)
{
	struct session *s = cmd->s;
	const char *name;
	bool condstore = false;
	struct select_state *st = arena_zalloc(&s->arena, sizeof(*st));
	if (cmd->c.n_args < 1 || cmd->c.n_args > 2 || !cmd_mailbox(cmd, &cmd->c.args[0], &name) ||
	    (cmd->c.n_args == 2 && cmd->c.args[1].type != IMAP_ARG_LIST)) {
		cmd_reply(cmd, "BAD", "%s takes a mailbox name and optional parameters.",
			  cmd->def->name);
		return CMD_DONE;
	}
	/* RFC 4466 §2.1 select parameters: CONDSTORE (RFC 7162 §3.1.8) and QRESYNC
	   (§3.2.5) */
	for (unsigned i = 0; cmd->c.n_args == 2 && i < cmd->c.args[1].len; i++) {
		const struct imap_arg *p = &cmd->c.args[1].u.list[i];
		if (p->type == IMAP_ARG_ATOM && strcasecmp(p->u.str, "CONDSTORE") == 0) {
			condstore = true;
		} else if (p->type == IMAP_ARG_ATOM && strcasecmp(p->u.str, "QRESYNC") == 0 &&
			   !st->qr.given && i + 1 < cmd->c.args[1].len) {
			if (!s->qresync) {
				/* RFC 7162 §3.2.5: only after ENABLE QRESYNC */
				cmd_reply(cmd, "BAD", "QRESYNC is not enabled.");
				return CMD_DONE;
			}
			if (!parse_qresync(cmd, &cmd->c.args[1].u.list[++i], &st->qr)) {
				cmd_reply(cmd, "BAD", "Invalid QRESYNC parameter.");
				return CMD_DONE;
			}
		} else {
			cmd_reply(cmd, "BAD", "Unknown %s parameter.", cmd->def->name);
			return CMD_DONE;
		}
	}
	/* RFC 7162 §3.2.11: with QRESYNC the client is told the old mailbox is closed */
	if ((s->qresync || s->rev2) && s->view != NULL)
		session_untagged(s, "OK [CLOSED] Previous mailbox closed.");
	/* RFC 3501 §6.3.1: the previous mailbox is deselected (without expunging),
	   and stays deselected if this SELECT fails */
	session_unselect(s);
	if (condstore)
		session_enable_condstore(s);  /* nothing selected now: SELECT tells it */
	struct uimap_store_view *view;
	struct uimap_select_info info;
	int r = s->mail->vt->view_open(s->mail, name, readonly, &view, &info);
	if (r < 0) {
		reply_store_error(cmd, r, cmd->def->name);
		return CMD_DONE;
	}
	s->view = view;
	s->selected = xstrdup(name);
	s->readonly = info.readonly;
	s->state = SESSION_SELECTED;
	session_watch_view(s);
	write_mailbox_flags(s);
	outq_printf(s->out, "* %u EXISTS\r\n", info.exists);
	if (s->rev2) {
		/* RFC 9051 §6.3.2: a LIST response names the mailbox; no RECENT, no UNSEEN */
		outq_puts(s->out, "* LIST () \"/\" ");
		session_write_mailbox(s, s->out, name);
		outq_puts(s->out, "\r\n");
	} else {
		outq_printf(s->out, "* %u RECENT\r\n", info.recent);
		if (info.first_unseen != 0)
			outq_printf(s->out, "* OK [UNSEEN %u] First unseen.\r\n",
				    info.first_unseen);
	}
	outq_printf(s->out, "* OK [UIDVALIDITY %u] UIDs valid.\r\n", info.uidvalidity);
	outq_printf(s->out, "* OK [UIDNEXT %u] Predicted next UID.\r\n", info.uidnext);
	/* RFC 4467 §6.1 (URLMECH): the URLAUTH mechanisms of the mailbox, as Dovecot */
	if (session_urlauth_offered(s))
		outq_puts(s->out, "* OK [URLMECH INTERNAL] URLAUTH mechanisms.\r\n");
	if (s->condstore)
		outq_printf(s->out, "* OK [HIGHESTMODSEQ %" PRIu64 "] Highest\r\n",
			    info.highest_modseq);
	s->hms_told = info.highest_modseq;
	st->readonly = info.readonly;
	if (st->qr.given && st->qr.uidvalidity == info.uidvalidity) {
		/* RFC 7162 §3.2.5.1: what went since the client's modseq, then what changed */
		write_vanished_earlier(s, st->qr.modseq, st->qr.known, st->qr.n_known);
		st->all = (struct uimap_range){ 1, info.exists };
		cursor_init(&st->cursor, &st->all, info.exists > 0 ? 1 : 0);
		cmd->ctx = st;
		return select_resync(cmd);
	}
	cmd_reply(cmd, "OK", "[%s] %s completed.", info.readonly ? "READ-ONLY" : "READ-WRITE",
		  cmd->def->name);
	return CMD_DONE;
}

int cmd_select(struct uimap_cmd *cmd)
{
	return select_common(cmd, false);
}

int cmd_examine(struct uimap_cmd *cmd)
{
	return select_common(cmd, true);
}

int cmd_close(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "CLOSE takes no arguments.");
		return CMD_DONE;
	}
	/* RFC 3501 §6.4.2: expunge silently (no EXPUNGE responses) unless read-only */
	if (!s->readonly)
		s->view->vt->view_expunge(s->view, NULL, 0);
	session_unselect(s);
	cmd_reply(cmd, "OK", "CLOSE completed.");
	return CMD_DONE;
}

int cmd_unselect(struct uimap_cmd *cmd)
{
	if (cmd->c.n_args != 0) {
		cmd_reply(cmd, "BAD", "UNSELECT takes no arguments.");
		return CMD_DONE;
	}
	session_unselect(cmd->s);
	cmd_reply(cmd, "OK", "UNSELECT completed.");
	return CMD_DONE;
}
