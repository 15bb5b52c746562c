/* Unit tests for net/rdns (the pure parts: name check, the address looked up, the
   forward confirmation) and net/access with host names. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "net/access.h"
#include "net/iptable.h"
#include "net/rdns.h"

static struct sockaddr_storage v4(const char *ip, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;
	memset(&ss, 0, sizeof(ss));
	in->sin_family = AF_INET;
	in->sin_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	memset(&ss, 0, sizeof(ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	cr_assert_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
	return ss;
}

Test(rdns, name_valid)
{
	cr_assert(rdns_name_valid("localhost"));
	cr_assert(rdns_name_valid("mail.example.org"));
	cr_assert(rdns_name_valid("mail.example.org."));
	cr_assert(rdns_name_valid("host-1.x_y.example"));
	cr_assert(rdns_name_valid("1.2.3.4.in-addr.example"));
	cr_assert_not(rdns_name_valid(""));
	cr_assert_not(rdns_name_valid("."));
	cr_assert_not(rdns_name_valid(".example.org"));
	cr_assert_not(rdns_name_valid("a..b"));
	cr_assert_not(rdns_name_valid("-a.example"));
	cr_assert_not(rdns_name_valid("a b.example"));
	cr_assert_not(rdns_name_valid("evil\n2026 INFO forged"));
	cr_assert_not(rdns_name_valid("a]b"));
	cr_assert_not(rdns_name_valid("caf\xc3\xa9.example"));

	char label[70], name[300];
	memset(label, 'a', 63);
	label[63] = '\0';
	cr_assert(rdns_name_valid(label));
	memset(label, 'a', 64);
	label[64] = '\0';
	cr_assert_not(rdns_name_valid(label));
	/* 253 bytes in labels of 63 is fine, 254 is not */
	snprintf(name, sizeof(name), "%.63s.%.63s.%.63s.%.61s", label, label, label, label);
	cr_assert_eq(strlen(name), 253);
	cr_assert(rdns_name_valid(name));
	strcat(name, "a");
	cr_assert_not(rdns_name_valid(name));
}

Test(rdns, lookup_addr_unmaps_ipv4)
{
	struct sockaddr_storage out, peer = v6("::ffff:192.0.2.7", 993);
	socklen_t len = rdns_lookup_addr(&peer, &out);
	cr_assert_eq(len, sizeof(struct sockaddr_in));
	cr_assert_eq(out.ss_family, AF_INET);
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &((struct sockaddr_in *)&out)->sin_addr, ip, sizeof(ip));
	cr_assert_str_eq(ip, "192.0.2.7");

	peer = v6("2001:db8::1", 143);
	cr_assert_eq(rdns_lookup_addr(&peer, &out), sizeof(struct sockaddr_in6));
	cr_assert_eq(out.ss_family, AF_INET6);
	cr_assert_eq(memcmp(&((struct sockaddr_in6 *)&out)->sin6_addr,
			    &((struct sockaddr_in6 *)&peer)->sin6_addr, 16), 0);

	peer = v4("198.51.100.1", 143);
	cr_assert_eq(rdns_lookup_addr(&peer, &out), sizeof(struct sockaddr_in));
	cr_assert_eq(memcmp(&out, &peer, sizeof(struct sockaddr_in)), 0);
}

/* A forward lookup result of the given addresses (NULL-terminated), in ai storage. */
static struct addrinfo *list_of(struct addrinfo *ai, struct sockaddr_storage *ss,
				const char *const *ips)
{
	struct addrinfo *head = NULL, **tail = &head;
	for (unsigned i = 0; ips[i] != NULL; i++) {
		bool six = strchr(ips[i], ':') != NULL;
		ss[i] = six ? v6(ips[i], 0) : v4(ips[i], 0);
		memset(&ai[i], 0, sizeof(ai[i]));
		ai[i].ai_family = six ? AF_INET6 : AF_INET;
		ai[i].ai_addr = (struct sockaddr *)&ss[i];
		ai[i].ai_addrlen = six ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		*tail = &ai[i];
		tail = &ai[i].ai_next;
	}
	return head;
}

