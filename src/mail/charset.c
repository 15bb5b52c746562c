/* Decoders used by SEARCH: QP, base64, RFC 2047, and charsets to UTF-8 by iconv(3). */
#include "mail/charset.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistr.h>

/* Charset names mapped to the glibc converter that reads them best: mail labels
   text with the name of a subset (gb2312, euc-kr, big5, shift_jis) and writes the
   superset's characters, as the WHATWG Encoding Standard observes. */
static const struct {
	const char *name, *iconv_name;
} aliases[] = {
	{ "gb2312", "GB18030" }, { "gbk", "GB18030" }, { "euc-cn", "GB18030" },
	{ "x-gbk", "GB18030" }, { "cp936", "GB18030" }, { "csgb2312", "GB18030" },
	{ "chinese", "GB18030" }, { "x-euc-cn", "GB18030" },
	{ "big5", "BIG5-HKSCS" }, { "x-x-big5", "BIG5-HKSCS" }, { "cn-big5", "BIG5-HKSCS" },
	{ "big-5", "BIG5-HKSCS" },
	{ "euc-kr", "CP949" }, { "ks_c_5601-1987", "CP949" }, { "ks_c_5601", "CP949" },
	{ "ks_c_5601-1989", "CP949" }, { "ksc5601", "CP949" }, { "ksc_5601", "CP949" },
	{ "x-windows-949", "CP949" }, { "windows-949", "CP949" }, { "korean", "CP949" },
	{ "shift_jis", "WINDOWS-31J" }, { "shift-jis", "WINDOWS-31J" },
	{ "x-sjis", "WINDOWS-31J" }, { "sjis", "WINDOWS-31J" }, { "ms_kanji", "WINDOWS-31J" },
	{ "csshiftjis", "WINDOWS-31J" },
	{ "iso-2022-jp", "ISO-2022-JP-2" }, { "csiso2022jp", "ISO-2022-JP-2" },
	{ "x-euc-jp", "EUC-JP" },
	{ "unicode-1-1-utf-7", "UTF-7" }, { "x-unicode-2-0-utf-7", "UTF-7" },
	{ "x-mac-roman", "MACINTOSH" }, { "x-mac-cyrillic", "MAC-CYRILLIC" },
};

enum cs_kind { CS_COPY, CS_UTF8, CS_ICONV };

/* The name lower-cased into out (size bytes) and what reads it; false when too long. */
static bool cs_name(const char *cs, size_t len, char *out, size_t size)
{
	while (len > 0 && (cs[0] == ' ' || cs[0] == '\t' || cs[0] == '"')) {
		cs++;
		len--;
	}
	while (len > 0 && (cs[len - 1] == ' ' || cs[len - 1] == '\t' || cs[len - 1] == '"'))
		len--;
	if (len >= size)
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)cs[i]);
	out[len] = '\0';
	return true;
}

static enum cs_kind cs_kind(const char *name)
{
	static const char *const copied[] = { "", "us-ascii", "ascii", "ansi_x3.4-1968",
		"us", "csascii", "iso646-us" };

	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++)
		if (strcmp(name, copied[i]) == 0)
			return CS_COPY;
	if (strcmp(name, "utf-8") == 0 || strcmp(name, "utf8") == 0)
		return CS_UTF8;
	return CS_ICONV;
}

/* iconv_open() loads glibc's gconv module (dlopen) and iconv_close() may unload it:
   the descriptors are kept, the least recently used one closed when a new charset
   comes (a charset iconv does not know is remembered too). One cache per thread. */
#define CD_CACHE 32

struct cd_entry {
	char name[40];          /* lower-cased, "" = free */
	iconv_t cd;             /* (iconv_t)-1: iconv does not know the charset */
	uint64_t used;
};

static _Thread_local struct cd_entry cd_cache[CD_CACHE];
static _Thread_local uint64_t cd_clock;

/* The descriptor converting name (lower-cased) to UTF-8, or (iconv_t)-1. */
static iconv_t cd_get(const char *name)
{
	struct cd_entry *victim = &cd_cache[0];
	const char *iconv_name = name;

	for (size_t i = 0; i < CD_CACHE; i++) {
		if (cd_cache[i].name[0] != '\0' && strcmp(cd_cache[i].name, name) == 0) {
			cd_cache[i].used = ++cd_clock;
			return cd_cache[i].cd;
		}
		if (cd_cache[i].used < victim->used)
			victim = &cd_cache[i];
	}
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(name, aliases[i].name) == 0)
			iconv_name = aliases[i].iconv_name;
	if (victim->name[0] != '\0' && victim->cd != (iconv_t)-1)
		iconv_close(victim->cd);
	victim->cd = iconv_open("UTF-8", iconv_name);
	snprintf(victim->name, sizeof(victim->name), "%s", name);
	victim->used = ++cd_clock;
	return victim->cd;
}

