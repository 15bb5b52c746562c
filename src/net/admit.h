/* Who may talk: the connection limits and address rules at accept, and with reverse
   lookups the host name, waited for (bounded by a timer) before the greeting. */
#ifndef NET_ADMIT_H
#define NET_ADMIT_H

#include "net/rdns.h"

struct conn;
struct tls_ctx;

/* A connection was accepted (tls: implicit TLS with that context, or NULL). Refuse
   it (BYE and close; an implicit-TLS client is just closed), or start it
   (conn_start()) now, or, with reverse lookups on, once its lookup finished, timed
   out or could not be queued; then the rules see the host name as well. */
void admit_accept(struct conn *c, struct tls_ctx *tls);

/* A trusted proxy names c's real client (ID's x-originating-ip/-port): from now on c
   is that address in its log lines, the per-address limits and the failed-login
   delay, and the address rules are checked for it again. Returns 0; -1 when c's peer
   is no trusted proxy (nothing changes); -2 when the rules refuse the real client
   (the caller says BYE and closes). */
int admit_client_address(struct conn *c, const struct sockaddr_storage *real);

/* Whether c's peer is a trusted proxy (--trusted-proxy). */
bool admit_from_trusted_proxy(const struct conn *c);

/* The resolver's result for the connection cookie (an rdns_done_fn; arg unused). A
   connection that closes or times out cancels its lookup first, so cookie is always
   a live connection waiting for it. */
void admit_lookup_done(void *cookie, enum rdns_status status, const char *name, void *arg);

/* The completion of the hang-up poll armed while c waits (OP_HUP): a client that
   goes away during its lookup is closed at once. */
void admit_handle_hup(struct conn *c, int res);

/* The server begins its shutdown: a connection still waiting for its lookup stops
   waiting and gets "* BYE Server shutting down". */
void admit_shutdown(struct conn *c);

/* c closes: drop its lookup, if any (the job, the timer, the hang-up poll). Safe to
   call more than once. */
void admit_cancel(struct conn *c);

#endif
