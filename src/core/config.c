/* Configuration: defaults, one option table shared by the config file, the CLI and
   the embedding API. */
#include "core/config.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum opt_type { OPT_STR, OPT_STR_LIST, OPT_BOOL, OPT_UINT, OPT_SIZE, OPT_SIZE0, OPT_LEVEL,
		OPT_FSYNC, OPT_MS };

struct opt {
	const char *key;
	enum opt_type type;
	size_t offset;
};

#define O(k, t, f) { k, t, offsetof(struct uimap_config, f) }
static const struct opt options[] = {
	O("listen", OPT_STR_LIST, listen),
	O("tls-listen", OPT_STR_LIST, tls_listen),
	O("listen-proxy-protocol", OPT_STR_LIST, proxy_listen),
	O("tls-listen-proxy-protocol", OPT_STR_LIST, tls_proxy_listen),
	O("allow", OPT_STR_LIST, allow),
	O("deny", OPT_STR_LIST, deny),
	O("cidr-allow", OPT_STR_LIST, cidr_allow),
	O("cidr-deny", OPT_STR_LIST, cidr_deny),
	O("trusted-proxy", OPT_STR_LIST, trusted_proxy),
	O("cert", OPT_STR, cert_file),
	O("key", OPT_STR, key_file),
	O("passwd", OPT_STR, passwd_file),
	O("master-passwd", OPT_STR, master_passwd_file),
	O("master-separator", OPT_STR, master_separator),
	O("data-dir", OPT_STR, data_dir),
	O("allow-plaintext-auth", OPT_BOOL, allow_plaintext_auth),
	O("log-level", OPT_LEVEL, log_level),
	O("log-file", OPT_STR, log_file),
	O("pid-file", OPT_STR, pid_file),
	O("user", OPT_STR, user),
	O("group", OPT_STR, group),
	O("chroot", OPT_STR, chroot_dir),
	O("allow-root", OPT_BOOL, allow_root),
	O("syslog", OPT_BOOL, syslog),
	O("syslog-ident", OPT_STR, syslog_ident),
	O("syslog-facility", OPT_STR, syslog_facility),
	O("syslog-options", OPT_STR, syslog_options),
	O("syslog-socket", OPT_STR, syslog_socket),
	O("unauth-commands", OPT_UINT, unauth_commands),
	O("unauth-idle", OPT_UINT, unauth_idle),
	O("login-timeout", OPT_UINT, login_timeout),
	O("auth-idle", OPT_UINT, auth_idle),
	O("poll-every", OPT_UINT, poll_every),
	O("max-connections", OPT_UINT, max_connections),
	O("max-connections-per-ip", OPT_UINT, max_connections_per_ip),
	O("max-unauth-connections-per-ip", OPT_UINT, max_unauth_per_ip),
	O("max-connections-per-user", OPT_UINT, max_connections_per_user),
	O("max-line", OPT_SIZE, max_line),
	O("max-literal", OPT_SIZE, max_literal),
	O("login-delay", OPT_UINT, login_delay_ms),
	O("login-delay-max", OPT_UINT, login_delay_max_ms),
	O("auth-workers", OPT_UINT, auth_workers),
	O("quota-storage", OPT_SIZE0, quota_storage),
	O("quota-messages", OPT_UINT, quota_messages),
	O("max-mailbox-messages", OPT_UINT, max_mailbox_messages),
	O("max-mailboxes", OPT_UINT, max_mailboxes),
	O("max-subscriptions", OPT_UINT, max_subscriptions),
	O("max-command-messages", OPT_UINT, max_command_messages),
	O("snapshot-interval", OPT_UINT, snapshot_interval),
	O("snapshot-changes", OPT_UINT, snapshot_changes),
	O("journal-fsync", OPT_FSYNC, journal_fsync),
	O("ignore-corrupt-snapshot", OPT_BOOL, ignore_corrupt_snapshot),
	O("reverse-lookups", OPT_BOOL, reverse_lookups),
	O("reverse-lookup-timeout", OPT_MS, reverse_lookup_timeout_ms),
	O("reverse-lookup-workers", OPT_UINT, reverse_lookup_workers),
	O("metrics-listen", OPT_STR, metrics_listen),
	O("tls-workers", OPT_UINT, tls_workers),
	O("tls-worker-nice", OPT_UINT, tls_worker_nice),
};
#undef O

