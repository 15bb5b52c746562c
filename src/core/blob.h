/* The private side of a message blob: reference count, storage kind, and one cached
   derived object (the parsed MIME structure) shared by every copy of the message. */
#ifndef CORE_BLOB_H
#define CORE_BLOB_H

#include "uimap/store.h"

#include <stdint.h>

/* The cached object of blob, or NULL. */
void *blob_ext(const struct uimap_blob *blob);

/* Cache ext on blob (once: it must have none yet); ext_free(ext) runs with the
   last reference. */
void blob_set_ext(struct uimap_blob *blob, void *ext, void (*ext_free)(void *ext));

/* The current reference count (tests, statistics). */
uint32_t blob_refs(const struct uimap_blob *blob);

#endif
