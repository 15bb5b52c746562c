/* Progress lines: "\r" redraws on a terminal, at most ten a second. */
#include "cli/progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void progress_start(struct progress *p, const char *what, uint64_t total, bool bytes)
{
	memset(p, 0, sizeof(*p));
	p->on = isatty(STDERR_FILENO) == 1;
	p->bytes = bytes;
	p->total = total;
	p->last_pct = -1;
	snprintf(p->what, sizeof(p->what), "%s", what);
}

void progress_phase(struct progress *p, const char *what, uint64_t total)
{
	if (strcmp(p->what, what) != 0) {
		snprintf(p->what, sizeof(p->what), "%s", what);
		p->last_pct = -1;
	}
	p->total = total;
}

void progress_set(struct progress *p, uint64_t done)
{
	char bar[21];
	uint64_t t;
	int pct, fill;

	if (!p->on)
		return;
	if (done > p->total)
		done = p->total;
	pct = p->total > 0 ? (int)(done * 100 / p->total) : 100;
	t = now_ms();
	if (pct == p->last_pct && t - p->last_ms < 100 && done != p->total)
		return;
	p->last_pct = pct;
	p->last_ms = t;
	fill = pct / 5;
	memset(bar, '#', (size_t)fill);
	memset(bar + fill, '.', (size_t)(20 - fill));
	bar[20] = '\0';
	if (p->bytes)
		fprintf(stderr, "\r%-10s [%s] %.1f/%.1f MB %3d%%\033[K", p->what, bar,
			(double)done / 1e6, (double)p->total / 1e6, pct);
	else
		fprintf(stderr, "\r%-10s [%s] %llu/%llu %3d%%\033[K", p->what, bar,
			(unsigned long long)done, (unsigned long long)p->total, pct);
	fflush(stderr);
	p->drawn = true;
}

void progress_end(struct progress *p)
{
	if (p->on && p->drawn)
		fputs("\r\033[K", stderr);
	fflush(stderr);
	p->drawn = false;
}

void progress_persist(void *ctx, const char *what, uint64_t done, uint64_t total)
{
	struct progress *p = ctx;
	char name[32];

	snprintf(name, sizeof(name), "%s", what);
	progress_phase(p, name, total);
	p->bytes = true;
	progress_set(p, done);
}
