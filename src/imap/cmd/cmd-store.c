/* STORE and UID STORE (RFC 3501 §6.4.6): FLAGS, +FLAGS, -FLAGS and .SILENT, with
   CONDSTORE's UNCHANGEDSINCE (RFC 7162 §3.1.3). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "imap/context.h"
#include "imap/cursor.h"
#include "imap/seqset.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

struct store_state {
	enum uimap_flags_mode mode;
	struct uimap_flags flags;
	bool silent;
	bool conditional;            /* UNCHANGEDSINCE given */
	uint64_t unchangedsince;
	struct seqset_writer modified;  /* [MODIFIED]: numbers that failed the test */
	struct range_cursor cursor;
};

static void store_cleanup(struct uimap_cmd *cmd)
{
	struct store_state *st = cmd->ctx;
	buf_free(&st->modified.text);
}

/* The message failed UNCHANGEDSINCE: its number goes into [MODIFIED]. */
static void store_modified(struct uimap_cmd *cmd, struct store_state *st, uint32_t seq)
{
	struct uimap_store_view *v = cmd->s->view;
	struct uimap_msg_info info;
	if (!cmd->uid)
		seqset_writer_add(&st->modified, seq);
	else if (v->vt->view_msg(v, seq, &info) == 0)
		seqset_writer_add(&st->modified, info.uid);
}

static void store_fetch_reply(struct uimap_cmd *cmd, const struct store_state *st, uint32_t seq,
			      const struct uimap_msg_info *info, bool changed)
{
	struct session *s = cmd->s;
	/* RFC 7162 §3.1.3: with CONDSTORE a changed message is told (UID and MODSEQ)
	   even under .SILENT */
	if (st->silent && !(s->condstore && changed))
		return;
	/* a new keyword is announced before the line that shows it (RFC 3501 §7.2.6) */
	if (!st->silent)
		session_announce_keywords(s, info->flags.keywords);
	outq_printf(s->out, "* %u FETCH (", seq);
	if (cmd->uid || s->condstore)
		outq_printf(s->out, "UID %u ", info->uid);
	if (!st->silent) {
		outq_puts(s->out, "FLAGS ");
		write_flags(s->out, s->view, &info->flags, !s->rev2);
		if (s->condstore)
			outq_append(s->out, " ", 1);
	}
	if (s->condstore)
		write_modseq(s->out, info->modseq);
	outq_puts(s->out, ")\r\n");
}

/* One slice of the set: the view's numbers stay put between slices (it is synced
   only at the tagged reply), and the space for all of it was reserved first. */
static int store_continue(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct uimap_store_view *v = s->view;
	struct store_state *st = cmd->ctx;
	struct slice sl;
	uint32_t seq;

	slice_begin(&sl);
	while (cursor_next(&st->cursor, &seq)) {
		struct uimap_msg_info info;
		int r;
		/* RFC 7162 §3.1.3: UNCHANGEDSINCE 0 fails for every message */
		if (st->conditional && st->unchangedsince == 0)
			r = -ECANCELED;
		else
			r = v->vt->view_store_flags(v, seq, st->mode, &st->flags,
						    st->unchangedsince, &info);
		if (r == -ESTALE) {
			/* RFC 2180 §4.2.1: a message another session expunged is skipped
			   and the STORE still succeeds (as Dovecot does) */
		} else if (r == -ECANCELED && st->conditional) {
			store_modified(cmd, st, seq);
		} else if (r < 0) {
			reply_store_error(cmd, r, "STORE");
			return CMD_DONE;
		} else {
			store_fetch_reply(cmd, st, seq, &info, r > 0);
			/* RFC 5267 §4.3: this session's own changes update its contexts too */
			if (r > 0 && s->contexts != NULL)
				context_flags_changed(s, &info);
		}
		enum cmd_wait wait = slice_check(&sl, s);
		if (wait != CMD_WAIT_NONE && cursor_left(&st->cursor) > 0)
			return cmd_block(cmd, wait, store_continue);
	}
	seqset_writer_add(&st->modified, 0);
	if (st->modified.text.len > 0)
		cmd_reply(cmd, "OK", "[MODIFIED %.*s] Conditional %sSTORE failed for some messages.",
			  (int)st->modified.text.len, (const char *)st->modified.text.data,
			  cmd->uid ? "UID " : "");
	else
		cmd_reply(cmd, "OK", "%sSTORE completed.", cmd->uid ? "UID " : "");
	return CMD_DONE;
}

