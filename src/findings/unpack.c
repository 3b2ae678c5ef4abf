/*
 * Owns the wiring of the stages between a source and the engine: archive
 * members scanned as files (src/archive/), decoded spans scanned as views
 * (src/decode/), and what their findings carry (member path, decodings,
 * the encoded span's place in the stored file). Limits hit become notices
 * and mark the report incomplete; the scan goes on.
 */
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"
#include "decode/decode.h"
#include "internal.h"

/* ------------------------------------------------------------ decoding */

/* 1-based line and column (code points) of an offset, moving forward. */
typedef struct cursor {
	const char *d;
	size_t pos, line, col;
} cursor;

static void cursor_to(cursor *c, size_t off)
{
	if (off < c->pos || !c->line) {
		c->pos = 0;
		c->line = c->col = 1;
	}
	for (; c->pos < off; c->pos++) {
		unsigned char ch = (unsigned char)c->d[c->pos];

		if (ch == '\n') {
			c->line++;
			c->col = 1;
		} else if ((ch & 0xC0) != 0x80) {
			c->col++;
		}
	}
}

typedef struct dscan {
	kl_scanner *sc;
	kl_report *r;
	const char *path, *text;
	size_t len, added;
	cursor at;
	kl_matches m;
	kl_strlist *limits;
	const kl_text_part *part; /* a window of a long file, or NULL */
} dscan;

/* A line and column counted in a window, as counted in the whole file. */
static void in_file(const kl_text_part *part, size_t *line, size_t *col)
{
	if (!part)
		return;
	if (*line == 1)
		*col += part->cols;
	*line += part->lines;
}

/* "keyleak:allow" on the stored line where the encoded span starts. */
static bool line_allowed(const dscan *d, size_t off)
{
	const char *s = d->text + off, *e, *p;

	while (s > d->text && s[-1] != '\n')
		s--;
	p = memchr(d->text + off, '\n', d->len - off);
	e = p ? p : d->text + d->len;
	return memmem(s, (size_t)(e - s), "keyleak:allow", 13) != NULL;
}

/* A key the plain scan already reported in its percent-encoded form
 * (a SAS signature 'sig=l1%2F…%3D' matched as written): the same rule's
 * finding in this file whose secret decodes to it. This file's plain
 * findings are the last ones added: same path, no blob tagged yet. */
static bool seen_encoded(const dscan *d, const kl_match *x, const char *key)
{
	const kl_findings *fs = &d->r->findings;
	kl_buf b = KL_BUF_INIT;
	size_t i = fs->len;
	bool seen = false;

	while (!seen && i-- > 0) {
		const kl_finding *f = &fs->items[i];

		if (f->blob || strcmp(f->path, d->path) != 0)
			break;
		if (f->decoded.len || f->rule != x->rule || !f->secret ||
		    !memchr(f->secret, '%', strlen(f->secret)))
			continue;
		b.len = 0;
		seen = kl_decode_percent(f->secret, strlen(f->secret), &b) &&
		       b.len == x->len && memcmp(b.data, key, x->len) == 0;
	}
	kl_buf_free(&b);
	return seen;
}

