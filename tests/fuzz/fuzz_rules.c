/*
 * Fuzz target: the rule-file loader (kl_ruleset_add_json) over arbitrary
 * bytes. Accepted files are compiled and checked against their own
 * examples (template expansion, prefilter, engine); refused ones must say
 * which file and why.
 */
#include "fuzz.h"

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kl_ruleset *rs = kl_ruleset_new();
	kl_error err = { 0 };

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (kl_ruleset_add_json(rs, "fuzz.json", (const char *)data, size,
				&err) == 0) {
		FUZZ_ASSERT(err.message == NULL, "message on success: %s",
			    err.message);
		FUZZ_ASSERT(kl_ruleset_compile(rs, &err) == 0, "%s",
			    err.message);
		kl_ruleset_check(rs, 1, devnull);
	} else {
		FUZZ_ASSERT(err.message && strncmp(err.message, "fuzz.json: ",
						   11) == 0,
			    "error does not name the file: %s",
			    err.message ? err.message : "(none)");
	}
	kl_error_clear(&err);
	kl_ruleset_free(rs);
	return 0;
}
