/*
 * Owns `keyleak staged`: what `git commit` would record now. Diffs HEAD's
 * tree (nothing on an unborn branch) against the index and scans only the
 * lines the commit adds, with line numbers of the staged content.
 */
#include "sources/git_diffscan.h"

static int diff_head_to_index(git_repository *repo, git_diff **diff,
			      kl_error *err)
{
	git_diff_options opts;
	git_tree *head = NULL;
	git_index *index = NULL;
	int rc = -1;

	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	/* Only the index entries that differ from HEAD are visited; the
	 * blobs themselves are loaded later, one per changed file. */
	if (kl_git_head_tree(repo, &head, err) < 0)
		return -1;
	if (git_repository_index(&index, repo) < 0) {
		kl_error_set(err, "cannot read the index: %s", kl_git_lasterr());
		goto out;
	}
	if (git_diff_tree_to_index(diff, repo, head, index, &opts) < 0 ||
	    kl_diffscan_find_renames(*diff) < 0) {
		kl_error_set(err, "cannot diff HEAD against the index: %s",
			     kl_git_lasterr());
		goto out;
	}
	rc = 0;
out:
	git_index_free(index);
	git_tree_free(head);
	return rc;
}

int kl_src_staged(const char *path, const kl_scan_opts *o, kl_report *r,
		  kl_error *err)
{
	git_repository *repo;
	git_diff *diff = NULL;
	kl_diffscan d;
	int rc = -1;

	if (kl_git_open(path, &repo, err) < 0)
		return -1;
	if (diff_head_to_index(repo, &diff, err) < 0)
		goto out;
	if (kl_diffscan_init(&d, repo, o, r, err) < 0)
		goto out;
	kl_diffscan_run(&d, diff, NULL, 0);
	kl_diffscan_free(&d);
	kl_findings_sort(&r->findings);
	rc = 0;
out:
	git_diff_free(diff);
	kl_git_close(repo);
	return rc;
}
