/* Search contexts: RFC 5267 §4.3 (CONTEXT=SEARCH), see context.h. */
#include "imap/context.h"
#include "imap/cmd.h"
#include "imap/search.h"
#include "imap/seqset.h"
#include "imap/session.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct search_context {
	struct search_context *next;
	char *tag;
	bool uid;                   /* UID SEARCH: updates carry UIDs */
	struct arena arena;         /* the program */
	struct search_key *prog;
	uint32_t *uids;             /* the result, ascending */
	uint32_t n, cap;
	uint32_t max_uid;           /* messages up to this UID were evaluated */
};

bool context_exists(struct session *s, const char *tag)
{
	for (struct search_context *c = s->contexts; c != NULL; c = c->next)
		if (strcmp(c->tag, tag) == 0)
			return true;
	return false;
}

unsigned context_count(struct session *s)
{
	unsigned n = 0;
	for (struct search_context *c = s->contexts; c != NULL; c = c->next)
		n++;
	return n;
}

struct search_context *context_new(const char *tag, bool uid)
{
	struct search_context *c = xcalloc(1, sizeof(*c));
	c->tag = xstrdup(tag);
	c->uid = uid;
	arena_init(&c->arena, 1024);
	return c;
}

struct arena *context_arena(struct search_context *ctx)
{
	return &ctx->arena;
}

void context_set_program(struct search_context *ctx, struct session *s,
			 struct search_key *prog)
{
	ctx->prog = prog;
	search_seqsets_to_uids(prog, s->view);
}

/* Index of the first UID >= uid in the result. */
static uint32_t lower_bound(const struct search_context *c, uint32_t uid)
{
	uint32_t lo = 0, hi = c->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (c->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void insert_at(struct search_context *c, uint32_t i, uint32_t uid)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->uids = xrealloc(c->uids, c->cap * sizeof(*c->uids));
	}
	memmove(c->uids + i + 1, c->uids + i, (size_t)(c->n - i) * sizeof(*c->uids));
	c->uids[i] = uid;
	c->n++;
}

static void remove_at(struct search_context *c, uint32_t i)
{
	memmove(c->uids + i, c->uids + i + 1, (size_t)(c->n - i - 1) * sizeof(*c->uids));
	c->n--;
}

void context_add(struct search_context *ctx, uint32_t uid)
{
	insert_at(ctx, ctx->n, uid);
}

void context_attach(struct session *s, struct search_context *ctx, uint32_t max_uid)
{
	ctx->max_uid = max_uid;
	ctx->next = s->contexts;
	s->contexts = ctx;
}

void context_free(struct search_context *ctx)
{
	if (ctx == NULL)
		return;
	search_free(ctx->prog);
	arena_free(&ctx->arena);
	free(ctx->uids);
	free(ctx->tag);
	free(ctx);
}

void context_free_all(struct session *s)
{
	while (s->contexts != NULL) {
		struct search_context *c = s->contexts;
		s->contexts = c->next;
		context_free(c);
	}
}

int context_cancel(struct session *s, const char *tag)
{
	for (struct search_context **p = &s->contexts; *p != NULL; p = &(*p)->next)
		if (strcmp((*p)->tag, tag) == 0) {
			struct search_context *c = *p;
			*p = c->next;
			context_free(c);
			return 0;
		}
	return -ENOENT;
}

/* RFC 5267 §4.3.2: position 0, the set in mailbox order */
static void write_update(struct session *s, const struct search_context *c, const char *what,
			 const char *set, size_t len)
{
	outq_printf(s->out, "* ESEARCH (TAG \"%s\")%s %s (0 ", c->tag, c->uid ? " UID" : "", what);
	outq_append(s->out, set, len);
	outq_puts(s->out, ")\r\n");
}

static void write_one(struct session *s, const struct search_context *c, const char *what,
		      uint32_t num)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%u", num);
	write_update(s, c, what, text, (size_t)n);
}

void context_expunged(struct session *s, uint32_t seq, uint32_t uid)
{
	for (struct search_context *c = s->contexts; c != NULL; c = c->next) {
		uint32_t i = lower_bound(c, uid);
		if (i == c->n || c->uids[i] != uid)
			continue;
		remove_at(c, i);
		/* RFC 5267 §4.3.4: a sequence number is told before the EXPUNGE that
		   renumbers; with QRESYNC the expunges before it go out first (VANISHED) so
		   the number is the one the client has */
		if (!c->uid)
			session_flush_vanished(s);
		write_one(s, c, "REMOVEFROM", c->uid ? uid : seq);
	}
}

void context_new_messages(struct session *s)
{
	struct uimap_store_view *v = s->view;
	uint32_t count = v->vt->view_count(v);
	for (struct search_context *c = s->contexts; c != NULL; c = c->next) {
		struct uimap_msg_info info;
		uint32_t first = count + 1;
		/* the messages above max_uid are the last ones */
		while (first > 1 && v->vt->view_msg(v, first - 1, &info) == 0 &&
		       info.uid > c->max_uid)
			first--;
		if (first > count)
			continue;
		search_refresh_keywords(c->prog, v);
		struct seqset_writer w = { 0 };
		for (uint32_t seq = first; seq <= count; seq++) {
			if (v->vt->view_msg(v, seq, &info) != 0)
				continue;
			c->max_uid = info.uid;
			if (!search_match(s, c->prog, seq, &info))
				continue;
			insert_at(c, c->n, info.uid);
			seqset_writer_add(&w, c->uid ? info.uid : seq);
		}
		seqset_writer_add(&w, 0);
		/* RFC 5267 §4.3.3: after the EXISTS that announced them */
		if (w.text.len > 0)
			write_update(s, c, "ADDTO", (const char *)w.text.data, w.text.len);
		buf_free(&w.text);
	}
}

void context_flags_changed(struct session *s, const struct uimap_msg_info *info)
{
	for (struct search_context *c = s->contexts; c != NULL; c = c->next) {
		if (info->uid > c->max_uid)
			continue;   /* not announced yet: context_new_messages() will */
		search_refresh_keywords(c->prog, s->view);
		uint32_t i = lower_bound(c, info->uid);
		bool in = i < c->n && c->uids[i] == info->uid;
		bool match = search_match(s, c->prog, info->seq, info);
		if (match == in)
			continue;
		if (match)
			insert_at(c, i, info->uid);
		else
			remove_at(c, i);
		/* RFC 5465 §5.1: after the FETCH that told the change */
		write_one(s, c, match ? "ADDTO" : "REMOVEFROM", c->uid ? info->uid : info->seq);
	}
}
