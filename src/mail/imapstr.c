/* IMAP string output matching Dovecot's imap-quote.c decisions byte for byte. */
#include "mail/imapstr.h"
#include "core/buf.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define QUOTED_MAX_ESCAPES 4

bool imap_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
		return false;
	default:
		return true;
	}
}

#define QUOTE_MAX 1024  /* longer strings go out as literals */

bool imapstr_can_quote(const char *s, size_t len)
{
	if (len > QUOTE_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

void imapstr_quoted(struct outq *q, const char *s, size_t len)
{
	outq_append(q, "\"", 1);
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			outq_append(q, s + start, i - start);
			outq_append(q, "\\", 1);
			start = i;
		}
	}
	outq_append(q, s + start, len - start);
	outq_append(q, "\"", 1);
}

void imapstr_string(struct outq *q, const char *s, size_t len)
{
	if (imapstr_can_quote(s, len)) {
		imapstr_quoted(q, s, len);
		return;
	}
	outq_printf(q, "{%zu}\r\n", len);
	outq_append(q, s, len);
}

void imapstr_astring(struct outq *q, const char *s, size_t len)
{
	bool atom = len > 0 && !(len == 3 && strncasecmp(s, "NIL", 3) == 0);
	for (size_t i = 0; atom && i < len; i++)
		atom = imap_is_atom_char((unsigned char)s[i]) || s[i] == ']';
	if (atom)
		outq_append(q, s, len);
	else
		imapstr_string(q, s, len);
}

static void literal(struct outq *q, const char *s, size_t len)
{
	outq_printf(q, "{%zu}\r\n", len);
	if (memchr(s, '\0', len) == NULL) {
		outq_append(q, s, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		char c = s[i] == '\0' ? (char)0x80 : s[i];

		outq_append(q, &c, 1);
	}
}

void imapstr_nstring(struct outq *q, const char *s, size_t len)
{
	unsigned escapes = 0;

	if (s == NULL) {
		outq_append(q, "NIL", 3);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			if (escapes++ < QUOTED_MAX_ESCAPES)
				continue;
			literal(q, s, len);
			return;
		}
		if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80) {
			literal(q, s, len);
			return;
		}
	}
	imapstr_quoted(q, s, len);
}

void imapstr_nstring_nolf(struct outq *q, const char *s, size_t len)
{
	struct buf b = { 0 };

	if (s == NULL || (memchr(s, '\r', len) == NULL && memchr(s, '\n', len) == NULL)) {
		imapstr_nstring(q, s, len);
		return;
	}
	for (size_t i = 0; i < len;) {
		size_t j = i;

		while (j < len && s[j] != '\r' && s[j] != '\n')
			j++;
		buf_append(&b, s + i, j - i);
		i = j + 1;
	}
	imapstr_nstring(q, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
}

void imapstr_human(struct outq *q, const char *s, size_t len)
{
	bool ws_prefix = true, last_lwsp = true, modify = false;
	size_t remove = 0, i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '\0':
			last_lwsp = false;
			modify = true;
			break;
		case '\t':
			modify = true;
			/* fall through */
		case ' ':
			if (last_lwsp) {
				modify = true;
				remove++;
			}
			last_lwsp = true;
			break;
		case '\r':
		case '\n':
			remove++;
			modify = true;
			break;
		case '"':
		case '\\':
			modify = true;
			last_lwsp = false;
			break;
		default:
			if (c & 0x80)
				modify = true;
			last_lwsp = false;
			break;
		}
		if (!last_lwsp)
			ws_prefix = false;
	}
	if (last_lwsp && i > 0 && !ws_prefix) {
		modify = true;
		remove++;
	}
	if (!modify) {
		outq_append(q, "\"", 1);
		outq_append(q, s, len);
		outq_append(q, "\"", 1);
		return;
	}
	if (len == remove) {
		outq_append(q, "\"\"", 2);
		return;
	}
	struct buf b = { 0 };

	last_lwsp = true;
	ws_prefix = true;
	for (i = 0; i < len; i++) {
		char c = s[i];

		switch (c) {
		case '\0':
			c = (char)0x80;
			buf_append(&b, &c, 1);
			last_lwsp = false;
			break;
		case '\t':
		case ' ':
			if (!last_lwsp)
				buf_append(&b, " ", 1);
			last_lwsp = true;
			break;
		case '\r':
		case '\n':
			break;
		default:
			last_lwsp = false;
			buf_append(&b, &c, 1);
			break;
		}
		if (!last_lwsp)
			ws_prefix = false;
	}
	if (last_lwsp && i > 0 && !ws_prefix && b.len > 0)
		b.len--;
	outq_printf(q, "{%zu}\r\n", b.len);
	outq_append(q, b.data, b.len);
	buf_free(&b);
}