static void config_defaults(struct uimap_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = UIMAP_LOG_INFO;
	cfg->unauth_commands = 10;
	cfg->unauth_idle = 300;
	cfg->login_timeout = 180;
	cfg->auth_idle = 3600;
	cfg->max_connections = 10000;
	cfg->max_connections_per_ip = 0;
	/* a NAT of busy clients rarely has 20 logins in flight at once; a password
	   guesser with 1000 parallel connections gets 20 */
	cfg->max_unauth_per_ip = 20;
	cfg->max_line = 64 * 1024;
	cfg->max_literal = 64 * 1024 * 1024;
	cfg->login_delay_ms = 1000;
	cfg->login_delay_max_ms = 15000;
	cfg->auth_workers = 2;
	/* Everything lives in memory: one user must not be able to take it all. A
	   hosted mailbox of 2 GiB / a million messages is generous (their metadata is
	   ~40 MB); thousands of mailboxes and subscriptions are more than any client
	   shows. Slicing keeps big commands fair, so none is capped by default. */
	cfg->quota_storage = (size_t)2 << 30;
	cfg->quota_messages = 1000000;
	cfg->max_mailbox_messages = 1000000;
	cfg->max_mailboxes = 5000;
	cfg->max_subscriptions = 5000;
	cfg->max_command_messages = 0;
	cfg->snapshot_interval = 300;
	cfg->snapshot_changes = 10000;
	cfg->journal_fsync = UIMAP_JOURNAL_FSYNC_ALWAYS;
	/* the resolver's own timeout is 5 s per try; a client waits no longer than
	   one try for its greeting */
	cfg->reverse_lookup_timeout_ms = 5000;
	cfg->reverse_lookup_workers = 4;
	/* one handshake thread per CPU (at most 64): TLS handshakes use every core */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->tls_workers = cpus < 1 ? 1 : cpus > 64 ? 64 : (unsigned)cpus;
	/* under CPU contention the loop (every established connection) goes first:
	   measured on 2 cores, nice 10 kept NOOP p99 under 1 ms during a handshake
	   storm (docs/performance.md) */
	cfg->tls_worker_nice = 10;
}

static const struct opt *opt_find(const char *key)
{
	char norm[64];
	size_t n = strlen(key);
	if (n >= sizeof(norm))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		norm[i] = key[i] == '_' ? '-' : (char)tolower((unsigned char)key[i]);
	for (size_t i = 0; i < N_ELEMENTS(options); i++)
		if (strcmp(options[i].key, norm) == 0)
			return &options[i];
	return NULL;
}

UIMAP_EXPORT int uimap_config_key_is_bool(const char *key)
{
	const struct opt *o = opt_find(key);
	if (o == NULL)
		return -1;
	return o->type == OPT_BOOL;
}

#define fail error_set

/* The decimal number at the start of v: 0 with *n and *end after it, -1 when v does
   not start with a digit or the number overflows. */
static int read_number(const char *v, unsigned long long *n, char **end)
{
	errno = 0;
	if (!isdigit((unsigned char)v[0]))
		return -1;
	*n = strtoull(v, end, 10);
	return errno != 0 ? -1 : 0;
}

static int parse_size(const char *v, size_t *r)
{
	char *end;
	unsigned long long n;
	if (read_number(v, &n, &end) < 0)
		return -1;
	unsigned long long mul = 1;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': mul = 1024ULL; end++; break;
	case 'M': mul = 1024ULL * 1024; end++; break;
	case 'G': mul = 1024ULL * 1024 * 1024; end++; break;
	default: return -1;
	}
	if ((*end == 'B' || *end == 'b') && mul > 1)
		end++;
	if (*end != '\0' || n > SIZE_MAX / mul)
		return -1;
	*r = (size_t)(n * mul);
	return 0;
}

/* A positive duration: N or Nms (milliseconds), Ns (seconds). */
static int parse_ms(const char *v, unsigned *r)
{
	char *end;
	unsigned long long n;
	if (read_number(v, &n, &end) < 0)
		return -1;
	if (strcmp(end, "s") == 0)
		n = n > 0xffffffffu / 1000 ? 0x100000000ULL : n * 1000;
	else if (*end != '\0' && strcmp(end, "ms") != 0)
		return -1;
	if (n == 0 || n > 0xffffffffu)
		return -1;
	*r = (unsigned)n;
	return 0;
}

static void strlist_add(struct strlist *l, const char *value)
{
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 4 : l->cap * 2;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = xstrdup(value);
}

static void strlist_clear(struct strlist *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct strlist){ 0 };
}

