/*
 * Owns the commit graph: which commits a history scan selects (tips minus
 * hidden ancestors), shallow boundaries, missing commits, and the
 * deterministic oldest-first topological order every later pass uses.
 */
#include <stdlib.h>
#include <string.h>

#include "sources/git/missing.h"
#include "sources/git/walk.h"

static void read_shallow_file(kl_cgraph *g)
{
	kl_buf path = KL_BUF_INIT;
	char line[128];
	git_oid id;
	FILE *f;

	kl_buf_puts(&path, git_repository_commondir(g->repo));
	kl_buf_puts(&path, "shallow");
	f = fopen(path.data, "r");
	kl_buf_free(&path);
	if (!f)
		return;
	/* Lines are exactly one hex id; anything else is ignored. */
	while (fgets(line, sizeof(line), f))
		if (git_oid_fromstrn(&id, line, GIT_OID_HEXSZ) == 0)
			kl_oidmap_put(&g->shallow, &id, 0);
	fclose(f);
}

void kl_cgraph_init(kl_cgraph *g, git_repository *repo, kl_report *r)
{
	memset(g, 0, sizeof(*g));
	g->repo = repo;
	g->report = r;
	g->is_shallow = git_repository_is_shallow(repo) == 1;
	if (g->is_shallow)
		read_shallow_file(g);
}

void kl_cgraph_free(kl_cgraph *g)
{
	size_t i;

	for (i = 0; i < g->len; i++)
		free(g->nodes[i].parents);
	free(g->nodes);
	free(g->order);
	kl_oidmap_free(&g->index);
	kl_oidmap_free(&g->shallow);
	memset(g, 0, sizeof(*g));
}

static size_t node_get(kl_cgraph *g, const git_oid *id)
{
	size_t i = kl_oidmap_get(&g->index, id);

	if (i != SIZE_MAX)
		return i;
	if (g->len == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		g->nodes = kl_xrealloc(g->nodes, g->cap * sizeof(*g->nodes));
	}
	i = g->len++;
	memset(&g->nodes[i], 0, sizeof(g->nodes[i]));
	git_oid_cpy(&g->nodes[i].oid, id);
	kl_oidmap_put(&g->index, id, i);
	return i;
}

static void node_load(kl_cgraph *g, size_t i)
{
	git_commit *c;
	git_oid id;
	size_t k, n;
	int rc;

	g->nodes[i].flags |= KL_CN_LOADED;
	git_oid_cpy(&id, &g->nodes[i].oid);
	rc = git_commit_lookup(&c, g->repo, &id);
	if (rc < 0) {
		g->nodes[i].flags |= KL_CN_MISSING;
		if (rc == GIT_ENOTFOUND)
			kl_git_obj_missing(g->report, &id, "commit", NULL, NULL);
		else
			kl_git_obj_error(g->report, &id, "cannot read commit");
		return;
	}
	g->nodes[i].time = (int64_t)git_commit_time(c);
	git_oid_cpy(&g->nodes[i].tree, git_commit_tree_id(c));
	if (kl_oidmap_get(&g->shallow, &id) != SIZE_MAX) {
		/* Its parents were never fetched: a root for this scan. */
		g->nodes[i].flags |= KL_CN_BOUNDARY;
		git_commit_free(c);
		return;
	}
	n = git_commit_parentcount(c);
	g->nodes[i].parents = kl_xcalloc(n, sizeof(size_t));
	for (k = 0; k < n; k++) {
		size_t p = node_get(g, git_commit_parent_id(c, (unsigned)k));

		/* node_get may move g->nodes: index again. */
		g->nodes[i].parents[k] = p;
	}
	g->nodes[i].n_parents = n;
	git_commit_free(c);
}

static bool walk_stops(const kl_cnode *n, unsigned flag)
{
	if (n->flags & flag)
		return true;
	return flag == KL_CN_SELECTED && (n->flags & KL_CN_HIDDEN);
}

void kl_cgraph_mark(kl_cgraph *g, const git_oid *tips, size_t n,
		    unsigned flag)
{
	size_t *stack = NULL, len = 0, cap = 0, i, k;

	for (i = 0; i < n; i++) {
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			stack = kl_xrealloc(stack, cap * sizeof(*stack));
		}
		stack[len++] = node_get(g, &tips[i]);
	}
	while (len) {
		size_t cur = stack[--len];

		if (walk_stops(&g->nodes[cur], flag))
			continue;
		g->nodes[cur].flags |= flag;
		if (!(g->nodes[cur].flags & KL_CN_LOADED))
			node_load(g, cur);
		for (k = 0; k < g->nodes[cur].n_parents; k++) {
			if (len == cap) {
				cap = cap ? cap * 2 : 64;
				stack = kl_xrealloc(stack, cap * sizeof(*stack));
			}
			stack[len++] = g->nodes[cur].parents[k];
		}
	}
	free(stack);
}

/* ------------------------------------------------ topological order */

