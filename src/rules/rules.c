/*
 * Owns the ruleset: loading rule files (JSON, via cJSON) from the embedded
 * set, a file or a directory, validating every field with messages that
 * name the file and the rule, and compiling the regexes with PCRE2 JIT.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/structure.h"
#include "internal.h"
#include "rules/context.h"
#include "rules/rules_int.h"

static const char *const known_fields[] = {
	"id", "name", "description", "severity", "kind", "regex",
	"secret_group", "keywords", "stopwords", "references", "tags",
	"examples", "negative_examples", "min_entropy", "marker",
	"remediation", "verify", "context", "check", "window", "pair", "claims",
	NULL
};

static const char *const pair_fields[] = {
	"name", "rule", "regex", "secret_group", "lines", "min_entropy",
	"required", NULL
};

static void verifier_free(kl_verifier *v);

kl_ruleset *kl_ruleset_new(void)
{
	return kl_xcalloc(1, sizeof(kl_ruleset));
}

static void pair_free(kl_pair *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->rule);
	free(p->regex);
	pcre2_code_free(p->code);
	free(p);
}

static void rule_free(kl_rule *r)
{
	free(r->id);
	free(r->name);
	free(r->description);
	free(r->remediation);
	free(r->provider);
	free(r->origin);
	free(r->regex);
	free(r->marker);
	kl_strlist_free(&r->keywords);
	kl_strlist_free(&r->stopwords);
	kl_strlist_free(&r->references);
	kl_strlist_free(&r->tags);
	kl_strlist_free(&r->examples);
	kl_strlist_free(&r->negative_examples);
	kl_strlist_free(&r->checks);
	kl_strlist_free(&r->claims);
	verifier_free(r->verify);
	pcre2_code_free(r->code);
	kl_rule_context_free(r->context);
	free(r->check);
	pair_free(r->pair);
	free(r);
}

void kl_ruleset_free(kl_ruleset *rs)
{
	size_t i;

	if (!rs)
		return;
	for (i = 0; i < rs->len; i++)
		rule_free(rs->rules[i]);
	free(rs->rules);
	kl_prefilter_free(rs->prefilter);
	free(rs);
}

size_t kl_ruleset_count(const kl_ruleset *rs)
{
	return rs->len;
}

const kl_rule *kl_ruleset_get(const kl_ruleset *rs, size_t i)
{
	return i < rs->len ? rs->rules[i] : NULL;
}

const kl_rule *kl_ruleset_find(const kl_ruleset *rs, const char *id)
{
	size_t i;

	for (i = 0; i < rs->len; i++)
		if (strcmp(rs->rules[i]->id, id) == 0)
			return rs->rules[i];
	return NULL;
}

size_t kl_ruleset_max_window(const kl_ruleset *rs)
{
	size_t i, w = 4096;

	for (i = 0; i < rs->len; i++)
		if (rs->rules[i]->window > w)
			w = rs->rules[i]->window;
	return w;
}

int kl_ruleset_index(const kl_ruleset *rs, const kl_rule *rule)
{
	size_t i;

	for (i = 0; i < rs->len; i++)
		if (rs->rules[i] == rule)
			return (int)i;
	return -1;
}

int kl_ruleset_disable(kl_ruleset *rs, const char *id)
{
	size_t i;

	for (i = 0; i < rs->len; i++) {
		if (strcmp(rs->rules[i]->id, id) == 0) {
			rule_free(rs->rules[i]);
			memmove(rs->rules + i, rs->rules + i + 1,
				(rs->len - i - 1) * sizeof(*rs->rules));
			rs->len--;
			rs->compiled = false;
			return 0;
		}
	}
	return -1;
}

/* ------------------------------------------------------- field readers */

/* Context for error messages while one rule is read. */
typedef struct rule_reader {
	const char *origin;
	const char *id; /* NULL until known */
	kl_error *err;
	bool distrust; /* verifiers read are marked untrusted */
} rule_reader;

