/* Immutable, reference-counted message texts shared by mailboxes and output iovecs. */
#include "core/blob.h"
#include "core/common.h"

#include <stdlib.h>
#include <string.h>

enum blob_kind {
	BLOB_INLINE = 1,    /* bytes follow the header in the same allocation */
	BLOB_ADOPTED = 2,   /* bytes are a malloc()ed buffer */
	BLOB_CUSTOM = 3,    /* bytes released through a callback */
};

/* What the library allocates: the public part first (embedders only ever get
   pointers to it from uimap_blob_new_*). */
struct blob {
	struct uimap_blob pub;
	uint32_t refs;      /* atomic: a background writer may hold a reference */
	uint32_t kind;      /* enum blob_kind */
	void *ext;          /* the cached derived object (blob_set_ext) */
	void (*ext_free)(void *ext);
};

struct blob_custom {
	struct blob b;
	void (*release)(void *ctx, const void *data, size_t size);
	void *ctx;
};

static struct blob *blob_of(const struct uimap_blob *pub)
{
	return (struct blob *)(uintptr_t)pub;
}

static void blob_init(struct blob *b, const void *data, size_t size, enum blob_kind kind)
{
	b->pub.data = data;
	b->pub.size = size;
	b->refs = 1;
	b->kind = kind;
	b->ext = NULL;
	b->ext_free = NULL;
}

void *blob_ext(const struct uimap_blob *blob)
{
	return blob_of(blob)->ext;
}

void blob_set_ext(struct uimap_blob *blob, void *ext, void (*ext_free)(void *ext))
{
	blob_of(blob)->ext = ext;
	blob_of(blob)->ext_free = ext_free;
}

uint32_t blob_refs(const struct uimap_blob *blob)
{
	return __atomic_load_n(&blob_of(blob)->refs, __ATOMIC_RELAXED);
}

UIMAP_EXPORT struct uimap_blob *uimap_blob_new_copy(const void *data, size_t size)
{
	struct blob *b = malloc(sizeof(*b) + size);

	if (b == NULL)
		return NULL;
	char *bytes = (char *)(b + 1);

	if (size > 0)
		memcpy(bytes, data, size);
	blob_init(b, bytes, size, BLOB_INLINE);
	return &b->pub;
}

UIMAP_EXPORT struct uimap_blob *uimap_blob_new_adopt(void *buf, size_t size)
{
	struct blob *b = malloc(sizeof(*b));

	if (b == NULL)
		return NULL;
	blob_init(b, buf, size, BLOB_ADOPTED);
	return &b->pub;
}

UIMAP_EXPORT struct uimap_blob *
uimap_blob_new_custom(const void *data, size_t size,
		      void (*release)(void *ctx, const void *data, size_t size), void *ctx)
{
	struct blob_custom *c = malloc(sizeof(*c));

	if (c == NULL)
		return NULL;
	blob_init(&c->b, data, size, BLOB_CUSTOM);
	c->release = release;
	c->ctx = ctx;
	return &c->b.pub;
}

UIMAP_EXPORT struct uimap_blob *uimap_blob_ref(struct uimap_blob *blob)
{
	__atomic_add_fetch(&blob_of(blob)->refs, 1, __ATOMIC_RELAXED);
	return blob;
}

UIMAP_EXPORT void uimap_blob_unref(struct uimap_blob **blobp)
{
	struct blob *b;

	if (blobp == NULL || *blobp == NULL)
		return;
	b = blob_of(*blobp);
	*blobp = NULL;
	if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (b->ext_free != NULL)
		b->ext_free(b->ext);
	switch (b->kind) {
	case BLOB_ADOPTED:
		free((void *)b->pub.data);
		break;
	case BLOB_CUSTOM: {
		struct blob_custom *c = (struct blob_custom *)b;

		if (c->release != NULL)
			c->release(c->ctx, b->pub.data, b->pub.size);
		break;
	}
	default:
		break;
	}
	free(b);
}
