/*
 * Owns `keyleak staged`: what `git commit` would record now. Compares
 * HEAD's tree (nothing on an unborn branch) with the index and scans only
 * the lines the commit adds, with line numbers of the staged content.
 *
 * Speed: the index's cache tree says which directories still hold exactly
 * HEAD's tree, so only directories on the path of a staged change are
 * read: a one-file change in a 100,000-file repository reads a few trees.
 * libgit2's diff, which loads the whole index (~0.5 s for 100,000 entries)
 * and every tree, is only the fallback for index formats read_index does
 * not handle (split index, sparse directories).
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "sources/git/diffscan.h"
#include "sources/git/index.h"

/* A staged entry that differs from HEAD, with HEAD's blob if it had one. */
typedef struct staged_change {
	size_t entry;
	git_oid old;
	bool has_old;
} staged_change;

typedef struct staged_cmp {
	git_repository *repo;
	const kl_index *ix;
	kl_report *r;
	staged_change *changes;
	size_t n_changes;
	git_oid *deleted;   /* HEAD blobs the index no longer has */
	size_t n_deleted;
} staged_cmp;

static void push_change(staged_cmp *sc, size_t entry, const git_tree_entry *he)
{
	staged_change *c;

	sc->changes = kl_xrealloc(sc->changes,
				  (sc->n_changes + 1) * sizeof(*sc->changes));
	c = &sc->changes[sc->n_changes++];
	c->entry = entry;
	c->has_old = he && git_tree_entry_type(he) == GIT_OBJECT_BLOB;
	if (c->has_old)
		git_oid_cpy(&c->old, git_tree_entry_id(he));
}

static int push_deleted(const char *root, const git_tree_entry *e, void *ctx)
{
	staged_cmp *sc = ctx;

	(void)root;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	sc->deleted = kl_xrealloc(sc->deleted,
				  (sc->n_deleted + 1) * sizeof(*sc->deleted));
	git_oid_cpy(&sc->deleted[sc->n_deleted++], git_tree_entry_id(e));
	return 0;
}