/* Selected, readable commits not placed in the order yet. */
static bool in_order(const kl_cnode *n)
{
	return (n->flags & KL_CN_SELECTED) &&
	       !(n->flags & (KL_CN_HIDDEN | KL_CN_MISSING | KL_CN_ORDERED));
}

static bool heap_less(const kl_cgraph *g, size_t a, size_t b)
{
	if (g->nodes[a].time != g->nodes[b].time)
		return g->nodes[a].time < g->nodes[b].time;
	return git_oid_cmp(&g->nodes[a].oid, &g->nodes[b].oid) < 0;
}

static void heap_push(const kl_cgraph *g, size_t *heap, size_t *len, size_t v)
{
	size_t i = (*len)++;

	heap[i] = v;
	while (i && heap_less(g, heap[i], heap[(i - 1) / 2])) {
		size_t p = (i - 1) / 2, t = heap[p];

		heap[p] = heap[i];
		heap[i] = t;
		i = p;
	}
}

static size_t heap_pop(const kl_cgraph *g, size_t *heap, size_t *len)
{
	size_t top = heap[0], i = 0;

	heap[0] = heap[--(*len)];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i, t;

		if (l < *len && heap_less(g, heap[l], heap[m]))
			m = l;
		if (r < *len && heap_less(g, heap[r], heap[m]))
			m = r;
		if (m == i)
			break;
		t = heap[m];
		heap[m] = heap[i];
		heap[i] = t;
		i = m;
	}
	return top;
}

/* Children of every ordered commit as one flat array (CSR layout). */
static void build_children(const kl_cgraph *g, size_t **start, size_t **kids,
			   size_t *indeg)
{
	size_t *fill, i, k;

	*start = kl_xcalloc(g->len + 1, sizeof(size_t));
	for (i = 0; i < g->len; i++) {
		if (!in_order(&g->nodes[i]))
			continue;
		for (k = 0; k < g->nodes[i].n_parents; k++) {
			size_t p = g->nodes[i].parents[k];

			if (in_order(&g->nodes[p])) {
				(*start)[p + 1]++;
				indeg[i]++;
			}
		}
	}
	for (i = 0; i < g->len; i++)
		(*start)[i + 1] += (*start)[i];
	*kids = kl_xcalloc((*start)[g->len] + 1, sizeof(size_t));
	fill = kl_xcalloc(g->len + 1, sizeof(size_t));
	for (i = 0; i < g->len; i++) {
		if (!in_order(&g->nodes[i]))
			continue;
		for (k = 0; k < g->nodes[i].n_parents; k++) {
			size_t p = g->nodes[i].parents[k];

			if (in_order(&g->nodes[p]))
				(*kids)[(*start)[p] + fill[p]++] = i;
		}
	}
	free(fill);
}

void kl_cgraph_sort(kl_cgraph *g)
{
	size_t *indeg = kl_xcalloc(g->len + 1, sizeof(size_t));
	size_t *heap = kl_xcalloc(g->len + 1, sizeof(size_t));
	size_t *start, *kids, hlen = 0, i, k;

	build_children(g, &start, &kids, indeg);
	/* Commits ordered by an earlier call keep their places; new ones
	 * (audit's unreachable commits) follow, still parents first. */
	g->order = kl_xrealloc(g->order, (g->len + 1) * sizeof(size_t));
	for (i = 0; i < g->len; i++)
		if (in_order(&g->nodes[i]) && indeg[i] == 0)
			heap_push(g, heap, &hlen, i);
	while (hlen) {
		size_t cur = heap_pop(g, heap, &hlen);

		g->nodes[cur].flags |= KL_CN_ORDERED;
		g->order[g->n_order++] = cur;
		for (k = start[cur]; k < start[cur + 1]; k++)
			if (--indeg[kids[k]] == 0)
				heap_push(g, heap, &hlen, kids[k]);
	}
	free(indeg);
	free(heap);
	free(start);
	free(kids);
}

bool kl_cgraph_hits_boundary(const kl_cgraph *g)
{
	size_t i;

	for (i = 0; i < g->n_order; i++)
		if (g->nodes[g->order[i]].flags & KL_CN_BOUNDARY)
			return true;
	return false;
}

const git_oid *kl_cgraph_base_tree(const kl_cgraph *g, size_t node)
{
	const kl_cnode *n = &g->nodes[node];
	const kl_cnode *p;

	if (!n->n_parents)
		return NULL;
	p = &g->nodes[n->parents[0]];
	if (!(p->flags & KL_CN_LOADED) || (p->flags & KL_CN_MISSING))
		return NULL;
	return &p->tree;
}

/* ------------------------------------- new commits, bounded by dates */

/* A max-heap of node indices by commit time: the newest comes first. */
typedef struct tqueue {
	size_t *v;
	size_t len, cap;
	size_t interesting; /* queued nodes not HIDDEN */
} tqueue;

