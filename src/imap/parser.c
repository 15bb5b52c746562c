/* Incremental IMAP command parser: line/literal assembly and tokenising. */
#include "imap/parser.h"
#include "core/arena.h"
#include "core/common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
	ST_LINE,          /* collecting command text up to LF */
	ST_LITERAL,       /* collecting literal bytes */
	ST_DISCARD_LINE,  /* skipping the rest of a bad line */
	ST_SKIP_LITERAL,  /* skipping a non-synchronizing literal of a bad command */
};

#define MAX_DEPTH 32
#define TEXT_KEEP 1024    /* text buffer capacity kept across commands */

void parser_init(struct parser *p, struct arena *arena, size_t max_line, size_t max_literal)
{
	memset(p, 0, sizeof(*p));
	p->arena = arena;
	p->max_line = max_line;
	p->max_literal = max_literal;
	p->state = ST_LINE;
}

void parser_reset(struct parser *p)
{
	p->state = ST_LINE;
	p->text.len = 0;
	if (p->text.cap > TEXT_KEEP)
		buf_free(&p->text);
	p->seg_ends = NULL;
	p->lits = NULL;
	p->n_lits = p->cap_lits = 0;
	p->lit_total = 0;
	p->skip = 0;
	p->tail_len = 0;
	p->error = NULL;
}

void parser_deinit(struct parser *p)
{
	buf_free(&p->text);
}

void parser_set_line_mode(struct parser *p, bool on)
{
	p->line_mode = on;
}

bool parser_pending(const struct parser *p)
{
	return p->state != ST_LINE || p->text.len > 0;
}

bool imap_is_valid_tag(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* tag = 1*<any ASTRING-CHAR except "+"> (RFC 3501 §9) */
		if (c == '+' || (!imap_is_atom_char(c) && c != ']'))
			return false;
	}
	return true;
}

/* If text[0..len) ends with "{N}", "{N+}" or "{N-}", return 1 with the size and
   whether it is synchronizing; 0 if no marker; -1 if the number is absurd. */
static int find_literal_marker(const char *text, size_t len, uint64_t *size_r, bool *sync_r)
{
	if (len < 3 || text[len - 1] != '}')
		return 0;
	size_t i = len - 1;
	bool sync = true;
	if (text[i - 1] == '+' || text[i - 1] == '-') {
		sync = false;
		i--;
	}
	size_t end = i;
	while (i > 0 && text[i - 1] >= '0' && text[i - 1] <= '9')
		i--;
	if (i == 0 || text[i - 1] != '{' || i == end)
		return 0;
	*sync_r = sync;
	if (end - i > 19)
		return -1;
	uint64_t n = 0;
	for (size_t k = i; k < end; k++)
		n = n * 10 + (uint64_t)(text[k] - '0');
	*size_r = n;
	*sync_r = sync;
	return 1;
}

/* Where the text of the current line starts (after the last literal). */
static size_t seg_start(const struct parser *p)
{
	return p->n_lits > 0 ? p->seg_ends[p->n_lits - 1] : 0;
}

/* Start a literal of size bytes. Returns false when no memory can be had for it
   (the size is the client's choice). */
static bool add_literal(struct parser *p, size_t size, bool sync)
{
	char *data = size >= 8192 ? arena_alloc_large(p->arena, size + 1)
				  : arena_alloc(p->arena, size + 1);
	if (data == NULL)
		return false;
	if (p->n_lits == p->cap_lits) {
		unsigned cap = p->cap_lits ? p->cap_lits * 2 : 4;
		struct imap_literal *nl = arena_alloc(p->arena, cap * sizeof(*nl));
		size_t *ns = arena_alloc(p->arena, cap * sizeof(*ns));
		if (p->n_lits > 0) {
			memcpy(nl, p->lits, p->n_lits * sizeof(*nl));
			memcpy(ns, p->seg_ends, p->n_lits * sizeof(*ns));
		}
		p->lits = nl;
		p->seg_ends = ns;
		p->cap_lits = cap;
	}
	struct imap_literal *l = &p->lits[p->n_lits];
	p->seg_ends[p->n_lits] = p->text.len;
	p->n_lits++;
	/* one copy: straight from the receive buffer into this storage */
	l->data = (unsigned char *)data;
	l->data[size] = '\0';
	l->len = size;
	l->have = 0;
	l->sync = sync;
	p->lit_total += size;
	return true;
}

