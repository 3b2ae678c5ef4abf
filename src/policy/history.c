/*
 * Owns dotenv-committed for what git records rather than what the work
 * tree holds: a commit about to be made (a HEAD-to-index diff) and every
 * commit of a history walk, where each environment file ever added gets
 * the commit that added it and the commit that removed it.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "sources/git/treediff.h"
#include "sources/git/util.h"

static bool is_file_mode(uint16_t mode)
{
	return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

static bool records_content(const git_diff_delta *d)
{
	switch (d->status) {
	case GIT_DELTA_ADDED:
	case GIT_DELTA_MODIFIED:
	case GIT_DELTA_RENAMED:
	case GIT_DELTA_COPIED:
	case GIT_DELTA_TYPECHANGE:
		return is_file_mode(d->new_file.mode);
	default:
		return false;
	}
}

bool kl_policy_staged_path(const char *path, const kl_scan_opts *o,
			   kl_report *r)
{
	if (!kl_policy_is_env_file(path) || kl_path_skipped(o, path) ||
	    kl_policy_env_allowed(o, path))
		return false;
	return kl_policy_add(r, "dotenv-committed", path,
			     "environment file %s is staged: committing would "
			     "put it in the repository's history", path) != NULL;
}

size_t kl_policy_diff(git_diff *diff, const kl_scan_opts *o, kl_report *r)
{
	size_t i, n = git_diff_num_deltas(diff), added = 0;

	for (i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);

		if (records_content(d) &&
		    kl_policy_staged_path(d->new_file.path, o, r))
			added++;
	}
	return added;
}

/* ------------------------------------------------------------ history */

/* One stretch of history where a path existed: added, maybe removed. */
typedef struct episode {
	char *path;
	git_oid added;
	git_oid removed;
	bool is_removed;
} episode;

typedef struct hist_ctx {
	git_repository *repo;
	const kl_cgraph *g;
	const kl_scan_opts *o;
	kl_report *r;
	size_t node; /* the commit being compared with its parent */
	episode *eps;
	size_t len, cap;
} hist_ctx;

static void open_episode(hist_ctx *h, const char *path, const git_oid *commit)
{
	episode *e;

	if (h->len == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 8;
		h->eps = kl_xrealloc(h->eps, h->cap * sizeof(*h->eps));
	}
	e = &h->eps[h->len++];
	memset(e, 0, sizeof(*e));
	e->path = kl_xstrdup(path);
	git_oid_cpy(&e->added, commit);
}

/* The newest open episode of path ends at commit. */
static void close_episode(hist_ctx *h, const char *path, const git_oid *commit)
{
	size_t i;

	for (i = h->len; i-- > 0;) {
		if (!h->eps[i].is_removed && strcmp(h->eps[i].path, path) == 0) {
			git_oid_cpy(&h->eps[i].removed, commit);
			h->eps[i].is_removed = true;
			return;
		}
	}
}

static bool is_file(const git_tree_entry *e)
{
	return e && is_file_mode((uint16_t)git_tree_entry_filemode(e));
}

/* A path that differs between a commit and its first parent: an
 * environment file appearing opens an episode, one vanishing closes it. */
static void visit_entry(void *ctx, const char *path, const git_tree_entry *o,
			const git_tree_entry *n)
{
	hist_ctx *h = ctx;
	const git_oid *commit = &h->g->nodes[h->node].oid;

	if (!kl_policy_is_env_file(path) || (o && n && is_file(o) == is_file(n)))
		return; /* not ours, or only the content changed */
	if (is_file(o))
		close_episode(h, path, commit);
	if (is_file(n) && !kl_path_skipped(h->o, path) &&
	    !kl_policy_env_allowed(h->o, path) &&
	    !kl_treediff_from_other_parent(h->repo, h->g, h->node, path,
					   git_tree_entry_id(n)))
		open_episode(h, path, commit);
}

static void short_id(char out[13], const git_oid *id)
{
	git_oid_tostr(out, 13, id);
}

/* Where the file still is: ", HEAD still has it", ", still in topic, v1
 * (+1 more ref)" or ", and no ref holds it any more"; "" when removed. */
static void still_where(hist_ctx *h, const episode *e, bool in_head,
			kl_buf *out)
{
	kl_strlist refs = { 0 };
	size_t i, n;

	if (e->is_removed)
		return;
	if (in_head) {
		kl_buf_puts(out, "; HEAD still has it");
		return;
	}
	n = kl_git_refs_holding(h->repo, e->path, &refs, KL_REACH_REFS);
	if (!n)
		kl_buf_puts(out, "; HEAD does not have it and no ref holds it "
			    "any more, but history keeps it");
	for (i = 0; i < refs.len; i++)
		kl_buf_printf(out, "%s%s", i ? ", " : "; HEAD does not have it, "
			      "but it is still in ", refs.items[i]);
	if (n > refs.len)
		kl_buf_printf(out, " (+%zu more)", n - refs.len);
	kl_strlist_free(&refs);
}

static void report_episode(hist_ctx *h, const episode *e, git_tree *head)
{
	char added[13], removed[13], hex[GIT_OID_HEXSZ + 1];
	git_tree_entry *te = NULL;
	kl_buf where = KL_BUF_INIT;
	bool in_head;
	kl_finding *f;

	short_id(added, &e->added);
	short_id(removed, &e->removed);
	in_head = !e->is_removed && head &&
		  git_tree_entry_bypath(&te, head, e->path) == 0;
	git_tree_entry_free(te);
	still_where(h, e, in_head, &where);
	f = kl_policy_add(h->r, "dotenv-committed", e->path,
			  "environment file %s was committed in %s%s%s%s",
			  e->path, added,
			  e->is_removed ? " and removed in " : "",
			  e->is_removed ? removed : "",
			  where.data ? where.data : "");
	kl_buf_free(&where);
	if (!f)
		return;
	f->has_prov = true;
	kl_git_prov_fill(h->repo, &e->added, &f->prov);
	kl_strlist_push(&f->prov.commits, f->prov.commit);
	if (e->is_removed) {
		git_commit *gone = NULL;

		git_oid_tostr(hex, sizeof(hex), &e->removed);
		f->prov.removed_in = kl_xstrdup(hex);
		if (git_commit_lookup(&gone, h->repo, &e->removed) == 0)
			f->prov.removed_time = (int64_t)git_commit_time(gone);
		git_commit_free(gone);
		kl_strlist_push(&f->prov.commits, hex);
	}
	f->prov.in_head = in_head;
}

void kl_policy_history(git_repository *repo, const kl_cgraph *g,
		       const kl_scan_opts *o, kl_report *r)
{
	hist_ctx h = { repo, g, o, r, 0, NULL, 0, 0 };
	kl_treediff d = { repo, r, NULL, visit_entry, &h, NULL, NULL };
	kl_error err = { 0 };
	git_tree *head = NULL;
	size_t i;

	if (!kl_ruleset_find(r->rules, "dotenv-committed"))
		return;
	for (i = 0; i < g->n_order; i++) {
		h.node = g->order[i];
		kl_treediff_run(&d, kl_cgraph_base_tree(g, h.node),
				&g->nodes[h.node].tree);
	}
	if (kl_git_head_tree(repo, &head, &err) < 0)
		kl_error_clear(&err); /* then nothing is "in HEAD" */
	for (i = 0; i < h.len; i++) {
		report_episode(&h, &h.eps[i], head);
		free(h.eps[i].path);
	}
	git_tree_free(head);
	free(h.eps);
}
