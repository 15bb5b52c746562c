/* Mailbox synchronisation: untagged EXPUNGE / EXISTS / RECENT / FETCH FLAGS, IDLE push. */
#include "imap/cmd.h"
#include "imap/context.h"
#include "imap/notify.h"
#include "imap/session.h"
#include "imap/seqset.h"
#include "net/conn.h"
#include "core/common.h"
#include "core/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const system_flag_names[] = {
	"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent",
};

void write_flags(struct outq *q, struct uimap_store_view *view, const struct uimap_flags *f,
		 bool with_recent)
{
	outq_append(q, "(", 1);
	bool first = true;
	for (unsigned i = 0; i < N_ELEMENTS(system_flag_names); i++) {
		uint32_t bit = 1u << i;
		if (!(f->system & bit) || (bit == UIMAP_FLAG_RECENT && !with_recent))
			continue;
		if (!first)
			outq_append(q, " ", 1);
		outq_puts(q, system_flag_names[i]);
		first = false;
	}
	for (unsigned i = 0; i < 64 && (f->keywords >> i) != 0; i++) {
		if (!(f->keywords & (1ULL << i)))
			continue;
		const char *name = view->vt->view_keyword_name(view, i);
		if (name == NULL)
			continue;
		if (!first)
			outq_append(q, " ", 1);
		outq_puts(q, name);
		first = false;
	}
	outq_append(q, ")", 1);
}

