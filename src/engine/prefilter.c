/*
 * Owns the keyword prefilter: one pass over the bytes that finds every
 * occurrence of every rule keyword, case-insensitively, so regexes only run
 * where a key can start. On x86-64 with SSSE3 a Teddy-style filter (nibble
 * masks over each keyword's first five bytes, eight buckets, pshufb) skips
 * 16 positions at a time, 32 with AVX2; elsewhere, and for every candidate it keeps, a
 * 64 Ki-entry table indexed by the next two bytes (all case variants
 * pre-entered) finds the few keywords to compare. Also owns each rule's
 * regex compiled anchored, which is what the engine runs at a hit.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KL_HAVE_TEDDY 1
#endif

#define TEDDY_BUCKETS 8
/* Five bytes, not three: common trigrams such as "api" (in every URL
 * path) and "sta" (status) start keywords, and with ~85 keywords in eight
 * buckets the nibble sets of "api-", "api." and "api_" also let "api/"
 * through. With three bytes a web log sent one position in 40 to the exact
 * test, with four one in 85, with five one in 36,000 (the 1 GiB bench log:
 * 0.51 s, then 0.20 s of CPU). */
#define TEDDY_BYTES 5

typedef struct keyword {
	char *lower;      /* the keyword, lowercased */
	size_t len;
	size_t *rules;    /* rule indices it triggers */
	size_t n_rules;
} keyword;

/* Keywords sharing their first two bytes (case-folded), and the folded
 * third bytes they go on with: with hundreds of keywords (provider names
 * in context rules) common English bigrams lead to a bucket, and most
 * candidates fail on the third byte before any keyword is compared. */
typedef struct bucket {
	size_t *keywords;
	size_t n;
	uint32_t third[8];        /* bit c: some keyword's folded byte 2 is c */
} bucket;

struct kl_prefilter {
	keyword *keywords;
	size_t n_keywords;
	bucket *buckets;          /* buckets[0] unused */
	size_t n_buckets;
	uint16_t table[65536];    /* two bytes -> bucket index, 0 = none */
	/* Per rule, compiled on first use (most rules never hit in a short
	 * scan such as a pre-commit hook): 0 not yet, ANCHORED_NONE failed or
	 * not a pattern rule, else a pcre2_code *. */
	_Atomic uintptr_t *anchored;
	kl_rule *const *rules;
	size_t n_rules;
	bool teddy;               /* the SIMD filter may run */
	bool teddy_avx2;          /* ... 32 bytes a step */
	/* Teddy: per keyword byte j, the buckets whose keywords accept a byte
	 * with that low (lo[j]) and high (hi[j]) nibble. */
	uint8_t lo[TEDDY_BYTES][16];
	uint8_t hi[TEDDY_BYTES][16];
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
		pf->buckets[pf->n_buckets] = (bucket){ NULL, 0, { 0 } };
		idx = (uint16_t)pf->n_buckets++;
	}
	bk = &pf->buckets[idx];
	bk->keywords = kl_xrealloc(bk->keywords, (bk->n + 1) * sizeof(size_t));
	bk->keywords[bk->n++] = kw;
	if (pf->keywords[kw].len > 2)
		bk->third[k[2] >> 5] |= 1u << (k[2] & 31);
	else /* a two-byte keyword: any third byte */
		memset(bk->third, 0xFF, sizeof(bk->third));
	for (i = 0; i < 2; i++)
		for (j = 0; j < 2; j++)
			pf->table[pair(a[i], b[j])] = idx;
}

/* The byte values a folded keyword byte stands for: itself and, for a
 * letter, its other case. Returns how many (1 or 2). */
static int case_variants(unsigned char c, unsigned char v[2])
{
	v[0] = c;
	if (c >= 'a' && c <= 'z') {
		v[1] = (unsigned char)(c - 32);
		return 2;
	}
	return 1;
}

/* Nibble sets a group of keywords accepts at byte j, as 16-bit sets. */
typedef struct nibbles {
	uint16_t lo[TEDDY_BYTES], hi[TEDDY_BYTES];
} nibbles;

static void nibbles_add(nibbles *n, const keyword *k)
{
	unsigned char v[2];
	int j, i, nv;

	for (j = 0; j < TEDDY_BYTES; j++) {
		if ((size_t)j >= k->len) { /* any byte */
			n->lo[j] = n->hi[j] = 0xFFFF;
			continue;
		}
		nv = case_variants((unsigned char)k->lower[j], v);
		for (i = 0; i < nv; i++) {
			n->lo[j] |= (uint16_t)(1u << (v[i] & 15));
			n->hi[j] |= (uint16_t)(1u << (v[i] >> 4));
		}
	}
}

