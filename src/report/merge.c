/*
 * Owns `keyleak merge`: reading the JSON Lines (and JSON) reports of
 * shards back, one block per repository, and rendering them as one report:
 * JSON, JSON Lines, text, or SARIF with one run per repository. A
 * repository whose summary line is missing (a killed worker) keeps its
 * findings and is marked incomplete; nothing read is dropped silently.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

typedef struct mrepo {
	char *id;
	char *name;
	cJSON *summary;  /* the "repository" line; NULL when it never came */
	cJSON *findings; /* array of "finding" lines */
	char *origin;    /* input file it came from */
} mrepo;

struct kl_merge {
	const kl_ruleset *rs;
	mrepo *repos;
	size_t len, cap;
	kl_rule **extra;   /* rules the ruleset does not know, from the input */
	size_t n_extra;
	kl_strlist inputs;
	kl_strlist warnings;
	const char *command; /* "merge", or "audit" for audit --repos */
};

kl_merge *kl_merge_new(const kl_ruleset *rs)
{
	kl_merge *m = kl_xcalloc(1, sizeof(*m));

	m->rs = rs;
	m->command = "merge";
	return m;
}

void kl_merge_set_command(kl_merge *m, const char *command)
{
	m->command = command;
}

static void free_rule(kl_rule *r)
{
	free(r->id);
	free(r->name);
	free(r->provider);
	free(r->remediation);
	free(r);
}

void kl_merge_free(kl_merge *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->len; i++) {
		free(m->repos[i].id);
		free(m->repos[i].name);
		free(m->repos[i].origin);
		cJSON_Delete(m->repos[i].summary);
		cJSON_Delete(m->repos[i].findings);
	}
	for (i = 0; i < m->n_extra; i++)
		free_rule(m->extra[i]);
	free(m->extra);
	free(m->repos);
	kl_strlist_free(&m->inputs);
	kl_strlist_free(&m->warnings);
	free(m);
}

const kl_strlist *kl_merge_warnings(const kl_merge *m)
{
	return &m->warnings;
}

