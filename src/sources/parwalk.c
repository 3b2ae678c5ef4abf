/*
 * Owns the parallel tree walk of a history scan: which distinct blobs the
 * selected commits hold, and where each was first seen.
 *
 * Each commit is compared with its first parent, descending only into the
 * subtrees that differ (git/treediff.c): a blob in an unchanged subtree is
 * in the parent, which comes earlier in the order and is walked too. So
 * no set of walked trees is kept (memory grows with blobs, not trees), and
 * commits are independent: the ordered commits are cut into one segment
 * per thread, each walked with its own repository handle, blob set and
 * report, and the segments are merged in order, keeping the first record
 * of each blob. A blob's first commit is the first commit holding it, and
 * there its first differing path, whatever the segmentation: the report is
 * the same at any thread count.
 *
 * With more than one segment each runs in a child process (git/procs.c)
 * and sends its records back; where no process can be had, on threads.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "sources/git/missing.h"
#include "sources/git/treediff.h"
#include "sources/parwalk.h"

typedef struct gitlink {
	git_oid id;
	char *path;
} gitlink;

typedef struct segment {
	size_t from, to;          /* positions in g.order */
	size_t node;              /* the commit being walked */
	git_repository *repo;     /* own handle, or NULL: could not open */
	kl_report rep;            /* unreadable trees */
	kl_oidmap blobs, links_seen, trees;
	kl_hblob *blobv;
	size_t n_blobs, cap_blobs;
	gitlink *links;
	size_t n_links, cap_links;
	kl_pathchanges changes;
	bool saw_env;
	char *open_error;
} segment;

typedef struct walk_job {
	kl_hist *h;
	segment *seg;
	pthread_mutex_t lock; /* guards done and the progress line */
	size_t done;
	kl_progress *prog;
	/* In a worker process: commits walked, in memory the parent reads
	 * to draw the progress line. */
	_Atomic uint64_t *walked;
} walk_job;

typedef struct seg_ctx {
	kl_hist *h;
	segment *s;
} seg_ctx;

static void add_gitlink(segment *s, const git_oid *id, const char *path)
{
	if (!kl_oidmap_put(&s->links_seen, id, 0))
		return;
	if (s->n_links == s->cap_links) {
		s->cap_links = s->cap_links ? 2 * s->cap_links : 16;
		s->links = kl_xrealloc(s->links, s->cap_links * sizeof(gitlink));
	}
	git_oid_cpy(&s->links[s->n_links].id, id);
	s->links[s->n_links++].path = kl_xstrdup(path);
}

/* Record blob id first seen in node at path, unless the segment has it. */
static void put_blob(segment *s, const git_oid *id, size_t node,
		     const char *path)
{
	kl_hblob *b;

	if (!kl_oidmap_put(&s->blobs, id, s->n_blobs))
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

static void add_blob(segment *s, const kl_hist *h, const git_oid *id,
		     const char *path)
{
	/* Blobs an earlier pass recorded (audit walks twice) stay there. */
	if (kl_oidmap_get(&h->blobs, id) == SIZE_MAX)
		put_blob(s, id, s->node, path);
}

/* A path whose entry is new or changed in this commit. */
static void on_entry(void *ctx, const char *path, const git_tree_entry *old,
		     const git_tree_entry *e)
{
	seg_ctx *c = ctx;

	(void)old;
	kl_pathchanges_add(&c->s->changes, c->s->node, kl_path_hash(path));
	if (!e)
		return; /* deleted: nothing more to record */
	if (git_tree_entry_type(e) == GIT_OBJECT_COMMIT) {
		add_gitlink(c->s, git_tree_entry_id(e), path);
	} else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB &&
		   !kl_path_skipped(c->h->o, path)) {
		add_blob(c->s, c->h, git_tree_entry_id(e), path);
		c->s->saw_env |= kl_policy_is_env_file(path);
	}
}

/* audit's unreachable pass skips trees the reachable walk read. */
static void on_tree(void *ctx, const git_oid *id)
{
	seg_ctx *c = ctx;

	kl_oidmap_put(&c->s->trees, id, 0);
}

/* The tree to compare with: the first parent's, when that parent is
 * walked too (it always is in a full walk; not past a shallow boundary). */
