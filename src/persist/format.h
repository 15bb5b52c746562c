/* On-disk formats of the snapshot and the journal (little-endian), and a byte builder. */
#ifndef PERSIST_FORMAT_H
#define PERSIST_FORMAT_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "persist: the on-disk format is written in host order; port the put/get helpers"
#endif

/*
 * Snapshot file ("snapshot.uimap")
 * --------------------------------
 *   header   64 bytes: magic "UIMAPSNP", version, the journal seq it covers, the
 *            global UIDVALIDITY counter, ... and a CRC32C of the first 60 bytes.
 *   sections one after another, each
 *              section header 32 bytes: u32 type, u32 count (blobs, messages),
 *                             u64 payload length, u64 first blob id (BLOBS),
 *                             u32 0, u32 CRC32C of the first 28 bytes
 *              payload
 *              CRC32C of the payload (4 bytes), zero padding to a multiple of 8
 *   the END section is the trailer: its payload repeats the counts; a file without
 *   it is truncated.
 *
 * Section types:
 *   BLOBS  count x u64 sizes, then the bytes back to back. Blobs get global ids
 *          in file order (first id in the header, so a corrupt section's ids are
 *          known); COPY-shared blobs are written once.
 *   USER   one user: str name, u32 n_subs x str, u32 n_boxes x mailbox, where
 *          mailbox = str name, u32 uidvalidity, u32 uidnext, u32 first_recent_uid,
 *                    u32 special_use, u32 noselect, u64 modseq,
 *                    u32 n_keywords x str, u32 n_msgs x msg (40 bytes:
 *                    u32 uid, u8 flags, u8 0, i16 tz_minutes, u64 modseq,
 *                    u64 keywords, i64 internaldate, u64 blob id),
 *          then (version 2) u32 has_quota, u64 quota bytes, u64 quota messages
 *          (an administrator's SETQUOTA), u32 n_keys x (str mailbox, 32 bytes key)
 *          (URLAUTH mailbox access keys, RFC 4467; version 1 files have neither),
 *          then (version 3) u64 as_of: the user's state is the one after journal
 *          record as_of (>= the header's journal seq: a background snapshot
 *          writes users one after another while changes go on), so replay skips
 *          this user's records up to it
 *          strings are u32 length + bytes. Only live messages are written (UIDNEXT
 *          and HIGHESTMODSEQ keep the expunged ones from being reused).
 *   END    u64 sections before it, u64 users, u64 blobs, u64 file offset of END.
 *
 * Journal file ("journal.<16 hex digits>.uimap")
 * ----------------------------------------------
 *   header 32 bytes: magic "UIMAPJNL", version, u64 journal number, CRC32C.
 *   records, each: u32 payload length, u32 CRC32C (of the other 20 header bytes and
 *   the payload), u64 seq (global, +1 per record, across files), u16 type,
 *   u16 0, u32 0, then the payload (enum store_change_type fields, strings as in
 *   the snapshot; APPEND carries u64 size + the message bytes; URLAUTH_KEY carries
 *   str mailbox ("" for all of the user's keys), u32 has_key, 32 bytes key, zero
 *   when removed).
 */

#define SNAP_MAGIC "UIMAPSNP"
#define SNAP_VERSION 3u
#define SNAP_HEADER_SIZE 64u
#define SNAP_SECTION_HEADER 32u
#define SNAP_MSG_SIZE 40u
#define SNAP_FILE "snapshot.uimap"
#define SNAP_TMP_FILE "snapshot.uimap.tmp"

enum snap_section {
	SNAP_SEC_BLOBS = 1,
	SNAP_SEC_USER = 2,
	SNAP_SEC_END = 3,
};

#define JNL_MAGIC "UIMAPJNL"
#define JNL_VERSION 1u
#define JNL_HEADER_SIZE 32u
#define JNL_REC_HEADER 24u
#define JNL_PREFIX "journal."
#define JNL_SUFFIX ".uimap"

/* Mod-sequences are positive 63-bit numbers (RFC 7162 §7, mod-sequence-value): a
   loaded one above this is corrupt (and the store's ++modseq would wrap). */
#define PERSIST_MODSEQ_MAX ((uint64_t)INT64_MAX)

/* Record types: enum store_change_type + 1 (0 is never valid). New types are only
   appended (COPY, a reference to the copied message, is 11), so old journals read. */
#define JNL_TYPE_OF(change) ((uint16_t)((change) + 1))

static inline void put_u16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put_u32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put_u64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t get_u16(const unsigned char *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get_u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get_u64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A bounds-checked reader: every get fails (returns false) once the input ran out,
   and stays failed. */
struct reader {
	const unsigned char *p, *end;
	bool bad;
};

bool rd_u8(struct reader *r, uint8_t *v);
bool rd_u16(struct reader *r, uint16_t *v);
bool rd_u32(struct reader *r, uint32_t *v);
bool rd_u64(struct reader *r, uint64_t *v);
/* A string: *s points into the input (not NUL-terminated), *len its length;
   fails when longer than max. */
bool rd_str(struct reader *r, const char **s, uint32_t *len, uint32_t max);
bool rd_bytes(struct reader *r, const unsigned char **p, size_t n);

#endif