static void warn(kl_merge *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warn(kl_merge *m, const char *fmt, ...)
{
	kl_buf b = KL_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	kl_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	kl_strlist_push(&m->warnings, b.data);
	kl_buf_free(&b);
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double num_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool bool_of(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* ------------------------------------------------------------ reading */

static mrepo *find_repo(kl_merge *m, const char *id)
{
	size_t i;

	for (i = 0; i < m->len; i++)
		if (strcmp(m->repos[i].id, id) == 0)
			return &m->repos[i];
	return NULL;
}

static mrepo *new_repo(kl_merge *m, const char *id, const char *name,
		       const char *origin)
{
	mrepo *r;

	if (m->len == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->repos = kl_xrealloc(m->repos, m->cap * sizeof(*m->repos));
	}
	r = &m->repos[m->len++];
	memset(r, 0, sizeof(*r));
	r->id = kl_xstrdup(id);
	r->name = kl_xstrdup(name ? name : id);
	r->origin = kl_xstrdup(origin);
	r->findings = cJSON_CreateArray();
	return r;
}

/* A file's blocks, before their summary lines close them. */
typedef struct pending {
	kl_merge *m;
	const char *file;
	cJSON *open;  /* object: id -> array of finding lines */
	cJSON *names; /* id -> repository name */
} pending;

static void take_block(pending *p, const char *id, cJSON *summary)
{
	kl_merge *m = p->m;
	cJSON *block = cJSON_DetachItemFromObjectCaseSensitive(p->open, id);
	mrepo *r = find_repo(m, id);

	if (!block)
		block = cJSON_CreateArray();
	if (r && r->summary) {
		warn(m, "%s: repository %s was already read from %s; this "
		     "copy is ignored", p->file, r->name, r->origin);
		cJSON_Delete(block);
		cJSON_Delete(summary);
		return;
	}
	if (!r)
		r = new_repo(m, id, summary ? str_of(summary, "repository")
				    : str_of(p->names, id), p->file);
	cJSON_Delete(r->findings); /* a partial block it replaces */
	r->findings = block;
	r->summary = summary;
	free(r->origin);
	r->origin = kl_xstrdup(p->file);
}

static void add_line(pending *p, cJSON *o, size_t lineno)
{
	const char *type = str_of(o, "type"), *id = str_of(o, "repository_id");
	cJSON *arr;

	if (!type || !id) {
		warn(p->m, "%s:%zu: not a keyleak JSON Lines record (no type "
		     "or repository_id); ignored", p->file, lineno);
		cJSON_Delete(o);
	} else if (strcmp(type, "repository") == 0) {
		take_block(p, id, o);
	} else if (strcmp(type, "finding") == 0) {
		arr = cJSON_GetObjectItemCaseSensitive(p->open, id);
		if (!arr) {
			arr = cJSON_AddArrayToObject(p->open, id);
			if (str_of(o, "repository"))
				cJSON_AddStringToObject(p->names, id,
							str_of(o, "repository"));
		}
		cJSON_AddItemToArray(arr, o);
	} else {
		warn(p->m, "%s:%zu: unknown record type '%s'; ignored",
		     p->file, lineno, type);
		cJSON_Delete(o);
	}
}

/* Findings whose summary line never came: kept, repository incomplete. */
static void close_pending(pending *p)
{
	cJSON *block;

	while ((block = p->open->child) != NULL) {
		char *id = kl_xstrdup(block->string);
		mrepo *r = find_repo(p->m, id);

		if (r && r->summary) {
			cJSON_Delete(cJSON_DetachItemViaPointer(p->open, block));
		} else {
			warn(p->m, "%s: repository %s has findings but no "
			     "summary line (its worker stopped early); it is "
			     "reported incomplete", p->file,
			     str_of(p->names, id) ? str_of(p->names, id) : id);
			take_block(p, id, NULL);
		}
		free(id);
	}
}

static int add_jsonl(kl_merge *m, const char *file, const char *data,
		     size_t len, kl_error *err)
{
	pending p = { m, file, cJSON_CreateObject(), cJSON_CreateObject() };
	const char *line = data, *end = data + len, *nl;
	size_t lineno = 0;

	for (; line < end; line = nl + 1) {
		cJSON *o;

		nl = memchr(line, '\n', (size_t)(end - line));
		lineno++;
		if (!nl) {
			warn(m, "%s:%zu: the last line is cut short (a killed "
			     "worker); ignored", file, lineno);
			break;
		}
		if (nl == line)
			continue;
		o = cJSON_ParseWithLength(line, (size_t)(nl - line));
		if (!cJSON_IsObject(o)) {
			cJSON_Delete(o);
			kl_error_set(err, "%s:%zu: not valid JSON", file, lineno);
			cJSON_Delete(p.open);
			cJSON_Delete(p.names);
			return -1;
		}
		add_line(&p, o, lineno);
	}
	close_pending(&p);
	cJSON_Delete(p.open);
	cJSON_Delete(p.names);
	return 0;
}

/* A JSON report of one repository (`audit --format json`), or the JSON
 * of an earlier merge. */
static int add_json(kl_merge *m, const char *file, cJSON *doc, kl_error *err)
{
	cJSON *repos = cJSON_GetObjectItemCaseSensitive(doc, "repositories");
	cJSON *fs = cJSON_GetObjectItemCaseSensitive(doc, "findings"), *it;
	pending p = { m, file, cJSON_CreateObject(), cJSON_CreateObject() };
	char id[65];

	if (!cJSON_IsArray(fs) || !str_of(doc, "command")) {
		kl_error_set(err, "%s: not a keyleak JSON report", file);
		goto fail;
	}
	if (cJSON_IsArray(repos)) {
		while ((it = fs->child) != NULL)
			add_line(&p, cJSON_DetachItemViaPointer(fs, it), 0);
		while ((it = repos->child) != NULL)
			add_line(&p, cJSON_DetachItemViaPointer(repos, it), 0);
		close_pending(&p);
	} else {
		const char *target = str_of(doc, "target");
		cJSON *sum = cJSON_CreateObject();

		target = target ? target : file;
		kl_sha256_hex(target, strlen(target), id);
		cJSON_ArrayForEach(it, fs) { /* as JSON Lines findings say */
			cJSON_AddStringToObject(it, "type", "finding");
			cJSON_AddItemToObject(it, "repository",
					      kl_report_json_str(target));
			cJSON_AddStringToObject(it, "repository_id", id);
		}
		cJSON_AddItemToObject(p.open, id, cJSON_DetachItemViaPointer(doc, fs));
		cJSON_AddStringToObject(sum, "repository", target);
		cJSON_AddStringToObject(sum, "status", bool_of(doc, "incomplete")
					? "incomplete" : "ok");
		cJSON_AddStringToObject(sum, "command", str_of(doc, "command"));
		cJSON_AddBoolToObject(sum, "incomplete", bool_of(doc, "incomplete"));
		cJSON_AddBoolToObject(sum, "shallow", bool_of(doc, "shallow"));
		if ((it = cJSON_GetObjectItemCaseSensitive(doc, "summary")))
			cJSON_AddItemToObject(sum, "summary",
					      cJSON_DetachItemViaPointer(doc, it));
		if ((it = cJSON_GetObjectItemCaseSensitive(doc, "notices")))
			cJSON_AddItemToObject(sum, "notices",
					      cJSON_DetachItemViaPointer(doc, it));
		take_block(&p, id, sum);
	}
	cJSON_Delete(p.open);
	cJSON_Delete(p.names);
	return 0;
fail:
	cJSON_Delete(p.open);
	cJSON_Delete(p.names);
	return -1;
}

int kl_merge_add(kl_merge *m, const char *file, const char *data, size_t len,
		 kl_error *err)
{
	size_t i = 0;
	cJSON *doc;
	int rc;

	kl_strlist_push(&m->inputs, file);
	while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t'))
		i++;
	/* A JSON report is one object with no "type"; JSON Lines records
	 * all have one (and a file of several does not parse whole). */
	doc = i < len ? cJSON_ParseWithLengthOpts(data, len, NULL, 0) : NULL;
	if (cJSON_IsObject(doc) && !cJSON_GetObjectItemCaseSensitive(doc, "type")) {
		rc = add_json(m, file, doc, err);
		cJSON_Delete(doc);
		return rc;
	}
	cJSON_Delete(doc);
	return add_jsonl(m, file, data, len, err);
}

void kl_merge_expect(kl_merge *m, const char *id, const char *name)
{
	mrepo *r = find_repo(m, id);
	cJSON *o;

	if (r)
		return;
	r = new_repo(m, id, name, "the repository list");
	o = r->summary = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "repository");
	cJSON_AddItemToObject(o, "repository", kl_report_json_str(name));
	cJSON_AddStringToObject(o, "repository_id", id);
	cJSON_AddStringToObject(o, "status", "error");
	cJSON_AddStringToObject(o, "error", "listed, but in no input: its "
				"shard did not run or did not get to it");
	cJSON_AddNumberToObject(o, "findings", 0);
	warn(m, "repository %s is listed but in no input", name);
}

/* ---------------------------------------------------- one repository */

static const char *status_of(const mrepo *r)
{
	const char *s = r->summary ? str_of(r->summary, "status") : NULL;

	return s ? s : "incomplete";
}

bool kl_merge_incomplete(const kl_merge *m)
{
	size_t i;

	for (i = 0; i < m->len; i++)
		if (strcmp(status_of(&m->repos[i]), "ok") != 0)
			return true;
	return false;
}

size_t kl_merge_findings(const kl_merge *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->len; i++)
		n += (size_t)cJSON_GetArraySize(m->repos[i].findings);
	return n;
}

/* The index of s among the n names, or 0 (low, not verified). */
static int name_index(const char *s, const char *const *names, int n)
{
	int i;

	for (i = 0; s && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return 0;
}

static kl_severity severity_of(const char *s)
{
	kl_severity sev = KL_SEV_LOW;

	kl_severity_parse(s, &sev);
	return sev;
}

size_t kl_merge_findings_at_least(const kl_merge *m, kl_severity min)
{
	const cJSON *f;
	size_t i, n = 0;

	for (i = 0; i < m->len; i++)
		cJSON_ArrayForEach(f, m->repos[i].findings)
			n += severity_of(str_of(f, "severity")) >= min;
	return n;
}

static kl_verify_status verify_status_of(const char *s)
{
	static const char *const names[] = { "", "live", "revoked", "unknown" };

	return (kl_verify_status)name_index(s, names, 4);
}

/* The ruleset's rule, or one built from the finding (a custom rule file
 * the merging machine does not have). */
static const kl_rule *rule_of(kl_merge *m, const cJSON *f)
{
	const char *id = str_of(f, "rule_id");
	const kl_rule *known;
	kl_rule *r;
	size_t i;

	id = id ? id : "unknown";
	if (m->rs && (known = kl_ruleset_find(m->rs, id)) != NULL)
		return known;
	for (i = 0; i < m->n_extra; i++)
		if (strcmp(m->extra[i]->id, id) == 0)
			return m->extra[i];
	r = kl_xcalloc(1, sizeof(*r));
	r->id = kl_xstrdup(id);
	r->name = kl_xstrdup(str_of(f, "rule_name") ? str_of(f, "rule_name") : id);
	r->provider = kl_xstrdup(str_of(f, "provider") ? str_of(f, "provider") : "");
	r->remediation = kl_xstrdup_or_null(str_of(f, "remediation"));
	r->kind = str_of(f, "kind") && strcmp(str_of(f, "kind"), "policy") == 0
		  ? KL_RULE_POLICY : KL_RULE_PATTERN;
	r->severity = severity_of(str_of(f, "severity"));
	m->extra = kl_xrealloc(m->extra, (m->n_extra + 1) * sizeof(*m->extra));
	m->extra[m->n_extra++] = r;
	return r;
}

/* "2025-03-02T14:05:09+01:00" back to seconds and a zone offset. */
static void parse_date(const char *s, int64_t *t, int *tz)
{
	struct tm tm = { 0 };
	int hh = 0, mm = 0;
	char sign = '+';

	*t = 0;
	*tz = 0;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%2d:%2d", &tm.tm_year,
			 &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
			 &tm.tm_sec, &sign, &hh, &mm) < 6)
		return;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*tz = (sign == '-' ? -1 : 1) * (hh * 60 + mm);
	*t = (int64_t)timegm(&tm) - (int64_t)*tz * 60;
}

