/*
 * Unit tests for src/report: a report built by hand with hostile paths
 * (newline, escape, quote, backslash, invalid UTF-8, leading dash) rendered
 * as text, JSON and SARIF. Secrets here are short fakes matching no rule.
 * Set KEYLEAK_SARIF_OUT=FILE to keep the SARIF for tests/sarif-validate.sh.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyleak.h"
#include "internal.h"
#include "unit.h"

/* Like CHECK_STR, without echoing hostile bytes into the TAP output. */
#define CHECK_SAME(got, want, what)                                          \
	CHECK((got) && strcmp((got), (want)) == 0, "%s", what)

#define SECRET_A "sk-unit-AAAAbbbbCCCCdddd0001"
#define SECRET_B "unit-fake-ZZZZyyyyXXXX0002"
#define BAD_PATH "bad\xff\xfename.txt"

static kl_rule key_rule = {
	.id = "unit-key",
	.name = "Unit test key",
	.description = "A fake key format used by the unit tests",
	.remediation = "Revoke it at https://example.org/keys\nthen rotate.",
	.provider = "Unit",
	.kind = KL_RULE_PATTERN,
	.severity = KL_SEV_CRITICAL,
};

static kl_rule low_rule = {
	.id = "unit-low",
	.name = "Unit low key",
	.description = "Another fake format.",
	.remediation = "Rotate it.",
	.provider = "Unit",
	.kind = KL_RULE_PATTERN,
	.severity = KL_SEV_LOW,
};

static kl_rule policy_rule = {
	.id = "unit-policy",
	.name = "Unit policy",
	.description = "A policy check",
	.remediation = "Add it to .gitignore.",
	.provider = "keyleak",
	.kind = KL_RULE_POLICY,
	.severity = KL_SEV_MEDIUM,
};

static kl_finding *add_finding(kl_report *r, const kl_rule *rule,
			       const char *path, const char *secret)
{
	kl_findings *fs = &r->findings;
	kl_finding *f;

	fs->items = kl_xrealloc(fs->items, (fs->len + 1) * sizeof(*f));
	f = &fs->items[fs->len++];
	memset(f, 0, sizeof(*f));
	f->rule = rule;
	f->path = kl_xstrdup(path);
	f->line = 12;
	f->column = 15;
	f->end_column = 15 + (secret ? strlen(secret) : 0);
	f->count = 1;
	f->fingerprint = kl_xstrdup("3f2a9c1e0b7d4a55aaaabbbbccccddddeeeeffff0000111122223333444455556666");
	if (secret) {
		f->secret = kl_xstrdup(secret);
		f->redacted = kl_xstrdup("sk-uni…0001");
	}
	return f;
}

static void add_provenance(kl_finding *f)
{
	f->has_prov = true;
	f->prov.commit = kl_xstrdup("1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d");
	f->prov.author_name = kl_xstrdup("Ann \x1b[2JAuthor");
	f->prov.author_email = kl_xstrdup("ann@example.org");
	f->prov.author_time = 1740920709; /* 2025-03-02T13:05:09Z */
	f->prov.author_tz = 60;
	f->prov.summary = kl_xstrdup("add config");
	f->prov.in_head = true;
	kl_strlist_push(&f->prov.commits, f->prov.commit);
	kl_strlist_push(&f->prov.commits,
			"5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80");
	f->blob = kl_xstrdup("0123456789abcdef0123456789abcdef01234567");
}

static void build(kl_report *r)
{
	kl_finding *f;

	kl_report_init(r, "scan", "some/dir", NULL);
	f = add_finding(r, &key_rule, "src/we\nird\x1b[31m\"q\\.txt", SECRET_A);
	add_provenance(f);
	add_finding(r, &low_rule, BAD_PATH, SECRET_B);
	add_finding(r, &key_rule, "-rf \xe2\x80\xae.py", SECRET_A);
	f = add_finding(r, &policy_rule, ".env", NULL);
	f->line = f->column = f->end_column = 0;
	f->message = kl_xstrdup(".env is tracked\nFAKE LINE");
	r->summary.files_scanned = 120;
	r->summary.bytes_scanned = 4100000;
	r->summary.skipped_binary = 2;
	r->summary.skipped_too_large = 1;
	r->summary.unreadable = 1;
	r->summary.suppressed = 1;
	r->config_path = kl_xstrdup("/etc/keyleak.toml");
	kl_report_notice(r, KL_NOTICE_ERROR, "locked\x1b.txt", "cannot read: %s",
			 "Permission denied");
	kl_report_notice(r, KL_NOTICE_WARNING, NULL, "rule %s hit a limit",
			 "unit-key");
	kl_report_notice(r, KL_NOTICE_SKIPPED, "big.bin", "binary");
	r->incomplete = true;
}

