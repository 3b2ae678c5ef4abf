/*
 * Owns the parallel tree walk of a history scan. The ordered commits are
 * cut into one contiguous segment per thread; each segment is walked by
 * its own thread with its own repository handle and its own sets of
 * walked trees and seen blobs, then the segments are merged in order.
 *
 * Why this gives the sequential walk's result, byte for byte: a blob's
 * first commit in the order is the first commit that contains it, in any
 * segmentation; within that commit the walk meets it at the same path,
 * because every tree that could hide it (already walked) would have held
 * it in an earlier commit. So keeping, per blob, the record of the first
 * segment that has it reproduces the one-thread walk. The price is that
 * each segment's first commit walks its whole tree once more, which is
 * small next to a long history (measured in README.md's scaling table).
 *
 * Notices (unreadable trees, submodules with --verbose) are recorded as
 * events and replayed in segment order, each object once, so the report
 * does not depend on the number of threads either.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "sources/git/parwalk.h"

enum { EV_BAD_TREE, EV_GITLINK };

typedef struct event {
	int kind;
	git_oid id;
	char *path;
} event;

typedef struct segment {
	size_t from, to;          /* positions in g.order */
	git_repository *repo;     /* own handle, or NULL: could not open */
	kl_oidmap trees, blobs, events_seen;
	kl_hblob *blobv;
	size_t n_blobs, cap_blobs;
	event *ev;
	size_t n_ev, cap_ev;
	bool saw_env;
	char *open_error;
} segment;

typedef struct walk_job {
	kl_hist *h;
	segment *seg;
	pthread_mutex_t lock; /* guards done and the progress line */
	size_t done;
	kl_progress *prog;
} walk_job;

static void add_event(segment *s, int kind, const git_oid *id,
		      const char *path)
{
	if (!kl_oidmap_put(&s->events_seen, id, 0))
		return;
	if (s->n_ev == s->cap_ev) {
		s->cap_ev = s->cap_ev ? 2 * s->cap_ev : 16;
		s->ev = kl_xrealloc(s->ev, s->cap_ev * sizeof(*s->ev));
	}
	s->ev[s->n_ev].kind = kind;
	git_oid_cpy(&s->ev[s->n_ev].id, id);
	s->ev[s->n_ev++].path = path ? kl_xstrdup(path) : NULL;
}

static void add_blob(segment *s, const kl_hist *h, const git_oid *id,
		     const char *path, size_t node)
{
	kl_hblob *b;

	/* Blobs an earlier pass recorded (audit walks twice) stay there. */
	if (kl_oidmap_get(&h->blobs, id) != SIZE_MAX ||
	    !kl_oidmap_put(&s->blobs, id, s->n_blobs))
		return;
	if (s->n_blobs == s->cap_blobs) {
		s->cap_blobs = s->cap_blobs ? s->cap_blobs * 2 : 1024;
		s->blobv = kl_xrealloc(s->blobv, s->cap_blobs * sizeof(*b));
	}
	b = &s->blobv[s->n_blobs++];
	git_oid_cpy(&b->oid, id);
	b->node = node;
	b->path = kl_xstrdup(path);
}

static bool walked(const segment *s, const kl_hist *h, const git_oid *id)
{
	return kl_oidmap_get(&s->trees, id) != SIZE_MAX ||
	       kl_oidmap_get(&h->trees, id) != SIZE_MAX;
}

/* As history.c's walk_tree: true if a path below was skipped by a glob,
 * so the tree is not marked walked and is walked again elsewhere. */
static bool walk_tree(segment *s, const kl_hist *h, const git_oid *id,
		      kl_buf *path, size_t node)
{
	git_tree *t;
	bool skipped = false;
	size_t i, len = path->len;

	if (walked(s, h, id))
		return false;
	if (git_tree_lookup(&t, s->repo, id) < 0) {
		add_event(s, EV_BAD_TREE, id, NULL);
		return false;
	}
	for (i = 0; i < git_tree_entrycount(t); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		git_object_t type = git_tree_entry_type(e);

		kl_buf_puts(path, git_tree_entry_name(e));
		if (type == GIT_OBJECT_TREE) {
			kl_buf_addch(path, '/');
			skipped |= walk_tree(s, h, git_tree_entry_id(e), path,
					     node);
		} else if (type == GIT_OBJECT_COMMIT) {
			add_event(s, EV_GITLINK, git_tree_entry_id(e),
				  path->data);
		} else if (kl_path_skipped(h->o, path->data)) {
			skipped = true;
		} else {
			add_blob(s, h, git_tree_entry_id(e), path->data, node);
			s->saw_env |= kl_policy_is_env_file(path->data);
		}
		path->len = len;
		path->data[len] = '\0';
	}
	git_tree_free(t);
	if (!skipped)
		kl_oidmap_put(&s->trees, id, 0);
	return skipped;
}

