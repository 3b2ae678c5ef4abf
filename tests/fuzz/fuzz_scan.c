/*
 * Fuzz target: the scanner over arbitrary bytes with the built-in rules,
 * the way every source runs it (kl_scan_content: size, LFS, UTF-16 and
 * binary classification, engine, findings). Checks that matches lie inside
 * the scanned text, locations are sane, and that the JSON report of the
 * findings parses and holds no secret in full. A small input holding
 * "{N:class}" fields is scanned once more with them expanded, so seeds can
 * carry key shapes (rule templates) instead of key-like literals.
 */
#include "fuzz.h"

static void check_matches(const char *text, size_t len, const kl_matches *m)
{
	size_t i;

	for (i = 0; i < m->len; i++) {
		const kl_match *x = &m->items[i];

		FUZZ_ASSERT(x->len > 0 && x->start <= len &&
			    x->len <= len - x->start, "match %zu+%zu of %zu",
			    x->start, x->len, len);
		FUZZ_ASSERT(x->line >= 1 && x->column >= 1 &&
			    x->end_column > x->column, "location %zu:%zu-%zu",
			    x->line, x->column, x->end_column);
		FUZZ_ASSERT(i == 0 || m->items[i - 1].start <= x->start,
			    "matches out of order");
	}
	(void)text;
}

/* The engine alone, on the raw bytes and on a UTF-16 transcoding. */
static void scan_raw(kl_scanner *sc, const char *data, size_t len)
{
	kl_matches m = { 0 };
	kl_strlist limits = { 0 };
	kl_buf u8 = KL_BUF_INIT;

	kl_content_is_binary(data, len);
	kl_content_is_lfs_pointer(data, len);
	kl_scan_buffer(sc, data, len, &m, &limits);
	check_matches(data, len, &m);
	kl_matches_free(&m);
	if (kl_content_utf16_to_utf8(data, len, &u8)) {
		kl_scan_buffer(sc, u8.data, u8.len, &m, &limits);
		check_matches(u8.data, u8.len, &m);
		kl_matches_free(&m);
	}
	kl_buf_free(&u8);
	kl_strlist_free(&limits);
}

/* What a source does, then the JSON report of it. */
static void scan_as_source(kl_scanner *sc, const kl_ruleset *rs,
			   const char *data, size_t len)
{
	kl_scan_opts o = { 0 };
	kl_report_opts ro = { KL_FORMAT_JSON, false, false, true };
	kl_report r;
	kl_buf out = KL_BUF_INIT;
	cJSON *root;
	size_t i;

	o.rules = rs;
	o.max_file_size = KL_DEFAULT_MAX_FILE_SIZE;
	o.threads = 1;
	o.verbose = true;
	kl_report_init(&r, "scan", "fuzz", rs);
	kl_scan_content(sc, &o, &r, "fuzz.txt", data, len);
	kl_findings_sort(&r.findings);
	kl_report_json(&r, &ro, &out);
	root = fuzz_parse_json(&out, "JSON");
	for (i = 0; i < r.findings.len; i++) {
		const char *s = r.findings.items[i].secret;

		FUZZ_ASSERT(!s || !fuzz_contains(out.data, out.len, s),
			    "JSON report holds a secret in full");
	}
	cJSON_Delete(root);
	kl_buf_free(&out);
	kl_report_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static kl_scanner *sc;
	const kl_ruleset *rs = fuzz_builtin_rules();

	if (!sc)
		sc = kl_scanner_new(rs);
	scan_raw(sc, (const char *)data, size);
	scan_as_source(sc, rs, (const char *)data, size);
	if (size <= 4096 && !memchr(data, '\0', size) && memchr(data, '{', size)) {
		char *tmpl = kl_xstrndup((const char *)data, size);
		uint64_t seed = size;
		char *text = kl_template_expand(tmpl, &seed);

		scan_as_source(sc, rs, text, strlen(text));
		free(text);
		free(tmpl);
	}
	return 0;
}
