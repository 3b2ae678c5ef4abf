/*
 * Owns the libgit2 plumbing every git source shares: opening repositories
 * (any layout), turning libgit2 errors into notices, commit metadata for
 * provenance (kl_oidmap, the object-id map, is in src/util/oidmap.c).
 */
#include <stdlib.h>
#include <string.h>

#include "sources/git/missing.h"
#include "sources/git/util.h"

/*
 * Process-wide libgit2 settings for reading a whole history once. Hash
 * verification re-hashes every object read (git itself does not, and a
 * corrupt object still fails to inflate). The object cache is off: each
 * tree and commit is read about once, and filling the cache cost more than
 * it saved (its evictions rescan the table; on the 10,601-commit bench the
 * walk took 1.45 s with it and 1.1 s without, at 1,000,000 commits loading
 * the commit graph took 10.6 s instead of 4.5 s) and 80 MiB more memory.
 */
/* Pack windows are mapped files: they count as resident once touched.
 * Blobs are read newest first, which jumps about the pack: with 96 MiB
 * mapped, redis's 385 MB pack was unmapped and mapped again 39,000 times
 * (a fifth of the CPU time in the kernel; with one rule the scan took
 * 13.0 s, with 1 GiB mapped 6.6 s). With all rules, 256 MiB: 12.4 s at
 * 204 MB peak RSS; 1 GiB: 12.2 s at 359 MB. */
#define PACK_WINDOW_BYTES ((size_t)32 * 1024 * 1024)
#define PACK_MAPPED_LIMIT ((size_t)256 * 1024 * 1024)

static void tune_libgit2(void)
{
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	git_libgit2_opts(GIT_OPT_ENABLE_CACHING, 0);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, PACK_WINDOW_BYTES);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, PACK_MAPPED_LIMIT);
}

int kl_git_open(const char *path, git_repository **repo, kl_error *err)
{
	git_libgit2_init();
	tune_libgit2();
	/* open_ext searches upward, so a subdirectory, a bare repository and
	 * a linked worktree (a .git file) all work. */
	if (git_repository_open_ext(repo, path, 0, NULL) < 0) {
		kl_error_set(err, "%s: not a git repository: %s", path,
			     kl_git_lasterr());
		git_libgit2_shutdown();
		*repo = NULL;
		return -1;
	}
	kl_git_guard_loose(*repo);
	kl_git_env_objects(*repo);
	return 0;
}

char *kl_git_open_worker(const char *path, git_repository **repo)
{
	kl_error err = { 0 };
	char *why;

	if (kl_git_open(path, repo, &err) == 0)
		return NULL;
	why = kl_xstrdup(err.message);
	kl_error_clear(&err);
	return why;
}

void kl_git_close(git_repository *repo)
{
	if (!repo)
		return;
	git_repository_free(repo);
	git_libgit2_shutdown();
}

int kl_git_untracked(git_repository *repo, const char *prefix,
		     bool include_ignored, git_status_list **out,
		     kl_error *err)
{
	git_status_options so;
	char *spec = kl_xstrdup(prefix);
	int rc;

	git_status_options_init(&so, GIT_STATUS_OPTIONS_VERSION);
	so.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
	so.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED |
		   GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
		   GIT_STATUS_OPT_EXCLUDE_SUBMODULES;
	if (include_ignored)
		so.flags |= GIT_STATUS_OPT_INCLUDE_IGNORED;
	if (*prefix) {
		so.pathspec.strings = &spec;
		so.pathspec.count = 1;
	}
	rc = git_status_list_new(out, repo, &so);
	if (rc != 0)
		kl_error_set(err, "%s: cannot list untracked files: %s",
			     git_repository_workdir(repo), kl_git_lasterr());
	free(spec);
	return rc != 0 ? -1 : 0;
}

const char *kl_git_lasterr(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown error";
}

