/* FETCH body sections and MIME items: slices of the stored message go out by reference. */
#include "imap/fetch.h"
#include "imap/session.h"
#include "mail/bodystructure.h"
#include "mail/envelope.h"
#include "mail/mime.h"

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