static void read_strlist(const cJSON *arr, kl_strlist *out)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, arr)
		if (cJSON_IsString(c))
			kl_strlist_push(out, c->valuestring);
}

static void read_prov(const cJSON *p, kl_provenance *out)
{
	int tz;

	out->commit = kl_xstrdup_or_null(str_of(p, "commit"));
	out->author_name = kl_xstrdup_or_null(str_of(p, "author_name"));
	out->author_email = kl_xstrdup_or_null(str_of(p, "author_email"));
	parse_date(str_of(p, "author_date"), &out->author_time, &out->author_tz);
	out->summary = kl_xstrdup_or_null(str_of(p, "summary"));
	out->removed_in = kl_xstrdup_or_null(str_of(p, "removed_in"));
	parse_date(str_of(p, "removed_date"), &out->removed_time, &tz);
	out->in_head = bool_of(p, "in_head");
	read_strlist(cJSON_GetObjectItemCaseSensitive(p, "commits"),
		     &out->commits);
	out->reach_known = cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(
					p, "reachable"));
	out->reach_total = (size_t)num_of(p, "refs_total");
	read_strlist(cJSON_GetObjectItemCaseSensitive(p, "refs"),
		     &out->reach_refs);
}

/* "<key>_hex" holds a non-UTF-8 path's exact bytes; NULL if absent. */
static char *pathkey_of(const cJSON *f, const char *key)
{
	kl_buf k = KL_BUF_INIT, b = KL_BUF_INIT;
	const char *hex, *p = str_of(f, key);
	unsigned v;

	kl_buf_printf(&k, "%s_hex", key);
	hex = str_of(f, k.data);
	kl_buf_free(&k);
	if (!hex)
		return kl_xstrdup_or_null(p);
	for (; hex[0] && hex[1] && sscanf(hex, "%2x", &v) == 1; hex += 2)
		kl_buf_addch(&b, (char)v);
	if (!b.data)
		kl_buf_grow(&b, 0);
	return kl_buf_detach(&b);
}

