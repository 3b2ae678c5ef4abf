/*
 * The reporter fuzz targets (fuzz_report_{json,sarif,text}.c include this
 * with FUZZ_FORMAT set): a report built from fuzz input, with arbitrary
 * paths, messages, commit metadata and notices, rendered in one format.
 * JSON and SARIF must parse, keep every path exact (path_hex, percent-
 * encoded uri) and, without --show-secrets, never hold a secret in full.
 */
#include "fuzz.h"

/* A secret no other field holds by accident: a fixed head plus input. */
#define SECRET_HEAD "Zq9KLfuzzSECRET"

/* Any other string: no 'Z', so it can never hold SECRET_HEAD. */
static char *field(fuzz_reader *in)
{
	char *s = fuzz_str(in), *p;

	for (p = s; *p; p++)
		if (*p == 'Z')
			*p = 'z';
	return s;
}

static void fill_provenance(fuzz_reader *in, kl_finding *f)
{
	f->has_prov = true;
	f->prov.commit = field(in);
	f->prov.author_name = field(in);
	f->prov.author_email = field(in);
	f->prov.author_time = (int64_t)(int32_t)fuzz_u32(in) * 64;
	f->prov.author_tz = (int)(int16_t)(fuzz_u32(in) & 0xffff);
	f->prov.summary = field(in);
	f->prov.in_head = fuzz_byte(in) & 1;
	if (fuzz_byte(in) & 1)
		f->prov.removed_in = field(in);
	kl_strlist_push(&f->prov.commits, f->prov.commit);
	f->blob = field(in);
}

static void add_finding(fuzz_reader *in, kl_report *r, const kl_ruleset *rs)
{
	uint8_t how = fuzz_byte(in);
	kl_finding *f;
	kl_buf secret = KL_BUF_INIT;
	char *tail;

	if (r->findings.len == r->findings.cap) {
		r->findings.cap = r->findings.cap ? 2 * r->findings.cap : 4;
		r->findings.items = kl_xrealloc(r->findings.items,
			r->findings.cap * sizeof(kl_finding));
	}
	f = &r->findings.items[r->findings.len++];
	memset(f, 0, sizeof(*f));
	f->rule = kl_ruleset_get(rs, fuzz_byte(in) % kl_ruleset_count(rs));
	f->path = field(in);
	f->line = fuzz_u32(in);
	f->column = fuzz_u32(in) & 0xffff;
	f->end_column = f->column + (fuzz_u32(in) & 0xffff);
	f->count = 1 + (how >> 4);
	if (how & 1) {
		f->message = field(in);
	} else {
		tail = fuzz_str(in);
		kl_buf_puts(&secret, SECRET_HEAD);
		kl_buf_puts(&secret, tail);
		free(tail);
		f->secret = kl_buf_detach(&secret);
		f->redacted = kl_redact(f->secret, strlen(f->secret), 3);
	}
	f->fingerprint = kl_fingerprint(f->rule->id, f->path,
					f->secret ? f->secret : "",
					f->secret ? strlen(f->secret) : 0);
	if (how & 2)
		fill_provenance(in, f);
	if (how & 4) {
		f->verification.status =
			(kl_verify_status)(1 + fuzz_byte(in) % 3);
		f->verification.detail = field(in);
		f->verification.checked_at = fuzz_u32(in);
	}
}

static void build(fuzz_reader *in, kl_report *r, const kl_ruleset *rs)
{
	static const char *const commands[] = { "scan", "staged", "history",
						"audit" };
	uint8_t n;
	char *path, *msg;

	kl_report_init(r, commands[fuzz_byte(in) & 3], NULL, rs);
	n = fuzz_byte(in);
	r->incomplete = n & 1;
	r->shallow = n & 2;
	r->repo_config_ignored = n & 4;
	r->verify.ran = n & 32;
	r->verify.only_live = n & 64;
	r->verify.live = n & 128;
	if (n & 8)
		r->config_path = field(in);
	if (n & 16)
		r->baseline_path = field(in);
	r->summary.files_scanned = fuzz_u32(in);
	r->summary.unreadable = fuzz_byte(in);
	r->summary.limit_hits = fuzz_byte(in);
	for (n = fuzz_byte(in) & 7; n; n--) {
		path = fuzz_byte(in) & 1 ? field(in) : NULL;
		msg = field(in);
		kl_report_notice(r, (kl_notice_kind)(fuzz_byte(in) % 3), path,
				 "%s", msg);
		free(path);
		free(msg);
	}
	while (in->len && r->findings.len < 64)
		add_finding(in, r, rs);
}

