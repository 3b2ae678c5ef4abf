/*
 * Unit tests for rule contexts (src/rules/context.c, src/engine/context.c):
 * the loader's messages for a bad "context", "before" ending exactly at
 * the secret, the "near" line window on both sides, and families (a
 * provider named in the assignment beats one named nearby, the nearest
 * beats the farther, a fallback only when no other rule of its family
 * found the secret).
 */
#include <stdlib.h>
#include <string.h>

#include "keyleak.h"
#include "unit.h"

#define RULE(id, ctx)                                                        \
	"{\"id\": \"" id "\", \"name\": \"n\", \"description\": \"d\","       \
	"\"remediation\": \"r\", \"severity\": \"high\","                     \
	"\"regex\": \"(?<![a-z0-9])(zq[0-9a-f]{10})(?![a-z0-9])\","             \
	"\"secret_group\": 1, \"keywords\": [\"zq\"]" ctx "}"

static kl_ruleset *load(const char *rules_json, kl_error *err)
{
	kl_ruleset *rs = kl_ruleset_new();
	kl_buf json = KL_BUF_INIT;

	kl_buf_printf(&json, "{\"provider\": \"P\", \"rules\": [%s]}",
		      rules_json);
	if (kl_ruleset_add_json(rs, "x.json", json.data, json.len, err) ||
	    kl_ruleset_compile(rs, err)) {
		kl_ruleset_free(rs);
		rs = NULL;
	}
	kl_buf_free(&json);
	return rs;
}

/* load() that must succeed; NULL (and a failed check) otherwise. */
static kl_ruleset *load_ok(const char *rules_json, const char *what)
{
	kl_error err = { 0 };
	kl_ruleset *rs = load(rules_json, &err);

	CHECK(rs != NULL, "%s load: %s", what, err.message ? err.message : "ok");
	kl_error_clear(&err);
	return rs;
}

