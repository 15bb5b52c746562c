/* Admission of accepted connections: limits, address and host name rules, and the
   bounded wait for a reverse lookup. */
#include "net/admit.h"
#include "net/conn.h"
#include "net/server.h"
#include "loop/udata.h"
#include "core/alloc.h"
#include "core/common.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

static const char BYE_STOPPING[] = "* BYE Server shutting down\r\n";
static const char BYE_DENIED[] = "* BYE Access denied for your address\r\n";

/* The client's address as text, without the port: IPv4 also when it came as an
   IPv4-mapped IPv6 address (so rules written for IPv4 apply). Static buffer. */
static const char *peer_ip(const struct sockaddr_storage *ss)
{
	static char ip[INET6_ADDRSTRLEN];
	strcpy(ip, "?");
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip, sizeof(ip));
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, a, ip, sizeof(ip));
	}
	return ip;
}

/* Refuse c: BYE and close (an implicit-TLS client cannot read a plaintext BYE, RFC
   8314 §3.2: it is just closed). */
static void refuse(struct conn *c, const char *bye)
{
	c->srv->stats.refused[c->tls_listener]++;
	log_write(UIMAP_LOG_WARN, c->id, c->addr, "rejected: %.*s", (int)strlen(bye) - 2, bye);
	if (c->implicit_tls != NULL) {
		conn_close(c, false);
		return;
	}
	outq_puts(&c->out, bye);
	conn_mark_dirty(c);
	conn_close(c, true);
}

/* Whether the address rules refuse c before any lookup: with reverse lookups and
   regex rules only a deny rule can (an allow rule may still match the name). */
static bool refused_by_addr(const struct net_server *srv, const struct conn *c,
			    const unsigned char key[16])
{
	if (!access_any(&srv->access))
		return false;
	if (srv->rdns != NULL && access_uses_names(&srv->access))
		return access_denied_by_addr(&srv->access, key, peer_ip(&c->peer));
	return !access_allowed(&srv->access, key, peer_ip(&c->peer), NULL);
}

/* The decision once the name is known (or given up on), then the greeting. */
static void admit_decide(struct conn *c)
{
	struct net_server *srv = c->srv;
	unsigned char key[16];
	ip_key(&c->peer, key);
	if (srv->stopping)
		refuse(c, BYE_STOPPING);
	else if (access_any(&srv->access) &&
		 !access_allowed(&srv->access, key, peer_ip(&c->peer), c->host))
		refuse(c, BYE_DENIED);
	else
		conn_start(c, c->implicit_tls);
}

static void hup_cancel(struct conn *c)
{
	if (!c->hup_armed)
		return;
	struct io_uring_sqe *sqe = ring_sqe(&c->srv->ring);
	io_uring_prep_cancel64(sqe, udata_make(c, OP_HUP), 0);
	io_uring_sqe_set_data64(sqe, udata_make(NULL, OP_NONE));
}

/* Stop waiting: the job (harmless once it finished), the timer, the poll. */
static void lookup_stop(struct conn *c)
{
	c->lookup_pending = false;
	rdns_cancel(c->srv->rdns, c);
	timer_cancel(&c->srv->timers, &c->lookup_timer);
	hup_cancel(c);
}

static void lookup_timed_out(struct timer *t)
{
	struct conn *c = container_of(t, struct conn, lookup_timer);
	if (!c->lookup_pending)
		return;
	lookup_stop(c);
	log_write(UIMAP_LOG_INFO, c->id, c->addr,
		  "connect from unknown [%s] (reverse lookup timed out after %u ms)",
		  peer_ip(&c->peer), c->srv->cfg->reverse_lookup_timeout_ms);
	admit_decide(c);
}

/* Queue the lookup, arm its timer and a poll for the client's hang-up (input is
   not read before the greeting, so a recv would not see it). False when the queue
   is full: the connection goes on without a name. */
static bool lookup_start(struct conn *c)
{
	struct net_server *srv = c->srv;
	if (rdns_submit(srv->rdns, &c->peer, c) < 0) {
		log_write(UIMAP_LOG_WARN, c->id, c->addr,
			  "connect from unknown [%s] (reverse lookup skipped: queue full)",
			  peer_ip(&c->peer));
		return false;
	}
	c->lookup_pending = true;
	timer_set(&srv->timers, &c->lookup_timer,
		  clock_ms() + srv->cfg->reverse_lookup_timeout_ms, lookup_timed_out);
	struct io_uring_sqe *sqe = ring_sqe(&srv->ring);
	io_uring_prep_poll_add(sqe, c->fd, POLLRDHUP);
	io_uring_sqe_set_data64(sqe, udata_make(c, OP_HUP));
	c->hup_armed = true;
	c->pending++;
	return true;
}