/* Exact bytes of a JSON path field: path_hex when present, else path. */
static char *json_path(const cJSON *o, const char *key)
{
	char hex_key[64];
	const cJSON *hex, *v;

	snprintf(hex_key, sizeof(hex_key), "%s_hex", key);
	hex = cJSON_GetObjectItemCaseSensitive(o, hex_key);
	if (cJSON_IsString(hex))
		return fuzz_hex_decode(hex->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(o, key);
	FUZZ_ASSERT(cJSON_IsString(v), "no string %s", key);
	return kl_xstrdup(v->valuestring);
}

static void check_json(const kl_report *r, const cJSON *root)
{
	const cJSON *fs = cJSON_GetObjectItemCaseSensitive(root, "findings");
	const cJSON *f;
	size_t i = 0;

	FUZZ_ASSERT(cJSON_GetArraySize(fs) == (int)r->findings.len,
		    "%d findings in JSON, %zu in the report",
		    cJSON_GetArraySize(fs), r->findings.len);
	cJSON_ArrayForEach(f, fs) {
		char *p = json_path(f, "path");

		FUZZ_ASSERT(strcmp(p, r->findings.items[i].path) == 0,
			    "JSON path of finding %zu is not exact", i);
		free(p);
		i++;
	}
}

/* SARIF uris name the path with leading slashes dropped ("%2E" if empty). */
static void check_sarif(const kl_report *r, const cJSON *root)
{
	const cJSON *run = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(root, "runs"), 0);
	const cJSON *res = cJSON_GetObjectItemCaseSensitive(run, "results");
	const cJSON *x;
	size_t i = 0;

	FUZZ_ASSERT(cJSON_GetArraySize(res) == (int)r->findings.len,
		    "%d SARIF results, %zu findings", cJSON_GetArraySize(res),
		    r->findings.len);
	cJSON_ArrayForEach(x, res) {
		const cJSON *loc = cJSON_GetArrayItem(
			cJSON_GetObjectItemCaseSensitive(x, "locations"), 0);
		const cJSON *uri = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(
					loc, "physicalLocation"),
				"artifactLocation"), "uri");
		const char *want = r->findings.items[i].path;
		char *got;

		FUZZ_ASSERT(cJSON_IsString(uri), "result %zu has no uri", i);
		got = fuzz_uri_decode(uri->valuestring);
		while (*want == '/')
			want++;
		FUZZ_ASSERT(strcmp(got, *want ? want : ".") == 0,
			    "SARIF uri of result %zu is not exact", i);
		free(got);
		i++;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const kl_ruleset *rs = fuzz_small_rules();
	fuzz_reader in = { data, size };
	kl_report_opts o = { FUZZ_FORMAT, false, false, false };
	uint8_t flags = fuzz_byte(&in);
	kl_report r;
	kl_buf out = KL_BUF_INIT;
	cJSON *root;
	size_t i;

	o.show_secrets = flags & 1;
	o.color = flags & 2;
	o.verbose = flags & 4;
	build(&in, &r, rs);
	kl_report_render(&r, &o, &out);
	FUZZ_ASSERT(out.data && strlen(out.data) == out.len,
		    "a NUL byte inside the rendered report");
	for (i = 0; !o.show_secrets && i < r.findings.len; i++) {
		const char *s = r.findings.items[i].secret;

		FUZZ_ASSERT(!s || !fuzz_contains(out.data, out.len, s),
			    "report holds secret %zu in full", i);
	}
	if (FUZZ_FORMAT != KL_FORMAT_TEXT) {
		root = fuzz_parse_json(&out, "report");
		if (FUZZ_FORMAT == KL_FORMAT_JSON)
			check_json(&r, root);
		else
			check_sarif(&r, root);
		cJSON_Delete(root);
	}
	kl_buf_free(&out);
	kl_report_free(&r);
	return 0;
}
