/* Immutable, reference-counted message texts shared by mailboxes and output iovecs. */
#include "uimap/store.h"

#include <stdlib.h>
#include <string.h>

#ifndef UIMAP_EXPORT
#define UIMAP_EXPORT __attribute__((visibility("default")))
#endif

enum blob_kind {
	BLOB_INLINE = 1,    /* bytes follow the header in the same allocation */
	BLOB_ADOPTED = 2,   /* bytes are a malloc()ed buffer */
	BLOB_CUSTOM = 3,    /* bytes released through a callback */
};

struct blob_custom {
	struct uimap_blob blob;
	void (*release)(void *ctx, const void *data, size_t size);
	void *ctx;
};

UIMAP_EXPORT struct uimap_blob *uimap_blob_new_copy(const void *data, size_t size)
{
	struct uimap_blob *blob = malloc(sizeof(*blob) + size);

	if (blob == NULL)
		return NULL;
	char *bytes = (char *)(blob + 1);

	if (size > 0)
		memcpy(bytes, data, size);
	blob->data = bytes;
	blob->size = size;
	blob->refs_ = 1;
	blob->kind_ = BLOB_INLINE;
	blob->ext_ = NULL;
	blob->ext_free_ = NULL;
	return blob;
}

UIMAP_EXPORT struct uimap_blob *uimap_blob_new_adopt(void *buf, size_t size)
{
	struct uimap_blob *blob = malloc(sizeof(*blob));

	if (blob == NULL)
		return NULL;
	blob->data = buf;
	blob->size = size;
	blob->refs_ = 1;
	blob->kind_ = BLOB_ADOPTED;
	blob->ext_ = NULL;
	blob->ext_free_ = NULL;
	return blob;
}

UIMAP_EXPORT struct uimap_blob *
uimap_blob_new_custom(const void *data, size_t size,
		      void (*release)(void *ctx, const void *data, size_t size), void *ctx)
{
	struct blob_custom *c = malloc(sizeof(*c));

	if (c == NULL)
		return NULL;
	c->blob.data = data;
	c->blob.size = size;
	c->blob.refs_ = 1;
	c->blob.kind_ = BLOB_CUSTOM;
	c->blob.ext_ = NULL;
	c->blob.ext_free_ = NULL;
	c->release = release;
	c->ctx = ctx;
	return &c->blob;
}

UIMAP_EXPORT struct uimap_blob *uimap_blob_ref(struct uimap_blob *blob)
{
	__atomic_add_fetch(&blob->refs_, 1, __ATOMIC_RELAXED);
	return blob;
}

UIMAP_EXPORT void uimap_blob_unref(struct uimap_blob **blobp)
{
	struct uimap_blob *blob;

	if (blobp == NULL || (blob = *blobp) == NULL)
		return;
	*blobp = NULL;
	if (__atomic_sub_fetch(&blob->refs_, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (blob->ext_free_ != NULL)
		blob->ext_free_(blob->ext_);
	switch (blob->kind_) {
	case BLOB_ADOPTED:
		free((void *)blob->data);
		break;
	case BLOB_CUSTOM: {
		struct blob_custom *c = (struct blob_custom *)blob;

		if (c->release != NULL)
			c->release(c->ctx, blob->data, blob->size);
		break;
	}
	default:
		break;
	}
	free(blob);
}