void admit_accept(struct conn *c, struct tls_ctx *tls)
{
	struct net_server *srv = c->srv;
	unsigned char key[16];
	ip_key(&c->peer, key);
	struct ipentry *ip = iptable_get(&srv->ips, key, 1);
	const char *bye = NULL;
	c->implicit_tls = tls;
	if (srv->stopping)
		bye = BYE_STOPPING;
	else if (refused_by_addr(srv, c, key))
		bye = BYE_DENIED;
	else if (srv->cfg->max_connections != 0 && srv->n_conns > srv->cfg->max_connections)
		bye = "* BYE [UNAVAILABLE] Too many connections, try again later\r\n";
	else if (srv->cfg->max_connections_per_ip != 0 &&
		 ip->conns >= srv->cfg->max_connections_per_ip)
		bye = "* BYE [UNAVAILABLE] Too many connections from your address\r\n";
	else if (srv->cfg->max_unauth_per_ip != 0 && ip->unauth >= srv->cfg->max_unauth_per_ip)
		/* password guessing in parallel is capped per address */
		bye = "* BYE [UNAVAILABLE] Too many unauthenticated connections from your "
		      "address\r\n";
	if (bye != NULL) {
		iptable_maybe_drop(&srv->ips, ip, clock_ms(), 0);
		refuse(c, bye);
		return;
	}
	/* counted from now on, also while the lookup runs */
	srv->stats.open[c->tls_listener]++;
	c->ip = ip;
	ip->conns++;
	ip->unauth++;
	if (srv->rdns == NULL) {
		conn_start(c, tls);
		return;
	}
	if (!lookup_start(c))
		admit_decide(c);
}

void admit_lookup_done(void *cookie, enum rdns_status status, const char *name, void *arg)
{
	struct conn *c = cookie;
	(void)arg;
	if (!c->lookup_pending)
		return;
	lookup_stop(c);
	const char *ip = peer_ip(&c->peer);
	if (status == RDNS_FOUND) {
		c->host = xstrdup(name);
		log_write(UIMAP_LOG_INFO, c->id, c->addr, "connect from %s [%s]", name, ip);
	} else if (status == RDNS_UNCONFIRMED) {
		log_write(UIMAP_LOG_INFO, c->id, c->addr,
			  "connect from unknown [%s] (reverse name %s does not resolve back to it)",
			  ip, name);
	} else {
		log_write(UIMAP_LOG_INFO, c->id, c->addr, "connect from unknown [%s] (%s)", ip,
			  rdns_status_text(status));
	}
	admit_decide(c);
}

void admit_handle_hup(struct conn *c, int res)
{
	c->pending--;
	c->hup_armed = false;
	if (res > 0 && c->lookup_pending && !c->closing) {
		log_write(UIMAP_LOG_DEBUG, c->id, c->addr,
			  "client disconnected during its reverse lookup");
		conn_close(c, false);
	}
	conn_check_free(c);
}

void admit_shutdown(struct conn *c)
{
	if (!c->lookup_pending)
		return;
	lookup_stop(c);
	admit_decide(c);
}

void admit_cancel(struct conn *c)
{
	if (c->lookup_pending)
		lookup_stop(c);
}

bool admit_from_trusted_proxy(const struct conn *c)
{
	const struct net_server *srv = c->srv;
	unsigned char key[16];
	ip_key(&c->peer, key);
	return access_any(&srv->trusted) &&
	       access_allowed(&srv->trusted, key, peer_ip(&c->peer), NULL);
}

int admit_client_address(struct conn *c, const struct sockaddr_storage *real)
{
	struct net_server *srv = c->srv;
	unsigned char new_key[16];
	if (!admit_from_trusted_proxy(c))
		return -1;
	ip_key(real, new_key);
	char was[sizeof(c->addr)];
	snprintf(was, sizeof(was), "%s", c->addr);
	/* the counts move from the proxy's address to the client's */
	if (c->ip != NULL) {
		/* counted at the new entry first: when the client is the proxy's own
		   address (the same entry) it must not be dropped in between */
		struct ipentry *ip = iptable_get(&srv->ips, new_key, 1), *old = c->ip;
		ip->conns++;
		if (!c->authenticated)
			ip->unauth++;
		c->ip = ip;
		old->conns--;
		if (!c->authenticated)
			old->unauth--;
		iptable_maybe_drop(&srv->ips, old, clock_ms(), 15 * 60 * 1000);
	}
	c->peer = *real;
	conn_format_addr(real, c->addr, sizeof(c->addr));
	log_write(UIMAP_LOG_INFO, c->id, c->addr, "client address from the trusted proxy %s",
		  was);
	if (access_any(&srv->access) &&
	    !access_allowed(&srv->access, new_key, peer_ip(real), c->host)) {
		log_write(UIMAP_LOG_WARN, c->id, c->addr, "rejected: * BYE Access denied");
		return -2;
	}
	return 0;
}
