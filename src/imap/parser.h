/* Incremental, resumable IMAP command parser: assembles lines and literals, then
   tokenises a complete command into arguments. */
#ifndef IMAP_PARSER_H
#define IMAP_PARSER_H

#include "core/buf.h"
#include "mail/imapstr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

enum imap_arg_type {
	IMAP_ARG_ATOM,     /* also NIL, numbers, flags (\Seen), sequence sets */
	IMAP_ARG_STRING,   /* quoted string, unescaped */
	IMAP_ARG_LITERAL,  /* {n} / {n+} / {n-} literal */
	IMAP_ARG_LIST,     /* parenthesised list */
	IMAP_ARG_LITERAL8, /* ~{n} / ~{n+}: RFC 3516 literal8, NUL bytes allowed (APPEND) */
};

struct imap_arg {
	enum imap_arg_type type;
	uint32_t len;      /* string length, or number of list elements */
	union {
		const char *str;            /* NUL-terminated (literals too) */
		struct imap_arg *list;
	} u;
};

struct imap_literal {
	unsigned char *data;  /* len + 1 bytes, NUL-terminated; large ones can be taken
				 with arena_large_take() */
	size_t len;
	size_t have;
	bool sync;
};

enum parser_result {
	PARSER_MORE = 0,      /* all input consumed; a command is not complete yet */
	PARSER_COMMAND = 1,   /* a complete command: call parser_command() */
	PARSER_CONTINUE = 2,  /* a synchronizing literal was announced: send "+ " */
	PARSER_LINE = 3,      /* line mode: a complete line: parser_line() */
	PARSER_ERROR = -1,    /* bad command, input resynchronised: parser_error() */
	PARSER_FATAL = -2,    /* cannot resynchronise: say BYE and close */
};

struct parser {
	/* permanent */
	size_t max_line;
	size_t max_literal;
	struct arena *arena;          /* the command arena: literals and arguments */
	bool line_mode;               /* deliver raw lines (AUTHENTICATE, IDLE); kept
					 across parser_reset(), see parser_set_line_mode() */
	/* reset by parser_reset() */
	int state;
	struct buf text;              /* command text outside literals, marker included */
	size_t *seg_ends;             /* text offset where literal i was announced */
	struct imap_literal *lits;
	unsigned n_lits, cap_lits;
	size_t lit_total;
	uint64_t skip;                /* literal bytes still to discard */
	char tail[32];                /* last bytes of a discarded line */
	unsigned tail_len;
	const char *error;
};

/* A complete, tokenised command. */
struct imap_command {
	const char *tag;
	const char *name;             /* as sent; compare case-insensitively */
	struct imap_arg *args;
	unsigned n_args;
	const char *tail;             /* raw text after the name, NUL-terminated; valid only
					 until parser_reset() (it points into the line buffer) */
};

/* Set up a parser with its limits; arena receives literals and arguments and must
   be reset only together with parser_reset(). */
void parser_init(struct parser *p, struct arena *arena, size_t max_line, size_t max_literal);

/* Consume input from *data (advancing *data and *len) until something happens.
   Returns enum parser_result; on PARSER_MORE all input was consumed. */
int parser_feed(struct parser *p, const unsigned char **data, size_t *len);

/* Tokenise the complete command. Returns 1 and fills cmd (storage in the arena),
   or -1 with *error_r (the command is bad; cmd->tag is set when a tag was read). */
int parser_command(struct parser *p, struct imap_command *cmd, const char **error_r);

/* The line delivered with PARSER_LINE (without CRLF, NUL-terminated). */
const char *parser_line(const struct parser *p, size_t *len_r);

/* The error text of PARSER_ERROR / PARSER_FATAL, and the tag if one could be read
   (NULL otherwise; stored in the arena). */
const char *parser_error(const struct parser *p);
const char *parser_error_tag(struct parser *p);

/* Deliver whole lines instead of commands (for continuation input). */
void parser_set_line_mode(struct parser *p, bool on);

/* Whether the parser holds a partial command or line. */
bool parser_pending(const struct parser *p);

/* Forget the current command (the arena must be reset by the caller too). */
void parser_reset(struct parser *p);

/* Free the parser's own memory. */
void parser_deinit(struct parser *p);


/* Whether s (len bytes) is a valid tag. */
bool imap_is_valid_tag(const char *s, size_t len);

#endif
