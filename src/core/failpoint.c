/* Failpoints from UIMAP_FAILPOINTS, parsed once; counters are atomic (any thread). */
#include "core/failpoint.h"
#include "core/common.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_POINTS 16

struct point {
	char name[32];
	int err;
	unsigned delay_ms;  /* a delay point (err is 0) */
	long skip;          /* successes before it fires */
	long times;         /* fires left; -1 = always */
};

static struct point points[MAX_POINTS];
static unsigned n_points;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int errno_by_name(const char *s, size_t n)
{
	static const struct {
		const char *name;
		int err;
	} names[] = { { "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
		      { "EFBIG", EFBIG } };
	for (size_t i = 0; i < N_ELEMENTS(names); i++)
		if (strlen(names[i].name) == n && strncmp(s, names[i].name, n) == 0)
			return names[i].err;
	return 0;
}

static void parse(void)
{
	const char *env = getenv("UIMAP_FAILPOINTS");
	if (env == NULL)
		return;
	while (*env != '\0' && n_points < MAX_POINTS) {
		size_t len = strcspn(env, ",");
		const char *eq = memchr(env, '=', len);
		if (eq != NULL && (size_t)(eq - env) < sizeof(points[0].name)) {
			struct point *p = &points[n_points];
			const char *v = eq + 1, *end = env + len;
			size_t en = strcspn(v, "*+,");
			/* a slot an invalid entry left behind is reused */
			memset(p, 0, sizeof(*p));
			memcpy(p->name, env, (size_t)(eq - env));
			en = MIN(en, (size_t)(end - v));
			p->err = errno_by_name(v, en);
			if (p->err == 0 && en > 2 && strncmp(v + en - 2, "ms", 2) == 0)
				p->delay_ms = (unsigned)strtoul(v, NULL, 10);
			p->times = -1;
			for (const char *o = v + en; o < end; o++) {
				if (*o == '*')
					p->times = strtol(o + 1, NULL, 10);
				else if (*o == '+')
					p->skip = strtol(o + 1, NULL, 10);
			}
			if (p->err != 0 || p->delay_ms != 0)
				n_points++;
		}
		env += len;
		if (*env == ',')
			env++;
	}
}

/* Whether p fires now (counting its *N and +K). */
static bool fires(struct point *p)
{
	if (__atomic_load_n(&p->skip, __ATOMIC_RELAXED) > 0 &&
	    __atomic_fetch_sub(&p->skip, 1, __ATOMIC_RELAXED) > 0)
		return false;
	if (__atomic_load_n(&p->times, __ATOMIC_RELAXED) == 0)
		return false;
	if (__atomic_load_n(&p->times, __ATOMIC_RELAXED) > 0 &&
	    __atomic_fetch_sub(&p->times, 1, __ATOMIC_RELAXED) <= 0)
		return false;
	return true;
}

static struct point *find(const char *name, bool delay)
{
	pthread_once(&once, parse);
	for (unsigned i = 0; i < n_points; i++)
		if ((points[i].delay_ms != 0) == delay && strcmp(points[i].name, name) == 0)
			return &points[i];
	return NULL;
}

bool failpoint(const char *name, int *err_r)
{
	struct point *p = find(name, false);
	if (p == NULL || !fires(p))
		return false;
	*err_r = -p->err;
	return true;
}

void failpoint_sleep(const char *name, const int *stop)
{
	struct point *p = find(name, true);
	unsigned ms = p != NULL && fires(p) ? p->delay_ms : 0;

	while (ms > 0 && !__atomic_load_n(stop, __ATOMIC_RELAXED)) {
		unsigned step = MIN(ms, 20u);
		struct timespec ts = { 0, (long)step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
}