static void remember_tail(struct parser *p, const unsigned char *d, size_t n)
{
	if (n >= sizeof(p->tail)) {
		memcpy(p->tail, d + n - sizeof(p->tail), sizeof(p->tail));
		p->tail_len = sizeof(p->tail);
		return;
	}
	size_t keep = MIN((size_t)p->tail_len, sizeof(p->tail) - n);
	memmove(p->tail, p->tail + p->tail_len - keep, keep);
	memcpy(p->tail + keep, d, n);
	p->tail_len = (unsigned)(keep + n);
}

/* A command line is refused (p->error says why) and may end in a literal marker
   (m, size, sync as find_literal_marker() gave them). A non-synchronizing literal
   comes anyway: it is skipped with the rest of the command (PARSER_MORE: go on
   reading); a synchronizing one is never sent, the client waits for "+"
   (PARSER_ERROR); a non-synchronizing size that cannot even be skipped ends the
   connection (PARSER_FATAL). RFC 7888 §4 / RFC 3501 §7.5. */
static int refuse_line(struct parser *p, int m, uint64_t size, bool sync)
{
	if (m < 0 && !sync)
		return PARSER_FATAL;
	if (m == 1 && !sync) {
		p->state = ST_SKIP_LITERAL;
		p->skip = size;
		p->tail_len = 0;
		return PARSER_MORE;
	}
	p->state = ST_LINE;
	return PARSER_ERROR;
}

/* A line was completed while discarding: skip a non-synchronizing literal it
   announced, or report the error. */
static int discard_line_end(struct parser *p)
{
	size_t n = p->tail_len;
	if (n > 0 && p->tail[n - 1] == '\n')
		n--;
	if (n > 0 && p->tail[n - 1] == '\r')
		n--;
	uint64_t size;
	bool sync = true;
	int m = p->line_mode ? 0 : find_literal_marker(p->tail, n, &size, &sync);
	return refuse_line(p, m, size, sync);
}

static void start_discard(struct parser *p, const char *error)
{
	p->state = ST_DISCARD_LINE;
	p->error = error;
	p->tail_len = 0;
}

int parser_feed(struct parser *p, const unsigned char **data, size_t *len)
{
	while (*len > 0) {
		const unsigned char *d = *data;
		size_t n = *len;
		switch (p->state) {
		case ST_LINE: {
			const unsigned char *lf = memchr(d, '\n', n);
			size_t take = lf ? (size_t)(lf - d) + 1 : n;
			/* the limit counts command text outside literals, CRLF excluded */
			/* a bare LF counts as CRLF */
			bool cr = take >= 2 ? lf != NULL && lf[-1] == '\r'
					    : p->text.len > 0 && p->text.data[p->text.len - 1] == '\r';
			size_t eol = lf != NULL && !cr ? 1 : 0;
			if (p->text.len + take + eol > p->max_line + 2) {
				/* keep the end of this line's text: a marker may have begun there */
				char saved[sizeof(p->tail)];
				size_t keep = MIN(p->text.len - seg_start(p), sizeof(saved));
				if (keep > 0)
					memcpy(saved, p->text.data + p->text.len - keep, keep);
				size_t room = p->text.len < 65 ? 65 - p->text.len : 0;
				buf_append(&p->text, d, MIN(room, take));
				start_discard(p, "Command line too long");
				if (keep > 0)
					memcpy(p->tail, saved, keep);
				p->tail_len = (unsigned)keep;
				if (p->line_mode) {
					p->error = "Line too long";
				}
				continue;
			}
			buf_append(&p->text, d, take);
			*data += take;
			*len -= take;
			if (lf == NULL)
				return PARSER_MORE;
			p->text.len--; /* LF */
			if (p->text.len > 0 && p->text.data[p->text.len - 1] == '\r')
				p->text.len--;
			buf_append(&p->text, "", 1);
			p->text.len--; /* keep a NUL after the text */
			uint64_t size = 0;
			bool sync = true;
			/* only the text after the last literal can announce a new one */
			size_t seg = seg_start(p);
			int m = p->line_mode ? 0 : find_literal_marker(p->text.data + seg,
						    p->text.len - seg, &size, &sync);
			int refused = PARSER_MORE;
			if (memchr(p->text.data, '\0', p->text.len) != NULL) {
				p->error = "NUL byte in command";
				refused = refuse_line(p, m, size, sync);
			} else if (p->line_mode) {
				return PARSER_LINE;
			} else if (m == 0) {
				return PARSER_COMMAND;
			} else if (m < 0 || size > p->max_literal ||
				   p->lit_total + size > p->max_literal) {
				p->error = "[TOOBIG] Literal too big";
				refused = refuse_line(p, m, size, sync);
			} else if (!add_literal(p, (size_t)size, sync)) {
				/* the size is the client's: no memory fails the command only */
				p->error = "[UNAVAILABLE] Out of memory for the literal, try later";
				refused = refuse_line(p, m, size, sync);
			} else {
				p->state = ST_LITERAL;
				if (sync)
					return PARSER_CONTINUE;
				break;
			}
			if (refused != PARSER_MORE)
				return refused;
			continue;
		}
		case ST_LITERAL: {
			struct imap_literal *l = &p->lits[p->n_lits - 1];
			size_t take = MIN(n, l->len - l->have);
			memcpy(l->data + l->have, d, take);
			l->have += take;
			*data += take;
			*len -= take;
			if (l->have == l->len)
				p->state = ST_LINE;
			break;
		}
		case ST_SKIP_LITERAL: {
			size_t take = (size_t)MIN((uint64_t)n, p->skip);
			p->skip -= take;
			*data += take;
			*len -= take;
			if (p->skip == 0) {
				p->state = ST_DISCARD_LINE;
				p->tail_len = 0;
			}
			break;
		}
		case ST_DISCARD_LINE: {
			const unsigned char *lf = memchr(d, '\n', n);
			size_t take = lf ? (size_t)(lf - d) + 1 : n;
			remember_tail(p, d, take);
			*data += take;
			*len -= take;
			if (lf != NULL) {
				int r = discard_line_end(p);
				if (r != PARSER_MORE)
					return r;
			}
			break;
		}
		}
	}
	/* a literal of size 0 completes without input */
	if (p->state == ST_LITERAL && p->lits[p->n_lits - 1].have == p->lits[p->n_lits - 1].len)
		p->state = ST_LINE;
	return PARSER_MORE;
}

