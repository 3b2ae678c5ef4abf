/*
 * Pairing: a rule's match and its partner secret (AWS key id and secret
 * access key) become one match; see kl_pair in keyleak.h.
 */
#ifndef KL_PAIR_H
#define KL_PAIR_H

#include "keyleak.h"

/*
 * Resolve the pairs among out->items[first..] (sorted and located): give
 * each match of a rule with a pair its nearest partner, drop partner-rule
 * matches that were absorbed, and matches whose required partner is
 * missing. md and mctx are the scanner's PCRE2 match data and context.
 */
void kl_pair_matches(void *md, void *mctx, const char *data, size_t len,
		     kl_matches *out, size_t first);

#endif
