/* Decoders used by SEARCH: QP, base64, RFC 2047 and a few single-byte charsets. */
#include "mail/charset.h"

#include <string.h>
#include <strings.h>

/* windows-1252 0x80..0x9f (0 = undefined, copied as U+FFFD) */
static const unsigned short cp1252[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static void put_utf8(struct buf *out, unsigned cp)
{
	char b[4];

	if (cp < 0x80) {
		b[0] = (char)cp;
		buf_append(out, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		buf_append(out, b, 2);
	} else {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		buf_append(out, b, 3);
	}
}

static bool cs_is(const char *cs, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(cs, name, len) == 0;
}

void mail_charset_to_utf8(struct buf *out, const char *cs, size_t cs_len, const char *s,
			  size_t len)
{
	int kind = 0; /* 1 latin1, 2 cp1252, 3 latin9 */

	if (cs_is(cs, cs_len, "iso-8859-1") || cs_is(cs, cs_len, "latin1") ||
	    cs_is(cs, cs_len, "iso8859-1") || cs_is(cs, cs_len, "iso_8859-1") ||
	    cs_is(cs, cs_len, "l1"))
		kind = 1;
	else if (cs_is(cs, cs_len, "windows-1252") || cs_is(cs, cs_len, "cp1252"))
		kind = 2;
	else if (cs_is(cs, cs_len, "iso-8859-15") || cs_is(cs, cs_len, "latin9"))
		kind = 3;
	if (kind == 0) {
		buf_append(out, s, len);
		return;
	}
	for (size_t i = 0; i < len;) {
		size_t j = i;

		while (j < len && (unsigned char)s[j] < 0x80)
			j++;
		buf_append(out, s + i, j - i);
		if (j >= len)
			break;
		unsigned c = (unsigned char)s[j];

		if (kind == 2 && c < 0xa0)
			c = cp1252[c - 0x80] != 0 ? cp1252[c - 0x80] : 0xfffd;
		else if (kind == 3) {
			switch (c) {
			case 0xa4: c = 0x20ac; break;
			case 0xa6: c = 0x0160; break;
			case 0xa8: c = 0x0161; break;
			case 0xb4: c = 0x017d; break;
			case 0xb8: c = 0x017e; break;
			case 0xbc: c = 0x0152; break;
			case 0xbd: c = 0x0153; break;
			case 0xbe: c = 0x0178; break;
			default: break;
			}
		}
		put_utf8(out, c);
		i = j + 1;
	}
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
