/* Unit tests for src/mail/charset.c: every charset to UTF-8 by iconv(3) (samples
   encoded by Python's codecs), the stateful ISO-2022-JP, U+FFFD for invalid bytes,
   RFC 2047 words, and SEARCH over parts in those charsets. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/blob.h"
#include "mail/charset.h"
#include "mail/mime.h"
#include "mail/text-search.h"

static const struct {
	const char *charset, *in;
	size_t in_len;
	const char *utf8;
} samples[] = {
	{ "ISO-2022-JP", "\x1b\x24\x42\x46\x7c\x4b\x5c\x38\x6c\x24\x4e\x25\x46\x25\x2d\x25\x39\x25\x48\x1b\x28\x42", 22, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88" },
	{ "Shift_JIS", "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x83\x65\x83\x4c\x83\x58\x83\x67", 16, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88" },
	{ "EUC-JP", "\xc6\xfc\xcb\xdc\xb8\xec\xa4\xce\xa5\xc6\xa5\xad\xa5\xb9\xa5\xc8", 16, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88" },
	{ "GB2312", "\xd6\xd0\xce\xc4\xd3\xca\xbc\xfe\xb2\xe2\xca\xd4", 12, "\xe4\xb8\xad\xe6\x96\x87\xe9\x82\xae\xe4\xbb\xb6\xe6\xb5\x8b\xe8\xaf\x95" },
	{ "GBK", "\xd6\xd0\xce\xc4\xe0\x5d\xbc\xfe\x9c\x79\xd4\x87", 12, "\xe4\xb8\xad\xe6\x96\x87\xe9\x83\xb5\xe4\xbb\xb6\xe6\xb8\xac\xe8\xa9\xa6" },
	{ "GB18030", "\xd6\xd0\xce\xc4\xd3\xca\xbc\xfe\xb2\xe2\xca\xd4\xa2\xe3", 14, "\xe4\xb8\xad\xe6\x96\x87\xe9\x82\xae\xe4\xbb\xb6\xe6\xb5\x8b\xe8\xaf\x95\xe2\x82\xac" },
	{ "Big5", "\xa4\xa4\xa4\xe5\xb6\x6c\xa5\xf3\xb4\xfa\xb8\xd5", 12, "\xe4\xb8\xad\xe6\x96\x87\xe9\x83\xb5\xe4\xbb\xb6\xe6\xb8\xac\xe8\xa9\xa6" },
	{ "EUC-KR", "\xc7\xd1\xb1\xb9\xbe\xee\x20\xb8\xde\xc0\xcf", 11, "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4\x20\xeb\xa9\x94\xec\x9d\xbc" },
	{ "ks_c_5601-1987", "\xc7\xd1\xb1\xb9\xbe\xee\x20\xb8\xde\xc0\xcf", 11, "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4\x20\xeb\xa9\x94\xec\x9d\xbc" },
	{ "KOI8-R", "\xf0\xd2\xc9\xd7\xc5\xd4\x2c\x20\xcd\xc9\xd2", 11, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\x2c\x20\xd0\xbc\xd0\xb8\xd1\x80" },
	{ "windows-1251", "\xcf\xf0\xe8\xe2\xe5\xf2\x2c\x20\xec\xe8\xf0", 11, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\x2c\x20\xd0\xbc\xd0\xb8\xd1\x80" },
	{ "windows-1250", "\x5a\x61\xbf\xf3\xb3\xe6\x20\x67\xea\x9c\x6c\xb9", 12, "\x5a\x61\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87\x20\x67\xc4\x99\xc5\x9b\x6c\xc4\x85" },
	{ "windows-1252", "\x63\x61\x66\xe9\x20\x93\x71\x75\x6f\x74\x65\x64\x94\x20\x80", 15, "\x63\x61\x66\xc3\xa9\x20\xe2\x80\x9c\x71\x75\x6f\x74\x65\x64\xe2\x80\x9d\x20\xe2\x82\xac" },
	{ "ISO-8859-1", "\x63\x61\x66\xe9\x20\x6e\x61\xef\x76\x65", 10, "\x63\x61\x66\xc3\xa9\x20\x6e\x61\xc3\xaf\x76\x65" },
	{ "ISO-8859-2", "\x5a\x61\xbf\xf3\xb3\xe6\x20\x67\xea\xb6\x6c\xb1", 12, "\x5a\x61\xc5\xbc\xc3\xb3\xc5\x82\xc4\x87\x20\x67\xc4\x99\xc5\x9b\x6c\xc4\x85" },
	{ "ISO-8859-5", "\xbf\xe0\xd8\xd2\xd5\xe2\x2c\x20\xdc\xd8\xe0", 11, "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\x2c\x20\xd0\xbc\xd0\xb8\xd1\x80" },
	{ "ISO-8859-7", "\xca\xe1\xeb\xe7\xec\xdd\xf1\xe1\x20\xea\xfc\xf3\xec\xe5", 14, "\xce\x9a\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1\x20\xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5" },
	{ "ISO-8859-15", "\xa4\x75\x72\x6f\x20\xbd\x75\x76\x72\x65", 10, "\xe2\x82\xac\x75\x72\x6f\x20\xc5\x93\x75\x76\x72\x65" },
	{ "UTF-16", "\xff\xfe\x47\x00\x72\x00\xfc\x00\xdf\x00\x65\x00\x20\x00\xe5\x65\x2c\x67", 18, "\x47\x72\xc3\xbc\xc3\x9f\x65\x20\xe6\x97\xa5\xe6\x9c\xac" },
	{ "UTF-16LE", "\x47\x00\x72\x00\xfc\x00\xdf\x00\x65\x00\x20\x00\xe5\x65\x2c\x67", 16, "\x47\x72\xc3\xbc\xc3\x9f\x65\x20\xe6\x97\xa5\xe6\x9c\xac" },
	{ "UTF-16BE", "\x00\x47\x00\x72\x00\xfc\x00\xdf\x00\x65\x00\x20\x65\xe5\x67\x2c", 16, "\x47\x72\xc3\xbc\xc3\x9f\x65\x20\xe6\x97\xa5\xe6\x9c\xac" },
	{ "UTF-7", "\x47\x72\x2b\x41\x50\x77\x41\x33\x77\x2d\x65\x20\x2b\x5a\x65\x56\x6e\x4c\x41\x2d", 20, "\x47\x72\xc3\xbc\xc3\x9f\x65\x20\xe6\x97\xa5\xe6\x9c\xac" },
	{ "UTF-8", "\x47\x72\xc3\xbc\xc3\x9f\x65\x20\xe6\x97\xa5\xe6\x9c\xac", 14, "\x47\x72\xc3\xbc\xc3\x9f\x65\x20\xe6\x97\xa5\xe6\x9c\xac" },
};

/* Convert and compare to want (NUL-terminated); returns what convert returned. */
static bool converts(const char *cs, const char *in, size_t len, const char *want)
{
	struct buf out = { 0 };
	bool r = mail_charset_convert(&out, cs, strlen(cs), in, len);

	cr_assert_eq(out.len, strlen(want), "%s: %zu bytes, want %zu (%.*s)", cs, out.len,
		     strlen(want), (int)out.len, out.data ? out.data : "");
	cr_assert(out.len == 0 || memcmp(out.data, want, out.len) == 0, "%s: %.*s", cs,
		  (int)out.len, out.data);
	buf_free(&out);
	return r;
}