static void read_verification(const cJSON *v, kl_verification *out)
{
	int tz;

	if (!cJSON_IsObject(v))
		return;
	out->status = verify_status_of(str_of(v, "status"));
	out->detail = kl_xstrdup_or_null(str_of(v, "detail"));
	parse_date(str_of(v, "checked_at"), &out->checked_at, &tz);
}

static char *path_of(const cJSON *f)
{
	char *p = pathkey_of(f, "path");

	return p ? p : kl_xstrdup("");
}

static void read_finding(kl_merge *m, const cJSON *j, bool show, kl_finding *f)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "provenance");

	memset(f, 0, sizeof(*f));
	f->rule = rule_of(m, j);
	f->path = path_of(j);
	f->member = pathkey_of(j, "member");
	read_strlist(cJSON_GetObjectItemCaseSensitive(j, "decoded"), &f->decoded);
	f->line = (size_t)num_of(j, "line");
	f->column = (size_t)num_of(j, "column");
	f->end_column = (size_t)num_of(j, "end_column");
	f->redacted = kl_xstrdup_or_null(str_of(j, "secret_redacted"));
	f->secret = kl_xstrdup_or_null(str_of(j, "secret"));
	/* --show-secrets over input that kept none shows what there is */
	if (show && !f->secret && f->redacted)
		f->secret = kl_xstrdup(f->redacted);
	f->fingerprint = kl_xstrdup_or_null(str_of(j, "fingerprint"));
	f->end_line = (size_t)num_of(j, "end_line");
	f->partner_line = (size_t)num_of(j, "paired_line");
	/* a policy finding's message is its text; a pair's names the
	 * partner (the text report's "pair" line) */
	if (f->rule->kind == KL_RULE_POLICY || f->partner_line)
		f->message = kl_xstrdup_or_null(str_of(j, "message"));
	f->blob = kl_xstrdup_or_null(str_of(j, "blob"));
	f->count = num_of(j, "count") >= 1 ? (size_t)num_of(j, "count") : 1;
	f->has_prov = cJSON_IsObject(p);
	if (f->has_prov)
		read_prov(p, &f->prov);
	read_verification(cJSON_GetObjectItemCaseSensitive(j, "verification"),
			  &f->verification);
}