static void test_loader_errors(void)
{
	static const struct {
		const char *ctx;
		const char *want;
	} cases[] = {
		{ ", \"context\": 3", "field \"context\": must be an object" },
		{ ", \"context\": {}", "needs \"before\", \"near\" or \"family\"" },
		{ ", \"context\": {\"colour\": 1}", "unknown field \"colour\"" },
		{ ", \"context\": {\"before\": \"(ab\"}",
		  "invalid \"before\" regex at offset 3" },
		{ ", \"context\": {\"near\": [\"ok\", \"[\"]}",
		  "invalid \"near\" regex at offset 1" },
		{ ", \"context\": {\"near\": []}", "non-empty array" },
		{ ", \"context\": {\"near\": [\"a\"], \"lines\": 101}",
		  "integer from 0 to 100" },
		{ ", \"context\": {\"near\": [\"a\"], \"lines\": 1.5}",
		  "integer from 0 to 100" },
		{ ", \"context\": {\"before\": \"a\", \"lines\": 2}",
		  "\"lines\" needs \"near\"" },
		{ ", \"context\": {\"before\": \"a\", \"fallback\": true}",
		  "\"fallback\" needs \"family\"" },
		{ ", \"context\": {\"family\": \"\"}", "non-empty string" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kl_buf json = KL_BUF_INIT;
		kl_error err = { 0 };
		kl_ruleset *rs;

		kl_buf_printf(&json, RULE("a-b", "%s"), cases[i].ctx);
		rs = load(json.data, &err);
		CHECK(!rs && err.message && strstr(err.message, "x.json: rule a-b") &&
		      strstr(err.message, cases[i].want),
		      "context case %zu refused: %s", i,
		      err.message ? err.message : "(accepted)");
		kl_ruleset_free(rs);
		kl_error_clear(&err);
		kl_buf_free(&json);
	}
}

/* Ids of the rules that report something in text, space-separated. */
static char *found(const kl_ruleset *rs, const char *text)
{
	kl_scanner *sc = kl_scanner_new(rs);
	kl_matches m = { 0 };
	kl_buf out = KL_BUF_INIT;
	size_t i;

	kl_scan_buffer(sc, text, strlen(text), &m, NULL);
	kl_buf_printf(&out, "%s", "");
	for (i = 0; i < m.len; i++)
		kl_buf_printf(&out, "%s%s", i ? " " : "", m.items[i].rule->id);
	kl_matches_free(&m);
	kl_scanner_free(sc);
	return out.data;
}

/* text on one TAP line: newlines shown as '|', long runs cut */
static char *one_line(const char *text)
{
	char *s = kl_xstrdup(text), *p;

	for (p = s; *p; p++)
		if (*p == '\n')
			*p = '|';
	if (strlen(s) > 60)
		strcpy(s + 50, "...");
	return s;
}

#define EXPECT(rs, text, want)                                               \
	do {                                                                 \
		char *got_ = found(rs, text), *what_ = one_line(text);       \
		CHECK_STR(got_, want, what_);                                \
		free(got_);                                                  \
		free(what_);                                                 \
	} while (0)

static void test_before(void)
{
	kl_ruleset *rs = load_ok(RULE("k", ", \"context\": {\"before\": "
				       "\"key\\\\s*=\\\\s*|^ENV\\\\s+\"}"),
				 "rule with before");
	kl_buf long_line = KL_BUF_INIT;
	size_t i;

	if (!rs)
		return;
	EXPECT(rs, "key = zq3f9a1c7e2b\n", "k");
	EXPECT(rs, "id = zq3f9a1c7e2b\n", "");
	EXPECT(rs, "key = x zq3f9a1c7e2b\n", "");  /* must end at the secret */
	EXPECT(rs, "a\nENV zq3f9a1c7e2b\n", "k");   /* ^ is a line start */
	EXPECT(rs, "a ENV zq3f9a1c7e2b\n", "");
	/* A window cut mid-line (256 bytes) is not a line start. */
	for (i = 0; i < 300; i++)
		kl_buf_printf(&long_line, "x");
	kl_buf_printf(&long_line, "%s", "ENV zq3f9a1c7e2b\n");
	EXPECT(rs, long_line.data, "");
	kl_buf_free(&long_line);
	kl_ruleset_free(rs);
}

static void test_near_window(void)
{
	kl_ruleset *rs = load_ok(RULE("k", ", \"context\": {\"near\": "
				       "[\"PROVIDER\"], \"lines\": 2}"),
				 "rule with near");

	if (!rs)
		return;
	EXPECT(rs, "PROVIDER zq3f9a1c7e2b\n", "k");
	EXPECT(rs, "PROVIDER\n\nv = zq3f9a1c7e2b\n", "k");
	EXPECT(rs, "PROVIDER\n\n\nv = zq3f9a1c7e2b\n", "");
	EXPECT(rs, "v = zq3f9a1c7e2b\n\nPROVIDER\n", "k");
	EXPECT(rs, "v = zq3f9a1c7e2b\n\n\nPROVIDER\n", "");
	EXPECT(rs, "v = zq3f9a1c7e2b\n", "");
	kl_ruleset_free(rs);
}

static void test_family(void)
{
	kl_ruleset *rs = load_ok(
		RULE("any", ", \"context\": {\"family\": \"f\", \"fallback\": true}") ","
		RULE("alpha", ", \"context\": {\"near\": [\"alpha\"], \"lines\": 5, \"family\": \"f\"}") ","
		RULE("beta", ", \"context\": {\"near\": [\"beta\"], \"lines\": 5, \"family\": \"f\"}") ","
		"{\"id\": \"named\", \"name\": \"n\", \"description\": \"d\","
		"\"remediation\": \"r\", \"severity\": \"high\","
		"\"regex\": \"gamma_key=(zq[0-9a-f]{10})\", \"secret_group\": 1,"
		"\"keywords\": [\"gamma\"], \"context\": {\"family\": \"f\"}},"
		RULE("other", ""), "family rules");

	if (!rs)
		return;
	/* "other" has no family: it always reports its own finding. */
	EXPECT(rs, "v = zq3f9a1c7e2b\n", "any other");
	EXPECT(rs, "alpha\nv = zq3f9a1c7e2b\n", "alpha other");
	EXPECT(rs, "beta\n\n\nalpha\nv = zq3f9a1c7e2b\n", "alpha other");
	EXPECT(rs, "alpha\n\n\nbeta\nv = zq3f9a1c7e2b\n", "beta other");
	EXPECT(rs, "alpha beta\nv = zq3f9a1c7e2b\n", "alpha other");
	EXPECT(rs, "alpha\ngamma_key=zq3f9a1c7e2b\n", "named other");
	EXPECT(rs, "alpha\n\n\n\n\n\n\nv = zq3f9a1c7e2b\n", "any other");
	kl_ruleset_free(rs);
}

/* Columns and keyleak:allow carry over between keys on one line (the
 * locator keeps them per line instead of rescanning it per key). */
static void test_many_on_one_line(void)
{
	kl_ruleset *rs = load_ok(RULE("k", ""), "plain rule");
	const char *text = "a=zq3f9a1c7e2b \xC3\xA9 b=zq9e8d7c6b5a # keyleak:allow\n"
			   "c=zq1a2b3c4d5f d=zq5f4e3d2c1b\n";
	kl_scanner *sc;
	kl_matches m = { 0 };

	if (!rs)
		return;
	sc = kl_scanner_new(rs);
	kl_scan_buffer(sc, text, strlen(text), &m, NULL);
	CHECK(m.len == 4, "four keys: %zu", m.len);
	if (m.len == 4) {
		CHECK(m.items[0].column == 3 && m.items[1].column == 20 &&
		      m.items[1].end_column == 32,
		      "columns in code points: %zu %zu %zu", m.items[0].column,
		      m.items[1].column, m.items[1].end_column);
		CHECK(m.items[0].suppressed && m.items[1].suppressed,
		      "keyleak:allow covers every key of its line");
		CHECK(!m.items[2].suppressed && !m.items[3].suppressed &&
		      m.items[2].line == 2 && m.items[2].column == 3 &&
		      m.items[3].column == 18,
		      "the next line starts afresh: line %zu col %zu %zu",
		      m.items[2].line, m.items[2].column, m.items[3].column);
	}
	kl_matches_free(&m);
	kl_scanner_free(sc);
	kl_ruleset_free(rs);
}

int main(void)
{
	test_loader_errors();
	test_before();
	test_near_window();
	test_family();
	test_many_on_one_line();
	return UNIT_DONE();
}
