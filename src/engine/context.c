/*
 * Owns what a rule's context means over a buffer: "before" (a regex that
 * must end where the secret starts, within KL_CONTEXT_BEFORE_BYTES),
 * "near" (a regex within `lines` lines of the secret) and families (one
 * finding per secret, named by the rule whose context is most specific).
 * Only matches that passed every other check get here, so this is cheap.
 */
#include <stdint.h>
#include <string.h>

#include "engine/context.h"

static bool before_ok(const kl_rule_context *c, const char *data,
		      size_t start, pcre2_match_data *md,
		      pcre2_match_context *mctx)
{
	size_t from = start > KL_CONTEXT_BEFORE_BYTES ?
			      start - KL_CONTEXT_BEFORE_BYTES : 0;
	/* A window cut mid-line must not let ^ match at its start. */
	uint32_t opts = from > 0 && data[from - 1] != '\n' ? PCRE2_NOTBOL : 0;

	return pcre2_match(c->before_code, (PCRE2_SPTR)(data + from),
			   start - from, 0, opts, md, mctx) >= 0;
}

/* [*from, *to): the secret's line +- lines, at most NEAR_BYTES each way. */
static void window(const char *data, size_t len, size_t start, unsigned lines,
		   size_t *from, size_t *to)
{
	size_t lo = start > KL_CONTEXT_NEAR_BYTES ?
			    start - KL_CONTEXT_NEAR_BYTES : 0;
	size_t hi = len - start > KL_CONTEXT_NEAR_BYTES ?
			    start + KL_CONTEXT_NEAR_BYTES : len;
	size_t p = start, seen = 0;

	while (p > lo) {
		if (data[p - 1] == '\n' && seen++ == lines)
			break;
		p--;
	}
	*from = p;
	p = start;
	seen = 0;
	while (p < hi) {
		if (data[p] == '\n' && seen++ == lines)
			break;
		p++;
	}
	*to = p;
}

static size_t lines_between(const char *data, size_t a, size_t b)
{
	size_t n = 0;

	if (a > b) {
		size_t t = a;

		a = b;
		b = t;
	}
	for (; a < b; a++)
		n += data[a] == '\n';
	return n;
}

/* Line distance from the secret to the nearest "near" match, or SIZE_MAX
 * when none is in the window; 0 when the rule has no "near". */
static size_t near_distance(const kl_rule_context *c, const char *data,
			    size_t len, size_t start, pcre2_match_data *md,
			    pcre2_match_context *mctx)
{
	size_t from, to, i, best = SIZE_MAX;

	if (!c->near.len)
		return 0;
	window(data, len, start, c->lines, &from, &to);
	for (i = 0; i < c->near.len && best > 0; i++) {
		size_t off = from;

		while (off <= to && best > 0) {
			PCRE2_SIZE *ov;
			size_t d;

			if (pcre2_match(c->near_code[i], (PCRE2_SPTR)data, to,
					off, 0, md, mctx) < 0)
				break;
			ov = pcre2_get_ovector_pointer(md);
			d = lines_between(data, ov[0], start);
			if (d < best)
				best = d;
			if (ov[0] > start) /* later hits are only farther */
				break;
			off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		}
	}
	return best;
}

bool kl_context_accept(const kl_rule_context *c, const char *data,
		       size_t len, size_t start, pcre2_match_data *md,
		       pcre2_match_context *mctx)
{
	if (c->before_code && !before_ok(c, data, start, md, mctx))
		return false;
	return near_distance(c, data, len, start, md, mctx) != SIZE_MAX;
}

/* Smaller is better: how specifically m's rule names its secret. A name
 * in the assignment itself (no "near") beats a provider named nearby,
 * which beats a fallback. */
static size_t rank(const kl_match *m, const char *data, size_t len,
		   pcre2_match_data *md, pcre2_match_context *mctx)
{
	const kl_rule_context *c = m->rule->context;
	size_t d;

	if (c->fallback)
		return SIZE_MAX;
	if (!c->near.len)
		return 0;
	d = near_distance(c, data, len, m->start, md, mctx);
	return d < SIZE_MAX - 1 ? d + 1 : SIZE_MAX - 1;
}

static bool same_family(const kl_match *a, const kl_match *b)
{
	return a->start == b->start && a->len == b->len &&
	       a->rule->context && b->rule->context &&
	       a->rule->context->family && b->rule->context->family &&
	       strcmp(a->rule->context->family, b->rule->context->family) == 0;
}

size_t kl_context_resolve(kl_match *ms, size_t n, const char *data,
			  size_t len, pcre2_match_data *md,
			  pcre2_match_context *mctx)
{
	size_t i, j, kept = 0;

	for (i = 0; i < n; i++) {
		bool drop = false;

		if (ms[i].rule == NULL)
			continue;
		/* Rivals share the position, so they are adjacent. */
		for (j = i + 1; j < n && ms[j].start == ms[i].start; j++) {
			if (!ms[j].rule || !same_family(&ms[i], &ms[j]))
				continue;
			/* Ties keep the earlier: sorted by rule id. */
			if (rank(&ms[j], data, len, md, mctx) <
			    rank(&ms[i], data, len, md, mctx)) {
				drop = true;
				break;
			}
			ms[j].rule = NULL;
		}
		if (!drop)
			ms[kept++] = ms[i];
	}
	return kept;
}
