/* Allow/deny rules on the client address and host name. */
#include "net/access.h"
#include "core/alloc.h"
#include "core/config.h"
#include "core/error.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static int parse_cidr(const char *spec, struct access_cidr *c)
{
	char host[64];
	const char *slash = strchr(spec, '/');
	size_t len = slash ? (size_t)(slash - spec) : strlen(spec);
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, spec, len);
	host[len] = '\0';
	unsigned max;
	memset(c->addr, 0, 16);
	if (inet_pton(AF_INET, host, c->addr + 12) == 1) {
		c->addr[10] = c->addr[11] = 0xff;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c->addr) == 1) {
		max = 128;
	} else {
		return -1;
	}
	unsigned bits = max;
	if (slash != NULL) {
		char *end;
		unsigned long v = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || v > max)
			return -1;
		bits = (unsigned)v;
	}
	c->prefix = max == 32 ? 96 + bits : bits;
	return 0;
}

static bool cidr_match(const struct access_cidr *c, const unsigned char key[16])
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;
	if (memcmp(c->addr, key, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (c->addr[full] & mask) == (key[full] & mask);
}

static int cidrs(const struct strlist *l, struct access_cidr **v_r, unsigned *n_r,
		 const char **error_r)
{
	*v_r = l->n ? xcalloc(l->n, sizeof(**v_r)) : NULL;
	*n_r = l->n;
	for (unsigned i = 0; i < l->n; i++)
		if (parse_cidr(l->v[i], &(*v_r)[i]) < 0)
			return error_set(error_r, "invalid CIDR '%s' (a.b.c.d/n or IPv6/n)", l->v[i]);
	return 0;
}

static int regexes(const struct strlist *l, regex_t **v_r, unsigned *n_r, const char **error_r)
{
	*v_r = l->n ? xcalloc(l->n, sizeof(**v_r)) : NULL;
	*n_r = 0;
	for (unsigned i = 0; i < l->n; i++) {
		if (regcomp(&(*v_r)[i], l->v[i], REG_EXTENDED | REG_NOSUB) != 0)
			return error_set(error_r, "invalid address pattern '%s'", l->v[i]);
		(*n_r)++;
	}
	return 0;
}

int access_rules_init(struct access_rules *r, const struct strlist *allow,
		      const struct strlist *deny, const struct strlist *cidr_allow,
		      const struct strlist *cidr_deny, const char **error_r)
{
	memset(r, 0, sizeof(*r));
	if (cidrs(cidr_allow, &r->allow_cidr, &r->n_allow_cidr, error_r) < 0 ||
	    cidrs(cidr_deny, &r->deny_cidr, &r->n_deny_cidr, error_r) < 0 ||
	    regexes(allow, &r->allow_re, &r->n_allow_re, error_r) < 0 ||
	    regexes(deny, &r->deny_re, &r->n_deny_re, error_r) < 0) {
		access_rules_free(r);
		return -1;
	}
	return 0;
}

bool access_any(const struct access_rules *r)
{
	return r->n_allow_cidr + r->n_deny_cidr + r->n_allow_re + r->n_deny_re > 0;
}

bool access_uses_names(const struct access_rules *r)
{
	return r->n_allow_re + r->n_deny_re > 0;
}

static bool rule_match(const regex_t *re, const char *text, const char *host)
{
	return regexec(re, text, 0, NULL, 0) == 0 ||
	       (host != NULL && regexec(re, host, 0, NULL, 0) == 0);
}

bool access_denied_by_addr(const struct access_rules *r, const unsigned char key[16],
			   const char *text)
{
	for (unsigned i = 0; i < r->n_deny_cidr; i++)
		if (cidr_match(&r->deny_cidr[i], key))
			return true;
	for (unsigned i = 0; i < r->n_deny_re; i++)
		if (rule_match(&r->deny_re[i], text, NULL))
			return true;
	return false;
}

bool access_allowed(const struct access_rules *r, const unsigned char key[16], const char *text,
		    const char *host)
{
	if (access_denied_by_addr(r, key, text))
		return false;
	for (unsigned i = 0; i < r->n_deny_re; i++)
		if (host != NULL && regexec(&r->deny_re[i], host, 0, NULL, 0) == 0)
			return false;
	if (r->n_allow_cidr + r->n_allow_re == 0)
		return true;
	for (unsigned i = 0; i < r->n_allow_cidr; i++)
		if (cidr_match(&r->allow_cidr[i], key))
			return true;
	for (unsigned i = 0; i < r->n_allow_re; i++)
		if (rule_match(&r->allow_re[i], text, host))
			return true;
	return false;
}

void access_rules_free(struct access_rules *r)
{
	for (unsigned i = 0; i < r->n_allow_re; i++)
		regfree(&r->allow_re[i]);
	for (unsigned i = 0; i < r->n_deny_re; i++)
		regfree(&r->deny_re[i]);
	free(r->allow_re);
	free(r->deny_re);
	free(r->allow_cidr);
	free(r->deny_cidr);
	memset(r, 0, sizeof(*r));
}