static int __attribute__((format(printf, 2, 3)))
fail(rule_reader *rd, const char *fmt, ...)
{
	kl_buf b = KL_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	kl_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rd->id)
		kl_error_set(rd->err, "%s: rule %s: %s", rd->origin, rd->id,
			     b.data);
	else
		kl_error_set(rd->err, "%s: %s", rd->origin, b.data);
	kl_buf_free(&b);
	return -1;
}

static int read_string(rule_reader *rd, const cJSON *obj, const char *field,
		       bool required, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);

	if (!v) {
		if (required)
			return fail(rd, "missing field \"%s\"", field);
		return 0;
	}
	if (!cJSON_IsString(v) || !v->valuestring)
		return fail(rd, "field \"%s\" must be a string", field);
	if (required && !*v->valuestring)
		return fail(rd, "field \"%s\" must not be empty", field);
	*out = kl_xstrdup(v->valuestring);
	return 0;
}

static int read_strings(rule_reader *rd, const cJSON *obj, const char *field,
			kl_strlist *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
	const cJSON *item;

	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return fail(rd, "field \"%s\" must be an array of strings",
			    field);
	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsString(item) || !item->valuestring)
			return fail(rd, "field \"%s\" must hold only strings",
				    field);
		kl_strlist_push(out, item->valuestring);
	}
	return 0;
}

static int read_number(rule_reader *rd, const cJSON *obj, const char *field,
		       double lo, double hi, double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < lo || v->valuedouble > hi)
		return fail(rd, "field \"%s\" must be a number in range", field);
	*out = v->valuedouble;
	return 0;
}

static int check_fields(rule_reader *rd, const cJSON *obj,
			const char *const *known, const char *where)
{
	const cJSON *item;
	size_t i;

	cJSON_ArrayForEach(item, obj) {
		for (i = 0; known[i]; i++)
			if (strcmp(item->string, known[i]) == 0)
				break;
		if (!known[i])
			return fail(rd, "unknown field \"%s\"%s", item->string,
				    where);
	}
	return 0;
}

static int check_known_fields(rule_reader *rd, const cJSON *obj)
{
	return check_fields(rd, obj, known_fields, "");
}

static bool valid_id(const char *id)
{
	const char *p;

	if (!*id || *id == '-')
		return false;
	for (p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-'))
			return false;
	return true;
}

static int read_severity(rule_reader *rd, const cJSON *obj, kl_rule *r)
{
	char *s = NULL;
	int rc = read_string(rd, obj, "severity", true, &s);

	if (rc)
		return rc;
	if (kl_severity_parse(s, &r->severity) != 0)
		rc = fail(rd, "severity must be low, medium, high or critical");
	free(s);
	return rc;
}

static int read_kind(rule_reader *rd, const cJSON *obj, kl_rule *r)
{
	char *s = NULL;
	int rc = read_string(rd, obj, "kind", false, &s);

	r->kind = KL_RULE_PATTERN;
	if (rc || !s)
		return rc;
	if (strcmp(s, "policy") == 0)
		r->kind = KL_RULE_POLICY;
	else if (strcmp(s, "pattern") != 0)
		rc = fail(rd, "kind must be \"pattern\" or \"policy\"");
	free(s);
	return rc;
}

static int read_pattern_fields(rule_reader *rd, const cJSON *obj, kl_rule *r)
{
	double group = 0;

	if (read_string(rd, obj, "regex", true, &r->regex) ||
	    read_number(rd, obj, "secret_group", 0, 99, &group) ||
	    read_strings(rd, obj, "keywords", &r->keywords) ||
	    read_number(rd, obj, "min_entropy", 0, 8, &r->min_entropy) ||
	    read_string(rd, obj, "marker", false, &r->marker))
		return -1;
	r->secret_group = (int)group;
	if (r->keywords.len == 0)
		return fail(rd, "field \"%s\" must list at least one literal",
			    "keywords");
	for (size_t i = 0; i < r->keywords.len; i++)
		if (strlen(r->keywords.items[i]) < 2)
			return fail(rd, "keyword \"%s\" is shorter than 2 "
				    "characters", r->keywords.items[i]);
	return 0;
}

static int read_bool(rule_reader *rd, const cJSON *obj, const char *field,
		     bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);

	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return fail(rd, "field \"%s\" must be true or false", field);
	*out = cJSON_IsTrue(v);
	return 0;
}

