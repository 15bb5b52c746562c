/* STATUS (RFC 3501 §6.3.10): items answered in the order asked; HIGHESTMODSEQ
   (RFC 7162 §3.1.2), SIZE (RFC 8438) and DELETED (RFC 9051 §6.3.11) too. */
#include "imap/cmd.h"
#include "imap/session.h"
#include "mail/imapstr.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

int cmd_status(struct uimap_cmd *cmd)
{
	const char *name;
	const struct imap_arg *args = cmd->c.args;
	if (cmd->c.n_args != 2 || !arg_mailbox(&args[0], &name) || args[1].type != IMAP_ARG_LIST ||
	    args[1].len == 0) {
		cmd_reply(cmd, "BAD", "STATUS takes a mailbox name and a list of items.");
		return CMD_DONE;
	}
	static const char *const known[] = { "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY",
					     "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED" };
	const struct imap_arg *items = args[1].u.list;
	unsigned *which = arena_alloc(&cmd->s->arena, args[1].len * sizeof(*which));
	for (unsigned i = 0; i < args[1].len; i++) {
		unsigned k = 0;
		if (items[i].type == IMAP_ARG_ATOM)
			for (; k < sizeof(known) / sizeof(known[0]); k++)
				if (strcasecmp(items[i].u.str, known[k]) == 0)
					break;
		if (items[i].type != IMAP_ARG_ATOM || k == sizeof(known) / sizeof(known[0])) {
			cmd_reply(cmd, "BAD", "Unknown STATUS item.");
			return CMD_DONE;
		}
		which[i] = k;
		if (k == 5)
			session_enable_condstore(cmd->s);  /* RFC 7162 §3.1: an enabling command */
	}
	struct uimap_status st;
	struct uimap_store_user *u = cmd->s->mail;
	int r = u->vt->mailbox_status(u, name, &st);
	if (r < 0) {
		reply_store_error(cmd, r, "STATUS");
		return CMD_DONE;
	}
	struct outq *q = cmd->s->out;
	outq_puts(q, "* STATUS ");
	imapstr_astring(q, name, strlen(name));
	outq_puts(q, " (");
	for (unsigned i = 0; i < args[1].len; i++) {
		uint64_t v = 0;
		switch (which[i]) {
		case 0: v = st.messages; break;
		case 1: v = st.recent; break;
		case 2: v = st.uidnext; break;
		case 3: v = st.uidvalidity; break;
		case 4: v = st.unseen; break;
		case 5: v = st.highest_modseq; break;
		case 6: v = st.size; break;
		case 7: v = st.deleted; break;
		}
		outq_printf(q, "%s%s %" PRIu64, i ? " " : "", known[which[i]], v);
	}
	outq_puts(q, ")\r\n");
	cmd_reply(cmd, "OK", "STATUS completed.");
	return CMD_DONE;
}