static void put_replacement(struct buf *out)
{
	buf_append(out, "\xef\xbf\xbd", 3);
}

/* UTF-8 copied, each byte that starts no valid sequence replaced by U+FFFD. */
static void utf8_clean(struct buf *out, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + len;

	while (p < end) {
		const uint8_t *bad = u8_check(p, (size_t)(end - p));

		if (bad == NULL) {
			buf_append(out, p, (size_t)(end - p));
			return;
		}
		buf_append(out, p, (size_t)(bad - p));
		put_replacement(out);
		p = bad + 1;
	}
}

/* Convert through cd, from its initial shift state (ISO-2022-JP, UTF-7 keep one):
   a sequence iconv rejects, or an incomplete one at the end, becomes U+FFFD. */
static void iconv_all(iconv_t cd, struct buf *out, const char *s, size_t len)
{
	char *in = (char *)s, *o;
	size_t in_left = len, o_left;

	iconv(cd, NULL, NULL, NULL, NULL);
	while (in_left > 0) {
		buf_reserve(out, in_left * 2 + 16);
		o = out->data + out->len;
		o_left = out->cap - out->len;
		size_t r = iconv(cd, &in, &in_left, &o, &o_left);
		int err = errno;

		out->len = (size_t)(o - out->data);
		if (r != (size_t)-1 || err == E2BIG)
			continue;
		/* EILSEQ: the byte becomes U+FFFD; EINVAL: truncated at the end */
		put_replacement(out);
		if (err != EILSEQ)
			break;
		in++;
		in_left--;
	}
	/* back to the initial shift state (nothing for most charsets) */
	buf_reserve(out, 16);
	o = out->data + out->len;
	o_left = out->cap - out->len;
	iconv(cd, NULL, NULL, &o, &o_left);
	out->len = (size_t)(o - out->data);
}

bool mail_charset_convert(struct buf *out, const char *cs, size_t cs_len, const char *s,
			  size_t len)
{
	char name[40];

	if (!cs_name(cs, cs_len, name, sizeof(name))) {
		buf_append(out, s, len);
		return false;
	}
	switch (cs_kind(name)) {
	case CS_COPY:
		buf_append(out, s, len);
		return true;
	case CS_UTF8:
		utf8_clean(out, s, len);
		return true;
	case CS_ICONV:
		break;
	}
	iconv_t cd = cd_get(name);

	if (cd == (iconv_t)-1) {
		buf_append(out, s, len);
		return false;
	}
	iconv_all(cd, out, s, len);
	return true;
}

void mail_charset_to_utf8(struct buf *out, const char *cs, size_t cs_len, const char *s,
			  size_t len)
{
	(void)mail_charset_convert(out, cs, cs_len, s, len);
}

