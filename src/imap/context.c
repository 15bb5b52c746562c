/* Search and sort contexts: RFC 5267 §4.3 (CONTEXT=SEARCH, CONTEXT=SORT), see context.h. */
#include "imap/context.h"
#include "imap/cmd.h"
#include "imap/fetch.h"
#include "imap/search.h"
#include "imap/seqset.h"
#include "imap/session.h"
#include "imap/sortorder.h"
#include "core/alloc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message of a sort context's result: what it sorts by (its blob referenced, as
   the header keys live in the blob's cache). */
struct ctx_entry {
	struct sort_item it;
};

struct search_context {
	struct search_context *next;
	char *tag;
	bool uid;                   /* UID SEARCH / UID SORT: updates carry UIDs */
	struct arena arena;         /* the program */
	struct search_key *prog;
	uint32_t *uids;             /* the result, ascending */
	uint32_t n, cap;
	uint32_t max_uid;           /* messages up to this UID were evaluated */
	bool has_fetch;             /* UPDATE (fetch-att ...) of RFC 5465 §7 */
	struct fetch_items fetch;
	/* CONTEXT=SORT: the same result in sort order */
	bool sorted;
	struct sort_spec spec;
	struct ctx_entry **ents;    /* parallel to uids */
	struct ctx_entry **order;   /* n entries, in sort order */
	uint32_t cap_order;
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

static void insert_at(struct search_context *c, uint32_t i, uint32_t uid, struct ctx_entry *e)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->uids = xrealloc(c->uids, c->cap * sizeof(*c->uids));
		if (c->sorted)
			c->ents = xrealloc(c->ents, c->cap * sizeof(*c->ents));
	}
	memmove(c->uids + i + 1, c->uids + i, (size_t)(c->n - i) * sizeof(*c->uids));
	c->uids[i] = uid;
	if (c->sorted) {
		memmove(c->ents + i + 1, c->ents + i, (size_t)(c->n - i) * sizeof(*c->ents));
		c->ents[i] = e;
	}
	c->n++;
}

static void remove_at(struct search_context *c, uint32_t i)
{
	memmove(c->uids + i, c->uids + i + 1, (size_t)(c->n - i - 1) * sizeof(*c->uids));
	if (c->sorted)
		memmove(c->ents + i, c->ents + i + 1, (size_t)(c->n - i - 1) * sizeof(*c->ents));
	c->n--;
}

/* ---- sort contexts: the result in sort order as well -------------------------- */

static struct ctx_entry *entry_new(const struct search_context *c, const struct sort_item *it)
{
	struct ctx_entry *e = xmalloc(sizeof(*e));
	e->it = *it;
	e->it.blob = uimap_blob_ref(it->blob);
	return e;
}

static void entry_free(struct ctx_entry *e)
{
	uimap_blob_unref(&e->it.blob);
	free(e);
}

/* Index of the first entry that sorts at or after it (the order is total: UIDs break
   ties), so an entry's own index, or where a new one goes. */