Test(rdns, forward_confirmation)
{
	struct addrinfo ai[4];
	struct sockaddr_storage ss[4];
	const char *const names[] = { "2001:db8::5", "192.0.2.9", "192.0.2.7", NULL };
	struct addrinfo *list = list_of(ai, ss, names);

	struct sockaddr_storage peer = v4("192.0.2.7", 40000);  /* port ignored */
	cr_assert(rdns_confirms(&peer, list));
	peer = v6("::ffff:192.0.2.7", 40000);   /* v4-mapped = v4 */
	cr_assert(rdns_confirms(&peer, list));
	peer = v6("2001:db8::5", 1);
	cr_assert(rdns_confirms(&peer, list));
	peer = v4("192.0.2.8", 1);
	cr_assert_not(rdns_confirms(&peer, list));
	peer = v6("2001:db8::6", 1);
	cr_assert_not(rdns_confirms(&peer, list));
	cr_assert_not(rdns_confirms(&peer, NULL));

	/* an entry of another family, or too long, is skipped */
	ai[0].ai_family = AF_UNIX;
	peer = v6("2001:db8::5", 1);
	cr_assert_not(rdns_confirms(&peer, list));
}

Test(rdns, status_text)
{
	cr_assert_str_eq(rdns_status_text(RDNS_NO_NAME), "no name");
	cr_assert_str_eq(rdns_status_text(RDNS_FOUND), "found");
}

static void rules(struct access_rules *r, const char *const *allow, const char *const *deny,
		  const char *const *cidr_deny)
{
	struct strlist a = { 0 }, d = { 0 }, ca = { 0 }, cd = { 0 };
	char *av[4], *dv[4], *cdv[4];
	for (; allow != NULL && allow[a.n] != NULL; a.n++)
		av[a.n] = (char *)allow[a.n];
	for (; deny != NULL && deny[d.n] != NULL; d.n++)
		dv[d.n] = (char *)deny[d.n];
	for (; cidr_deny != NULL && cidr_deny[cd.n] != NULL; cd.n++)
		cdv[cd.n] = (char *)cidr_deny[cd.n];
	a.v = av;
	d.v = dv;
	cd.v = cdv;
	const char *err = NULL;
	cr_assert_eq(access_rules_init(r, &a, &d, &ca, &cd, &err), 0, "%s", err);
}

Test(access, host_names)
{
	struct access_rules r;
	unsigned char key[16];
	struct sockaddr_storage peer = v4("192.0.2.7", 1);
	ip_key(&peer, key);

	const char *const allow[] = { "\\.example\\.org$", NULL };
	const char *const deny[] = { "^bad\\.example\\.org$", "^192\\.0\\.2\\.66$", NULL };
	rules(&r, allow, deny, NULL);
	cr_assert(access_uses_names(&r));
	/* allowed by name only */
	cr_assert(access_allowed(&r, key, "192.0.2.7", "mail.example.org"));
	cr_assert_not(access_allowed(&r, key, "192.0.2.7", NULL));
	cr_assert_not(access_allowed(&r, key, "192.0.2.7", "mail.example.com"));
	/* denied by name: deny wins over the allow that also matches */
	cr_assert_not(access_allowed(&r, key, "192.0.2.7", "bad.example.org"));
	cr_assert_not(access_denied_by_addr(&r, key, "192.0.2.7"));
	/* denied by address whatever the name */
	cr_assert(access_denied_by_addr(&r, key, "192.0.2.66"));
	cr_assert_not(access_allowed(&r, key, "192.0.2.66", "mail.example.org"));
	access_rules_free(&r);

	/* CIDR rules only: names do not matter */
	const char *const cidr[] = { "192.0.2.0/24", NULL };
	rules(&r, NULL, NULL, cidr);
	cr_assert_not(access_uses_names(&r));
	cr_assert(access_denied_by_addr(&r, key, "192.0.2.7"));
	cr_assert_not(access_allowed(&r, key, "192.0.2.7", "192.0.2.8"));
	access_rules_free(&r);
}