void write_mailbox_flags(struct session *s)
{
	struct outq *q = s->out;
	struct uimap_store_view *v = s->view;
	outq_puts(q, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (unsigned i = 0;; i++) {
		const char *kw = v->vt->view_keyword_name(v, i);
		if (kw == NULL)
			break;
		outq_printf(q, " %s", kw);
	}
	outq_puts(q, ")\r\n");
	s->kw_announced = 0;
	while (v->vt->view_keyword_name(v, s->kw_announced) != NULL)
		s->kw_announced++;
	if (s->readonly) {
		/* RFC 3501 §6.3.2: nothing can be changed in an EXAMINEd mailbox */
		outq_puts(q, "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n");
		return;
	}
	outq_puts(q, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	unsigned n = 0;
	for (;; n++) {
		const char *kw = v->vt->view_keyword_name(v, n);
		if (kw == NULL)
			break;
		outq_printf(q, " %s", kw);
	}
	/* RFC 3501 §7.1: \* only while new keywords can still be created */
	outq_puts(q, n < UIMAP_STORE_MAX_KEYWORDS ? " \\*)] Flags permitted.\r\n" :
						    ")] Flags permitted.\r\n");
}

void session_announce_keywords(struct session *s, uint64_t keywords)
{
	if (s->kw_announced < 64 && (keywords >> s->kw_announced) != 0)
		write_mailbox_flags(s);
}

/* RFC 7162 §3.2.10: with QRESYNC the expunges of a sync go out as one
   "* VANISHED uid-set", before whatever follows them. */
void session_flush_vanished(struct session *s)
{
	struct seqset_writer *w = s->vanished;
	if (w == NULL || w->lo == 0)
		return;
	seqset_writer_add(w, 0);
	outq_puts(s->out, "* VANISHED ");
	outq_append(s->out, w->text.data, w->text.len);
	outq_puts(s->out, "\r\n");
	w->text.len = 0;
}

static void cb_expunge(void *ctx, uint32_t seq, uint32_t uid)
{
	struct session *s = ctx;
	if (s->contexts != NULL)
		context_expunged(s, seq, uid);
	if (s->sync_known > 0)
		s->sync_known--;
	if (s->vanished != NULL) {
		seqset_writer_add(s->vanished, uid);
		return;
	}
	outq_printf(s->out, "* %u EXPUNGE\r\n", seq);
}

static void cb_keywords(void *ctx)
{
	struct session *s = ctx;
	session_flush_vanished(s);
	unsigned n = 0;
	while (s->view->vt->view_keyword_name(s->view, n) != NULL)
		n++;
	/* not again when a response of this session already announced them */
	if (n != s->kw_announced)
		write_mailbox_flags(s);
}

static void cb_exists(void *ctx, uint32_t exists, uint32_t recent)
{
	struct session *s = ctx;
	session_flush_vanished(s);
	outq_printf(s->out, "* %u EXISTS\r\n", exists);
	/* RFC 9051 §7.4.1: IMAP4rev2 has no \Recent, so no RECENT response */
	if (!s->rev2)
		outq_printf(s->out, "* %u RECENT\r\n", recent);
	if (s->contexts != NULL)
		context_new_messages(s);
	/* RFC 5465 §5.2: MessageNew's FETCH after the EXISTS and any ESEARCH ADDTO */
	if (s->notify != NULL)
		notify_new_messages(s, s->sync_known + 1, exists);
	s->sync_known = exists;
}

static void cb_flags(void *ctx, const struct uimap_msg_info *info)
{
	struct session *s = ctx;
	/* RFC 5465 §5.1: under SELECTED without FlagChange others' flag changes are not
	   told (search contexts still follow them) */
	if (!notify_tell_flags(s)) {
		if (s->contexts != NULL)
			context_flags_changed(s, info);
		return;
	}
	session_flush_vanished(s);
	session_announce_keywords(s, info->flags.keywords);
	outq_printf(s->out, "* %u FETCH (FLAGS ", info->seq);
	write_flags(s->out, s->view, &info->flags, !s->rev2);
	outq_printf(s->out, " UID %u", info->uid);
	if (s->condstore) {
		/* RFC 7162 §3.1: changes by others carry their MODSEQ too */
		outq_append(s->out, " ", 1);
		write_modseq(s->out, info->modseq);
	}
	outq_puts(s->out, ")\r\n");
	if (s->contexts != NULL)
		context_flags_changed(s, info);
}

static const struct uimap_sync_callbacks sync_callbacks = {
	.expunge = cb_expunge,
	.keywords = cb_keywords,
	.exists = cb_exists,
	.flags = cb_flags,
};

int session_sync(struct session *s, bool expunges)
{
	if (s->view == NULL)
		return 0;
	s->last_sync_ms = clock_ms();
	s->view_changed = false;
	struct seqset_writer vanished = { 0 };
	s->vanished = s->qresync ? &vanished : NULL;
	s->sync_known = s->view->vt->view_count(s->view);
	int r = s->view->vt->view_sync(s->view, expunges ? UIMAP_SYNC_EXPUNGES : 0,
				       &sync_callbacks, s);
	session_flush_vanished(s);
	s->vanished = NULL;
	buf_free(&vanished.text);
	/* With QRESYNC, after a sync that told every expunge and flag change, the new
	   HIGHESTMODSEQ (as Dovecot sends it): VANISHED carry no mod-sequence, and a
	   client such as interimap resumes from this value (RFC 7162 §3.2.10, §3.1.2.1) */
	if (r == 0 && s->qresync && expunges && s->view != NULL) {
		uint64_t hms = session_highest_modseq(s);
		if (hms > s->hms_told) {
			s->hms_told = hms;
			outq_printf(s->out, "* OK [HIGHESTMODSEQ %" PRIu64 "] Highest\r\n", hms);
		}
	}
	conn_mark_dirty(s->conn);
	if (r == -ENOENT) {
		/* another session deleted the selected mailbox (Dovecot disconnects too) */
		session_unselect(s);
		session_bye(s, "Selected mailbox was deleted, have to disconnect.");
		return -1;
	}
	return 0;
}

/* Called from inside the store's mutating call: only note it; an idling session is
   synced at the start of the next loop turn (the connection's wake-up). */
static void view_woken(void *ctx)
{
	struct session *s = ctx;
	s->view_changed = true;
	/* RFC 2177: an idling client is told at once; others on their next command, or
	   at once too under NOTIFY SELECTED (RFC 5465 §6.1) when no command runs */
	if (s->idling || (!s->cmd_active && notify_push_selected(s)))
		conn_wake_soon(s->conn);
}

void session_unselect(struct session *s)
{
	if (s->view != NULL) {
		s->view->vt->view_set_wake(s->view, NULL, NULL);
		uimap_store_view_close(&s->view);
	}
	free(s->selected);
	s->selected = NULL;
	/* RFC 5267 §4.3: updates cease when the mailbox is no longer selected */
	context_free_all(s);
	/* RFC 5182 §2.1: "$" belongs to the selected mailbox */
	free(s->searchres);
	s->searchres = NULL;
	s->n_searchres = 0;
	if (s->state == SESSION_SELECTED)
		s->state = SESSION_AUTH;
}

void session_watch_view(struct session *s)
{
	s->view->vt->view_set_wake(s->view, view_woken, s);
}
