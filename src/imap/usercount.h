/* Logged-in sessions per user (the seed's concurrent_user_connections), for the
   per-user connection limit and the embedding API. */
#ifndef IMAP_USERCOUNT_H
#define IMAP_USERCOUNT_H

struct usercount;

/* A new empty table. Never NULL (aborts when out of memory). */
struct usercount *usercount_new(void);

/* How many sessions user has now. */
unsigned usercount_get(const struct usercount *t, const char *user);

/* One more / one fewer session of user (a user at 0 is forgotten). */
void usercount_add(struct usercount *t, const char *user);
void usercount_remove(struct usercount *t, const char *user);

/* Free the table and NULL *t (NULL allowed). */
void usercount_free(struct usercount **t);

#endif
