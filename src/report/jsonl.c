/*
 * The JSON Lines report of organisation-wide audits: every line a whole
 * JSON object, a repository's findings then its summary line, so output
 * written as repositories finish is valid up to the last newline even if
 * the worker is killed (`--resume` and `keyleak merge` rely on that).
 */
#include <string.h>

#include "report.h"

static void add_line(cJSON *o, kl_buf *out)
{
	kl_report_json_line(o, out);
	cJSON_Delete(o);
}

static cJSON *line_head(const char *type, const kl_jsonl_repo *repo)
{
	cJSON *o = cJSON_CreateObject();

	kl_report_json_add_str(o, "type", type);
	kl_report_json_add_path(o, "repository", repo->repository);
	kl_report_json_add_str(o, "repository_id", repo->id);
	return o;
}

static void finding_line(const kl_finding *f, const kl_jsonl_repo *repo,
			 const kl_report_opts *opts, kl_buf *out)
{
	cJSON *o = line_head("finding", repo);
	cJSON *fj = kl_report_json_finding(f, opts), *item;

	while ((item = fj->child) != NULL) {
		cJSON_DetachItemViaPointer(fj, item);
		cJSON_AddItemToObject(o, item->string, item);
	}
	cJSON_Delete(fj);
	add_line(o, out);
}

static void summary_line(const kl_report *r, const kl_jsonl_repo *repo,
			 kl_buf *out)
{
	cJSON *o = line_head("repository", repo), *tool;

	kl_report_json_add_str(o, "status", repo->status);
	kl_report_json_add_str(o, "error", repo->error);
	kl_report_json_add_num(o, "findings", r->findings.len);
	cJSON_AddNumberToObject(o, "seconds",
				(double)(int64_t)(repo->seconds * 1000 + 0.5) / 1000);
	kl_report_json_add_str(o, "head", repo->head);
	kl_report_json_add_str(o, "branch", repo->branch);
	if (repo->remote)
		kl_report_json_add_str(o, "remote", repo->remote);
	kl_report_json_add_str(o, "command", r->command);
	kl_report_json_add_bool(o, "incomplete", r->incomplete);
	kl_report_json_add_bool(o, "shallow", r->shallow);
	kl_report_json_add_str(o, "state", repo->state);
	kl_report_json_add_num(o, "carried_blobs", repo->carried_blobs);
	cJSON_AddItemToObject(o, "summary", kl_report_json_summary(r));
	cJSON_AddItemToObject(o, "notices", kl_report_json_notices(r));
	tool = cJSON_AddObjectToObject(o, "tool");
	kl_report_json_add_str(tool, "name", "keyleak");
	kl_report_json_add_str(tool, "version", KL_VERSION);
	add_line(o, out);
}

void kl_report_jsonl(const kl_report *r, const kl_jsonl_repo *repo,
		     const kl_report_opts *o, kl_buf *out)
{
	kl_jsonl_repo self = { 0 };
	char id[65];
	size_t i;

	if (!repo) {
		kl_sha256_hex(r->target, strlen(r->target), id);
		self.repository = r->target;
		self.id = id;
		self.status = r->incomplete ? "incomplete" : "ok";
		repo = &self;
	}
	for (i = 0; i < r->findings.len; i++)
		finding_line(&r->findings.items[i], repo, o, out);
	summary_line(r, repo, out);
}

void kl_report_jsonl_restamp(const char *block, size_t len, const char *state,
			     double seconds, kl_buf *out)
{
	const char *line = block, *end = block + len, *nl;

	for (; line < end; line = nl + 1) {
		cJSON *o;

		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			break;
		o = cJSON_ParseWithLength(line, (size_t)(nl - line));
		if (o && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "type")) &&
		    strcmp(cJSON_GetObjectItemCaseSensitive(o, "type")->valuestring,
			   "repository") == 0) {
			cJSON_ReplaceItemInObjectCaseSensitive(o, "state",
				cJSON_CreateString(state));
			cJSON_ReplaceItemInObjectCaseSensitive(o, "seconds",
				cJSON_CreateNumber((double)(int64_t)(seconds * 1000 + 0.5) / 1000));
			add_line(o, out);
		} else {
			cJSON_Delete(o);
			kl_buf_add(out, line, (size_t)(nl - line + 1));
		}
	}
}
