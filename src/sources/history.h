/*
 * The history scan's state, shared by `history` and `audit` (which adds
 * unreachable commits, trees and blobs to the same dedup sets before the
 * blobs are scanned).
 */
#ifndef KL_SOURCES_HISTORY_H
#define KL_SOURCES_HISTORY_H

#include "sources/git/walk.h"

/* A distinct blob to scan, with where it was first seen. */
typedef struct kl_hblob {
	git_oid oid;
	size_t node;  /* commit node it was first seen in, or SIZE_MAX */
	char *path;   /* path there (or a descriptive pseudo-path) */
} kl_hblob;

typedef struct kl_hist {
	const char *path;        /* as given: workers open their own handle */
	git_repository *repo;
	const kl_scan_opts *o;
	kl_report *r;
	kl_cgraph g;
	size_t walked;           /* g.order[0..walked) had their trees walked */
	kl_oidmap trees;         /* trees whose every blob is recorded */
	kl_oidmap blobs;         /* blob -> index in blobv */
	kl_hblob *blobv;
	size_t n_blobs, cap_blobs;
	kl_oidmap gitlinks;      /* submodule commits seen, counted once */
	size_t start;            /* this scan's first finding in r */
	bool range_mode;         /* report only what the commits add */
	bool saw_env_file;       /* some walked tree holds a .env-like file */
	char *promisor;          /* --fetch-missing: the promisor remote */
	double deadline;         /* range scan: CLOCK_MONOTONIC s, 0 = none */
	bool keep_trees;         /* fill trees for a later walk (audit) */
	kl_pathchanges changes;  /* what each walked commit changes */
} kl_hist;

int kl_hist_open(kl_hist *h, const char *path, const kl_scan_opts *o,
		 kl_report *r, kl_error *err);
void kl_hist_free(kl_hist *h);

/* Mark the commits o selects (HEAD, --all, REVs, --range) and sort them. */
int kl_hist_select(kl_hist *h, kl_error *err);
/* Mark every ref's tip (and HEAD) as selected; does not sort. */
void kl_hist_select_all_refs(kl_hist *h);
/* The commits each ref matching glob (NULL: every ref, and HEAD) peels
 * to, appended to *tips; a ref that cannot be read is an error notice. */
void kl_hist_ref_tips(kl_hist *h, const char *glob, git_oid **tips,
		      size_t *n);
/* Select what tips add to hides (`git rev-list TIPS --not HIDES`), in
 * range mode: each commit is scanned for the lines it adds. */
void kl_hist_select_new(kl_hist *h, const git_oid *tips, size_t n_tips,
			const git_oid *hides, size_t n_hides);
/* Append newly selected commits to the order (HEAD's line, shallow
 * warning, commit count). */
void kl_hist_order(kl_hist *h);

/* Record the blobs of every ordered commit not walked yet. */
void kl_hist_walk_commits(kl_hist *h);
/* Record the blobs under tree (path is its prefix, node its commit). */
void kl_hist_walk_tree(kl_hist *h, const git_oid *tree, kl_buf *path,
		       size_t node);
/* Record one blob if new; path is copied. */
void kl_hist_add_blob(kl_hist *h, const git_oid *id, const char *path,
		      size_t node);

/* Scan (full mode: the recorded blobs in parallel; range mode: what each
 * commit adds), then merge findings and resolve provenance. */
void kl_hist_scan(kl_hist *h);

#endif
