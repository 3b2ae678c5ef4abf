/*
 * Owns the keyword prefilter: one pass over the bytes that finds every
 * occurrence of every rule keyword, case-insensitively, so regexes only run
 * where a key can start. A 64 Ki-entry table indexed by the next two bytes
 * (all case variants pre-entered) rejects almost every position with one
 * load; candidates are then compared with their few keywords.
 */
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"

typedef struct keyword {
	char *lower;      /* the keyword, lowercased */
	size_t len;
	size_t *rules;    /* rule indices it triggers */
	size_t n_rules;
} keyword;

/* Keywords sharing their first two bytes (case-folded). */
typedef struct bucket {
	size_t *keywords;
	size_t n;
} bucket;

struct kl_prefilter {
	keyword *keywords;
	size_t n_keywords;
	bucket *buckets;          /* buckets[0] unused */
	size_t n_buckets;
	uint16_t table[65536];    /* two bytes -> bucket index, 0 = none */
};

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static size_t find_or_add_keyword(kl_prefilter *pf, const char *kw)
{
	size_t i, n = strlen(kw);
	char *low = kl_xstrdup(kw);

	for (i = 0; i < n; i++)
		low[i] = (char)lower((unsigned char)low[i]);
	for (i = 0; i < pf->n_keywords; i++) {
		if (strcmp(pf->keywords[i].lower, low) == 0) {
			free(low);
			return i;
		}
	}
	pf->keywords = kl_xrealloc(pf->keywords,
				   (pf->n_keywords + 1) * sizeof(keyword));
	pf->keywords[pf->n_keywords] = (keyword){ low, n, NULL, 0 };
	return pf->n_keywords++;
}

static void keyword_add_rule(keyword *k, size_t rule)
{
	size_t i;

	for (i = 0; i < k->n_rules; i++)
		if (k->rules[i] == rule)
			return;
	k->rules = kl_xrealloc(k->rules, (k->n_rules + 1) * sizeof(size_t));
	k->rules[k->n_rules++] = rule;
}

static uint16_t pair(unsigned char a, unsigned char b)
{
	/* Same layout as a little-endian 16-bit load of the two bytes. */
	return (uint16_t)(a | (b << 8));
}

/* Enter every case variant of the keyword's first two bytes. */
static void table_enter(kl_prefilter *pf, size_t kw)
{
	const unsigned char *k = (const unsigned char *)pf->keywords[kw].lower;
	unsigned char a[2] = { k[0], k[0] }, b[2] = { k[1], k[1] };
	uint16_t idx = pf->table[pair(k[0], k[1])];
	bucket *bk;
	int i, j;

	if (k[0] >= 'a' && k[0] <= 'z')
		a[1] = (unsigned char)(k[0] - 32);
	if (k[1] >= 'a' && k[1] <= 'z')
		b[1] = (unsigned char)(k[1] - 32);
	if (!idx) {
		pf->buckets = kl_xrealloc(pf->buckets,
					  (pf->n_buckets + 1) * sizeof(bucket));
		pf->buckets[pf->n_buckets] = (bucket){ NULL, 0 };
		idx = (uint16_t)pf->n_buckets++;
	}
	bk = &pf->buckets[idx];
	bk->keywords = kl_xrealloc(bk->keywords, (bk->n + 1) * sizeof(size_t));
	bk->keywords[bk->n++] = kw;
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			pf->table[pair(a[i], b[j])] = idx;
}

kl_prefilter *kl_prefilter_new(const kl_ruleset *rs)
{
	kl_prefilter *pf = kl_xcalloc(1, sizeof(*pf));
	size_t i, j, before;

	pf->buckets = kl_xcalloc(1, sizeof(bucket));
	pf->n_buckets = 1;
	for (i = 0; i < rs->len; i++) {
		const kl_rule *r = rs->rules[i];

		if (r->kind != KL_RULE_PATTERN)
			continue;
		for (j = 0; j < r->keywords.len; j++) {
			before = pf->n_keywords;
			size_t kw = find_or_add_keyword(pf, r->keywords.items[j]);

			keyword_add_rule(&pf->keywords[kw], i);
			if (kw == before)
				table_enter(pf, kw);
		}
	}
	return pf;
}

void kl_prefilter_free(kl_prefilter *pf)
{
	size_t i;

	if (!pf)
		return;
	for (i = 0; i < pf->n_keywords; i++) {
		free(pf->keywords[i].lower);
		free(pf->keywords[i].rules);
	}
	for (i = 0; i < pf->n_buckets; i++)
		free(pf->buckets[i].keywords);
	free(pf->keywords);
	free(pf->buckets);
	free(pf);
}

static bool equal_folded(const unsigned char *p, const char *low, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(p[i]) != (unsigned char)low[i])
			return false;
	return true;
}

static void push_hit(kl_hits *out, size_t pos, const keyword *k)
{
	if (out->len == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 64;
		out->items = kl_xrealloc(out->items, out->cap * sizeof(kl_hit));
	}
	out->items[out->len++] = (kl_hit){ pos, k->rules, k->n_rules };
}

static void check_bucket(const kl_prefilter *pf, const bucket *bk,
			 const unsigned char *d, size_t len, size_t pos,
			 kl_hits *out)
{
	size_t i;

	for (i = 0; i < bk->n; i++) {
		const keyword *k = &pf->keywords[bk->keywords[i]];

		if (k->len <= len - pos && equal_folded(d + pos, k->lower, k->len))
			push_hit(out, pos, k);
	}
}

void kl_prefilter_scan(const kl_prefilter *pf, const char *data, size_t len,
		       kl_hits *out)
{
	const unsigned char *d = (const unsigned char *)data;
	size_t pos;

	if (!pf->n_keywords || len < 2)
		return;
	for (pos = 0; pos + 1 < len; pos++) {
		uint16_t idx = pf->table[pair(d[pos], d[pos + 1])];

		if (idx)
			check_bucket(pf, &pf->buckets[idx], d, len, pos, out);
	}
}
