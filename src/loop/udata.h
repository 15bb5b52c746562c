/* The one io_uring user_data encoding: an object pointer (16-byte aligned) | op kind. */
#ifndef LOOP_UDATA_H
#define LOOP_UDATA_H

#include <stdint.h>

enum op_kind {
	OP_NONE = 0,    /* ignored completions (e.g. cancel requests themselves) */
	OP_ACCEPT = 1,  /* ptr: struct listener, multishot */
	OP_RECV = 2,    /* ptr: struct conn, multishot into the provided buffer ring */
	OP_SEND = 3,    /* ptr: struct conn, one send/sendmsg of its output queue */
	OP_HUP = 4,     /* ptr: struct conn, poll for its hang-up while admission waits */
	OP_WAKE = 5,    /* ptr: struct net_server, read of the wake eventfd */
	/* ptr: struct ring_handler, whose fn gets the completion: the operations of
	   the modules above the connection layer (signalfd read, auth worker eventfd,
	   journal fdatasync, snapshot child pidfd poll), each owned by its module */
	OP_HANDLER = 6,
	OP_KIND_MASK = 15,
};


static inline uint64_t udata_make(const void *ptr, enum op_kind op)
{
	return (uint64_t)(uintptr_t)ptr | (uint64_t)op;
}

static inline enum op_kind udata_op(uint64_t ud)
{
	return (enum op_kind)(ud & OP_KIND_MASK);
}

static inline void *udata_ptr(uint64_t ud)
{
	return (void *)(uintptr_t)(ud & ~(uint64_t)OP_KIND_MASK);
}

#endif
