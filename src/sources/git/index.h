/*
 * A fast, read-only reader of the index file for `keyleak staged`.
 * libgit2 1.5 spends ~0.5 s loading a 100,000-entry index and does not
 * expose the index's cache tree, which is what lets `staged` skip every
 * directory whose staged tree still equals HEAD's.
 */
#ifndef KL_GIT_INDEX_H
#define KL_GIT_INDEX_H

#include "sources/git/util.h"

/* Entries point into the mapped file: nothing is copied per entry. */
typedef struct kl_ientry {
	const unsigned char *disk; /* the on-disk entry: mode, oid, flags */
	const char *path; /* into the mapped file, or kl_index.paths (v4) */
} kl_ientry;

typedef struct kl_idir {
	size_t path;     /* offset into kl_index.dir_paths: "" or "dir/sub/" */
	git_oid oid;     /* tree id the staged entries below would write */
} kl_idir;

typedef struct kl_index {
	kl_ientry *e;    /* sorted by path, as in the file */
	size_t n;
	kl_buf paths;    /* v4 paths (prefix-compressed on disk), NUL-separated */
	kl_idir *dirs;   /* valid cache-tree directories, sorted by path */
	size_t n_dirs, cap_dirs;
	kl_buf dir_paths;
	void *map;       /* the index file, mapped read-only */
	size_t map_len;
} kl_index;

/* Read path (versions 2-4). Returns 0; 1 when the file is absent (an
 * empty index); -1 when the format is not supported here (split index,
 * unknown version, corrupt): the caller then falls back to libgit2. */
int kl_index_read(const char *file, kl_index *ix);
void kl_index_free(kl_index *ix);

static inline const char *kl_index_path(const kl_index *ix, size_t i)
{
	return ix->e[i].path;
}

static inline const git_oid *kl_ientry_oid(const kl_ientry *e)
{
	return (const git_oid *)(const void *)(e->disk + 40);
}

static inline uint32_t kl_ientry_mode(const kl_ientry *e)
{
	const unsigned char *p = e->disk + 24;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* 0, or 1-3 for the sides of a conflicted merge. */
static inline unsigned kl_ientry_stage(const kl_ientry *e)
{
	return (e->disk[60] >> 4) & 3;
}

/* The cached tree id of directory dir ("" or "a/b/"), or NULL. */
const git_oid *kl_index_dir_oid(const kl_index *ix, const char *dir,
				size_t len);

#endif
