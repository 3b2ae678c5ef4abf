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

static bool contains(git_repository *repo, const git_oid *tip,
		     const git_oid *commit)
{
	return git_oid_equal(tip, commit) ||
	       git_graph_descendant_of(repo, tip, commit) == 1;
}

/* The label of one commit, computed once however many findings share
 * it: later findings copy the first one's. */
static void label(git_repository *repo, const ref_tips *t,
		  kl_provenance *p)
{
	git_oid id;
	size_t i;

	p->reach_known = true;
	if (git_oid_fromstr(&id, p->commit) < 0)
		return;
	for (i = 0; i < t->len; i++)
		if (contains(repo, &t->items[i].tip, &id) &&
		    p->reach_total++ < KL_REACH_REFS)
			kl_strlist_push(&p->reach_refs, t->items[i].name);
}

static void copy_label(const kl_provenance *from, kl_provenance *to)
{
	size_t i;

	to->reach_known = true;
	to->reach_total = from->reach_total;
	for (i = 0; i < from->reach_refs.len; i++)
		kl_strlist_push(&to->reach_refs, from->reach_refs.items[i]);
}

void kl_git_label_reach(git_repository *repo, kl_report *r)
{
	ref_tips t = { NULL, 0, 0 };
	size_t i, j;

	list_tips(repo, &t);
	for (i = 0; i < r->findings.len; i++) {
		kl_provenance *p = &r->findings.items[i].prov;

		if (!r->findings.items[i].has_prov || !p->commit ||
		    p->reach_known)
			continue;
		for (j = 0; j < i; j++) {
			const kl_provenance *q = &r->findings.items[j].prov;

			if (q->reach_known && q->commit &&
			    strcmp(q->commit, p->commit) == 0)
				break;
		}
		if (j < i)
			copy_label(&r->findings.items[j].prov, p);
		else
			label(repo, &t, p);
	}
	tips_free(&t);
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