static void read_summary(const cJSON *s, kl_summary *o)
{
	o->files_scanned = (uint64_t)num_of(s, "files_scanned");
	o->bytes_scanned = (uint64_t)num_of(s, "bytes_scanned");
	o->skipped_binary = (uint64_t)num_of(s, "skipped_binary");
	o->skipped_too_large = (uint64_t)num_of(s, "skipped_too_large");
	o->skipped_lfs = (uint64_t)num_of(s, "skipped_lfs");
	o->skipped_other = (uint64_t)num_of(s, "skipped_other");
	o->unreadable = (uint64_t)num_of(s, "unreadable");
	o->suppressed = (uint64_t)num_of(s, "suppressed");
	o->baselined = (uint64_t)num_of(s, "baselined");
	o->commits_scanned = (uint64_t)num_of(s, "commits_scanned");
	o->limit_hits = (uint64_t)num_of(s, "limit_hits");
	o->missing_objects = (uint64_t)num_of(s, "missing_objects");
}

static void read_notices(const cJSON *arr, kl_report *r)
{
	const cJSON *n;

	cJSON_ArrayForEach(n, arr) {
		const char *k = str_of(n, "kind"), *msg = str_of(n, "message");

		kl_report_notice(r, k && strcmp(k, "error") == 0 ? KL_NOTICE_ERROR
				 : k && strcmp(k, "skipped") == 0
				 ? KL_NOTICE_SKIPPED : KL_NOTICE_WARNING,
				 str_of(n, "path"), "%s", msg ? msg : "");
	}
}

