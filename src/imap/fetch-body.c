/* FETCH body sections and MIME items: slices of the stored message go out by reference. */
#include "imap/fetch.h"
#include "imap/resp.h"

#include <string.h>
#include <strings.h>

static void blob_release(void *ctx)
{
	struct uimap_blob *b = ctx;
	uimap_blob_unref(&b);
}

/* Queue a literal whose bytes stay in the blob (zero-copy), applying <partial>. */
static void write_slice(struct session *s, const struct fetch_item *it, struct uimap_blob *blob,
			size_t off, size_t len)
{
	if (it->partial) {
		/* RFC 3501 §6.4.5: an origin past the end gives an empty string */
		if (it->origin >= len) {
			off += len;
			len = 0;
		} else {
			off += it->origin;
			len -= it->origin;
			if (len > it->length)
				len = it->length;
		}
	}
	outq_printf(s->out, "{%zu}\r\n", len);
	if (len > 0)
		outq_append_ref(s->out, blob->data + off, len, blob_release, uimap_blob_ref(blob));
}

/* Length of the header block including the blank line that ends it. */
static size_t header_length(const char *d, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (d[i] != '\n')
			continue;
		if (d[i + 1] == '\n')
			return i + 2;
		if (d[i + 1] == '\r' && i + 2 < n && d[i + 2] == '\n')
			return i + 3;
	}
	return n;
}

int fetch_write_section(struct session *s, const struct fetch_item *it,
			struct uimap_blob *blob, const char **error_r)
{
	const char *sec = it->section;
	size_t hdr = header_length(blob->data, blob->size);
	if (sec[0] == '\0') {
		write_slice(s, it, blob, 0, blob->size);
		return 0;
	}
	if (strcasecmp(sec, "HEADER") == 0) {
		write_slice(s, it, blob, 0, hdr);
		return 0;
	}
	if (strcasecmp(sec, "TEXT") == 0) {
		write_slice(s, it, blob, hdr, blob->size - hdr);
		return 0;
	}
	*error_r = "Section not supported";
	outq_puts(s->out, "NIL");
	return -1;
}

int fetch_write_mime(struct session *s, enum fetch_kind kind, struct uimap_blob *blob)
{
	(void)kind;
	(void)blob;
	outq_puts(s->out, "NIL");
	return -1;
}
