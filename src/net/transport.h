/* Transport vtable on a connection: plain TCP now, TLS later; the protocol never knows. */
#ifndef NET_TRANSPORT_H
#define NET_TRANSPORT_H

#include <stddef.h>
#include <sys/uio.h>

struct conn;

struct transport_vfuncs {
	const char *name;
	/* Wire bytes arrived (valid only during the call). Deliver the plaintext with
	   conn_deliver(). Returns 0, or -1 when the connection must close. */
	int (*recv)(struct conn *c, const unsigned char *data, size_t len);
	/* Fill up to max iovecs with wire bytes to send next (for plain: the output
	   queue itself). Returns the count (0: nothing to send) or -1 on error. */
	int (*send_iov)(struct conn *c, struct iovec *iov, int max);
	/* n wire bytes of what send_iov() offered were sent. */
	void (*sent)(struct conn *c, size_t n);
	/* The connection is closing: queue a goodbye (e.g. TLS close_notify). */
	void (*shutdown)(struct conn *c);
	/* Free the transport's state. */
	void (*free)(struct conn *c);
	/* Whether the channel is confidential (TLS). */
	int secure;
};

extern const struct transport_vfuncs transport_plain;

#endif