static const git_oid *base_tree(const kl_cgraph *g, size_t node)
{
	const kl_cnode *n = &g->nodes[node];

	if (!n->n_parents || !(g->nodes[n->parents[0]].flags & KL_CN_ORDERED))
		return NULL;
	return kl_cgraph_base_tree(g, node);
}

static void walk_segment(void *ctx, int worker, size_t item)
{
	walk_job *job = ctx;
	kl_hist *h = job->h;
	segment *s = &job->seg[item];
	seg_ctx sc = { h, s };
	kl_treediff d = { NULL, &s->rep, NULL, on_entry, &sc,
			  h->keep_trees ? on_tree : NULL, h->promisor };
	size_t i;

	(void)worker;
	kl_report_init(&s->rep, h->r->command, h->r->target, h->r->rules);
	/* libgit2 handles are per thread: each segment opens its own. */
	s->open_error = kl_git_open_worker(h->path, &s->repo);
	if (s->open_error)
		return;
	d.repo = s->repo;
	for (i = s->from; i < s->to; i++) {
		size_t missing = s->rep.n_missing;

		s->node = h->g.order[i];
		kl_treediff_run(&d, base_tree(&h->g, s->node),
				&h->g.nodes[s->node].tree);
		kl_git_missing_commit(&s->rep, missing,
				      &h->g.nodes[s->node].oid);
		if (job->walked) {
			atomic_store_explicit(job->walked, i + 1 - s->from,
					      memory_order_relaxed);
			continue;
		}
		pthread_mutex_lock(&job->lock);
		kl_progress_tick(job->prog, ++job->done, 0);
		pthread_mutex_unlock(&job->lock);
	}
}

/* ------------------------------------------------- worker processes */

static void put_oid(kl_buf *b, const git_oid *id)
{
	kl_buf_add(b, id->id, GIT_OID_RAWSZ);
}

static void get_oid(kl_wire_reader *r, git_oid *id)
{
	const void *at = kl_wire_take(r, GIT_OID_RAWSZ);

	memset(id, 0, sizeof(*id));
	if (at)
		memcpy(id->id, at, GIT_OID_RAWSZ);
}

static void run_in_process(void *ctx, size_t k, _Atomic uint64_t *done)
{
	walk_job *job = ctx;

	job->prog = NULL; /* the parent draws it, from done */
	job->walked = done;
	walk_segment(job, 0, k);
}

/* What merge_segment needs of segment k. */
static void send_segment(void *ctx, size_t k, kl_buf *b)
{
	const segment *s = &((walk_job *)ctx)->seg[k];
	size_t i;

	kl_wire_str(b, s->open_error);
	kl_wire_u64(b, s->n_blobs);
	for (i = 0; i < s->n_blobs; i++) {
		put_oid(b, &s->blobv[i].oid);
		kl_wire_u64(b, s->blobv[i].node);
		kl_wire_str(b, s->blobv[i].path);
	}
	kl_wire_u64(b, s->n_links);
	for (i = 0; i < s->n_links; i++) {
		put_oid(b, &s->links[i].id);
		kl_wire_str(b, s->links[i].path);
	}
	kl_wire_u64(b, s->trees.len);
	for (i = 0; i < s->trees.cap; i++)
		if (s->trees.used[i])
			put_oid(b, &s->trees.keys[i]);
	kl_wire_u64(b, s->changes.len);
	for (i = 0; i < s->changes.len; i++) {
		kl_wire_u64(b, s->changes.v[i].node);
		kl_wire_u64(b, s->changes.v[i].path_hash);
	}
	kl_wire_u64(b, s->saw_env);
	kl_wire_report(b, &s->rep);
}

static void receive_blobs(kl_wire_reader *r, segment *s)
{
	uint64_t n = kl_wire_get_u64(r), i;

	for (i = 0; i < n && !r->bad; i++) {
		git_oid id;
		size_t node;
		const char *path;

		get_oid(r, &id);
		node = (size_t)kl_wire_get_u64(r);
		if ((path = kl_wire_get_str(r)))
			put_blob(s, &id, node, path);
	}
}