/* The storage size of a scalar option. */
static size_t opt_size(const struct opt *o)
{
	return o->type == OPT_BOOL ? sizeof(bool) :
	       o->type == OPT_SIZE || o->type == OPT_SIZE0 ? sizeof(size_t) :
	       o->type == OPT_LEVEL ? sizeof(enum uimap_log_level) :
	       o->type == OPT_FSYNC ? sizeof(enum uimap_journal_fsync) :
	       sizeof(unsigned);   /* OPT_UINT, OPT_MS */
}

/* Free an option's storage and put it back to its default. */
static void opt_reset(struct uimap_config *cfg, const struct opt *o)
{
	char *base = (char *)cfg;
	struct uimap_config def;

	if (o->type == OPT_STR_LIST) {
		strlist_clear((struct strlist *)(base + o->offset));
		return;
	}
	if (o->type == OPT_STR) {
		char **field = (char **)(base + o->offset);
		free(*field);
		*field = NULL;
		return;
	}
	config_defaults(&def);
	memcpy(base + o->offset, (char *)&def + o->offset, opt_size(o));
}

UIMAP_EXPORT struct uimap_config *uimap_config_new(void)
{
	struct uimap_config *cfg = xmalloc(sizeof(*cfg));
	config_defaults(cfg);
	return cfg;
}

UIMAP_EXPORT struct uimap_config *uimap_config_copy(const struct uimap_config *src)
{
	struct uimap_config *cfg = xmalloc(sizeof(*cfg));
	char *base = (char *)cfg;

	*cfg = *src;
	for (size_t i = 0; i < N_ELEMENTS(options); i++) {
		const struct opt *o = &options[i];
		if (o->type == OPT_STR) {
			char **field = (char **)(base + o->offset);
			if (*field != NULL)
				*field = xstrdup(*field);
		} else if (o->type == OPT_STR_LIST) {
			struct strlist *l = (struct strlist *)(base + o->offset), from = *l;
			*l = (struct strlist){ 0 };
			for (unsigned k = 0; k < from.n; k++)
				strlist_add(l, from.v[k]);
		}
	}
	return cfg;
}

UIMAP_EXPORT int uimap_config_reset(struct uimap_config *cfg, const char *key,
				    const char **error_r)
{
	const struct opt *o = opt_find(key);
	if (o == NULL)
		return fail(error_r, "unknown option '%s'", key);
	opt_reset(cfg, o);
	return 0;
}

UIMAP_EXPORT void uimap_config_free(struct uimap_config **cfgp)
{
	struct uimap_config *cfg = *cfgp;
	if (cfg == NULL)
		return;
	*cfgp = NULL;
	for (size_t i = 0; i < N_ELEMENTS(options); i++)
		opt_reset(cfg, &options[i]);
	free(cfg);
}

UIMAP_EXPORT int uimap_config_set(struct uimap_config *cfg, const char *key, const char *value,
				  const char **error_r)
{
	const struct opt *o = opt_find(key);
	if (o == NULL)
		return fail(error_r, "unknown option '%s'%s", key, "");
	char *base = (char *)cfg;
	if (o->type == OPT_BOOL) {
		bool *b = (bool *)(base + o->offset);
		if (value == NULL || strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "1") == 0)
			*b = true;
		else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 ||
			 strcmp(value, "0") == 0)
			*b = false;
		else
			return fail(error_r, "option '%s': '%s' is not yes/no", key, value);
		return 0;
	}
	if (value == NULL)
		return fail(error_r, "option '%s' needs a value%s", key, "");
	switch (o->type) {
	case OPT_STR: {
		if (value[0] == '\0')
			return fail(error_r, "option '%s' needs a non-empty value%s", key, "");
		char **field = (char **)(base + o->offset);
		free(*field);
		*field = xstrdup(value);
		return 0;
	}
	case OPT_STR_LIST: {
		if (value[0] == '\0')
			return fail(error_r, "option '%s' needs a non-empty value%s", key, "");
		strlist_add((struct strlist *)(base + o->offset), value);
		return 0;
	}
	case OPT_UINT: {
		size_t n;
		if (parse_size(value, &n) < 0 || n > 0xffffffffu)
			return fail(error_r, "option '%s': '%s' is not a non-negative number", key,
				    value);
		*(unsigned *)(base + o->offset) = (unsigned)n;
		return 0;
	}
	case OPT_SIZE0:
	case OPT_SIZE: {
		size_t n;
		if (parse_size(value, &n) < 0 || (n == 0 && o->type == OPT_SIZE))
			return fail(error_r, "option '%s': '%s' is not a size (e.g. 65536, 64K, 64M)",
				    key, value);
		*(size_t *)(base + o->offset) = n;
		return 0;
	}
	case OPT_LEVEL: {
		static const char *const names[] = { "error", "warn", "info", "debug" };
		for (unsigned i = 0; i < N_ELEMENTS(names); i++) {
			if (strcasecmp(value, names[i]) == 0) {
				*(enum uimap_log_level *)(base + o->offset) = (enum uimap_log_level)i;
				return 0;
			}
		}
		return fail(error_r, "option '%s': '%s' is not one of error, warn, info, debug",
			    key, value);
	}
	case OPT_FSYNC: {
		static const char *const names[] = { "always", "periodic", "off" };
		for (unsigned i = 0; i < N_ELEMENTS(names); i++) {
			if (strcasecmp(value, names[i]) == 0) {
				*(enum uimap_journal_fsync *)(base + o->offset) =
					(enum uimap_journal_fsync)i;
				return 0;
			}
		}
		return fail(error_r, "option '%s': '%s' is not one of always, periodic, off",
			    key, value);
	}
	case OPT_MS: {
		if (parse_ms(value, (unsigned *)(base + o->offset)) < 0)
			return fail(error_r, "option '%s': '%s' is not a duration (e.g. 500ms, 5s)",
				    key, value);
		return 0;
	}
	case OPT_BOOL:
		break;
	}
	return fail(error_r, "option '%s': internal error%s", key, "");
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

