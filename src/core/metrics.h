/* Metrics: histograms with fixed buckets kept as plain integers by the loop thread
   (counters are plain uint64_t fields of their module), and the Prometheus text
   exposition format (version 0.0.4) they are written in at a scrape. */
#ifndef CORE_METRICS_H
#define CORE_METRICS_H

#include "core/buf.h"

#include <stdint.h>

/* Bucket upper bounds, in microseconds: 0.00001 s .. 10 s in 1-2.5-5 steps (and
   +Inf after them). Most commands of an in-memory store take microseconds. */
#define METRICS_BUCKETS 19
extern const uint64_t metrics_bucket_us[METRICS_BUCKETS];

/* A latency histogram. Lifecycle: zeroed with its owner, observed on the loop
   thread only (no locks, no atomics), read at a scrape on the same thread. */
struct metrics_hist {
	uint64_t n[METRICS_BUCKETS + 1]; /* per bucket, not cumulative; the last is +Inf */
	uint64_t count;
	uint64_t sum_us;
};

/* Record one observation of us microseconds: a few compares and three adds. */
static inline void metrics_observe(struct metrics_hist *h, uint64_t us)
{
	unsigned i = 0;
	while (i < METRICS_BUCKETS && us > metrics_bucket_us[i])
		i++;
	h->n[i]++;
	h->count++;
	h->sum_us += us;
}

/* ---- exposition (text format 0.0.4: "# HELP", "# TYPE", name{labels} value) ---- */

/* The content type of the exposition, for the HTTP reply. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Start a metric family: its HELP and TYPE lines. type is "counter", "gauge" or
   "histogram"; help is one line of plain text (no backslash, no newline). */
void metrics_family(struct buf *out, const char *name, const char *type, const char *help);

/* One sample line "name{labels} value". labels is NULL or "" for none, else the
   inside of the braces, e.g. "command=\"FETCH\",result=\"ok\"" (values escaped by
   the caller, see metrics_label_value). */
void metrics_sample(struct buf *out, const char *name, const char *labels, uint64_t value);

/* The same with a floating-point value (seconds, timestamps), printed exactly
   enough to round-trip microseconds. */
void metrics_sample_f(struct buf *out, const char *name, const char *labels, double value);

/* A histogram's samples: name_bucket{labels,le="..."} (cumulative, +Inf last and
   equal to the count), name_sum (seconds) and name_count. */
void metrics_histogram(struct buf *out, const char *name, const char *labels,
		       const struct metrics_hist *h);

/* Write value into out (size bytes, NUL-terminated, truncated to fit) escaped as
   a label value: backslash, double quote and newline get a backslash. */
void metrics_label_value(char *out, size_t size, const char *value);

#endif