bool mail_charset_known(const char *cs, size_t cs_len)
{
	char name[40];

	if (!cs_name(cs, cs_len, name, sizeof(name)))
		return false;
	return cs_kind(name) != CS_ICONV || cd_get(name) != (iconv_t)-1;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Append n bytes to out (NULL: count only) at *o. */
static void put(char *out, size_t *o, const char *s, size_t n)
{
	if (out != NULL)
		memcpy(out + *o, s, n);
	*o += n;
}

size_t mail_qp_decode_to(char *out, const char *s, size_t len, bool header)
{
	size_t o = 0, blanks = 0;   /* blanks seen and not yet written */
	for (size_t i = 0; i < len;) {
		char c = s[i];
		if (c == ' ' || c == '\t') {
			blanks++;
			i++;
			continue;
		}
		if (c == '\r' || c == '\n') {
			/* RFC 2045 §6.7 (3): blanks at the end of a line were added in transit */
			blanks = 0;
			put(out, &o, s + i, 1);
			i++;
			continue;
		}
		if (blanks > 0) {
			put(out, &o, s + i - blanks, blanks);
			blanks = 0;
		}
		if (header && c == '_') {
			put(out, &o, " ", 1);
			i++;
			continue;
		}
		if (c != '=') {
			put(out, &o, s + i, 1);
			i++;
			continue;
		}
		if (i + 2 < len && hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			char d = (char)(hexval((unsigned char)s[i + 1]) * 16 +
					hexval((unsigned char)s[i + 2]));
			put(out, &o, &d, 1);
			i += 3;
			continue;
		}
		/* soft line break: '=' [blanks] [CR] LF, or '=' at the very end */
		size_t k = i + 1;
		while (k < len && (s[k] == ' ' || s[k] == '\t'))
			k++;
		if (k < len && s[k] == '\r')
			k++;
		if (k < len && s[k] == '\n') {
			i = k + 1;
			continue;
		}
		if (k >= len) {
			i = len;
			continue;
		}
		/* a bad escape is kept as it is */
		put(out, &o, "=", 1);
		i++;
	}
	if (blanks > 0 && header)
		put(out, &o, s + len - blanks, blanks);
	return o;
}

void mail_qp_decode(struct buf *out, const char *s, size_t len, bool header)
{
	if (len == 0)
		return;   /* (a NULL buffer plus 0 would be undefined) */
	/* the decoded text is never longer than the encoded */
	buf_reserve(out, len);
	out->len += mail_qp_decode_to(out->data + out->len, s, len, header);
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ssize_t mail_base64_decode_to(char *out, const char *s, size_t len, bool strict)
{
	unsigned acc = 0, bits = 0;
	size_t o = 0, i;

	for (i = 0; i < len; i++) {
		int v = b64val((unsigned char)s[i]);

		if (v < 0) {
			if (s[i] == '=')
				break;
			/* RFC 2045 §6.8: line breaks (and, leniently, blanks) are not data */
			if (strict && s[i] != '\r' && s[i] != '\n' && s[i] != ' ' && s[i] != '\t')
				return -1;
			continue;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			char c = (char)((acc >> bits) & 0xff);
			put(out, &o, &c, 1);
		}
	}
	if (strict) {
		/* a lone character (6 bits) is no octet; after padding only padding */
		if (bits == 6)
			return -1;
		for (; i < len; i++)
			if (s[i] != '=' && s[i] != '\r' && s[i] != '\n' && s[i] != ' ' &&
			    s[i] != '\t')
				return -1;
	}
	return (ssize_t)o;
}

void mail_base64_decode(struct buf *out, const char *s, size_t len)
{
	if (len == 0)
		return;
	buf_reserve(out, len / 4 * 3 + 3);
	out->len += (size_t)mail_base64_decode_to(out->data + out->len, s, len, false);
}

/* One encoded word at s: returns its length and appends the decoded text, or 0. */
static size_t encoded_word(struct buf *out, const char *s, size_t len)
{
	size_t i = 2, cs_start = 2, cs_end, enc, text_start;

	if (len < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	while (i < len && s[i] != '?' && s[i] != ' ' && s[i] != '\t')
		i++;
	if (i >= len || s[i] != '?' || i == cs_start)
		return 0;
	cs_end = i;
	enc = i + 1;
	if (enc + 1 >= len || s[enc + 1] != '?')
		return 0;
	text_start = enc + 2;
	for (i = text_start; i + 1 < len; i++) {
		if (s[i] == '?' && s[i + 1] == '=')
			break;
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
			return 0;
	}
	if (i + 1 >= len)
		return 0;
	/* RFC 2231 language suffix: charset*lang */
	const char *star = memchr(s + cs_start, '*', cs_end - cs_start);
	size_t cs_len = star != NULL ? (size_t)(star - (s + cs_start)) : cs_end - cs_start;
	struct buf raw = { 0 };

	if (s[enc] == 'B' || s[enc] == 'b')
		mail_base64_decode(&raw, s + text_start, i - text_start);
	else if (s[enc] == 'Q' || s[enc] == 'q')
		mail_qp_decode(&raw, s + text_start, i - text_start, true);
	else
		return 0;
	mail_charset_to_utf8(out, s + cs_start, cs_len, raw.data != NULL ? raw.data : "",
			     raw.len);
	buf_free(&raw);
	return i + 2;
}

void mail_rfc2047_decode(struct buf *out, const char *s, size_t len)
{
	struct buf ws = { 0 };  /* whitespace seen since the last word */
	bool last_encoded = false;

	for (size_t i = 0; i < len;) {
		char c = s[i];

		if (c == '\r' || c == '\n') {
			i++;
			continue;
		}
		if (c == ' ' || c == '\t') {
			buf_append(&ws, &c, 1);
			i++;
			continue;
		}
		if (c == '=' && i + 1 < len && s[i + 1] == '?') {
			struct buf word = { 0 };
			size_t n = encoded_word(&word, s + i, len - i);

			if (n > 0) {
				if (!last_encoded)
					buf_append(out, ws.data, ws.len);
				ws.len = 0;
				buf_append(out, word.data, word.len);
				buf_free(&word);
				last_encoded = true;
				i += n;
				continue;
			}
			buf_free(&word);
		}
		buf_append(out, ws.data, ws.len);
		ws.len = 0;
		last_encoded = false;
		buf_append(out, &c, 1);
		i++;
	}
	buf_append(out, ws.data, ws.len);
	buf_free(&ws);
}
