/*
 * The JSON report: a stable, versioned schema (documented in doc/reports.md)
 * built with cJSON so the output is always well-formed. Strings are made
 * valid UTF-8; a path that was not also keeps its exact bytes in hex.
 */
#include "report.h"

static void add_rule_fields(cJSON *o, const kl_rule *rule)
{
	kl_report_json_add_str(o, "rule_id", rule->id);
	kl_report_json_add_str(o, "rule_name", rule->name);
	kl_report_json_add_str(o, "provider", rule->provider);
	kl_report_json_add_str(o, "kind", rule->kind == KL_RULE_POLICY
						  ? "policy" : "key");
	kl_report_json_add_str(o, "severity", kl_severity_name(rule->severity));
}

static void add_secret_fields(cJSON *o, const kl_finding *f,
			      const kl_report_opts *opts)
{
	bool policy = kl_report_is_policy(f);

	kl_report_json_add_str(o, "secret_redacted", policy ? NULL
							     : f->redacted);
	if (opts->show_secrets && !policy)
		kl_report_json_add_str(o, "secret", f->secret);
	kl_report_json_add_str(o, "fingerprint", f->fingerprint);
	kl_report_json_add_str(o, "message", f->message ? f->message
							: f->rule->name);
	kl_report_json_add_str(o, "remediation", f->rule->remediation);
}

static cJSON *finding_json(const kl_finding *f, const kl_report_opts *opts)
{
	cJSON *o = cJSON_CreateObject();

	add_rule_fields(o, f->rule);
	kl_report_json_add_path(o, "path", f->path);
	kl_report_json_add_path(o, "member", f->member);
	cJSON_AddItemToObject(o, "decoded", kl_report_json_strlist(&f->decoded));
	kl_report_json_add_num(o, "line", f->line);
	kl_report_json_add_num(o, "column", f->column);
	kl_report_json_add_num(o, "end_column", f->end_column);
	kl_report_json_add_num(o, "end_line", f->end_line > f->line ?
			       f->end_line : f->line);
	if (f->partner_line)
		kl_report_json_add_num(o, "paired_line", f->partner_line);
	add_secret_fields(o, f, opts);
	kl_report_json_add_num(o, "count", f->count);
	cJSON_AddItemToObject(o, "provenance", f->has_prov
			      ? kl_report_json_provenance(cJSON_CreateObject(),
							  &f->prov)
			      : cJSON_CreateNull());
	kl_report_json_add_str(o, "blob", f->blob);
	if (f->refs.len)
		cJSON_AddItemToObject(o, "refs",
				      kl_report_json_strlist(&f->refs));
	cJSON_AddItemToObject(o, "verification",
			      kl_report_json_verification(&f->verification));
	return o;
}

static cJSON *notices_json(const kl_report *r)
{
	static const char *const kinds[] = { "skipped", "warning", "error" };
	cJSON *arr = cJSON_CreateArray(), *o;
	size_t i;

	for (i = 0; i < r->n_notices; i++) {
		o = cJSON_CreateObject();
		kl_report_json_add_str(o, "kind", kinds[r->notices[i].kind]);
		kl_report_json_add_path(o, "path", r->notices[i].path);
		kl_report_json_add_str(o, "message", r->notices[i].message);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *head_json(const kl_report *r)
{
	cJSON *root = cJSON_CreateObject(), *tool, *config;

	kl_report_json_add_num(root, "version", 1);
	tool = cJSON_AddObjectToObject(root, "tool");
	kl_report_json_add_str(tool, "name", "keyleak");
	kl_report_json_add_str(tool, "version", KL_VERSION);
	kl_report_json_add_str(root, "command", r->command);
	kl_report_json_add_path(root, "target", r->target);
	config = cJSON_AddObjectToObject(root, "config");
	kl_report_json_add_path(config, "path", r->config_path);
	kl_report_json_add_bool(config, "repo_config_ignored",
				r->repo_config_ignored);
	kl_report_json_add_path(config, "baseline", r->baseline_path);
	return root;
}

/* Objects the repository lacks, each with where it is referenced. */
static cJSON *missing_json(const kl_report *r)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < r->n_missing; i++) {
		const kl_missing_obj *m = &r->missing[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "id", m->id);
		cJSON_AddStringToObject(o, "type", m->type);
		kl_report_json_add_path(o, "path", m->path);
		kl_report_json_add_path(o, "commit", m->commit);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

void kl_report_json(const kl_report *r, const kl_report_opts *o, kl_buf *out)
{
	cJSON *root = head_json(r);
	cJSON *findings = cJSON_AddArrayToObject(root, "findings");
	size_t i;

	for (i = 0; i < r->findings.len; i++)
		cJSON_AddItemToArray(findings,
				     finding_json(&r->findings.items[i], o));
	cJSON_AddItemToObject(root, "summary", kl_report_json_summary(r));
	cJSON_AddItemToObject(root, "notices", notices_json(r));
	kl_report_json_add_bool(root, "incomplete", r->incomplete);
	kl_report_json_add_bool(root, "shallow", r->shallow);
	cJSON_AddItemToObject(root, "missing_objects", missing_json(r));
	kl_report_json_finish(root, out);
}

/* The pieces the JSON Lines reporter (jsonl.c) shares with this one. */
cJSON *kl_report_json_finding(const kl_finding *f, const kl_report_opts *o)
{
	return finding_json(f, o);
}

cJSON *kl_report_json_notices(const kl_report *r)
{
	return notices_json(r);
}
