/* Shared argument helpers: mailbox names, flag lists, store error replies. */
#include "imap/cmd.h"
#include "imap/session.h"
#include "imap/server.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/mutf7.h"
#include "mail/imapstr.h"
#include "imap/seqset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool arg_mailbox(const struct imap_arg *arg, const char **name_r)
{
	const char *s;
	size_t len;
	if (!arg_string(arg, &s, &len) || strlen(s) != len)
		return false;
	*name_r = s;
	return true;
}

bool cmd_mailbox(struct uimap_cmd *cmd, const struct imap_arg *arg, const char **name_r)
{
	if (!arg_mailbox(arg, name_r))
		return false;
	if (!cmd->s->utf8)
		return true;
	size_t n = strlen(*name_r), len;
	size_t cap = MUTF7_ENCODED_MAX(n);
	char *out = arena_alloc(&cmd->s->arena, cap);
	if (mutf7_encode(*name_r, n, out, cap, &len) < 0)
		return false;
	*name_r = out;
	return true;
}

void session_write_mailbox(struct session *s, struct outq *q, const char *name)
{
	size_t n = strlen(name), len;
	if (s->utf8) {
		/* a stack buffer for any name the in-memory store keeps (no arena grows per
		   name: NOTIFY writes these outside commands, LIST thousands in one) */
		char stack[2048];
		size_t cap = MUTF7_DECODED_MAX(n);
		char *out = cap <= sizeof(stack) ? stack : xmalloc(cap);
		int r = mutf7_decode(name, n, out, cap, &len);
		if (r == 0)
			imapstr_astring(q, out, len);
		if (out != stack)
			free(out);
		if (r == 0)
			return;
	}
	imapstr_astring(q, name, n);
}

static const struct {
	const char *name;
	uint32_t bit;
} system_flags[] = {
	{ "\\Seen", UIMAP_FLAG_SEEN },       { "\\Answered", UIMAP_FLAG_ANSWERED },
	{ "\\Flagged", UIMAP_FLAG_FLAGGED }, { "\\Deleted", UIMAP_FLAG_DELETED },
	{ "\\Draft", UIMAP_FLAG_DRAFT },
};

int parse_flag_list(struct uimap_cmd *cmd, const struct imap_arg *arg, uint32_t *system_r,
		    const char ***keywords_r, size_t *n_keywords_r, const char **error_r)
{
	const struct imap_arg *items = arg;
	unsigned n = 1;
	if (arg->type == IMAP_ARG_LIST) {
		items = arg->u.list;
		n = arg->len;
	}
	const char **kw = arena_alloc(&cmd->s->arena, (n + 1) * sizeof(*kw));
	size_t nkw = 0;
	uint32_t sys = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct imap_arg *a = &items[i];
		if (a->type != IMAP_ARG_ATOM) {
			*error_r = "Flags must be atoms";
			return -1;
		}
		const char *f = a->u.str;
		if (f[0] == '\\') {
			unsigned k;
			for (k = 0; k < N_ELEMENTS(system_flags); k++)
				if (strcasecmp(f, system_flags[k].name) == 0)
					break;
			if (k == N_ELEMENTS(system_flags)) {
				/* \Recent cannot be set by a client (RFC 3501 §2.3.2) */
				*error_r = "Invalid system flag";
				return -1;
			}
			sys |= system_flags[k].bit;
			continue;
		}
		for (const char *p = f; *p; p++) {
			if (!imap_is_atom_char((unsigned char)*p)) {
				*error_r = "Invalid keyword";
				return -1;
			}
		}
		kw[nkw++] = f;
	}
	*system_r = sys;
	*keywords_r = kw;
	*n_keywords_r = nkw;
	return 1;
}

bool command_size_ok(struct uimap_cmd *cmd, const struct uimap_range *ranges, unsigned n)
{
	uint64_t max = cmd->s->srv->cfg->max_command_messages, total = 0;

	if (max == 0)
		return true;
	for (unsigned i = 0; i < n; i++)
		total += (uint64_t)ranges[i].hi - ranges[i].lo + 1;
	if (total <= max)
		return true;
	cmd_reply(cmd, "NO", "[LIMIT] %s names %llu messages; at most %llu at a time.",
		  cmd->def->name, (unsigned long long)total, (unsigned long long)max);
	return false;
}

