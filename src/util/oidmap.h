/*
 * kl_oidmap (src/util/oidmap.c): object id -> size_t, open addressing.
 */
#ifndef KL_UTIL_OIDMAP_H
#define KL_UTIL_OIDMAP_H

#include <git2.h>

#include "keyleak.h"

/*
 * A map from object id to a size_t, open addressing. Object ids are
 * already uniformly distributed, so their first bytes are the hash.
 */
typedef struct kl_oidmap {
	git_oid *keys;
	size_t *vals;
	unsigned char *used;
	size_t len;
	size_t cap; /* power of two */
} kl_oidmap;

/* Value for id, or SIZE_MAX when absent. */
size_t kl_oidmap_get(const kl_oidmap *m, const git_oid *id);
/* Insert id -> val unless present; returns true if it was inserted. */
bool kl_oidmap_put(kl_oidmap *m, const git_oid *id, size_t val);
void kl_oidmap_free(kl_oidmap *m);

#endif
