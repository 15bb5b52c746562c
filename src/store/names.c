/* Mailbox names: canonical form, validation, LIST reference rules and pattern matching. */
#include "store/memstore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mutf7.h"

/* Length of a leading "INBOX" level (any case) of name, or 0. */
static size_t names_inbox_prefix(const char *name)
{
	if (strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == STORE_SEP))
		return 5;
	return 0;
}

int store_name_canon(const char *name, bool strip, char *out)
{
	size_t len = strlen(name);

	if (strip) {
		while (len > 0 && name[len - 1] == STORE_SEP)
			len--;
	}
	if (len == 0 || len > STORE_NAME_MAX)
		return -EINVAL;
	memcpy(out, name, len);
	out[len] = '\0';
	if (names_inbox_prefix(out) != 0)
		memcpy(out, "INBOX", 5);
	return 0;
}

bool store_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > STORE_NAME_MAX || name[0] == STORE_SEP ||
	    name[len - 1] == STORE_SEP)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c > 0x7e || c == '*' || c == '%')
			return false;
		if (c == STORE_SEP && name[i + 1] == STORE_SEP)
			return false;
	}
	return mutf7_valid(name, len);
}

int store_list_pattern(const char *reference, const char *pattern, char *out)
{
	size_t rlen = strlen(reference), plen = strlen(pattern);

	/* RFC 3501 6.3.8: the reference is a prefix for the pattern; a pattern that
	   starts with the separator is absolute and ignores it. */
	if (pattern[0] == STORE_SEP)
		rlen = 0;
	if (rlen + plen > 2 * STORE_NAME_MAX)
		return -EINVAL;
	memcpy(out, reference, rlen);
	memcpy(out + rlen, pattern, plen);
	out[rlen + plen] = '\0';
	return 0;
}

/* A Thompson simulation over pattern positions: O(len(pattern) * len(name)) with no
   backtracking blow-up on patterns like "*a*a*a*b". */
bool store_list_match(const char *pattern, const char *name, char sep)
{
	size_t m = strlen(pattern);
	unsigned char stack_cur[256], stack_next[256];
	unsigned char *cur = stack_cur, *next = stack_next;
	size_t ci = names_inbox_prefix(name) != 0 && strncmp(name, "INBOX", 5) == 0 ? 5 : 0;
	bool ok;

	if (m + 1 > sizeof(stack_cur)) {
		cur = calloc(m + 1, 1);
		next = calloc(m + 1, 1);
		if (cur == NULL || next == NULL) {
			free(cur);
			free(next);
			return false;
		}
	} else {
		memset(cur, 0, m + 1);
	}
	cur[0] = 1;
	for (size_t p = 0; p < m && cur[p] && (pattern[p] == '*' || pattern[p] == '%'); p++)
		cur[p + 1] = 1;
	for (size_t i = 0; name[i] != '\0'; i++) {
		char c = name[i];
		bool any = false;

		memset(next, 0, m + 1);
		for (size_t p = 0; p < m; p++) {
			if (!cur[p])
				continue;
			char pc = pattern[p];

			if (pc == '*' || (pc == '%' && c != sep)) {
				next[p] = 1;
				any = true;
			} else if (pc == c || (i < ci && pc >= 'a' && pc <= 'z' &&
					       pc - 'a' + 'A' == c)) {
				next[p + 1] = 1;
				any = true;
			}
		}
		/* '*' and '%' also match the empty string. */
		for (size_t p = 0; p < m; p++) {
			if (next[p] && (pattern[p] == '*' || pattern[p] == '%'))
				next[p + 1] = 1;
		}
		unsigned char *t = cur;

		cur = next;
		next = t;
		if (!any)
			break;
	}
	ok = cur[m] != 0;
	if (cur != stack_cur && cur != stack_next) {
		free(cur);
		free(next);
	}
	return ok;
}
