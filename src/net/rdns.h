/* Reverse lookups of client addresses (the seed's reverse_lookups) on worker threads:
   getnameinfo(NI_NAMEREQD), then a forward confirmation (the name's addresses must
   include the client's, or the name is not used: anyone can publish a PTR record
   naming someone else's host). Results come back on the loop thread through the
   pool's eventfd, read on the ring. */
#ifndef NET_RDNS_H
#define NET_RDNS_H

#include "loop/ring.h"

#include <stdbool.h>
#include <stdint.h>
#include <netdb.h>
#include <sys/socket.h>

/* Upper bound for rdns_create()'s n_workers. */
#define RDNS_MAX_WORKERS 64
/* Lookups submitted and not collected, per worker; rdns_submit() fails beyond. */
#define RDNS_PENDING_PER_WORKER 32

enum rdns_status {
	RDNS_FOUND,        /* a name that resolves back to the address */
	RDNS_NO_NAME,      /* no PTR record, or the resolver failed */
	RDNS_UNCONFIRMED,  /* the name does not resolve back to the address */
	RDNS_BAD_NAME,     /* the PTR record is not a host name */
};

/* Called on the loop thread for each finished lookup that was not cancelled. name is
   the lower-cased name for RDNS_FOUND and RDNS_UNCONFIRMED (only the first may be
   trusted), NULL otherwise; valid during the call. */
typedef void rdns_done_fn(void *cookie, enum rdns_status status, const char *name, void *arg);

struct rdns;

/* Start n_workers (1..RDNS_MAX_WORKERS) resolver threads; done(cookie, ..., arg)
   receives the results. Returns the resolver, or NULL with *error_r (static). */
struct rdns *rdns_create(unsigned n_workers, rdns_done_fn *done, void *arg,
			 const char **error_r);

/* Arm the read of the workers' eventfd on ring (on the loop's thread); results are
   handed to done from the loop's completion switch from then on. */
void rdns_attach(struct rdns *d, struct ring *ring);

/* Queue a lookup of peer for cookie. Returns 0, or -EAGAIN when the queue is full
   (n_workers * RDNS_PENDING_PER_WORKER lookups outstanding): nothing was queued. */
int rdns_submit(struct rdns *d, const struct sockaddr_storage *peer, void *cookie);

/* Forget cookie's lookups: queued ones are dropped, the results of running ones are
   never handed to done. */
void rdns_cancel(struct rdns *d, void *cookie);

/* Stop the threads (a lookup under way finishes first; a test delay is cut short),
   drop every result and free d; *d becomes NULL. Call after the ring is gone (its
   pending read points into d). *d may be NULL. */
void rdns_destroy(struct rdns **d);

/* Short text for a status ("no name", ...), for logs. */
const char *rdns_status_text(enum rdns_status status);

/* Whether name is a host name fit for logs and rules: 1..253 bytes of letters,
   digits, '-', '_' and '.', no empty label, no leading '-' in a label. */
bool rdns_name_valid(const char *name);

/* The address to look up: an IPv4-mapped IPv6 peer becomes plain IPv4 (port 0 kept
   as given). Returns its length. */
socklen_t rdns_lookup_addr(const struct sockaddr_storage *peer, struct sockaddr_storage *out);

/* Whether the forward lookup list contains peer's address (IPv4 and IPv4-mapped IPv6
   compare equal; ports are ignored). */
bool rdns_confirms(const struct sockaddr_storage *peer, const struct addrinfo *list);

#endif
