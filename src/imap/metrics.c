/* The server's metrics exposition: every family, written at a scrape from the
   counters the layers keep (docs/configuration.md, "Metrics", lists them). */
#include "imap/metrics.h"
#include "imap/server.h"
#include "core/common.h"
#include "persist/persist.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const listener_label[2] = { "listener=\"plain\"", "listener=\"tls\"" };
static const char *const reply_name[CMD_REPLY_COUNT] = { "", "ok", "no", "bad" };

static void render_net(const struct net_stats *st, struct buf *out)
{
	metrics_family(out, "uimap_connections_accepted_total", "counter",
		       "IMAP connections accepted, refused ones included, by listener kind.");
	for (unsigned k = 0; k < 2; k++)
		metrics_sample(out, "uimap_connections_accepted_total", listener_label[k],
			       st->accepted[k]);
	metrics_family(out, "uimap_connections_refused_total", "counter",
		       "IMAP connections closed at once (access rules, connection limits, "
		       "shutdown).");
	for (unsigned k = 0; k < 2; k++)
		metrics_sample(out, "uimap_connections_refused_total", listener_label[k],
			       st->refused[k]);
	metrics_family(out, "uimap_connections", "gauge", "IMAP connections open now.");
	for (unsigned k = 0; k < 2; k++)
		metrics_sample(out, "uimap_connections", listener_label[k], st->open[k]);
	metrics_family(out, "uimap_received_bytes_total", "counter",
		       "Bytes received on IMAP connections (TLS records included).");
	metrics_sample(out, "uimap_received_bytes_total", NULL, st->bytes_in);
	metrics_family(out, "uimap_sent_bytes_total", "counter",
		       "Bytes sent on IMAP connections (TLS records included).");
	metrics_sample(out, "uimap_sent_bytes_total", NULL, st->bytes_out);
	metrics_family(out, "uimap_loop_turn_duration_seconds", "histogram",
		       "The loop's work between two waits for completions (wall time): what "
		       "every client waits behind.");
	metrics_histogram(out, "uimap_loop_turn_duration_seconds", NULL, &st->turn);
}

static void render_imap(const struct imap_metrics *m, struct buf *out)
{
	char labels[128];

	metrics_family(out, "uimap_logins_total", "counter",
		       "LOGIN and AUTHENTICATE attempts by outcome.");
	metrics_sample(out, "uimap_logins_total", "result=\"ok\"", m->logins_ok);
	metrics_sample(out, "uimap_logins_total", "result=\"failed\"", m->logins_failed);

	metrics_family(out, "uimap_commands_total", "counter",
		       "IMAP commands by name and tagged reply.");
	for (unsigned i = 0; i < CMD_INDEX_COUNT; i++)
		for (unsigned st = CMD_REPLY_OK; st < CMD_REPLY_COUNT; st++) {
			snprintf(labels, sizeof(labels), "command=\"%s\",result=\"%s\"",
				 cmd_index_name(i), reply_name[st]);
			metrics_sample(out, "uimap_commands_total", labels,
				       m->cmds[i].replies[st]);
		}
	metrics_family(out, "uimap_command_duration_seconds", "histogram",
		       "Time from a command's parse to its tagged reply being queued.");
	for (unsigned i = 0; i < CMD_INDEX_COUNT; i++) {
		snprintf(labels, sizeof(labels), "command=\"%s\"", cmd_index_name(i));
		metrics_histogram(out, "uimap_command_duration_seconds", labels,
				  &m->cmds[i].latency);
	}
}

static void render_store(struct uimap_store *store, struct buf *out)
{
	struct uimap_store_stats st;
	if (store->vt->stats == NULL || store->vt->stats(store, &st) < 0)
		return;
	static const struct {
		const char *name, *help;
		size_t off;
	} gauges[] = {
		{ "uimap_store_users", "Users in the store.",
		  offsetof(struct uimap_store_stats, users) },
		{ "uimap_store_mailboxes", "Mailboxes in the store.",
		  offsetof(struct uimap_store_stats, mailboxes) },
		{ "uimap_store_messages", "Live messages in the store.",
		  offsetof(struct uimap_store_stats, messages) },
		{ "uimap_store_message_bytes", "Bytes of the live messages.",
		  offsetof(struct uimap_store_stats, message_bytes) },
		{ "uimap_store_metadata_bytes", "Bytes of everything else the store holds.",
		  offsetof(struct uimap_store_stats, metadata_bytes) },
	};
	for (size_t i = 0; i < N_ELEMENTS(gauges); i++) {
		uint64_t v;
		memcpy(&v, (const char *)&st + gauges[i].off, sizeof(v));
		metrics_family(out, gauges[i].name, "gauge", gauges[i].help);
		metrics_sample(out, gauges[i].name, NULL, v);
	}
}

