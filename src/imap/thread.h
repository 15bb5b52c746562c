/* THREAD=REFERENCES (RFC 5256 §4): messages linked by Message-ID / References into a
   forest, dummies pruned, roots grouped by base subject, siblings by sent date. */
#ifndef IMAP_THREAD_H
#define IMAP_THREAD_H

#include "core/buf.h"

#include <stdbool.h>
#include <stdint.h>

struct thread_msg {
	uint32_t num;              /* what the response names: sequence number or UID */
	uint32_t seq;              /* ties between equal dates */
	int64_t date;              /* sent date (or INTERNALDATE), UTC */
	const char *message_id;    /* "<id> " or "" (from mail_sortkeys) */
	const char *references;    /* "<a> <b> " or "" */
	const char *subject;       /* base subject, folded */
	bool reply;                /* the subject was a reply/forward */
};

/* Thread n messages (in mailbox order) and append the THREAD response's data to out:
   "(a b (c)(d))(e)..." (without "* THREAD"). */
void thread_references(const struct thread_msg *msgs, uint32_t n, struct buf *out);

#endif
