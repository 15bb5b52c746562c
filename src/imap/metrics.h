/* The IMAP layer's metrics (commands, logins) and the exposition of the whole
   server: these, the connection layer's, the store's and persistence's. */
#ifndef IMAP_METRICS_H
#define IMAP_METRICS_H

#include "core/buf.h"
#include "core/metrics.h"
#include "imap/cmd.h"

#include <stdint.h>

/* A command's tagged reply, as counted (CMD_REPLY_NONE: none was queued). */
enum cmd_reply_status {
	CMD_REPLY_NONE = 0,
	CMD_REPLY_OK,
	CMD_REPLY_NO,
	CMD_REPLY_BAD,
	CMD_REPLY_COUNT,
};

struct cmd_metrics {
	uint64_t replies[CMD_REPLY_COUNT];  /* by status ([CMD_REPLY_NONE] unused) */
	struct metrics_hist latency;        /* parsed to tagged reply queued */
};

/* Plain integers, changed on the loop thread only (a few adds per command). */
struct imap_metrics {
	struct cmd_metrics cmds[CMD_INDEX_COUNT];
	uint64_t logins_ok;
	uint64_t logins_failed;     /* checked and refused (see docs/configuration.md) */
	uint64_t started_unix_ms;   /* when the server was created */
};

/* Count one command of index i that ended with reply status st after us
   microseconds (nothing when st is CMD_REPLY_NONE). */
static inline void imap_metrics_command(struct imap_metrics *m, enum cmd_index i,
					enum cmd_reply_status st, uint64_t us)
{
	if (st == CMD_REPLY_NONE)
		return;
	m->cmds[i].replies[st]++;
	metrics_observe(&m->cmds[i].latency, us);
}

/* Append the server's exposition text (format 0.0.4) to out: ctx is the struct
   uimap_server (the connection server's metrics_render). */
void imap_metrics_render(void *ctx, struct buf *out);

#endif