static void walk_segment(void *ctx, int worker, size_t item)
{
	walk_job *job = ctx;
	kl_hist *h = job->h;
	segment *s = &job->seg[item];
	kl_buf path = KL_BUF_INIT;
	kl_error err = { 0 };
	size_t i;

	(void)worker;
	/* libgit2 handles are per thread: each segment opens its own. */
	if (kl_git_open(h->path, &s->repo, &err) < 0) {
		s->open_error = kl_xstrdup(err.message ? err.message
						       : kl_git_lasterr());
		kl_error_clear(&err);
		s->repo = NULL;
		return;
	}
	for (i = s->from; i < s->to; i++) {
		size_t node = h->g.order[i];

		kl_buf_reset(&path);
		kl_buf_puts(&path, "");
		walk_tree(s, h, &h->g.nodes[node].tree, &path, node);
		pthread_mutex_lock(&job->lock);
		kl_progress_tick(job->prog, ++job->done, 0);
		pthread_mutex_unlock(&job->lock);
	}
	kl_buf_free(&path);
}

/* ------------------------------------------------------------ merging */

static void replay_event(kl_hist *h, kl_oidmap *bad, const event *e)
{
	if (e->kind == EV_BAD_TREE) {
		if (kl_oidmap_put(bad, &e->id, 0))
			kl_git_obj_error(h->r, &e->id, "cannot read tree");
		return;
	}
	if (!kl_oidmap_put(&h->gitlinks, &e->id, 0))
		return;
	h->r->summary.skipped_other++;
	if (h->o->verbose)
		kl_report_notice(h->r, KL_NOTICE_SKIPPED, e->path,
				 "submodule: not scanned");
}

static void merge_blobs(kl_hist *h, segment *s)
{
	size_t i;

	if (!h->n_blobs && !h->blobs.len) {
		/* The first segment's records move over as they are. */
		kl_oidmap_free(&h->blobs);
		free(h->blobv);
		h->blobs = s->blobs;
		h->blobv = s->blobv;
		h->n_blobs = s->n_blobs;
		h->cap_blobs = s->cap_blobs;
		memset(&s->blobs, 0, sizeof(s->blobs));
		s->blobv = NULL;
		s->n_blobs = 0;
		return;
	}

	for (i = 0; i < s->n_blobs; i++) {
		kl_hblob *b = &s->blobv[i];

		if (!kl_oidmap_put(&h->blobs, &b->oid, h->n_blobs)) {
			free(b->path);
			continue;
		}
		if (h->n_blobs == h->cap_blobs) {
			h->cap_blobs = h->cap_blobs ? h->cap_blobs * 2 : 1024;
			h->blobv = kl_xrealloc(h->blobv,
					       h->cap_blobs * sizeof(*b));
		}
		h->blobv[h->n_blobs++] = *b; /* the path moves */
	}
}

static void merge_segment(kl_hist *h, segment *s, kl_oidmap *bad)
{
	size_t i;

	if (s->open_error) {
		h->r->incomplete = true;
		kl_report_notice(h->r, KL_NOTICE_ERROR, NULL, "%s; commits "
				 "%zu to %zu of %zu were not walked",
				 s->open_error, s->from + 1, s->to,
				 h->g.n_order);
	}
	for (i = 0; i < s->n_ev; i++)
		replay_event(h, bad, &s->ev[i]);
	merge_blobs(h, s);
	/* Only a later walk (audit's unreachable pass) needs the trees. */
	for (i = 0; h->keep_trees && i < s->trees.cap; i++)
		if (s->trees.used[i])
			kl_oidmap_put(&h->trees, &s->trees.keys[i], 0);
	kl_oidmap_free(&s->trees);
	h->saw_env_file |= s->saw_env;
}

static void segment_free(segment *s)
{
	size_t i;

	for (i = 0; i < s->n_ev; i++)
		free(s->ev[i].path);
	free(s->ev);
	free(s->blobv);
	free(s->open_error);
	kl_oidmap_free(&s->trees);
	kl_oidmap_free(&s->blobs);
	kl_oidmap_free(&s->events_seen);
	kl_git_close(s->repo);
}

void kl_parwalk_commits(kl_hist *h)
{
	size_t n = h->g.n_order - h->walked, k, nseg;
	int threads = h->o->threads > 0 ? h->o->threads : 1;
	walk_job job = { 0 };
	kl_oidmap bad = { 0 };

	if (!n)
		return;
	/* A segment per thread; a few commits are not worth a thread. */
	nseg = (size_t)threads < n / 64 ? (size_t)threads : n / 64;
	if (nseg < 1)
		nseg = 1;
	job.h = h;
	job.seg = kl_xcalloc(nseg, sizeof(segment));
	for (k = 0; k < nseg; k++) {
		job.seg[k].from = h->walked + n * k / nseg;
		job.seg[k].to = h->walked + n * (k + 1) / nseg;
	}
	pthread_mutex_init(&job.lock, NULL);
	job.prog = kl_progress_new("walking commits", n, h->o->progress);
	kl_parallel_for(nseg, (int)nseg, walk_segment, &job);
	kl_progress_free(job.prog);
	for (k = 0; k < nseg; k++) {
		merge_segment(h, &job.seg[k], &bad);
		segment_free(&job.seg[k]);
	}
	h->walked = h->g.n_order;
	kl_oidmap_free(&bad);
	pthread_mutex_destroy(&job.lock);
	free(job.seg);
}