Test(charset, samples)
{
	/* thrice: the descriptors come from the cache, then (after 40 other charsets
	   went through it: more than it holds) are opened again */
	static const char *const others[] = { "iso-8859-3", "iso-8859-4", "iso-8859-6",
		"iso-8859-8", "iso-8859-9", "iso-8859-10", "iso-8859-13", "iso-8859-14",
		"iso-8859-16", "windows-1253", "windows-1254", "windows-1255", "windows-1256",
		"windows-1257", "windows-1258", "koi8-u", "cp437", "cp850", "cp866", "tis-620",
		"euc-tw", "utf-32", "utf-32le", "ibm037", "macintosh", "armscii-8", "georgian-ps",
		"iso-2022-kr", "iso-2022-cn", "big5-hkscs", "x-nope-1", "x-nope-2", "cp1125",
		"mac-cyrillic", "viscii", "tcvn", "cp775", "cp852", "cp855", "cp857" };

	for (int round = 0; round < 3; round++) {
		if (round == 2)
			for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
				struct buf out = { 0 };

				bool known = mail_charset_convert(&out, others[i], strlen(others[i]),
								  "abcd", 4);

				cr_assert_eq(known, others[i][0] != 'x', "%s", others[i]);
				cr_assert_gt(out.len, 0, "%s", others[i]);
				buf_free(&out);
			}
		for (size_t i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
			cr_assert(converts(samples[i].charset, samples[i].in, samples[i].in_len,
					   samples[i].utf8), "%s converted", samples[i].charset);
			cr_assert(mail_charset_known(samples[i].charset,
						     strlen(samples[i].charset)));
		}
	}
}

Test(charset, names)
{
	/* case, blanks and quotes around the name do not matter */
	cr_assert(converts(" \"koi8-R\" ", "\xf0\xd2\xc9", 3, "\xd0\x9f\xd1\x80\xd0\xb8"));
	cr_assert(mail_charset_known("US-ASCII", 8));
	cr_assert(mail_charset_known("utf-8", 5));
	cr_assert(mail_charset_known("x-sjis", 6));
	cr_assert(converts("x-mac-cyrillic", "\x8f", 1, "\xd0\x9f"), "П");
	cr_assert(!mail_charset_known("x-nope", 6));
	cr_assert(!mail_charset_known("unknown-8bit", 12));
	/* unknown: the bytes are kept as they are, and false */
	cr_assert(!converts("x-nope", "caf\xe9", 4, "caf\xe9"));
	/* us-ascii (and no charset) copy: 8-bit bytes are searched raw */
	cr_assert(converts("us-ascii", "caf\xe9", 4, "caf\xe9"));
	cr_assert(converts("", "abc", 3, "abc"));
}