static uint32_t order_lower(const struct search_context *c, const struct sort_item *it)
{
	uint32_t lo = 0, hi = c->n;   /* the order holds as many entries as uids */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (sort_compare(&c->spec, &c->order[mid]->it, it) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Insert e (uid at index i of uids) and return its position in the sorted result,
   from 1 (RFC 5267 §4.3.3: the position it occupies after the insertion). */
static uint32_t sorted_insert(struct search_context *c, uint32_t i, struct ctx_entry *e)
{
	uint32_t pos = order_lower(c, &e->it);
	if (c->n == c->cap_order) {
		c->cap_order = c->cap_order ? 2 * c->cap_order : 16;
		c->order = xrealloc(c->order, c->cap_order * sizeof(*c->order));
	}
	memmove(c->order + pos + 1, c->order + pos, (size_t)(c->n - pos) * sizeof(*c->order));
	c->order[pos] = e;
	insert_at(c, i, e->it.uid, e);
	return pos + 1;
}

/* Remove the entry at index i of uids; returns the position it had, from 1 (RFC 5267
   §4.3.4: the position before the removal). */
static uint32_t sorted_remove(struct search_context *c, uint32_t i)
{
	struct ctx_entry *e = c->ents[i];
	uint32_t pos = order_lower(c, &e->it);
	memmove(c->order + pos, c->order + pos + 1, (size_t)(c->n - pos - 1) * sizeof(*c->order));
	remove_at(c, i);
	entry_free(e);
	return pos + 1;
}

int context_set_fetch(struct search_context *ctx, const struct imap_arg *list,
		      const char **error_r)
{
	if (fetch_items_parse_in(&ctx->arena, list, &ctx->fetch, error_r) < 0)
		return -1;
	ctx->has_fetch = true;
	return 0;
}

void context_set_sort(struct search_context *ctx, const struct sort_spec *spec)
{
	ctx->sorted = true;
	ctx->spec = *spec;
}

void context_add(struct search_context *ctx, uint32_t uid)
{
	insert_at(ctx, ctx->n, uid, NULL);
}

void context_add_sorted(struct search_context *ctx, const struct sort_item *it)
{
	/* in sort order; the UID index is sorted once at context_attach() */
	struct ctx_entry *e = entry_new(ctx, it);
	if (ctx->n == ctx->cap_order) {
		ctx->cap_order = ctx->cap_order ? 2 * ctx->cap_order : 16;
		ctx->order = xrealloc(ctx->order, ctx->cap_order * sizeof(*ctx->order));
	}
	ctx->order[ctx->n] = e;
	insert_at(ctx, ctx->n, it->uid, e);
}

static int ent_uid_cmp(const void *pa, const void *pb)
{
	uint32_t a = (*(struct ctx_entry *const *)pa)->it.uid;
	uint32_t b = (*(struct ctx_entry *const *)pb)->it.uid;
	return a < b ? -1 : a > b;
}

void context_attach(struct session *s, struct search_context *ctx, uint32_t max_uid)
{
	if (ctx->sorted && ctx->n > 1) {
		qsort(ctx->ents, ctx->n, sizeof(*ctx->ents), ent_uid_cmp);
		for (uint32_t i = 0; i < ctx->n; i++)
			ctx->uids[i] = ctx->ents[i]->it.uid;
	}
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
	for (uint32_t i = 0; ctx->sorted && i < ctx->n; i++)
		entry_free(ctx->ents[i]);
	free(ctx->ents);
	free(ctx->order);
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

/* One message added or removed: "(0 n)" for a search context, "(position n)" for a
   sort context (RFC 5267 §4.3.3, §4.3.4). */
static void write_one(struct session *s, const struct search_context *c, const char *what,
		      uint32_t pos, uint32_t num)
{
	outq_printf(s->out, "* ESEARCH (TAG \"%s\")%s %s (%u %u)\r\n", c->tag,
		    c->uid ? " UID" : "", what, pos, num);
}

void context_expunged(struct session *s, uint32_t seq, uint32_t uid)
{
	for (struct search_context *c = s->contexts; c != NULL; c = c->next) {
		uint32_t i = lower_bound(c, uid);
		if (i == c->n || c->uids[i] != uid)
			continue;
		uint32_t pos = 0;
		if (c->sorted)
			pos = sorted_remove(c, i);
		else
			remove_at(c, i);
		/* RFC 5267 §4.3.4: a sequence number is told before the EXPUNGE that
		   renumbers; with QRESYNC the expunges before it go out first (VANISHED) so
		   the number is the one the client has */
		if (!c->uid)
			session_flush_vanished(s);
		write_one(s, c, "REMOVEFROM", pos, c->uid ? uid : seq);
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
			uint32_t num = c->uid ? info.uid : seq;
			/* RFC 5465 §7: UPDATE's fetch attributes for a new member, after the
			   EXISTS and before the ESEARCH */
			if (c->has_fetch)
				fetch_write_notify(s, &c->fetch, seq);
			if (c->sorted) {
				/* one (position number) pair each, applied in order (§4.3.3) */
				struct sort_item it;
				sort_item_init(&it, &c->spec, seq, &info);
				uint32_t pos = sorted_insert(c, c->n, entry_new(c, &it));
				char pair[32];
				int len = snprintf(pair, sizeof(pair), "%s%u %u",
						   w.text.len ? " " : "", pos, num);
				buf_append(&w.text, pair, (size_t)len);
				continue;
			}
			insert_at(c, c->n, info.uid, NULL);
			seqset_writer_add(&w, num);
		}
		if (!c->sorted)
			seqset_writer_add(&w, 0);
		/* RFC 5267 §4.3.3: after the EXISTS that announced them */
		if (w.text.len > 0 && c->sorted)
			outq_printf(s->out, "* ESEARCH (TAG \"%s\")%s ADDTO (%.*s)\r\n", c->tag,
				    c->uid ? " UID" : "", (int)w.text.len, (const char *)w.text.data);
		else if (w.text.len > 0)
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
		uint32_t pos = 0;
		if (c->sorted && match) {
			struct sort_item it;
			sort_item_init(&it, &c->spec, info->seq, info);
			pos = sorted_insert(c, i, entry_new(c, &it));
		} else if (c->sorted) {
			pos = sorted_remove(c, i);
		} else if (match) {
			insert_at(c, i, info->uid, NULL);
		} else {
			remove_at(c, i);
		}
		/* RFC 5465 §5.1: after the FETCH that told the change */
		write_one(s, c, match ? "ADDTO" : "REMOVEFROM", pos,
			  c->uid ? info->uid : info->seq);
	}
}