UIMAP_EXPORT int uimap_config_load_file(struct uimap_config *cfg, const char *path,
					const char **error_r)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return fail(error_r, "%s: %s", path, strerror(errno));
	char line[4096];
	unsigned lineno = 0;
	int ret = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		char *s = trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		char *eq = strchr(s, '=');
		char *key = s, *value = NULL;
		if (eq != NULL) {
			*eq = '\0';
			key = trim(s);
			value = trim(eq + 1);
			size_t vl = strlen(value);
			if (vl >= 2 && value[0] == '"' && value[vl - 1] == '"') {
				value[vl - 1] = '\0';
				value++;
			}
		}
		const char *err;
		if (uimap_config_set(cfg, key, value, &err) < 0) {
			ret = fail(error_r, "%s:%u: %s", path, lineno, err);
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Whether option o has the same value in a and b. */
static bool opt_equal(const struct uimap_config *a, const struct uimap_config *b,
		      const struct opt *o)
{
	const char *pa = (const char *)a + o->offset, *pb = (const char *)b + o->offset;
	switch (o->type) {
	case OPT_STR: {
		const char *sa = *(char *const *)pa, *sb = *(char *const *)pb;
		return sa == sb || (sa != NULL && sb != NULL && strcmp(sa, sb) == 0);
	}
	case OPT_STR_LIST: {
		const struct strlist *la = (const struct strlist *)pa;
		const struct strlist *lb = (const struct strlist *)pb;
		if (la->n != lb->n)
			return false;
		for (unsigned i = 0; i < la->n; i++)
			if (strcmp(la->v[i], lb->v[i]) != 0)
				return false;
		return true;
	}
	case OPT_BOOL:
		return *(const bool *)pa == *(const bool *)pb;
	case OPT_SIZE:
	case OPT_SIZE0:
		return *(const size_t *)pa == *(const size_t *)pb;
	case OPT_LEVEL:
		return *(const enum uimap_log_level *)pa == *(const enum uimap_log_level *)pb;
	case OPT_FSYNC:
		return *(const enum uimap_journal_fsync *)pa ==
		       *(const enum uimap_journal_fsync *)pb;
	case OPT_UINT:
	case OPT_MS:
		return *(const unsigned *)pa == *(const unsigned *)pb;
	}
	return false;
}

void config_diff(const struct uimap_config *a, const struct uimap_config *b,
		 void (*fn)(void *ctx, const char *key), void *ctx)
{
	for (size_t i = 0; i < N_ELEMENTS(options); i++)
		if (!opt_equal(a, b, &options[i]))
			fn(ctx, options[i].key);
}

int config_copy_key(struct uimap_config *dst, const struct uimap_config *src, const char *key)
{
	const struct opt *o = opt_find(key);
	if (o == NULL)
		return -1;
	char *d = (char *)dst + o->offset;
	const char *s = (const char *)src + o->offset;
	opt_reset(dst, o);
	if (o->type == OPT_STR) {
		const char *v = *(char *const *)s;
		*(char **)d = v != NULL ? xstrdup(v) : NULL;
	} else if (o->type == OPT_STR_LIST) {
		const struct strlist *from = (const struct strlist *)s;
		for (unsigned k = 0; k < from->n; k++)
			strlist_add((struct strlist *)d, from->v[k]);
	} else {
		memcpy(d, s, opt_size(o));
	}
	return 0;
}
