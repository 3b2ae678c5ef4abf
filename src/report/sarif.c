/*
 * The SARIF 2.1.0 report, shaped for GitHub code scanning: every rule is
 * described in tool.driver.rules, results point at relative URIs under
 * %SRCROOT%, and history provenance goes to relatedLocations/properties.
 * tests/sarif-validate.sh checks the output with GitHub's ingestion rules.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
#define MAX_RELATED 100 /* GitHub ignores long relatedLocations lists */
#define MAX_TAGS 20

/* Rules in ruleIndex order: the ruleset, then any finding's rule that is
 * not in it (so every result has a descriptor). */
typedef struct rule_table {
	const kl_rule **items;
	size_t len;
	size_t n_set; /* the first n_set come from r->rules, in order */
} rule_table;

static void table_push(rule_table *t, const kl_rule *rule)
{
	t->items = kl_xrealloc(t->items, (t->len + 1) * sizeof(*t->items));
	t->items[t->len++] = rule;
}

static long table_index(const rule_table *t, const kl_report *r,
			const kl_rule *rule)
{
	size_t i;
	int idx;

	if (r->rules) {
		idx = kl_ruleset_index(r->rules, rule);
		if (idx >= 0 && (size_t)idx < t->n_set)
			return idx;
	}
	for (i = t->n_set; i < t->len; i++)
		if (t->items[i] == rule)
			return (long)i;
	return -1;
}

static void table_build(rule_table *t, const kl_report *r)
{
	size_t i, n = r->rules ? kl_ruleset_count(r->rules) : 0;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < n; i++)
		table_push(t, kl_ruleset_get(r->rules, i));
	t->n_set = t->len;
	for (i = 0; i < r->findings.len; i++)
		if (table_index(t, r, r->findings.items[i].rule) < 0)
			table_push(t, r->findings.items[i].rule);
}

/* ------------------------------------------------------------- strings */

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* "OpenAI project API key" -> "OpenAIProjectAPIKey". */
static void pascal_name(const kl_rule *rule, kl_buf *out)
{
	const char *p = rule->name ? rule->name : rule->id;
	bool word_start = true;

	for (; *p; p++) {
		if (!is_alnum(*p)) {
			word_start = true;
			continue;
		}
		if (word_start && *p >= 'a' && *p <= 'z')
			kl_buf_addch(out, (char)(*p - 'a' + 'A'));
		else
			kl_buf_addch(out, *p);
		word_start = false;
	}
	if (!out->len)
		kl_buf_puts(out, "Rule");
}

/* SARIF messages are sentences (the validator's SARIF2001). */
static void add_sentence(kl_buf *out, const char *s)
{
	size_t start = out->len;

	kl_report_utf8_clean(s ? s : "", s ? strlen(s) : 0, out);
	while (out->len > start && (out->data[out->len - 1] == ' ' ||
				    out->data[out->len - 1] == '\n'))
		out->data[--out->len] = '\0';
	if (out->len == start || !strchr(".!?", out->data[out->len - 1]))
		kl_buf_addch(out, '.');
}

static cJSON *message_obj(const char *key, const char *text)
{
	cJSON *o = cJSON_CreateObject();
	kl_buf b = KL_BUF_INIT;

	add_sentence(&b, text);
	cJSON_AddStringToObject(o, key, b.data);
	kl_buf_free(&b);
	return o;
}

static bool unreserved(unsigned char c)
{
	return is_alnum((char)c) || c == '-' || c == '.' || c == '_' ||
	       c == '~' || c == '/';
}

/* A relative URI reference naming exactly the bytes of path. */
static void uri_encode(const char *path, kl_buf *out)
{
	const unsigned char *u = (const unsigned char *)path;

	while (*u == '/')
		u++;
	if (!*u)
		kl_buf_puts(out, "%2E");
	for (; *u; u++) {
		if (unreserved(*u))
			kl_buf_addch(out, (char)*u);
		else
			kl_buf_printf(out, "%%%02X", *u);
	}
}

static const char *level_of(kl_severity s)
{
	static const char *const levels[] = { "note", "warning", "error",
					      "error" };

	return levels[s <= KL_SEV_CRITICAL ? s : KL_SEV_CRITICAL];
}

/* GitHub's security-severity scores (critical >= 9.0, high >= 7.0). */
static const char *security_severity(kl_severity s)
{
	static const char *const scores[] = { "3.0", "5.5", "8.0", "9.5" };

	return scores[s <= KL_SEV_CRITICAL ? s : KL_SEV_CRITICAL];
}

/* --------------------------------------------------------------- rules */

