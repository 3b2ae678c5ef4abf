/*
 * Comparing two trees the cheap way: subtrees with the same id are never
 * opened, so a commit that changes one file costs a few tree reads
 * whatever the size of the repository. libgit2's tree-to-tree diff reads
 * both trees whole, which over a long history is most of the run.
 */
#ifndef KL_GIT_TREEDIFF_H
#define KL_GIT_TREEDIFF_H

#include <git2.h>

#include "internal.h"
#include "sources/git/walk.h"

typedef struct kl_treediff {
	git_repository *repo;
	kl_report *r; /* unreadable trees become error notices here */
	/* May prune: should the walk enter directory dir ("a/b/", len
	 * bytes)? NULL enters every differing directory. */
	bool (*descend)(void *ctx, const char *dir, size_t len);
	/* A path whose non-tree entry differs: old or new is NULL where that
	 * side has none (or has a tree there). */
	void (*entry)(void *ctx, const char *path, const git_tree_entry *old,
		      const git_tree_entry *new_entry);
	void *ctx;
	/* Optional: told the id of every tree read on the new side. */
	void (*tree)(void *ctx, const git_oid *id);
	/* Optional: a partial clone's promisor remote, to fetch a tree the
	 * clone lacks (--fetch-missing). A tree still absent joins r's
	 * missing-object summary. */
	const char *promisor;
} kl_treediff;

/* Walk the differences between trees old_id and new_id (either may be
 * NULL: an empty tree). */
void kl_treediff_run(const kl_treediff *d, const git_oid *old_id,
		     const git_oid *new_id);

/*
 * For a merge commit (node in g): does a parent other than the first hold
 * blob at path? Then the merge took it from the merged branch, whose own
 * commit introduced it, rather than adding it itself.
 */
bool kl_treediff_from_other_parent(git_repository *repo, const kl_cgraph *g,
				   size_t node, const char *path,
				   const git_oid *blob);

#endif
