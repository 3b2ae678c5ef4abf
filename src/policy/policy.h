/*
 * The .env / .gitignore policy checks that need libgit2 types, for the git
 * sources: staged (a diff of HEAD against the index) and history (the
 * commit graph). The git-free part is declared in src/internal.h.
 */
#ifndef KL_POLICY_H
#define KL_POLICY_H

#include <git2.h>

#include "internal.h"
#include "sources/git/walk.h"

/*
 * dotenv-committed for every delta of diff whose new side is an
 * environment file with content the commit records (added, modified,
 * renamed, copied), unless o's skip globs match it. For `staged`: such a
 * file blocks the commit.
 * Returns the number of findings added.
 */
size_t kl_policy_diff(git_diff *diff, const kl_scan_opts *o, kl_report *r);

/* The same check for one staged path whose content the commit records;
 * true if it added a finding. */
bool kl_policy_staged_path(const char *path, const kl_scan_opts *o,
			   kl_report *r);

/*
 * dotenv-committed over history: every environment file any commit of
 * g->order added, one finding per path and adding commit, with the commit
 * that added it (provenance), the commit that removed it (removed_in) and
 * whether HEAD still has it (in_head). Call after kl_cgraph_sort; costs
 * one tree-to-tree diff per commit (no blob is read). Errors become
 * notices and r->incomplete.
 */
void kl_policy_history(git_repository *repo, const kl_cgraph *g,
		       const kl_scan_opts *o, kl_report *r);

#endif