static bool is_web_url(const char *s)
{
	const char *p;

	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return false;
	for (p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    strchr("\"<>\\^`{|}", *p))
			return false;
	return true;
}

static void help_text(const kl_rule *rule, bool markdown, kl_buf *out)
{
	size_t i;

	add_sentence(out, rule->description ? rule->description : rule->name);
	if (rule->remediation && *rule->remediation) {
		kl_buf_puts(out, markdown ? "\n\n**Remediation:** "
					  : "\n\nRemediation: ");
		add_sentence(out, rule->remediation);
	}
	if (rule->references.len)
		kl_buf_puts(out, markdown ? "\n\n**References:**\n"
					  : "\n\nReferences:\n");
	for (i = 0; i < rule->references.len; i++) {
		kl_buf_puts(out, "- ");
		kl_report_utf8_clean(rule->references.items[i],
				     strlen(rule->references.items[i]), out);
		kl_buf_addch(out, '\n');
	}
}

static cJSON *rule_help(const kl_rule *rule)
{
	cJSON *o = cJSON_CreateObject();
	kl_buf b = KL_BUF_INIT;

	help_text(rule, false, &b);
	cJSON_AddStringToObject(o, "text", b.data);
	kl_buf_reset(&b);
	help_text(rule, true, &b);
	cJSON_AddStringToObject(o, "markdown", b.data);
	kl_buf_free(&b);
	return o;
}

static bool has_tag(cJSON *tags, const char *tag)
{
	cJSON *t;

	cJSON_ArrayForEach(t, tags)
		if (cJSON_IsString(t) && strcmp(t->valuestring, tag) == 0)
			return true;
	return false;
}

static cJSON *rule_tags(const kl_rule *rule)
{
	cJSON *tags = cJSON_CreateArray();
	size_t i;

	cJSON_AddItemToArray(tags, cJSON_CreateString("security"));
	cJSON_AddItemToArray(tags, cJSON_CreateString("secret"));
	for (i = 0; i < rule->tags.len; i++) {
		if (cJSON_GetArraySize(tags) >= MAX_TAGS)
			break;
		if (!has_tag(tags, rule->tags.items[i]))
			cJSON_AddItemToArray(tags,
					     kl_report_json_str(rule->tags.items[i]));
	}
	return tags;
}

static cJSON *rule_properties(const kl_rule *rule)
{
	cJSON *o = cJSON_CreateObject();
	bool exact = rule->kind == KL_RULE_POLICY || rule->marker ||
		     rule->checks.len;

	cJSON_AddItemToObject(o, "tags", rule_tags(rule));
	cJSON_AddStringToObject(o, "security-severity",
				security_severity(rule->severity));
	cJSON_AddStringToObject(o, "precision", exact ? "very-high" : "high");
	kl_report_json_add_str(o, "provider", rule->provider);
	return o;
}

static cJSON *rule_json(const kl_rule *rule)
{
	cJSON *o = cJSON_CreateObject(), *cfg;
	kl_buf b = KL_BUF_INIT;

	kl_report_json_add_str(o, "id", rule->id);
	pascal_name(rule, &b);
	cJSON_AddStringToObject(o, "name", b.data);
	kl_buf_free(&b);
	cJSON_AddItemToObject(o, "shortDescription",
			      message_obj("text", rule->name));
	cJSON_AddItemToObject(o, "fullDescription",
			      message_obj("text", rule->description
						  ? rule->description
						  : rule->name));
	if (rule->references.len && is_web_url(rule->references.items[0]))
		cJSON_AddStringToObject(o, "helpUri", rule->references.items[0]);
	cJSON_AddItemToObject(o, "help", rule_help(rule));
	cfg = cJSON_AddObjectToObject(o, "defaultConfiguration");
	cJSON_AddStringToObject(cfg, "level", level_of(rule->severity));
	cJSON_AddItemToObject(o, "properties", rule_properties(rule));
	return o;
}

static cJSON *tool_json(const rule_table *t)
{
	cJSON *tool = cJSON_CreateObject(), *driver, *rules;
	size_t i;

	driver = cJSON_AddObjectToObject(tool, "driver");
	cJSON_AddStringToObject(driver, "name", "keyleak");
	cJSON_AddStringToObject(driver, "version", KL_VERSION);
	cJSON_AddStringToObject(driver, "semanticVersion", KL_VERSION);
#ifdef KL_INFORMATION_URI
	cJSON_AddStringToObject(driver, "informationUri", KL_INFORMATION_URI);
#endif
	rules = cJSON_AddArrayToObject(driver, "rules");
	for (i = 0; i < t->len; i++)
		cJSON_AddItemToArray(rules, rule_json(t->items[i]));
	return tool;
}

