/* Unit tests for the metrics registry: histogram buckets (edges, +Inf, sums) and the
   text exposition lines. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"

/* The buffer as a NUL-terminated string (freed by the caller with buf_free). */
static const char *text(struct buf *b)
{
	buf_append(b, "", 1);
	b->len--;
	return b->data;
}

/* The value of the line starting with prefix, or -1. */
static long long line_value(const char *all, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = all; p != NULL && *p != '\0';) {
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return atoll(p + n + 1);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

Test(metrics, buckets_ascend)
{
	for (unsigned i = 1; i < METRICS_BUCKETS; i++)
		cr_assert_gt(metrics_bucket_us[i], metrics_bucket_us[i - 1]);
	cr_assert_eq(metrics_bucket_us[METRICS_BUCKETS - 1], 10000000u);
}

Test(metrics, observe_edges)
{
	struct metrics_hist h = { 0 };
	metrics_observe(&h, 0);
	metrics_observe(&h, metrics_bucket_us[0]);       /* le is inclusive */
	metrics_observe(&h, metrics_bucket_us[0] + 1);
	metrics_observe(&h, 10000000u);                  /* the last finite bucket */
	metrics_observe(&h, 10000001u);                  /* +Inf */
	metrics_observe(&h, UINT64_MAX / 4);
	cr_assert_eq(h.n[0], 2);
	cr_assert_eq(h.n[1], 1);
	cr_assert_eq(h.n[METRICS_BUCKETS - 1], 1);
	cr_assert_eq(h.n[METRICS_BUCKETS], 2);
	cr_assert_eq(h.count, 6);
}

Test(metrics, histogram_lines_are_cumulative)
{
	struct metrics_hist h = { 0 };
	struct buf b = { 0 };
	metrics_observe(&h, 5);          /* 0.00001 */
	metrics_observe(&h, 100);        /* 0.0001 */
	metrics_observe(&h, 1500000);    /* 2.5 */
	metrics_observe(&h, 20000000);   /* +Inf */
	metrics_histogram(&b, "x_seconds", "command=\"NOOP\"", &h);
	const char *t = text(&b);
	cr_assert_eq(line_value(t, "x_seconds_bucket{command=\"NOOP\",le=\"0.00001\"}"), 1);
	cr_assert_eq(line_value(t, "x_seconds_bucket{command=\"NOOP\",le=\"0.0001\"}"), 2);
	cr_assert_eq(line_value(t, "x_seconds_bucket{command=\"NOOP\",le=\"1\"}"), 2);
	cr_assert_eq(line_value(t, "x_seconds_bucket{command=\"NOOP\",le=\"2.5\"}"), 3);
	cr_assert_eq(line_value(t, "x_seconds_bucket{command=\"NOOP\",le=\"10\"}"), 3);
	cr_assert_eq(line_value(t, "x_seconds_bucket{command=\"NOOP\",le=\"+Inf\"}"), 4);
	cr_assert_eq(line_value(t, "x_seconds_count{command=\"NOOP\"}"), 4);
	cr_assert(strstr(t, "x_seconds_sum{command=\"NOOP\"} 21.500105\n") != NULL, "%s", t);
	/* one line per bucket, then sum and count */
	unsigned lines = 0;
	for (const char *p = t; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, METRICS_BUCKETS + 1 + 2);
	buf_free(&b);
}

Test(metrics, histogram_without_labels)
{
	struct metrics_hist h = { 0 };
	struct buf b = { 0 };
	metrics_observe(&h, 2000000);
	metrics_histogram(&b, "y_seconds", NULL, &h);
	const char *t = text(&b);
	cr_assert(strncmp(t, "y_seconds_bucket{le=\"0.00001\"} 0\n", 33) == 0, "%s", t);
	cr_assert(strstr(t, "\ny_seconds_sum 2.000000\ny_seconds_count 1\n") != NULL, "%s", t);
	buf_free(&b);
}

Test(metrics, family_and_samples)
{
	struct buf b = { 0 };
	metrics_family(&b, "a_total", "counter", "Things.");
	metrics_sample(&b, "a_total", NULL, 0);
	metrics_sample(&b, "a_total", "", 7);
	metrics_sample(&b, "a_total", "k=\"v\"", 18446744073709551615ull);
	metrics_sample_f(&b, "b_seconds", NULL, 1.5);
	cr_assert_str_eq(text(&b), "# HELP a_total Things.\n# TYPE a_total counter\n"
				   "a_total 0\na_total 7\na_total{k=\"v\"} 18446744073709551615\n"
				   "b_seconds 1.500000\n");
	buf_free(&b);
}

Test(metrics, label_value_escaping)
{
	char out[16];
	metrics_label_value(out, sizeof(out), "a\"b\\c\nd");
	cr_assert_str_eq(out, "a\\\"b\\\\c\\nd");
	/* truncated, never in the middle of an escape */
	metrics_label_value(out, 4, "ab\"c");
	cr_assert_str_eq(out, "ab");
	metrics_label_value(out, sizeof(out), "");
	cr_assert_str_eq(out, "");
}