/* A kl_report rebuilt from one repository's lines, for text and SARIF. */
static void rebuild(kl_merge *m, const mrepo *mr, bool show, kl_report *r)
{
	const cJSON *s = mr->summary, *f;
	const char *cmd = s ? str_of(s, "command") : NULL;

	kl_report_init(r, cmd && strcmp(cmd, "history") == 0 ? "history"
		       : "audit", mr->name, m->rs);
	cJSON_ArrayForEach(f, mr->findings)
		read_finding(m, f, show, kl_findings_push(&r->findings));
	if (!s) {
		kl_report_notice(r, KL_NOTICE_ERROR, NULL, "no summary line: "
				 "the worker stopped before finishing this "
				 "repository");
		r->incomplete = true;
		return;
	}
	read_summary(cJSON_GetObjectItemCaseSensitive(s, "summary"), &r->summary);
	read_notices(cJSON_GetObjectItemCaseSensitive(s, "notices"), r);
	/* audit --repos puts the error among the notices too */
	if (str_of(s, "error") && !r->n_notices)
		kl_report_notice(r, KL_NOTICE_ERROR, NULL, "%s", str_of(s, "error"));
	r->incomplete = strcmp(status_of(mr), "ok") != 0;
	r->shallow = bool_of(s, "shallow");
	r->head = kl_xstrdup_or_null(str_of(s, "head"));
	r->branch = kl_xstrdup_or_null(str_of(s, "branch"));
	r->remote = kl_xstrdup_or_null(str_of(s, "remote"));
}

/* ---------------------------------------------------------- rendering */

static int cmp_repo(const void *a, const void *b)
{
	const mrepo *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->id, y->id);
}

static void render_jsonl(const kl_merge *m, kl_buf *out)
{
	const cJSON *f;
	size_t i;

	for (i = 0; i < m->len; i++) {
		cJSON_ArrayForEach(f, m->repos[i].findings)
			kl_report_json_line(f, out);
		if (m->repos[i].summary)
			kl_report_json_line(m->repos[i].summary, out);
	}
}

/* A summary line for a repository that never got one. */
static cJSON *summary_json(const mrepo *r)
{
	cJSON *o;

	if (r->summary)
		return cJSON_Duplicate(r->summary, 1);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "repository");
	cJSON_AddItemToObject(o, "repository", kl_report_json_str(r->name));
	cJSON_AddStringToObject(o, "repository_id", r->id);
	cJSON_AddStringToObject(o, "status", "incomplete");
	cJSON_AddStringToObject(o, "error", "no summary line: the worker "
				"stopped before finishing this repository");
	cJSON_AddNumberToObject(o, "findings",
				cJSON_GetArraySize(r->findings));
	return o;
}

static void render_json(const kl_merge *m, kl_buf *out)
{
	cJSON *root = cJSON_CreateObject(), *tool, *repos, *fs, *tot;
	size_t i, st[3] = { 0 };
	const cJSON *f;

	kl_report_json_add_num(root, "version", 1);
	tool = cJSON_AddObjectToObject(root, "tool");
	kl_report_json_add_str(tool, "name", "keyleak");
	kl_report_json_add_str(tool, "version", KL_VERSION);
	kl_report_json_add_str(root, "command", m->command);
	cJSON_AddItemToObject(root, "inputs", kl_report_json_strlist(&m->inputs));
	repos = cJSON_AddArrayToObject(root, "repositories");
	fs = cJSON_AddArrayToObject(root, "findings");
	for (i = 0; i < m->len; i++) {
		const char *s = status_of(&m->repos[i]);

		st[strcmp(s, "ok") == 0 ? 0 : strcmp(s, "error") == 0 ? 2 : 1]++;
		cJSON_AddItemToArray(repos, summary_json(&m->repos[i]));
		cJSON_ArrayForEach(f, m->repos[i].findings)
			cJSON_AddItemToArray(fs, cJSON_Duplicate(f, 1));
	}
	tot = cJSON_AddObjectToObject(root, "summary");
	kl_report_json_add_num(tot, "repositories", m->len);
	kl_report_json_add_num(tot, "ok", st[0]);
	kl_report_json_add_num(tot, "incomplete", st[1]);
	kl_report_json_add_num(tot, "error", st[2]);
	kl_report_json_add_num(tot, "findings", kl_merge_findings(m));
	cJSON_AddItemToObject(root, "warnings",
			      kl_report_json_strlist(&m->warnings));
	kl_report_json_add_bool(root, "incomplete", kl_merge_incomplete(m));
	kl_report_json_finish(root, out);
}

static void render_text(kl_merge *m, const kl_report_opts *o, kl_buf *out)
{
	size_t i, with = 0;

	for (i = 0; i < m->len; i++) {
		kl_report r;

		rebuild(m, &m->repos[i], o->show_secrets, &r);
		kl_buf_puts(out, "== ");
		kl_report_escape(out, m->repos[i].name);
		kl_buf_printf(out, " (%s)\n", status_of(&m->repos[i]));
		kl_report_text(&r, o, out);
		kl_buf_addch(out, '\n');
		with += r.findings.len > 0;
		kl_report_free(&r);
	}
	kl_buf_printf(out, "%zu repositories, %zu with findings, %zu "
		      "findings in all\n", m->len, with, kl_merge_findings(m));
}