/* ------------------------------------------------------------- results */

static cJSON *artifact_location(const char *path)
{
	cJSON *o = cJSON_CreateObject();
	kl_buf b = KL_BUF_INIT;

	uri_encode(path ? path : "", &b);
	cJSON_AddStringToObject(o, "uri", b.data);
	cJSON_AddStringToObject(o, "uriBaseId", "%SRCROOT%");
	kl_buf_free(&b);
	return o;
}

static cJSON *region_json(const kl_finding *f)
{
	cJSON *o = cJSON_CreateObject();
	size_t start = f->column ? f->column : 1;
	bool multi = f->line && f->end_line > f->line;
	size_t end = multi || f->end_column > start ? f->end_column : start + 1;

	kl_report_json_add_num(o, "startLine", f->line ? f->line : 1);
	if (multi)
		kl_report_json_add_num(o, "endLine", f->end_line);
	if (f->line) {
		kl_report_json_add_num(o, "startColumn", start);
		kl_report_json_add_num(o, "endColumn", end);
	}
	return o;
}

static cJSON *location_json(const kl_finding *f)
{
	cJSON *loc = cJSON_CreateObject(), *phys;

	phys = cJSON_AddObjectToObject(loc, "physicalLocation");
	cJSON_AddItemToObject(phys, "artifactLocation",
			      artifact_location(f->path));
	cJSON_AddItemToObject(phys, "region", region_json(f));
	return loc;
}

static void put_short(kl_buf *b, const char *commit)
{
	kl_buf_printf(b, "%.12s", commit ? commit : "?");
}

static cJSON *related_json(const kl_finding *f)
{
	const kl_strlist *c = &f->prov.commits;
	cJSON *arr = cJSON_CreateArray(), *loc;
	kl_buf b = KL_BUF_INIT;
	size_t i, id = 1;

	for (i = 0; i < c->len && id <= MAX_RELATED; i++) {
		if (f->prov.commit && strcmp(c->items[i], f->prov.commit) == 0)
			continue;
		loc = location_json(f);
		kl_report_json_add_num(loc, "id", id++);
		kl_buf_reset(&b);
		kl_buf_puts(&b, "Also present in commit ");
		put_short(&b, c->items[i]);
		cJSON_AddItemToObject(loc, "message", message_obj("text", b.data));
		cJSON_AddItemToArray(arr, loc);
	}
	kl_buf_free(&b);
	return arr;
}

static cJSON *result_message(const kl_finding *f, const kl_report_opts *o)
{
	kl_buf b = KL_BUF_INIT;
	cJSON *msg;

	if (kl_report_is_policy(f)) {
		kl_buf_puts(&b, f->message ? f->message : f->rule->name);
	} else {
		kl_buf_puts(&b, f->rule->name);
		kl_buf_puts(&b, ": ");
		kl_buf_puts(&b, o->show_secrets ? f->secret
			    : f->redacted ? f->redacted : "(redacted)");
		if (f->verification.status != KL_VERIFY_NONE)
			kl_buf_printf(&b, " (%s%s)",
				      f->verification.status == KL_VERIFY_LIVE
				      ? "verified " : "",
				      kl_verify_status_name(
					      f->verification.status));
	}
	/* The artifact is the archive or encoded file as stored: say where
	 * inside it the key was. */
	if (f->member)
		kl_buf_printf(&b, " (in archive member %s)", f->member);
	if (f->decoded.len)
		kl_buf_printf(&b, " (decoded: %s%s)", f->decoded.items[0],
			      f->decoded.len > 1 ? ", nested" : "");
	msg = message_obj("text", b.data);
	kl_buf_free(&b);
	return msg;
}

static cJSON *result_properties(const kl_finding *f)
{
	cJSON *props = cJSON_CreateObject();

	cJSON_AddStringToObject(props, "severity",
				kl_severity_name(f->rule->severity));
	kl_report_json_add_num(props, "count", f->count);
	if (f->blob)
		kl_report_json_add_str(props, "blob", f->blob);
	if (f->member)
		kl_report_json_add_path(props, "member", f->member);
	if (f->decoded.len)
		cJSON_AddItemToObject(props, "decoded",
				      kl_report_json_strlist(&f->decoded));
	if (f->has_prov)
		kl_report_json_provenance(props, &f->prov);
	if (f->verification.status != KL_VERIFY_NONE)
		cJSON_AddItemToObject(props, "verification",
				      kl_report_json_verification(
					      &f->verification));
	return props;
}

