/*
 * Owns "only what is added": for each delta of a diff, scan the new blob
 * once, and keep the matches whose line the diff marks as added (compared
 * with the old blob, and with every other parent for merges).
 */
#include <stdlib.h>
#include <string.h>

#include "sources/git/diffscan.h"
#include "sources/git/missing.h"

/* Sorted 1-based line numbers of added lines. */
typedef struct lineset {
	size_t *lines;
	size_t len, cap;
} lineset;

static void lineset_add(lineset *s, size_t line)
{
	if (s->len == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->lines = kl_xrealloc(s->lines, s->cap * sizeof(size_t));
	}
	s->lines[s->len++] = line;
}

static bool lineset_has(const lineset *s, size_t line)
{
	size_t lo = 0, hi = s->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->lines[mid] == line)
			return true;
		if (s->lines[mid] < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int kl_diffscan_init(kl_diffscan *d, git_repository *repo,
		     const kl_scan_opts *o, kl_report *r, kl_error *err)
{
	memset(d, 0, sizeof(*d));
	d->repo = repo;
	d->o = o;
	d->r = r;
	if (git_repository_odb(&d->odb, repo) < 0) {
		kl_error_set(err, "cannot open the object database: %s",
			     kl_git_lasterr());
		return -1;
	}
	d->sc = kl_scanner_new(o->rules);
	if (o->allow)
		kl_scanner_set_allowlist(d->sc, o->allow);
	return 0;
}

void kl_diffscan_free(kl_diffscan *d)
{
	git_odb_free(d->odb);
	kl_scanner_free(d->sc);
	memset(d, 0, sizeof(*d));
}

int kl_diffscan_find_renames(git_diff *diff)
{
	git_diff_find_options fo;

	/* The INIT macros trip -Wmissing-field-initializers. */
	git_diff_find_options_init(&fo, GIT_DIFF_FIND_OPTIONS_VERSION);
	fo.flags = GIT_DIFF_FIND_RENAMES;
	return git_diff_find_similar(diff, &fo);
}

/* Lines of new that a 0-context text diff from old marks as added. Old is
 * transcoded like new was, so UTF-16 files compare line for line. */
static int added_lines(const char *old, size_t old_len, const char *new_data,
		       size_t new_len, lineset *out)
{
	git_diff_options opts;
	kl_buf utf8 = KL_BUF_INIT;
	git_patch *patch = NULL;
	size_t h, l, nh;

	git_diff_options_init(&opts, GIT_DIFF_OPTIONS_VERSION);
	opts.context_lines = 0;
	opts.flags = GIT_DIFF_FORCE_TEXT;
	if (old && kl_content_utf16_to_utf8(old, old_len, &utf8)) {
		old = utf8.data;
		old_len = utf8.len;
	}
	if (git_patch_from_buffers(&patch, old, old_len, NULL, new_data,
				   new_len, NULL, &opts) < 0) {
		kl_buf_free(&utf8);
		return -1;
	}
	nh = git_patch_num_hunks(patch);
	for (h = 0; h < nh; h++) {
		int nl = git_patch_num_lines_in_hunk(patch, h);

		for (l = 0; nl > 0 && l < (size_t)nl; l++) {
			const git_diff_line *line;

			if (git_patch_get_line_in_hunk(&line, patch, h, l) == 0 &&
			    line->origin == GIT_DIFF_LINE_ADDITION)
				lineset_add(out, (size_t)line->new_lineno);
		}
	}
	git_patch_free(patch);
	kl_buf_free(&utf8);
	return 0;
}

/* Lines of data that the blob old_id does not have. */
static int old_added(kl_diffscan *d, const git_oid *old_id, const char *data,
		     size_t len, lineset *added)
{
	git_blob *old = NULL;
	int rc;

	kl_git_fetch_absent(d->repo, d->odb, d->promisor, old_id);
	rc = git_blob_lookup(&old, d->repo, old_id);
	if (rc == GIT_ENOTFOUND) {
		kl_git_obj_missing(d->r, old_id, "blob", NULL, NULL);
		return -1;
	}
	if (rc < 0) {
		kl_git_obj_error(d->r, old_id, "cannot read blob");
		return -1;
	}
	rc = added_lines(git_blob_rawcontent(old), (size_t)git_blob_rawsize(old),
			 data, len, added);
	git_blob_free(old);
	if (rc < 0) {
		kl_git_obj_error(d->r, old_id, "cannot diff blob");
		free(added->lines);
		return -1;
	}
	return 0;
}

/* Drop matches whose line old already had. */
static int keep_added(kl_diffscan *d, const git_oid *old_id,
		      const char *data, size_t len, kl_matches *m)
{
	lineset added = { 0 };
	size_t i, kept = 0;

	if (old_added(d, old_id, data, len, &added) < 0)
		return -1;
	for (i = 0; i < m->len; i++)
		if (lineset_has(&added, m->items[i].line))
			m->items[kept++] = m->items[i];
	m->len = kept;
	free(added.lines);
	return 0;
}

/* The same for findings from, made from decoded spans: keep those on a
 * line that is new relative to every old version. */
static void keep_new_findings(kl_diffscan *d, const git_oid *new_id,
			      const git_oid *olds, size_t n_olds,
			      const char *data, size_t len, size_t from)
{
	kl_findings *fs = &d->r->findings;
	size_t k, i, kept;

	for (k = 0; k < n_olds && fs->len > from; k++) {
		lineset added = { 0 };
		bool same = git_oid_equal(&olds[k], new_id);

		if (!same && old_added(d, &olds[k], data, len, &added) < 0)
			return;
		for (i = kept = from; i < fs->len; i++) {
			if (!same && lineset_has(&added, fs->items[i].line))
				fs->items[kept++] = fs->items[i];
			else
				kl_finding_clear(&fs->items[i]);
		}
		fs->len = kept;
		free(added.lines);
	}
}

/* Keep only matches on lines new relative to every old version. */
static int keep_new(kl_diffscan *d, const git_oid *new_id, const git_oid *olds,
		    size_t n_olds, const char *data, size_t len, kl_matches *m)
{
	size_t k;

	for (k = 0; k < n_olds && m->len; k++) {
		if (git_oid_equal(&olds[k], new_id))
			m->len = 0; /* unchanged relative to that version */
		else if (keep_added(d, &olds[k], data, len, m) < 0)
			return -1;
	}
	return 0;
}

static void tag_blob(kl_report *r, size_t from, const git_oid *blob)
{
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;

	git_oid_tostr(hex, sizeof(hex), blob);
	for (i = from; i < r->findings.len; i++) {
		free(r->findings.items[i].blob);
		r->findings.items[i].blob = kl_xstrdup(hex);
	}
}

/* Scan one blob (already loaded) and add its new matches. */
static size_t scan_loaded(kl_diffscan *d, const char *path,
			  const git_oid *new_id, const git_oid *olds,
			  size_t n_olds, const char *raw, size_t raw_len)
{
	kl_matches m = { 0 };
	kl_strlist limit = { 0 };
	kl_buf tmp = KL_BUF_INIT;
	size_t len = raw_len, before = d->r->findings.len, added = 0, from;
	const char *data;

	/* An archive's members are scanned whole: a binary has no lines. */
	if (kl_scan_archive(d->sc, d->o, d->r, path, raw, raw_len, &added)) {
		tag_blob(d->r, before, new_id);
		return added;
	}
	data = kl_content_prepare(d->o, d->r, path, raw, &len, &tmp);
	if (!data)
		goto out;
	kl_scan_buffer(d->sc, data, len, &m, &limit);
	kl_note_limits(d->r, path, &limit);
	/* Diffing costs more than scanning: only diff files with matches. */
	if (m.len && keep_new(d, new_id, olds, n_olds, data, len, &m) < 0)
		goto out;
	if (m.len)
		added = kl_add_matches(d->r, path, data, &m);
	from = d->r->findings.len;
	if (kl_scan_decoded(d->sc, d->o, d->r, path, data, len)) {
		keep_new_findings(d, new_id, olds, n_olds, data, len, from);
		added += d->r->findings.len - from;
	}
	tag_blob(d->r, before, new_id);
out:
	kl_matches_free(&m);
	kl_strlist_free(&limit);
	kl_buf_free(&tmp);
	return added;
}

size_t kl_diffscan_blob(kl_diffscan *d, const char *path, const git_oid *new_id,
			uint32_t mode, const git_oid *olds, size_t n_olds)
{
	git_blob *blob;
	size_t n;

	if (kl_path_skipped(d->o, path))
		return 0;
	if (mode == GIT_FILEMODE_COMMIT) {
		d->r->summary.skipped_other++;
		if (d->o->verbose)
			kl_report_notice(d->r, KL_NOTICE_SKIPPED, path,
					 "submodule: not scanned");
		return 0;
	}
	kl_git_fetch_absent(d->repo, d->odb, d->promisor, new_id);
	if (kl_git_blob_check(d->odb, new_id, d->o, d->r, path))
		return 0;
	if (git_blob_lookup(&blob, d->repo, new_id) < 0) {
		kl_git_obj_error(d->r, new_id, "cannot read blob");
		return 0;
	}
	n = scan_loaded(d, path, new_id, olds, n_olds, git_blob_rawcontent(blob),
			(size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	return n;
}

static bool delta_adds_content(const git_diff_delta *delta)
{
	switch (delta->status) {
	case GIT_DELTA_ADDED:
	case GIT_DELTA_MODIFIED:
	case GIT_DELTA_RENAMED:
	case GIT_DELTA_COPIED:
	case GIT_DELTA_TYPECHANGE:
		return true;
	default:
		return false;
	}
}

/*
 * The versions a delta's new blob is compared with: the old side, and for
 * a merge the blob at that path in every other parent (a parent without
 * the file constrains nothing).
 */
static size_t scan_delta(kl_diffscan *d, const git_diff_delta *delta,
			 git_tree *const *others, size_t n_others)
{
	git_oid *olds = kl_xcalloc(n_others + 1, sizeof(git_oid));
	size_t n_olds = 0, k, n;

	if (!delta_adds_content(delta)) {
		free(olds);
		return 0;
	}
	if (delta->status != GIT_DELTA_ADDED &&
	    !git_oid_is_zero(&delta->old_file.id) &&
	    delta->old_file.mode != GIT_FILEMODE_COMMIT)
		git_oid_cpy(&olds[n_olds++], &delta->old_file.id);
	for (k = 0; k < n_others; k++) {
		git_tree_entry *e = NULL;

		if (git_tree_entry_bypath(&e, others[k], delta->new_file.path) == 0 &&
		    git_tree_entry_type(e) == GIT_OBJECT_BLOB)
			git_oid_cpy(&olds[n_olds++], git_tree_entry_id(e));
		git_tree_entry_free(e);
	}
	n = kl_diffscan_blob(d, delta->new_file.path, &delta->new_file.id,
			     delta->new_file.mode, olds, n_olds);
	free(olds);
	return n;
}

size_t kl_diffscan_run(kl_diffscan *d, git_diff *diff, git_tree *const *others,
		       size_t n_others)
{
	size_t i, n = git_diff_num_deltas(diff), added = 0;

	for (i = 0; i < n; i++)
		added += scan_delta(d, git_diff_get_delta(diff, i), others,
				    n_others);
	return added;
}