static void on_view(void *ctx, const kl_decode_view *v)
{
	dscan *d = ctx;
	size_t i, k, line = 0, col = 0, eline = 0, ecol = 0;
	bool allowed = false;

	/* a span another window of the file owns */
	if (d->part && (v->span_start < d->part->own_from ||
			v->span_start >= d->part->own_to))
		return;
	d->m.len = 0;
	kl_scan_buffer(d->sc, v->data, v->len, &d->m, d->limits);
	for (i = 0; i < d->m.len; i++) {
		kl_match x = d->m.items[i];
		kl_finding *f;

		/* the context around the span was scanned as it is */
		if (x.start < v->from || x.start >= v->to)
			continue;
		/* a key left as it was (percent-encoding around it): the
		 * plain scan saw it */
		if (memmem(d->text + v->span_start,
			   v->span_end - v->span_start, v->data + x.start,
			   x.len) || seen_encoded(d, &x, v->data + x.start))
			continue;
		if (!line) {
			cursor_to(&d->at, v->span_start);
			line = d->at.line;
			col = d->at.col;
			allowed = line_allowed(d, v->span_start);
			cursor_to(&d->at, v->span_end);
			eline = d->at.line;
			ecol = d->at.col;
			in_file(d->part, &line, &col);
			in_file(d->part, &eline, &ecol);
		}
		if (x.suppressed || allowed) {
			d->r->summary.suppressed++;
			continue;
		}
		x.line = line;
		x.column = col;
		x.end_line = eline;
		x.end_column = ecol;
		if (x.partner_len)
			x.partner_line = line;
		f = kl_findings_add_match(&d->r->findings, d->path, v->data, &x);
		for (k = 0; k < v->depth; k++)
			kl_strlist_push(&f->decoded, v->chain[k]);
		d->added++;
	}
}

void kl_note_decode(kl_report *r, const char *path,
		    const kl_decode_stats *st, const kl_unpack_opts *u)
{
	if (st->hit_depth)
		kl_report_notice(r, KL_NOTICE_WARNING, path, "encoded more "
				 "than %u times over: deeper layers not decoded "
				 "(--max-decode-depth)", u->decode_depth
				 ? u->decode_depth : KL_DECODE_DEPTH);
	if (st->hit_bytes)
		kl_report_notice(r, KL_NOTICE_WARNING, path, "decoding "
				 "stopped after %zu decoded bytes "
				 "(--max-decode-bytes)", st->bytes);
	if (st->hit_attempts)
		kl_report_notice(r, KL_NOTICE_WARNING, path, "decoding "
				 "stopped after %zu encoded runs", st->attempts);
	if (st->hit_depth || st->hit_bytes || st->hit_attempts)
		r->incomplete = true;
}

static size_t scan_decoded(kl_scanner *sc, const kl_scan_opts *o,
			   kl_report *r, const char *path, const char *text,
			   size_t len, const kl_text_part *part,
			   kl_decode_stats *st, kl_strlist *limits)
{
	kl_decode_limits lim = { o->unpack.decode_depth, o->unpack.decode_bytes,
				 0 };
	dscan d;

	memset(&d, 0, sizeof(d));
	d.sc = sc;
	d.r = r;
	d.path = path;
	d.text = text;
	d.len = len;
	d.at.d = text;
	d.limits = limits;
	d.part = part;
	kl_decode_each(text, len, &lim, st, on_view, &d);
	kl_matches_free(&d.m);
	return d.added;
}

size_t kl_scan_decoded(kl_scanner *sc, const kl_scan_opts *o, kl_report *r,
		       const char *path, const char *text, size_t len)
{
	kl_decode_stats st = { 0 };
	kl_strlist limits = { 0 };
	size_t added;

	if (o->unpack.no_decode || !len)
		return 0;
	added = scan_decoded(sc, o, r, path, text, len, NULL, &st, &limits);
	kl_note_decode(r, path, &st, &o->unpack);
	kl_note_limits(r, path, &limits);
	kl_strlist_free(&limits);
	return added;
}

size_t kl_scan_decoded_part(kl_scanner *sc, const kl_scan_opts *o,
			    kl_report *r, const char *path, const char *text,
			    size_t len, const kl_text_part *part)
{
	if (o->unpack.no_decode || !len)
		return 0;
	return scan_decoded(sc, o, r, path, text, len, part, part->spent,
			    part->limits);
}

/* ------------------------------------------------------------ archives */

typedef struct ascan {
	kl_scanner *sc;
	const kl_scan_opts *sub;
	kl_report *r;
	const char *path;
	size_t added;
	kl_buf name;
} ascan;

/* A member's finding was made at "archive!member": the path becomes the
 * archive's again, and the rest joins the member path. */