const char *parser_line(const struct parser *p, size_t *len_r)
{
	*len_r = p->text.len;
	return p->text.data;
}

const char *parser_error(const struct parser *p)
{
	return p->error != NULL ? p->error : "Invalid command";
}

const char *parser_error_tag(struct parser *p)
{
	if (p->text.len == 0)
		return NULL;
	const char *sp = memchr(p->text.data, ' ', p->text.len);
	size_t n = sp ? (size_t)(sp - p->text.data) : p->text.len;
	if (!imap_is_valid_tag(p->text.data, n) || n > 64)
		return NULL;
	return arena_strndup(p->arena, p->text.data, n);
}

/* ---- tokenising a complete command ---- */

struct tok {
	struct parser *p;
	const char *s;
	size_t pos, end;
	unsigned lit;      /* next literal */
	bool fetch;        /* FETCH / UID FETCH: body section items may appear */
	const char *error;
};

struct argvec {
	struct imap_arg *v;
	unsigned n, cap;
};

static void argvec_push(struct arena *a, struct argvec *av, const struct imap_arg *arg)
{
	if (av->n == av->cap) {
		unsigned cap = av->cap ? av->cap * 2 : 8;
		struct imap_arg *nv = arena_alloc(a, cap * sizeof(*nv));
		if (av->n > 0)
			memcpy(nv, av->v, av->n * sizeof(*nv));
		av->v = nv;
		av->cap = cap;
	}
	av->v[av->n++] = *arg;
}

static int tok_quoted(struct tok *t, struct imap_arg *arg)
{
	size_t i = t->pos + 1;
	char *out = arena_alloc(t->p->arena, t->end - t->pos);
	size_t o = 0;
	while (i < t->end) {
		char c = t->s[i];
		if (c == '"') {
			out[o] = '\0';
			arg->type = IMAP_ARG_STRING;
			arg->u.str = out;
			arg->len = (uint32_t)o;
			t->pos = i + 1;
			return 1;
		}
		if (c == '\\') {
			if (i + 1 >= t->end || (t->s[i + 1] != '\\' && t->s[i + 1] != '"')) {
				t->error = "Invalid escape in quoted string";
				return -1;
			}
			i++;
			c = t->s[i];
		}
		out[o++] = c;
		i++;
	}
	t->error = "Unterminated quoted string";
	return -1;
}

