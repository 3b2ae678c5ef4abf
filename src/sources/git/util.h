/*
 * Small libgit2 helpers shared by the git sources (staged, history, audit):
 * opening a repository, error text and commit metadata for provenance.
 * Nothing here scans content.
 */
#ifndef KL_GIT_UTIL_H
#define KL_GIT_UTIL_H

#include <git2.h>

#include "internal.h"
#include "util/oidmap.h"

/* Open the repository containing path (work tree, subdirectory, bare
 * repository or linked worktree). Initialises libgit2; pair with
 * kl_git_close. */
int kl_git_open(const char *path, git_repository **repo, kl_error *err);
void kl_git_close(git_repository *repo);
/* kl_git_open for a worker thread's own handle: NULL, or why it failed
 * (the caller frees it and reports it from the main thread). */
char *kl_git_open_worker(const char *path, git_repository **repo);

/* Put a guard in front of repo's loose objects so a truncated one is an
 * error instead of a hang in libgit2 (git/guard.c). kl_git_open does. */
void kl_git_guard_loose(git_repository *repo);

/* Read the objects directories git's environment names too
 * (GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES): a pre-receive
 * hook's quarantine (git/objenv.c). kl_git_open does. */
void kl_git_env_objects(git_repository *repo);

/* The directory path names, relative to repo's work tree: "" for the
 * root (or a path outside it), else "a/b/". Caller frees. */
char *kl_git_scan_prefix(git_repository *repo, const char *path);

/* A file's path relative to the root of the work tree that holds it, or
 * NULL outside a work tree. Caller frees. */
char *kl_git_repo_relpath(const char *file);

/*
 * The work tree's untracked files under prefix ("" or "a/b/"), recursing
 * into untracked directories, submodules excluded; with include_ignored,
 * ignored entries too. On failure err names the work tree.
 */
int kl_git_untracked(git_repository *repo, const char *prefix,
		     bool include_ignored, git_status_list **out,
		     kl_error *err);

/* libgit2's last error message, or "unknown error". */
const char *kl_git_lasterr(void);

/* Record that an object could not be read: an error notice naming it and
 * what failed, and r->incomplete. The scan goes on. */
void kl_git_obj_error(kl_report *r, const git_oid *id, const char *what);

/* HEAD's tree, or NULL (unborn HEAD, or an error: then err is set and -1
 * is returned). */
int kl_git_head_tree(git_repository *repo, git_tree **out, kl_error *err);

/* Label every finding with provenance with where its introducing commit
 * lives: the refs (at most KL_REACH_REFS named) whose history has it, or
 * unreachable (git/reach.c). g: the commit graph the scan loaded, or NULL;
 * when it holds every ref's history, no commit is read again. */
#define KL_REACH_REFS 3
struct kl_cgraph;
void kl_git_label_reach(git_repository *repo, kl_report *r,
			const struct kl_cgraph *g);
/* The refs whose tip tree holds path (at most max named in out); returns
 * how many do. For "still in topic" in policy messages. */
size_t kl_git_refs_holding(git_repository *repo, const char *path,
			   kl_strlist *out, size_t max);

/* Fill p's introducing-commit fields (id, author, date, summary). */
int kl_git_prov_fill(git_repository *repo, const git_oid *commit,
		     kl_provenance *p);

/*
 * Before loading a blob: returns 1 (and counts the skip) when it is larger
 * than o->max_file_size, -1 (with an error notice) when it cannot be read,
 * 0 when it should be loaded and scanned.
 */
int kl_git_blob_check(git_odb *odb, const git_oid *id, const kl_scan_opts *o,
		      kl_report *r, const char *path);

#endif