static int read_pair(rule_reader *rd, const cJSON *obj, kl_rule *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "pair");
	double group = 0, lines = 3;
	kl_pair *p;

	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return fail(rd, "field \"pair\" must be an object");
	p = r->pair = kl_xcalloc(1, sizeof(*p));
	if (check_fields(rd, v, pair_fields, " in \"pair\"") ||
	    read_string(rd, v, "name", true, &p->name) ||
	    read_string(rd, v, "rule", false, &p->rule) ||
	    read_string(rd, v, "regex", false, &p->regex) ||
	    read_number(rd, v, "secret_group", 0, 99, &group) ||
	    read_number(rd, v, "lines", 0, 100, &lines) ||
	    read_number(rd, v, "min_entropy", 0, 8, &p->min_entropy) ||
	    read_bool(rd, v, "required", &p->required))
		return -1;
	p->secret_group = (int)group;
	p->lines = (size_t)lines;
	if (!p->rule && !p->regex)
		return fail(rd, "\"pair\" needs \"rule\" or \"regex\"");
	if (p->rule && strcmp(p->rule, r->id) == 0)
		return fail(rd, "\"pair\" names the rule itself");
	return 0;
}

/*
 * Structure checks ("check": a name from src/engine/structure.c), the
 * match window (multi-line secrets such as PEM blocks) and pairing.
 */
static int read_structure_fields(rule_reader *rd, const cJSON *obj,
				 kl_rule *r)
{
	double window = 0;

	if (read_string(rd, obj, "check", false, &r->check) ||
	    read_number(rd, obj, "window", 16, 1 << 20, &window) ||
	    read_strings(rd, obj, "claims", &r->claims) ||
	    read_pair(rd, obj, r))
		return -1;
	r->window = (size_t)window;
	if (r->check && !kl_check_find(r->check))
		return fail(rd, "unknown check \"%s\" (known: %s)", r->check,
			    kl_check_names());
	if (r->claims.len && !(r->check && strcmp(r->check, "jwt") == 0))
		return fail(rd, "\"claims\" needs \"check\": \"jwt\"");
	for (size_t i = 0; i < r->claims.len; i++)
		if (!kl_jwt_claim_valid(r->claims.items[i]))
			return fail(rd, "claim \"%s\" is not name=value or "
				    "name!=value", r->claims.items[i]);
	return 0;
}

/* The checks a rule applies, named for `keyleak rules` and the docs. */
static void describe_checks(kl_rule *r)
{
	if (r->kind != KL_RULE_PATTERN)
		return;
	const kl_check *c = r->check ? kl_check_find(r->check) : NULL;

	kl_strlist_push(&r->checks, "keyword");
	kl_strlist_push(&r->checks, "regex");
	if (!(c && kl_check_replaces_placeholder(c)) ||
	    kl_check_reads_placeholder(c))
		kl_strlist_push(&r->checks, "placeholder");
	if (r->marker)
		kl_strlist_push(&r->checks, "marker");
	if (r->min_entropy > 0)
		kl_strlist_push(&r->checks, "entropy");
	if (r->stopwords.len)
		kl_strlist_push(&r->checks, "stopwords");
	if (r->context && (r->context->before || r->context->near.len))
		kl_strlist_push(&r->checks, "context");
	if (r->check)
		kl_strlist_push(&r->checks, r->check);
	if (r->pair)
		kl_strlist_push(&r->checks, r->pair->required ? "pair-required"
							       : "pair");
}

