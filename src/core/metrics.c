/* Metrics: the histogram buckets and the Prometheus text exposition writer. */
#include "core/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const uint64_t metrics_bucket_us[METRICS_BUCKETS] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};

/* The same bounds as written in the "le" label (no float formatting surprises). */
static const char *const bucket_le[METRICS_BUCKETS + 1] = {
	"0.00001", "0.000025", "0.00005", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
	"0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
};

static void out_printf(struct buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void out_printf(struct buf *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(out, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(out->data + out->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out->len += (size_t)n;
}

void metrics_family(struct buf *out, const char *name, const char *type, const char *help)
{
	out_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void metrics_sample(struct buf *out, const char *name, const char *labels, uint64_t value)
{
	if (labels != NULL && labels[0] != '\0')
		out_printf(out, "%s{%s} %llu\n", name, labels, (unsigned long long)value);
	else
		out_printf(out, "%s %llu\n", name, (unsigned long long)value);
}

void metrics_sample_f(struct buf *out, const char *name, const char *labels, double value)
{
	if (labels != NULL && labels[0] != '\0')
		out_printf(out, "%s{%s} %.6f\n", name, labels, value);
	else
		out_printf(out, "%s %.6f\n", name, value);
}

void metrics_histogram(struct buf *out, const char *name, const char *labels,
		       const struct metrics_hist *h)
{
	const char *sep = labels != NULL && labels[0] != '\0' ? "," : "";
	uint64_t cum = 0;
	if (labels == NULL)
		labels = "";
	for (unsigned i = 0; i <= METRICS_BUCKETS; i++) {
		cum += h->n[i];
		out_printf(out, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels, sep, bucket_le[i],
			   (unsigned long long)cum);
	}
	char sub[256];
	snprintf(sub, sizeof(sub), "%s_sum", name);
	out_printf(out, "%s%s%s%s %llu.%06llu\n", sub, labels[0] ? "{" : "", labels,
		   labels[0] ? "}" : "", (unsigned long long)(h->sum_us / 1000000u),
		   (unsigned long long)(h->sum_us % 1000000u));
	snprintf(sub, sizeof(sub), "%s_count", name);
	metrics_sample(out, sub, labels, h->count);
}

void metrics_label_value(char *out, size_t size, const char *value)
{
	size_t o = 0;
	if (size == 0)
		return;
	for (const char *p = value; *p != '\0'; p++) {
		const char *rep = *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : *p == '\n' ? "\\n" : NULL;
		size_t n = rep != NULL ? 2 : 1;
		if (o + n >= size)
			break;
		if (rep != NULL)
			memcpy(out + o, rep, 2);
		else
			out[o] = *p;
		o += n;
	}
	out[o] = '\0';
}