static cJSON *result_json(const kl_finding *f, long index,
			  const kl_report_opts *o)
{
	cJSON *res = cJSON_CreateObject(), *locs, *fp;

	kl_report_json_add_str(res, "ruleId", f->rule->id);
	kl_report_json_add_num(res, "ruleIndex", (uint64_t)index);
	/* A key the provider still accepts is an error whatever the rule's
	 * severity: it must be revoked now. */
	cJSON_AddStringToObject(res, "level",
				f->verification.status == KL_VERIFY_LIVE
				? "error" : level_of(f->rule->severity));
	cJSON_AddItemToObject(res, "message", result_message(f, o));
	locs = cJSON_AddArrayToObject(res, "locations");
	cJSON_AddItemToArray(locs, location_json(f));
	fp = cJSON_AddObjectToObject(res, "partialFingerprints");
	kl_report_json_add_str(fp, "keyleak/v1", f->fingerprint);
	if (f->has_prov && f->prov.commits.len > 1)
		cJSON_AddItemToObject(res, "relatedLocations", related_json(f));
	cJSON_AddItemToObject(res, "properties", result_properties(f));
	return res;
}

/* --------------------------------------------------------- invocation */

static cJSON *notification_json(const kl_notice *n)
{
	cJSON *o = cJSON_CreateObject(), *locs, *loc, *phys;

	cJSON_AddStringToObject(o, "level", n->kind == KL_NOTICE_ERROR
						    ? "error" : "warning");
	cJSON_AddItemToObject(o, "message", message_obj("text", n->message));
	if (n->path) {
		locs = cJSON_AddArrayToObject(o, "locations");
		loc = cJSON_CreateObject();
		phys = cJSON_AddObjectToObject(loc, "physicalLocation");
		cJSON_AddItemToObject(phys, "artifactLocation",
				      artifact_location(n->path));
		cJSON_AddItemToArray(locs, loc);
	}
	return o;
}

static cJSON *invocation_json(const kl_report *r)
{
	cJSON *inv = cJSON_CreateObject(), *notes;
	size_t i;

	kl_report_json_add_bool(inv, "executionSuccessful", !r->incomplete);
	notes = cJSON_AddArrayToObject(inv, "toolExecutionNotifications");
	for (i = 0; i < r->n_notices; i++)
		if (r->notices[i].kind != KL_NOTICE_SKIPPED)
			cJSON_AddItemToArray(notes,
					     notification_json(&r->notices[i]));
	return inv;
}

static cJSON *run_properties(const kl_report *r)
{
	cJSON *o = cJSON_CreateObject();

	kl_report_json_add_str(o, "command", r->command);
	kl_report_json_add_path(o, "target", r->target);
	kl_report_json_add_path(o, "config", r->config_path);
	kl_report_json_add_bool(o, "repo_config_ignored",
				r->repo_config_ignored);
	kl_report_json_add_path(o, "baseline", r->baseline_path);
	kl_report_json_add_bool(o, "shallow", r->shallow);
	kl_report_json_add_bool(o, "incomplete", r->incomplete);
	cJSON_AddItemToObject(o, "summary", kl_report_json_summary(r));
	return o;
}

static cJSON *run_json(const kl_report *r, const kl_report_opts *o)
{
	cJSON *run = cJSON_CreateObject(), *invs, *results;
	rule_table t;
	size_t i;

	table_build(&t, r);
	cJSON_AddItemToObject(run, "tool", tool_json(&t));
	invs = cJSON_AddArrayToObject(run, "invocations");
	cJSON_AddItemToArray(invs, invocation_json(r));
	cJSON_AddStringToObject(run, "columnKind", "unicodeCodePoints");
	results = cJSON_AddArrayToObject(run, "results");
	for (i = 0; i < r->findings.len; i++) {
		const kl_finding *f = &r->findings.items[i];

		cJSON_AddItemToArray(results,
				     result_json(f, table_index(&t, r, f->rule),
						 o));
	}
	cJSON_AddItemToObject(run, "properties", run_properties(r));
	free(t.items);
	return run;
}

void kl_report_sarif(const kl_report *r, const kl_report_opts *o, kl_buf *out)
{
	cJSON *root = cJSON_CreateObject(), *runs;

	cJSON_AddStringToObject(root, "$schema", SARIF_SCHEMA);
	cJSON_AddStringToObject(root, "version", "2.1.0");
	runs = cJSON_AddArrayToObject(root, "runs");
	cJSON_AddItemToArray(runs, run_json(r, o));
	kl_report_json_finish(root, out);
}
