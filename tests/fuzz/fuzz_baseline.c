/*
 * Fuzz target: the baseline reader (kl_baseline_load) over arbitrary
 * bytes, JSON or SARIF. An accepted baseline filters a small report: every
 * finding it drops must be one whose fingerprint it holds, and the counts
 * must add up.
 */
#include "file_input.h"
#include "findings/baseline.h"

static const char *const fingerprints[] = {
	"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210",
	"", "x",
};

static void filter(const kl_baseline *b)
{
	const kl_ruleset *rs = fuzz_small_rules();
	size_t n = sizeof(fingerprints) / sizeof(fingerprints[0]), i, kept = 0;
	kl_report r;

	kl_report_init(&r, "scan", ".", rs);
	r.findings.items = kl_xcalloc(n, sizeof(kl_finding));
	r.findings.len = r.findings.cap = n;
	for (i = 0; i < n; i++) {
		kl_finding *f = &r.findings.items[i];

		f->rule = kl_ruleset_get(rs, 0);
		f->path = kl_xstrdup("a.txt");
		f->fingerprint = kl_xstrdup(fingerprints[i]);
		f->count = 1;
		kept += !kl_baseline_has(b, fingerprints[i]);
	}
	kl_baseline_filter(b, &r);
	FUZZ_ASSERT(r.findings.len == kept && r.summary.baselined == n - kept,
		    "kept %zu of %zu, expected %zu", r.findings.len, n, kept);
	for (i = 0; i < r.findings.len; i++)
		FUZZ_ASSERT(!kl_baseline_has(b, r.findings.items[i].fingerprint),
			    "kept a baselined finding");
	kl_report_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_input_file(data, size, "baseline.json");
	kl_baseline *b = NULL;
	kl_error err = { 0 };

	if (kl_baseline_load(&b, path, &err) == 0) {
		FUZZ_ASSERT(b != NULL, "no baseline on success");
		filter(b);
	} else {
		FUZZ_ASSERT(b == NULL && err.message &&
			    strncmp(err.message, path, strlen(path)) == 0,
			    "error does not name the file: %s",
			    err.message ? err.message : "(none)");
	}
	kl_baseline_free(b);
	kl_error_clear(&err);
	return 0;
}
