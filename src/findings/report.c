/*
 * Owns the kl_report life cycle: a scan's findings, notices, missing
 * objects and counters, and merging worker reports into one. Sources,
 * policy checks and the verifier fill a kl_report; reporters only read it.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void kl_report_init(kl_report *r, const char *command, const char *target,
		    const kl_ruleset *rules)
{
	memset(r, 0, sizeof(*r));
	r->command = command;
	r->target = target;
	r->rules = rules;
}

static void grow_notices(kl_report *r, size_t extra)
{
	size_t need = r->n_notices + extra;

	if (need <= r->cap_notices)
		return;
	if (need < r->cap_notices * 2)
		need = r->cap_notices * 2;
	if (need < 16)
		need = 16;
	r->notices = kl_xrealloc(r->notices, need * sizeof(*r->notices));
	r->cap_notices = need;
}

void kl_report_notice(kl_report *r, kl_notice_kind kind, const char *path,
		      const char *fmt, ...)
{
	kl_buf msg = KL_BUF_INIT;
	kl_notice *n;
	va_list ap;

	grow_notices(r, 1);
	n = &r->notices[r->n_notices++];
	n->kind = kind;
	n->path = kl_xstrdup_or_null(path);
	va_start(ap, fmt);
	kl_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	n->message = kl_buf_detach(&msg);
}

static void free_notices(kl_report *r)
{
	size_t i;

	for (i = 0; i < r->n_notices; i++) {
		free(r->notices[i].path);
		free(r->notices[i].message);
	}
	free(r->notices);
	r->notices = NULL;
	r->n_notices = r->cap_notices = 0;
}

void kl_report_missing(kl_report *r, const char *id, const char *type,
		       const char *path, const char *commit)
{
	kl_missing_obj *m;

	if (r->n_missing == r->cap_missing) {
		r->cap_missing = r->cap_missing ? r->cap_missing * 2 : 16;
		r->missing = kl_xrealloc(r->missing,
					 r->cap_missing * sizeof(*m));
	}
	m = &r->missing[r->n_missing++];
	m->id = kl_xstrdup(id);
	m->type = kl_xstrdup(type);
	m->path = kl_xstrdup_or_null(path);
	m->commit = kl_xstrdup_or_null(commit);
}

static void free_missing(kl_report *r)
{
	size_t i;

	for (i = 0; i < r->n_missing; i++) {
		free(r->missing[i].id);
		free(r->missing[i].type);
		free(r->missing[i].path);
		free(r->missing[i].commit);
	}
	free(r->missing);
	r->missing = NULL;
	r->n_missing = r->cap_missing = 0;
}

/* Workers' missing objects join the main report's list. */
static void move_missing(kl_report *dst, kl_report *src)
{
	size_t i;

	for (i = 0; i < src->n_missing; i++) {
		kl_missing_obj *m = &src->missing[i];

		kl_report_missing(dst, m->id, m->type, m->path, m->commit);
	}
	free_missing(src);
}

void kl_report_free(kl_report *r)
{
	if (!r)
		return;
	kl_findings_free(&r->findings);
	free_notices(r);
	free_missing(r);
	free(r->config_path);
	free(r->baseline_path);
	r->config_path = r->baseline_path = NULL;
	free(r->head);
	free(r->branch);
	free(r->remote);
	free(r->refs);
	free(r->options);
	r->head = r->branch = r->remote = r->refs = r->options = NULL;
}

static void move_findings(kl_findings *dst, kl_findings *src)
{
	size_t need = dst->len + src->len;

	if (!src->len)
		goto done;
	if (need > dst->cap) {
		dst->items = kl_xrealloc(dst->items, need * sizeof(*dst->items));
		dst->cap = need;
	}
	memcpy(dst->items + dst->len, src->items,
	       src->len * sizeof(*src->items));
	dst->len = need;
done:
	free(src->items);
	memset(src, 0, sizeof(*src));
}

static void add_summary(kl_summary *d, kl_summary *s)
{
	d->files_scanned += s->files_scanned;
	d->bytes_scanned += s->bytes_scanned;
	d->skipped_binary += s->skipped_binary;
	d->skipped_too_large += s->skipped_too_large;
	d->skipped_lfs += s->skipped_lfs;
	d->skipped_other += s->skipped_other;
	d->unreadable += s->unreadable;
	d->suppressed += s->suppressed;
	d->baselined += s->baselined;
	d->commits_scanned += s->commits_scanned;
	d->limit_hits += s->limit_hits;
	d->missing_objects += s->missing_objects;
	memset(s, 0, sizeof(*s));
}

void kl_report_merge(kl_report *dst, kl_report *src)
{
	move_findings(&dst->findings, &src->findings);
	if (src->n_notices) {
		grow_notices(dst, src->n_notices);
		memcpy(dst->notices + dst->n_notices, src->notices,
		       src->n_notices * sizeof(*src->notices));
		dst->n_notices += src->n_notices;
	}
	free(src->notices);
	src->notices = NULL;
	src->n_notices = src->cap_notices = 0;
	add_summary(&dst->summary, &src->summary);
	move_missing(dst, src);
	dst->incomplete |= src->incomplete;
	dst->shallow |= src->shallow;
	src->incomplete = src->shallow = false;
}