Test(charset, iso_2022_jp_state)
{
	/* a string that ends in JIS X 0208 mode, without ESC ( B: the next string
	   starts in ASCII again */
	const char *open = "\x1b\x24\x42\x46\x7c\x4b\x5c";  /* ESC $ B, then 日本 */

	cr_assert(converts("iso-2022-jp", open, strlen(open), "\xe6\x97\xa5\xe6\x9c\xac"));
	cr_assert(converts("iso-2022-jp", "F|K\\", 4, "F|K\\"), "the state was reset");
}

Test(charset, invalid_bytes)
{
	/* a byte that starts no sequence, and a truncated one at the end: U+FFFD */
	cr_assert(converts("utf-8", "a\xff" "b\xc3", 4, "a\xef\xbf\xbd" "b\xef\xbf\xbd"));
	cr_assert(converts("shift_jis", "a\x82", 2, "a\xef\xbf\xbd"));
	cr_assert(converts("euc-kr", "\xc7\xd1\xff" "a", 4, "\xed\x95\x9c\xef\xbf\xbd" "a"));
	cr_assert(converts("utf-16le", "a\x00" "b", 3, "a\xef\xbf\xbd"));
	/* windows-1252 leaves 0x81 undefined */
	cr_assert(converts("windows-1252", "\x80\x81", 2, "\xe2\x82\xac\xef\xbf\xbd"));
}

Test(charset, empty_input)
{
	/* fuzz-mime regression crash-342af3f9: QP of nothing into an empty buffer */
	struct buf out = { 0 };

	mail_qp_decode(&out, "", 0, true);
	cr_assert_eq(out.len, 0);
	cr_assert(mail_charset_convert(&out, "iso-2022-jp", 11, "", 0));
	cr_assert(mail_charset_convert(&out, "utf-8", 5, "", 0));
	mail_rfc2047_decode(&out, "=?utf-8?q?" "?=", 12);
	cr_assert_eq(out.len, 0);
	buf_free(&out);
}

Test(charset, rfc2047)
{
	struct buf out = { 0 };
	const char *s = "=?ISO-2022-JP?B?GyRCN29MPiROJUYlOSVIGyhC?= =?gb2312?B?1tDOxNPKvP6y4srU?= =?x-nope?Q?raw?=";

	mail_rfc2047_decode(&out, s, strlen(s));
	const char *want = "\xe4\xbb\xb6\xe5\x90\x8d\xe3\x81\xae\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88"
			   "\xe4\xb8\xad\xe6\x96\x87\xe9\x82\xae\xe4\xbb\xb6\xe6\xb5\x8b\xe8\xaf\x95raw";

	cr_assert_eq(out.len, strlen(want), "%.*s", (int)out.len, out.data);
	cr_assert(memcmp(out.data, want, out.len) == 0, "%.*s", (int)out.len, out.data);
	buf_free(&out);
}

static bool search(const char *msg, enum mail_search_scope scope, const char *name,
		   const char *needle)
{
	struct uimap_blob *blob = uimap_blob_new_copy(msg, strlen(msg));
	const struct mail_structure *st = mail_structure_get(blob);

	cr_assert_not_null(st);
	bool r = mail_search_text(blob, st, scope, name, needle);

	uimap_blob_unref(&blob);
	return r;
}

Test(charset, search_parts)
{
	const char *msg =
		"Subject: =?ISO-2022-JP?B?GyRCN29MPiROJUYlOSVIGyhC?=\r\n"
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		"--b\r\nContent-Type: text/plain; charset=\"ISO-2022-JP\"\r\n\r\n"
		"\x1b\x24\x42\x46\x7c\x4b\x5c\x38\x6c\x24\x4e\x25\x46\x25\x2d\x25\x39\x25\x48\x1b\x28\x42" "\r\n"
		"--b\r\nContent-Type: text/plain; charset=koi8-r\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n8NLJ18XULCDNydI=\r\n"
		"--b\r\nContent-Type: text/plain; charset=x-nope\r\n\r\nraw \xe9t\xe9\r\n"
		"--b--\r\n";

	/* テキスト in the ISO-2022-JP part */
	cr_assert(search(msg, MAIL_SEARCH_BODY, NULL, "\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88"));
	/* МИР in the koi8-r part, in capitals: the casemap */
	cr_assert(search(msg, MAIL_SEARCH_BODY, NULL, "\xd0\x9c\xd0\x98\xd0\xa0"));
	/* the raw bytes of a charset iconv does not know */
	cr_assert(search(msg, MAIL_SEARCH_BODY, NULL, "raw \xe9t\xe9"));
	/* テスト in the encoded subject */
	cr_assert(search(msg, MAIL_SEARCH_HEADER, "Subject", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88"));
	cr_assert(search(msg, MAIL_SEARCH_TEXT, NULL, "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88"));
	cr_assert(!search(msg, MAIL_SEARCH_BODY, NULL, "\xe4\xb8\xad"), "no 中");
}
