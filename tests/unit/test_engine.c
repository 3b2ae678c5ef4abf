/*
 * Unit tests for the rule loader and the engine: rule-file validation
 * messages, keyword prefilter + anchored regex, placeholder checks,
 * location (line, column in code points), suppression, content
 * classification, redaction and fingerprints.
 */
#include <stdlib.h>
#include <string.h>

#include "keyleak.h"
#include "rules/rules_int.h"
#include "unit.h"

static kl_ruleset *builtin(void)
{
	kl_ruleset *rs = kl_ruleset_new();
	kl_error err = { 0 };

	if (kl_ruleset_add_builtin(rs, &err) || kl_ruleset_compile(rs, &err)) {
		printf("not ok - builtin rules: %s\n", err.message);
		exit(1);
	}
	return rs;
}

/* A key for rule id, from its first example template. */
static char *make_key(const kl_ruleset *rs, const char *id, uint64_t seed)
{
	const kl_rule *r = kl_ruleset_find(rs, id);
	char *key;

	if (!r)
		return kl_xstrdup("");
	key = kl_template_expand(r->examples.items[0], &seed);
	kl_rule_complete_example(r, key);
	return key;
}

static kl_matches scan(kl_scanner *sc, const char *text)
{
	kl_matches m = { 0 };

	kl_scan_buffer(sc, text, strlen(text), &m, NULL);
	return m;
}

