/*
 * A rule's "context" (in a rule file): what must surround a match for it to
 * be a key, and which of several rules that find the same secret names it.
 * Read and compiled by the rules loader (src/rules/context.c), applied by
 * the engine (src/engine/context.c).
 */
#ifndef KL_RULES_CONTEXT_H
#define KL_RULES_CONTEXT_H

#include "keyleak.h"

/* Bytes before a secret that "before" may look at (it may span lines). */
#define KL_CONTEXT_BEFORE_BYTES 256
/* Largest "lines" window, and the bytes a window may reach on each side
 * (a minified file is one long line). */
#define KL_CONTEXT_MAX_LINES 100
#define KL_CONTEXT_NEAR_BYTES 16384

struct kl_rule_context {
	char *before;       /* regex that must end where the secret starts */
	void *before_code;  /* pcre2_code_8 *, owned */
	kl_strlist near;    /* regexes, one must match within `lines` lines */
	void **near_code;   /* pcre2_code_8 * per near entry, owned */
	unsigned lines;     /* window: the secret's line +- lines */
	char *family;       /* rules finding the same secret: one finding */
	bool fallback;      /* in its family, reported only if no other is */
};

/*
 * Read the optional "context" object of rule id (from origin) into *out
 * (left NULL when absent). Unknown fields, wrong types and an empty object
 * are errors naming origin, rule and field.
 */
int kl_rule_context_read(const void *rule_json, const char *origin,
			 const char *id, kl_rule_context **out, kl_error *err);
/* Compile the regexes (JIT); a bad one names origin, rule and offset. */
int kl_rule_context_compile(kl_rule_context *c, const char *origin,
			    const char *id, kl_error *err);
void kl_rule_context_free(kl_rule_context *c);

#endif
