/*
 * Owns matching: runs each rule's compiled regex, anchored, at the keyword
 * hits the prefilter found, then applies the checks that make a match a
 * finding (placeholder, marker, entropy, allow-list) and locates it (line,
 * column, inline suppression). One kl_scanner per thread.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "engine/checks.h"
#include "engine/context.h"
#include "engine/pair.h"
#include "engine/structure.h"
#include "rules/rules_int.h"

/* How far past a keyword a match may reach; keys are far shorter. */
#define MATCH_WINDOW KL_MATCH_WINDOW
/* Bounds for catastrophic backtracking in user regexes. */
#define MATCH_LIMIT 1000000
#define DEPTH_LIMIT 10000

struct kl_scanner {
	const kl_ruleset *rs;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	kl_hits hits;
	const kl_allowlist *allow;
	kl_context_cache *ctx; /* "near" hits of the current buffer */
};

kl_scanner *kl_scanner_new(const kl_ruleset *rs)
{
	kl_scanner *sc = kl_xcalloc(1, sizeof(*sc));

	sc->rs = rs;
	/* 100 pairs covers any sane number of capture groups. */
	sc->md = pcre2_match_data_create(100, NULL);
	sc->mctx = pcre2_match_context_create(NULL);
	if (!sc->md || !sc->mctx) {
		fprintf(stderr, "keyleak: out of memory creating PCRE2 state\n");
		abort();
	}
	sc->ctx = kl_context_cache_new();
	pcre2_set_match_limit(sc->mctx, MATCH_LIMIT);
	pcre2_set_depth_limit(sc->mctx, DEPTH_LIMIT);
	return sc;
}

void kl_scanner_free(kl_scanner *sc)
{
	if (!sc)
		return;
	pcre2_match_data_free(sc->md);
	pcre2_match_context_free(sc->mctx);
	free(sc->hits.items);
	kl_context_cache_free(sc->ctx);
	free(sc);
}

void kl_scanner_set_allowlist(kl_scanner *sc, const kl_allowlist *allow)
{
	sc->allow = allow;
}

void kl_matches_free(kl_matches *m)
{
	free(m->items);
	m->items = NULL;
	m->len = m->cap = 0;
}

static void push_match(kl_matches *out, const kl_match *m)
{
	if (out->len == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 16;
		out->items = kl_xrealloc(out->items, out->cap * sizeof(kl_match));
	}
	out->items[out->len++] = *m;
}

static bool allowlisted(const kl_scanner *sc, const char *s, size_t len)
{
	size_t i;

	if (!sc->allow)
		return false;
	if (sc->allow->stopwords &&
	    kl_contains_word_ci(s, len, sc->allow->stopwords))
		return true;
	/* The match data is free again: the secret's offsets were copied. */
	for (i = 0; i < sc->allow->n_regexes; i++)
		if (pcre2_match(sc->allow->regexes[i], (PCRE2_SPTR)s, len, 0, 0,
				sc->md, sc->mctx) >= 0)
			return true;
	return false;
}

/* Does the secret pass every check of its rule? */
static bool accept_secret(const kl_scanner *sc, const kl_rule *r,
			  const char *s, size_t len)
{
	const kl_check *c = r->check ? kl_check_find(r->check) : NULL;

	if (c && !kl_check_verify(c, r, s, len))
		return false;
	if (!(c && kl_check_replaces_placeholder(c)) &&
	    kl_is_placeholder(r, s, len))
		return false;
	if (r->marker && !memmem(s, len, r->marker, strlen(r->marker)))
		return false;
	if (r->min_entropy > 0 && kl_shannon_entropy(s, len) < r->min_entropy)
		return false;
	return !allowlisted(sc, s, len);
}

/*
 * Try rule r anchored at pos. Returns 1 and fills m on an accepted match,
 * 0 on none, -1 when the rule hit its match limit.
 */
static int try_rule(kl_scanner *sc, size_t rule, const char *data,
		    size_t len, size_t pos, kl_match *m)
{
	const kl_rule *r = sc->rs->rules[rule];
	const pcre2_code *code = kl_prefilter_anchored(sc->rs->prefilter, rule);
	size_t window = r->window ? r->window : MATCH_WINDOW;
	size_t end = len - pos > window ? pos + window : len;
	PCRE2_SIZE *ov;
	int rc;

	/* Anchored at compile time, so the JIT runs (see rules_int.h). */
	if (code)
		rc = pcre2_match(code, (PCRE2_SPTR)data, end, pos, 0, sc->md,
				 sc->mctx);
	else
		rc = pcre2_match(r->code, (PCRE2_SPTR)data, end, pos,
				 PCRE2_ANCHORED, sc->md, sc->mctx);
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT)
		return -1;
	if (rc < 0 || rc <= r->secret_group)
		return 0;
	ov = pcre2_get_ovector_pointer(sc->md);
	if (ov[2 * r->secret_group] == PCRE2_UNSET ||
	    ov[2 * r->secret_group + 1] <= ov[2 * r->secret_group])
		return 0;
	memset(m, 0, sizeof(*m));
	m->rule = r;
	m->start = ov[2 * r->secret_group];
	m->len = ov[2 * r->secret_group + 1] - m->start;
	m->at = pos;
	if (!accept_secret(sc, r, data + m->start, m->len))
		return 0;
	return !r->context || kl_context_accept(r->context, sc->ctx, data, len,
						m->start, sc->md, sc->mctx);
}

