/*
 * A fast, read-only reader of the index file for `keyleak staged`.
 * libgit2 1.5 spends ~0.5 s loading a 100,000-entry index and does not
 * expose the index's cache tree, which is what lets `staged` skip every
 * directory whose staged tree still equals HEAD's.
 */
#ifndef KL_GIT_INDEX_H
#define KL_GIT_INDEX_H

#include "sources/git_util.h"

typedef struct kl_ientry {
	const char *path; /* into the mapped file, or kl_index.paths (v4) */
	git_oid oid;
	uint32_t mode;
	unsigned stage;  /* 0, or 1-3 during a conflicted merge */
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

/* The cached tree id of directory dir ("" or "a/b/"), or NULL. */
const git_oid *kl_index_dir_oid(const kl_index *ix, const char *dir,
				size_t len);

#endif
