/*
 * Owns the tree comparison shared by provenance and the .env history
 * check: descend only where the two sides differ (see git/treediff.h).
 */
#include "sources/git/missing.h"
#include "sources/git/treediff.h"
#include "sources/git/util.h"

static void walk(const kl_treediff *d, const git_oid *old_id,
		 const git_oid *new_id, kl_buf *path);

static bool is_tree(const git_tree_entry *e)
{
	return e && git_tree_entry_type(e) == GIT_OBJECT_TREE;
}

static void truncate_to(kl_buf *path, size_t len)
{
	path->len = len;
	path->data[len] = '\0';
}

/* One name present in either tree, with its entry on each side. */
static void compare_entry(const kl_treediff *d, const git_tree_entry *o,
			  const git_tree_entry *n, kl_buf *path)
{
	size_t len = path->len;
	const git_oid *oid = o ? git_tree_entry_id(o) : NULL;
	const git_oid *nid = n ? git_tree_entry_id(n) : NULL;
	const git_tree_entry *ob = is_tree(o) ? NULL : o;
	const git_tree_entry *nb = is_tree(n) ? NULL : n;

	if (oid && nid && git_oid_equal(oid, nid))
		return;
	kl_buf_puts(path, git_tree_entry_name(n ? n : o));
	if (is_tree(o) || is_tree(n)) {
		kl_buf_addch(path, '/');
		if (!d->descend || d->descend(d->ctx, path->data, path->len))
			walk(d, is_tree(o) ? oid : NULL, is_tree(n) ? nid : NULL,
			     path);
		truncate_to(path, len);
		kl_buf_puts(path, git_tree_entry_name(n ? n : o));
	}
	if (ob || nb)
		d->entry(d->ctx, path->data, ob, nb);
	truncate_to(path, len);
}

static git_tree *lookup(const kl_treediff *d, const git_oid *id,
		      const kl_buf *path)
{
	git_tree *t = NULL;
	kl_error err = { 0 };
	int rc;

	if (!id)
		return NULL;
	rc = git_tree_lookup(&t, d->repo, id);
	if (rc == GIT_ENOTFOUND && d->promisor &&
	    kl_git_fetch_objects(d->repo, d->promisor, id, 1, &err) == 0)
		rc = git_tree_lookup(&t, d->repo, id);
	kl_error_clear(&err);
	if (rc == GIT_ENOTFOUND)
		kl_git_obj_missing(d->r, id, "tree",
				   path->len ? path->data : NULL, NULL);
	else if (rc < 0)
		kl_git_obj_error(d->r, id, "cannot read tree");
	return rc < 0 ? NULL : t;
}

static void walk(const kl_treediff *d, const git_oid *old_id,
		 const git_oid *new_id, kl_buf *path)
{
	git_tree *o = lookup(d, old_id, path), *n = lookup(d, new_id, path);
	size_t i;

	if (n && d->tree)
		d->tree(d->ctx, new_id);
	for (i = 0; n && i < git_tree_entrycount(n); i++) {
		const git_tree_entry *ne = git_tree_entry_byindex(n, i);

		compare_entry(d, o ? git_tree_entry_byname(o,
					git_tree_entry_name(ne)) : NULL,
			      ne, path);
	}
	for (i = 0; o && i < git_tree_entrycount(o); i++) {
		const git_tree_entry *oe = git_tree_entry_byindex(o, i);

		if (!n || !git_tree_entry_byname(n, git_tree_entry_name(oe)))
			compare_entry(d, oe, NULL, path);
	}
	git_tree_free(o);
	git_tree_free(n);
}

void kl_treediff_run(const kl_treediff *d, const git_oid *old_id,
		     const git_oid *new_id)
{
	kl_buf path = KL_BUF_INIT;

	if (old_id && new_id && git_oid_equal(old_id, new_id))
		return;
	kl_buf_grow(&path, 256);
	walk(d, old_id, new_id, &path);
	kl_buf_free(&path);
}

bool kl_treediff_from_other_parent(git_repository *repo, const kl_cgraph *g,
				   size_t node, const char *path,
				   const git_oid *blob)
{
	const kl_cnode *n = &g->nodes[node];
	size_t k;

	for (k = 1; k < n->n_parents; k++) {
		const kl_cnode *par = &g->nodes[n->parents[k]];
		git_tree *t = NULL;
		git_tree_entry *e = NULL;
		bool same = false;

		if (!(par->flags & KL_CN_LOADED) || (par->flags & KL_CN_MISSING))
			continue;
		if (git_tree_lookup(&t, repo, &par->tree) == 0 &&
		    git_tree_entry_bypath(&e, t, path) == 0)
			same = git_oid_equal(git_tree_entry_id(e), blob);
		git_tree_entry_free(e);
		git_tree_free(t);
		if (same)
			return true;
	}
	return false;
}
