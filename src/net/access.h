/* Client address rules (the seed's Net::Server allow / deny / cidr_allow / cidr_deny):
   a connection is refused when a deny rule matches it, or when allow rules exist and
   none matches (deny wins over allow). Regexes match the address text and, when
   reverse lookups found one, the host name; CIDR rules the address only. */
#ifndef NET_ACCESS_H
#define NET_ACCESS_H

#include <regex.h>
#include <stdbool.h>

struct strlist;

struct access_cidr {
	unsigned char addr[16];  /* IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d) */
	unsigned prefix;         /* bits of addr that must match */
};

struct access_rules {
	struct access_cidr *allow_cidr, *deny_cidr;
	unsigned n_allow_cidr, n_deny_cidr;
	regex_t *allow_re, *deny_re;   /* POSIX extended, on the address text or host name */
	unsigned n_allow_re, n_deny_re;
};

/* Compile the rules: cidrs "a.b.c.d/n", "v6/n" or a bare address; regexes POSIX
   extended. Returns 0, or -1 with *error_r naming the rule (r is then empty). */
int access_rules_init(struct access_rules *r, const struct strlist *allow,
		      const struct strlist *deny, const struct strlist *cidr_allow,
		      const struct strlist *cidr_deny, const char **error_r);

/* Whether a client (ip_key() form, its address as text, and its host name or NULL)
   may connect: no deny rule matches the address or the name, and when allow rules
   exist one of them does. */
bool access_allowed(const struct access_rules *r, const unsigned char key[16], const char *text,
		    const char *host);

/* Whether a deny rule matches the address alone (then no host name admits it). */
bool access_denied_by_addr(const struct access_rules *r, const unsigned char key[16],
			   const char *text);

/* Whether a host name can change a decision (regex rules are set). */
bool access_uses_names(const struct access_rules *r);

/* Whether any rule is set. */
bool access_any(const struct access_rules *r);

void access_rules_free(struct access_rules *r);

#endif