static int read_verify(rule_reader *rd, const cJSON *obj, kl_rule *r);

static kl_rule *read_rule(rule_reader *rd, const cJSON *obj,
			  const char *provider)
{
	kl_rule *r = kl_xcalloc(1, sizeof(*r));

	r->origin = kl_xstrdup(rd->origin);
	r->provider = kl_xstrdup(provider);
	if (!cJSON_IsObject(obj)) {
		fail(rd, "each entry of \"rules\" must be an object");
		goto err;
	}
	if (read_string(rd, obj, "id", true, &r->id))
		goto err;
	rd->id = r->id;
	if (!valid_id(r->id)) {
		fail(rd, "id must be kebab-case (a-z, 0-9, -)");
		goto err;
	}
	if (check_known_fields(rd, obj) || read_kind(rd, obj, r) ||
	    read_string(rd, obj, "name", true, &r->name) ||
	    read_string(rd, obj, "description", true, &r->description) ||
	    read_string(rd, obj, "remediation", true, &r->remediation) ||
	    read_severity(rd, obj, r) ||
	    read_strings(rd, obj, "stopwords", &r->stopwords) ||
	    read_strings(rd, obj, "references", &r->references) ||
	    read_strings(rd, obj, "tags", &r->tags) ||
	    read_strings(rd, obj, "examples", &r->examples) ||
	    read_strings(rd, obj, "negative_examples", &r->negative_examples))
		goto err;
	if (r->kind == KL_RULE_PATTERN && (read_pattern_fields(rd, obj, r) ||
					   read_structure_fields(rd, obj, r)))
		goto err;
	if (read_verify(rd, obj, r))
		goto err;
	if (kl_rule_context_read(obj, rd->origin, rd->id, &r->context, rd->err))
		goto err;
	describe_checks(r);
	return r;
err:
	rule_free(r);
	return NULL;
}

static int compile_regexes(kl_ruleset *rs, kl_error *err);

static void ruleset_push(kl_ruleset *rs, kl_rule *r)
{
	rs->rules = kl_xrealloc(rs->rules, (rs->len + 1) * sizeof(*rs->rules));
	rs->rules[rs->len++] = r;
	rs->compiled = false;
}

static bool is_builtin(const kl_rule *r)
{
	return strncmp(r->origin, "builtin:", 8) == 0;
}

/* A later file may redefine a rule id: the user's file wins, except for
 * a built-in rule's verifier, which it keeps (checked by
 * check_verifier_change), so no rule file can send a provider's keys to
 * another host. */
static void ruleset_put(kl_ruleset *rs, kl_rule *r)
{
	kl_rule *old = (kl_rule *)kl_ruleset_find(rs, r->id);

	if (old && is_builtin(old) && !is_builtin(r)) {
		r->verify = old->verify;
		old->verify = NULL;
	}
	kl_ruleset_disable(rs, r->id);
	ruleset_push(rs, r);
}

static int check_verifier_change(const kl_ruleset *rs, const kl_rule *r,
				 kl_error *err)
{
	const kl_rule *old = kl_ruleset_find(rs, r->id);

	if (!old || !is_builtin(old) || is_builtin(r) || !r->verify)
		return 0;
	kl_error_set(err, "%s: rule %s: redefines a built-in rule and cannot "
		     "change its verifier (remove \"verify\"; the built-in "
		     "one is kept)", r->origin, r->id);
	return -1;
}

