/*
 * Unit tests for src/verify without any network: the base URL check,
 * findings that get a reason instead of a request (no verifier, an
 * untrusted verifier, a secret a header cannot carry, policy findings),
 * --only-live, and the verifier schema's checks in the rule loader.
 * Secrets here are short fakes matching no built-in rule.
 */
#include <stdlib.h>
#include <string.h>

#include "keyleak.h"
#include "internal.h"
#include "unit.h"

static kl_verifier untrusted_verifier = { .untrusted = true };

static kl_rule plain_rule = {
	.id = "unit-plain", .name = "Plain", .kind = KL_RULE_PATTERN,
	.severity = KL_SEV_HIGH,
};
static kl_rule untrusted_rule = {
	.id = "unit-untrusted", .name = "Untrusted", .kind = KL_RULE_PATTERN,
	.severity = KL_SEV_HIGH, .verify = &untrusted_verifier,
};
static kl_rule policy_rule = {
	.id = "unit-policy", .name = "Policy", .kind = KL_RULE_POLICY,
	.severity = KL_SEV_LOW,
};

static void base_urls(void)
{
	static const char *const good[] = {
		"http://127.0.0.1:8080", "https://gateway.internal",
		"http://127.0.0.1:1/", "http://[::1]:9000",
	};
	static const char *const bad[] = {
		"", "127.0.0.1:8080", "ftp://h", "http://", "http:///x",
		"http://h/path", "http://user@h", "http://h?x=1", "http://h:1/a/",
		"http://h\n", "file:///etc/passwd",
	};
	kl_error err = { 0 };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++)
		CHECK(kl_verify_check_base_url(good[i], &err) == 0,
		      "base URL accepted: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(kl_verify_check_base_url(bad[i], &err) != 0 &&
		      err.message && strstr(err.message,
					    "KEYLEAK_VERIFY_BASE_URL"),
		      "base URL refused: #%zu", i);
		kl_error_clear(&err);
	}
}

static void add(kl_report *r, const kl_rule *rule, const char *secret)
{
	kl_match m = { .rule = rule, .start = 0, .line = 1, .column = 1,
		       .end_column = 2 };

	if (rule->kind == KL_RULE_POLICY) {
		kl_findings_add_policy(&r->findings, rule, ".env", "policy");
		return;
	}
	m.len = strlen(secret);
	kl_findings_add_match(&r->findings, "f.txt", secret, &m);
}

static void reasons_without_requests(void)
{
	kl_verify_opts o = { 2, 1000, 3, "http://127.0.0.1:1" };
	kl_report r;
	kl_findings *fs = &r.findings;

	kl_report_init(&r, "scan", ".", NULL);
	add(&r, &plain_rule, "unitplain0001");
	add(&r, &untrusted_rule, "unituntrusted0002");
	add(&r, &plain_rule, "has space");
	add(&r, &policy_rule, NULL);
	kl_verify_report(&r, &o);
	CHECK(r.verify.ran && r.verify.requests == 0, "no request made");
	CHECK(fs->items[0].verification.status == KL_VERIFY_UNKNOWN,
	      "no verifier: unknown");
	CHECK_STR(fs->items[0].verification.detail,
		  "no verifier for this rule", "no verifier: detail");
	CHECK(fs->items[0].verification.checked_at == 0, "no check time");
	CHECK(fs->items[1].verification.detail &&
	      strstr(fs->items[1].verification.detail, "repository"),
	      "untrusted verifier: said why");
	CHECK(fs->items[3].verification.status == KL_VERIFY_NONE,
	      "policy finding: not verified");
	CHECK(r.verify.unknown == 3 && r.verify.live == 0, "counts");
	CHECK_STR(kl_verify_status_name(KL_VERIFY_LIVE), "live", "name");
	CHECK_STR(kl_verify_status_name(KL_VERIFY_REVOKED), "revoked", "name");

	fs->items[1].verification.status = KL_VERIFY_LIVE;
	kl_verify_only_live(&r);
	CHECK(fs->len == 1 && fs->items[0].rule == &untrusted_rule,
	      "--only-live keeps the live finding");
	CHECK(r.verify.hidden == 3 && r.verify.only_live, "hidden counted");
	kl_report_free(&r);
}

static int load(const char *verify_json, kl_error *err)
{
	kl_buf b = KL_BUF_INIT;
	kl_ruleset *rs = kl_ruleset_new();
	int rc;

	kl_buf_printf(&b, "{\"provider\": \"U\", \"rules\": [{\"id\": \"u-key\","
		      " \"name\": \"U\", \"description\": \"d\", \"remediation\":"
		      " \"r\", \"severity\": \"high\", \"regex\": \"(uk_[a-z]{8})\","
		      " \"secret_group\": 1, \"keywords\": [\"uk_\"], \"verify\": %s"
		      "}]}", verify_json);
	rc = kl_ruleset_add_json(rs, "unit.json", b.data, b.len, err);
	kl_buf_free(&b);
	kl_ruleset_free(rs);
	return rc;
}

static void schema(void)
{
	static const char *const bad[] = {
		"1",
		"{\"url\": \"https://h/x\", \"live\": [200], \"revoked\": [401]}",
		"{\"url\": \"https://h/x\", \"headers\": {\"A\": \"{secret}\"}, "
		"\"live\": [200], \"revoked\": [600]}",
		"{\"url\": \"https://h/x\", \"headers\": {\"A\": \"{secret}\"}, "
		"\"live\": [], \"revoked\": [401]}",
		"{\"url\": \"https://h/x\", \"headers\": {\"A\": \"{secret}\"}, "
		"\"live\": [200], \"revoked\": [401], \"live_body\": []}",
		"{\"url\": \"https://h/x\", \"headers\": {\"A\": \"a\\r\\nB: {secret}\"},"
		" \"live\": [200], \"revoked\": [401]}",
		"{\"url\": \"https://h:443/x#{secret}\", \"live\": [200], "
		"\"revoked\": [401]}",
		"{\"url\": \"https://h/x\", \"headers\": {\"A\": \"{secret}\"}, "
		"\"secret_in_query\": true, \"live\": [200], \"revoked\": [401]}",
	};
	kl_error err = { 0 };
	size_t i;

	CHECK(load("{\"url\": \"https://h.example/x\", \"headers\": {\"A\": "
		   "\"Bearer {secret}\"}, \"live\": [200], \"revoked\": [401, 403],"
		   " \"live_body\": [\"a\", \"b\"]}", &err) == 0,
	      "a good verifier loads");
	kl_error_clear(&err);
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(load(bad[i], &err) != 0 && err.message &&
		      strstr(err.message, "unit.json: rule u-key:"),
		      "bad verifier #%zu refused", i);
		kl_error_clear(&err);
	}
}

int main(void)
{
	base_urls();
	reasons_without_requests();
	schema();
	return UNIT_DONE();
}
