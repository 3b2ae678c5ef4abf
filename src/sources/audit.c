/*
 * Owns `keyleak audit`: the history of every ref, plus what the object
 * database still holds that no ref reaches (amended, rebased or dropped
 * commits keep their blobs until gc), plus the work tree, in one report.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "sources/history.h"

typedef struct oidvec {
	git_oid *ids;
	size_t len, cap;
} oidvec;

static void oidvec_push(oidvec *v, const git_oid *id)
{
	if (v->len == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 256;
		v->ids = kl_xrealloc(v->ids, v->cap * sizeof(*v->ids));
	}
	git_oid_cpy(&v->ids[v->len++], id);
}

static int cmp_oid(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* Sorted, without duplicates (an object can be both loose and packed). */
static void oidvec_sort(oidvec *v)
{
	size_t i, n = 0;

	if (v->len)
		qsort(v->ids, v->len, sizeof(*v->ids), cmp_oid);
	for (i = 0; i < v->len; i++)
		if (!n || !git_oid_equal(&v->ids[n - 1], &v->ids[i]))
			git_oid_cpy(&v->ids[n++], &v->ids[i]);
	v->len = n;
}

typedef struct unknown_ctx {
	kl_hist *h;
	oidvec ids;
} unknown_ctx;

static int collect_unknown(const git_oid *id, void *payload)
{
	unknown_ctx *u = payload;
	kl_hist *h = u->h;
	size_t n = kl_oidmap_get(&h->g.index, id);

	if (n != SIZE_MAX && (h->g.nodes[n].flags & KL_CN_ORDERED))
		return 0;
	if (kl_oidmap_get(&h->trees, id) != SIZE_MAX ||
	    kl_oidmap_get(&h->blobs, id) != SIZE_MAX)
		return 0;
	oidvec_push(&u->ids, id);
	return 0;
}

typedef struct unreachable {
	oidvec commits, trees, blobs;
} unreachable;

/* Objects no walked commit reached, by type. */
static int find_unreachable(kl_hist *h, unreachable *out, kl_error *err)
{
	unknown_ctx u = { h, { 0 } };
	git_odb *odb;
	size_t i;

	if (git_repository_odb(&odb, h->repo) < 0 ||
	    git_odb_foreach(odb, collect_unknown, &u) < 0) {
		kl_error_set(err, "cannot list the object database: %s",
			     kl_git_lasterr());
		free(u.ids.ids);
		return -1;
	}
	oidvec_sort(&u.ids);
	for (i = 0; i < u.ids.len; i++) {
		git_object_t type;
		size_t size;

		if (git_odb_read_header(&size, &type, odb, &u.ids.ids[i]) < 0) {
			kl_git_obj_error(h->r, &u.ids.ids[i], "cannot read object");
			continue;
		}
		if (type == GIT_OBJECT_COMMIT)
			oidvec_push(&out->commits, &u.ids.ids[i]);
		else if (type == GIT_OBJECT_TREE)
			oidvec_push(&out->trees, &u.ids.ids[i]);
		else if (type == GIT_OBJECT_BLOB)
			oidvec_push(&out->blobs, &u.ids.ids[i]);
	}
	git_odb_free(odb);
	free(u.ids.ids);
	return 0;
}

/* Trees another unreachable tree contains: walked through their parent,
 * so their blobs get the longer, more telling path. */
static void mark_subtrees(kl_hist *h, const oidvec *trees, kl_oidmap *inner)
{
	size_t i, k;

	for (i = 0; i < trees->len; i++) {
		git_tree *t;

		if (git_tree_lookup(&t, h->repo, &trees->ids[i]) < 0)
			continue;
		for (k = 0; k < git_tree_entrycount(t); k++) {
			const git_tree_entry *e = git_tree_entry_byindex(t, k);

			if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
				kl_oidmap_put(inner, git_tree_entry_id(e), 0);
		}
		git_tree_free(t);
	}
}

