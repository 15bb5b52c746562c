/* STATUS (RFC 3501 §6.3.10): items answered in the order asked; HIGHESTMODSEQ
   (RFC 7162 §3.1.2), SIZE (RFC 8438), DELETED (RFC 9051 §6.3.11), DELETED-STORAGE
   (RFC 9208 §4.2.5) and APPENDLIMIT (RFC 7889 §3.2) too. The item list and the
   response are shared with LIST-STATUS (RFC 5819). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "imap/server.h"
#include "core/common.h"
#include "mail/imapstr.h"

#include <inttypes.h>
#include <string.h>
#include <strings.h>

static const char *const status_names[] = { "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY",
					    "UNSEEN", "HIGHESTMODSEQ", "SIZE", "DELETED",
					    "DELETED-STORAGE", "APPENDLIMIT" };

int status_items_parse(struct uimap_cmd *cmd, const struct imap_arg *list,
		       struct status_items *items_r)
{
	if (list->type != IMAP_ARG_LIST || list->len == 0)
		return -1;
	const struct imap_arg *items = list->u.list;
	items_r->which = arena_alloc(&cmd->s->arena, list->len * sizeof(*items_r->which));
	items_r->n = list->len;
	for (unsigned i = 0; i < list->len; i++) {
		unsigned k = 0;
		if (items[i].type == IMAP_ARG_ATOM)
			for (; k < N_ELEMENTS(status_names); k++)
				if (strcasecmp(items[i].u.str, status_names[k]) == 0)
					break;
		if (items[i].type != IMAP_ARG_ATOM || k == N_ELEMENTS(status_names))
			return -1;
		items_r->which[i] = k;
		if (k == ST_HIGHESTMODSEQ)
			session_enable_condstore(cmd->s);  /* RFC 7162 §3.1: an enabling command */
	}
	return 0;
}

int status_write(struct session *s, const char *name, const struct status_items *items)
{
	struct uimap_status st;
	struct uimap_store_user *u = s->mail;
	int r = u->vt->mailbox_status(u, name, &st);
	if (r < 0)
		return r;
	struct outq *q = s->out;
	outq_puts(q, "* STATUS ");
	session_write_mailbox(s, q, name);
	outq_puts(q, " (");
	for (unsigned i = 0; i < items->n; i++) {
		uint64_t v = 0;
		switch ((enum status_item)items->which[i]) {
		case ST_MESSAGES: v = st.messages; break;
		case ST_RECENT: v = st.recent; break;
		case ST_UIDNEXT: v = st.uidnext; break;
		case ST_UIDVALIDITY: v = st.uidvalidity; break;
		case ST_UNSEEN: v = st.unseen; break;
		case ST_HIGHESTMODSEQ: v = st.highest_modseq; break;
		case ST_SIZE: v = st.size; break;
		case ST_DELETED: v = st.deleted; break;
		/* RFC 9208 §4.2.5: in the STORAGE unit, 1024 octets (rounded up) */
		case ST_DELETED_STORAGE: v = (st.deleted_size + 1023) / 1024; break;
		case ST_APPENDLIMIT: v = s->srv->cfg->max_literal; break;
		}
		outq_printf(q, "%s%s %" PRIu64, i ? " " : "", status_names[items->which[i]], v);
	}
	outq_puts(q, ")\r\n");
	return 0;
}

int cmd_status(struct uimap_cmd *cmd)
{
	const char *name;
	const struct imap_arg *args = cmd->c.args;
	struct status_items items;
	if (cmd->c.n_args != 2 || !cmd_mailbox(cmd, &args[0], &name) || args[1].type != IMAP_ARG_LIST ||
	    args[1].len == 0) {
		cmd_reply(cmd, "BAD", "STATUS takes a mailbox name and a list of items.");
		return CMD_DONE;
	}
	if (status_items_parse(cmd, &args[1], &items) < 0) {
		cmd_reply(cmd, "BAD", "Unknown STATUS item.");
		return CMD_DONE;
	}
	int r = status_write(cmd->s, name, &items);
	if (r < 0)
		reply_store_error(cmd, r, "STATUS");
	else
		cmd_reply(cmd, "OK", "STATUS completed.");
	return CMD_DONE;
}
