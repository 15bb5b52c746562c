/* Per-client-address counters: open connections and recent failed logins. */
#ifndef NET_IPTABLE_H
#define NET_IPTABLE_H

#include <stdint.h>
#include <sys/socket.h>

struct ipentry {
	struct ipentry *next;
	unsigned char addr[16];  /* IPv6, or IPv4-mapped IPv6 */
	unsigned conns;
	unsigned unauth;         /* of which not authenticated yet */
	unsigned fails;          /* failed logins in a row */
	uint64_t last_fail_ms;
};

struct iptable {
	struct ipentry **buckets;
	unsigned n_buckets;      /* power of two */
	unsigned n_entries;
};

/* Normalise a peer address into the 16-byte key. */
void ip_key(const struct sockaddr_storage *ss, unsigned char key_r[16]);

/* The entry for key, created when create is set (NULL when absent and !create). */
struct ipentry *iptable_get(struct iptable *t, const unsigned char key[16], int create);

/* Drop entry e when it counts nothing any more (no connections, no recent failures
   as of now_ms given the forget_ms window). */
void iptable_maybe_drop(struct iptable *t, struct ipentry *e, uint64_t now_ms,
			uint64_t forget_ms);

/* Free every entry. */
void iptable_free(struct iptable *t);

#endif
