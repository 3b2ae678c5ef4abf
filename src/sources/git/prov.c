/*
 * Owns history provenance. Findings are merged by fingerprint; then each
 * selected commit is compared with its first parent, descending only into
 * subtrees that differ and that lead to a finding's path, so the pass costs
 * a few tree reads per commit, and blobs are read only to confirm removals.
 */
#include <stdlib.h>
#include <string.h>

#include "sources/git/prov.h"
#include "sources/git/treediff.h"

void kl_prov_init(kl_prov *p, git_repository *repo, kl_report *r,
		  kl_cgraph *g, size_t start)
{
	memset(p, 0, sizeof(*p));
	p->repo = repo;
	p->r = r;
	p->g = g;
	p->start = start;
}

void kl_prov_free(kl_prov *p)
{
	size_t i;

	for (i = 0; i < p->n_paths; i++)
		free(p->paths[i]);
	free(p->paths);
	free(p->links);
	free(p->removed);
	free(p->in_head);
	memset(p, 0, sizeof(*p));
}

/* ------------------------------------------------------------ grouping */

typedef struct raw_key {
	const kl_finding *f;
	size_t pos; /* position of its commit in the order */
	size_t idx;
} raw_key;

static int cmp_raw(const void *a, const void *b)
{
	const raw_key *x = a, *y = b;
	int c = strcmp(x->f->fingerprint, y->f->fingerprint);

	if (c)
		return c;
	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	if (x->f->line != y->f->line)
		return x->f->line < y->f->line ? -1 : 1;
	if (x->f->column != y->f->column)
		return x->f->column < y->f->column ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_link(const void *a, const void *b)
{
	const kl_prov_link *x = a, *y = b;
	int c = git_oid_cmp(&x->blob, &y->blob);

	if (c)
		return c;
	return x->finding < y->finding ? -1 : x->finding > y->finding;
}

/* Position of each node in g->order (SIZE_MAX when not ordered). */
static size_t *order_positions(const kl_cgraph *g)
{
	size_t *pos = kl_xmalloc((g->len + 1) * sizeof(size_t)), i;

	for (i = 0; i < g->len; i++)
		pos[i] = SIZE_MAX;
	for (i = 0; i < g->n_order; i++)
		pos[g->order[i]] = i;
	return pos;
}

static size_t commit_pos(const kl_cgraph *g, const size_t *pos,
			 const kl_finding *f)
{
	git_oid id;
	size_t n;

	if (!f->prov.commit || git_oid_fromstr(&id, f->prov.commit) < 0)
		return SIZE_MAX;
	n = kl_oidmap_get(&g->index, &id);
	return n == SIZE_MAX ? SIZE_MAX : pos[n];
}

static void add_link(kl_prov *p, const char *blob_hex, size_t finding)
{
	git_oid id;

	if (!blob_hex || git_oid_fromstr(&id, blob_hex) < 0)
		return;
	p->links = kl_xrealloc(p->links, (p->n_links + 1) * sizeof(*p->links));
	git_oid_cpy(&p->links[p->n_links].blob, &id);
	p->links[p->n_links++].finding = finding;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Unique-sorted links and paths, for binary search in the pass. */
static void index_groups(kl_prov *p)
{
	kl_findings *fs = &p->r->findings;
	size_t i, n = 0;

	if (p->n_links)
		qsort(p->links, p->n_links, sizeof(*p->links), cmp_link);
	for (i = 0; i < p->n_links; i++)
		if (!n || cmp_link(&p->links[n - 1], &p->links[i]) != 0)
			p->links[n++] = p->links[i];
	p->n_links = n;
	p->paths = kl_xcalloc(fs->len - p->start + 1, sizeof(char *));
	for (i = p->start; i < fs->len; i++)
		p->paths[p->n_paths++] = kl_xstrdup(fs->items[i].path);
	qsort(p->paths, p->n_paths, sizeof(char *), cmp_str);
}

void kl_prov_group(kl_prov *p)
{
	kl_findings *fs = &p->r->findings;
	size_t n = fs->len - p->start, i, out = p->start;
	size_t *pos;
	raw_key *keys;
	kl_finding *raw;

	if (!n)
		return;
	pos = order_positions(p->g);
	keys = kl_xcalloc(n + 1, sizeof(*keys));
	raw = kl_xcalloc(n + 1, sizeof(*raw));
	memcpy(raw, fs->items + p->start, n * sizeof(*raw));
	for (i = 0; i < n; i++)
		keys[i] = (raw_key){ &raw[i], commit_pos(p->g, pos, &raw[i]), i };
	qsort(keys, n, sizeof(*keys), cmp_raw);
	for (i = 0; i < n; i++) {
		kl_finding *f = &raw[keys[i].idx];

		if (out > p->start &&
		    strcmp(f->fingerprint, fs->items[out - 1].fingerprint) == 0) {
			fs->items[out - 1].count += f->count ? f->count : 1;
			add_link(p, f->blob, out - 1);
			kl_finding_clear(f);
			continue;
		}
		fs->items[out] = *f;
		if (!fs->items[out].count)
			fs->items[out].count = 1;
		add_link(p, f->blob, out++);
	}
	fs->len = out;
	index_groups(p);
	free(keys);
	free(raw);
	free(pos);
}

/* ---------------------------------------------------------- the pass */

/* First link for blob, or n_links. */
static size_t links_of(const kl_prov *p, const git_oid *blob)
{
	size_t lo = 0, hi = p->n_links;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (git_oid_cmp(&p->links[mid].blob, blob) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool blob_linked(const kl_prov *p, const git_oid *blob, size_t fi)
{
	size_t k;

	for (k = links_of(p, blob); k < p->n_links &&
	     git_oid_equal(&p->links[k].blob, blob); k++)
		if (p->links[k].finding == fi)
			return true;
	return false;
}

/* Whether blob holds finding fi's secret: known from the scan when the
 * blob was linked to it, else read and searched (rare: removals only). */
static bool blob_has_secret(const kl_prov *p, git_repository *repo,
			    const git_oid *blob, size_t fi)
{
	const kl_finding *f = &p->r->findings.items[fi];
	git_blob *b;
	bool found;

	if (blob_linked(p, blob, fi))
		return true;
	if (!f->secret || git_blob_lookup(&b, repo, blob) < 0)
		return false;
	found = memmem(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b),
		       f->secret, strlen(f->secret)) != NULL;
	git_blob_free(b);
	return found;
}

/* Whether path, or a directory path ending in '/', leads to a finding. */
static bool path_wanted(const kl_prov *p, const char *path, size_t len,
			bool dir)
{
	size_t lo = 0, hi = p->n_paths;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(p->paths[mid], path) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == p->n_paths)
		return false;
	if (dir)
		return strncmp(p->paths[lo], path, len) == 0;
	return strcmp(p->paths[lo], path) == 0;
}

/* What one commit of the pass tells about a finding; recorded by the
 * segment's thread, applied in commit order (seen commits are listed in
 * order, the last removal wins). */
typedef struct pass_event {
	size_t finding;
	size_t node;
	bool gone;
} pass_event;

/* One thread's share of the pass: contiguous commits of the order. */
typedef struct pass_seg {
	size_t from, to;
	git_repository *repo;  /* own handle (segment 0: the scan's) */
	kl_report rep;         /* unreadable trees */
	pass_event *ev;
	size_t n_ev, cap_ev;
	size_t node;           /* the commit being compared */
	char *open_error;
} pass_seg;

typedef struct pass_ctx {
	kl_prov *p;
	pass_seg *seg;
} pass_ctx;

static void add_event(pass_seg *s, size_t fi, size_t node, bool gone)
{
	if (s->n_ev == s->cap_ev) {
		s->cap_ev = s->cap_ev ? 2 * s->cap_ev : 64;
		s->ev = kl_xrealloc(s->ev, s->cap_ev * sizeof(*s->ev));
	}
	s->ev[s->n_ev++] = (pass_event){ fi, node, gone };
}

static void note_seen(const kl_prov *p, pass_seg *s, const char *path,
		      const git_oid *blob)
{
	size_t k;

	for (k = links_of(p, blob); k < p->n_links &&
	     git_oid_equal(&p->links[k].blob, blob); k++) {
		const kl_finding *f = &p->r->findings.items[p->links[k].finding];

		if (strcmp(f->path, path) != 0)
			continue;
		if (kl_treediff_from_other_parent(s->repo, p->g, s->node,
						  path, blob))
			continue;
		add_event(s, p->links[k].finding, s->node, false);
	}
}

static void note_gone(const kl_prov *p, pass_seg *s, const char *path,
		      const git_oid *old, const git_oid *new_blob)
{
	unsigned flags = p->g->nodes[s->node].flags;
	size_t k;

	if (p->head_line_known && !(flags & KL_CN_ON_HEAD))
		return;
	for (k = links_of(p, old); k < p->n_links &&
	     git_oid_equal(&p->links[k].blob, old); k++) {
		size_t fi = p->links[k].finding;

		if (strcmp(p->r->findings.items[fi].path, path) != 0)
			continue;
		if (new_blob && blob_has_secret(p, s->repo, new_blob, fi))
			continue;
		add_event(s, fi, s->node, true);
	}
}

static bool pass_descend(void *ctx, const char *dir, size_t len)
{
	return path_wanted(((pass_ctx *)ctx)->p, dir, len, true);
}

static bool is_blob(const git_tree_entry *e)
{
	return e && git_tree_entry_type(e) == GIT_OBJECT_BLOB;
}

static void pass_entry(void *ctx, const char *path, const git_tree_entry *o,
		       const git_tree_entry *n)
{
	pass_ctx *pc = ctx;

	if ((!is_blob(o) && !is_blob(n)) ||
	    !path_wanted(pc->p, path, strlen(path), false))
		return;
	if (is_blob(n))
		note_seen(pc->p, pc->seg, path, git_tree_entry_id(n));
	if (is_blob(o))
		note_gone(pc->p, pc->seg, path, git_tree_entry_id(o),
			  is_blob(n) ? git_tree_entry_id(n) : NULL);
}

static int head_entry(const char *root, const git_tree_entry *e, void *ctx)
{
	kl_prov *p = ctx;
	const git_oid *id = git_tree_entry_id(e);
	size_t k;

	(void)root;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	for (k = links_of(p, id); k < p->n_links &&
	     git_oid_equal(&p->links[k].blob, id); k++)
		p->in_head[p->links[k].finding - p->start] = true;
	return 0;
}

static bool same_secret(const kl_finding *a, const kl_finding *b)
{
	return a->rule == b->rule && a->secret && b->secret &&
	       strcmp(a->secret, b->secret) == 0;
}

/*
 * in_head: HEAD has the secret at the finding's path, or HEAD holds a blob
 * the scan found the same rule and secret in (a renamed or copied file:
 * the key is still there, whatever the path).
 */
static void mark_in_head(kl_prov *p, git_tree *head)
{
	kl_finding *fs = p->r->findings.items;
	size_t n = p->r->findings.len - p->start, i, j;

	for (i = 0; i < n; i++) {
		git_tree_entry *e = NULL;

		if (git_tree_entry_bypath(&e, head, fs[p->start + i].path) == 0 &&
		    is_blob(e) &&
		    blob_has_secret(p, p->repo, git_tree_entry_id(e),
				    p->start + i))
			p->in_head[i] = true;
		git_tree_entry_free(e);
	}
	git_tree_walk(head, GIT_TREEWALK_PRE, head_entry, p);
	for (i = 0; i < n; i++)
		for (j = 0; j < n && !p->in_head[i]; j++)
			if (p->in_head[j] &&
			    same_secret(&fs[p->start + i], &fs[p->start + j]))
				p->in_head[i] = true;
}

static void fill_finding(kl_prov *p, size_t fi)
{
	kl_finding *f = &p->r->findings.items[fi];
	git_oid id;

	if (f->prov.commits.len)
		git_oid_fromstr(&id, f->prov.commits.items[0]);
	else if (!f->prov.commit || git_oid_fromstr(&id, f->prov.commit) < 0)
		return;
	if (!f->prov.commits.len)
		kl_strlist_push(&f->prov.commits, f->prov.commit);
	if (kl_git_prov_fill(p->repo, &id, &f->prov) < 0)
		kl_git_obj_error(p->r, &id, "cannot read commit");
	f->has_prov = true;
	f->prov.in_head = p->in_head[fi - p->start];
	free(f->prov.removed_in);
	f->prov.removed_in = NULL;
	if (!f->prov.in_head && p->removed[fi - p->start] != SIZE_MAX) {
		char hex[GIT_OID_HEXSZ + 1];

		git_oid_tostr(hex, sizeof(hex),
			      &p->g->nodes[p->removed[fi - p->start]].oid);
		f->prov.removed_in = kl_xstrdup(hex);
		f->prov.removed_time =
			p->g->nodes[p->removed[fi - p->start]].time;
	}
}

static void pass_segment(void *ctx, int worker, size_t item)
{
	kl_prov *p = ctx;
	pass_seg *s = &p->segs[item];
	pass_ctx pc = { p, s };
	kl_treediff d = { NULL, &s->rep, pass_descend, pass_entry, &pc, NULL,
			  NULL };
	size_t i;

	(void)worker;
	kl_report_init(&s->rep, p->r->command, p->r->target, p->r->rules);
	/* libgit2 handles are per thread: segment 0 uses the scan's. */
	if (item == 0)
		s->repo = p->repo;
	else if ((s->open_error = kl_git_open_worker(p->path, &s->repo)))
		return;
	d.repo = s->repo;
	for (i = s->from; i < s->to; i++) {
		s->node = p->g->order[i];
		if (p->visit && !p->visit[s->node])
			continue;
		kl_treediff_run(&d, kl_cgraph_base_tree(p->g, s->node),
				&p->g->nodes[s->node].tree);
	}
}

/* Apply a segment's events as the one-thread pass would have, in order. */
static void apply_segment(kl_prov *p, pass_seg *s)
{
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;

	if (s->open_error) {
		p->r->incomplete = true;
		kl_report_notice(p->r, KL_NOTICE_ERROR, NULL, "%s; provenance "
				 "of commits %zu to %zu was not resolved",
				 s->open_error, s->from + 1, s->to);
	}
	kl_report_merge(p->r, &s->rep);
	for (i = 0; i < s->n_ev; i++) {
		const pass_event *e = &s->ev[i];
		kl_strlist *l = &p->r->findings.items[e->finding].prov.commits;

		if (e->gone) {
			p->removed[e->finding - p->start] = e->node;
			continue;
		}
		git_oid_tostr(hex, sizeof(hex), &p->g->nodes[e->node].oid);
		if (!l->len || strcmp(l->items[l->len - 1], hex) != 0)
			kl_strlist_push(l, hex);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The commits the pass must read: those changing a finding's path against
 * their first parent (only there can a finding appear or go), from the
 * walk's record. A hash collision adds a commit, never drops one. NULL:
 * no record, read them all.
 */
static bool *commits_to_visit(const kl_prov *p)
{
	uint64_t *want;
	bool *visit;
	size_t i;

	if (!p->changes)
		return NULL;
	want = kl_xmalloc((p->n_paths ? p->n_paths : 1) * sizeof(*want));
	for (i = 0; i < p->n_paths; i++)
		want[i] = kl_path_hash(p->paths[i]);
	qsort(want, p->n_paths, sizeof(*want), cmp_u64);
	visit = kl_xcalloc(p->g->len ? p->g->len : 1, sizeof(*visit));
	for (i = 0; i < p->changes->len; i++) {
		const kl_pathchange *c = &p->changes->v[i];

		if (c->node < p->g->len &&
		    bsearch(&c->path_hash, want, p->n_paths, sizeof(*want),
			    cmp_u64))
			visit[c->node] = true;
	}
	free(want);
	return visit;
}

/* ---------------------------------------------- the pass in processes */

static void pass_in_process(void *ctx, size_t k, _Atomic uint64_t *done)
{
	(void)done;
	pass_segment(ctx, 0, k);
}

static void send_pass(void *ctx, size_t k, kl_buf *b)
{
	const pass_seg *s = &((kl_prov *)ctx)->segs[k];
	size_t i;

	kl_wire_str(b, s->open_error);
	kl_wire_u64(b, s->n_ev);
	for (i = 0; i < s->n_ev; i++) {
		kl_wire_u64(b, s->ev[i].finding);
		kl_wire_u64(b, s->ev[i].node);
		kl_wire_u64(b, s->ev[i].gone);
	}
	kl_wire_report(b, &s->rep);
}

static bool receive_pass(void *ctx, size_t k, kl_wire_reader *r)
{
	kl_prov *p = ctx;
	pass_seg *s = &p->segs[k];
	const char *why = kl_wire_get_str(r);
	uint64_t n = kl_wire_get_u64(r), i;

	kl_report_init(&s->rep, p->r->command, p->r->target, p->r->rules);
	s->open_error = kl_xstrdup_or_null(why);
	for (i = 0; i < n && !r->bad; i++) {
		size_t fi = (size_t)kl_wire_get_u64(r);
		size_t node = (size_t)kl_wire_get_u64(r);
		bool gone = kl_wire_get_u64(r) != 0;

		if (fi < p->r->findings.len && node < p->g->len)
			add_event(s, fi, node, gone);
		else
			r->bad = true;
	}
	kl_wire_get_report(r, &s->rep);
	return !r->bad;
}

static void lost_pass(void *ctx, size_t k, const char *why)
{
	pass_seg *s = &((kl_prov *)ctx)->segs[k];

	free(s->open_error);
	s->open_error = kl_xstrdup(why);
}

/*
 * The pass compares each selected commit with its first parent. Commits
 * are independent, so contiguous shares of the order run in worker
 * processes (procs.c; on threads where none can start), each with
 * its own repository handle; their events are applied in order.
 */
static void run_pass(kl_prov *p)
{
	size_t n = p->g->n_order, nseg, k;
	int threads = p->threads > 0 ? p->threads : 1;
	kl_procs ps = { pass_in_process, send_pass, receive_pass, lost_pass,
			p, NULL };
	bool forked;

	nseg = (size_t)threads < n / 64 ? (size_t)threads : n / 64;
	if (nseg < 1)
		nseg = 1;
	p->segs = kl_xcalloc(nseg, sizeof(pass_seg));
	for (k = 0; k < nseg; k++) {
		p->segs[k].from = n * k / nseg;
		p->segs[k].to = n * (k + 1) / nseg;
	}
	p->visit = commits_to_visit(p);
	forked = nseg > 1 && kl_procs_run(&ps, nseg);
	if (!forked)
		kl_parallel_for(nseg, (int)nseg, pass_segment, p);
	for (k = 0; k < nseg; k++) {
		pass_seg *s = &p->segs[k];

		apply_segment(p, s);
		kl_report_free(&s->rep);
		free(s->ev);
		free(s->open_error);
		if (k > 0 && !forked)
			kl_git_close(s->repo);
	}
	free(p->segs);
	p->segs = NULL;
	free(p->visit);
	p->visit = NULL;
}

void kl_prov_resolve(kl_prov *p)
{
	size_t n = p->r->findings.len - p->start, i;
	git_tree *head = NULL;
	kl_error err = { 0 };

	p->removed = kl_xmalloc((n + 1) * sizeof(size_t));
	p->in_head = kl_xcalloc(n + 1, sizeof(bool));
	for (i = 0; i < n; i++)
		p->removed[i] = SIZE_MAX;
	if (!n)
		return;
	run_pass(p);
	if (kl_git_head_tree(p->repo, &head, &err) == 0 && head)
		mark_in_head(p, head);
	kl_error_clear(&err);
	for (i = p->start; i < p->r->findings.len; i++)
		fill_finding(p, i);
	git_tree_free(head);
}
