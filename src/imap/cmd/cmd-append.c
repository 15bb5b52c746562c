/* APPEND with MULTIAPPEND (RFC 3501 §6.3.11, RFC 3502) and CATENATE (RFC 4469):
   everything is validated (and catenated messages assembled) before anything is
   stored; a literal is adopted as the message blob without a copy. */
#include "imap/cmd.h"
#include "imap/session.h"
#include "imap/datetime.h"
#include "imap/server.h"
#include "imap/url.h"
#include "core/arena.h"
#include "core/buf.h"
#include "mail/imapstr.h"
#include "mail/mime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct append_msg {
	uint32_t system;
	const char **keywords;
	size_t n_keywords;
	time_t date;
	int tz;
	const struct imap_arg *literal;   /* the message, or NULL with CATENATE */
	const struct imap_arg *parts;     /* CATENATE's list of TEXT and URL parts */
	struct buf built;                 /* the catenated message */
};

/* RFC 4469 §5: assemble a CATENATE message from its TEXT literals and the parts of
   the user's messages its URLs name. 1 done, 0 after replying (BAD, NO [BADURL],
   NO [TOOBIG]). */
static int catenate(struct uimap_cmd *cmd, struct append_msg *m)
{
	struct session *s = cmd->s;
	const struct imap_arg *p = m->parts->u.list;
	unsigned n = m->parts->len;
	size_t limit = s->srv->cfg->max_literal;
	if (n == 0 || n % 2 != 0) {
		cmd_reply(cmd, "BAD", "CATENATE takes TEXT literals and URLs.");
		return 0;
	}
	for (unsigned i = 0; i < n; i += 2) {
		const char *data, *err;
		size_t len;
		if (p[i].type != IMAP_ARG_ATOM) {
			cmd_reply(cmd, "BAD", "CATENATE takes TEXT literals and URLs.");
			return 0;
		}
		if (strcasecmp(p[i].u.str, "TEXT") == 0) {
			/* RFC 3516 §4.4 with RFC 4469: a TEXT part may be a literal8 */
			if (p[i + 1].type != IMAP_ARG_LITERAL && p[i + 1].type != IMAP_ARG_LITERAL8) {
				cmd_reply(cmd, "BAD", "CATENATE: TEXT takes a literal.");
				return 0;
			}
			data = p[i + 1].u.str;
			len = p[i + 1].len;
		} else if (strcasecmp(p[i].u.str, "URL") == 0) {
			const char *url;
			size_t ul;
			struct imap_url u;
			if (!arg_string(&p[i + 1], &url, &ul)) {
				cmd_reply(cmd, "BAD", "CATENATE: URL takes a string.");
				return 0;
			}
			/* RFC 4469 §5: a URLAUTH-authorized URL (anyone's mail) is checked as
			   URLFETCH checks it; another URL names the user's own mail */
			int r;
			if (imap_url_parse(&s->arena, url, ul, NULL, &u, &err) == 0 && u.mech != NULL) {
				struct imap_url_fetch_opts o = { .binary = false };
				r = urlauth_fetch(s, url, ul, &o, &data, &len);
				err = "the URL is not valid or not authorized";
			} else {
				r = imap_url_parse(&s->arena, url, ul, s->user, &u, &err) < 0 ||
				    imap_url_fetch(&s->arena, s->mail, s->selected, &u, &data, &len,
						   &err) < 0 ? -1 : 0;
			}
			if (r < 0) {
				/* RFC 4469 §6: the URL is echoed in the response code */
				if (imapstr_can_quote(url, ul) && strchr(url, ']') == NULL)
					cmd_reply(cmd, "NO", "[BADURL %s] CATENATE: %s.", url, err);
				else
					cmd_reply(cmd, "NO", "[BADURL] CATENATE: %s.", err);
				return 0;
			}
		} else {
			cmd_reply(cmd, "BAD", "CATENATE takes TEXT literals and URLs.");
			return 0;
		}
		if (m->built.len + len > limit) {
			/* RFC 4469 §5: the result is too big for the server */
			cmd_reply(cmd, "NO", "[TOOBIG] CATENATE: the message would exceed %zu "
				  "bytes.", limit);
			return 0;
		}
		buf_append(&m->built, data, len);
	}
	if (m->built.len == 0) {
		cmd_reply(cmd, "NO", "APPEND: empty messages are not accepted.");
		return 0;
	}
	return 1;
}

static void free_built(struct append_msg *msgs, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		buf_free(&msgs[k].built);
}

static int append_all(struct uimap_cmd *cmd, const char *name, struct append_msg *msgs,
		      unsigned n_msgs);

int cmd_append(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const struct imap_arg *args = cmd->c.args;
	unsigned n = cmd->c.n_args;
	const char *name;
	if (n < 2 || !cmd_mailbox(cmd, &args[0], &name)) {
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
		if (i + 1 < n && args[i].type == IMAP_ARG_ATOM &&
		    strcasecmp(args[i].u.str, "CATENATE") == 0 && args[i + 1].type == IMAP_ARG_LIST) {
			m->parts = &args[i + 1];
			i += 2;
			n_msgs++;
			continue;
		}
		/* RFC 6855 §4: UTF8 (literal8), a message with UTF-8 headers */
		if (i + 1 < n && args[i].type == IMAP_ARG_ATOM &&
		    strcasecmp(args[i].u.str, "UTF8") == 0 && args[i + 1].type == IMAP_ARG_LIST) {
			const struct imap_arg *l = &args[i + 1];
			if (!s->utf8 || l->len != 1 || l->u.list[0].type != IMAP_ARG_LITERAL8) {
				cmd_reply(cmd, "BAD", "APPEND UTF8 takes one literal8, after ENABLE "
					  "UTF8=ACCEPT.");
				return CMD_DONE;
			}
			if (l->u.list[0].len == 0) {
				cmd_reply(cmd, "NO", "APPEND: empty messages are not accepted.");
				return CMD_DONE;
			}
			m->literal = &l->u.list[0];
			i += 2;
			n_msgs++;
			continue;
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
	for (unsigned k = 0; k < n_msgs; k++) {
		if (msgs[k].parts != NULL && !catenate(cmd, &msgs[k])) {
			free_built(msgs, n_msgs);
			return CMD_DONE;
		}
	}
	int ret = append_all(cmd, name, msgs, n_msgs);
	free_built(msgs, n_msgs);
	return ret;
}

/* Store msgs (validated) in mailbox name: all or nothing (RFC 3502 §3). */
static int append_all(struct uimap_cmd *cmd, const char *name, struct append_msg *msgs,
		      unsigned n_msgs)
{
	struct session *s = cmd->s;
	/* RFC 3502 §3: MULTIAPPEND stores all or none: room for all of them first */
	if (s->mail->vt->reserve != NULL) {
		uint64_t changes = 0, bytes = 0;
		for (unsigned k = 0; k < n_msgs; k++) {
			changes += 1 + msgs[k].n_keywords;
			bytes += msgs[k].literal != NULL ? msgs[k].literal->len : msgs[k].built.len;
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
		char *data = m->literal != NULL ? (char *)m->literal->u.str : m->built.data;
		size_t len = m->literal != NULL ? m->literal->len : m->built.len;
		struct uimap_blob *blob;
		if (m->literal == NULL) {
			/* the catenated buffer becomes the blob */
			blob = uimap_blob_new_adopt(data, len);
			if (blob == NULL)
				free(data);
			m->built = (struct buf){ 0 };
		} else if (arena_large_take(&s->arena, data) == 0) {
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
