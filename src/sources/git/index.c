/*
 * Owns parsing the index file (git's "DIRC" format, versions 2 to 4):
 * entries and the TREE (cache tree) extension, nothing else. Anything
 * unusual makes kl_index_read return -1 so libgit2's slower path is used.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sources/git/index.h"

#define ENTRY_FIXED 62 /* stat data, mode, ids, size, oid, flags */

typedef struct cursor {
	const unsigned char *p, *end;
} cursor;

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Map the file: a large index is read once, without copies. */
static int map_file(const char *file, kl_index *ix)
{
	struct stat st;
	int fd = open(file, O_RDONLY);

	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	if (fstat(fd, &st) < 0 || st.st_size <= 0) {
		close(fd);
		return -1;
	}
	ix->map_len = (size_t)st.st_size;
	ix->map = mmap(NULL, ix->map_len, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (ix->map == MAP_FAILED) {
		ix->map = NULL;
		return -1;
	}
	return 0;
}

/* Version 4 strips a varint-coded number of bytes from the previous path
 * and appends a NUL-terminated suffix. */
static int v4_path(cursor *c, kl_buf *prev)
{
	size_t strip = 0;
	const unsigned char *nul;
	unsigned char b;

	do {
		if (c->p >= c->end)
			return -1;
		b = *c->p++;
		strip = (strip << 7) | (b & 0x7f);
		if (b & 0x80)
			strip++;
	} while (b & 0x80);
	nul = memchr(c->p, 0, (size_t)(c->end - c->p));
	if (!nul || strip > prev->len)
		return -1;
	prev->len -= strip;
	kl_buf_add(prev, c->p, (size_t)(nul - c->p));
	c->p = nul + 1;
	return 0;
}

static int read_entry(cursor *c, uint32_t version, kl_index *ix, kl_buf *prev)
{
	const unsigned char *start = c->p, *nul;
	kl_ientry *e = &ix->e[ix->n];
	uint16_t flags;
	size_t fixed = ENTRY_FIXED;

	if ((size_t)(c->end - c->p) < fixed)
		return -1;
	flags = (uint16_t)(c->p[60] << 8 | c->p[61]);
	if ((flags & 0x4000) && version >= 3)
		fixed += 2;
	e->disk = c->p;
	c->p += fixed;
	if (version == 4) {
		if (v4_path(c, prev) < 0)
			return -1;
		/* An offset until the arena stops moving (see fix_v4_paths). */
		e->path = (const char *)(uintptr_t)ix->paths.len;
		kl_buf_add(&ix->paths, prev->data, prev->len + 1);
	} else {
		nul = memchr(c->p, 0, (size_t)(c->end - c->p));
		if (!nul)
			return -1;
		e->path = (const char *)c->p;
		/* Entries are NUL-padded to a multiple of 8 bytes. */
		c->p = start + ((fixed + (size_t)(nul - c->p) + 8) & ~(size_t)7);
		if (c->p > c->end)
			return -1;
	}
	ix->n++;
	return 0;
}

static void add_dir(kl_index *ix, const kl_buf *path, const unsigned char *raw)
{
	if (ix->n_dirs == ix->cap_dirs) {
		ix->cap_dirs = ix->cap_dirs ? ix->cap_dirs * 2 : 256;
		ix->dirs = kl_xrealloc(ix->dirs, ix->cap_dirs * sizeof(*ix->dirs));
	}
	ix->dirs[ix->n_dirs].path = ix->dir_paths.len;
	kl_buf_add(&ix->dir_paths, path->data ? path->data : "", path->len);
	kl_buf_addch(&ix->dir_paths, '\0');
	git_oid_fromraw(&ix->dirs[ix->n_dirs].oid, raw);
	ix->n_dirs++;
}

/* One cache-tree node and, recursively, its subtrees (pre-order). An
 * entry count of -1 marks a directory invalidated by a later `git add`. */
static int read_tree_node(cursor *c, kl_index *ix, kl_buf *dir)
{
	const unsigned char *nul = memchr(c->p, 0, (size_t)(c->end - c->p));
	size_t len = dir->len;
	long count, subtrees;
	char *end;

	if (!nul)
		return -1;
	if (nul > c->p) {
		kl_buf_add(dir, c->p, (size_t)(nul - c->p));
		kl_buf_addch(dir, '/');
	}
	c->p = nul + 1;
	count = strtol((const char *)c->p, &end, 10);
	if (*end != ' ')
		return -1;
	subtrees = strtol(end + 1, &end, 10);
	if (*end != '\n' || subtrees < 0)
		return -1;
	c->p = (const unsigned char *)end + 1;
	if (count >= 0) {
		if (c->end - c->p < GIT_OID_RAWSZ)
			return -1;
		add_dir(ix, dir, c->p);
		c->p += GIT_OID_RAWSZ;
	}
	while (subtrees-- > 0)
		if (read_tree_node(c, ix, dir) < 0)
			return -1;
	dir->len = len;
	if (dir->data)
		dir->data[len] = '\0';
	return 0;
}

static int cmp_dir(const void *a, const void *b, void *arena)
{
	return strcmp((const char *)arena + ((const kl_idir *)a)->path,
		      (const char *)arena + ((const kl_idir *)b)->path);
}

/* Extensions follow the entries; the file ends with a 20-byte checksum.
 * A "link" extension (split index) means entries live elsewhere. */
static int read_extensions(cursor *c, kl_index *ix)
{
	const unsigned char *end = c->end;

	while (end - c->p >= 8) {
		uint32_t size = be32(c->p + 4);
		cursor ext;
		kl_buf dir = KL_BUF_INIT;
		int rc = 0;

		if ((size_t)(end - c->p - 8) < size)
			return -1;
		ext.p = c->p + 8;
		ext.end = ext.p + size;
		if (memcmp(c->p, "link", 4) == 0 || memcmp(c->p, "sdir", 4) == 0)
			return -1;
		if (memcmp(c->p, "TREE", 4) == 0)
			while (rc == 0 && ext.p < ext.end)
				rc = read_tree_node(&ext, ix, &dir);
		kl_buf_free(&dir);
		if (rc < 0)
			return -1;
		c->p = ext.end;
	}
	if (ix->n_dirs)
		qsort_r(ix->dirs, ix->n_dirs, sizeof(*ix->dirs), cmp_dir,
			ix->dir_paths.data);
	return 0;
}

static void fix_v4_paths(kl_index *ix)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		ix->e[i].path = ix->paths.data + (uintptr_t)ix->e[i].path;
}