void reply_store_error(struct uimap_cmd *cmd, int err, const char *what)
{
	switch (err) {
	case -ENOENT:
		cmd_reply(cmd, "NO", "[NONEXISTENT] %s: no such mailbox.", what);
		break;
	case -EEXIST:
		cmd_reply(cmd, "NO", "[ALREADYEXISTS] %s: mailbox already exists.", what);
		break;
	case -EINVAL:
		cmd_reply(cmd, "NO", "[CANNOT] %s: invalid mailbox name or argument.", what);
		break;
	case -EPERM:
		cmd_reply(cmd, "NO", "[CANNOT] %s: not permitted on this mailbox.", what);
		break;
	case -ENOTEMPTY:
		cmd_reply(cmd, "NO", "[INUSE] %s: mailbox has children.", what);
		break;
	case -EROFS:
		cmd_reply(cmd, "NO", "[READ-ONLY] %s: mailbox is read-only.", what);
		break;
	case -ENOSPC:
		cmd_reply(cmd, "NO", "[LIMIT] %s: too many keywords.", what);
		break;
	case -ESTALE:
		cmd_reply(cmd, "NO", "[EXPUNGEISSUED] %s: message was expunged.", what);
		break;
	case -EDQUOT:
		/* RFC 9208 §4.3: the change would exceed a quota */
		cmd_reply(cmd, "NO", "[OVERQUOTA] %s: the mailbox owner's quota would be "
			  "exceeded.", what);
		break;
	case -EMLINK:
		/* RFC 5530 LIMIT */
		cmd_reply(cmd, "NO", "[LIMIT] %s: %s.", what,
			  strcmp(what, "CREATE") == 0 || strcmp(what, "RENAME") == 0
			  ? "too many mailboxes"
			  : strncasecmp(what, "SUBSCRIBE", 9) == 0 ? "too many subscriptions"
			  : "too many messages in the mailbox");
		break;
	case -EIO: {
		/* RFC 5530 UNAVAILABLE: temporary; nothing was changed */
		const char *why = NULL;
		if (cmd->s->srv->persist != NULL)
			persist_health(cmd->s->srv->persist, NULL, &why);
		cmd_reply(cmd, "NO", "[UNAVAILABLE] %s: the server cannot save changes right now "
			  "(%s); nothing was changed, try again later.", what,
			  why != NULL ? why : "storage unavailable");
		break;
	}
	default:
		cmd_reply(cmd, "NO", "[SERVERBUG] %s failed (%d).", what, err);
		break;
	}
}

void searchres_seqset(struct session *s, struct arena *a, struct seqset *set_r)
{
	set_r->n = s->n_searchres;
	set_r->r = arena_alloc(a, (set_r->n + 1) * sizeof(*set_r->r));
	for (unsigned i = 0; i < set_r->n; i++)
		set_r->r[i] = (struct seq_range){ s->searchres[i].lo, s->searchres[i].hi };
}

int arg_seq_ranges(struct uimap_cmd *cmd, const struct imap_arg *arg, bool uid,
		   struct uimap_range **ranges_r, unsigned *n_r, const char **error_r)
{
	struct session *s = cmd->s;
	struct uimap_store_view *v = s->view;
	if (arg->type != IMAP_ARG_ATOM) {
		*error_r = "Invalid sequence set";
		return -1;
	}
	uint32_t count = v->vt->view_count(v);
	uint32_t star = count;
	if (uid) {
		struct uimap_msg_info last;
		star = count > 0 && v->vt->view_msg(v, count, &last) == 0 ? last.uid : 0;
	}
	struct seqset set;
	if (strcmp(arg->u.str, "$") == 0) {
		/* RFC 5182 §2.1: "$" is the saved SEARCH result, kept as UIDs (so messages
		   expunged since simply drop out), in UID and sequence-number commands */
		uid = true;
		searchres_seqset(s, &s->arena, &set);
	} else if (seqset_parse(&s->arena, arg->u.str, star, &set, error_r) < 0) {
		return -1;
	}
	struct uimap_range *r = arena_alloc(&s->arena, (set.n + 1) * sizeof(*r));
	unsigned n = 0;
	for (unsigned i = 0; i < set.n; i++) {
		if (!uid) {
			/* RFC 3501 §9: a sequence number beyond the mailbox is an error */
			if (set.r[i].lo == 0 || set.r[i].hi > count) {
				*error_r = "Invalid message sequence number";
				return -1;
			}
			r[n].lo = set.r[i].lo;
			r[n].hi = set.r[i].hi;
			n++;
			continue;
		}
		struct uimap_range u = { set.r[i].lo, set.r[i].hi }, sq;
		if (u.lo == 0)
			u.lo = 1;
		if (u.hi == 0 || v->vt->view_uid_range(v, u, &sq) <= 0)
			continue;
		/* UID ranges map to ascending, disjoint sequence ranges: merge neighbours */
		if (n > 0 && sq.lo <= r[n - 1].hi + 1) {
			if (sq.hi > r[n - 1].hi)
				r[n - 1].hi = sq.hi;
		} else {
			r[n++] = sq;
		}
	}
	*ranges_r = r;
	*n_r = n;
	return 1;
}