static int tok_literal(struct tok *t, struct imap_arg *arg, bool literal8)
{
	if (t->lit >= t->p->n_lits) {
		t->error = "Invalid literal";
		return -1;
	}
	size_t seg_end = t->p->seg_ends[t->lit];
	if (seg_end <= t->pos) {
		/* this literal's marker was swallowed by a quoted string or an atom */
		t->error = "Invalid literal";
		return -1;
	}
	/* the marker must be exactly what ends this text segment */
	const char *close = memchr(t->s + t->pos, '}', seg_end - t->pos);
	bool ok = close != NULL && (size_t)(close - t->s) + 1 == seg_end;
	for (const char *c = t->s + t->pos + 1; ok && c < close; c++)
		ok = (*c >= '0' && *c <= '9') || ((*c == '+' || *c == '-') && c + 1 == close);
	if (!ok) {
		t->error = "Invalid literal";
		return -1;
	}
	struct imap_literal *l = &t->p->lits[t->lit++];
	/* RFC 3501 §9: a literal is CHAR8 (no NUL); RFC 3516 §4.4: literal8 may hold any
	   byte */
	if (!literal8 && memchr(l->data, '\0', l->len) != NULL) {
		t->error = "NUL byte in a literal (only a literal8, ~{n}, may hold one)";
		return -1;
	}
	arg->type = literal8 ? IMAP_ARG_LITERAL8 : IMAP_ARG_LITERAL;
	arg->u.str = (const char *)l->data;
	arg->len = (uint32_t)l->len;
	t->pos = seg_end;
	return 1;
}

/* Whether the atom text s (len bytes) before a '[' names a FETCH body section item:
   in FETCH only these open a section in which spaces, parentheses and quoted strings
   are allowed (RFC 3501 §9 section; RFC 3516 BINARY[...]). Everywhere else '[' is an
   ordinary ATOM-CHAR (RFC 3501 §9: atom-specials do not include '['). */
static bool is_section_item(const char *s, size_t len)
{
	static const char *const names[] = { "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK",
					     "BINARY.SIZE" };
	for (size_t i = 0; i < N_ELEMENTS(names); i++)
		if (strlen(names[i]) == len && strncasecmp(s, names[i], len) == 0)
			return true;
	return false;
}

static int tok_atom(struct tok *t, struct imap_arg *arg)
{
	size_t i = t->pos;
	bool section = false, quoted = false;
	while (i < t->end) {
		unsigned char c = (unsigned char)t->s[i];
		if (c < 0x20 || c == 0x7f) {
			t->error = "Invalid character in command";
			return -1;
		}
		if (section) {
			/* the section text ends at the first ']' outside a quoted string */
			if (quoted && c == '\\' && i + 1 < t->end)
				i++;
			else if (c == '"')
				quoted = !quoted;
			else if (c == ']' && !quoted)
				section = false;
		} else if (c == '[') {
			section = t->fetch && is_section_item(t->s + t->pos, i - t->pos);
		} else if (c == ' ' || c == '(' || c == ')' || c == '"' || c == '{') {
			break;
		}
		i++;
	}
	if (section) {
		t->error = "Missing ']'";
		return -1;
	}
	if (i == t->pos) {
		t->error = "Unexpected character";
		return -1;
	}
	/* atoms are copied so each can be NUL-terminated */
	arg->type = IMAP_ARG_ATOM;
	arg->u.str = arena_strndup(t->p->arena, t->s + t->pos, i - t->pos);
	arg->len = (uint32_t)(i - t->pos);
	t->pos = i;
	return 1;
}

static int tok_list(struct tok *t, int depth, struct imap_arg **args_r, unsigned *n_r);

static int tok_arg(struct tok *t, int depth, struct imap_arg *arg)
{
	char c = t->s[t->pos];
	if (c == '"')
		return tok_quoted(t, arg);
	if (c == '{')
		return tok_literal(t, arg, false);
	if (c == '~' && t->pos + 1 < t->end && t->s[t->pos + 1] == '{') {
		t->pos++;
		return tok_literal(t, arg, true);
	}
	if (c == '(') {
		if (depth >= MAX_DEPTH) {
			t->error = "Lists nested too deeply";
			return -1;
		}
		t->pos++;
		struct imap_arg *list;
		unsigned n;
		if (tok_list(t, depth + 1, &list, &n) < 0)
			return -1;
		if (t->pos >= t->end || t->s[t->pos] != ')') {
			t->error = "Missing ')'";
			return -1;
		}
		t->pos++;
		arg->type = IMAP_ARG_LIST;
		arg->u.list = list;
		arg->len = n;
		return 1;
	}
	return tok_atom(t, arg);
}

