/*
 * Owns pairing: credentials that come in two parts (an AWS access key id
 * and its secret access key, a Twilio key SID and its secret) are one
 * finding when both are in the same block of a file. A rule's "pair"
 * names the partner: a match of another rule, or a pattern. Either way
 * the partner must lie in the id's window and belong to no nearer id.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pair.h"

/* A partner is looked for at most this far (bytes) on each side, whatever
 * the lines: a minified file is one long line, and a file full of key ids
 * must not make the search quadratic. */
#define PAIR_REACH 1024

static size_t distance(size_t a, size_t b)
{
	return a > b ? a - b : b - a;
}

/* A position in the buffer with its line: an id or a partner secret. */
typedef struct spot {
	size_t line, start;
} spot;

/*
 * How close an id is to a partner; smaller is closer. Lines first
 * ("id = ...; secret = ..." lines pair line by line), then the usual order
 * (an id written before its secret), then bytes. The same measure picks an
 * id's partner and decides which id a partner belongs to, so the two
 * choices can never disagree.
 */
static int closer(spot id_a, spot p_a, spot id_b, spot p_b)
{
	size_t la = distance(id_a.line, p_a.line);
	size_t lb = distance(id_b.line, p_b.line);
	bool after_a = id_a.start > p_a.start, after_b = id_b.start > p_b.start;

	if (la != lb)
		return la < lb;
	if (after_a != after_b)
		return !after_a;
	return distance(id_a.start, p_a.start) < distance(id_b.start, p_b.start);
}

static bool blank(const char *data, size_t a, size_t b)
{
	for (; a < b; a++)
		if (data[a] != ' ' && data[a] != '\t' && data[a] != '\r')
			return false;
	return true;
}

/* "[profile name]" on a line of its own starts an INI or TOML section:
 * the credentials of the next profile follow. */
static bool section_header(const char *data, size_t a, size_t b)
{
	while (a < b && (data[a] == ' ' || data[a] == '\t'))
		a++;
	while (b > a && (data[b - 1] == ' ' || data[b - 1] == '\t' ||
			 data[b - 1] == '\r'))
		b--;
	return b - a >= 2 && data[a] == '[' && data[b - 1] == ']';
}

/* Does the line [a, b) end a credential's block? */
static bool block_edge(const char *data, size_t a, size_t b)
{
	return blank(data, a, b) || section_header(data, a, b);
}

/*
 * The id's window [from, to): its own line, and up to `lines` lines before
 * and after it, whole, no farther than PAIR_REACH bytes, and not past a
 * line that ends a block (a blank line or a section header): a
 * placeholder key id with a real-looking secret, then a real key id with a
 * variable reference, must not pair across it.
 */
