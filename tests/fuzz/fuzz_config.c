/*
 * Fuzz target: the configuration reader (kl_config_load) over arbitrary
 * bytes. A refused file must be named in the error; an accepted one's
 * allow-list (stopwords, compiled regexes) is put to work by scanning
 * template-expanded keys of the built-in rules with it.
 */
#include "file_input.h"
#include "findings/config.h"

/* Each allow regex runs on every candidate secret, bounded by the match
 * limit each time; a few keys and regexes keep one input under a second. */
#define MAX_KEYS 6
#define MAX_REGEXES 4

static void use_allowlist(const kl_config *c)
{
	static char *text;
	static kl_scanner *sc;
	const kl_ruleset *rs = fuzz_builtin_rules();
	kl_matches m = { 0 };
	size_t i, j;

	if (!sc) {
		kl_buf b = KL_BUF_INIT;
		uint64_t seed = 1;

		sc = kl_scanner_new(rs);
		for (i = 0; i < kl_ruleset_count(rs); i++) {
			const kl_rule *r = kl_ruleset_get(rs, i);

			for (j = 0; j < r->examples.len && i < MAX_KEYS; j++) {
				char *k = kl_template_expand(r->examples.items[j],
							     &seed);

				kl_buf_printf(&b, "v = %s\n", k);
				free(k);
			}
		}
		text = kl_buf_detach(&b);
	}
	if (c->allow.n_regexes > MAX_REGEXES)
		return;
	kl_scanner_set_allowlist(sc, &c->allow);
	kl_scan_buffer(sc, text, strlen(text), &m, NULL);
	kl_scanner_set_allowlist(sc, NULL);
	kl_matches_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_input_file(data, size, "config.json");
	kl_config c;
	kl_error err = { 0 };

	if (kl_config_load(&c, path, &err) == 0) {
		use_allowlist(&c);
		kl_config_free(&c);
	} else {
		FUZZ_ASSERT(err.message && strncmp(err.message, path,
						   strlen(path)) == 0,
			    "error does not name the file: %s",
			    err.message ? err.message : "(none)");
	}
	kl_error_clear(&err);
	return 0;
}
