/* IMAP session: the protocol state of one connection, fed with plaintext input. */
#ifndef IMAP_SESSION_H
#define IMAP_SESSION_H

#include <stddef.h>

struct conn;
struct session;
struct uimap_server;

/* Create the session for a new connection and queue the greeting. */
struct session *session_create(struct conn *c);

/* Plaintext input from the client (valid only during the call). Complete
   commands are run; partial ones are kept. */
void session_input(struct session *s, const unsigned char *data, size_t len);

/* The output queue drained below the low-water mark: resume paused work. */
void session_output_drained(struct session *s);

/* Seconds of idleness allowed in the current state (0 = unlimited). */
unsigned session_idle_timeout(const struct session *s);

/* The idle timeout expired: queue "* BYE" (the caller closes). */
void session_timed_out(struct session *s);

/* Server shutdown: queue "* BYE" (the caller closes). */
void session_server_shutdown(struct session *s);

/* Whether the session waits for an asynchronous result (e.g. a password check)
   and so must not be freed yet. */
int session_busy(const struct session *s);

/* The auth worker answered for the session cookie (result as verify_plain). */
void session_auth_done(void *cookie, int result, const char *error);

/* Push pending mailbox changes to the sessions whose views were woken (IDLE).
   Called by the loop once per turn, outside any store call. */
void session_run_wakeups(struct uimap_server *srv);

/* Free the session and NULL *s. */
void session_free(struct session **s);

#endif