static int read_rule_file(kl_ruleset *rs, const char *origin,
			  const cJSON *root, kl_error *err)
{
	rule_reader rd = { origin, NULL, err,
			   rs->distrust_verifiers &&
			   strncmp(origin, "builtin:", 8) != 0 };
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
	const cJSON *prov = cJSON_GetObjectItemCaseSensitive(root, "provider");
	const cJSON *item;
	kl_ruleset *tmp = kl_ruleset_new();
	size_t i;

	if (!cJSON_IsObject(root) || !cJSON_IsArray(rules)) {
		kl_error_set(err, "%s: expected an object with a \"rules\" array",
			     origin);
		goto err;
	}
	cJSON_ArrayForEach(item, rules) {
		kl_rule *r;

		rd.id = NULL;
		r = read_rule(&rd, item, cJSON_IsString(prov) ?
					prov->valuestring : "");
		if (!r)
			goto err;
		if (kl_ruleset_find(tmp, r->id)) {
			kl_error_set(err, "%s: rule %s: duplicate id", origin,
				     r->id);
			rule_free(r);
			goto err;
		}
		ruleset_push(tmp, r);
	}
	/* Compile before accepting, so a bad regex names this file. */
	if (compile_regexes(tmp, err))
		goto err;
	for (i = 0; i < tmp->len; i++)
		if (check_verifier_change(rs, tmp->rules[i], err))
			goto err;
	for (i = 0; i < tmp->len; i++)
		ruleset_put(rs, tmp->rules[i]);
	tmp->len = 0;
	kl_ruleset_free(tmp);
	return 0;
err:
	kl_ruleset_free(tmp);
	return -1;
}

int kl_ruleset_add_json(kl_ruleset *rs, const char *origin, const char *json,
			size_t len, kl_error *err)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, false);
	int rc;

	if (!root) {
		size_t off = end ? (size_t)(end - json) : 0;
		size_t line = 1, i;

		for (i = 0; i < off && i < len; i++)
			line += json[i] == '\n';
		kl_error_set(err, "%s: invalid JSON near line %zu (byte %zu)",
			     origin, line, off);
		return -1;
	}
	rc = read_rule_file(rs, origin, root, err);
	cJSON_Delete(root);
	return rc;
}

int kl_ruleset_add_builtin(kl_ruleset *rs, kl_error *err)
{
	size_t i;

	for (i = 0; i < kl_embedded_rules_count; i++) {
		const kl_embedded_file *f = &kl_embedded_rules[i];
		kl_buf origin = KL_BUF_INIT;
		int rc;

		kl_buf_printf(&origin, "builtin:%s", f->name);
		rc = kl_ruleset_add_json(rs, origin.data, f->data, f->len, err);
		kl_buf_free(&origin);
		if (rc)
			return rc;
	}
	return 0;
}

static int add_file(kl_ruleset *rs, const char *path, kl_error *err)
{
	kl_buf data = KL_BUF_INIT;
	int rc = kl_read_file(path, "rule file", 0, &data, err);

	if (rc == 0)
		rc = kl_ruleset_add_json(rs, path, data.data, data.len, err);
	kl_buf_free(&data);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_dir(kl_ruleset *rs, const char *path, kl_error *err)
{
	kl_strlist names = { 0 };
	struct dirent *de;
	DIR *d = opendir(path);
	size_t i;
	int rc = 0;

	if (!d) {
		kl_error_set(err, "%s: cannot open rules directory: %s", path,
			     strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0)
			kl_strlist_push(&names, de->d_name);
	}
	closedir(d);
	if (names.len)
		qsort(names.items, names.len, sizeof(char *), cmp_str);
	for (i = 0; i < names.len && rc == 0; i++) {
		kl_buf full = KL_BUF_INIT;

		kl_buf_printf(&full, "%s/%s", path, names.items[i]);
		rc = add_file(rs, full.data, err);
		kl_buf_free(&full);
	}
	kl_strlist_free(&names);
	return rc;
}

int kl_ruleset_add_path(kl_ruleset *rs, const char *path, kl_error *err)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		kl_error_set(err, "%s: cannot read rules: %s", path,
			     strerror(errno));
		return -1;
	}
	return S_ISDIR(st.st_mode) ? add_dir(rs, path, err)
				   : add_file(rs, path, err);
}

/* ----------------------------------------------------------- compiling */

/*
 * Compile one of r's patterns (what: "" for its regex, "pair " for its
 * partner's) with JIT, checking its secret group exists.
 */