static void tq_push(kl_cgraph *g, tqueue *q, size_t node)
{
	size_t i;

	if (q->len == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->v = kl_xrealloc(q->v, q->cap * sizeof(size_t));
	}
	i = q->len++;
	q->v[i] = node;
	/* heap_less orders oldest first: swap its arguments for newest. */
	while (i && heap_less(g, q->v[(i - 1) / 2], q->v[i])) {
		size_t p = (i - 1) / 2, t = q->v[p];

		q->v[p] = q->v[i];
		q->v[i] = t;
		i = p;
	}
	g->nodes[node].flags |= KL_CN_QUEUED;
	if (!(g->nodes[node].flags & KL_CN_HIDDEN))
		q->interesting++;
}

static size_t tq_pop(kl_cgraph *g, tqueue *q)
{
	size_t top = q->v[0], i = 0;

	q->v[0] = q->v[--q->len];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i, t;

		if (l < q->len && heap_less(g, q->v[m], q->v[l]))
			m = l;
		if (r < q->len && heap_less(g, q->v[m], q->v[r]))
			m = r;
		if (m == i)
			break;
		t = q->v[m];
		q->v[m] = q->v[i];
		q->v[i] = t;
		i = m;
	}
	g->nodes[top].flags &= ~(unsigned)KL_CN_QUEUED;
	if (!(g->nodes[top].flags & KL_CN_HIDDEN))
		q->interesting--;
	return top;
}

/* Load and queue a node met for the first time. */
static void tq_visit(kl_cgraph *g, tqueue *q, size_t node)
{
	unsigned f = g->nodes[node].flags;

	if (f & (KL_CN_QUEUED | KL_CN_POPPED))
		return;
	if (!(f & KL_CN_LOADED))
		node_load(g, node);
	if (g->nodes[node].flags & KL_CN_MISSING) {
		g->nodes[node].flags |= KL_CN_POPPED;
		return;
	}
	tq_push(g, q, node);
}

void kl_cgraph_push_parents(const kl_cnode *n, size_t **stack, size_t *len,
			    size_t *cap)
{
	size_t k;

	for (k = 0; k < n->n_parents; k++) {
		if (*len == *cap) {
			*cap *= 2;
			*stack = kl_xrealloc(*stack, *cap * sizeof(size_t));
		}
		(*stack)[(*len)++] = n->parents[k];
	}
}

/* Hide node and, through commits already popped, its ancestors; queued
 * or new ones carry the mark until they are popped. */
static void tq_hide(kl_cgraph *g, tqueue *q, size_t node)
{
	size_t *stack = kl_xmalloc(sizeof(size_t)), len = 1, cap = 1;

	stack[0] = node;
	while (len) {
		size_t cur = stack[--len];
		kl_cnode *n = &g->nodes[cur];

		if (n->flags & KL_CN_HIDDEN)
			continue;
		n->flags |= KL_CN_HIDDEN;
		if (n->flags & KL_CN_QUEUED) {
			q->interesting--;
			continue;
		}
		if (!(n->flags & KL_CN_POPPED)) {
			tq_visit(g, q, cur);
			continue;
		}
		kl_cgraph_push_parents(n, &stack, &len, &cap);
	}
	free(stack);
}

/* Commits popped after only hidden ones remain: git's "slop" against
 * committer dates that go backwards. */
#define SKEW_SLOP 5

void kl_cgraph_select_new(kl_cgraph *g, const git_oid *tips, size_t n_tips,
			  const git_oid *hides, size_t n_hides)
{
	tqueue q = { 0 };
	size_t i, k, slop = SKEW_SLOP;

	for (i = 0; i < n_hides; i++)
		tq_hide(g, &q, node_get(g, &hides[i]));
	for (i = 0; i < n_tips; i++) {
		size_t n = node_get(g, &tips[i]);

		g->nodes[n].flags |= KL_CN_SELECTED;
		tq_visit(g, &q, n);
	}
	while (q.len && slop) {
		size_t cur = tq_pop(g, &q);
		kl_cnode *n = &g->nodes[cur];

		n->flags |= KL_CN_POPPED;
		for (k = 0; k < g->nodes[cur].n_parents; k++) {
			size_t p = g->nodes[cur].parents[k];

			if (g->nodes[cur].flags & KL_CN_HIDDEN) {
				tq_hide(g, &q, p);
			} else {
				g->nodes[p].flags |= KL_CN_SELECTED;
				tq_visit(g, &q, p);
			}
		}
		slop = q.interesting ? SKEW_SLOP : slop - 1;
	}
	free(q.v);
}

uint64_t kl_path_hash(const char *path)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *path; path++)
		h = (h ^ (unsigned char)*path) * 0x100000001b3ull;
	return h;
}

void kl_pathchanges_add(kl_pathchanges *c, size_t node, uint64_t path_hash)
{
	if (c->len == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 256;
		c->v = kl_xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	c->v[c->len++] = (kl_pathchange){ node, path_hash };
}
