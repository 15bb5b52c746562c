/* libFuzzer harness for SEARCH (src/imap/search.c) and sequence sets (seqset.c): the
   input follows "a SEARCH " on a command line, the IMAP parser splits it as the session
   does, and every command's arguments go to search_parse() with a minimal session (a
   memory store view of a few messages). A program must evaluate on every message the
   same as itself wrapped in parentheses; sequence sets must be sorted, merged and hold
   every number written. */
#include <errno.h>
#include <strings.h>

#include "fuzz-common.h"

#include "core/arena.h"
#include "imap/session.h"
#include "imap/parser.h"
#include "imap/search.h"
#include "imap/seqset.h"
#include "uimap/store.h"

static const char *const messages[] = {
	"From: Alice <alice@example.org>\r\nTo: bob@example.org, \"Carol C\" <carol@x.test>\r\n"
	"Subject: Hello world\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
	"Message-ID: <1@example.org>\r\n\r\nHi Bob,\r\nthe meeting is at noon.\r\n",
	"From: =?utf-8?q?J=C3=B6rg?= <joerg@example.de>\r\nSubject: =?iso-8859-1?q?caf=E9?=\r\n"
	"Date: 1 Jan 2020 23:30:00 +0900\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\nd=E9j=E0 vu =\r\nsoft break\r\n",
	"Subject: multipart\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n"
	"\r\npreamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b\r\n"
	"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	"PGI+Ym9sZDwvYj4gw6l0w6k=\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
	"Subject: inner\r\nCc: dave@example.com\r\n\r\ninner body\r\n--b--\r\n",
	"",
	"X-Header: no date here\r\nBcc: group: a@b, c@d;\r\n\r\nbody",
	"Date: garbage\r\nSubject: \t folded\r\n continues\r\n\r\n",
};

static struct uimap_store *store;
static struct uimap_store_user *user;
static struct session sess;

static void setup(void)
{
	static const char *const kws[] = { "$Forwarded", "Work" };
	struct uimap_select_info info;

	if (store != NULL)
		return;
	FUZZ_CHECK(uimap_store_memory_new(NULL, &store) == 0, "store");
	FUZZ_CHECK(store->vt->user_open(store, "fuzz", &user) == 0, "user");
	for (size_t i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		struct uimap_blob *blob = uimap_blob_new_copy(messages[i], strlen(messages[i]));
		struct uimap_append msg = {
			.blob = blob,
			.system_flags = (uint32_t)i * 7 & UIMAP_FLAGS_STORABLE,
			.keywords = i % 2 ? kws : NULL,
			.n_keywords = i % 2 ? 2 : 0,
			.internaldate = 760000000 + (time_t)i * 86400 * 400,
			.tz_minutes = (int16_t)((int)i * 150 - 600),
		};
		struct uimap_append_result res;

		FUZZ_CHECK(user->vt->mailbox_append(user, "INBOX", &msg, &res) == 0, "append");
		uimap_blob_unref(&blob);
	}
	FUZZ_CHECK(user->vt->view_open(user, "INBOX", false, &sess.view, &info) == 0, "select");
	sess.mail = user;
	sess.state = SESSION_SELECTED;
	arena_init(&sess.arena, 16384);
	parser_init(&sess.parser, &sess.arena, 65536, 1 << 20);
}

/* A parsed set against the text it came from. */
static void check_seqset(const char *text, uint32_t star)
{
	struct seqset set;
	const char *err = NULL;

	if (seqset_parse(&sess.arena, text, star, &set, &err) < 0) {
		FUZZ_CHECK(err != NULL, "seqset error without text");
		return;
	}
	FUZZ_CHECK(set.n > 0, "empty set");
	for (unsigned i = 0; i < set.n; i++) {
		FUZZ_CHECK(set.r[i].lo <= set.r[i].hi, "range lo > hi");
		if (i > 0)
			FUZZ_CHECK((uint64_t)set.r[i].lo > (uint64_t)set.r[i - 1].hi + 1,
				   "ranges not sorted and merged");
	}
	for (const char *p = text; *p != '\0';) {
		if (*p >= '1' && *p <= '9') {
			uint64_t v = 0;

			while (*p >= '0' && *p <= '9')
				v = v * 10 + (uint64_t)(*p++ - '0');
			FUZZ_CHECK(v <= UINT32_MAX && seqset_contains(&set, (uint32_t)v),
				   "number from \"%s\" missing", text);
		} else {
			if (*p == '*')
				FUZZ_CHECK(seqset_contains(&set, star), "star missing");
			p++;
		}
	}
}