static void relocate(kl_finding *f, size_t plen)
{
	kl_buf m = KL_BUF_INIT;

	kl_buf_puts(&m, f->path + plen + 1);
	if (f->member) {
		kl_buf_addch(&m, '!');
		kl_buf_puts(&m, f->member);
		free(f->member);
	}
	f->path[plen] = '\0';
	f->member = kl_buf_detach(&m);
}

static void on_member(void *ctx, const char *name, const char *data,
		      size_t len)
{
	ascan *a = ctx;
	size_t before = a->r->findings.len, plen = strlen(a->path), i;

	kl_buf_reset(&a->name);
	kl_buf_printf(&a->name, "%s!%s", a->path, name);
	a->added += kl_scan_content(a->sc, a->sub, a->r, a->name.data, data,
				    len);
	for (i = before; i < a->r->findings.len; i++)
		if (strlen(a->r->findings.items[i].path) > plen)
			relocate(&a->r->findings.items[i], plen);
}

static void on_note(void *ctx, const char *name, bool incomplete,
		    const char *why)
{
	ascan *a = ctx;

	kl_buf_reset(&a->name);
	kl_buf_puts(&a->name, a->path);
	if (name) {
		kl_buf_addch(&a->name, '!');
		kl_buf_puts(&a->name, name);
	}
	kl_report_notice(a->r, KL_NOTICE_WARNING, a->name.data, "%s", why);
	if (incomplete)
		a->r->incomplete = true;
}

bool kl_scan_archive(kl_scanner *sc, const kl_scan_opts *o, kl_report *r,
		     const char *path, const char *data, size_t len,
		     size_t *added)
{
	const kl_unpack_opts *u = &o->unpack;
	unsigned depth = u->archive_depth ? u->archive_depth : KL_ARCHIVE_DEPTH;
	uint64_t budget = u->archive_bytes ? u->archive_bytes : KL_ARCHIVE_BYTES;
	kl_scan_opts sub = *o;
	kl_archive_limits lim;
	ascan a;

	*added = 0;
	if (u->no_archives || !kl_archive_sniff(data, len) ||
	    (o->max_file_size && len > o->max_file_size))
		return false;
	if (o->archive_level >= depth) {
		kl_report_notice(r, KL_NOTICE_WARNING, path, "archive nested "
				 "more than %u deep: not opened "
				 "(--max-archive-depth)", depth);
		r->incomplete = true;
		return true;
	}
	sub.archive_level++;
	if (!sub.archive_budget)
		sub.archive_budget = &budget;
	lim.members = u->archive_members ? u->archive_members
					 : KL_ARCHIVE_MEMBERS;
	lim.budget = sub.archive_budget;
	lim.ratio = u->archive_ratio ? u->archive_ratio : KL_ARCHIVE_RATIO;
	lim.member_max = o->max_file_size;
	memset(&a, 0, sizeof(a));
	a.sc = sc;
	a.sub = &sub;
	a.r = r;
	a.path = path;
	kl_archive_each(data, len, path, &lim, on_member, on_note, &a);
	kl_buf_free(&a.name);
	*added = a.added;
	return true;
}

/* A file's bytes: an archive's members, else its text and the views
 * decoded from it (each stage calls back here for what it unpacks). */
size_t kl_scan_content(kl_scanner *sc, const kl_scan_opts *o, kl_report *r,
		       const char *path, const char *data, size_t len)
{
	kl_buf tmp = KL_BUF_INIT;
	kl_matches m = { 0 };
	kl_strlist limits = { 0 };
	const char *text;
	size_t added = 0;

	if (kl_scan_archive(sc, o, r, path, data, len, &added))
		return added;
	text = kl_content_prepare(o, r, path, data, &len, &tmp);
	if (text) {
		kl_scan_buffer(sc, text, len, &m, &limits);
		added = kl_add_matches(r, path, text, &m);
		kl_note_limits(r, path, &limits);
		added += kl_scan_decoded(sc, o, r, path, text, len);
	}
	kl_strlist_free(&limits);
	kl_matches_free(&m);
	kl_buf_free(&tmp);
	return added;
}