void kl_git_obj_error(kl_report *r, const git_oid *id, const char *what)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	kl_report_notice(r, KL_NOTICE_ERROR, hex, "%s %s: %s", what, hex,
			 kl_git_lasterr());
	r->incomplete = true;
}

int kl_git_head_tree(git_repository *repo, git_tree **out, kl_error *err)
{
	git_object *obj = NULL;
	int rc;

	*out = NULL;
	rc = git_revparse_single(&obj, repo, "HEAD^{tree}");
	if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH ||
	    git_repository_head_unborn(repo) == 1) {
		git_object_free(obj);
		return 0;
	}
	if (rc < 0) {
		kl_error_set(err, "cannot read HEAD's tree: %s",
			     kl_git_lasterr());
		return -1;
	}
	*out = (git_tree *)obj;
	return 0;
}

int kl_git_prov_fill(git_repository *repo, const git_oid *commit,
		     kl_provenance *p)
{
	git_commit *c;
	const git_signature *a;
	const char *summary;
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), commit);
	free(p->commit);
	p->commit = kl_xstrdup(hex);
	if (git_commit_lookup(&c, repo, commit) < 0)
		return -1;
	a = git_commit_author(c);
	free(p->author_name);
	free(p->author_email);
	free(p->summary);
	p->author_name = kl_xstrdup(a->name ? a->name : "");
	p->author_email = kl_xstrdup(a->email ? a->email : "");
	p->author_time = (int64_t)a->when.time;
	p->author_tz = a->when.offset;
	summary = git_commit_summary(c);
	p->summary = kl_xstrdup(summary ? summary : "");
	git_commit_free(c);
	return 0;
}

char *kl_git_scan_prefix(git_repository *repo, const char *path)
{
	char *abs_path = realpath(path, NULL);
	char *abs_wd = realpath(git_repository_workdir(repo), NULL);
	kl_buf b = KL_BUF_INIT;
	size_t n;

	if (abs_path && abs_wd) {
		n = strlen(abs_wd);
		if (strncmp(abs_path, abs_wd, n) == 0 && abs_path[n] == '/') {
			kl_buf_puts(&b, abs_path + n + 1);
			kl_buf_addch(&b, '/');
		}
	}
	free(abs_path);
	free(abs_wd);
	kl_buf_puts(&b, ""); /* never NULL */
	return kl_buf_detach(&b);
}

char *kl_git_repo_relpath(const char *file)
{
	char *abs_path = realpath(file, NULL), *slash, *rel = NULL;
	git_repository *repo = NULL;
	char *abs_wd = NULL;
	size_t n;

	if (!abs_path)
		return NULL;
	slash = strrchr(abs_path, '/');
	*slash = '\0';
	if (git_repository_open_ext(&repo, *abs_path ? abs_path : "/", 0,
				    NULL) == 0 && !git_repository_is_bare(repo))
		abs_wd = realpath(git_repository_workdir(repo), NULL);
	*slash = '/';
	if (abs_wd) {
		n = strlen(abs_wd);
		if (strncmp(abs_path, abs_wd, n) == 0 && abs_path[n] == '/')
			rel = kl_xstrdup(abs_path + n + 1);
	}
	git_repository_free(repo);
	free(abs_wd);
	free(abs_path);
	return rel;
}

int kl_git_blob_check(git_odb *odb, const git_oid *id, const kl_scan_opts *o,
		      kl_report *r, const char *path)
{
	git_object_t type;
	size_t size;
	int rc;

	/* The header gives the size without inflating the blob, so a huge
	 * blob costs nothing to skip. */
	rc = git_odb_read_header(&size, &type, odb, id);

	if (rc == GIT_ENOTFOUND) {
		kl_git_obj_missing(r, id, "blob", path, NULL);
		return -1;
	}
	if (rc < 0) {
		kl_git_obj_error(r, id, "cannot read blob");
		return -1;
	}
	if (o->max_file_size && size > o->max_file_size) {
		kl_skip_too_large(o, r, path, size);
		return 1;
	}
	return 0;
}
