/* Per-user limits from the configuration and the user's extra fields. */
#include "imap/limits.h"
#include "core/common.h"
#include "core/error.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "123", "64K", "1G", "none" -> value (0 = no limit). */
static int parse_amount(const char *s, size_t n, bool size, uint64_t *v_r)
{
	char buf[32];
	char *end;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strcasecmp(buf, "none") == 0 || strcasecmp(buf, "unlimited") == 0) {
		*v_r = 0;
		return 0;
	}
	if (!isdigit((unsigned char)buf[0]))
		return -1;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno != 0)
		return -1;
	unsigned long long mul = 1;
	if (size && *end != '\0') {
		switch (toupper((unsigned char)*end)) {
		case 'B': mul = 1; break;
		case 'K': mul = 1ULL << 10; break;
		case 'M': mul = 1ULL << 20; break;
		case 'G': mul = 1ULL << 30; break;
		case 'T': mul = 1ULL << 40; break;
		default: return -1;
		}
		end++;
		if (mul > 1 && (*end == 'B' || *end == 'b'))
			end++;
	}
	if (*end != '\0' || v > UINT64_MAX / mul)
		return -1;
	*v_r = v * mul;
	return 0;
}

/* One quota rule "*:storage=1G" (Dovecot's form; only the default root "*"). */
static int apply_rule(const char *v, size_t n, struct uimap_store_limits *l)
{
	if (n < 2 || v[0] != '*' || v[1] != ':')
		return -1;
	v += 2;
	n -= 2;
	const char *eq = memchr(v, '=', n);
	if (eq == NULL)
		return n == 6 && strncasecmp(v, "ignore", 6) == 0 ? 0 : -1;
	size_t kn = (size_t)(eq - v);
	uint64_t amount;
	bool is_count = kn == 8 && strncasecmp(v, "messages", 8) == 0;
	if (parse_amount(eq + 1, n - kn - 1, !is_count, &amount) < 0)
		return -1;
	if (is_count)
		l->max_messages = amount;
	else if ((kn == 7 && strncasecmp(v, "storage", 7) == 0) ||
		 (kn == 5 && strncasecmp(v, "bytes", 5) == 0))
		l->max_bytes = amount;
	else
		return -1;
	return 0;
}

static bool key_is(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && strncasecmp(k, name, kn) == 0;
}

/* The next "key=value" of the space-separated extra fields at *p (a field without
   '=' is skipped): the key without the passwd-file's "userdb_" prefix, the value,
   and the whole field's length n; *p moves after it. false at the end. */
static bool next_field(const char **p, const char **k, size_t *kn, const char **v,
		       size_t *vn, size_t *n)
{
	while (*p != NULL && **p != '\0') {
		*p += strspn(*p, " \t");
		*n = strcspn(*p, " \t");
		if (*n == 0)
			return false;
		const char *f = *p, *eq = memchr(f, '=', *n);
		*p += *n;
		if (eq == NULL)
			continue;
		*k = f;
		*kn = (size_t)(eq - f);
		*v = eq + 1;
		*vn = *n - *kn - 1;
		if (*kn > 7 && strncasecmp(*k, "userdb_", 7) == 0) {
			*k += 7;
			*kn -= 7;
		}
		return true;
	}
	return false;
}

int limits_for_user(const struct uimap_config *cfg, const char *fields,
		    struct uimap_store_limits *l, const char **error_r)
{
	int ret = 0;

	*l = (struct uimap_store_limits){
		.max_messages = cfg->quota_messages, .max_bytes = cfg->quota_storage,
		.max_mailbox_messages = cfg->max_mailbox_messages,
		.max_mailboxes = cfg->max_mailboxes, .max_subscriptions = cfg->max_subscriptions,
	};
	const char *p = fields, *k, *v;
	size_t kn, vn, n;
	while (next_field(&p, &k, &kn, &v, &vn, &n)) {
		uint64_t amount;
		int r = 0;
		if (kn >= 10 && strncasecmp(k, "quota_rule", 10) == 0)
			r = apply_rule(v, vn, l);
		else if (key_is(k, kn, "uimap_max_mailboxes"))
			r = parse_amount(v, vn, false, &amount) < 0 || amount > UINT32_MAX
			    ? -1 : (l->max_mailboxes = (uint32_t)amount, 0);
		else if (key_is(k, kn, "uimap_max_subscriptions"))
			r = parse_amount(v, vn, false, &amount) < 0 || amount > UINT32_MAX
			    ? -1 : (l->max_subscriptions = (uint32_t)amount, 0);
		else if (key_is(k, kn, "uimap_max_mailbox_messages"))
			r = parse_amount(v, vn, false, &amount) < 0 || amount > UINT32_MAX
			    ? -1 : (l->max_mailbox_messages = (uint32_t)amount, 0);
		if (r < 0 && ret == 0)
			ret = error_set(error_r, "cannot read the field '%.*s'", (int)n,
					p - n);
	}
	return ret;
}

bool user_is_admin(const char *fields)
{
	return user_field_yes(fields, "admin");
}

bool user_field_yes(const char *fields, const char *key)
{
	const char *p = fields, *k, *v;
	size_t kn, vn, n;
	while (next_field(&p, &k, &kn, &v, &vn, &n))
		if (key_is(k, kn, key))
			return (vn == 3 && strncasecmp(v, "yes", 3) == 0) ||
			       (vn == 1 && (*v == 'y' || *v == 'Y' || *v == '1')) ||
			       (vn == 4 && strncasecmp(v, "true", 4) == 0);
	return false;
}
