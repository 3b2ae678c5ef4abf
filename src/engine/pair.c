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

static size_t distance(size_t a, size_t b)
{
	return a > b ? a - b : b - a;
}

/* The nearest match of the partner rule; its index, or (size_t)-1. */
static size_t partner_by_rule(const kl_matches *out, size_t first,
			      const kl_match *m, const char *rule)
{
	size_t i, best = (size_t)-1;

	for (i = first; i < out->len; i++) {
		const kl_match *o = &out->items[i];

		if (o == m || !o->rule || strcmp(o->rule->id, rule) != 0)
			continue;
		if (best == (size_t)-1 ||
		    distance(o->start, m->start) <
		    distance(out->items[best].start, m->start))
			best = i;
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

/* [from, to): up to lines lines before and after the match, whole, but
 * not past a blank line: a blank line separates one credential's block
 * from the next (a placeholder key id with a real-looking secret, then a
 * real key id with a variable reference, must not pair across it). */
static void line_window(const char *data, size_t len, const kl_match *m,
			size_t lines, size_t *from, size_t *to)
{
	size_t n, i = m->start, start;

	while (i > 0 && data[i - 1] != '\n')
		i--;
	for (n = 0; n < lines && i > 0; n++) {
		start = i - 1;
		while (start > 0 && data[start - 1] != '\n')
			start--;
		if (blank(data, start, i - 1))
			break;
		i = start;
	}
	*from = i;
	i = m->start + m->len;
	while (i < len && data[i] != '\n')
		i++;
	for (n = 0; n < lines && i < len; n++) {
		size_t end = i + 1;

		while (end < len && data[end] != '\n')
			end++;
		if (blank(data, i + 1, end))
			break;
		i = end;
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
	size_t from, to, at, best_s = 0, best_l = 0;

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
		if (!best_l || distance(s, m->start) < distance(best_s, m->start)) {
			best_s = s;
			best_l = e - s;
		}
	}
	if (!best_l)
		return false;
	m->partner_start = best_s;
	m->partner_len = best_l;
	m->partner_line = best_s > m->start
		? m->line + count_lines(data, m->start, best_s)
		: m->line - count_lines(data, best_s, m->start);
	return true;
}

void kl_pair_matches(void *md, void *mctx, const char *data, size_t len,
		     kl_matches *out, size_t first)
{
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
		if (p->rule)
			o = partner_by_rule(out, first, m, p->rule);
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
	if (!drop)
		return;
	for (i = j = first; i < out->len; i++)
		if (!drop[i])
			out->items[j++] = out->items[i];
	out->len = j;
	free(drop);
}