static int compile_pattern(const kl_rule *r, const char *what,
			   const char *regex, int group, pcre2_code **out,
			   kl_error *err)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int code;
	uint32_t groups = 0;

	*out = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
			     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off,
			     NULL);
	if (!*out) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		kl_error_set(err, "%s: rule %s: invalid %sregex at offset %zu: "
			     "%s", r->origin, r->id, what, (size_t)off,
			     (char *)msg);
		return -1;
	}
	pcre2_pattern_info(*out, PCRE2_INFO_CAPTURECOUNT, &groups);
	if ((uint32_t)group > groups) {
		kl_error_set(err, "%s: rule %s: %ssecret_group %d but the regex "
			     "has %u capture groups", r->origin, r->id, what,
			     group, groups);
		return -1;
	}
	/* The engine runs the regex compiled again, anchored, with JIT, on
	 * first use (prefilter.c): JIT here would cost every start 0.2 ms a
	 * rule, 60 ms for the built-in set. A partner's regex runs as it is. */
	if (*what)
		pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
	return 0;
}

static int compile_rule(kl_rule *r, kl_error *err)
{
	pcre2_code *code = NULL;
	int rc = 0;

	if (!r->code) {
		rc = compile_pattern(r, "", r->regex, r->secret_group, &code,
				     err);
		r->code = code;
	}
	if (rc == 0 && r->pair && r->pair->regex && !r->pair->code) {
		rc = compile_pattern(r, "pair ", r->pair->regex,
				     r->pair->secret_group, &code, err);
		r->pair->code = code;
	}
	if (rc == 0 && r->context)
		rc = kl_rule_context_compile(r->context, r->origin, r->id, err);
	return rc;
}

static int compile_regexes(kl_ruleset *rs, kl_error *err)
{
	size_t i;

	for (i = 0; i < rs->len; i++)
		if (rs->rules[i]->kind == KL_RULE_PATTERN &&
		    compile_rule(rs->rules[i], err))
			return -1;
	return 0;
}

int kl_ruleset_compile(kl_ruleset *rs, kl_error *err)
{
	if (rs->compiled)
		return 0;
	if (compile_regexes(rs, err))
		return -1;
	kl_prefilter_free(rs->prefilter);
	rs->prefilter = kl_prefilter_new(rs);
	rs->compiled = true;
	return 0;
}

void kl_ruleset_distrust_verifiers(kl_ruleset *rs, bool distrust)
{
	rs->distrust_verifiers = distrust;
}

/* ------------------------------------------------------------ verifiers */
/*
 * The "verify" object of a rule. Checked strictly, because it decides
 * where a secret is sent: HTTPS only, "{secret}" only in header values
 * (or in the query when the rule says the provider needs it there), never
 * in the host or path, and no redirects are ever followed.
 */

#define SECRET_PLACEHOLDER "{secret}"

static const char *const verify_fields[] = {
	"method", "url", "headers", "live", "revoked", "live_body",
	"revoked_body", "secret_in_query", NULL
};

static void verifier_free(kl_verifier *v)
{
	if (!v)
		return;
	free(v->method);
	free(v->url);
	kl_strlist_free(&v->headers);
	free(v->live);
	free(v->revoked);
	kl_strlist_free(&v->live_body);
	kl_strlist_free(&v->revoked_body);
	free(v);
}

static int verify_known_fields(rule_reader *rd, const cJSON *obj)
{
	const cJSON *item;
	size_t i;

	cJSON_ArrayForEach(item, obj) {
		for (i = 0; verify_fields[i]; i++)
			if (strcmp(item->string, verify_fields[i]) == 0)
				break;
		if (!verify_fields[i])
			return fail(rd, "verify: unknown field \"%s\"",
				    item->string);
	}
	return 0;
}

