/*
 * Structure checks named by rules ("check": "crc32-base62"): each verifies
 * what a regex cannot (a checksum, an encoded header) and can complete a
 * randomly generated candidate into a valid one, so rule examples stay
 * templates and tests still get keys that pass.
 */
#ifndef KL_STRUCTURE_H
#define KL_STRUCTURE_H

#include "keyleak.h"

typedef struct kl_check kl_check;

/* The check called name, or NULL if there is none. */
const kl_check *kl_check_find(const char *name);
/* Names of every check, comma-separated (for error messages). */
const char *kl_check_names(void);
/* Does the check make the shared placeholder test redundant? */
bool kl_check_replaces_placeholder(const kl_check *c);
/* Does the check run the placeholder test itself, on a part of the
 * secret (a connection URL's password)? */
bool kl_check_reads_placeholder(const kl_check *c);
/* Does the secret pass the check? rule (may be NULL) supplies the data
 * some checks read, such as the claims a JSON Web Token must carry. */
bool kl_check_verify(const kl_check *c, const kl_rule *rule, const char *s,
		     size_t len);
/* Is a "claims" entry well formed (name=value or name!=value)? */
bool kl_jwt_claim_valid(const char *claim);
/* Rewrite a candidate the rule's regex matched, in place (same length),
 * so that it passes; its random characters supply the random parts. */
void kl_check_complete(const kl_check *c, char *s, size_t len);

#endif
