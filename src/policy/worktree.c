/*
 * Owns the .env / .gitignore checks over a work tree: tracked environment
 * files, untracked ones git does not ignore, and directories that use
 * environment files where a .env would not be ignored. Every ignore
 * decision is libgit2's (all .gitignore levels, info/exclude,
 * core.excludesFile); nothing here reads a .gitignore.
 */
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sources/git/util.h"

typedef struct policy_ctx {
	git_repository *repo;
	kl_report *r;
	const kl_scan_opts *o;
	const char *prefix; /* scanned dir within the work tree, "" or "a/" */
	kl_strlist dirs;    /* directories that use environment files */
	kl_strlist dir_example; /* for each, one such file (for the message) */
} policy_ctx;

/* entry (named from the work tree's root, like every path of a scan
 * inside a repository), or NULL when outside the scanned directory. */
static const char *display(const policy_ctx *c, const char *entry)
{
	size_t n = strlen(c->prefix);

	return strncmp(entry, c->prefix, n) == 0 ? entry : NULL;
}

/* An env file or template the checks consider: inside the scanned
 * directory and not skipped by the config's globs. */
static const char *considered(const policy_ctx *c, const char *entry)
{
	const char *rel = display(c, entry);

	if (!rel || kl_path_skipped(c->o, rel))
		return NULL;
	return kl_policy_is_env_file(entry) || kl_policy_is_env_template(entry)
	       ? rel : NULL;
}

/* Remember the directory of entry (a work-tree path) as using env files. */
static void note_dir(policy_ctx *c, const char *entry)
{
	const char *slash = strrchr(entry, '/');
	size_t n = slash ? (size_t)(slash - entry) + 1 : 0, i;
	char *dir = kl_xstrndup(entry, n);

	for (i = 0; i < c->dirs.len; i++)
		if (strcmp(c->dirs.items[i], dir) == 0)
			break;
	if (i == c->dirs.len) {
		kl_strlist_push(&c->dirs, dir);
		kl_strlist_push(&c->dir_example, entry);
	}
	free(dir);
}

static int check_index(policy_ctx *c, kl_error *err)
{
	git_index *index;
	size_t i, n;

	if (git_repository_index(&index, c->repo) != 0) {
		kl_error_set(err, "%s: cannot read the git index: %s",
			     git_repository_workdir(c->repo), kl_git_lasterr());
		return -1;
	}
	n = git_index_entrycount(index);
	for (i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);
		const char *rel = considered(c, e->path);

		if (!rel || git_index_entry_stage(e) > 1)
			continue;
		note_dir(c, e->path);
		if (kl_policy_is_env_file(e->path) &&
		    !kl_policy_env_allowed(c->o, e->path) &&
		    (e->mode == GIT_FILEMODE_BLOB ||
		     e->mode == GIT_FILEMODE_BLOB_EXECUTABLE))
			kl_policy_add(c->r, "dotenv-committed", rel,
				      "environment file %s is tracked by git: "
				      "every clone has it, and its history "
				      "keeps it after deletion", rel);
	}
	git_index_free(index);
	return 0;
}

static void status_entry(policy_ctx *c, const git_status_entry *e)
{
	const char *path, *rel;

	if (!e->index_to_workdir)
		return;
	path = e->index_to_workdir->new_file.path;
	rel = considered(c, path);
	if (!rel)
		return;
	if (e->status == GIT_STATUS_IGNORED) {
		note_dir(c, path);
		return;
	}
	if (e->status != GIT_STATUS_WT_NEW)
		return;
	note_dir(c, path);
	if (kl_policy_is_env_file(path) && !kl_policy_env_allowed(c->o, path))
		kl_policy_add(c->r, "dotenv-not-ignored", rel,
			      "environment file %s is untracked and not "
			      "ignored: the next `git add .` would commit it",
			      rel);
}

static int check_status(policy_ctx *c, kl_error *err)
{
	git_status_list *list;
	size_t i, n;

	/* Ignored directories are listed whole, not walked: an env file
	 * inside one is ignored, which is all we need to know. */
	if (kl_git_untracked(c->repo, c->prefix, true, &list, err) < 0)
		return -1;
	n = git_status_list_entrycount(list);
	for (i = 0; i < n; i++)
		status_entry(c, git_status_byindex(list, i));
	git_status_list_free(list);
	return 0;
}

/* For each directory using env files: would a .env there be ignored? */
static int check_dirs(policy_ctx *c, kl_error *err)
{
	kl_buf env = KL_BUF_INIT, at = KL_BUF_INIT;
	size_t i;
	int ignored, rc = 0;

	for (i = 0; rc == 0 && i < c->dirs.len; i++) {
		const char *dir = c->dirs.items[i];

		kl_buf_reset(&env);
		kl_buf_printf(&env, "%s.env", dir);
		if (git_ignore_path_is_ignored(&ignored, c->repo, env.data)) {
			kl_error_set(err, "%s: cannot decide whether git ignores "
				     "it: %s", env.data, kl_git_lasterr());
			rc = -1;
			break;
		}
		if (ignored)
			continue;
		kl_buf_reset(&at);
		kl_buf_printf(&at, "%s.gitignore", display(c, dir));
		kl_policy_add(c->r, "gitignore-missing-dotenv", at.data,
			      "%s uses environment files (%s) but a .env file "
			      "there would not be ignored by git; add the line "
			      "`.env` to %s", *dir ? dir : "the repository root",
			      display(c, c->dir_example.items[i]),
			      *dir ? "the top-level .gitignore (it then covers "
				     "every directory)" : ".gitignore");
	}
	kl_buf_free(&env);
	kl_buf_free(&at);
	return rc;
}

static int check_repository(git_repository *repo, const char *path,
			    const kl_scan_opts *o, kl_report *r, kl_error *err)
{
	policy_ctx c = { repo, r, o, NULL, { 0 }, { 0 } };
	char *prefix = kl_git_scan_prefix(repo, path);
	int rc;

	c.prefix = prefix;
	rc = check_index(&c, err);
	if (rc == 0 && check_status(&c, err) != 0) {
		/* e.g. libgit2 refuses trees over 100 levels deep: the
		 * other checks still stand. */
		r->incomplete = true;
		kl_report_notice(r, KL_NOTICE_ERROR, NULL, "%s (the .env checks "
				 "could not see untracked files)", err->message);
		kl_error_clear(err);
	}
	if (rc == 0)
		rc = check_dirs(&c, err);
	kl_strlist_free(&c.dirs);
	kl_strlist_free(&c.dir_example);
	free(prefix);
	return rc;
}

int kl_policy_worktree(const char *path, const kl_scan_opts *o, kl_report *r,
		       kl_error *err)
{
	git_repository *repo;
	struct stat st;
	int rc;

	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return 0; /* one file: no tree to judge */
	if (git_repository_open_ext(&repo, path, 0, NULL) != 0)
		return 0; /* not a git work tree: nothing is tracked or ignored */
	if (git_repository_is_bare(repo)) {
		git_repository_free(repo);
		return 0;
	}
	rc = check_repository(repo, path, o, r, err);
	git_repository_free(repo);
	return rc;
}