/*
 * An empty list is allowed only where may_be_empty: "revoked": [] says the
 * provider's refusal cannot be told from a key of another instance (a
 * self-managed GitLab's token refused by gitlab.com), so it stays unknown.
 */
static int read_statuses(rule_reader *rd, const cJSON *obj, const char *field,
			 bool may_be_empty, int **out, size_t *n)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field), *item;

	if (!cJSON_IsArray(v) ||
	    (cJSON_GetArraySize(v) == 0 && !may_be_empty))
		return fail(rd, "verify: field \"%s\" must be a non-empty "
			    "array of HTTP status codes", field);
	if (cJSON_GetArraySize(v) == 0)
		return 0;
	*out = kl_xcalloc((size_t)cJSON_GetArraySize(v), sizeof(int));
	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsNumber(item) || item->valuedouble < 100 ||
		    item->valuedouble > 599 ||
		    item->valuedouble != (double)item->valueint)
			return fail(rd, "verify: field \"%s\" must hold HTTP "
				    "status codes (100-599)", field);
		(*out)[(*n)++] = item->valueint;
	}
	return 0;
}

bool kl_verify_has_status(const int *codes, size_t n, long code)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (codes[i] == code)
			return true;
	return false;
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* https://host[:port]/path[?query]: the host is letters, digits, dots and
 * dashes (no user info, no placeholder), so it is exactly what it says. */
static int check_url(rule_reader *rd, kl_verifier *v)
{
	const char *host = v->url + 8, *p, *secret, *query;

	if (strncmp(v->url, "https://", 8) != 0 || !printable_ascii(v->url))
		return fail(rd, "verify: url must start with https:// and hold "
			    "no spaces or control characters");
	for (p = host; *p && *p != '/' && *p != '?' && *p != ':'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
			return fail(rd, "verify: url's host may hold only "
				    "letters, digits, '.' and '-'");
	if (p == host)
		return fail(rd, "verify: url names no host");
	if (strchr(v->url, '#'))
		return fail(rd, "verify: url must not have a fragment");
	secret = strstr(v->url, SECRET_PLACEHOLDER);
	query = strchr(v->url, '?');
	if (secret && (!query || secret < query))
		return fail(rd, "verify: " SECRET_PLACEHOLDER " may appear only "
			    "in the url's query");
	if (secret && !v->secret_in_query)
		return fail(rd, "verify: the url puts the secret in its query; "
			    "set \"secret_in_query\": true to say the provider "
			    "requires it (proxies may log URLs)");
	if (!secret && v->secret_in_query)
		return fail(rd, "verify: \"secret_in_query\" is true but the "
			    "url has no " SECRET_PLACEHOLDER);
	return 0;
}

static bool header_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
			return false;
	return true;
}

static int check_header(rule_reader *rd, const cJSON *item)
{
	const char *c;

	if (!header_name_ok(item->string) || !cJSON_IsString(item))
		return fail(rd, "verify: header \"%s\" must have a token name "
			    "and a string value", item->string);
	for (c = item->valuestring; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return fail(rd, "verify: header \"%s\" holds a control "
				    "character", item->string);
	return 0;
}

static int read_headers(rule_reader *rd, const cJSON *obj, kl_verifier *v)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(obj, "headers");
	const cJSON *item;
	kl_buf line = KL_BUF_INIT;

	if (!h)
		return 0;
	if (!cJSON_IsObject(h))
		return fail(rd, "verify: field \"headers\" must be an object "
			    "of strings");
	cJSON_ArrayForEach(item, h) {
		if (check_header(rd, item)) {
			kl_buf_free(&line);
			return -1;
		}
		kl_buf_printf(&line, "%s: %s", item->string, item->valuestring);
		kl_strlist_push(&v->headers, line.data);
		kl_buf_reset(&line);
	}
	kl_buf_free(&line);
	return 0;
}

static bool sends_secret(const kl_verifier *v)
{
	size_t i;

	if (strstr(v->url, SECRET_PLACEHOLDER))
		return true;
	for (i = 0; i < v->headers.len; i++)
		if (strstr(v->headers.items[i], SECRET_PLACEHOLDER))
			return true;
	return false;
}