static char *render(const kl_report *r, kl_format fmt, bool show, bool color)
{
	kl_report_opts o = { fmt, show, color, false };
	kl_buf out = KL_BUF_INIT;

	kl_report_render(r, &o, &out);
	return kl_buf_detach(&out);
}

/* cJSON does not validate UTF-8, so the test does. */
static bool valid_utf8(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n, i;

	while (*u) {
		n = *u < 0x80 ? 1 : (*u >> 5) == 6 ? 2 : (*u >> 4) == 14 ? 3
		    : (*u >> 3) == 30 ? 4 : 0;
		if (!n)
			return false;
		for (i = 1; i < n; i++)
			if ((u[i] & 0xc0) != 0x80)
				return false;
		u += n;
	}
	return true;
}

static void test_text(const kl_report *r)
{
	char *t = render(r, KL_FORMAT_TEXT, false, false);
	char *c = render(r, KL_FORMAT_TEXT, false, true);
	char *s = render(r, KL_FORMAT_TEXT, true, false);

	CHECK(!strstr(t, SECRET_A) && !strstr(t, SECRET_B),
	      "text: no full secret without --show-secrets");
	CHECK(strstr(s, SECRET_A) && strstr(s, SECRET_B),
	      "text: full secrets with --show-secrets");
	CHECK(!strchr(t, '\x1b'), "text: no raw escape byte without colour");
	CHECK(strchr(c, '\x1b') != NULL, "text: colour when asked");
	CHECK(strstr(t, "src/we\\nird\\x1b[31m\"q\\\\.txt:12:15") != NULL,
	      "text: control characters and backslash escaped in paths");
	CHECK(strstr(t, "bad\\xff\\xfename.txt") != NULL,
	      "text: invalid UTF-8 shown as \\x escapes");
	CHECK(strstr(t, "\\u202e") != NULL, "text: bidi override escaped");
	CHECK(strstr(t, ".env is tracked\\nFAKE LINE") != NULL,
	      "text: policy message shown, escaped");
	CHECK(strstr(t, "CRITICAL unit-key  Unit test key\n") != NULL,
	      "text: heading");
	CHECK(strstr(t, "  id      3f2a9c1e0b7d4a55\n") != NULL,
	      "text: short fingerprint");
	CHECK(strstr(t, "introduced in 1a2b3c4 by Ann \\x1b[2JAuthor "
			"<ann@example.org> on 2025-03-02, still in HEAD; "
			"seen in 2 commits") != NULL, "text: provenance line");
	CHECK(strstr(t, "rotate.") && strstr(t, "keys\n          then"),
	      "text: multi-line remediation stays indented");
	CHECK(strstr(t, "4 findings (2 critical, 1 medium, 1 low) in 120 files "
			"(4.1 MB); skipped 2 binary, 1 too large, 0 LFS; "
			"1 unreadable; 1 suppressed\n") != NULL,
	      "text: summary line");
	CHECK(strstr(t, "error: locked\\x1b.txt: cannot read: Permission "
			"denied\n") != NULL, "text: error notice");
	CHECK(!strstr(t, "big.bin"), "text: skipped files only with verbose");
	CHECK(strstr(t, "result INCOMPLETE: 1 error") != NULL,
	      "text: incomplete result said last");
	free(t);
	free(c);
	free(s);
}

