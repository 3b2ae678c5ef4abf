/*
 * Scanning what a diff adds, for the sources that must report only new
 * lines: staged (HEAD tree -> index) and history ranges (parent -> commit).
 */
#ifndef KL_GIT_DIFFSCAN_H
#define KL_GIT_DIFFSCAN_H

#include "sources/git/util.h"

typedef struct kl_diffscan {
	git_repository *repo;  /* borrowed */
	git_odb *odb;          /* owned */
	const kl_scan_opts *o;
	kl_scanner *sc;        /* owned */
	kl_report *r;          /* borrowed: findings and counters go here */
	const char *promisor;  /* --fetch-missing: fetch absent blobs from it */
} kl_diffscan;

int kl_diffscan_init(kl_diffscan *d, git_repository *repo,
		     const kl_scan_opts *o, kl_report *r, kl_error *err);
void kl_diffscan_free(kl_diffscan *d);

/*
 * Scan the lines diff adds. For a merge commit, others are the trees of
 * the parents after the first: a line counts as added only if it is new
 * relative to every parent, so what a merge merely brings in from the
 * merged branch is not attributed to it. Findings are appended to d->r
 * with their blob id set; returns how many were added.
 */
size_t kl_diffscan_run(kl_diffscan *d, git_diff *diff, git_tree *const *others,
		       size_t n_others);

/*
 * Scan one new blob at path, keeping matches on lines that are new
 * relative to every blob in olds (none: every line is new). Submodules
 * (mode 160000) are counted and skipped. Returns the findings added.
 */
size_t kl_diffscan_blob(kl_diffscan *d, const char *path, const git_oid *new_id,
			uint32_t mode, const git_oid *olds, size_t n_olds);

/* Detect renames so a moved file's old lines are not "added" again. */
int kl_diffscan_find_renames(git_diff *diff);

#endif