int kl_index_read(const char *file, kl_index *ix)
{
	kl_buf prev = KL_BUF_INIT;
	const unsigned char *raw;
	uint32_t version, count, i;
	cursor c;
	int rc;

	memset(ix, 0, sizeof(*ix));
	rc = map_file(file, ix);
	if (rc != 0)
		return rc;
	raw = ix->map;
	rc = -1;
	if (ix->map_len < 12 + GIT_OID_RAWSZ || memcmp(raw, "DIRC", 4) != 0)
		goto out;
	version = be32(raw + 4);
	count = be32(raw + 8);
	if (version < 2 || version > 4 || count > ix->map_len / 8)
		goto out;
	c.p = raw + 12;
	c.end = raw + ix->map_len - GIT_OID_RAWSZ;
	ix->e = kl_xmalloc(((size_t)count + 1) * sizeof(*ix->e));
	for (i = 0; i < count; i++)
		if (read_entry(&c, version, ix, &prev) < 0)
			goto out;
	if (version == 4)
		fix_v4_paths(ix);
	rc = read_extensions(&c, ix);
out:
	kl_buf_free(&prev);
	if (rc < 0)
		kl_index_free(ix);
	return rc;
}

void kl_index_free(kl_index *ix)
{
	free(ix->dirs);
	free(ix->e);
	kl_buf_free(&ix->paths);
	kl_buf_free(&ix->dir_paths);
	if (ix->map)
		munmap(ix->map, ix->map_len);
	memset(ix, 0, sizeof(*ix));
}

const git_oid *kl_index_dir_oid(const kl_index *ix, const char *dir,
				size_t len)
{
	size_t lo = 0, hi = ix->n_dirs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = ix->dir_paths.data + ix->dirs[mid].path;
		int c = strncmp(p, dir, len);

		if (c == 0 && p[len] != '\0')
			c = 1;
		if (c == 0)
			return &ix->dirs[mid].oid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
