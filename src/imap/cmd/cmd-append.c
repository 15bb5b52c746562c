/* APPEND with MULTIAPPEND (RFC 3501 §6.3.11, RFC 3502): everything is validated before
   anything is stored; the literal is adopted as the message blob without a copy. */
#include "imap/cmd.h"
#include "imap/session.h"
#include "imap/datetime.h"
#include "core/arena.h"
#include "mail/mime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct append_msg {
	uint32_t system;
	const char **keywords;
	size_t n_keywords;
	time_t date;
	int tz;
	const struct imap_arg *literal;
};

int cmd_append(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const struct imap_arg *args = cmd->c.args;
	unsigned n = cmd->c.n_args;
	const char *name;
	if (n < 2 || !arg_mailbox(&args[0], &name)) {
		cmd_reply(cmd, "BAD", "APPEND takes a mailbox, optional flags and date, and a message.");
		return CMD_DONE;
	}
	struct append_msg *msgs = arena_alloc(&s->arena, n * sizeof(*msgs));
	unsigned n_msgs = 0;
	for (unsigned i = 1; i < n;) {
		struct append_msg *m = &msgs[n_msgs];
		memset(m, 0, sizeof(*m));
		const char *error;
		if (args[i].type == IMAP_ARG_LIST) {
			if (parse_flag_list(cmd, &args[i], &m->system, &m->keywords, &m->n_keywords,
					    &error) < 0) {
				cmd_reply(cmd, "BAD", "APPEND: %s.", error);
				return CMD_DONE;
			}
			i++;
		}
		if (i < n && args[i].type == IMAP_ARG_STRING) {
			/* validated before anything is stored (the original kept the message) */
			if (imap_datetime_parse(args[i].u.str, &m->date, &m->tz) < 0) {
				cmd_reply(cmd, "BAD", "APPEND: invalid date-time.");
				return CMD_DONE;
			}
			i++;
		}
		/* RFC 3516 §4.4: the message may be a literal8 (binary content) */
		if (i >= n || (args[i].type != IMAP_ARG_LITERAL &&
			       args[i].type != IMAP_ARG_LITERAL8)) {
			cmd_reply(cmd, "BAD", "APPEND: the message must be a literal.");
			return CMD_DONE;
		}
		if (args[i].len == 0) {
			cmd_reply(cmd, "NO", "APPEND: empty messages are not accepted.");
			return CMD_DONE;
		}
		m->literal = &args[i];
		i++;
		n_msgs++;
	}
	/* RFC 3502 §3: MULTIAPPEND stores all or none: room for all of them first */
	if (s->mail->vt->reserve != NULL) {
		uint64_t changes = 0, bytes = 0;
		for (unsigned k = 0; k < n_msgs; k++) {
			changes += 1 + msgs[k].n_keywords;
			bytes += msgs[k].literal->len;
			for (size_t i = 0; i < msgs[k].n_keywords; i++)
				bytes += strlen(msgs[k].keywords[i]);
		}
		int r = s->mail->vt->reserve(s->mail, name, changes, n_msgs, bytes);
		if (r == -ENOENT) {
			/* RFC 3501 §6.3.11: the client may CREATE and retry */
			cmd_reply(cmd, "NO", "[TRYCREATE] Mailbox does not exist.");
			return CMD_DONE;
		}
		if (r < 0) {
			reply_store_error(cmd, r, "APPEND");
			return CMD_DONE;
		}
	}
	uint32_t first_uid = 0, last_uid = 0, uidvalidity = 0;
	for (unsigned k = 0; k < n_msgs; k++) {
		struct append_msg *m = &msgs[k];
		char *data = (char *)m->literal->u.str;
		size_t len = m->literal->len;
		struct uimap_blob *blob;
		if (arena_large_take(&s->arena, data) == 0) {
			blob = uimap_blob_new_adopt(data, len);
			if (blob == NULL)
				free(data);
		} else {
			blob = uimap_blob_new_copy(data, len);
		}
		if (blob == NULL) {
			cmd_reply(cmd, "NO", "[SERVERBUG] APPEND: out of memory.");
			return CMD_DONE;
		}
		struct uimap_append a = {
			.blob = blob, .system_flags = m->system,
			.keywords = (const char *const *)m->keywords, .n_keywords = m->n_keywords,
			.internaldate = m->date, .tz_minutes = (int16_t)m->tz,
		};
		struct uimap_append_result res;
		/* the MIME structure is computed once, when the message is stored */
		(void)mail_structure_get(blob);
		int r = s->mail->vt->mailbox_append(s->mail, name, &a, &res);
		uimap_blob_unref(&blob);
		if (r < 0) {
			if (r == -ENOENT)
				/* RFC 3501 §6.3.11: the client may CREATE and retry */
				cmd_reply(cmd, "NO", "[TRYCREATE] Mailbox does not exist.");
			else
				reply_store_error(cmd, r, "APPEND");
			return CMD_DONE;
		}
		if (k == 0)
			first_uid = res.uid;
		last_uid = res.uid;
		uidvalidity = res.uidvalidity;
	}
	/* RFC 4315 §3: APPENDUID; a range for MULTIAPPEND */
	if (first_uid == last_uid)
		cmd_reply(cmd, "OK", "[APPENDUID %u %u] APPEND completed.", uidvalidity, first_uid);
	else
		cmd_reply(cmd, "OK", "[APPENDUID %u %u:%u] APPEND completed.", uidvalidity,
			  first_uid, last_uid);
	return CMD_DONE;
}
