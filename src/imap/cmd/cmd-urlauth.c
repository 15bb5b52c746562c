/* URLAUTH (RFC 4467): GENURLAUTH, RESETKEY and URLFETCH with the INTERNAL mechanism.
   A token is HMAC-SHA256 of the rump URL under a random 32-byte access key of the
   user's mailbox, kept by the store (journal and snapshot). A submission server
   (submit+USER) is an account with the userdb field urlauth_submit=yes. */
#include "imap/cmd.h"
#include "imap/server.h"
#include "imap/session.h"
#include "imap/urlauth.h"
#include "mail/imapstr.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

bool session_urlauth_offered(const struct session *s)
{
	return s->srv->store->vt->urlauth_key_set != NULL;
}

int urlauth_fetch(struct session *s, const char *url, size_t len, const char **data_r,
		  size_t *len_r)
{
	struct uimap_store *store = s->srv->store;
	struct uimap_store_user *mail = NULL;
	unsigned char key[UIMAP_URLAUTH_KEY_SIZE];
	char hex[URLAUTH_TOKEN_HEX + 1];
	struct imap_url u;
	const char *err;
	bool opened = false;
	int ret = -1;

	/* RFC 4467 §6.3: an absolute URL with an access identifier and a verifier of
	   our mechanism, not expired, usable by this session */
	if (!session_urlauth_offered(s) || memchr(url, '\0', len) != NULL ||
	    imap_url_parse(&s->arena, url, len, NULL, &u, &err) < 0 || u.user == NULL ||
	    u.mailbox == NULL || u.mech == NULL || strcasecmp(u.mech, URLAUTH_MECH) != 0 ||
	    (u.has_expire && u.expire <= time(NULL)) ||
	    !urlauth_access_ok(&u, s->user, s->urlauth_submit))
		return -1;
	if (strcmp(u.user, s->user) == 0) {
		mail = s->mail;
	} else {
		/* another user's mail (submit+USER, user+USER, authuser, anonymous): only
		   a user that exists (the store would create one on first use) */
		if (!login_user_exists(s->srv, u.user) ||
		    store->vt->user_open(store, u.user, &mail) < 0)
			return -1;
		opened = true;
	}
	if (urlauth_mailbox_key(mail, u.mailbox, false, key) == 1 &&
	    urlauth_token(key, url, u.rump_len, hex) == 0 && urlauth_token_equal(u.token, hex) &&
	    imap_url_fetch(&s->arena, mail, NULL, &u, data_r, len_r, &err) == 0)
		ret = 0;
	explicit_bzero(key, sizeof(key));
	if (opened)
		uimap_store_user_close(&mail);
	return ret;
}

/* RFC 4467 §6.2: GENURLAUTH url mechanism [url mechanism ...] */
int cmd_genurlauth(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	unsigned n = cmd->c.n_args;
	const char **urls;
	if (n == 0 || n % 2 != 0) {
		cmd_reply(cmd, "BAD", "GENURLAUTH takes pairs of a URL and a mechanism.");
		return CMD_DONE;
	}
	if (!session_urlauth_offered(s)) {
		cmd_reply(cmd, "NO", "URLAUTH is not available here.");
		return CMD_DONE;
	}
	urls = arena_alloc(&s->arena, n / 2 * sizeof(*urls));
	for (unsigned i = 0; i < n; i += 2) {
		const char *url, *mech, *err;
		size_t ul, ml;
		struct imap_url u;
		struct uimap_status st;
		unsigned char key[UIMAP_URLAUTH_KEY_SIZE];
		char hex[URLAUTH_TOKEN_HEX + 1];
		if (!arg_string(&cmd->c.args[i], &url, &ul) ||
		    !arg_string(&cmd->c.args[i + 1], &mech, &ml) ||
		    memchr(url, '\0', ul) != NULL) {
			cmd_reply(cmd, "BAD", "GENURLAUTH takes pairs of a URL and a mechanism.");
			return CMD_DONE;
		}
		if (imap_url_parse(&s->arena, url, ul, NULL, &u, &err) < 0 || u.user == NULL ||
		    u.mailbox == NULL || u.access == IMAP_URL_ACCESS_NONE || u.mech != NULL) {
			cmd_reply(cmd, "BAD", "GENURLAUTH takes rump URLs (imap://user@host/"
				  "mailbox;UIDVALIDITY=n/;UID=n...;URLAUTH=access).");
			return CMD_DONE;
		}
		/* RFC 4467 §6.2: only the logged-in user's own mailboxes */
		if (strcmp(u.user, s->user) != 0) {
			cmd_reply(cmd, "NO", "GENURLAUTH: the URL names another user.");
			return CMD_DONE;
		}
		if (strcasecmp(mech, URLAUTH_MECH) != 0) {
			cmd_reply(cmd, "NO", "GENURLAUTH: the mechanism is not supported (only "
				  URLAUTH_MECH ").");
			return CMD_DONE;
		}
		int r = s->mail->vt->mailbox_status(s->mail, u.mailbox, &st);
		if (r < 0) {
			reply_store_error(cmd, r, "GENURLAUTH");
			return CMD_DONE;
		}
		r = urlauth_mailbox_key(s->mail, u.mailbox, true, key);
		if (r < 0 || urlauth_token(key, url, ul, hex) < 0) {
			explicit_bzero(key, sizeof(key));
			reply_store_error(cmd, r < 0 ? r : -EIO, "GENURLAUTH");
			return CMD_DONE;
		}
		explicit_bzero(key, sizeof(key));
		char *full = arena_alloc(&s->arena, ul + sizeof(URLAUTH_MECH) + URLAUTH_TOKEN_HEX + 3);
		memcpy(full, url, ul);
		full[ul] = '\0';
		strcat(full, ":" URLAUTH_MECH ":");
		strcat(full, hex);
		urls[i / 2] = full;
	}
	outq_puts(s->out, "* GENURLAUTH");
	for (unsigned i = 0; i < n / 2; i++) {
		outq_puts(s->out, " ");
		imapstr_string(s->out, urls[i], strlen(urls[i]));
	}
	outq_puts(s->out, "\r\n");
	cmd_reply(cmd, "OK", "GENURLAUTH completed.");
	return CMD_DONE;
}

