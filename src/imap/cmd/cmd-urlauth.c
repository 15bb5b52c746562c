/* URLAUTH (RFC 4467): GENURLAUTH, RESETKEY and URLFETCH with the INTERNAL mechanism,
   and URLAUTH=BINARY's extended URLFETCH (RFC 5524).
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

int urlauth_fetch(struct session *s, const char *url, size_t len, struct imap_url_fetch_opts *o,
		  const char **data_r, size_t *len_r)
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
	    imap_url_fetch_ext(&s->arena, mail, NULL, &u, o, data_r, len_r, &err) == 0)
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

/* RFC 5524 §3's fetch parameters of an extended URLFETCH argument */
enum {
	URLFETCH_BODY = 1, URLFETCH_BINARY = 2, URLFETCH_BODYPARTSTRUCTURE = 4,
};

/* One URLFETCH argument: a URL, or (RFC 5524) "(url param ...)". Returns 1 with the
   URL and *params_r (0: the RFC 4467 form), or 0 when malformed. */
static int urlfetch_arg(const struct imap_arg *arg, const char **url_r, size_t *len_r,
			unsigned *params_r)
{
	*params_r = 0;
	if (arg->type != IMAP_ARG_LIST)
		return arg_string(arg, url_r, len_r);
	const struct imap_arg *l = arg->u.list;
	if (arg->len == 0 || l[0].type == IMAP_ARG_LIST || !arg_string(&l[0], url_r, len_r))
		return 0;
	for (unsigned i = 1; i < arg->len; i++) {
		const char *p;
		size_t pl;
		if (l[i].type != IMAP_ARG_ATOM || !arg_string(&l[i], &p, &pl))
			return 0;
		if (strcasecmp(p, "BODY") == 0)
			*params_r |= URLFETCH_BODY;
		else if (strcasecmp(p, "BINARY") == 0)
			*params_r |= URLFETCH_BINARY;
		else if (strcasecmp(p, "BODYPARTSTRUCTURE") == 0)
			*params_r |= URLFETCH_BODYPARTSTRUCTURE;
		else
			return 0;
	}
	if ((*params_r & (URLFETCH_BODY | URLFETCH_BINARY)) ==
	    (URLFETCH_BODY | URLFETCH_BINARY))
		return 0;
	if (*params_r == 0)
		*params_r = URLFETCH_BODY;   /* "(url)" alone: its body, as Dovecot */
	return 1;
}

/* Copy q's bytes to out and empty q. */
static void outq_move(struct outq *out, struct outq *q)
{
	struct iovec iov[16];
	int n;
	while ((n = outq_iov(q, iov, 16)) > 0) {
		size_t took = 0;
		for (int i = 0; i < n; i++) {
			outq_append(out, iov[i].iov_base, iov[i].iov_len);
			took += iov[i].iov_len;
		}
		outq_consume(q, took);
	}
	outq_clear(q);
}

/* "* URLFETCH url (...)" of RFC 5524 for a URL that verified. */
static void write_extended(struct session *s, unsigned params, struct outq *structure,
			   const char *data, size_t len, bool nul)
{
	const char *sep = "";
	outq_puts(s->out, " (");
	if (params & URLFETCH_BODYPARTSTRUCTURE) {
		outq_puts(s->out, "BODYPARTSTRUCTURE ");
		outq_move(s->out, structure);
		sep = " ";
	}
	if (params & URLFETCH_BINARY)
		/* RFC 3516 §4.3: a literal8 only for data with a NUL */
		outq_printf(s->out, "%sBINARY %s{%zu}\r\n", sep, nul ? "~" : "", len);
	else if (params & URLFETCH_BODY)
		outq_printf(s->out, "%sBODY {%zu}\r\n", sep, len);
	if (params & (URLFETCH_BODY | URLFETCH_BINARY))
		outq_append(s->out, data, len);
	outq_puts(s->out, ")\r\n");
}

/* RFC 4467 §6.3: URLFETCH url ...: "* URLFETCH url data" per URL, NIL when the URL
   is not valid or not authorized (which, is not told). RFC 5524: an argument
   "(url BODY|BINARY [BODYPARTSTRUCTURE])" answers "* URLFETCH url (BODYPARTSTRUCTURE
   (...) BINARY ~{n}...)". */
int cmd_urlfetch(struct uimap_cmd *cmd)
{
	struct session *s = cmd->s;
	const char *url;
	size_t ul;
	unsigned params;
	if (cmd->c.n_args == 0) {
		cmd_reply(cmd, "BAD", "URLFETCH takes URLs.");
		return CMD_DONE;
	}
	for (unsigned i = 0; i < cmd->c.n_args; i++)
		if (!urlfetch_arg(&cmd->c.args[i], &url, &ul, &params)) {
			cmd_reply(cmd, "BAD", "URLFETCH takes URLs, or (URL BODY|BINARY "
				  "[BODYPARTSTRUCTURE]).");
			return CMD_DONE;
		}
	for (unsigned i = 0; i < cmd->c.n_args; i++) {
		struct outq structure = { 0 };
		const char *data;
		size_t dl;
		urlfetch_arg(&cmd->c.args[i], &url, &ul, &params);
		struct imap_url_fetch_opts o = {
			.binary = (params & URLFETCH_BINARY) != 0,
			.structure = (params & URLFETCH_BODYPARTSTRUCTURE) ? &structure : NULL,
		};
		outq_puts(s->out, "* URLFETCH ");
		imapstr_string(s->out, url, ul);
		if (urlauth_fetch(s, url, ul, &o, &data, &dl) < 0) {
			outq_puts(s->out, " NIL\r\n");
		} else if (params != 0) {
			write_extended(s, params, &structure, data, dl, o.nul);
		} else {
			outq_printf(s->out, " {%zu}\r\n", dl);
			outq_append(s->out, data, dl);
			outq_puts(s->out, "\r\n");
		}
		outq_clear(&structure);
	}
	cmd_reply(cmd, "OK", "URLFETCH completed.");
	return CMD_DONE;
}
