/* Choice of atom, quoted string or literal for any string in a response. */
#include "imap/resp.h"
#include "imap/parser.h"

#include <strings.h>

#define QUOTE_MAX 1024  /* longer strings go out as literals */

bool resp_can_quote(const char *s, size_t len)
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

void resp_quoted(struct outq *q, const char *s, size_t len)
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

void resp_string(struct outq *q, const char *s, size_t len)
{
	if (resp_can_quote(s, len)) {
		resp_quoted(q, s, len);
		return;
	}
	outq_printf(q, "{%zu}\r\n", len);
	outq_append(q, s, len);
}

void resp_nstring(struct outq *q, const char *s, size_t len)
{
	if (s == NULL)
		outq_append(q, "NIL", 3);
	else
		resp_string(q, s, len);
}

void resp_astring(struct outq *q, const char *s, size_t len)
{
	bool atom = len > 0 && !(len == 3 && strncasecmp(s, "NIL", 3) == 0);
	for (size_t i = 0; atom && i < len; i++)
		atom = imap_is_atom_char((unsigned char)s[i]) || s[i] == ']';
	if (atom)
		outq_append(q, s, len);
	else
		resp_string(q, s, len);
}