static void add_unreachable_trees(kl_hist *h, const oidvec *trees)
{
	kl_oidmap inner = { 0 };
	kl_buf path = KL_BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;

	mark_subtrees(h, trees, &inner);
	for (i = 0; i < trees->len; i++) {
		if (kl_oidmap_get(&inner, &trees->ids[i]) != SIZE_MAX)
			continue;
		git_oid_tostr(hex, sizeof(hex), &trees->ids[i]);
		kl_buf_reset(&path);
		kl_buf_printf(&path, "(unreachable tree %s)/", hex);
		kl_hist_walk_tree(h, &trees->ids[i], &path, SIZE_MAX);
	}
	kl_oidmap_free(&inner);
	kl_buf_free(&path);
}

static void add_unreachable_blobs(kl_hist *h, const oidvec *blobs)
{
	kl_buf path = KL_BUF_INIT;
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;

	for (i = 0; i < blobs->len; i++) {
		git_oid_tostr(hex, sizeof(hex), &blobs->ids[i]);
		kl_buf_reset(&path);
		kl_buf_printf(&path, "(unreachable blob %s)", hex);
		kl_hist_add_blob(h, &blobs->ids[i], path.data, SIZE_MAX);
	}
	kl_buf_free(&path);
}

/*
 * Unreachable commits join the walk (their blobs then carry a real path
 * and commit); unreachable trees and blobs that no such commit explains
 * are added under descriptive pseudo-paths.
 */
static int add_unreachable(kl_hist *h, kl_error *err)
{
	unreachable u = { { 0 }, { 0 }, { 0 } };

	if (find_unreachable(h, &u, err) < 0)
		return -1;
	kl_cgraph_mark(&h->g, u.commits.ids, u.commits.len, KL_CN_SELECTED);
	kl_hist_order(h);
	kl_hist_walk_commits(h);
	add_unreachable_trees(h, &u.trees);
	add_unreachable_blobs(h, &u.blobs);
	free(u.commits.ids);
	free(u.trees.ids);
	free(u.blobs.ids);
	return 0;
}

static bool has_fingerprint(const kl_findings *fs, const char *fp)
{
	size_t i;

	for (i = 0; fp && i < fs->len; i++)
		if (fs->items[i].fingerprint &&
		    strcmp(fs->items[i].fingerprint, fp) == 0)
			return true;
	return false;
}

/* The work tree (keys and .env policy) into r; a finding history already
 * has (same rule, path and secret, with its provenance and in_head) is not
 * repeated. */
static void add_worktree(kl_hist *h)
{
	const char *workdir = git_repository_workdir(h->repo);
	kl_report wt;
	kl_error err = { 0 };
	size_t i, kept = 0;

	if (!workdir)
		return; /* bare: history is all there is */
	kl_report_init(&wt, h->r->command, h->r->target, h->r->rules);
	if (kl_src_worktree(workdir, h->o, &wt, &err) < 0 ||
	    kl_policy_worktree(workdir, h->o, &wt, &err) < 0) {
		kl_report_notice(h->r, KL_NOTICE_ERROR, workdir,
				 "work tree not scanned: %s", err.message);
		h->r->incomplete = true;
		kl_error_clear(&err);
	}
	for (i = 0; i < wt.findings.len; i++) {
		if (has_fingerprint(&h->r->findings, wt.findings.items[i].fingerprint))
			kl_finding_clear(&wt.findings.items[i]);
		else
			wt.findings.items[kept++] = wt.findings.items[i];
	}
	wt.findings.len = kept;
	kl_report_merge(h->r, &wt);
	kl_report_free(&wt);
}

int kl_src_audit(const char *path, const kl_scan_opts *o, kl_report *r,
		 kl_error *err)
{
	kl_hist h;
	int rc = -1;

	if (kl_hist_open(&h, path, o, r, err) < 0)
		return -1;
	h.keep_trees = true; /* the unreachable pass skips walked trees */
	kl_hist_select_all_refs(&h);
	kl_hist_order(&h);
	kl_hist_walk_commits(&h);
	if (add_unreachable(&h, err) < 0)
		goto out;
	kl_hist_scan(&h);
	if (h.saw_env_file) /* see kl_src_history */
		kl_policy_history(h.repo, &h.g, o, r);
	kl_git_label_reach(h.repo, r, &h.g);
	add_worktree(&h);
	kl_findings_sort(&r->findings);
	rc = 0;
out:
	kl_hist_free(&h);
	return rc;
}
