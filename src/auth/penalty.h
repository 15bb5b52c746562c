/* Failed-login penalties keyed by client address and user name, decaying with time. */
#ifndef AUTH_PENALTY_H
#define AUTH_PENALTY_H

#include <stdint.h>

/* Entries kept at most (the oldest in a bucket makes room for a new one). */
#define AUTH_PENALTY_MAX_ENTRIES 16384
/* One failure is forgiven per this much time without failures. */
#define AUTH_PENALTY_DECAY_MS (5 * 60 * 1000)

struct auth_penalty;

/* A new empty table. Never NULL (aborts when out of memory). */
struct auth_penalty *auth_penalty_new(void);

/* Record a failed login of user from addr (a 16-byte address key) at now_ms and
   return how long to wait before answering it: base_ms doubled for each earlier
   failure of the same pair that has not decayed yet, at most max_ms (0 when
   base_ms is 0). A success of another user from the same address does not reset
   it, so one valid account does not buy unlimited guesses at another's password. */
unsigned auth_penalty_fail(struct auth_penalty *p, const unsigned char addr[16],
			   const char *user, uint64_t now_ms, unsigned base_ms, unsigned max_ms);

/* The failures of the pair not yet decayed at now_ms (0 when unknown). */
unsigned auth_penalty_count(struct auth_penalty *p, const unsigned char addr[16],
			    const char *user, uint64_t now_ms);

/* A successful login of user from addr: that pair's failures are forgotten. */
void auth_penalty_success(struct auth_penalty *p, const unsigned char addr[16],
			  const char *user);

/* Free the table and NULL *p (NULL allowed). */
void auth_penalty_free(struct auth_penalty **p);

#endif
