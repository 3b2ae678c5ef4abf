/*
 * Owns pairing: credentials that come in two parts (an AWS access key id
 * and its secret access key, a Twilio key SID and its secret) are one
 * finding when both are in a file. A rule's "pair" names the partner: a
 * match of another rule in the same buffer, or a pattern within a few
 * lines of the match.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pair.h"

/* A pattern partner is looked for at most this far (bytes) on each side,
 * whatever the lines: a minified file is one long line, and a file full
 * of key ids must not make the search quadratic. */
#define PAIR_REACH 1024

static size_t distance(size_t a, size_t b)
{
	return a > b ? a - b : b - a;
}

/* Is a partner at (line, start) nearer to m than one at (bline, bstart)?
 * Lines first: "id = ...; secret = ..." lines pair line by line. */
static bool nearer(const kl_match *m, size_t line, size_t start,
		   size_t bline, size_t bstart)
{
	size_t dl = distance(line, m->line), bdl = distance(bline, m->line);

	return dl != bdl ? dl < bdl
			 : distance(start, m->start) < distance(bstart, m->start);
}

/* The matches of one partner rule, by start (out is sorted by start). */
typedef struct partners {
	const char *rule;
	size_t *idx;
	size_t n;
} partners;

static void partners_of(partners *pl, const kl_matches *out, size_t first,
			const char *rule)
{
	size_t i;

	if (pl->rule && strcmp(pl->rule, rule) == 0)
		return;
	pl->rule = rule;
	pl->n = 0;
	pl->idx = kl_xrealloc(pl->idx, (out->len + 1) * sizeof(size_t));
	for (i = first; i < out->len; i++)
		if (strcmp(out->items[i].rule->id, rule) == 0)
			pl->idx[pl->n++] = i;
}

/* The partner match nearest to m: its index, or (size_t)-1. */
static size_t nearest(const partners *pl, const kl_matches *out,
		      const kl_match *m)
{
	size_t lo = 0, hi = pl->n, best = (size_t)-1, k;

	while (lo < hi) { /* first partner starting at or after m */
		size_t mid = lo + (hi - lo) / 2;

		if (out->items[pl->idx[mid]].start < m->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (k = lo > 0 ? lo - 1 : 0; k <= lo && k < pl->n; k++) {
		const kl_match *o = &out->items[pl->idx[k]];

		if (best == (size_t)-1 ||
		    nearer(m, o->line, o->start, out->items[best].line,
			   out->items[best].start))
			best = pl->idx[k];
	}
	return best;
}

static bool blank(const char *data, size_t a, size_t b)
{
	for (; a < b; a++)
		if (data[a] != ' ' && data[a] != '\t' && data[a] != '\r')
			return false;
	return true;
}

/* [from, to): up to lines lines before and after the match, whole, no
 * farther than PAIR_REACH bytes from it, and not past a blank line: a
 * blank line separates one credential's block from the next (a
 * placeholder key id with a real-looking secret, then a real key id with
 * a variable reference, must not pair across it). */
static void line_window(const char *data, size_t len, const kl_match *m,
			size_t lines, size_t *from, size_t *to)
{
	size_t n, i = m->start, start, end = m->start + m->len;
	size_t lo = m->start > PAIR_REACH ? m->start - PAIR_REACH : 0;
	size_t hi = len - end > PAIR_REACH ? end + PAIR_REACH : len;

	while (i > lo && data[i - 1] != '\n')
		i--;
	for (n = 0; n < lines && i > lo; n++) {
		start = i - 1;
		while (start > lo && data[start - 1] != '\n')
			start--;
		if (blank(data, start, i - 1))
			break;
		i = start;
	}
	*from = i;
	i = end;
	while (i < hi && data[i] != '\n')
		i++;
	for (n = 0; n < lines && i < hi; n++) {
		size_t stop = i + 1;

		while (stop < hi && data[stop] != '\n')
			stop++;
		if (blank(data, i + 1, stop))
			break;
		i = stop;
	}
	*to = i;
}

static size_t count_lines(const char *data, size_t a, size_t b)
{
	size_t n = 0;

	for (; a < b; a++)
		n += data[a] == '\n';
	return n;
}

/* The nearest acceptable partner pattern around m; false if none. */
static bool partner_by_regex(pcre2_match_data *md, pcre2_match_context *mctx,
			     const char *data, size_t len, kl_match *m)
{
	const kl_pair *p = m->rule->pair;
	size_t from, to, at, best_s = 0, best_l = 0, best_line = 0, line;

	line_window(data, len, m, p->lines, &from, &to);
	for (at = from; at < to;) {
		PCRE2_SIZE *ov;
		size_t s, e;

		if (pcre2_match(p->code, (PCRE2_SPTR)data, to, at, 0, md,
				mctx) < 0)
			break;
		ov = pcre2_get_ovector_pointer(md);
		s = ov[2 * p->secret_group];
		e = ov[2 * p->secret_group + 1];
		at = ov[1] > at ? ov[1] : at + 1;
		if (s == PCRE2_UNSET || e <= s ||
		    (s < m->start + m->len && e > m->start) ||
		    kl_is_placeholder(NULL, data + s, e - s) ||
		    (p->min_entropy > 0 &&
		     kl_shannon_entropy(data + s, e - s) < p->min_entropy))
			continue;
		line = s > m->start ? m->line + count_lines(data, m->start, s)
				    : m->line - count_lines(data, s, m->start);
		if (!best_l || nearer(m, line, s, best_line, best_s)) {
			best_s = s;
			best_l = e - s;
			best_line = line;
		}
	}
	if (!best_l)
		return false;
	m->partner_start = best_s;
	m->partner_len = best_l;
	m->partner_line = best_line;
	return true;
}

void kl_pair_matches(void *md, void *mctx, const char *data, size_t len,
		     kl_matches *out, size_t first)
{
	partners pl = { NULL, NULL, 0 };
	bool *drop = NULL;
	size_t i, j;

	for (i = first; i < out->len; i++) {
		kl_match *m = &out->items[i];
		const kl_pair *p = m->rule->pair;
		size_t o = (size_t)-1;

		if (!p)
			continue;
		if (!drop)
			drop = kl_xcalloc(out->len, sizeof(bool));
		if (p->rule) {
			partners_of(&pl, out, first, p->rule);
			o = nearest(&pl, out, m);
		}
		if (o != (size_t)-1) {
			m->partner_start = out->items[o].start;
			m->partner_len = out->items[o].len;
			m->partner_line = out->items[o].line;
			drop[o] = true;
		} else if (!(p->code && partner_by_regex(md, mctx, data, len,
							   m)) && p->required) {
			drop[i] = true;
		}
	}
	free(pl.idx);
	if (!drop)
		return;
	for (i = j = first; i < out->len; i++)
		if (!drop[i])
			out->items[j++] = out->items[i];
	out->len = j;
	free(drop);
}
