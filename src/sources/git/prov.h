/*
 * Provenance for history findings: merging the raw per-blob findings into
 * one finding per (rule, secret, path), then one pass over the selected
 * commits to list where each appeared, who introduced it, whether HEAD
 * still has it and which commit removed it.
 */
#ifndef KL_GIT_PROV_H
#define KL_GIT_PROV_H

#include "sources/git/walk.h"

typedef struct kl_prov_link {
	git_oid blob;
	size_t finding; /* index into r->findings */
} kl_prov_link;

typedef struct kl_prov {
	git_repository *repo; /* borrowed */
	kl_report *r;         /* borrowed */
	kl_cgraph *g;         /* borrowed, sorted */
	size_t start;         /* r->findings.items[start..] are ours */
	bool head_line_known; /* KL_CN_ON_HEAD flags are valid */
	kl_prov_link *links;  /* blob -> finding, sorted by blob */
	size_t n_links;
	char **paths;         /* distinct finding paths, sorted */
	size_t n_paths;
	size_t *removed;      /* per finding: removing node, or SIZE_MAX */
	bool *in_head;        /* per finding */
	int threads;          /* for the pass over commits (default 1) */
	const char *path;     /* repository, for the threads' own handles */
	struct pass_seg *segs; /* the pass's shares, while it runs */
	/* Optional: what each ordered commit changes (the tree walk's); the
	 * pass then reads only commits changing a finding's path. */
	const kl_pathchanges *changes;
	bool *visit;          /* per node, while the pass runs; NULL: all */
} kl_prov;

/*
 * r->findings.items[start..] are raw findings, each with blob and
 * prov.commit (the commit it was found in) set. Merge those sharing a
 * fingerprint: the one whose commit comes first in g->order wins (then
 * the lowest line); count becomes the number merged.
 */
void kl_prov_init(kl_prov *p, git_repository *repo, kl_report *r,
		  kl_cgraph *g, size_t start);
void kl_prov_group(kl_prov *p);

/* Fill every finding's provenance (commits, author, in_head, removed_in). */
void kl_prov_resolve(kl_prov *p);
void kl_prov_free(kl_prov *p);

#endif