/*
 * Two keywords of one rule may lead to the same secret. Hits arrive in
 * position order and a match starts within MATCH_WINDOW of its hit, so a
 * duplicate can only be among the last matches: look back no further
 * (a whole-list search is quadratic in a file full of keys).
 */
static bool already_found(const kl_matches *out, size_t from, const kl_match *m)
{
	size_t i;

	for (i = out->len; i-- > from;) {
		const kl_match *o = &out->items[i];

		if (o->start + 2 * MATCH_WINDOW < m->start)
			return false;
		if (o->rule == m->rule && o->start == m->start)
			return true;
	}
	return false;
}

static void note_limit(kl_strlist *limit_hit, const kl_rule *r, int *count)
{
	size_t i;

	if (limit_hit) {
		for (i = 0; i < limit_hit->len; i++)
			if (strcmp(limit_hit->items[i], r->id) == 0)
				return;
		kl_strlist_push(limit_hit, r->id);
	}
	(*count)++;
}

static int cmp_match(const void *a, const void *b)
{
	const kl_match *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->rule->id, y->rule->id);
}

/* Columns of the secret's last byte: code points after its last line
 * break (a private key block spans lines). */
static void locate_end(const char *data, kl_match *m)
{
	size_t j;

	m->end_column = m->column;
	m->end_line = m->line;
	for (j = m->start; j < m->start + m->len; j++) {
		if (data[j] == '\n') {
			m->end_line++;
			m->end_column = 1;
		} else {
			m->end_column += ((unsigned char)data[j] & 0xC0) != 0x80;
		}
	}
}

/*
 * Fill line, column (code points) and suppression for sorted matches.
 * Column and the line's "keyleak:allow" are carried from one match to the
 * next on the same line: a minified file is one line holding every key,
 * and counting from the line's start for each would be quadratic.
 */
static void locate(const char *data, size_t len, kl_match *ms, size_t n)
{
	size_t i, pos = 0, line = 1, line_start = 0, col = 1;
	bool allowed = false, checked = false;

	for (i = 0; i < n; i++) {
		kl_match *m = &ms[i];
		const char *nl;
		size_t line_end, j;

		while ((nl = memchr(data + pos, '\n', m->start - pos)) != NULL) {
			pos = (size_t)(nl - data) + 1;
			line++;
			line_start = pos;
			col = 1;
			checked = false;
		}
		for (j = pos; j < m->start; j++)
			col += ((unsigned char)data[j] & 0xC0) != 0x80;
		pos = m->start;
		m->line = line;
		m->column = col;
		locate_end(data, m);
		if (!checked) {
			nl = memchr(data + m->start, '\n', len - m->start);
			line_end = nl ? (size_t)(nl - data) : len;
			allowed = memmem(data + line_start, line_end - line_start,
					 "keyleak:allow", 13) != NULL;
			checked = true;
		}
		m->suppressed = allowed;
	}
}

const kl_ruleset *kl_scanner_ruleset(const kl_scanner *sc)
{
	return sc->rs;
}

int kl_scan_buffer(kl_scanner *sc, const char *data, size_t len,
		   kl_matches *out, kl_strlist *limit_hit)
{
	size_t i, j, first = out->len;
	int limits = 0;
	kl_match m;
	/* Rules that hit a limit in this buffer are not tried again: each
	 * try is bounded, but a buffer may hold a million keyword hits. */
	bool *gave_up = NULL;

	sc->hits.len = 0;
	kl_context_cache_reset(sc->ctx);
	kl_prefilter_scan(sc->rs->prefilter, data, len, &sc->hits);
	for (i = 0; i < sc->hits.len; i++) {
		const kl_hit *h = &sc->hits.items[i];

		for (j = 0; j < h->n_rules; j++) {
			const kl_rule *r = sc->rs->rules[h->rules[j]];
			int rc;

			if (gave_up && gave_up[h->rules[j]])
				continue;
			rc = try_rule(sc, h->rules[j], data, len, h->pos, &m);
			if (rc < 0) {
				if (!gave_up)
					gave_up = kl_xcalloc(sc->rs->len,
							     sizeof(bool));
				gave_up[h->rules[j]] = true;
				note_limit(limit_hit, r, &limits);
			} else if (rc > 0 && !already_found(out, first, &m)) {
				push_match(out, &m);
			}
		}
	}
	free(gave_up);
	if (out->len == first)
		return limits; /* out->items may be NULL: no pointer arithmetic */
	qsort(out->items + first, out->len - first, sizeof(kl_match), cmp_match);
	out->len = first + kl_context_resolve(out->items + first,
					      out->len - first, sc->ctx, data,
					      len, sc->md, sc->mctx);
	locate(data, len, out->items + first, out->len - first);
	kl_pair_matches(sc->md, sc->mctx, data, len, out, first);
	return limits;
}
