/*
 * The ruleset's inside, shared by the rules loader and the engine: the rule
 * array and the keyword prefilter built from it when the set is compiled.
 */
#ifndef KL_RULES_INT_H
#define KL_RULES_INT_H

#include "keyleak.h"

typedef struct kl_prefilter kl_prefilter;

struct kl_ruleset {
	kl_rule **rules;
	size_t len;
	bool compiled;
	kl_prefilter *prefilter;
	bool distrust_verifiers; /* see kl_ruleset_distrust_verifiers */
};

/* A keyword occurrence: where, and which rules it triggers. */
typedef struct kl_hit {
	size_t pos;
	const size_t *rules; /* indices into the ruleset */
	size_t n_rules;
} kl_hit;

typedef struct kl_hits {
	kl_hit *items;
	size_t len;
	size_t cap;
} kl_hits;

kl_prefilter *kl_prefilter_new(const kl_ruleset *rs);
void kl_prefilter_free(kl_prefilter *pf);
/* Append every keyword occurrence in data (case-insensitive), in order. */
void kl_prefilter_scan(const kl_prefilter *pf, const char *data, size_t len,
		       kl_hits *out);
/*
 * Rule i's regex compiled with PCRE2_ANCHORED (a pcre2_code_8 *), or NULL
 * if that failed. PCRE2's JIT ignores PCRE2_ANCHORED given at match time
 * and falls back to the interpreter, which also re-validates the UTF-8 of
 * the whole window on every call; anchoring at compile time keeps the JIT.
 * Compiled on first use (thread-safe), so short scans pay only for the
 * rules they hit.
 */
const void *kl_prefilter_anchored(const kl_prefilter *pf, size_t rule);

#endif
