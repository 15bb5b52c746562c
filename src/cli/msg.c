/* Messages between uimap and mailbox files: keywords, CRLF lines, IMAP flag lists. */
#include "cli/msg.h"
#include "store/memstore.h"

#include "uimap/store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	unsigned flag;
} system_flags[] = {
	{ "\\Seen", UIMAP_FLAG_SEEN }, { "\\Answered", UIMAP_FLAG_ANSWERED },
	{ "\\Flagged", UIMAP_FLAG_FLAGGED }, { "\\Deleted", UIMAP_FLAG_DELETED },
	{ "\\Draft", UIMAP_FLAG_DRAFT },
};

#define N_SYSTEM_FLAGS (sizeof(system_flags) / sizeof(system_flags[0]))

void msg_clear(struct msg *m)
{
	for (size_t i = 0; i < m->n_keywords; i++)
		free(m->keywords[i]);
	free(m->keywords);
	free(m->data);
	memset(m, 0, sizeof(*m));
}

int msg_add_keyword(struct msg *m, const char *name, size_t len)
{
	if (!store_keyword_valid(name, len)) {
		m->bad_keywords++;
		return 0;
	}
	for (size_t i = 0; i < m->n_keywords; i++) {
		if (strlen(m->keywords[i]) == len && strncasecmp(m->keywords[i], name, len) == 0)
			return 0;
	}
	char **k = realloc(m->keywords, (m->n_keywords + 1) * sizeof(*k));
	char *copy = malloc(len + 1);

	if (k != NULL)
		m->keywords = k;
	if (k == NULL || copy == NULL) {
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, name, len);
	copy[len] = '\0';
	m->keywords[m->n_keywords++] = copy;
	return 0;
}

char *msg_to_crlf(const char *s, size_t len, size_t *len_r)
{
	size_t extra = 0, o = 0;
	char *out;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			extra++;
	}
	out = malloc(len + extra + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = s[i];
	}
	out[o] = '\0';
	*len_r = o;
	return out;
}

void msg_flag_list(const struct msg *m, char *out, size_t size)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < N_SYSTEM_FLAGS + m->n_keywords; i++) {
		const char *name;

		if (i < N_SYSTEM_FLAGS) {
			if ((m->flags & system_flags[i].flag) == 0)
				continue;
			name = system_flags[i].name;
		} else {
			name = m->keywords[i - N_SYSTEM_FLAGS];
		}
		size_t n = strlen(name) + (o > 0);

		if (o + n + 1 > size)
			break;
		o += (size_t)snprintf(out + o, size - o, "%s%s", o > 0 ? " " : "", name);
	}
}

int msg_parse_flag(struct msg *m, const char *name, size_t len)
{
	if (len > 0 && name[0] == '\\') {
		for (size_t i = 0; i < N_SYSTEM_FLAGS; i++) {
			if (strlen(system_flags[i].name) == len &&
			    strncasecmp(system_flags[i].name, name, len) == 0)
				m->flags |= system_flags[i].flag;
		}
		return 0;
	}
	return len > 0 ? msg_add_keyword(m, name, len) : 0;
}