static void pair_window(const char *data, size_t len, const kl_match *m,
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
		if (block_edge(data, start, i - 1))
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
		if (block_edge(data, i + 1, stop))
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

/* Indices (into out) of the matches of one rule, in start order. */
typedef struct rule_matches {
	const char *rule;
	size_t *idx;
	size_t n;
} rule_matches;

/* The rule_matches of every rule asked for so far in one buffer: a few
 * rules have pairs, and a file that alternates them must not rebuild a
 * list per match. */
typedef struct match_lists {
	rule_matches **lists; /* pointers: a list stays put as more are added */
	size_t n;
} match_lists;

static const rule_matches *matches_of(match_lists *ml, const kl_matches *out,
				      size_t first, const char *rule)
{
	rule_matches *rm;
	size_t i;

	for (i = 0; i < ml->n; i++)
		if (strcmp(ml->lists[i]->rule, rule) == 0)
			return ml->lists[i];
	ml->lists = kl_xrealloc(ml->lists, (ml->n + 1) * sizeof(*ml->lists));
	rm = ml->lists[ml->n++] = kl_xcalloc(1, sizeof(*rm));
	rm->rule = rule;
	rm->n = 0;
	rm->idx = kl_xcalloc(out->len + 1, sizeof(size_t));
	for (i = first; i < out->len; i++)
		if (strcmp(out->items[i].rule->id, rule) == 0)
			rm->idx[rm->n++] = i;
	return rm;
}

static void match_lists_free(match_lists *ml)
{
	size_t i;

	for (i = 0; i < ml->n; i++) {
		free(ml->lists[i]->idx);
		free(ml->lists[i]);
	}
	free(ml->lists);
}

/* Position in rm of the first match starting at or after start. */
static size_t lower_bound(const rule_matches *rm, const kl_matches *out,
			  size_t start)
{
	size_t lo = 0, hi = rm->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (out->items[rm->idx[mid]].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static spot spot_of(const kl_match *m)
{
	return (spot){ m->line, m->start };
}

/*
 * Does a partner at p belong to the id ids->idx[k] rather than to another
 * id of the same rule? Only the neighbouring id on the partner's side can
 * be closer: every other one lies beyond it.
 */
static bool belongs_to(const rule_matches *ids, const kl_matches *out,
		       size_t k, spot p)
{
	spot id = spot_of(&out->items[ids->idx[k]]);
	size_t other;

	if (p.start > id.start) {
		if (k + 1 >= ids->n)
			return true;
		other = ids->idx[k + 1];
	} else {
		if (k == 0)
			return true;
		other = ids->idx[k - 1];
	}
	return !closer(spot_of(&out->items[other]), p, id, p);
}

/* The id being paired: its match, its place among its rule's matches, and
 * its window. */
typedef struct pairing {
	const kl_match *m;
	const rule_matches *ids;
	size_t k;
	size_t from, to;
} pairing;

/* Is a partner at p acceptable and closer than the best so far? */
static bool better(const pairing *pg, const kl_matches *out, spot p,
		   bool have_best, spot best)
{
	spot id = spot_of(pg->m);

	if (have_best && !closer(id, p, id, best))
		return false;
	return belongs_to(pg->ids, out, pg->k, p);
}

/* The partner rule's match that pairs with pg's id: its index, or -1. */
static size_t partner_by_rule(const pairing *pg, const rule_matches *pl,
			      const kl_matches *out, const bool *taken)
{
	size_t k = lower_bound(pl, out, pg->from), best = (size_t)-1;
	spot best_spot = { 0, 0 };

	for (; k < pl->n; k++) {
		const kl_match *o = &out->items[pl->idx[k]];

		if (o->start >= pg->to)
			break;
		if (taken[pl->idx[k]] || o->start + o->len > pg->to)
			continue;
		if (better(pg, out, spot_of(o), best != (size_t)-1, best_spot)) {
			best = pl->idx[k];
			best_spot = spot_of(o);
		}
	}
	return best;
}

/* The partner pattern's match in pg's window that pairs with its id: sets
 * m's partner fields; false if none. */
static bool partner_by_regex(pcre2_match_data *md, pcre2_match_context *mctx,
			     const char *data, const pairing *pg,
			     const kl_matches *out, kl_match *m)
{
	const kl_pair *p = m->rule->pair;
	size_t at, best_l = 0;
	spot best = { 0, 0 };

	for (at = pg->from; at < pg->to;) {
		PCRE2_SIZE *ov;
		size_t s, e;
		spot here;

		if (pcre2_match(p->code, (PCRE2_SPTR)data, pg->to, at, 0, md,
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
		here.start = s;
		here.line = s > m->start
				    ? m->line + count_lines(data, m->start, s)
				    : m->line - count_lines(data, s, m->start);
		if (better(pg, out, here, best_l > 0, best)) {
			best = here;
			best_l = e - s;
		}
	}
	if (!best_l)
		return false;
	m->partner_start = best.start;
	m->partner_len = best_l;
	m->partner_line = best.line;
	return true;
}

/* Drop the matches marked in drop[first..] from out, keeping the order. */
static void drop_marked(kl_matches *out, size_t first, const bool *drop)
{
	size_t i, j;

	for (i = j = first; i < out->len; i++)
		if (!drop[i])
			out->items[j++] = out->items[i];
	out->len = j;
}

void kl_pair_matches(void *md, void *mctx, const char *data, size_t len,
		     kl_matches *out, size_t first)
{
	match_lists lists = { NULL, 0 };
	bool *drop = NULL;
	size_t i;

	for (i = first; i < out->len; i++) {
		kl_match *m = &out->items[i];
		const kl_pair *p = m->rule->pair;
		pairing pg = { m, NULL, 0, 0, 0 };
		size_t o = (size_t)-1;

		if (!p)
			continue;
		if (!drop)
			drop = kl_xcalloc(out->len, sizeof(bool));
		pg.ids = matches_of(&lists, out, first, m->rule->id);
		pg.k = lower_bound(pg.ids, out, m->start);
		pair_window(data, len, m, p->lines, &pg.from, &pg.to);
		if (p->rule)
			o = partner_by_rule(&pg, matches_of(&lists, out, first,
							    p->rule),
					    out, drop);
		if (o != (size_t)-1) {
			m->partner_start = out->items[o].start;
			m->partner_len = out->items[o].len;
			m->partner_line = out->items[o].line;
			drop[o] = true;
		} else if (!(p->code && partner_by_regex(md, mctx, data, &pg,
							   out, m)) &&
			   p->required) {
			drop[i] = true;
		}
	}
	match_lists_free(&lists);
	if (drop)
		drop_marked(out, first, drop);
	free(drop);
}
