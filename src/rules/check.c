/*
 * Owns `keyleak rules --check`: every rule must find each of its own
 * examples (expanded from templates) and none of its negative examples,
 * and no other rule may claim its examples. Prints TAP lines.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/structure.h"
#include "rules/rules_int.h"

static uint64_t example_seed(uint64_t seed, const char *id, size_t i)
{
	uint64_t h = seed ^ 0xcbf29ce484222325ULL;
	const char *p;

	for (p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	return h ^ (i * 0x9E3779B97F4A7C15ULL);
}

/* Which rules find something in text: 1 if r does, and other rules' ids. */
static bool scan_for(kl_scanner *sc, const kl_rule *r, const char *text,
		     kl_strlist *others)
{
	kl_matches m = { 0 };
	bool found = false;
	size_t i;

	kl_scan_buffer(sc, text, strlen(text), &m, NULL);
	for (i = 0; i < m.len; i++) {
		if (m.items[i].rule == r)
			found = true;
		else if (others)
			kl_strlist_push(others, m.items[i].rule->id);
	}
	kl_matches_free(&m);
	return found;
}

static int check_rule(kl_scanner *sc, const kl_rule *r, uint64_t seed,
		      kl_buf *why)
{
	size_t i, j;
	int failures = 0;

	if (r->examples.len == 0) {
		kl_buf_printf(why, " no examples;");
		failures++;
	}
	for (i = 0; i < r->examples.len; i++) {
		uint64_t s = example_seed(seed, r->id, i);
		char *text = kl_template_expand(r->examples.items[i], &s);
		kl_strlist others = { 0 };

		/* Negative examples stay as expanded: random checksums are
		 * wrong, which is the bait they stand for. */
		kl_rule_complete_example(r, text);
		if (!scan_for(sc, r, text, &others)) {
			kl_buf_printf(why, " example %zu not found;", i + 1);
			failures++;
		}
		for (j = 0; j < others.len; j++) {
			kl_buf_printf(why, " example %zu also found by %s;",
				      i + 1, others.items[j]);
			failures++;
		}
		kl_strlist_free(&others);
		free(text);
	}
	for (i = 0; i < r->negative_examples.len; i++) {
		uint64_t s = example_seed(seed, r->id, 1000 + i);
		char *text = kl_template_expand(r->negative_examples.items[i], &s);

		if (scan_for(sc, r, text, NULL)) {
			kl_buf_printf(why, " negative example %zu matched;",
				      i + 1);
			failures++;
		}
		free(text);
	}
	return failures;
}

int kl_ruleset_check(const kl_ruleset *rs, uint64_t seed, FILE *out)
{
	kl_scanner *sc = kl_scanner_new(rs);
	int failures = 0;
	size_t i;

	for (i = 0; i < rs->len; i++) {
		const kl_rule *r = rs->rules[i];
		kl_buf why = KL_BUF_INIT;
		int f;

		if (r->kind != KL_RULE_PATTERN) {
			fprintf(out, "ok %zu - %s (policy rule, no examples)\n",
				i + 1, r->id);
			continue;
		}
		f = check_rule(sc, r, seed, &why);
		if (f)
			fprintf(out, "not ok %zu - %s (%s):%s\n", i + 1, r->id,
				r->origin, why.data);
		else
			fprintf(out, "ok %zu - %s: %zu examples, %zu negative\n",
				i + 1, r->id, r->examples.len,
				r->negative_examples.len);
		failures += f;
		kl_buf_free(&why);
	}
	kl_scanner_free(sc);
	return failures;
}
