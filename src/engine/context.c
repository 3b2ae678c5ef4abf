/*
 * Owns what a rule's context means over a buffer: "before" (a regex that
 * must end where the secret starts, within KL_CONTEXT_BEFORE_BYTES),
 * "near" (a regex within `lines` lines of the secret) and families (one
 * finding per secret, named by the rule whose context is most specific).
 * Each "near" regex runs once over a buffer, on the first candidate that
 * needs it; later candidates look its hits up, so a file packed with keys
 * costs one pass per regex, not one window search per key.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/context.h"

/* The hits of one rule's "near" regexes in the current buffer. */
typedef struct near_hits {
	const kl_rule_context *c;
	size_t *pos; /* match starts, ascending */
	size_t n, cap;
} near_hits;

struct kl_context_cache {
	near_hits *rules;
	size_t n, cap;
	/* Rules of a family share their "before" text: test it once per
	 * secret (the last answer, keyed by the regex source and position). */
	const char *before;
	size_t before_at;
	bool before_ok;
};

kl_context_cache *kl_context_cache_new(void)
{
	return kl_xcalloc(1, sizeof(kl_context_cache));
}

void kl_context_cache_free(kl_context_cache *cc)
{
	size_t i;

	if (!cc)
		return;
	for (i = 0; i < cc->cap; i++)
		free(cc->rules[i].pos);
	free(cc->rules);
	free(cc);
}

void kl_context_cache_reset(kl_context_cache *cc)
{
	size_t i;

	for (i = 0; i < cc->n; i++)
		cc->rules[i].n = 0;
	cc->n = 0;
	cc->before = NULL;
}

static void push_pos(near_hits *h, size_t pos)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->pos = kl_xrealloc(h->pos, h->cap * sizeof(size_t));
	}
	h->pos[h->n++] = pos;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Every start of every "near" regex of c in data, sorted. */
static void collect(near_hits *h, const char *data, size_t len,
		    pcre2_match_data *md, pcre2_match_context *mctx)
{
	size_t i;

	for (i = 0; i < h->c->near.len; i++) {
		size_t off = 0;

		while (off <= len && pcre2_match(h->c->near_code[i],
						 (PCRE2_SPTR)data, len, off, 0,
						 md, mctx) >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);

			push_pos(h, ov[0]);
			off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
		}
	}
	if (h->n > 1)
		qsort(h->pos, h->n, sizeof(size_t), cmp_size);
}

static const near_hits *hits_for(kl_context_cache *cc, const kl_rule_context *c,
				 const char *data, size_t len,
				 pcre2_match_data *md, pcre2_match_context *mctx)
{
	near_hits *h;
	size_t i;

	for (i = 0; i < cc->n; i++)
		if (cc->rules[i].c == c)
			return &cc->rules[i];
	if (cc->n == cc->cap) {
		cc->cap = cc->cap ? cc->cap * 2 : 8;
		cc->rules = kl_xrealloc(cc->rules, cc->cap * sizeof(near_hits));
		memset(cc->rules + cc->n, 0, (cc->cap - cc->n) * sizeof(near_hits));
	}
	h = &cc->rules[cc->n++];
	h->c = c;
	h->n = 0;
	collect(h, data, len, md, mctx);
	return h;
}

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

/* Newlines in [a, b), counting at most limit + 1 of them. */
static size_t lines_between(const char *data, size_t a, size_t b,
			    size_t limit)
{
	size_t n = 0;
	const char *p = data + a, *end = data + b, *nl;

	while (n <= limit && (nl = memchr(p, '\n', (size_t)(end - p)))) {
		n++;
		p = nl + 1;
	}
	return n;
}

/* Line distance from the secret to the nearest "near" hit within the
 * window (c->lines lines, KL_CONTEXT_NEAR_BYTES bytes each way), or
 * SIZE_MAX; 0 when the rule has no "near". The nearest hits by line are
 * the nearest by position on either side. */
static size_t near_distance(const kl_rule_context *c, kl_context_cache *cc,
			    const char *data, size_t len, size_t start,
			    pcre2_match_data *md, pcre2_match_context *mctx)
{
	const near_hits *h;
	size_t lo = 0, hi, best = SIZE_MAX, d;

	if (!c->near.len)
		return 0;
	h = hits_for(cc, c, data, len, md, mctx);
	hi = h->n;
	while (lo < hi) { /* first hit at or after start */
		size_t mid = lo + (hi - lo) / 2;

		if (h->pos[mid] < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < h->n && h->pos[lo] - start <= KL_CONTEXT_NEAR_BYTES) {
		d = lines_between(data, start, h->pos[lo], c->lines);
		if (d <= c->lines)
			best = d;
	}
	if (lo > 0 && start - h->pos[lo - 1] <= KL_CONTEXT_NEAR_BYTES) {
		d = lines_between(data, h->pos[lo - 1], start, c->lines);
		if (d <= c->lines && d < best)
			best = d;
	}
	return best;
}

bool kl_context_accept(const kl_rule_context *c, kl_context_cache *cc,
		       const char *data, size_t len, size_t start,
		       pcre2_match_data *md, pcre2_match_context *mctx)
{
	if (c->before_code) {
		if (!cc->before || cc->before_at != start ||
		    strcmp(cc->before, c->before) != 0) {
			cc->before_ok = before_ok(c, data, start, md, mctx);
			cc->before = c->before;
			cc->before_at = start;
		}
		if (!cc->before_ok)
			return false;
	}
	return near_distance(c, cc, data, len, start, md, mctx) != SIZE_MAX;
}

/* Smaller is better: how specifically m's rule names its secret. A name
 * in the assignment itself (no "near") beats a provider named nearby,
 * which beats a fallback. */
static size_t rank(const kl_match *m, kl_context_cache *cc, const char *data,
		   size_t len, pcre2_match_data *md, pcre2_match_context *mctx)
{
	const kl_rule_context *c = m->rule->context;
	size_t d;

	if (c->fallback)
		return SIZE_MAX;
	if (!c->near.len)
		return 0;
	d = near_distance(c, cc, data, len, m->start, md, mctx);
	return d < SIZE_MAX - 1 ? d + 1 : SIZE_MAX - 1;
}

static bool same_family(const kl_match *a, const kl_match *b)
{
	return a->start == b->start && a->len == b->len &&
	       a->rule->context && b->rule->context &&
	       a->rule->context->family && b->rule->context->family &&
	       strcmp(a->rule->context->family, b->rule->context->family) == 0;
}

size_t kl_context_resolve(kl_match *ms, size_t n, kl_context_cache *cc,
			  const char *data, size_t len, pcre2_match_data *md,
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
			if (rank(&ms[j], cc, data, len, md, mctx) <
			    rank(&ms[i], cc, data, len, md, mctx)) {
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
