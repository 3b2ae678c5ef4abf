/*
 * The shared checks that decide whether a regex match is a real key:
 * placeholder words and shapes, and case-insensitive word lists.
 */
#ifndef KL_CHECKS_H
#define KL_CHECKS_H

#include "keyleak.h"

/* True if s contains any word of words, ignoring ASCII case. */
bool kl_contains_word_ci(const char *s, size_t len, const kl_strlist *words);

#endif