static void test_loader_errors(void)
{
	static const struct {
		const char *json;
		const char *want;
	} cases[] = {
		{ "{", "invalid JSON" },
		{ "{\"rules\": 3}", "\"rules\" array" },
		{ "{\"rules\": [{\"id\": \"a-b\", \"name\": \"n\", \"description\": \"d\","
		  "\"remediation\": \"r\", \"severity\": \"high\", \"regex\": \"(ab\","
		  "\"keywords\": [\"ab\"]}]}", "rule a-b: invalid regex at offset 3" },
		{ "{\"rules\": [{\"id\": \"a-b\", \"name\": \"n\", \"description\": \"d\","
		  "\"remediation\": \"r\", \"severity\": \"high\", \"regex\": \"ab\","
		  "\"keywords\": [\"ab\"], \"colour\": 1}]}", "unknown field \"colour\"" },
		{ "{\"rules\": [{\"id\": \"a-b\", \"name\": 5}]}", "\"name\" must be a string" },
		{ "{\"rules\": [{\"id\": \"A B\"}]}", "kebab-case" },
		{ "{\"rules\": [{\"id\": \"a-b\", \"name\": \"n\", \"description\": \"d\","
		  "\"remediation\": \"r\", \"severity\": \"urgent\"}]}", "severity must be" },
		{ "{\"rules\": [{\"id\": \"a-b\", \"name\": \"n\", \"description\": \"d\","
		  "\"remediation\": \"r\", \"severity\": \"low\", \"regex\": \"ab\","
		  "\"keywords\": []}]}", "at least one literal" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kl_ruleset *rs = kl_ruleset_new();
		kl_error err = { 0 };
		int rc = kl_ruleset_add_json(rs, "x.json", cases[i].json,
					     strlen(cases[i].json), &err);

		CHECK(rc < 0 && err.message && strstr(err.message, "x.json") &&
		      strstr(err.message, cases[i].want),
		      "loader refuses case %zu: %s", i,
		      err.message ? err.message : "(accepted)");
		kl_error_clear(&err);
		kl_ruleset_free(rs);
	}
}

static void test_every_family_found(const kl_ruleset *rs, kl_scanner *sc)
{
	size_t i;

	for (i = 0; i < kl_ruleset_count(rs); i++) {
		const kl_rule *r = kl_ruleset_get(rs, i);
		kl_buf text = KL_BUF_INIT;
		kl_matches m;
		char *key;

		if (r->kind != KL_RULE_PATTERN)
			continue;
		key = make_key(rs, r->id, 42 + i);
		kl_buf_printf(&text, "first line\n  key = \"%s\"\n", key);
		m = scan(sc, text.data);
		/* Context rules' first example holds the context too. */
		CHECK(m.len == 1 && m.items[0].rule == r &&
		      m.items[0].line == 2 &&
		      memmem(key, strlen(key), text.data + m.items[0].start,
			     m.items[0].len),
		      "%s: generated key found, once, on line 2", r->id);
		kl_matches_free(&m);
		kl_buf_free(&text);
		free(key);
	}
}

static void test_placeholders(kl_scanner *sc)
{
	static const char *const bait[] = {
		"OPENAI_API_KEY=sk-proj-YOUR_KEY_HERE",
		"sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		"key: sk-...", "api_key=<your_key>", "GOOGLE_API_KEY=AIza...",
		"task-manager desk-lamp hf_model_dir gsk_config risk-assessment",
		"os.environ[\"OPENAI_API_KEY\"]", "process.env.GROQ_API_KEY",
	};
	size_t i;

	for (i = 0; i < sizeof(bait) / sizeof(bait[0]); i++) {
		kl_matches m = scan(sc, bait[i]);

		CHECK(m.len == 0, "placeholder not a finding: %s", bait[i]);
		kl_matches_free(&m);
	}
}

static void test_placeholder_words(const kl_ruleset *rs)
{
	const kl_rule *r = kl_ruleset_find(rs, "groq-api-key");

	CHECK(kl_is_placeholder(r, "gsk_thisIsATestKeyAbc", 21),
	      "word 'Test' marks a placeholder");
	CHECK(kl_is_placeholder(r, "gsk_aaaaaaaaaaaaaaaaaaaa", 24),
	      "run of one character marks a placeholder");
	CHECK(kl_is_placeholder(r, "gsk_abcdefghijKLMNOP", 20),
	      "counting sequence marks a placeholder");
	CHECK(!kl_is_placeholder(r, "gsk_Q7mZp2LwX9vRt4Kd8sHn", 24),
	      "random body is not a placeholder");
}

static void test_location_and_suppression(const kl_ruleset *rs,
					  kl_scanner *sc)
{
	char *key = make_key(rs, "groq-api-key", 7);
	kl_buf text = KL_BUF_INIT;
	kl_matches m;

	/* "é" is two bytes but one column. */
	kl_buf_printf(&text, "a\r\nclé = %s\nx = %s # keyleak:allow\n", key, key);
	m = scan(sc, text.data);
	CHECK(m.len == 2, "two matches (%zu)", m.len);
	if (m.len == 2) {
		CHECK(m.items[0].line == 2 && m.items[0].column == 7,
		      "line 2 column 7 in code points (got %zu:%zu)",
		      m.items[0].line, m.items[0].column);
		CHECK(m.items[0].end_column == 7 + strlen(key),
		      "end column past the key");
		CHECK(!m.items[0].suppressed && m.items[1].suppressed,
		      "keyleak:allow suppresses only its own line");
	}
	kl_matches_free(&m);
	kl_buf_free(&text);
	free(key);
}

static void test_content(void)
{
	static const char utf16[] = { '\xFF', '\xFE', 'h', 0, 'i', 0 };
	kl_buf out = KL_BUF_INIT;

	CHECK(kl_content_is_binary("ab\0cd", 5), "NUL means binary");
	CHECK(!kl_content_is_binary("abcd", 4), "text is not binary");
	CHECK(kl_content_utf16_to_utf8(utf16, sizeof(utf16), &out) &&
	      out.len == 2 && memcmp(out.data, "hi", 2) == 0,
	      "UTF-16LE with BOM is transcoded");
	CHECK(kl_content_is_lfs_pointer(
		      "version https://git-lfs.github.com/spec/v1\noid sha256:ab\n",
		      56), "LFS pointer recognised");
	kl_buf_free(&out);
}

static void test_redaction(const kl_ruleset *rs, kl_scanner *sc)
{
	char *key = make_key(rs, "openai-project-key", 3);
	kl_findings fs = { 0 };
	kl_matches m = scan(sc, key);
	kl_finding *f;
	char *again;

	CHECK(m.len == 1, "project key found");
	if (m.len != 1)
		goto out;
	f = kl_findings_add_match(&fs, "a.py", key, &m.items[0]);
	CHECK(strncmp(f->redacted, "sk-proj-", 8) == 0 &&
	      strstr(f->redacted, key + strlen(key) - 4) &&
	      strlen(f->redacted) < 20, "redacted keeps prefix and last four: %s",
	      f->redacted);
	CHECK(!strstr(f->fingerprint, key + 8) && strlen(f->fingerprint) == 32,
	      "fingerprint is a hash");
	again = kl_fingerprint(f->rule->id, "a.py", key, strlen(key));
	CHECK(strcmp(again, f->fingerprint) == 0,
	      "fingerprint is stable (no line in it)");
	free(again);
	again = kl_fingerprint(f->rule->id, "b.py", key, strlen(key));
	CHECK(strcmp(again, f->fingerprint) != 0, "fingerprint depends on path");
	free(again);
out:
	kl_findings_free(&fs);
	kl_matches_free(&m);
	free(key);
}

static void test_match_limit(void)
{
	static const char json[] =
		"{\"rules\": [{\"id\": \"slow\", \"name\": \"n\", \"description\": \"d\","
		"\"remediation\": \"r\", \"severity\": \"low\","
		"\"regex\": \"(a|a)+(a|a)+(a|a)+[bc]\", \"keywords\": [\"aa\"]}]}";
	kl_ruleset *rs = kl_ruleset_new();
	kl_error err = { 0 };
	kl_strlist hit = { 0 };
	kl_matches m = { 0 };
	kl_scanner *sc;
	char text[200];
	int limits;

	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	CHECK(kl_ruleset_add_json(rs, "slow.json", json, strlen(json), &err) == 0 &&
	      kl_ruleset_compile(rs, &err) == 0, "catastrophic rule loads");
	sc = kl_scanner_new(rs);
	limits = kl_scan_buffer(sc, text, 40, &m, &hit);
	CHECK(limits > 0 && hit.len == 1 && strcmp(hit.items[0], "slow") == 0,
	      "catastrophic backtracking is bounded and reported");
	kl_strlist_free(&hit);
	kl_matches_free(&m);
	kl_scanner_free(sc);
	kl_ruleset_free(rs);
	kl_error_clear(&err);
}


/* Every distinct keyword of the pattern rules, lowercased. */
static size_t rule_keywords(const kl_ruleset *rs, char ***out)
{
	char **kw = NULL;
	size_t n = 0, i, j, k;

	for (i = 0; i < rs->len; i++) {
		const kl_rule *r = rs->rules[i];

		for (j = 0; r->kind == KL_RULE_PATTERN && j < r->keywords.len; j++) {
			char *low = kl_xstrdup(r->keywords.items[j]);

			for (k = 0; low[k]; k++)
				if (low[k] >= 'A' && low[k] <= 'Z')
					low[k] = (char)(low[k] + 32);
			for (k = 0; k < n && strcmp(kw[k], low); k++)
				;
			if (k < n) {
				free(low);
				continue;
			}
			kw = kl_xrealloc(kw, (n + 1) * sizeof(*kw));
			kw[n++] = low;
		}
	}
	*out = kw;
	return n;
}

static bool at_folded(const char *d, size_t len, size_t pos, const char *kw)
{
	size_t i, n = strlen(kw);

	if (n > len - pos)
		return false;
	for (i = 0; i < n; i++) {
		char c = d[pos + i];

		if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != kw[i])
			return false;
	}
	return true;
}

