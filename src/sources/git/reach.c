/*
 * Owns "where does a finding live": for each introducing commit, the refs
 * whose history contains it (reachable, and from where) or none
 * (unreachable: an amended, rebased or deleted commit that only the
 * reflog or the object database still holds).
 */
#include <stdlib.h>
#include <string.h>

#include "sources/git/util.h"

typedef struct ref_tip {
	char *name;   /* shortened: "main", "origin/main", "v1.0", "stash" */
	git_oid tip;  /* the commit it peels to */
} ref_tip;

typedef struct ref_tips {
	ref_tip *items;
	size_t len, cap;
} ref_tips;

static void tips_free(ref_tips *t)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		free(t->items[i].name);
	free(t->items);
}

/* Every ref that peels to a commit, HEAD's branch first (the name a
 * reader looks for), then in the order libgit2 lists them. */
static void list_tips(git_repository *repo, ref_tips *t)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	git_object *obj;

	if (git_reference_iterator_new(&it, repo) < 0)
		return;
	while (git_reference_next(&ref, it) == 0) {
		if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			if (t->len == t->cap) {
				t->cap = t->cap ? t->cap * 2 : 16;
				t->items = kl_xrealloc(t->items,
						       t->cap * sizeof(*t->items));
			}
			t->items[t->len].name =
				kl_xstrdup(git_reference_shorthand(ref));
			git_oid_cpy(&t->items[t->len].tip, git_object_id(obj));
			if (git_reference_is_branch(ref) &&
			    git_branch_is_head(ref) == 1 && t->len) {
				ref_tip head = t->items[t->len];

				memmove(t->items + 1, t->items,
					t->len * sizeof(*t->items));
				t->items[0] = head;
			}
			t->len++;
			git_object_free(obj);
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
}

/* Distinct introducing commits of the findings: map id -> slot. */
typedef struct targets {
	kl_oidmap map;
	uint64_t *refs;   /* per slot: which of the first 64 tips reach it */
	bool *reached;    /* per slot: some ref (any of them) reaches it */
	size_t len;
} targets;

static void collect_targets(const kl_report *r, targets *t)
{
	size_t i;
	git_oid id;

	for (i = 0; i < r->findings.len; i++) {
		const kl_finding *f = &r->findings.items[i];

		if (f->has_prov && f->prov.commit && !f->prov.reach_known &&
		    git_oid_fromstr(&id, f->prov.commit) == 0 &&
		    kl_oidmap_put(&t->map, &id, t->len))
			t->len++;
	}
	t->refs = kl_xcalloc(t->len + 1, sizeof(*t->refs));
	t->reached = kl_xcalloc(t->len + 1, sizeof(*t->reached));
}

/* One revision walk from tips: mark the targets it passes with bit (or,
 * bit < 0, only as reached). Walks stop early once every target is seen. */
static void walk_from(git_repository *repo, const git_oid *tips, size_t n,
		      targets *t, int bit)
{
	git_revwalk *w;
	git_oid id;
	size_t i, slot, seen = 0;

	if (git_revwalk_new(&w, repo) < 0)
		return;
	for (i = 0; i < n; i++)
		git_revwalk_push(w, &tips[i]);
	while (seen < t->len && git_revwalk_next(&id, w) == 0) {
		slot = kl_oidmap_get(&t->map, &id);
		if (slot == SIZE_MAX)
			continue;
		seen++;
		t->reached[slot] = true;
		if (bit >= 0)
			t->refs[slot] |= (uint64_t)1 << bit;
	}
	git_revwalk_free(w);
}

/*
 * One walk per ref for the first 64 refs (names and counts), one walk from
 * all of them for reachable or not: refs x commits steps at most, each
 * commit's parents read once per walk.
 */
void kl_git_label_reach(git_repository *repo, kl_report *r)
{
	ref_tips tips = { NULL, 0, 0 };
	targets t = { { 0 }, NULL, NULL, 0 };
	git_oid *all, id;
	size_t i, k, slot;

	collect_targets(r, &t);
	if (t.len) {
		list_tips(repo, &tips);
		for (i = 0; i < tips.len && i < 64; i++)
			walk_from(repo, &tips.items[i].tip, 1, &t, (int)i);
		if (tips.len > 64) {
			all = kl_xcalloc(tips.len, sizeof(*all));
			for (i = 0; i < tips.len; i++)
				git_oid_cpy(&all[i], &tips.items[i].tip);
			walk_from(repo, all, tips.len, &t, -1);
			free(all);
		}
	}
	for (i = 0; i < r->findings.len; i++) {
		kl_provenance *p = &r->findings.items[i].prov;

		if (!r->findings.items[i].has_prov || !p->commit ||
		    p->reach_known || git_oid_fromstr(&id, p->commit) < 0 ||
		    (slot = kl_oidmap_get(&t.map, &id)) == SIZE_MAX)
			continue;
		p->reach_known = true;
		for (k = 0; k < tips.len && k < 64; k++)
			if (t.refs[slot] >> k & 1 &&
			    p->reach_total++ < KL_REACH_REFS)
				kl_strlist_push(&p->reach_refs,
						tips.items[k].name);
		/* beyond the first 64 refs: reachable, not counted */
		if (!p->reach_total && t.reached[slot])
			p->reach_total = 1;
	}
	kl_oidmap_free(&t.map);
	free(t.refs);
	free(t.reached);
	tips_free(&tips);
}

size_t kl_git_refs_holding(git_repository *repo, const char *path,
			   kl_strlist *out, size_t max)
{
	ref_tips t = { NULL, 0, 0 };
	git_commit *c;
	git_tree *tree;
	git_tree_entry *e;
	size_t i, n = 0;

	list_tips(repo, &t);
	for (i = 0; i < t.len; i++) {
		if (git_commit_lookup(&c, repo, &t.items[i].tip) < 0)
			continue;
		if (git_commit_tree(&tree, c) == 0) {
			if (git_tree_entry_bypath(&e, tree, path) == 0) {
				if (n++ < max)
					kl_strlist_push(out, t.items[i].name);
				git_tree_entry_free(e);
			}
			git_tree_free(tree);
		}
		git_commit_free(c);
	}
	tips_free(&t);
	return n;
}
