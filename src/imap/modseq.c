/* CONDSTORE (RFC 7162 §3.1): the per-connection switch and mod-sequence arguments;
   QRESYNC's VANISHED (EARLIER) (§3.2.5, §3.2.6). */
#include "imap/cmd.h"
#include "imap/session.h"
#include "imap/server.h"
#include "imap/seqset.h"

#include <inttypes.h>

void session_enable_condstore(struct session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	/* RFC 7162 §3.1: enabled while a mailbox is selected, the client learns the
	   mailbox's HIGHESTMODSEQ at once (a later SELECT tells it anyway) */
	if (s->view == NULL)
		return;
	uint64_t hms = session_highest_modseq(s);
	session_untagged(s, "OK [HIGHESTMODSEQ %" PRIu64 "] Highest", hms);
	s->hms_told = hms;
}

uint64_t session_highest_modseq(struct session *s)
{
	struct uimap_status st;
	if (s->view->vt->view_highest_modseq != NULL)
		return s->view->vt->view_highest_modseq(s->view);
	return s->mail->vt->mailbox_status(s->mail, s->selected, &st) == 0 ? st.highest_modseq : 0;
}

bool arg_modseq(const struct imap_arg *arg, bool zero_ok, uint64_t *v_r)
{
	const char *s;
	size_t len;
	uint64_t v = 0;
	if (arg->type != IMAP_ARG_ATOM || !arg_string(arg, &s, &len) || len == 0 || len > 19)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	/* RFC 7162 §7: mod-sequence-value is a positive 63-bit number; valzer allows 0 */
	if (v > INT64_MAX || (v == 0 && !zero_ok))
		return false;
	*v_r = v;
	return true;
}

void write_modseq(struct outq *q, uint64_t modseq)
{
	outq_printf(q, "MODSEQ (%" PRIu64 ")", modseq);
}

bool session_qresync_offered(const struct session *s)
{
	return s->srv->store->vt->view_vanished != NULL;
}

static void vanished_range(void *ctx, uint32_t lo, uint32_t hi)
{
	seqset_writer_add_range(ctx, lo, hi);
}

void write_vanished_earlier(struct session *s, uint64_t modseq, const struct uimap_range *uids,
			    size_t n)
{
	struct seqset_writer w = { 0 };
	struct uimap_store_view *v = s->view;
	if (v->vt->view_vanished == NULL ||
	    v->vt->view_vanished(v, modseq, uids, n, vanished_range, &w) < 0 || w.lo == 0) {
		buf_free(&w.text);
		return;
	}
	seqset_writer_add(&w, 0);
	outq_puts(s->out, "* VANISHED (EARLIER) ");
	outq_append(s->out, w.text.data, w.text.len);
	outq_puts(s->out, "\r\n");
	buf_free(&w.text);
}