static void test_text_empty(void)
{
	kl_report r;
	char *t;

	kl_report_init(&r, "history", ".", NULL);
	r.summary.files_scanned = 1;
	r.summary.bytes_scanned = 10;
	r.summary.commits_scanned = 3;
	r.shallow = true;
	t = render(&r, KL_FORMAT_TEXT, false, false);
	CHECK(strstr(t, "no secrets found in 1 blob (10 B) from 3 commits;") != NULL,
	      "text: clean summary");
	CHECK(strstr(t, "WARNING: history beyond the shallow boundary was not "
			"scanned") != NULL, "text: shallow warning");
	free(t);
	kl_report_free(&r);
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static void test_json_finding0(const cJSON *f)
{
	const cJSON *prov = cJSON_GetObjectItem(f, "provenance");

	CHECK_SAME(jstr(f, "path"), "src/we\nird\x1b[31m\"q\\.txt",
		  "json: odd path round-trips exactly");
	CHECK(!cJSON_GetObjectItem(f, "path_hex"), "json: no path_hex for UTF-8");
	CHECK_STR(jstr(f, "rule_id"), "unit-key", "json: rule_id");
	CHECK_STR(jstr(f, "kind"), "key", "json: kind");
	CHECK_STR(jstr(f, "severity"), "critical", "json: severity");
	CHECK(jnum(f, "line") == 12 && jnum(f, "column") == 15 &&
	      jnum(f, "end_column") == 15 + strlen(SECRET_A),
	      "json: line/column/end_column");
	CHECK_STR(jstr(f, "secret_redacted"), "sk-uni…0001", "json: redacted");
	CHECK(jnum(f, "count") == 1, "json: count");
	CHECK_STR(jstr(prov, "author_date"), "2025-03-02T14:05:09+01:00",
		  "json: author_date in the author's zone");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(prov, "in_head")), "json: in_head");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(prov, "removed_in")),
	      "json: removed_in null");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(prov, "commits")) == 2,
	      "json: commits");
}

static void test_json_others(const cJSON *fs)
{
	const cJSON *bad = cJSON_GetArrayItem(fs, 1);
	const cJSON *dash = cJSON_GetArrayItem(fs, 2);
	const cJSON *pol = cJSON_GetArrayItem(fs, 3);

	CHECK_SAME(jstr(bad, "path"), "bad\xef\xbf\xbd\xef\xbf\xbdname.txt",
		  "json: invalid bytes become U+FFFD");
	CHECK_STR(jstr(bad, "path_hex"), "626164fffe6e616d652e747874",
		  "json: path_hex keeps the exact bytes");
	CHECK_SAME(jstr(dash, "path"), "-rf \xe2\x80\xae.py",
		  "json: leading dash kept");
	CHECK_STR(jstr(pol, "kind"), "policy", "json: policy kind");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(pol, "secret_redacted")),
	      "json: policy has null secret_redacted");
	CHECK_SAME(jstr(pol, "message"), ".env is tracked\nFAKE LINE",
		  "json: policy message");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(pol, "provenance")),
	      "json: no provenance outside history");
}

static void test_json_top(const cJSON *j)
{
	const cJSON *sum = cJSON_GetObjectItem(j, "summary");
	const cJSON *cfg = cJSON_GetObjectItem(j, "config");
	const cJSON *notices = cJSON_GetObjectItem(j, "notices");

	CHECK(jnum(j, "version") == 1, "json: version 1");
	CHECK_STR(jstr(cJSON_GetObjectItem(j, "tool"), "version"), KL_VERSION,
		  "json: tool version");
	CHECK_STR(jstr(j, "command"), "scan", "json: command");
	CHECK_STR(jstr(cfg, "path"), "/etc/keyleak.toml", "json: config path");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cfg, "baseline")),
	      "json: baseline null");
	CHECK(jnum(sum, "findings") == 4 && jnum(sum, "files_scanned") == 120 &&
	      jnum(sum, "skipped_binary") == 2 && jnum(sum, "limit_hits") == 0,
	      "json: summary counters");
	CHECK(cJSON_GetArraySize(notices) == 3, "json: notices");
	CHECK_STR(jstr(cJSON_GetArrayItem(notices, 0), "kind"), "error",
		  "json: notice kind");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(notices, 1),
					       "path")), "json: notice null path");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "incomplete")) &&
	      cJSON_IsFalse(cJSON_GetObjectItem(j, "shallow")),
	      "json: incomplete/shallow");
}