static bool receive_segment(void *ctx, size_t k, kl_wire_reader *r)
{
	walk_job *job = ctx;
	segment *s = &job->seg[k];
	const char *why = kl_wire_get_str(r), *path;
	uint64_t n, i;
	git_oid id;

	kl_report_init(&s->rep, job->h->r->command, job->h->r->target,
		       job->h->r->rules);
	s->open_error = kl_xstrdup_or_null(why);
	receive_blobs(r, s);
	n = kl_wire_get_u64(r);
	for (i = 0; i < n && !r->bad; i++) {
		get_oid(r, &id);
		if ((path = kl_wire_get_str(r)))
			add_gitlink(s, &id, path);
	}
	n = kl_wire_get_u64(r);
	for (i = 0; i < n && !r->bad; i++) {
		get_oid(r, &id);
		kl_oidmap_put(&s->trees, &id, 0);
	}
	n = kl_wire_get_u64(r);
	for (i = 0; i < n && !r->bad; i++) {
		size_t node = (size_t)kl_wire_get_u64(r);

		kl_pathchanges_add(&s->changes, node, kl_wire_get_u64(r));
	}
	s->saw_env = kl_wire_get_u64(r) != 0;
	kl_wire_get_report(r, &s->rep);
	return !r->bad;
}

static void lost_segment(void *ctx, size_t k, const char *why)
{
	segment *s = &((walk_job *)ctx)->seg[k];

	free(s->open_error);
	s->open_error = kl_xstrdup(why);
}

/* Each segment in a child process (see git/procs.c for why); false if
 * none could start. */
static bool walk_in_processes(walk_job *job, size_t nseg)
{
	kl_procs ps = { run_in_process, send_segment, receive_segment,
			lost_segment, job, job->prog };

	return kl_procs_run(&ps, nseg);
}

/* ------------------------------------------------------------ merging */

static void merge_gitlink(kl_hist *h, const gitlink *l)
{
	if (!kl_oidmap_put(&h->gitlinks, &l->id, 0))
		return;
	h->r->summary.skipped_other++;
	if (h->o->verbose)
		kl_report_notice(h->r, KL_NOTICE_SKIPPED, l->path,
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

static void merge_segment(kl_hist *h, segment *s)
{
	size_t i;

	if (s->open_error) {
		h->r->incomplete = true;
		kl_report_notice(h->r, KL_NOTICE_ERROR, NULL, "%s; commits "
				 "%zu to %zu of %zu were not walked",
				 s->open_error, s->from + 1, s->to,
				 h->g.n_order);
	}
	kl_report_merge(h->r, &s->rep);
	for (i = 0; i < s->n_links; i++)
		merge_gitlink(h, &s->links[i]);
	merge_blobs(h, s);
	for (i = 0; i < s->changes.len; i++)
		kl_pathchanges_add(&h->changes, s->changes.v[i].node,
				   s->changes.v[i].path_hash);
	for (i = 0; i < s->trees.cap; i++)
		if (s->trees.used[i])
			kl_oidmap_put(&h->trees, &s->trees.keys[i], 0);
	h->saw_env_file |= s->saw_env;
}

static void segment_free(segment *s)
{
	size_t i;

	for (i = 0; i < s->n_links; i++)
		free(s->links[i].path);
	free(s->links);
	free(s->changes.v);
	free(s->blobv);
	free(s->open_error);
	kl_report_free(&s->rep);
	kl_oidmap_free(&s->trees);
	kl_oidmap_free(&s->blobs);
	kl_oidmap_free(&s->links_seen);
	kl_git_close(s->repo);
}

void kl_parwalk_commits(kl_hist *h)
{
	size_t n = h->g.n_order - h->walked, k, nseg;
	int threads = h->o->threads > 0 ? h->o->threads : 1;
	walk_job job = { 0 };

	if (!n)
		return;
	/* A segment per thread; a few commits are not worth a handle. */
	nseg = (size_t)threads < n / 16 ? (size_t)threads : n / 16;
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
	if (nseg == 1 || !walk_in_processes(&job, nseg))
		kl_parallel_for(nseg, (int)nseg, walk_segment, &job);
	kl_progress_free(job.prog);
	for (k = 0; k < nseg; k++) {
		merge_segment(h, &job.seg[k]);
		segment_free(&job.seg[k]);
	}
	h->walked = h->g.n_order;
	pthread_mutex_destroy(&job.lock);
	free(job.seg);
}
