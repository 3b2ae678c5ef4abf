/*
 * Owns what a push adds, for `keyleak pre-receive` (server) and
 * `keyleak pre-push` (client): parsing the ref updates git's hook
 * protocols give on stdin, choosing the commits reachable from the new
 * tips and from no ref the receiving side already has (`git rev-list NEW
 * --not --all`), and naming, for each finding, the refs that bring it.
 * The commits go through the history range scan (only the lines each adds,
 * each commit once however many refs share it); annotated tags' messages
 * and objects a ref names directly are scanned here.
 */
#include <stdlib.h>
#include <string.h>

#include "sources/history.h"
#include "sources/receive.h"

/* ------------------------------------------------------------ parsing */

static int parse_oid(const char *s, size_t n, git_oid *out)
{
	size_t i;

	if (n != GIT_OID_HEXSZ)
		return -1;
	for (i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return -1;
	return git_oid_fromstrn(out, s, n);
}

/* Split line (not NUL-terminated) at single spaces into want fields. */
static size_t split(const char *line, size_t len, const char **f, size_t *flen,
		    size_t want)
{
	size_t n = 0, i, start = 0;

	for (i = 0; i <= len && n < want + 1; i++) {
		if (i < len && line[i] != ' ')
			continue;
		f[n] = line + start;
		flen[n++] = i - start;
		start = i + 1;
	}
	return n;
}

static int parse_line(kl_push *p, const char *line, size_t len, bool client,
		      size_t lineno, kl_error *err)
{
	const char *f[5];
	size_t fl[5], want = client ? 4 : 3;
	kl_ref_update u;
	int bad;

	memset(&u, 0, sizeof(u));
	if (split(line, len, f, fl, want) != want) {
		kl_error_set(err, "stdin line %zu: expected %s", lineno, client
			     ? "<local-ref> <local-oid> <remote-ref> <remote-oid>"
			     : "<old-oid> <new-oid> <refname>");
		return -1;
	}
	if (client)
		bad = parse_oid(f[1], fl[1], &u.new_id) ||
		      parse_oid(f[3], fl[3], &u.old_id) || !fl[0] || !fl[2];
	else
		bad = parse_oid(f[0], fl[0], &u.old_id) ||
		      parse_oid(f[1], fl[1], &u.new_id) || !fl[2];
	if (bad) {
		kl_error_set(err, "stdin line %zu: expected 40-digit hex object "
			     "ids and a ref name (SHA-256 repositories are not "
			     "supported)", lineno);
		return -1;
	}
	u.ref = kl_xstrndup(f[2], fl[2]);
	u.local_ref = client ? kl_xstrndup(f[0], fl[0]) : NULL;
	p->v = kl_xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	p->v[p->n++] = u;
	return 0;
}

int kl_push_parse(kl_push *p, const char *text, size_t len, bool client,
		  kl_error *err)
{
	size_t pos = 0, lineno = 0;

	memset(p, 0, sizeof(*p));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t raw = nl ? (size_t)(nl - (text + pos)) : len - pos;
		size_t n = raw;

		lineno++;
		if (n && text[pos + n - 1] == '\r')
			n--;
		if (n && parse_line(p, text + pos, n, client, lineno, err) < 0) {
			kl_push_free(p);
			return -1;
		}
		pos += raw + (nl ? 1 : 0);
	}
	return 0;
}

static bool env_oid(const char *name, git_oid *out)
{
	const char *v = getenv(name);

	return v && parse_oid(v, strlen(v), out) == 0;
}

bool kl_push_from_pre_commit(kl_push *p)
{
	const char *local = getenv("PRE_COMMIT_LOCAL_BRANCH");
	const char *remote = getenv("PRE_COMMIT_REMOTE_BRANCH");
	kl_ref_update u;

	if (!local || !*local || !remote || !*remote)
		return false;
	memset(&u, 0, sizeof(u));
	u.ref = kl_xstrdup(remote);
	u.local_ref = kl_xstrdup(local);
	u.new_is_local_ref = !env_oid("PRE_COMMIT_TO_REF", &u.new_id);
	env_oid("PRE_COMMIT_FROM_REF", &u.old_id);
	p->v = kl_xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	p->v[p->n++] = u;
	return true;
}