static void test_json(const kl_report *r)
{
	char *t = render(r, KL_FORMAT_JSON, false, false);
	char *s = render(r, KL_FORMAT_JSON, true, false);
	cJSON *j = cJSON_Parse(t), *js = cJSON_Parse(s);
	cJSON *fs = cJSON_GetObjectItem(j, "findings");

	CHECK(j && js, "json: output parses");
	CHECK(valid_utf8(t), "json: output is valid UTF-8");
	CHECK(!strstr(t, SECRET_A) && !strstr(t, SECRET_B),
	      "json: no full secret without --show-secrets");
	CHECK(!cJSON_GetObjectItem(cJSON_GetArrayItem(fs, 0), "secret"),
	      "json: no secret field without --show-secrets");
	CHECK_STR(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(js, "findings"), 0),
		       "secret"), SECRET_A, "json: secret with --show-secrets");
	CHECK(cJSON_GetArraySize(fs) == 4, "json: four findings");
	if (cJSON_GetArraySize(fs) == 4) {
		test_json_finding0(cJSON_GetArrayItem(fs, 0));
		test_json_others(fs);
	}
	test_json_top(j);
	cJSON_Delete(j);
	cJSON_Delete(js);
	free(t);
	free(s);
}

static const cJSON *jpath(const cJSON *o, const char *a, const char *b)
{
	return cJSON_GetObjectItem(cJSON_GetObjectItem(o, a), b);
}

static const cJSON *artifact(const cJSON *res)
{
	const cJSON *loc = cJSON_GetArrayItem(cJSON_GetObjectItem(res,
							"locations"), 0);

	return jpath(loc, "physicalLocation", "artifactLocation");
}

static void test_sarif_result(const cJSON *rules, const cJSON *res)
{
	const cJSON *loc = cJSON_GetArrayItem(cJSON_GetObjectItem(res,
							"locations"), 0);
	const cJSON *region = jpath(loc, "physicalLocation", "region");
	const char *id = jstr(cJSON_GetArrayItem(rules,
					(int)jnum(res, "ruleIndex")), "id");

	CHECK(id && jstr(res, "ruleId") && strcmp(id, jstr(res, "ruleId")) == 0,
	      "sarif: ruleIndex names ruleId");
	CHECK(jstr(cJSON_GetObjectItem(res, "partialFingerprints"),
		   "keyleak/v1") != NULL, "sarif: partialFingerprints");
	CHECK(jnum(region, "startLine") >= 1, "sarif: startLine >= 1");
	CHECK(!cJSON_GetObjectItem(region, "startColumn") ||
	      jnum(region, "endColumn") > jnum(region, "startColumn"),
	      "sarif: endColumn > startColumn");
}

static void test_sarif_shape(const cJSON *run)
{
	const cJSON *results = cJSON_GetObjectItem(run, "results");
	const cJSON *r0 = cJSON_GetArrayItem(results, 0);
	const cJSON *inv = cJSON_GetArrayItem(cJSON_GetObjectItem(run,
							"invocations"), 0);
	const cJSON *rules = jpath(cJSON_GetObjectItem(run, "tool"), "driver", "rules");
	const cJSON *res;

	CHECK_STR(jstr(artifact(r0), "uri"), "src/we%0Aird%1B%5B31m%22q%5C.txt",
		  "sarif: uri percent-encoded");
	CHECK_STR(jstr(artifact(r0), "uriBaseId"), "%SRCROOT%",
		  "sarif: uriBaseId");
	CHECK_STR(jstr(artifact(cJSON_GetArrayItem(results, 1)), "uri"),
		  "bad%FF%FEname.txt",
		  "sarif: invalid UTF-8 path percent-encoded exactly");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(r0, "relatedLocations")) == 1,
	      "sarif: later commits as relatedLocations");
	CHECK_STR(jstr(cJSON_GetObjectItem(r0, "properties"), "author_date"),
		  "2025-03-02T14:05:09+01:00", "sarif: commit date property");
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(inv, "executionSuccessful")),
	      "sarif: incomplete run is not successful");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(inv,
			"toolExecutionNotifications")) == 2,
	      "sarif: errors and warnings as notifications");
	CHECK_STR(jstr(run, "columnKind"), "unicodeCodePoints",
		  "sarif: columnKind");
	CHECK_STR(jstr(r0, "level"), "error", "sarif: critical is error");
	CHECK_STR(jstr(cJSON_GetArrayItem(results, 1), "level"), "note",
		  "sarif: low is note");
	cJSON_ArrayForEach(res, results)
		test_sarif_result(rules, res);
}