/* How many byte triples the group lets through: its false-positive cost. */
static double nibbles_cost(const nibbles *n)
{
	double c = 1;
	int j;

	for (j = 0; j < TEDDY_BYTES; j++)
		c *= (double)__builtin_popcount(n->lo[j]) *
		     (double)__builtin_popcount(n->hi[j]);
	return c;
}

/*
 * Put each keyword in the bucket where it adds the fewest accepted byte
 * triples (greedy; keywords sharing a prefix land together), then write
 * the per-nibble bucket masks.
 */
static void teddy_build(kl_prefilter *pf)
{
	nibbles b[TEDDY_BUCKETS];
	size_t i;
	int j, best, x;

	memset(b, 0, sizeof(b));
	for (i = 0; i < pf->n_keywords; i++) {
		double best_delta = 0;

		best = 0;
		for (j = 0; j < TEDDY_BUCKETS; j++) {
			nibbles t = b[j];
			double before = b[j].lo[0] ? nibbles_cost(&b[j]) : 0;
			double delta;

			nibbles_add(&t, &pf->keywords[i]);
			delta = nibbles_cost(&t) - before;
			if (j == 0 || delta < best_delta) {
				best_delta = delta;
				best = j;
			}
		}
		nibbles_add(&b[best], &pf->keywords[i]);
	}
	memset(pf->lo, 0, sizeof(pf->lo));
	memset(pf->hi, 0, sizeof(pf->hi));
	for (j = 0; j < TEDDY_BUCKETS; j++)
		for (i = 0; i < TEDDY_BYTES; i++)
			for (x = 0; x < 16; x++) {
				if (b[j].lo[i] & (1u << x))
					pf->lo[i][x] |= (uint8_t)(1u << j);
				if (b[j].hi[i] & (1u << x))
					pf->hi[i][x] |= (uint8_t)(1u << j);
			}
#ifdef KL_HAVE_TEDDY
	pf->teddy = pf->n_keywords > 0 && __builtin_cpu_supports("ssse3");
	pf->teddy_avx2 = pf->teddy && __builtin_cpu_supports("avx2");
#endif
}

#define ANCHORED_NONE ((uintptr_t)1)

/* Rule i's regex again, anchored, with its original options. */
static uintptr_t compile_anchored(const kl_rule *r)
{
	uint32_t opts = 0;
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_code *code;

	if (r->kind != KL_RULE_PATTERN || !r->code || !r->regex)
		return ANCHORED_NONE;
	pcre2_pattern_info(r->code, PCRE2_INFO_ARGOPTIONS, &opts);
	code = pcre2_compile((PCRE2_SPTR)r->regex, PCRE2_ZERO_TERMINATED,
			     opts | PCRE2_ANCHORED, &errcode, &erroff, NULL);
	if (!code)
		return ANCHORED_NONE;
	pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	return (uintptr_t)code;
}

const void *kl_prefilter_anchored(const kl_prefilter *pf, size_t rule)
{
	uintptr_t v, expected = 0;

	if (rule >= pf->n_rules)
		return NULL;
	v = atomic_load_explicit(&pf->anchored[rule], memory_order_acquire);
	if (!v) {
		/* Threads may race here; the loser frees its copy. */
		v = compile_anchored(pf->rules[rule]);
		if (!atomic_compare_exchange_strong(&pf->anchored[rule],
						    &expected, v)) {
			if (v != ANCHORED_NONE)
				pcre2_code_free((pcre2_code *)v);
			v = expected;
		}
	}
	return v == ANCHORED_NONE ? NULL : (const void *)v;
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
	teddy_build(pf);
	pf->rules = rs->rules;
	pf->n_rules = rs->len;
	pf->anchored = kl_xcalloc(rs->len ? rs->len : 1, sizeof(*pf->anchored));
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
	for (i = 0; i < pf->n_rules; i++)
		if (pf->anchored[i] > ANCHORED_NONE)
			pcre2_code_free((pcre2_code *)pf->anchored[i]);
	free((void *)pf->anchored);
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

	if (pos + 2 < len) {
		unsigned char c = lower(d[pos + 2]);

		if (!(bk->third[c >> 5] & (1u << (c & 31))))
			return;
	}
	for (i = 0; i < bk->n; i++) {
		const keyword *k = &pf->keywords[bk->keywords[i]];

		if (k->len <= len - pos && equal_folded(d + pos, k->lower, k->len))
			push_hit(out, pos, k);
	}
}

