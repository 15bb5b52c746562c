/* Test helper shared by test-parser.c and the fuzz harness: feeds input to a parser in
   chunks chosen by a callback and renders every event as one line of text, so runs
   with different chunkings can be compared and checked against expected transcripts.

   Events (each ends with '\n'):
     +                              PARSER_CONTINUE
     CMD <tag> <name>[ <arg>...]    PARSER_COMMAND, parser_command() succeeded
     BAD <tag|-> <error>            PARSER_COMMAND, parser_command() failed
     ERR <tag|-> <error>            PARSER_ERROR
     LINE <text>                    PARSER_LINE
     FATAL <error>                  PARSER_FATAL (feeding stops)
     PENDING                        at the end, if parser_pending()
   Arguments: A<len>:<atom>  S<len>:<string>  L<len>:<literal>  (<arg> <arg>...)
   Bytes below 0x20 or above 0x7e are written as \xNN.

   The includer defines TR_CHECK(cond, msg) to report violated invariants. */
#ifndef TESTS_PARSER_TRANSCRIPT_H
#define TESTS_PARSER_TRANSCRIPT_H

#include "core/arena.h"
#include "core/buf.h"
#include "imap/parser.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tr_opts {
	size_t max_line;
	size_t max_literal;
	bool line_mode;
	bool hide_toolong_tag;   /* render "?" as the tag of "too long" errors */
	/* called for every atom of every command (NUL-terminated), may be NULL */
	void (*on_atom)(struct arena *a, const char *s, size_t len, void *ctx);
	void *atom_ctx;
	/* out: the largest p->text.cap seen */
	size_t max_text_cap;
	/* out: literal data of commands, summed */
	size_t literal_bytes;
};

/* Returns how many bytes to feed next (>= 1), given how many are left. */
typedef size_t (*tr_chunker)(void *ctx, size_t left);

static inline size_t tr_chunk_all(void *ctx, size_t left)
{
	(void)ctx;
	return left;
}

static inline size_t tr_chunk_one(void *ctx, size_t left)
{
	(void)ctx;
	(void)left;
	return 1;
}

/* Random chunk sizes: ctx points to a uint64_t state (xorshift64), never 0. */
static inline size_t tr_chunk_random(void *ctx, size_t left)
{
	uint64_t *s = ctx;
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	/* mostly small pieces, sometimes large ones */
	size_t n = (x >> 8) % 8 == 0 ? (size_t)((x >> 16) % 4096) + 1 : (size_t)((x >> 16) % 17) + 1;
	(void)left;
	return n;
}

static inline void tr_puts(struct buf *o, const char *s)
{
	buf_append(o, s, strlen(s));
}

static inline void tr_bytes(struct buf *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e) {
			char hex[8];
			snprintf(hex, sizeof(hex), "\\x%02x", c);
			tr_puts(o, hex);
		} else {
			buf_append(o, &c, 1);
		}
	}
}

static inline void tr_args(struct tr_opts *opt, struct parser *p, struct buf *o,
			   const struct imap_arg *args, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];
		if (i > 0)
			tr_puts(o, " ");
		char head[32];
		switch (a->type) {
		case IMAP_ARG_LIST:
			tr_puts(o, "(");
			tr_args(opt, p, o, a->u.list, a->len);
			tr_puts(o, ")");
			continue;
		case IMAP_ARG_ATOM:
			snprintf(head, sizeof(head), "A%u:", a->len);
			TR_CHECK(a->len > 0, "empty atom");
			TR_CHECK(strlen(a->u.str) == a->len, "atom length/NUL mismatch");
			if (opt->on_atom != NULL)
				opt->on_atom(p->arena, a->u.str, a->len, opt->atom_ctx);
			break;
		case IMAP_ARG_STRING:
			snprintf(head, sizeof(head), "S%u:", a->len);
			TR_CHECK(a->u.str[a->len] == '\0', "quoted string not NUL-terminated");
			break;
		case IMAP_ARG_LITERAL:
		case IMAP_ARG_LITERAL8:
			snprintf(head, sizeof(head), "%s%u:", a->type == IMAP_ARG_LITERAL8 ? "L8_" : "L",
				 a->len);
			TR_CHECK(a->u.str[a->len] == '\0', "literal not NUL-terminated");
			TR_CHECK(a->type == IMAP_ARG_LITERAL8 || memchr(a->u.str, '\0', a->len) == NULL,
				 "NUL in a literal");
			opt->literal_bytes += a->len;
			break;
		default:
			TR_CHECK(0, "bad argument type");
			continue;
		}
		tr_puts(o, head);
		tr_bytes(o, a->u.str, a->len);
	}
}

