/* Search contexts (RFC 5267 §4.3, CONTEXT=SEARCH): a SEARCH with RETURN (UPDATE) keeps
   its program and its result while the mailbox stays selected, and the session tells
   each change of the result as "* ESEARCH (TAG "t") [UID] ADDTO (0 set)" or
   "REMOVEFROM (0 set)". The cost follows the changes: only messages the sync reports
   (new, flags changed, expunged) are evaluated again. */
#ifndef IMAP_CONTEXT_H
#define IMAP_CONTEXT_H

#include "core/arena.h"

#include <stdbool.h>
#include <stdint.h>

struct session;
struct search_key;
struct uimap_msg_info;

/* Updating contexts one session may keep (Dovecot keeps 10 too); one more gets
   "* NO [NOUPDATE "tag"]" and an ordinary answer (RFC 5267 §4.3.1). */
#define SEARCH_CONTEXTS_MAX 10

struct search_context;

/* Whether the session has an updating context with this tag (RFC 5267 §4.3: a SEARCH
   reusing it is BAD). */
bool context_exists(struct session *s, const char *tag);

/* How many updating contexts the session has. */
unsigned context_count(struct session *s);

/* A context for the running SEARCH (not yet attached); parse its program into
   context_arena(). uid: UID SEARCH (results are UIDs, else sequence numbers). */
struct search_context *context_new(const char *tag, bool uid);
struct arena *context_arena(struct search_context *ctx);

/* Give the context its program (parsed into its arena; sequence numbers in it are
   turned into UIDs now). */
void context_set_program(struct search_context *ctx, struct session *s,
			 struct search_key *prog);

/* A message of the initial result, in ascending UID order. */
void context_add(struct search_context *ctx, uint32_t uid);

/* UPDATE (fetch-att ...) (RFC 5465 §7): a FETCH with these attributes for each new
   message that joins the result. Parses list into the context. Returns 0, or -1 with
   *error_r. */
struct imap_arg;
int context_set_fetch(struct search_context *ctx, const struct imap_arg *list,
		      const char **error_r);

/* SORT RETURN (UPDATE) (RFC 5267 §4, CONTEXT=SORT): the context keeps its result in
   spec's order and tells changes as (position number) pairs; call before adding. */
struct sort_spec;
struct sort_item;
void context_set_sort(struct search_context *ctx, const struct sort_spec *spec);

/* A message of a sort context's initial result, in sort order (its blob is
   referenced while the context holds the message). */
void context_add_sorted(struct search_context *ctx, const struct sort_item *it);

/* The initial search is done over the messages up to max_uid: from now on the
   session keeps the context (and frees it). */
void context_attach(struct session *s, struct search_context *ctx, uint32_t max_uid);

/* Free a context that was never attached (with its program). */
void context_free(struct search_context *ctx);

/* Drop every context (the mailbox is no longer selected: RFC 5267 §4.3). */
void context_free_all(struct session *s);

/* CANCELUPDATE of one tag: 0, or -ENOENT when no context has it. */
int context_cancel(struct session *s, const char *tag);

/* Sync hooks, called as the session tells the client:
   before "* seq EXPUNGE" (or adding uid to a VANISHED) of a message; */
void context_expunged(struct session *s, uint32_t seq, uint32_t uid);
/* after "* n EXISTS": evaluates the messages no context has seen yet; */
void context_new_messages(struct session *s);
/* after a message's flags changed (another session's FETCH, or this session's own
   STORE or implicit \Seen). */
void context_flags_changed(struct session *s, const struct uimap_msg_info *info);

#endif
