/*
 * Owns the keyword prefilter: one pass over the bytes that finds every
 * occurrence of every rule keyword, case-insensitively, so regexes only run
 * where a key can start. Also owns each rule's regex compiled anchored,
 * which is what the engine runs at a hit.
 *
 * Candidates: a position may start a keyword when a hash of its next four
 * bytes (case folded) is in the table of the keywords' filter bytes (four
 * of each keyword, see gram_offset), or, for the 17 keywords shorter than
 * four bytes, when its next two or three bytes can start one of them. Each
 * candidate gets the exact test: the short keywords by the position's
 * first two bytes, the longer ones by its four, then byte compares.
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
#define KL_HAVE_AVX2 1
#endif

/*
 * Why not a SIMD filter over the first bytes of every keyword (Teddy: eight
 * buckets of nibble masks, as here until issue 20): with 481 keywords each
 * bucket holds sixty, every nibble set fills up, and nearly every position
 * inside a word passed (1 GB of redis's blobs: 4.0 s of CPU in all).
 * Vectorscan's literal matcher on the same keywords and bytes: 1.0 s for
 * the matching alone, plus 20 ms to compile the set at each start. Here:
 * 1.5 s in all with the portable loop, 0.87 s with AVX2, which hashes and
 * looks up (gather) eight words at a time and puts the short keywords
 * through a small Teddy (three bytes, two or three keywords a bucket, so
 * its masks stay sparse).
 */
#define SHORT_BUCKETS 8
#define GRAM_BITS 17               /* 128 Ki entries: 0.3 % of them set */
#define GRAM_FOLD 0x20202020u      /* ASCII letters to lower case */
#define GRAM_MULT 0x9E3779B1u      /* Fibonacci hashing */

typedef struct keyword {
	char *lower;      /* the keyword, lowercased */
	size_t len;
	size_t *rules;    /* rule indices it triggers */
	size_t n_rules;
	size_t gram_at;   /* where its four filter bytes start (see gram_offset) */
} keyword;

/* Keywords shorter than four bytes sharing their first two (case-folded),
 * and the folded third bytes they go on with: most candidates fail on the
 * third byte before any keyword is compared. */
typedef struct bucket {
	size_t *keywords;
	size_t n;
	uint32_t third[8];        /* bit c: some keyword's folded byte 2 is c */
} bucket;

/* Teddy masks: per byte j, the buckets accepting its low and high nibble. */
typedef struct teddy_masks {
	uint8_t lo[3][16];
	uint8_t hi[3][16];
} teddy_masks;

/* Keywords of four bytes or more sharing their first four (folded): a slot
 * of an open-addressing table. */
typedef struct gram_slot {
	uint32_t gram;            /* the four bytes; 0 = empty */
	size_t *keywords;
	size_t n;
} gram_slot;

struct kl_prefilter {
	keyword *keywords;
	size_t n_keywords;
	/* Keywords shorter than four bytes, by their first two. */
	bucket *buckets;          /* buckets[0] unused */
	size_t n_buckets;
	uint16_t table[65536];    /* two bytes -> bucket index, 0 = none */
	/* Longer keywords by their first four. */
	gram_slot *slots;
	unsigned slot_bits;       /* log2 of the number of slots */
	/* Per rule, compiled on first use (most rules never hit in a short
	 * scan such as a pre-commit hook): 0 not yet, ANCHORED_NONE failed or
	 * not a pattern rule, else a pcre2_code *. */
	_Atomic uintptr_t *anchored;
	kl_rule *const *rules;
	size_t n_rules;
	/* Candidate table, 1 where a keyword of four bytes or more may start,
	 * by a hash of four bytes OR-ed with GRAM_FOLD. The fold also merges
	 * some punctuation (_ with DEL, @ with `) and control bytes with
	 * punctuation: the exact test sorts those out. Shorter keywords are
	 * candidates where table[] has their first two bytes. */
	uint8_t gram4[1u << GRAM_BITS];
	/* For AVX2: gram4 as bits, and the short keywords' Teddy masks over
	 * their three bytes, folded. */
	bool avx2;
	uint32_t gram4_bits[(1u << GRAM_BITS) / 32];
	teddy_masks shorts;
};

static unsigned char lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* Four bytes lowercased, as one number (the same for any byte order). */
static uint32_t fold4(const unsigned char *p)
{
	return (uint32_t)lower(p[0]) | (uint32_t)lower(p[1]) << 8 |
	       (uint32_t)lower(p[2]) << 16 | (uint32_t)lower(p[3]) << 24;
}