static void test_sarif_rules(const cJSON *run)
{
	const cJSON *rules = jpath(cJSON_GetObjectItem(run, "tool"), "driver", "rules");
	const cJSON *r0 = cJSON_GetArrayItem(rules, 0);
	const cJSON *props = cJSON_GetObjectItem(r0, "properties");

	CHECK(cJSON_GetArraySize(rules) == 3, "sarif: one descriptor per rule");
	CHECK_STR(jstr(r0, "name"), "UnitTestKey", "sarif: PascalCase name");
	CHECK_STR(jstr(props, "security-severity"), "9.5",
		  "sarif: security-severity");
	CHECK(jstr(cJSON_GetObjectItem(r0, "help"), "markdown") != NULL, "sarif: help");
	CHECK_STR(jstr(cJSON_GetObjectItem(r0, "fullDescription"), "text"),
		  "A fake key format used by the unit tests.",
		  "sarif: descriptions are sentences");
}

static void keep_sarif(const char *text)
{
	const char *path = getenv("KEYLEAK_SARIF_OUT");
	kl_error err = { 0 };

	if (path && *path)
		CHECK(kl_write_file_atomic(path, text, strlen(text), &err) == 0,
		      "sarif: kept in %s", path);
	kl_error_clear(&err);
}

static void test_sarif(const kl_report *r)
{
	char *t = render(r, KL_FORMAT_SARIF, false, false);
	char *s = render(r, KL_FORMAT_SARIF, true, false);
	cJSON *j = cJSON_Parse(t);
	const cJSON *run = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "runs"), 0);

	CHECK(j != NULL, "sarif: output parses");
	CHECK(valid_utf8(t), "sarif: output is valid UTF-8");
	CHECK_STR(jstr(j, "version"), "2.1.0", "sarif: version");
	CHECK_STR(jstr(j, "$schema"), "https://json.schemastore.org/sarif-2.1.0.json",
		  "sarif: $schema");
	CHECK(!strstr(t, SECRET_A) && !strstr(t, SECRET_B),
	      "sarif: no full secret without --show-secrets");
	CHECK(strstr(s, SECRET_A) != NULL, "sarif: secret with --show-secrets");
	if (run) {
		test_sarif_shape(run);
		test_sarif_rules(run);
	}
	keep_sarif(t);
	cJSON_Delete(j);
	free(t);
	free(s);
}

static size_t count_of(const char *s, const char *what)
{
	size_t n = 0;

	for (; (s = strstr(s, what)) != NULL; s++)
		n++;
	return n;
}

/* The HTML page: never a secret even with show, every hostile byte
 * escaped, links only for a known host and only https. */
static void test_html(kl_report *r)
{
	char *h;

	r->remote = kl_xstrdup("git@github.com:acme/x.git");
	h = render(r, KL_FORMAT_HTML, true, false);
	CHECK(!strstr(h, SECRET_A) && !strstr(h, SECRET_B), "html: no secret");
	CHECK(valid_utf8(h), "html: valid UTF-8");
	CHECK(!strchr(h, '\x1b'), "html: no escape byte");
	CHECK(count_of(h, "<script") == 1 && count_of(h, "<style") == 1,
	      "html: one script, one style");
	CHECK(strstr(h, "default-src 'none'") && strstr(h, "script-src 'sha256-"),
	      "html: CSP");
	CHECK(strstr(h, "ird\\x1b[31m&quot;q\\\\.txt:12") != NULL,
	      "html: path escaped");
	CHECK(strstr(h, "href=\"https://github.com/acme/x/blob/1a2b3c4d5e6f708192"
		     "a3b4c5d6e7f8091a2b3c4d/src/we%0Aird%1B%5B31m%22q%5C.txt#L12\"")
	      != NULL, "html: GitHub link, path percent-encoded");
	CHECK(count_of(h, "href=\"https://github.com/") == 1,
	      "html: links only where a commit is known");
	CHECK(strstr(h, "href=\"https://example.org/keys\"") != NULL,
	      "html: remediation link");
	CHECK(strstr(h, "id=\"incomplete\"") && strstr(h, "unreadable: 1"),
	      "html: incomplete banner says why");
	CHECK(strstr(h, "Ann \\x1b[2JAuthor") != NULL, "html: author escaped");
	free(h);
	free(r->remote);
	r->remote = kl_xstrdup("https://gitlab.com/a\"b/c.git");
	h = render(r, KL_FORMAT_HTML, false, false);
	CHECK(count_of(h, "href=\"https://gitlab") == 0, "html: odd remote, no link");
	free(h);
}