int cmd_store(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	struct uimap_store_view *v = s->view;
	const struct imap_arg *args = cmd->c.args;
	const char *error;
	unsigned n_args = cmd->c.n_args;
	bool conditional = false;
	uint64_t unchangedsince = 0;
	if (n_args >= 2 && args[1].type == IMAP_ARG_LIST) {
		/* RFC 4466 §2.5 store modifiers: UNCHANGEDSINCE (RFC 7162 §3.1.3) */
		const struct imap_arg *m = args[1].u.list;
		if (args[1].len != 2 || m[0].type != IMAP_ARG_ATOM ||
		    strcasecmp(m[0].u.str, "UNCHANGEDSINCE") != 0) {
			cmd_reply(cmd, "BAD", "Unknown STORE modifier.");
			return CMD_DONE;
		}
		if (!arg_modseq(&m[1], true, &unchangedsince)) {
			cmd_reply(cmd, "BAD", "UNCHANGEDSINCE takes a mod-sequence.");
			return CMD_DONE;
		}
		conditional = true;
		/* the set stays the first argument; the modifier is skipped from here on */
		struct imap_arg *shifted = arena_alloc(&s->arena, (n_args - 1) * sizeof(*shifted));
		shifted[0] = args[0];
		memcpy(&shifted[1], &args[2], (n_args - 2) * sizeof(*shifted));
		args = shifted;
		n_args--;
	}
	if (n_args < 3 || args[1].type != IMAP_ARG_ATOM) {
		cmd_reply(cmd, "BAD", "STORE takes a sequence set, an item and flags.");
		return CMD_DONE;
	}
	const char *item = args[1].u.str;
	enum uimap_flags_mode mode = UIMAP_FLAGS_SET;
	if (item[0] == '+') {
		mode = UIMAP_FLAGS_ADD;
		item++;
	} else if (item[0] == '-') {
		mode = UIMAP_FLAGS_REMOVE;
		item++;
	}
	bool silent;
	if (strcasecmp(item, "FLAGS") == 0)
		silent = false;
	else if (strcasecmp(item, "FLAGS.SILENT") == 0)
		silent = true;
	else {
		cmd_reply(cmd, "BAD", "Unknown STORE item.");
		return CMD_DONE;
	}
	/* flags may be a list or bare atoms: "+FLAGS \Seen \Deleted" */
	struct imap_arg flag_arg;
	if (n_args == 3 && args[2].type == IMAP_ARG_LIST) {
		flag_arg = args[2];
	} else {
		flag_arg.type = IMAP_ARG_LIST;
		flag_arg.u.list = (struct imap_arg *)&args[2];
		flag_arg.len = n_args - 2;
	}
	uint32_t system;
	bool new_keywords = false;
	const char **kw;
	size_t n_kw;
	if (parse_flag_list(cmd, &flag_arg, &system, &kw, &n_kw, &error) < 0) {
		cmd_reply(cmd, "BAD", "STORE: %s.", error);
		return CMD_DONE;
	}
	struct uimap_range *ranges;
	unsigned n_ranges;
	if (arg_seq_ranges(cmd, &args[0], cmd->uid, &ranges, &n_ranges, &error) < 0) {
		cmd_reply(cmd, "BAD", "%s.", error);
		return CMD_DONE;
	}
	if (!command_size_ok(cmd, ranges, n_ranges))
		return CMD_DONE;
	if (conditional)
		session_enable_condstore(s);  /* RFC 7162 §3.1: an enabling command */
	if (s->readonly) {
		cmd_reply(cmd, "NO", "[READ-ONLY] Mailbox is read-only.");
		return CMD_DONE;
	}
	/* all or nothing: the whole set (and its new keywords) can be saved first */
	if (s->mail->vt->reserve != NULL) {
		uint64_t n = n_kw, kw_bytes = 0;
		for (size_t i = 0; i < n_kw; i++)
			kw_bytes += strlen(kw[i]);
		for (unsigned i = 0; i < n_ranges; i++)
			n += (uint64_t)ranges[i].hi - ranges[i].lo + 1;
		int r = s->mail->vt->reserve(s->mail, s->selected, n, 0, kw_bytes);
		if (r < 0) {
			reply_store_error(cmd, r, "STORE");
			return CMD_DONE;
		}
	}
	struct uimap_flags flags = { system, 0 };
	if (mode != UIMAP_FLAGS_REMOVE) {
		/* a STORE that cannot create all its keywords creates none */
		unsigned existing = 0, missing = 0, n_distinct = 0;
		const char *distinct[UIMAP_STORE_MAX_KEYWORDS + 1];
		while (v->vt->view_keyword_name(v, existing) != NULL)
			existing++;
		/* duplicates are looked for among the distinct names so far, never more
		   than the table holds: linear in the list, however long */
		for (size_t i = 0; i < n_kw; i++) {
			bool dup = false;
			for (unsigned j = 0; j < n_distinct && !dup; j++)
				dup = strcasecmp(kw[i], distinct[j]) == 0;
			if (dup)
				continue;
			distinct[n_distinct++] = kw[i];
			if (v->vt->view_keyword_index(v, kw[i], false) == -ENOENT)
				missing++;
			if (existing + missing > UIMAP_STORE_MAX_KEYWORDS ||
			    n_distinct > UIMAP_STORE_MAX_KEYWORDS) {
				cmd_reply(cmd, "NO", "[LIMIT] STORE: too many keywords in this mailbox.");
				return CMD_DONE;
			}
		}
		new_keywords = missing > 0;
	}
	for (size_t i = 0; i < n_kw; i++) {
		/* removing an unknown keyword is a no-op; adding one creates it */
		int k = v->vt->view_keyword_index(v, kw[i], mode != UIMAP_FLAGS_REMOVE);
		if (k == -ENOENT)
			continue;
		if (k < 0) {
			reply_store_error(cmd, k, "STORE");
			return CMD_DONE;
		}
		flags.keywords |= 1ULL << k;
	}
	/* announce new keywords before any FETCH that carries them */
	if (new_keywords)
		write_mailbox_flags(s);
	struct store_state *st = arena_zalloc(&s->arena, sizeof(*st));
	st->mode = mode;
	st->flags = flags;
	st->silent = silent;
	st->conditional = conditional;
	st->unchangedsince = unchangedsince;
	cursor_init(&st->cursor, ranges, n_ranges);
	cmd->ctx = st;
	cmd->cleanup = store_cleanup;
	return store_continue(cmd);
}