static gram_slot *slot_for(const kl_prefilter *pf, uint32_t gram)
{
	size_t mask = ((size_t)1 << pf->slot_bits) - 1;
	size_t i = ((gram * GRAM_MULT) >> (32 - pf->slot_bits)) & mask;

	while (pf->slots[i].gram && pf->slots[i].gram != gram)
		i = (i + 1) & mask;
	return &pf->slots[i];
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
	pf->keywords[pf->n_keywords] = (keyword){ low, n, NULL, 0, 0 };
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

static uint32_t gram_hash(uint32_t four_bytes)
{
	return ((four_bytes | GRAM_FOLD) * GRAM_MULT) >> (32 - GRAM_BITS);
}

static uint32_t load4(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Byte j of short keyword k as the scan sees it (folded), or -1 for any
 * byte (a two-byte keyword's third). */
static int short_byte_of(const unsigned char *k, size_t len, size_t j)
{
	return j < len ? (k[j] | 0x20) : -1;
}

/* How many three-byte sequences Teddy bucket b lets through. */
static double short_cost(const teddy_masks *t, unsigned b)
{
	double cost = 1;
	size_t j, x;

	for (j = 0; j < 3; j++) {
		unsigned lo = 0, hi = 0;

		for (x = 0; x < 16; x++) {
			lo += (t->lo[j][x] >> b) & 1;
			hi += (t->hi[j][x] >> b) & 1;
		}
		cost *= (double)(lo * hi);
	}
	return cost;
}

static void short_put(teddy_masks *t, const unsigned char *k, size_t len,
		      unsigned b)
{
	size_t j, x;

	for (j = 0; j < 3; j++) {
		int c = short_byte_of(k, len, j);

		for (x = 0; x < 16; x++) {
			if (c < 0 || (size_t)(c & 15) == x)
				t->lo[j][x] |= (uint8_t)(1u << b);
			if (c < 0 || (size_t)(c >> 4) == x)
				t->hi[j][x] |= (uint8_t)(1u << b);
		}
	}
}

/* A keyword of two or three bytes in the Teddy masks, in the bucket where
 * it adds the fewest accepted sequences (an empty bucket costs nothing, so
 * the first eight get one each; a two-byte keyword, which accepts any
 * third byte, then keeps its bucket to itself). */
static void short_enter(kl_prefilter *pf, const unsigned char *k, size_t len)
{
	unsigned b, best = 0;
	double best_delta = 0;

	for (b = 0; b < SHORT_BUCKETS; b++) {
		teddy_masks trial = pf->shorts;
		double delta;

		short_put(&trial, k, len, b);
		delta = short_cost(&trial, b) - short_cost(&pf->shorts, b);
		if (b == 0 || delta < best_delta) {
			best_delta = delta;
			best = b;
		}
	}
	short_put(&pf->shorts, k, len, best);
}

/*
 * Which four bytes of a keyword the filter looks for: the first four with
 * the most distinct bytes. For nearly every keyword that is its start; for
 * "-----begin" it is "-beg", since "----" starts 5.8 million positions a
 * gigabyte in code (comment rules, Markdown) and "-beg" almost none.
 */
static size_t gram_offset(const keyword *k)
{
	size_t at, best = 0, best_distinct = 0, i, j;

	for (at = 0; at + 4 <= k->len; at++) {
		size_t distinct = 0;

		for (i = 0; i < 4; i++) {
			for (j = 0; j < i; j++)
				if (k->lower[at + i] == k->lower[at + j])
					break;
			distinct += j == i;
		}
		if (distinct > best_distinct) {
			best_distinct = distinct;
			best = at;
		}
	}
	return best;
}

/* Enter each keyword's filter bytes in the candidate and exact tables. */
static void grams_build(kl_prefilter *pf)
{
	size_t i;

	/* At most half the slots full: probes stay short. */
	pf->slot_bits = 4;
	while (((size_t)1 << pf->slot_bits) < 2 * pf->n_keywords)
		pf->slot_bits++;
	pf->slots = kl_xcalloc((size_t)1 << pf->slot_bits, sizeof(gram_slot));

	for (i = 0; i < pf->n_keywords; i++) {
		const unsigned char *k =
			(const unsigned char *)pf->keywords[i].lower;

		if (pf->keywords[i].len >= 4) {
			size_t at = pf->keywords[i].gram_at =
				gram_offset(&pf->keywords[i]);
			uint32_t h = gram_hash(load4(k + at));
			gram_slot *sl = slot_for(pf, fold4(k + at));

			pf->gram4[h] = 1;
			pf->gram4_bits[h / 32] |= 1u << (h % 32);
			sl->gram = fold4(k + at);
			sl->keywords = kl_xrealloc(sl->keywords,
						   (sl->n + 1) * sizeof(size_t));
			sl->keywords[sl->n++] = i;
		} else {
			table_enter(pf, i);
			short_enter(pf, k, pf->keywords[i].len);
		}
	}
#ifdef KL_HAVE_AVX2
	/* KEYLEAK_NO_AVX2 runs the portable loop, for tests and comparison. */
	pf->avx2 = __builtin_cpu_supports("avx2") && !getenv("KEYLEAK_NO_AVX2");
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
	size_t i, j;

	pf->buckets = kl_xcalloc(1, sizeof(bucket));
	pf->n_buckets = 1;
	for (i = 0; i < rs->len; i++) {
		const kl_rule *r = rs->rules[i];

		if (r->kind != KL_RULE_PATTERN)
			continue;
		for (j = 0; j < r->keywords.len; j++) {
			size_t kw = find_or_add_keyword(pf, r->keywords.items[j]);

			keyword_add_rule(&pf->keywords[kw], i);
		}
	}
	grams_build(pf);
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
	for (i = 0; pf->slots && i < ((size_t)1 << pf->slot_bits); i++)
		free(pf->slots[i].keywords);
	free(pf->slots);
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

/* Hits stay in position order: one found through bytes inside it
 * (gram_at > 0) may start before the last one pushed, never by more than
 * a keyword's length. */
static void push_hit(kl_hits *out, size_t pos, const keyword *k)
{
	size_t i;

	if (out->len == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 64;
		out->items = kl_xrealloc(out->items, out->cap * sizeof(kl_hit));
	}
	for (i = out->len; i > 0 && out->items[i - 1].pos > pos; i--)
		out->items[i] = out->items[i - 1];
	out->items[i] = (kl_hit){ pos, k->rules, k->n_rules };
	out->len++;
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

/* Keywords of four bytes or more whose filter bytes are at pos. */
static void check_long(const kl_prefilter *pf, const unsigned char *d,
		       size_t len, size_t pos, kl_hits *out)
{
	const gram_slot *sl;
	size_t i, start;

	if (len - pos < 4)
		return;
	sl = slot_for(pf, fold4(d + pos));
	for (i = 0; i < sl->n; i++) {
		const keyword *k = &pf->keywords[sl->keywords[i]];

		if (k->gram_at > pos)
			continue;
		start = pos - k->gram_at;
		if (k->len <= len - start &&
		    equal_folded(d + start, k->lower, k->len))
			push_hit(out, start, k);
	}
}

/* The exact test at one position: the short keywords starting there, by
 * its first two bytes, then the longer ones by its four. */
static inline void check_pos(const kl_prefilter *pf, const unsigned char *d,
			     size_t len, size_t pos, kl_hits *out)
{
	uint16_t idx = pf->table[pair(d[pos], d[pos + 1])];

	if (idx)
		check_bucket(pf, &pf->buckets[idx], d, len, pos, out);
	check_long(pf, d, len, pos, out);
}

/* The positions of d[from, from + 64) that may start a keyword, as bits.
 * Branch-free: a branch per position would be mispredicted at every
 * candidate. Needs from + 64 + 3 <= len. */
static uint64_t candidates64(const kl_prefilter *pf, const unsigned char *d,
			     size_t from)
{
	uint64_t bits = 0;
	int k;

	for (k = 0; k < 64; k++) {
		const unsigned char *p = d + from + (size_t)k;
		unsigned hit = pf->gram4[gram_hash(load4(p))] |
			       (pf->table[pair(p[0], p[1])] != 0);

		bits |= (uint64_t)hit << k;
	}
	return bits;
}

static void check_bits(const kl_prefilter *pf, const unsigned char *d,
		       size_t len, size_t from, uint64_t bits, kl_hits *out)
{
	while (bits) {
		check_pos(pf, d, len, from + (size_t)__builtin_ctzll(bits), out);
		bits &= bits - 1;
	}
}

#ifdef KL_HAVE_AVX2
/* Short-keyword buckets matching byte j at each of 32 positions, given
 * byte j's masks in both lanes. */
__attribute__((target("avx2")))
static inline __m256i short_byte(__m256i lo_mask, __m256i hi_mask, __m256i v)
{
	const __m256i low4 = _mm256_set1_epi8(0x0F);

	return _mm256_and_si256(
		_mm256_shuffle_epi8(lo_mask, _mm256_and_si256(v, low4)),
		_mm256_shuffle_epi8(hi_mask,
			_mm256_and_si256(_mm256_srli_epi16(v, 4), low4)));
}

/* For eight four-byte words (folded), 1 where gram4_bits has their hash. */
__attribute__((target("avx2")))
static inline __m256i gram_lookup(const uint32_t *bits, __m256i words)
{
	const __m256i h = _mm256_srli_epi32(
		_mm256_mullo_epi32(words, _mm256_set1_epi32((int)GRAM_MULT)),
		32 - GRAM_BITS);
	const __m256i word = _mm256_i32gather_epi32((const int *)bits,
						    _mm256_srli_epi32(h, 5), 4);

	return _mm256_and_si256(_mm256_srlv_epi32(word,
		_mm256_and_si256(h, _mm256_set1_epi32(31))),
		_mm256_set1_epi32(1));
}

/*
 * candidates64's work 32 positions a step. Load k (k = 0..3) starts k
 * bytes further, so its eight 32-bit lanes are the four-byte words at
 * positions k, k + 4, ..., k + 28: hashed and looked up together, their
 * answers (0 or 1) shifted to byte k of each lane put all 32 in position
 * order for one movemask. Returns the first position not examined.
 */
__attribute__((target("avx2")))
static size_t scan_avx2(const kl_prefilter *pf, const unsigned char *d,
			size_t len, kl_hits *out)
{
	const __m256i fold = _mm256_set1_epi8(0x20);
	const __m256i zero = _mm256_setzero_si256();
	__m256i lo_mask[3], hi_mask[3];
	size_t i = 0;
	int k;

	/* In registers: the compiler cannot keep them there by itself, since
	 * the hits written between steps might alias the masks. */
	for (k = 0; k < 3; k++) {
		lo_mask[k] = _mm256_broadcastsi128_si256(
			_mm_loadu_si128((const __m128i *)pf->shorts.lo[k]));
		hi_mask[k] = _mm256_broadcastsi128_si256(
			_mm_loadu_si128((const __m128i *)pf->shorts.hi[k]));
	}
	for (; i + 32 + 3 <= len; i += 32) {
		const unsigned char *p = d + i;
		__m256i v0 = _mm256_or_si256(fold,
			_mm256_loadu_si256((const __m256i *)p));
		__m256i v1 = _mm256_or_si256(fold,
			_mm256_loadu_si256((const __m256i *)(p + 1)));
		__m256i v2 = _mm256_or_si256(fold,
			_mm256_loadu_si256((const __m256i *)(p + 2)));
		__m256i v3 = _mm256_or_si256(fold,
			_mm256_loadu_si256((const __m256i *)(p + 3)));
		__m256i found = _mm256_or_si256(
			_mm256_or_si256(gram_lookup(pf->gram4_bits, v0),
				_mm256_slli_epi32(gram_lookup(pf->gram4_bits, v1), 8)),
			_mm256_or_si256(
				_mm256_slli_epi32(gram_lookup(pf->gram4_bits, v2), 16),
				_mm256_slli_epi32(gram_lookup(pf->gram4_bits, v3), 24)));
		__m256i m = _mm256_and_si256(short_byte(lo_mask[0], hi_mask[0], v0),
			_mm256_and_si256(short_byte(lo_mask[1], hi_mask[1], v1),
				short_byte(lo_mask[2], hi_mask[2], v2)));
		uint32_t bits = (uint32_t)_mm256_movemask_epi8(
			_mm256_slli_epi32(found, 7));

		bits |= ~(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(m, zero));
		check_bits(pf, d, len, i, bits, out);
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
#ifdef KL_HAVE_AVX2
	if (pf->avx2)
		pos = scan_avx2(pf, d, len, out);
#endif
	for (; pos + 64 + 3 <= len; pos += 64) {
		check_bits(pf, d, len, pos, candidates64(pf, d, pos), out);
	}
	/* The last positions: too few bytes left for a four-byte load. */
	for (; pos + 1 < len; pos++)
		check_pos(pf, d, len, pos, out);
}