/* SARIF wants an absolute URI: URLs as they are, local paths as file://
 * URIs of their absolute path (a relative one resolved here). */
static void repo_uri(const char *name, kl_buf *out)
{
	char *real, *cwd;

	if (strstr(name, "://")) {
		kl_buf_puts(out, name);
	} else if (strchr(name, '@') && strchr(name, ':')) {
		kl_buf_printf(out, "ssh://%s", name); /* scp-like */
	} else if (name[0] == '/') {
		kl_buf_printf(out, "file://%s", name);
	} else if ((real = realpath(name, NULL)) != NULL) {
		kl_buf_printf(out, "file://%s", real);
		free(real);
	} else {
		cwd = getcwd(NULL, 0);
		kl_buf_printf(out, "file://%s/%s", cwd ? cwd : "", name);
		free(cwd);
	}
}

static cJSON *sarif_run(kl_merge *m, const mrepo *mr, const kl_report_opts *o)
{
	kl_buf b = KL_BUF_INIT, uri = KL_BUF_INIT;
	cJSON *doc, *run, *vcps, *vcp, *auto_;
	kl_report r;

	rebuild(m, mr, o->show_secrets, &r);
	kl_report_sarif(&r, o, &b);
	kl_report_free(&r);
	doc = cJSON_ParseWithLength(b.data, b.len);
	run = cJSON_DetachItemFromArray(cJSON_GetObjectItemCaseSensitive(doc,
							"runs"), 0);
	cJSON_Delete(doc);
	kl_buf_free(&b);
	repo_uri(mr->name, &uri);
	vcps = cJSON_AddArrayToObject(run, "versionControlProvenance");
	vcp = cJSON_CreateObject();
	cJSON_AddItemToObject(vcp, "repositoryUri", kl_report_json_str(uri.data));
	if (mr->summary && str_of(mr->summary, "head"))
		cJSON_AddStringToObject(vcp, "revisionId",
					str_of(mr->summary, "head"));
	if (mr->summary && str_of(mr->summary, "branch"))
		cJSON_AddItemToObject(vcp, "branch",
				      kl_report_json_str(str_of(mr->summary,
								"branch")));
	/* results' paths are relative to %SRCROOT%: the repository's root */
	cJSON_AddStringToObject(cJSON_AddObjectToObject(vcp, "mappedTo"),
				"uriBaseId", "%SRCROOT%");
	cJSON_AddItemToArray(vcps, vcp);
	/* one category per repository, so code scanning keeps them apart */
	auto_ = cJSON_AddObjectToObject(run, "automationDetails");
	kl_buf_reset(&b);
	kl_buf_printf(&b, "keyleak/%.16s/", mr->id);
	cJSON_AddStringToObject(auto_, "id", b.data);
	kl_buf_free(&b);
	kl_buf_free(&uri);
	return run;
}

static void render_sarif(kl_merge *m, const kl_report_opts *o, kl_buf *out)
{
	kl_report empty;
	kl_buf b = KL_BUF_INIT;
	cJSON *doc, *runs;
	size_t i;

	/* the document's head from the one SARIF writer, runs from each
	 * repository */
	kl_report_init(&empty, "merge", "", m->rs);
	kl_report_sarif(&empty, o, &b);
	kl_report_free(&empty);
	doc = cJSON_ParseWithLength(b.data, b.len);
	kl_buf_free(&b);
	runs = cJSON_GetObjectItemCaseSensitive(doc, "runs");
	cJSON_DeleteItemFromArray(runs, 0);
	for (i = 0; i < m->len; i++)
		cJSON_AddItemToArray(runs, sarif_run(m, &m->repos[i], o));
	kl_report_json_finish(doc, out);
}

