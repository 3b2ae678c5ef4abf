/*
 * Owns kl_oidmap, the object-id hash map the history walks, the audit and
 * the loose-object guard dedup with. It sits in util/ because both
 * sources/git/util.c and sources/git/guard.c use it (util.c calls guard.c).
 */
#include <stdlib.h>
#include <string.h>

#include "util/oidmap.h"

static size_t oid_hash(const git_oid *id)
{
	uint64_t h;

	memcpy(&h, id->id, sizeof(h));
	return (size_t)h;
}

static size_t oidmap_slot(const kl_oidmap *m, const git_oid *id)
{
	size_t mask = m->cap - 1;
	size_t i = oid_hash(id) & mask;

	while (m->used[i] && git_oid_cmp(&m->keys[i], id) != 0)
		i = (i + 1) & mask;
	return i;
}

size_t kl_oidmap_get(const kl_oidmap *m, const git_oid *id)
{
	size_t i;

	if (!m->cap)
		return SIZE_MAX;
	i = oidmap_slot(m, id);
	return m->used[i] ? m->vals[i] : SIZE_MAX;
}

static void oidmap_grow(kl_oidmap *m)
{
	kl_oidmap bigger = { 0 };
	size_t i;

	bigger.cap = m->cap ? m->cap * 2 : 1024;
	bigger.keys = kl_xmalloc(bigger.cap * sizeof(*bigger.keys));
	bigger.vals = kl_xmalloc(bigger.cap * sizeof(*bigger.vals));
	bigger.used = kl_xcalloc(bigger.cap, 1);
	for (i = 0; i < m->cap; i++)
		if (m->used[i])
			kl_oidmap_put(&bigger, &m->keys[i], m->vals[i]);
	kl_oidmap_free(m);
	*m = bigger;
}

bool kl_oidmap_put(kl_oidmap *m, const git_oid *id, size_t val)
{
	size_t i;

	/* Keep the load under 1/2 so probe runs stay short. */
	if ((m->len + 1) * 2 > m->cap)
		oidmap_grow(m);
	i = oidmap_slot(m, id);
	if (m->used[i])
		return false;
	m->used[i] = 1;
	git_oid_cpy(&m->keys[i], id);
	m->vals[i] = val;
	m->len++;
	return true;
}

void kl_oidmap_free(kl_oidmap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}
