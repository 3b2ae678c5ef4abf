/*
 * Rule contexts at scan time (see src/rules/context.h for the field): the
 * engine asks whether a match's surroundings make it a key, and which rule
 * of a family names a secret that several rules found.
 */
#ifndef KL_ENGINE_CONTEXT_H
#define KL_ENGINE_CONTEXT_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <pcre2.h>

#include "rules/context.h"

/* Per-scanner memory of the "near" hits in the buffer being scanned;
 * reset before each buffer. */
typedef struct kl_context_cache kl_context_cache;
kl_context_cache *kl_context_cache_new(void);
void kl_context_cache_free(kl_context_cache *cc);
void kl_context_cache_reset(kl_context_cache *cc);

/* True if the text around the secret at start satisfies c ("before" and
 * "near"). md/mctx are the scanner's; their contents are overwritten. */
bool kl_context_accept(const kl_rule_context *c, kl_context_cache *cc,
		       const char *data, size_t len, size_t start,
		       pcre2_match_data *md, pcre2_match_context *mctx);

/*
 * Among matches sorted by position, keep one per (secret, family): a rule
 * whose regex names the provider (no "near") first, then the rule whose "near"
 * context matched on the nearest line, fallbacks last, ties by id. Returns the
 * new count; the kept matches stay in order.
 */
size_t kl_context_resolve(kl_match *ms, size_t n, kl_context_cache *cc,
			  const char *data, size_t len, pcre2_match_data *md,
			  pcre2_match_context *mctx);

#endif