static inline void tr_tag(struct buf *o, const char *tag)
{
	tr_bytes(o, tag != NULL ? tag : "-", strlen(tag != NULL ? tag : "-"));
}

/* The events after one parser_feed() result; returns false to stop (FATAL). */
static inline bool tr_event(struct tr_opts *opt, struct parser *p, struct arena *a,
			    struct buf *o, int r)
{
	bool go_on = true;
	switch (r) {
	case PARSER_CONTINUE:
		tr_puts(o, "+\n");
		return true;
	case PARSER_COMMAND: {
		struct imap_command cmd;
		const char *error = NULL;
		if (parser_command(p, &cmd, &error) > 0) {
			TR_CHECK(cmd.tag != NULL && cmd.name != NULL && cmd.tail != NULL,
				 "incomplete command");
			TR_CHECK(cmd.n_args == 0 || cmd.args != NULL, "args missing");
			tr_puts(o, "CMD ");
			tr_tag(o, cmd.tag);
			tr_puts(o, " ");
			tr_bytes(o, cmd.name, strlen(cmd.name));
			if (cmd.n_args > 0)
				tr_puts(o, " ");
			tr_args(opt, p, o, cmd.args, cmd.n_args);
		} else {
			TR_CHECK(error != NULL, "parser_command failed without error");
			tr_puts(o, "BAD ");
			tr_tag(o, cmd.tag);
			tr_puts(o, " ");
			tr_puts(o, error != NULL ? error : "(null)");
		}
		tr_puts(o, "\n");
		break;
	}
	case PARSER_LINE: {
		size_t n;
		const char *line = parser_line(p, &n);
		TR_CHECK(line != NULL && line[n] == '\0', "line not NUL-terminated");
		tr_puts(o, "LINE ");
		tr_bytes(o, line, n);
		tr_puts(o, "\n");
		break;
	}
	case PARSER_ERROR: {
		const char *tag = parser_error_tag(p);
		const char *err = parser_error(p);
		TR_CHECK(err != NULL, "no error text");
		tr_puts(o, "ERR ");
		if (opt->hide_toolong_tag && strstr(err, "too long") != NULL)
			tr_puts(o, "?");
		else
			tr_tag(o, tag);
		tr_puts(o, " ");
		tr_puts(o, err);
		tr_puts(o, "\n");
		break;
	}
	case PARSER_FATAL:
		tr_puts(o, "FATAL ");
		tr_puts(o, parser_error(p));
		tr_puts(o, "\n");
		go_on = false;
		break;
	default:
		TR_CHECK(0, "unknown parser result");
		return false;
	}
	parser_reset(p);
	arena_reset(a);
	return go_on;
}

/* Run input through a fresh parser; returns the transcript (malloc'd, NUL-terminated). */
static inline char *tr_run(struct tr_opts *opt, const void *input, size_t len,
			   tr_chunker next_chunk, void *ctx)
{
	struct arena a;
	struct parser p;
	struct buf o = { 0 };
	arena_init(&a, 4096);
	parser_init(&p, &a, opt->max_line, opt->max_literal);
	parser_set_line_mode(&p, opt->line_mode);
	opt->max_text_cap = 0;
	opt->literal_bytes = 0;
	const unsigned char *in = input;
	size_t off = 0;
	bool go_on = true;
	while (go_on && off < len) {
		size_t n = next_chunk(ctx, len - off);
		if (n == 0)
			n = 1;
		if (n > len - off)
			n = len - off;
		const unsigned char *d = in + off;
		size_t left = n;
		while (left > 0) {
			size_t before = left;
			int r = parser_feed(&p, &d, &left);
			if (p.text.cap > opt->max_text_cap)
				opt->max_text_cap = p.text.cap;
			TR_CHECK(d == in + off + (n - left), "data pointer and length disagree");
			if (r == PARSER_MORE) {
				TR_CHECK(left == 0, "PARSER_MORE with input left");
				break;
			}
			TR_CHECK(left < before, "a result without progress");
			if (!tr_event(opt, &p, &a, &o, r)) {
				go_on = false;
				break;
			}
		}
		off += n;
	}
	if (go_on && parser_pending(&p))
		tr_puts(&o, "PENDING\n");
	buf_append(&o, "", 1);
	parser_deinit(&p);
	arena_free(&a);
	return o.data;
}

#endif
