/*
 * Objects a repository does not have: recorded while scanning, fetched
 * through git from a partial clone's promisor remote when asked, and
 * summarised once (how many, where, why, what to do) instead of one raw
 * libgit2 error per object.
 */
#ifndef KL_GIT_MISSING_H
#define KL_GIT_MISSING_H

#include "sources/git/util.h"

/* Record that id (a "blob", "tree" or "commit") is absent; path and commit
 * say where it is referenced (either may be NULL). Marks r incomplete. */
void kl_git_obj_missing(kl_report *r, const git_oid *id, const char *type,
			const char *path, const git_oid *commit);

/* Set commit on r's missing objects from index `from` on that have none. */
void kl_git_missing_commit(kl_report *r, size_t from, const git_oid *commit);

/* The partial clone's promisor remote (extensions.partialClone or a
 * remote.<name>.promisor), or NULL. Caller frees. */
char *kl_git_promisor_remote(git_repository *repo);

/*
 * Fetch ids from the promisor remote with git itself, in one `git fetch`
 * (the command git runs for its own lazy fetches), then let libgit2 see
 * the new pack. Returns 0, or -1 with err naming the remote and git's
 * message.
 */
int kl_git_fetch_objects(git_repository *repo, const char *remote,
			 const git_oid *ids, size_t n, kl_error *err);

/* If promisor is set and odb lacks id, fetch it alone (a range scan
 * needs few objects; it cannot know them before diffing). A failure
 * shows when the object is read. */
void kl_git_fetch_absent(git_repository *repo, git_odb *odb,
			 const char *promisor, const git_oid *id);

/* Replace r's missing objects by one error notice: the count, the first
 * few with path and commit, partial / shallow / damaged, what to do. With
 * verbose, each object is also listed as a skip notice. */
void kl_git_missing_summary(git_repository *repo, const kl_scan_opts *o,
			    kl_report *r);

#endif