static void test_merge(void)
{
	kl_report a, b;

	kl_report_init(&a, "scan", ".", NULL);
	kl_report_init(&b, "scan", ".", NULL);
	add_finding(&a, &key_rule, "a.txt", SECRET_A);
	add_finding(&b, &key_rule, "b.txt", SECRET_A);
	add_finding(&b, &low_rule, "c.txt", SECRET_B);
	a.summary.files_scanned = 2;
	b.summary.files_scanned = 3;
	b.summary.limit_hits = 1;
	b.incomplete = true;
	kl_report_notice(&b, KL_NOTICE_WARNING, "x", "w%d", 1);
	kl_report_merge(&a, &b);
	CHECK(a.findings.len == 3 && b.findings.len == 0, "merge: findings moved");
	CHECK_STR(a.findings.items[2].path, "c.txt", "merge: order kept");
	CHECK(a.n_notices == 1 && b.n_notices == 0, "merge: notices moved");
	CHECK(a.summary.files_scanned == 5 && a.summary.limit_hits == 1 &&
	      b.summary.files_scanned == 0, "merge: counters added");
	CHECK(a.incomplete, "merge: incomplete carried over");
	kl_report_free(&a);
	kl_report_free(&b);
}

static char *slurp(const char *path)
{
	kl_buf b = KL_BUF_INIT;
	char chunk[256];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		kl_buf_add(&b, chunk, n);
	fclose(f);
	return kl_buf_detach(&b);
}

static void test_atomic(void)
{
	char dir[] = "/tmp/keyleak-unit-XXXXXX";
	kl_buf path = KL_BUF_INIT, bad = KL_BUF_INIT;
	kl_error err = { 0 };
	char *got;
	struct stat st;

	CHECK(mkdtemp(dir) != NULL, "atomic: temp dir");
	kl_buf_printf(&path, "%s/out.json", dir);
	CHECK(kl_write_file_atomic(path.data, "one", 3, &err) == 0 &&
	      kl_write_file_atomic(path.data, "two\n", 4, &err) == 0,
	      "atomic: write and replace");
	got = slurp(path.data);
	CHECK_SAME(got, "two\n", "atomic: content");
	free(got);
	CHECK(stat(path.data, &st) == 0 && (st.st_mode & 0444),
	      "atomic: readable mode");
	kl_buf_printf(&bad, "%s/missing/out.json", dir);
	CHECK(kl_write_file_atomic(bad.data, "x", 1, &err) < 0 && err.message &&
	      strstr(err.message, bad.data) &&
	      strstr(err.message, "No such file or directory"),
	      "atomic: missing directory is a clear error (%s)",
	      err.message ? err.message : "none");
	unlink(path.data);
	CHECK(rmdir(dir) == 0, "atomic: no temp file left behind");
	kl_error_clear(&err);
	kl_buf_free(&path);
	kl_buf_free(&bad);
}

int main(void)
{
	kl_report r;

	build(&r);
	test_text(&r);
	test_text_empty();
	test_json(&r);
	test_sarif(&r);
	test_html(&r);
	kl_report_free(&r);
	CHECK(r.findings.len == 0 && r.n_notices == 0 && !r.config_path,
	      "free: report emptied");
	test_merge();
	test_atomic();
	return UNIT_DONE();
}