static void check_atoms(const struct imap_arg *args, unsigned n, uint32_t star)
{
	for (unsigned i = 0; i < n; i++) {
		if (args[i].type == IMAP_ARG_LIST)
			check_atoms(args[i].u.list, args[i].len, star);
		else if (args[i].type == IMAP_ARG_ATOM &&
			 ((args[i].u.str[0] >= '0' && args[i].u.str[0] <= '9') ||
			  args[i].u.str[0] == '*'))
			check_seqset(args[i].u.str, star);
	}
}

/* Parse args as a SEARCH program; 1 with the match bits of every message in *bits_r. */
static int run_search(struct uimap_cmd *cmd, const struct imap_arg *args, unsigned n,
		      uint64_t *bits_r)
{
	struct search_key *prog = NULL;
	const char *error = NULL;
	struct uimap_store_view *v = sess.view;
	int r = search_parse(cmd, args, n, &prog, &error);

	if (r <= 0) {
		FUZZ_CHECK(error != NULL && (r == 0 || r == -1), "search_parse %d without error", r);
		return r;
	}
	FUZZ_CHECK(prog != NULL && prog->op == SEARCH_AND, "program");
	*bits_r = 0;
	uint32_t count = v->vt->view_count(v);

	for (uint32_t seq = 1; seq <= count && seq <= 64; seq++) {
		struct uimap_msg_info info;

		FUZZ_CHECK(v->vt->view_msg(v, seq, &info) == 0, "view_msg");
		if (search_match(&sess, prog, seq, &info))
			*bits_r |= 1ull << (seq - 1);
	}
	search_free(prog);
	return 1;
}

static void on_command(struct imap_command *c)
{
	struct uimap_cmd cmd = { .s = &sess, .c = *c };
	const struct imap_arg *args = c->args;
	unsigned n = c->n_args;
	uint32_t count = sess.view->vt->view_count(sess.view);
	uint64_t bits, wrapped;

	if (strcasecmp(c->name, "UID") == 0 && n > 0) {
		cmd.uid = true;
		args++;
		n--;
	}
	check_atoms(args, n, count);
	if (run_search(&cmd, args, n, &bits) != 1)
		return;
	/* the same keys in parentheses: one list key, the same program */
	if (n >= 1 && args[0].type == IMAP_ARG_ATOM && strcasecmp(args[0].u.str, "CHARSET") == 0)
		return;
	struct imap_arg list = { .type = IMAP_ARG_LIST, .len = n, .u.list = (struct imap_arg *)args };
	int r = run_search(&cmd, &list, 1, &wrapped);

	if (r < 0)
		return; /* nested one level too deep */
	FUZZ_CHECK(r == 1 && wrapped == bits, "parenthesised program differs: %llx vs %llx",
		   (unsigned long long)wrapped, (unsigned long long)bits);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "a SEARCH ";
	struct parser *p = &sess.parser;

	setup();
	unsigned char *in = malloc(sizeof(prefix) - 1 + size + 2);

	memcpy(in, prefix, sizeof(prefix) - 1);
	memcpy(in + sizeof(prefix) - 1, data, size);
	memcpy(in + sizeof(prefix) - 1 + size, "\r\n", 2);
	const unsigned char *d = in;
	size_t left = sizeof(prefix) - 1 + size + 2;

	while (left > 0) {
		int r = parser_feed(p, &d, &left);

		if (r == PARSER_MORE || r == PARSER_CONTINUE)
			continue;
		if (r == PARSER_COMMAND) {
			struct imap_command c;
			const char *error = NULL;

			if (parser_command(p, &c, &error) > 0)
				on_command(&c);
			else
				FUZZ_CHECK(error != NULL, "parser_command without error");
		} else if (r == PARSER_FATAL) {
			break;
		}
		parser_reset(p);
		arena_reset(&sess.arena);
	}
	parser_reset(p);
	arena_reset(&sess.arena);
	free(in);
	outq_cache_free();
	return 0;
}
