/* A progress line for long work: one updating line on stderr when it is a terminal,
   nothing otherwise. */
#ifndef CLI_PROGRESS_H
#define CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
	bool on;               /* stderr is a terminal */
	bool bytes;            /* done/total are bytes (shown in MB), else a count */
	bool drawn;            /* a line is on the screen */
	char what[32];
	uint64_t total;
	uint64_t last_ms;
	int last_pct;
};

/* Start a line "what": total items (or bytes when bytes). Nothing is drawn yet. */
void progress_start(struct progress *p, const char *what, uint64_t total, bool bytes);

/* done of total now: redrawn ("\r", a bar, done/total, percent) when a tenth of a
   second passed or the percentage moved, and at done == total. */
void progress_set(struct progress *p, uint64_t done);

/* Rename the line (a new phase) and set its total. */
void progress_phase(struct progress *p, const char *what, uint64_t total);

/* Wipe the line (the summary that follows gets a clean one). */
void progress_end(struct progress *p);

/* persist_progress callback (ctx: a struct progress): the load's "snapshot" and
   "journal" phases in bytes. */
void progress_persist(void *ctx, const char *what, uint64_t done, uint64_t total);

#endif