/* One page: every repository's findings, rebuilt, and a table of them. */
static void render_html(kl_merge *m, kl_buf *out)
{
	kl_report *reps = kl_xcalloc(m->len ? m->len : 1, sizeof(*reps));
	kl_html_repo *hr = kl_xcalloc(m->len ? m->len : 1, sizeof(*hr));
	kl_html_doc d = { m->command, hr, m->len, true, &m->warnings, m->rs, 0 };
	size_t i;

	for (i = 0; i < m->len; i++) {
		const cJSON *s = m->repos[i].summary;

		rebuild(m, &m->repos[i], false, &reps[i]);
		hr[i].report = &reps[i];
		hr[i].name = m->repos[i].name;
		hr[i].status = status_of(&m->repos[i]);
		hr[i].error = s ? str_of(s, "error") : "no summary line: the "
			      "worker stopped before finishing this repository";
		hr[i].seconds = s && cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(
				    s, "seconds")) ? num_of(s, "seconds") : -1;
	}
	kl_report_html_doc(&d, out);
	for (i = 0; i < m->len; i++)
		kl_report_free(&reps[i]);
	free(reps);
	free(hr);
}

void kl_merge_render(kl_merge *m, const kl_report_opts *o, kl_buf *out)
{
	if (m->len)
		qsort(m->repos, m->len, sizeof(*m->repos), cmp_repo);
	switch (o->format) {
	case KL_FORMAT_JSONL:
		render_jsonl(m, out);
		return;
	case KL_FORMAT_JSON:
		render_json(m, out);
		return;
	case KL_FORMAT_SARIF:
		render_sarif(m, o, out);
		return;
	case KL_FORMAT_HTML:
		render_html(m, out);
		return;
	case KL_FORMAT_TEXT:
	case KL_FORMAT_COMPACT:
		break;
	}
	render_text(m, o, out);
}

/* ------------------------------------------------------------ resume */

typedef struct jsonl_line {
	char *id;
	bool summary;
	const char *start;
	size_t len;
	size_t findings;
	bool ok;
} jsonl_line;

/* The fields --resume needs from one line; false if it is not a whole
 * keyleak JSON Lines record. */
static bool read_line(const char *s, size_t len, jsonl_line *l)
{
	cJSON *o = cJSON_ParseWithLength(s, len);
	cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
	cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "repository_id");
	cJSON *status = cJSON_GetObjectItemCaseSensitive(o, "status");
	cJSON *n = cJSON_GetObjectItemCaseSensitive(o, "findings");
	bool good = cJSON_IsString(type) && cJSON_IsString(id);

	if (good) {
		l->id = kl_xstrdup(id->valuestring);
		l->summary = strcmp(type->valuestring, "repository") == 0;
		l->ok = cJSON_IsString(status) &&
			strcmp(status->valuestring, "ok") == 0;
		l->findings = cJSON_IsNumber(n) ? (size_t)n->valuedouble : 0;
		l->start = s;
		l->len = len + 1;
	}
	cJSON_Delete(o);
	return good;
}

/* Parse the whole lines of text; ids with a summary line go to done. */
static size_t read_lines(const kl_buf *text, jsonl_line **out,
			 kl_strlist *done)
{
	const char *p = text->data, *end = text->data + text->len, *nl;
	jsonl_line *v = NULL;
	size_t n = 0;

	for (; p && p < end && (nl = memchr(p, '\n', (size_t)(end - p)));
	     p = nl + 1) {
		v = kl_xrealloc(v, (n + 1) * sizeof(*v));
		memset(&v[n], 0, sizeof(*v));
		if (!read_line(p, (size_t)(nl - p), &v[n]))
			continue;
		if (v[n].summary)
			kl_strlist_push(done, v[n].id);
		n++;
	}
	*out = v;
	return n;
}

void kl_jsonl_keep_complete(const char *data, size_t len, kl_buf *kept,
			    kl_strlist *done, size_t *findings, size_t *not_ok)
{
	kl_buf text = { (char *)data, len, len };
	jsonl_line *lines;
	size_t i, n;

	n = read_lines(&text, &lines, done);
	for (i = 0; i < n; i++) {
		if (kl_strlist_has(done, lines[i].id)) {
			kl_buf_add(kept, lines[i].start, lines[i].len);
			if (lines[i].summary) {
				*findings += lines[i].findings;
				*not_ok += !lines[i].ok;
			}
		}
		free(lines[i].id);
	}
	free(lines);
}
