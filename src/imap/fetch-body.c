/* FETCH body sections and MIME items: slices of the stored message go out by reference. */
#include "imap/fetch.h"
#include "imap/session.h"
#include "mail/binary.h"
#include "mail/bodystructure.h"
#include "mail/envelope.h"
#include "mail/mime.h"

#include <stdlib.h>
#include <string.h>

static void blob_release(void *ctx)
{
	struct uimap_blob *b = ctx;
	uimap_blob_unref(&b);
}

/* Apply <origin.length> to a slice. */
static void apply_partial(const struct fetch_item *it, size_t *off, size_t *len)
{
	if (!it->partial)
		return;
	/* RFC 3501 §6.4.5: an origin past the end gives an empty string */
	if (it->origin >= *len) {
		*off += *len;
		*len = 0;
		return;
	}
	*off += it->origin;
	*len -= it->origin;
	if (*len > it->length)
		*len = it->length;
}

/* Queue a literal whose bytes stay in the blob (zero-copy). */
static void write_slice(struct session *s, const struct fetch_item *it, struct uimap_blob *blob,
			size_t off, size_t len)
{
	apply_partial(it, &off, &len);
	outq_printf(s->out, "{%zu}\r\n", len);
	if (len > 0)
		outq_append_ref(s->out, blob->data + off, len, blob_release, uimap_blob_ref(blob));
}

int fetch_section_prepare(struct arena *a, struct fetch_item *item, const char **error_r)
{
	item->sec = arena_alloc(a, sizeof(*item->sec));
	if (mail_section_parse(item->section, strlen(item->section), item->sec, error_r) < 0)
		return -1;
	return 0;
}

int fetch_write_section(struct session *s, const struct fetch_item *it,
			struct uimap_blob *blob, const char **error_r)
{
	const struct mail_structure *st = mail_structure_get(blob);
	const struct mail_section *sec = it->sec;
	if (st == NULL) {
		*error_r = "Cannot parse the message";
		outq_puts(s->out, "NIL");
		return -1;
	}
	struct mail_section_result res;
	mail_section_resolve(st, sec, &res);
	switch (res.kind) {
	case MAIL_SECTION_SLICE:
		write_slice(s, it, blob, res.off, res.len);
		break;
	case MAIL_SECTION_FILTER: {
		size_t len, off = 0;
		char *data = mail_section_filter(&s->scratch, blob->data, &res, sec, &len);
		apply_partial(it, &off, &len);
		outq_printf(s->out, "{%zu}\r\n", len);
		outq_append(s->out, data + off, len);
		break;
	}
	case MAIL_SECTION_EMPTY:
	default:
		/* a part that does not exist is an empty string, as in Dovecot */
		outq_puts(s->out, "\"\"");
		break;
	}
	return 0;
}

/* The pieces of a BINARY item (from the session's scratch arena), or a negative
   enum mail_binary_error. */
static int binary_pieces(struct session *s, const struct fetch_item *it,
			 struct uimap_blob *blob, struct mail_piece **pieces_r)
{
	struct mail_structure *st = (struct mail_structure *)mail_structure_get(blob);
	if (st == NULL)
		return MAIL_BINARY_BROKEN;
	*pieces_r = arena_alloc(&s->scratch, (3 * (size_t)st->n_parts + 1) * sizeof(**pieces_r));
	return mail_binary_pieces(blob->data, st, it->sec, *pieces_r);
}

int fetch_binary_check(struct session *s, const struct fetch_item *it, struct uimap_blob *blob,
		       const char **code_r)
{
	struct mail_piece *pieces;
	int n = binary_pieces(s, it, blob, &pieces);
	if (n >= 0)
		return 0;
	/* RFC 3516 §4.2: an encoding the server cannot undo is NO [UNKNOWN-CTE] */
	*code_r = n == MAIL_BINARY_UNKNOWN_CTE ? "UNKNOWN-CTE" : "PARSE";
	return -1;
}

void fetch_write_binary(struct session *s, const struct fetch_item *it, struct uimap_blob *blob)
{
	struct mail_piece *pieces;
	int n = binary_pieces(s, it, blob, &pieces);
	size_t total = 0;
	for (int i = 0; i < n; i++)
		total += pieces[i].size;
	if (it->kind == FETCH_BINARY_SIZE) {
		outq_printf(s->out, "%zu", total);
		return;
	}
	size_t from = 0, len = total;
	apply_partial(it, &from, &len);
	if (len == 0) {
		outq_puts(s->out, "\"\"");
		return;
	}
	/* decode what falls in the window first: a NUL anywhere makes it a literal8 */
	const struct mail_structure *st = mail_structure_get(blob);
	char **decoded = arena_alloc(&s->scratch, (size_t)n * sizeof(*decoded));
	bool nul = false;
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		const struct mail_piece *p = &pieces[i];
		size_t lo = at > from ? at : from, hi = at + p->size;
		decoded[i] = NULL;
		if (hi > from + len)
			hi = from + len;
		if (lo < hi && p->kind == MAIL_PIECE_DECODE) {
			decoded[i] = malloc(p->size > 0 ? p->size : 1);
			if (decoded[i] == NULL)
				abort();
			mail_binary_decode(blob->data, st, p, decoded[i]);
			nul = nul || memchr(decoded[i] + (lo - at), '\0', hi - lo) != NULL;
		} else if (lo < hi && p->kind == MAIL_PIECE_SLICE) {
			nul = nul || memchr(blob->data + p->off + (lo - at), '\0', hi - lo) != NULL;
		}
		at += p->size;
	}
	/* RFC 3516 §4.3: a literal8 only for data with a NUL (otherwise a string) */
	outq_printf(s->out, "%s{%zu}\r\n", nul ? "~" : "", len);
	at = 0;
	for (int i = 0; i < n; i++) {
		const struct mail_piece *p = &pieces[i];
		size_t lo = at > from ? at : from, hi = at + p->size;
		if (hi > from + len)
			hi = from + len;
		if (lo < hi) {
			if (p->kind == MAIL_PIECE_SLICE)
				outq_append_ref(s->out, blob->data + p->off + (lo - at), hi - lo,
						blob_release, uimap_blob_ref(blob));
			else if (p->kind == MAIL_PIECE_BINARY_WORD)
				outq_append(s->out, &"binary"[lo - at], hi - lo);
			else
				outq_append_ref(s->out, decoded[i] + (lo - at), hi - lo, free,
						decoded[i]);
		} else {
			free(decoded[i]);
		}
		at += p->size;
	}
}

int fetch_write_mime(struct session *s, enum fetch_kind kind, struct uimap_blob *blob)
{
	const struct mail_structure *st = mail_structure_get(blob);
	if (st == NULL) {
		outq_puts(s->out, "NIL");
		return -1;
	}
	if (kind == FETCH_ENVELOPE)
		mail_envelope_write(s->out, blob->data, st, 0);
	else
		mail_bodystructure_write(s->out, blob->data, st, 0, kind == FETCH_BODYSTRUCTURE);
	return 0;
}