static void render_persist(const struct persist *p, struct buf *out)
{
	const struct persist_metrics *m = persist_metrics(p);
	int err;
	const char *text;

	metrics_family(out, "uimap_journal_health", "gauge",
		       "0: changes are accepted, 1: the disk is full, 2: the journal failed.");
	metrics_sample(out, "uimap_journal_health", NULL, (uint64_t)persist_health(p, &err, &text));
	metrics_family(out, "uimap_journal_write_duration_seconds", "histogram",
		       "One write of a loop turn's journal records.");
	metrics_histogram(out, "uimap_journal_write_duration_seconds", NULL, &m->journal_write);
	metrics_family(out, "uimap_journal_written_bytes_total", "counter",
		       "Bytes written to the journal.");
	metrics_sample(out, "uimap_journal_written_bytes_total", NULL, m->journal_write_bytes);
	metrics_family(out, "uimap_journal_fsync_duration_seconds", "histogram",
		       "One group-commit fdatasync of the journal.");
	metrics_histogram(out, "uimap_journal_fsync_duration_seconds", NULL, &m->journal_fsync);
	metrics_family(out, "uimap_snapshots_total", "counter", "Snapshots by outcome.");
	metrics_sample(out, "uimap_snapshots_total", "result=\"ok\"", m->snapshots_ok);
	metrics_sample(out, "uimap_snapshots_total", "result=\"failed\"", m->snapshots_failed);
	metrics_family(out, "uimap_snapshot_duration_seconds", "histogram",
		       "A successful snapshot, start to the writer's end.");
	metrics_histogram(out, "uimap_snapshot_duration_seconds", NULL, &m->snapshot);
	metrics_family(out, "uimap_snapshot_start_duration_seconds", "histogram",
		       "The loop's pause when a snapshot starts (journal rotation, writer "
		       "thread).");
	metrics_histogram(out, "uimap_snapshot_start_duration_seconds", NULL, &m->snapshot_fork);
	metrics_family(out, "uimap_snapshot_slice_duration_seconds", "histogram",
		       "One slice of the loop's encoding of a running snapshot.");
	metrics_histogram(out, "uimap_snapshot_slice_duration_seconds", NULL,
			  &m->snapshot_slice);
	metrics_family(out, "uimap_snapshot_last_success_timestamp_seconds", "gauge",
		       "Unix time the last successful snapshot ended (0: none yet).");
	metrics_sample_f(out, "uimap_snapshot_last_success_timestamp_seconds", NULL,
			 (double)m->last_snapshot_unix_ms / 1000.0);
	metrics_family(out, "uimap_snapshot_last_duration_seconds", "gauge",
		       "Duration of the last successful snapshot.");
	metrics_sample_f(out, "uimap_snapshot_last_duration_seconds", NULL,
			 (double)m->last_snapshot_us / 1e6);
	metrics_family(out, "uimap_snapshot_last_bytes", "gauge",
		       "Size of the last successful snapshot file.");
	metrics_sample(out, "uimap_snapshot_last_bytes", NULL, m->last_snapshot_bytes);
}

void imap_metrics_render(void *ctx, struct buf *out)
{
	struct uimap_server *srv = ctx;
	char labels[96];

	metrics_family(out, "uimap_info", "gauge", "The server's version.");
	snprintf(labels, sizeof(labels), "version=\"%s\"", uimap_version());
	metrics_sample(out, "uimap_info", labels, 1);
	metrics_family(out, "uimap_start_time_seconds", "gauge",
		       "Unix time the server started.");
	metrics_sample_f(out, "uimap_start_time_seconds", NULL,
			 (double)srv->metrics.started_unix_ms / 1000.0);
	render_net(&srv->net.stats, out);
	render_imap(&srv->metrics, out);
	render_store(srv->store, out);
	if (srv->persist != NULL)
		render_persist(srv->persist, out);
}
