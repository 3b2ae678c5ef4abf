/*
 * Owns the step every source shares: content in, findings out. Classifies
 * the content (size, binary, LFS, UTF-16), counts it, runs the engine and
 * records findings and suppressions, so no source can forget a count.
 * kl_scan_content, which adds the decoding and archive stages on top, is
 * in unpack.c.
 */
#include <fnmatch.h>
#include <string.h>

#include "internal.h"

static void skip(const kl_scan_opts *o, kl_report *r, const char *path,
		 uint64_t *counter, const char *why)
{
	(*counter)++;
	if (o->verbose)
		kl_report_notice(r, KL_NOTICE_SKIPPED, path, "%s", why);
}

void kl_skip_too_large(const kl_scan_opts *o, kl_report *r, const char *path,
		       uint64_t size)
{
	r->summary.skipped_too_large++;
	kl_report_notice(r, o->verbose ? KL_NOTICE_SKIPPED : KL_NOTICE_WARNING,
			 path, "skipped: %llu bytes, over --max-file-size",
			 (unsigned long long)size);
}

const char *kl_content_prepare(const kl_scan_opts *o, kl_report *r,
			       const char *path, const char *data,
			       size_t *len, kl_buf *tmp)
{
	if (o->max_file_size && *len > o->max_file_size) {
		kl_skip_too_large(o, r, path, *len);
		return NULL;
	}
	if (kl_content_is_lfs_pointer(data, *len)) {
		skip(o, r, path, &r->summary.skipped_lfs,
		     "Git LFS pointer (content not in the repository)");
		return NULL;
	}
	if (kl_content_utf16_to_utf8(data, *len, tmp)) {
		data = tmp->data;
		*len = tmp->len;
	} else if (kl_content_is_binary(data, *len)) {
		skip(o, r, path, &r->summary.skipped_binary, "binary");
		return NULL;
	}
	r->summary.files_scanned++;
	r->summary.bytes_scanned += *len;
	return data;
}

size_t kl_add_matches(kl_report *r, const char *path, const char *data,
		      const kl_matches *m)
{
	size_t i, added = 0;

	for (i = 0; i < m->len; i++) {
		if (m->items[i].suppressed) {
			r->summary.suppressed++;
			continue;
		}
		kl_findings_add_match(&r->findings, path, data, &m->items[i]);
		added++;
	}
	return added;
}

void kl_note_limits(kl_report *r, const char *path, const kl_strlist *limits)
{
	size_t i;

	for (i = 0; i < limits->len; i++) {
		r->summary.limit_hits++;
		kl_report_notice(r, KL_NOTICE_WARNING, path,
				 "rule %s hit its regex match limit; "
				 "this file may hide matches of it",
				 limits->items[i]);
	}
}

bool kl_path_skipped(const kl_scan_opts *o, const char *path)
{
	size_t i;

	if (!o->skip_globs)
		return false;
	for (i = 0; i < o->skip_globs->len; i++) {
		const char *g = o->skip_globs->items[i];

		if (fnmatch(g, path, 0) == 0)
			return true;
		/* a directory pattern: skip everything below. */
		if (fnmatch(g, path, FNM_LEADING_DIR) == 0)
			return true;
	}
	return false;
}
