/* COMPRESS=DEFLATE (RFC 4978): a raw deflate stage between the protocol's output queue
   and the transport, and an inflate stage between the transport and the protocol. */
#ifndef NET_COMPRESS_H
#define NET_COMPRESS_H

#include "core/outq.h"

#include <stdbool.h>
#include <stddef.h>

/*
 * Window and memory choices (docs/extensions.md, "COMPRESS"):
 * - deflate: windowBits -12 (a 4 KiB history) and memLevel 5 cost
 *   (1 << (12 + 2)) + (1 << (5 + 9)) = 32 KiB plus ~6 KiB of state, instead of the
 *   256 KiB of zlib's defaults; level 1 (the fastest; bodies are mostly sent once).
 * - inflate: windowBits -15. A raw deflate stream does not say which window the
 *   sender used and back references reach up to 32 KiB, so an inflater with a
 *   smaller window cannot read every client's stream (~7 KiB state + 32 KiB window,
 *   allocated by zlib on first use).
 */
#define COMPRESS_DEFLATE_WBITS (-12)
#define COMPRESS_DEFLATE_MEMLEVEL 5
#define COMPRESS_DEFLATE_LEVEL 1
#define COMPRESS_INFLATE_WBITS (-15)

/* Stop deflating the protocol's queue while this much compressed output waits. */
#define COMPRESS_OUT_HIGH (128 * 1024)
/* Plaintext handed to the protocol per inflate step (the bound on what one step of
   a decompression bomb can produce). */
#define COMPRESS_CHUNK 16384
/* Compressed input kept while the protocol does not read (recv paused); more is an
   error (the ring stops delivering soon after a pause). */
#define COMPRESS_PEND_MAX (512 * 1024)

struct compress_state;

/* Where inflated bytes go: called with up to COMPRESS_CHUNK bytes, valid only during
   the call. Returns true to go on, false to stop (the rest is kept as pending input). */
typedef bool compress_sink(void *ctx, const unsigned char *data, size_t len);

/* A new state with both zlib streams. Returns NULL when out of memory. */
struct compress_state *compress_new(void);

/* Free the state; NULLs *z. */
void compress_free(struct compress_state **z);

/* Bytes zlib holds for this state now (through its zalloc hook). */
size_t compress_mem(const struct compress_state *z);

/* The queue of compressed bytes for the transport. */
struct outq *compress_out(struct compress_state *z);

/* Deflate from in into compress_out(z), reading in's segments (text and references
   into message blobs) in place and consuming them; zlib writes into out's chunks.
   Stops while out holds COMPRESS_OUT_HIGH; when in is empty, ends with a sync flush
   (RFC 4978 §4: everything queued reaches the client). Returns 0, or -1 on a zlib
   error. */
int compress_pump(struct compress_state *z, struct outq *in);

/* Compressed input: queued behind earlier pending input, or inflated at once
   (when none is pending) to sink in COMPRESS_CHUNK steps until sink returns false,
   the rest being kept. Returns 0, or -1 for corrupt data, data after the end of
   the stream, or more than COMPRESS_PEND_MAX pending. */
int compress_input(struct compress_state *z, const unsigned char *data, size_t len,
		   compress_sink *sink, void *ctx);

/* Queue compressed input behind what is pending without inflating it (the bytes
   pipelined after COMPRESS). Returns 0, or -1 beyond COMPRESS_PEND_MAX. */
int compress_defer(struct compress_state *z, const unsigned char *data, size_t len);

/* Inflate the pending input to sink as compress_input() does. Returns 0 or -1. */
int compress_resume(struct compress_state *z, compress_sink *sink, void *ctx);

/* Whether compressed input is pending. */
bool compress_has_pending(const struct compress_state *z);

#endif
