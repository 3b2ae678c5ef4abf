/*
 * The commit graph the history sources walk. libgit2 1.5's revwalk cannot
 * cross a shallow boundary (it fails on the missing parent), so keyleak
 * walks commits itself: it reads .git/shallow and treats those commits as
 * roots, and reports any other missing commit as an error notice.
 */
#ifndef KL_GIT_WALK_H
#define KL_GIT_WALK_H

#include "sources/git/util.h"

enum {
	KL_CN_HIDDEN = 1 << 0,   /* reachable from an excluded revision */
	KL_CN_SELECTED = 1 << 1, /* reachable from a wanted revision */
	KL_CN_ON_HEAD = 1 << 2,  /* an ancestor of HEAD (or HEAD) */
	KL_CN_LOADED = 1 << 3,
	KL_CN_MISSING = 1 << 4,  /* could not be read */
	KL_CN_BOUNDARY = 1 << 5, /* a shallow commit: parents not fetched */
	KL_CN_ORDERED = 1 << 6,  /* placed in g->order */
	KL_CN_QUEUED = 1 << 7,   /* kl_cgraph_select_new: in its queue */
	KL_CN_POPPED = 1 << 8    /* kl_cgraph_select_new: parents visited */
};

typedef struct kl_cnode {
	git_oid oid;
	git_oid tree;
	int64_t time;
	size_t *parents; /* node indices, in the commit's parent order */
	size_t n_parents;
	unsigned flags;
} kl_cnode;

typedef struct kl_cgraph {
	git_repository *repo; /* borrowed */
	kl_report *report;    /* borrowed: missing commits become notices */
	kl_cnode *nodes;
	size_t len, cap;
	kl_oidmap index;      /* oid -> node index */
	kl_oidmap shallow;    /* commits listed in .git/shallow */
	bool is_shallow;
	size_t *order;        /* selected commits, parents before children */
	size_t n_order;
} kl_cgraph;

void kl_cgraph_init(kl_cgraph *g, git_repository *repo, kl_report *r);

/* Push n's parents onto a growable stack of node indices (*len used of
 * *cap, *cap >= 1): the step of every depth-first walk over the graph. */
void kl_cgraph_push_parents(const kl_cnode *n, size_t **stack, size_t *len,
			    size_t *cap);
void kl_cgraph_free(kl_cgraph *g);

/*
 * Mark flag on every commit reachable from tips, loading commits as
 * needed. The walk stops at commits already carrying flag; a SELECTED walk
 * also stops at HIDDEN commits, so walk the hidden side first.
 */
void kl_cgraph_mark(kl_cgraph *g, const git_oid *tips, size_t n,
		    unsigned flag);

/* Append to g->order the SELECTED, not HIDDEN, readable commits not in it
 * yet, parents first, ties broken by commit time then id so the order is
 * deterministic. */
void kl_cgraph_sort(kl_cgraph *g);

/*
 * Mark SELECTED the commits reachable from tips and HIDDEN those reachable
 * from hides, like `git rev-list TIPS --not HIDES`: newest first by
 * committer time, stopping once only hidden commits remain queued (plus a
 * few more for clock skew), so a push of one commit onto a long history
 * loads a handful of commits, not all of them. Skewed dates can only make
 * it select too much, never hide a new commit.
 */
void kl_cgraph_select_new(kl_cgraph *g, const git_oid *tips, size_t n_tips,
			  const git_oid *hides, size_t n_hides);

/* Whether any selected commit sits on a shallow boundary. */
bool kl_cgraph_hits_boundary(const kl_cgraph *g);

/* The tree a commit is compared against: its first parent's, or NULL
 * for a root (or a shallow boundary). */
const git_oid *kl_cgraph_base_tree(const kl_cgraph *g, size_t node);

/* A path whose entry a commit changes against its first parent (added,
 * modified or deleted), as a hash: what the tree walk leaves for
 * provenance, which then reads only the commits changing a finding's
 * path. */
typedef struct kl_pathchange {
	size_t node;
	uint64_t path_hash;
} kl_pathchange;

typedef struct kl_pathchanges {
	kl_pathchange *v;
	size_t len, cap;
} kl_pathchanges;

uint64_t kl_path_hash(const char *path);
void kl_pathchanges_add(kl_pathchanges *c, size_t node, uint64_t path_hash);

#endif