void kl_push_free(kl_push *p)
{
	size_t i;

	for (i = 0; i < p->n; i++) {
		free(p->v[i].ref);
		free(p->v[i].local_ref);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* ------------------------------------------------- what the push adds */

/* An object a ref names that is not a commit's history: an annotated
 * tag (its message is scanned) or a blob or tree (scanned whole). */
typedef struct extra {
	size_t update;
	git_oid id;
	git_object_t type;
} extra;

typedef struct push_scan {
	kl_hist h;
	const kl_push *p;
	const kl_push_opts *po;
	git_oid *tips, *hides;
	size_t n_tips, n_hides;
	size_t *tip_of;      /* per update: index into tips, or SIZE_MAX */
	extra *extras;
	size_t n_extras;
	kl_scanner *sc;      /* for extras, made on first use */
} push_scan;

static void oids_add(git_oid **v, size_t *n, const git_oid *id)
{
	*v = kl_xrealloc(*v, (*n + 1) * sizeof(**v));
	git_oid_cpy(&(*v)[(*n)++], id);
}

static void extra_add(push_scan *s, size_t update, const git_oid *id,
		      git_object_t type)
{
	s->extras = kl_xrealloc(s->extras, (s->n_extras + 1) *
				sizeof(*s->extras));
	s->extras[s->n_extras].update = update;
	git_oid_cpy(&s->extras[s->n_extras].id, id);
	s->extras[s->n_extras++].type = type;
}

/* Whether an existing ref points straight at id (a tag object the
 * receiving side already has: its message was scanned when it came). */
static bool ref_targets(push_scan *s, size_t update, const git_oid *id)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	bool found = false;

	if (s->po->client)
		return git_oid_equal(&s->p->v[update].old_id, id);
	if (git_reference_iterator_new(&it, s->h.repo) < 0)
		return false;
	while (!found && git_reference_next(&ref, it) == 0) {
		const git_oid *t = git_reference_target(ref);

		found = t && git_oid_equal(t, id);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	return found;
}

static int resolve_local(push_scan *s, const kl_ref_update *u, git_oid *out)
{
	git_object *obj = NULL;

	if (git_revparse_single(&obj, s->h.repo, u->local_ref) < 0) {
		kl_report_notice(s->h.r, KL_NOTICE_ERROR, u->local_ref,
				 "cannot resolve %s: %s", u->local_ref,
				 kl_git_lasterr());
		s->h.r->incomplete = true;
		return -1;
	}
	git_oid_cpy(out, git_object_id(obj));
	git_object_free(obj);
	return 0;
}

/* Follow update i's new id through tags to a commit (a tip), a blob or a
 * tree; tags on the way are scanned later. */
static void peel_update(push_scan *s, size_t i)
{
	git_object *obj = NULL;
	git_oid id;
	int depth;

	if (s->p->v[i].new_is_local_ref &&
	    resolve_local(s, &s->p->v[i], &id) < 0)
		return;
	else if (!s->p->v[i].new_is_local_ref)
		git_oid_cpy(&id, &s->p->v[i].new_id);
	for (depth = 0; depth < 64; depth++) {
		if (git_object_lookup(&obj, s->h.repo, &id, GIT_OBJECT_ANY) < 0) {
			kl_git_obj_error(s->h.r, &id, "cannot read pushed "
					 "object");
			return;
		}
		switch (git_object_type(obj)) {
		case GIT_OBJECT_TAG:
			if (!ref_targets(s, i, &id))
				extra_add(s, i, &id, GIT_OBJECT_TAG);
			git_oid_cpy(&id, git_tag_target_id((git_tag *)obj));
			break;
		case GIT_OBJECT_COMMIT:
			s->tip_of[i] = s->n_tips;
			oids_add(&s->tips, &s->n_tips, &id);
			git_object_free(obj);
			return;
		default:
			extra_add(s, i, &id, git_object_type(obj));
			git_object_free(obj);
			return;
		}
		git_object_free(obj);
		obj = NULL;
	}
	kl_report_notice(s->h.r, KL_NOTICE_ERROR, s->p->v[i].ref,
			 "tag chain deeper than 64: not scanned");
	s->h.r->incomplete = true;
}

/* What the receiving side already has. Server: every ref as it is before
 * the push (git has not moved any yet). Client: the remote's tracking
 * refs and the ids the remote says its refs have. */
static void collect_hides(push_scan *s)
{
	git_object *obj = NULL, *c = NULL;
	kl_buf glob = KL_BUF_INIT;
	size_t i;

	if (!s->po->client) {
		kl_hist_ref_tips(&s->h, NULL, &s->hides, &s->n_hides);
		return;
	}
	if (s->po->remote && *s->po->remote) {
		kl_buf_printf(&glob, "refs/remotes/%s/*", s->po->remote);
		kl_hist_ref_tips(&s->h, glob.data, &s->hides, &s->n_hides);
	}
	/* An id the remote has but this clone lacks hides nothing here. */
	for (i = 0; i < s->p->n; i++) {
		if (git_oid_is_zero(&s->p->v[i].old_id) ||
		    git_object_lookup(&obj, s->h.repo, &s->p->v[i].old_id,
				      GIT_OBJECT_ANY) < 0)
			continue;
		if (git_object_peel(&c, obj, GIT_OBJECT_COMMIT) == 0)
			oids_add(&s->hides, &s->n_hides, git_object_id(c));
		git_object_free(c);
		git_object_free(obj);
		c = obj = NULL;
	}
	git_error_clear();
	kl_buf_free(&glob);
}

/* ------------------------------------------------------------- extras */

static kl_scanner *scanner(push_scan *s)
{
	if (!s->sc) {
		s->sc = kl_scanner_new(s->h.o->rules);
		if (s->h.o->allow)
			kl_scanner_set_allowlist(s->sc, s->h.o->allow);
	}
	return s->sc;
}

static void tag_refs(kl_report *r, size_t from, const char *ref)
{
	size_t i;

	for (i = from; i < r->findings.len; i++)
		kl_strlist_push(&r->findings.items[i].refs, ref);
}

static void scan_blob(push_scan *s, const git_oid *id, const char *path)
{
	git_odb *odb = NULL;
	git_blob *b = NULL;

	if (git_repository_odb(&odb, s->h.repo) < 0) {
		kl_git_obj_error(s->h.r, id, "cannot read blob");
		return;
	}
	if (kl_git_blob_check(odb, id, s->h.o, s->h.r, path) == 0) {
		if (git_blob_lookup(&b, s->h.repo, id) < 0)
			kl_git_obj_error(s->h.r, id, "cannot read blob");
		else
			kl_scan_content(scanner(s), s->h.o, s->h.r, path,
					git_blob_rawcontent(b),
					(size_t)git_blob_rawsize(b));
	}
	git_blob_free(b);
	git_odb_free(odb);
}

typedef struct tree_ctx {
	push_scan *s;
	const char *ref;
} tree_ctx;

static int tree_entry(const char *root, const git_tree_entry *e, void *p)
{
	tree_ctx *t = p;
	kl_buf path = KL_BUF_INIT;

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return 0;
	kl_buf_printf(&path, "%s:%s%s", t->ref, root, git_tree_entry_name(e));
	scan_blob(t->s, git_tree_entry_id(e), path.data);
	kl_buf_free(&path);
	return 0;
}

static void scan_tag(push_scan *s, const extra *x, const char *ref)
{
	git_tag *tag = NULL;
	const char *msg;
	kl_buf path = KL_BUF_INIT;

	if (git_tag_lookup(&tag, s->h.repo, &x->id) < 0) {
		kl_git_obj_error(s->h.r, &x->id, "cannot read tag");
		return;
	}
	msg = git_tag_message(tag);
	kl_buf_printf(&path, "%s (tag message)", ref);
	if (msg)
		kl_scan_content(scanner(s), s->h.o, s->h.r, path.data, msg,
				strlen(msg));
	kl_buf_free(&path);
	git_tag_free(tag);
}

static void scan_extra(push_scan *s, const extra *x)
{
	const char *ref = s->p->v[x->update].ref;
	size_t before = s->h.r->findings.len;
	git_tree *tree = NULL;
	tree_ctx t = { s, ref };

	if (x->type == GIT_OBJECT_TAG) {
		scan_tag(s, x, ref);
	} else if (x->type == GIT_OBJECT_BLOB) {
		scan_blob(s, &x->id, ref);
	} else if (git_tree_lookup(&tree, s->h.repo, &x->id) < 0 ||
		   git_tree_walk(tree, GIT_TREEWALK_PRE, tree_entry, &t) < 0) {
		kl_git_obj_error(s->h.r, &x->id, "cannot read tree");
	}
	git_tree_free(tree);
	tag_refs(s->h.r, before, ref);
}

/* -------------------------------------------------------------- refs */

/* Mark in seen (one byte per graph node) the scanned commits tip
 * reaches. */
static void mark_reach(const kl_cgraph *g, size_t tip, unsigned char *seen)
{
	size_t *stack = kl_xmalloc(sizeof(size_t)), len = 1, cap = 1;

	stack[0] = tip;
	while (len) {
		size_t cur = stack[--len];
		const kl_cnode *n = &g->nodes[cur];

		if (seen[cur] || !(n->flags & KL_CN_ORDERED))
			continue;
		seen[cur] = 1;
		kl_cgraph_push_parents(n, &stack, &len, &cap);
	}
	free(stack);
}

static bool has_ref(const kl_strlist *l, const char *ref)
{
	size_t i;

	for (i = 0; i < l->len; i++)
		if (strcmp(l->items[i], ref) == 0)
			return true;
	return false;
}

/* Each history finding names the updates whose new commits carry it. */
static void name_refs(push_scan *s, size_t from, size_t to)
{
	kl_cgraph *g = &s->h.g;
	unsigned char *seen;
	size_t i, u, c;
	git_oid id;

	if (from == to || !g->len)
		return;
	seen = kl_xcalloc(s->p->n * g->len, 1);
	for (u = 0; u < s->p->n; u++)
		if (s->tip_of[u] != SIZE_MAX)
			mark_reach(g, kl_oidmap_get(&g->index,
						    &s->tips[s->tip_of[u]]),
				   seen + u * g->len);
	for (i = from; i < to; i++) {
		kl_finding *f = &s->h.r->findings.items[i];

		for (c = 0; c < f->prov.commits.len; c++) {
			size_t node;

			if (git_oid_fromstr(&id, f->prov.commits.items[c]) < 0 ||
			    (node = kl_oidmap_get(&g->index, &id)) == SIZE_MAX)
				continue;
			for (u = 0; u < s->p->n; u++)
				if (seen[u * g->len + node] &&
				    !has_ref(&f->refs, s->p->v[u].ref))
					kl_strlist_push(&f->refs, s->p->v[u].ref);
		}
	}
	free(seen);
}

/* ------------------------------------------------------------- driver */

static void push_scan_free(push_scan *s)
{
	free(s->tips);
	free(s->hides);
	free(s->tip_of);
	free(s->extras);
	kl_scanner_free(s->sc);
	kl_hist_free(&s->h);
}

int kl_src_push(const kl_push *p, const kl_push_opts *po,
		const kl_scan_opts *o, kl_report *r, kl_error *err)
{
	push_scan s;
	size_t i, hist_end;

	memset(&s, 0, sizeof(s));
	if (kl_hist_open(&s.h, po->repo, o, r, err) < 0)
		return -1;
	s.p = p;
	s.po = po;
	s.h.deadline = po->deadline;
	s.tip_of = kl_xmalloc((p->n + 1) * sizeof(size_t));
	collect_hides(&s);
	for (i = 0; i < p->n; i++) {
		s.tip_of[i] = SIZE_MAX;
		/* A deleted ref adds nothing. */
		if (!git_oid_is_zero(&p->v[i].new_id) ||
		    p->v[i].new_is_local_ref)
			peel_update(&s, i);
	}
	kl_hist_select_new(&s.h, s.tips, s.n_tips, s.hides, s.n_hides);
	kl_hist_scan(&s.h);
	hist_end = r->findings.len;
	name_refs(&s, s.h.start, hist_end);
	for (i = 0; i < s.n_extras; i++)
		scan_extra(&s, &s.extras[i]);
	kl_findings_sort(&r->findings);
	push_scan_free(&s);
	return 0;
}