/* Arguments separated by single spaces, up to ')' (depth > 0) or the end. */
static int tok_list(struct tok *t, int depth, struct imap_arg **args_r, unsigned *n_r)
{
	struct argvec av = { NULL, 0, 0 };
	bool first = true;
	for (;;) {
		if (t->pos >= t->end)
			break;
		if (t->s[t->pos] == ')') {
			if (depth == 0) {
				t->error = "Unexpected ')'";
				return -1;
			}
			break;
		}
		if (!first) {
			if (t->s[t->pos] != ' ') {
				t->error = "Missing space between arguments";
				return -1;
			}
			t->pos++;
			if (t->pos >= t->end || t->s[t->pos] == ' ' || t->s[t->pos] == ')') {
				t->error = "Unexpected space";
				return -1;
			}
		}
		first = false;
		struct imap_arg arg;
		if (tok_arg(t, depth, &arg) < 0)
			return -1;
		argvec_push(t->p->arena, &av, &arg);
	}
	if (av.n == 0)
		av.v = arena_alloc(t->p->arena, sizeof(struct imap_arg));
	*args_r = av.v;
	*n_r = av.n;
	return 1;
}

int parser_command(struct parser *p, struct imap_command *cmd, const char **error_r)
{
	memset(cmd, 0, sizeof(*cmd));
	const char *s = p->text.data ? p->text.data : "";
	size_t end = p->text.len;
	const char *sp = memchr(s, ' ', end);
	size_t tag_len = sp ? (size_t)(sp - s) : end;
	if (end == 0) {
		*error_r = "Empty command line";
		return -1;
	}
	if (!imap_is_valid_tag(s, tag_len)) {
		*error_r = "Invalid tag";
		return -1;
	}
	cmd->tag = arena_strndup(p->arena, s, tag_len);
	if (sp == NULL || tag_len + 1 >= end) {
		*error_r = "Missing command";
		return -1;
	}
	size_t name_start = tag_len + 1;
	size_t i = name_start;
	while (i < end && s[i] != ' ')
		i++;
	if (i == name_start) {
		*error_r = "Unexpected space";
		return -1;
	}
	for (size_t k = name_start; k < i; k++) {
		if (!imap_is_atom_char((unsigned char)s[k])) {
			*error_r = "Invalid command name";
			return -1;
		}
	}
	cmd->name = arena_strndup(p->arena, s + name_start, i - name_start);
	cmd->tail = i < end ? s + i + 1 : "";
	struct tok t = { .p = p, .s = s, .pos = i, .end = end, .lit = 0, .error = NULL };
	/* FETCH, and the commands that take fetch attributes elsewhere: NOTIFY's MessageNew
	   and SEARCH / SORT RETURN (UPDATE (...)) (RFC 5465 §8, §7) */
	t.fetch = strcasecmp(cmd->name, "FETCH") == 0 || strcasecmp(cmd->name, "NOTIFY") == 0 ||
		  strcasecmp(cmd->name, "SEARCH") == 0 || strcasecmp(cmd->name, "SORT") == 0 ||
		  (strcasecmp(cmd->name, "UID") == 0 && end - i > 6 &&
		   (strncasecmp(s + i + 1, "FETCH ", 6) == 0 ||
		    strncasecmp(s + i + 1, "SEARCH ", 7) == 0 ||
		    strncasecmp(s + i + 1, "SORT ", 5) == 0));
	if (i < end) {
		t.pos++; /* the space after the name */
		if (t.pos >= end || s[t.pos] == ' ') {
			*error_r = "Unexpected space";
			return -1;
		}
	}
	if (tok_list(&t, 0, &cmd->args, &cmd->n_args) < 0) {
		*error_r = t.error;
		return -1;
	}
	if (t.lit != p->n_lits) {
		*error_r = "Invalid literal";
		return -1;
	}
	return 1;
}