/* First index entry in [lo, hi) whose path is >= key. */
static size_t lower_bound(const kl_index *ix, size_t lo, size_t hi,
			  const char *key)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(kl_index_path(ix, mid), key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool index_has(const staged_cmp *sc, size_t lo, size_t hi,
		      const kl_buf *path, bool dir)
{
	size_t at = lower_bound(sc->ix, lo, hi, path->data);

	if (at >= hi)
		return false;
	if (dir)
		return strncmp(kl_index_path(sc->ix, at), path->data,
			       path->len) == 0;
	return strcmp(kl_index_path(sc->ix, at), path->data) == 0;
}

/* HEAD entries of this directory that the index dropped: their blobs are
 * what a staged rename may have come from. */
static void find_deleted(staged_cmp *sc, git_tree *t, kl_buf *dir, size_t lo,
			 size_t hi)
{
	size_t len = dir->len, i;

	for (i = 0; i < git_tree_entrycount(t); i++) {
		const git_tree_entry *he = git_tree_entry_byindex(t, i);
		bool is_tree = git_tree_entry_type(he) == GIT_OBJECT_TREE;
		git_tree *sub = NULL;

		kl_buf_puts(dir, git_tree_entry_name(he));
		if (is_tree)
			kl_buf_addch(dir, '/');
		if (!index_has(sc, lo, hi, dir, is_tree)) {
			if (!is_tree)
				push_deleted(NULL, he, sc);
			else if (git_tree_lookup(&sub, sc->repo,
						 git_tree_entry_id(he)) == 0)
				git_tree_walk(sub, GIT_TREEWALK_PRE, push_deleted, sc);
			git_tree_free(sub);
		}
		dir->len = len;
		dir->data[len] = '\0';
	}
}

static void compare_dir(staged_cmp *sc, kl_buf *dir, const git_oid *head,
			size_t lo, size_t hi);

/* Compare the index entry at i (a file of dir, or the first entry of a
 * subdirectory) with HEAD's tree t; returns the next entry to look at. */
static size_t compare_child(staged_cmp *sc, git_tree *t, kl_buf *dir,
			    size_t i, size_t hi)
{
	const char *rest = kl_index_path(sc->ix, i) + dir->len;
	const char *slash = strchr(rest, '/');
	size_t len = dir->len, j;
	const git_tree_entry *he;

	if (!slash) {
		he = t ? git_tree_entry_byname(t, rest) : NULL;
		/* Conflicted entries (stage > 0) cannot be committed. */
		if (kl_ientry_stage(&sc->ix->e[i]) == 0 &&
		    !(he && git_oid_equal(git_tree_entry_id(he),
					  kl_ientry_oid(&sc->ix->e[i]))))
			push_change(sc, i, he);
		return i + 1;
	}
	kl_buf_add(dir, rest, (size_t)(slash - rest));
	he = t ? git_tree_entry_byname(t, dir->data + len) : NULL;
	kl_buf_addch(dir, '/');
	for (j = i + 1; j < hi && strncmp(kl_index_path(sc->ix, j), dir->data,
					  dir->len) == 0; j++)
		;
	compare_dir(sc, dir, he && git_tree_entry_type(he) == GIT_OBJECT_TREE
				     ? git_tree_entry_id(he) : NULL, i, j);
	dir->len = len;
	dir->data[len] = '\0';
	return j;
}

/* Index entries [lo, hi) all lie under dir; head is HEAD's tree there. */
static void compare_dir(staged_cmp *sc, kl_buf *dir, const git_oid *head,
			size_t lo, size_t hi)
{
	const git_oid *cached = kl_index_dir_oid(sc->ix, dir->data, dir->len);
	git_tree *t = NULL;
	size_t i = lo;

	if (head && cached && git_oid_equal(head, cached))
		return; /* the cache tree proves nothing below changed */
	if (head && git_tree_lookup(&t, sc->repo, head) < 0) {
		kl_git_obj_error(sc->r, head, "cannot read tree");
		return;
	}
	while (i < hi)
		i = compare_child(sc, t, dir, i, hi);
	if (t)
		find_deleted(sc, t, dir, lo, hi);
	git_tree_free(t);
}

static bool was_deleted(const staged_cmp *sc, const git_oid *id)
{
	size_t i;

	for (i = 0; i < sc->n_deleted; i++)
		if (git_oid_equal(&sc->deleted[i], id))
			return true;
	return false;
}

/* The staged-path policy check, for file contents only. */
static void policy_check(const kl_scan_opts *o, kl_report *r, const char *path,
			 uint32_t mode)
{
	if (mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE)
		kl_policy_staged_path(path, o, r);
}

/* A modified file is compared with HEAD's version; a new one with every
 * file the index dropped (a line a deleted file had is moved, not new),
 * and an exact copy of a dropped blob is a pure rename. */
static void scan_changes(staged_cmp *sc, kl_diffscan *d)
{
	size_t i;

	for (i = 0; i < sc->n_changes; i++) {
		const staged_change *c = &sc->changes[i];
		const kl_ientry *e = &sc->ix->e[c->entry];
		const char *path = kl_index_path(sc->ix, c->entry);

		const git_oid *oid = kl_ientry_oid(e);
		uint32_t mode = kl_ientry_mode(e);

		policy_check(d->o, d->r, path, mode);
		if (c->has_old)
			kl_diffscan_blob(d, path, oid, mode, &c->old, 1);
		else if (!was_deleted(sc, oid))
			kl_diffscan_blob(d, path, oid, mode, sc->deleted,
					 sc->n_deleted);
	}
}

/* git exports GIT_INDEX_FILE to hooks for `git commit FILE` and -a, where
 * the commit is built from a temporary index; libgit2 ignores it. */
static void index_file(git_repository *repo, kl_buf *out)
{
	const char *env = getenv("GIT_INDEX_FILE");

	if (env && *env) {
		kl_buf_puts(out, env);
		return;
	}
	kl_buf_puts(out, git_repository_path(repo));
	kl_buf_puts(out, "index");
}

/* 0 done; -1 when the index needs libgit2's reader; -2 on error. */
static int staged_fast(git_repository *repo, const char *file, kl_diffscan *d,
		       kl_error *err)
{
	staged_cmp sc = { 0 };
	kl_index ix;
	kl_buf dir = KL_BUF_INIT;
	git_tree *head = NULL;

	if (kl_index_read(file, &ix) < 0)
		return -1;
	if (kl_git_head_tree(repo, &head, err) < 0) {
		kl_index_free(&ix);
		return -2;
	}
	sc.repo = repo;
	sc.ix = &ix;
	sc.r = d->r;
	kl_buf_puts(&dir, "");
	compare_dir(&sc, &dir, head ? git_tree_id(head) : NULL, 0, ix.n);
	scan_changes(&sc, d);
	free(sc.changes);
	free(sc.deleted);
	kl_buf_free(&dir);
	git_tree_free(head);
	kl_index_free(&ix);
	return 0;
}

static int diff_head_to_index(git_repository *repo, const char *file,
			      git_diff **diff, kl_error *err)
{
	git_diff_options opts;
	git_tree *head = NULL;
	git_index *index = NULL;
	int rc = -1;

	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	if (kl_git_head_tree(repo, &head, err) < 0)
		return -1;
	if (git_index_open(&index, file) < 0) {
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
	kl_buf file = KL_BUF_INIT;
	kl_diffscan d;
	int rc = -1, fast;

	if (kl_git_open(path, &repo, err) < 0)
		return -1;
	if (kl_diffscan_init(&d, repo, o, r, err) < 0)
		goto out;
	index_file(repo, &file);
	fast = staged_fast(repo, file.data, &d, err);
	if (fast == -1) {
		if (diff_head_to_index(repo, file.data, &diff, err) < 0)
			goto out_scan;
		kl_policy_diff(diff, o, r);
		kl_diffscan_run(&d, diff, NULL, 0);
	} else if (fast < 0) {
		goto out_scan;
	}
	kl_findings_sort(&r->findings);
	rc = 0;
out_scan:
	kl_diffscan_free(&d);
out:
	kl_buf_free(&file);
	git_diff_free(diff);
	kl_git_close(repo);
	return rc;
}