static int read_method(rule_reader *rd, const cJSON *obj, kl_verifier *v)
{
	if (read_string(rd, obj, "method", false, &v->method))
		return -1;
	if (!v->method)
		v->method = kl_xstrdup("GET");
	if (strcmp(v->method, "GET") && strcmp(v->method, "HEAD") &&
	    strcmp(v->method, "POST"))
		return fail(rd, "verify: method must be GET, HEAD or POST");
	return 0;
}

/* A string, or an array of strings of which any one will do. */
static int read_bodies(rule_reader *rd, const cJSON *obj, const char *field,
		       kl_strlist *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field), *item;

	if (!v)
		return 0;
	if (cJSON_IsString(v) && *v->valuestring) {
		kl_strlist_push(out, v->valuestring);
		return 0;
	}
	if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
		cJSON_ArrayForEach(item, v) {
			if (!cJSON_IsString(item) || !*item->valuestring)
				goto bad;
			kl_strlist_push(out, item->valuestring);
		}
		return 0;
	}
bad:
	return fail(rd, "verify: field \"%s\" must be a non-empty string or "
		    "array of them", field);
}

static int check_statuses(rule_reader *rd, const kl_verifier *v)
{
	size_t i;

	for (i = 0; i < v->n_live; i++)
		if (kl_verify_has_status(v->revoked, v->n_revoked,
					 v->live[i]) &&
		    !v->live_body.len)
			return fail(rd, "verify: status %d is both live and "
				    "revoked; set \"live_body\" to tell them "
				    "apart", v->live[i]);
	return 0;
}

static int read_verifier(rule_reader *rd, const cJSON *obj, kl_verifier *v)
{
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(obj, "secret_in_query");

	if (q && !cJSON_IsBool(q))
		return fail(rd, "verify: field \"secret_in_query\" must be a "
			    "boolean");
	v->secret_in_query = cJSON_IsTrue(q);
	if (verify_known_fields(rd, obj) || read_method(rd, obj, v) ||
	    read_string(rd, obj, "url", true, &v->url) || check_url(rd, v) ||
	    read_headers(rd, obj, v) ||
	    read_statuses(rd, obj, "live", false, &v->live, &v->n_live) ||
	    read_statuses(rd, obj, "revoked", true, &v->revoked, &v->n_revoked) ||
	    read_bodies(rd, obj, "live_body", &v->live_body) ||
	    read_bodies(rd, obj, "revoked_body", &v->revoked_body) ||
	    check_statuses(rd, v))
		return -1;
	if (!sends_secret(v))
		return fail(rd, "verify: no header (nor the url) holds "
			    SECRET_PLACEHOLDER);
	return 0;
}

static int read_verify(rule_reader *rd, const cJSON *obj, kl_rule *r)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "verify");

	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return fail(rd, "field \"verify\" must be an object");
	if (r->kind != KL_RULE_PATTERN)
		return fail(rd, "verify: a policy rule has no secret to verify");
	r->verify = kl_xcalloc(1, sizeof(*r->verify));
	r->verify->untrusted = rd->distrust;
	return read_verifier(rd, v, r->verify);
}

int kl_severity_parse(const char *name, kl_severity *out)
{
	int s;

	for (s = KL_SEV_LOW; s <= KL_SEV_CRITICAL; s++)
		if (name && strcmp(name, kl_severity_name((kl_severity)s)) == 0) {
			*out = (kl_severity)s;
			return 0;
		}
	return -1;
}

const char *kl_severity_name(kl_severity s)
{
	switch (s) {
	case KL_SEV_LOW:
		return "low";
	case KL_SEV_MEDIUM:
		return "medium";
	case KL_SEV_HIGH:
		return "high";
	case KL_SEV_CRITICAL:
		return "critical";
	}
	return "unknown";
}