/* The exact test at one position: table lookup, then keyword compares. */
static inline void check_pos(const kl_prefilter *pf, const unsigned char *d,
			     size_t len, size_t pos, kl_hits *out)
{
	uint16_t idx = pf->table[pair(d[pos], d[pos + 1])];

	if (idx)
		check_bucket(pf, &pf->buckets[idx], d, len, pos, out);
}

#ifdef KL_HAVE_TEDDY
/* Buckets matching byte j of a keyword at each of 16 positions. */
__attribute__((target("ssse3")))
static inline __m128i teddy_byte(const kl_prefilter *pf, int j, __m128i v)
{
	const __m128i low4 = _mm_set1_epi8(0x0F);
	__m128i lo = _mm_and_si128(v, low4);
	__m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), low4);

	return _mm_and_si128(
		_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)pf->lo[j]), lo),
		_mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)pf->hi[j]), hi));
}

/*
 * Candidate positions 16 at a time: a position survives when some bucket
 * accepts its five bytes. Survivors get the exact test. Starts at from;
 * returns the first position not yet examined.
 */
__attribute__((target("ssse3")))
static size_t teddy_scan(const kl_prefilter *pf, const unsigned char *d,
			 size_t len, size_t from, kl_hits *out)
{
	const __m128i zero = _mm_setzero_si128();
	size_t i = from;
	int j;

	for (; i + 16 + TEDDY_BYTES - 1 <= len; i += 16) {
		__m128i m = teddy_byte(pf, 0, _mm_loadu_si128((const __m128i *)(d + i)));
		unsigned bits;

		for (j = 1; j < TEDDY_BYTES; j++)
			m = _mm_and_si128(m, teddy_byte(pf, j,
					  _mm_loadu_si128((const __m128i *)(d + i + j))));
		bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(m, zero)) ^ 0xFFFFu;
		while (bits) {
			check_pos(pf, d, len, i + (size_t)__builtin_ctz(bits), out);
			bits &= bits - 1;
		}
	}
	return i;
}

/* The same with AVX2: both 128-bit lanes hold the same masks, so one
 * shuffle classifies 32 positions. */
__attribute__((target("avx2")))
static inline __m256i teddy_byte32(const kl_prefilter *pf, int j, __m256i v)
{
	const __m256i low4 = _mm256_set1_epi8(0x0F);
	__m256i lo = _mm256_and_si256(v, low4);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
	__m256i lo_m = _mm256_broadcastsi128_si256(
		_mm_loadu_si128((const __m128i *)pf->lo[j]));
	__m256i hi_m = _mm256_broadcastsi128_si256(
		_mm_loadu_si128((const __m128i *)pf->hi[j]));

	return _mm256_and_si256(_mm256_shuffle_epi8(lo_m, lo),
				_mm256_shuffle_epi8(hi_m, hi));
}

__attribute__((target("avx2")))
static size_t teddy_scan32(const kl_prefilter *pf, const unsigned char *d,
			   size_t len, kl_hits *out)
{
	const __m256i zero = _mm256_setzero_si256();
	size_t i = 0;
	int j;

	for (; i + 32 + TEDDY_BYTES - 1 <= len; i += 32) {
		__m256i m = teddy_byte32(pf, 0,
			_mm256_loadu_si256((const __m256i *)(d + i)));
		uint32_t bits;

		for (j = 1; j < TEDDY_BYTES; j++)
			m = _mm256_and_si256(m, teddy_byte32(pf, j,
				_mm256_loadu_si256((const __m256i *)(d + i + j))));
		bits = ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(m, zero));
		while (bits) {
			check_pos(pf, d, len, i + (size_t)__builtin_ctz(bits), out);
			bits &= bits - 1;
		}
	}
	return i;
}
#endif

void kl_prefilter_scan(const kl_prefilter *pf, const char *data, size_t len,
		       kl_hits *out)
{
	const unsigned char *d = (const unsigned char *)data;
	size_t pos = 0;

	if (!pf->n_keywords || len < 2)
		return;
#ifdef KL_HAVE_TEDDY
	if (pf->teddy_avx2)
		pos = teddy_scan32(pf, d, len, out);
	if (pf->teddy)
		pos = teddy_scan(pf, d, len, pos, out);
#endif
	for (; pos + 1 < len; pos++)
		check_pos(pf, d, len, pos, out);
}
