/* Content decoding for SEARCH: quoted-printable, base64, RFC 2047 words, charsets to UTF-8. */
#ifndef MAIL_CHARSET_H
#define MAIL_CHARSET_H

#include "core/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Append len bytes of text in charset cs (cs_len bytes, case-insensitive name,
   surrounding blanks and quotes ignored) to out as UTF-8, by iconv(3): every charset
   glibc knows, a few mail names mapped to the superset mail means (gb2312 and gbk
   read as GB18030, euc-kr and ks_c_5601-1987 as CP949, big5 as BIG5-HKSCS,
   shift_jis as WINDOWS-31J, iso-2022-jp as ISO-2022-JP-2). Each call starts from
   the initial shift state. A byte iconv rejects (and a truncated sequence at the
   end) becomes U+FFFD; utf-8 is checked the same way; us-ascii and an empty name
   are copied as they are. Returns true when converted (or copied as us-ascii),
   false when iconv does not know cs: the bytes are then copied unchanged.
   Descriptors are cached per thread (32, least recently used closed). */
bool mail_charset_convert(struct buf *out, const char *cs, size_t cs_len, const char *s,
			  size_t len);

/* mail_charset_convert() without the result. */
void mail_charset_to_utf8(struct buf *out, const char *cs, size_t cs_len, const char *s,
			  size_t len);

/* Whether mail_charset_convert() converts (or copies as us-ascii) charset cs. */
bool mail_charset_known(const char *cs, size_t cs_len);

/* The charsets named in NO [BADCHARSET (...)] (RFC 3501 §7.1): a few of those known. */
#define MAIL_CHARSET_BADCHARSET_LIST \
	"UTF-8 US-ASCII ISO-8859-1 ISO-8859-15 WINDOWS-1252 WINDOWS-1251 KOI8-R " \
	"ISO-2022-JP SHIFT_JIS EUC-JP GB2312 GBK GB18030 BIG5 EUC-KR UTF-16 UTF-7"

/* Decode quoted-printable (RFC 2045 6.7; header true: RFC 2047 "Q", '_' is a space)
   leniently: bad escapes are kept as they are. Appends to out. */
void mail_qp_decode(struct buf *out, const char *s, size_t len, bool header);

/* The same into out (room for len bytes: never longer than the input), or only
   counting when out is NULL. Returns the decoded length. */
size_t mail_qp_decode_to(char *out, const char *s, size_t len, bool header);

/* Decode base64 leniently: characters outside the alphabet are skipped, decoding
   stops at '='. Appends to out. */
void mail_base64_decode(struct buf *out, const char *s, size_t len);

/* Decode base64 into out (room for len / 4 * 3 + 3 bytes), or only count when out is
   NULL. Not strict: as mail_base64_decode(). strict: only the alphabet and line
   breaks/blanks before the '=' padding, only padding and blanks after it, no
   dangling character: -1 otherwise (a broken part, RFC 3516's BINARY refuses it).
   Returns the decoded length. */
ssize_t mail_base64_decode_to(char *out, const char *s, size_t len, bool strict);

/* Append header value s (unfolded or not: CR/LF are dropped) to out with its RFC 2047
   encoded words decoded to UTF-8 (whitespace between adjacent encoded words dropped);
   the other bytes are copied. */
void mail_rfc2047_decode(struct buf *out, const char *s, size_t len);

#endif