/* RFC 4467 §6.1: RESETKEY [mailbox [mechanism ...]]: without a mailbox all of the
   user's keys are removed; with one, that mailbox gets a new key. Either way the
   URLs made before stop working. */
int cmd_resetkey(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const char *name;
	struct uimap_status st;
	unsigned char key[UIMAP_URLAUTH_KEY_SIZE];
	if (!session_urlauth_offered(s)) {
		cmd_reply(cmd, "NO", "URLAUTH is not available here.");
		return CMD_DONE;
	}
	if (cmd->c.n_args == 0) {
		int r = s->mail->vt->urlauth_key_set(s->mail, NULL, NULL);
		if (r < 0)
			reply_store_error(cmd, r, "RESETKEY");
		else
			cmd_reply(cmd, "OK", "All keys removed.");
		return CMD_DONE;
	}
	if (!arg_mailbox(&cmd->c.args[0], &name)) {
		cmd_reply(cmd, "BAD", "RESETKEY takes a mailbox name and mechanisms.");
		return CMD_DONE;
	}
	for (unsigned i = 1; i < cmd->c.n_args; i++) {
		const char *mech;
		size_t ml;
		if (!arg_string(&cmd->c.args[i], &mech, &ml)) {
			cmd_reply(cmd, "BAD", "RESETKEY takes a mailbox name and mechanisms.");
			return CMD_DONE;
		}
		if (strcasecmp(mech, URLAUTH_MECH) != 0) {
			cmd_reply(cmd, "NO", "RESETKEY: the mechanism is not supported (only "
				  URLAUTH_MECH ").");
			return CMD_DONE;
		}
	}
	int r = s->mail->vt->mailbox_status(s->mail, name, &st);
	if (r == 0)
		r = urlauth_key_random(key);
	if (r == 0)
		r = s->mail->vt->urlauth_key_set(s->mail, urlauth_key_name(name), key);
	explicit_bzero(key, sizeof(key));
	if (r < 0) {
		reply_store_error(cmd, r, "RESETKEY");
		return CMD_DONE;
	}
	cmd_reply(cmd, "OK", "[URLMECH INTERNAL] The mailbox's key is reset.");
	return CMD_DONE;
}

/* RFC 4467 §6.3: URLFETCH url ...: "* URLFETCH url data" per URL, NIL when the URL
   is not valid or not authorized (which, is not told). */
int cmd_urlfetch(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	if (cmd->c.n_args == 0) {
		cmd_reply(cmd, "BAD", "URLFETCH takes URLs.");
		return CMD_DONE;
	}
	for (unsigned i = 0; i < cmd->c.n_args; i++) {
		const char *url;
		size_t ul;
		if (cmd->c.args[i].type == IMAP_ARG_LIST || !arg_string(&cmd->c.args[i], &url, &ul)) {
			cmd_reply(cmd, "BAD", "URLFETCH takes URLs.");
			return CMD_DONE;
		}
	}
	for (unsigned i = 0; i < cmd->c.n_args; i++) {
		const char *url, *data;
		size_t ul, dl;
		arg_string(&cmd->c.args[i], &url, &ul);
		outq_puts(s->out, "* URLFETCH ");
		imapstr_string(s->out, url, ul);
		if (urlauth_fetch(s, url, ul, &data, &dl) == 0) {
			outq_printf(s->out, " {%zu}\r\n", dl);
			outq_append(s->out, data, dl);
			outq_puts(s->out, "\r\n");
		} else {
			outq_puts(s->out, " NIL\r\n");
		}
	}
	cmd_reply(cmd, "OK", "URLFETCH completed.");
	return CMD_DONE;
}