/*
 * The prefilter against a plain search: text made of the keywords'
 * own bytes (so near misses abound), every keyword planted in random case
 * at random places, one at offset 0 and one ending on the last byte; the
 * positions reported, with multiplicity, must be exactly the plain ones.
 * Run at several lengths so the 32- and 64-byte steps and the tail meet
 * keywords at every alignment.
 */
static void test_prefilter_exact(const kl_ruleset *rs, const char *path)
{
	static const char alphabet[] = "apikeysk-_./tAIZaghpr8o0Ss: \n";
	char **kw;
	size_t n_kw = rule_keywords(rs, &kw), round, bad = 0, total = 0;
	uint64_t seed = 20261130;

	for (round = 0; round < 40; round++) {
		size_t len = 64 + (size_t)(kl_random_next(&seed) % 6000), i, p, k;
		char *d = kl_xmalloc(len);
		kl_hits hits = { 0 };
		size_t *got = kl_xcalloc(len, sizeof(*got));

		for (i = 0; i < len; i++)
			d[i] = alphabet[kl_random_next(&seed) % (sizeof(alphabet) - 1)];
		for (k = 0; k < n_kw; k++) {
			size_t kl = strlen(kw[k]);

			p = k == 0 ? 0 : k == 1 ? len - kl
					: (size_t)(kl_random_next(&seed) % (len - kl));
			for (i = 0; i < kl; i++) {
				char c = kw[k][i];

				if (c >= 'a' && c <= 'z' && kl_random_next(&seed) % 2)
					c = (char)(c - 32);
				d[p + i] = c;
			}
		}
		kl_prefilter_scan(rs->prefilter, d, len, &hits);
		for (i = 0; i < hits.len; i++)
			if (hits.items[i].pos < len)
				got[hits.items[i].pos]++;
			else
				bad++;
		for (p = 0; p < len; p++) {
			size_t want = 0;

			for (k = 0; k < n_kw; k++)
				want += at_folded(d, len, p, kw[k]);
			bad += want != got[p];
			total += want;
		}
		free(got);
		free(hits.items);
		free(d);
	}
	CHECK(bad == 0 && total > 0,
	      "prefilter (%s) reports exactly the keyword occurrences a plain "
	      "search finds (%zu keywords, %zu occurrences, %zu differences)",
	      path, n_kw, total, bad);
	for (size_t k = 0; k < n_kw; k++)
		free(kw[k]);
	free(kw);
}

int main(void)
{
	kl_ruleset *rs = builtin();
	kl_scanner *sc = kl_scanner_new(rs);

	test_loader_errors();
	test_every_family_found(rs, sc);
	test_placeholders(sc);
	test_placeholder_words(rs);
	test_location_and_suppression(rs, sc);
	test_content();
	test_redaction(rs, sc);
	test_match_limit();
	test_prefilter_exact(rs, "AVX2 where the CPU has it");
	kl_scanner_free(sc);
	kl_ruleset_free(rs);
	setenv("KEYLEAK_NO_AVX2", "1", 1);
	rs = builtin();
	test_prefilter_exact(rs, "portable loop");
	kl_ruleset_free(rs);
	return UNIT_DONE();
}
