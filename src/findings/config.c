/*
 * Owns .keyleak.json: finding the repository's file, strict parsing (every
 * field known, every type checked, errors name the file and the field) and
 * turning it into the scan's skip globs, allow-list and rule changes.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <cJSON.h>
#include <errno.h>
#include <git2.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "findings/config.h"

#define CONFIG_MAX_SIZE ((size_t)4 * 1024 * 1024)

/* The fields a config may have; anything else is rejected. */
static const char *const config_fields[] = {
	"version", "skip_paths", "allow_stopwords", "allow_regexes",
	"disable_rules", "rule_files", "push", "fail_on", "allow_env_files",
	"decode", "archives", NULL
};


/* A field that must be an array of non-empty strings. */
static int read_strings(const char *path, const cJSON *root, const char *key,
			kl_strlist *out, kl_error *err)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, key), *it;
	size_t i = 0;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr)) {
		kl_error_set(err, "%s: field \"%s\" must be an array of strings",
			     path, key);
		return -1;
	}
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsString(it) || !it->valuestring[0]) {
			kl_error_set(err, "%s: field \"%s\"[%zu] must be a "
				     "non-empty string", path, key, i);
			return -1;
		}
		kl_strlist_push(out, it->valuestring);
		i++;
	}
	return 0;
}

static int check_fields(const char *path, const cJSON *root, kl_error *err)
{
	const cJSON *it, *v;
	size_t i;

	if (!cJSON_IsObject(root)) {
		kl_error_set(err, "%s: a config must be a JSON object", path);
		return -1;
	}
	cJSON_ArrayForEach(it, root) {
		for (v = root->child; v != it; v = v->next)
			if (strcmp(v->string, it->string) == 0) {
				kl_error_set(err, "%s: field \"%s\" appears twice",
					     path, it->string);
				return -1;
			}
		for (i = 0; config_fields[i]; i++)
			if (strcmp(it->string, config_fields[i]) == 0)
				break;
		if (!config_fields[i]) {
			kl_error_set(err, "%s: unknown field \"%s\" (known: "
				     "version, skip_paths, allow_stopwords, "
				     "allow_regexes, disable_rules, rule_files, "
				     "push, fail_on, allow_env_files, decode, "
				     "archives)",
				     path, it->string);
			return -1;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "version");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble != 1)) {
		kl_error_set(err, "%s: field \"version\" must be the number 1",
			     path);
		return -1;
	}
	return 0;
}

static int compile_allow(kl_config *c, kl_error *err)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	size_t i;
	int code;

	c->compiled = kl_xcalloc(c->allow_regexes.len + 1, sizeof(void *));
	for (i = 0; i < c->allow_regexes.len; i++) {
		c->compiled[i] = pcre2_compile(
			(PCRE2_SPTR)c->allow_regexes.items[i],
			PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF,
			&code, &off, NULL);
		if (!c->compiled[i]) {
			pcre2_get_error_message(code, msg, sizeof(msg));
			kl_error_set(err, "%s: field \"allow_regexes\"[%zu]: "
				     "invalid regex at offset %zu: %s", c->path,
				     i, (size_t)off, (char *)msg);
			return -1;
		}
	}
	c->allow.stopwords = &c->allow_stopwords;
	c->allow.regexes = c->compiled;
	c->allow.n_regexes = c->allow_regexes.len;
	return 0;
}

/* Rule files are named relative to the config file's directory. */
static void resolve_rule_files(kl_config *c)
{
	const char *slash = strrchr(c->path, '/');
	kl_buf b = KL_BUF_INIT;
	size_t i;

	for (i = 0; slash && i < c->rule_files.len; i++) {
		char *p = c->rule_files.items[i];

		if (p[0] == '/')
			continue;
		kl_buf_reset(&b);
		kl_buf_add(&b, c->path, (size_t)(slash - c->path) + 1);
		kl_buf_puts(&b, p);
		free(p);
		c->rule_files.items[i] = kl_buf_detach(&b);
	}
	kl_buf_free(&b);
}

/* "fail_on": the least severity that makes the exit status 1. */
static int read_fail_on(kl_config *c, const cJSON *root, kl_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "fail_on");
	kl_severity s;

	c->fail_on = -1;
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || kl_severity_parse(v->valuestring, &s) != 0) {
		kl_error_set(err, "%s: field \"fail_on\" must be \"low\", "
			     "\"medium\", \"high\" or \"critical\"", c->path);
		return -1;
	}
	c->fail_on = (int)s;
	return 0;
}

static int parse(kl_config *c, const cJSON *root, kl_error *err)
{
	if (check_fields(c->path, root, err) || read_fail_on(c, root, err) ||
	    read_strings(c->path, root, "skip_paths", &c->skip_paths, err) ||
	    read_strings(c->path, root, "allow_env_files", &c->allow_env_files,
			 err) ||
	    read_strings(c->path, root, "allow_stopwords", &c->allow_stopwords,
			 err) ||
	    read_strings(c->path, root, "allow_regexes", &c->allow_regexes,
			 err) ||
	    read_strings(c->path, root, "disable_rules", &c->disable_rules,
			 err) ||
	    read_strings(c->path, root, "rule_files", &c->rule_files, err) ||
	    kl_config_read_push(c, root, err) ||
	    kl_config_read_unpack(c, root, err))
		return -1;
	resolve_rule_files(c);
	return compile_allow(c, err);
}

int kl_config_load(kl_config *c, const char *path, kl_error *err)
{
	kl_buf text = KL_BUF_INIT;
	const char *end = NULL;
	cJSON *root;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	c->path = kl_xstrdup(path);
	if (kl_read_file(path, "config", CONFIG_MAX_SIZE, &text, err) < 0)
		goto out;
	root = cJSON_ParseWithLengthOpts(text.data ? text.data : "", text.len,
					 &end, 0);
	if (!root) {
		kl_error_set(err, "%s: invalid JSON near byte %zu", path,
			     end && text.data ? (size_t)(end - text.data) : 0);
		goto out;
	}
	rc = parse(c, root, err);
	cJSON_Delete(root);
out:
	kl_buf_free(&text);
	if (rc)
		kl_config_free(c);
	return rc;
}

void kl_config_free(kl_config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; c->compiled && i < c->allow_regexes.len; i++)
		pcre2_code_free(c->compiled[i]);
	free(c->compiled);
	free(c->path);
	kl_strlist_free(&c->skip_paths);
	kl_strlist_free(&c->allow_env_files);
	kl_strlist_free(&c->allow_stopwords);
	kl_strlist_free(&c->allow_regexes);
	kl_strlist_free(&c->disable_rules);
	kl_strlist_free(&c->rule_files);
	free(c->push.audit_log);
	memset(c, 0, sizeof(*c));
}

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *kl_config_find(const char *path)
{
	git_repository *repo = NULL;
	const char *root = NULL;
	struct stat st;
	kl_buf b = KL_BUF_INIT;

	if (git_repository_open_ext(&repo, path, 0, NULL) == 0)
		root = git_repository_workdir(repo); /* NULL when bare */
	else if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		root = path;
	if (root) {
		kl_buf_puts(&b, root);
		if (b.len && b.data[b.len - 1] != '/')
			kl_buf_addch(&b, '/');
		kl_buf_puts(&b, KL_CONFIG_NAME);
	}
	git_repository_free(repo);
	if (!root || !is_file(b.data)) {
		kl_buf_free(&b);
		return NULL;
	}
	return kl_buf_detach(&b);
}

int kl_config_apply_rules(const kl_config *c, kl_ruleset *rs, kl_error *err)
{
	size_t i;

	for (i = 0; i < c->rule_files.len; i++) {
		if (kl_ruleset_add_path(rs, c->rule_files.items[i], err) < 0) {
			char *inner = kl_xstrdup(err->message ? err->message : "");

			kl_error_set(err, "%s: field \"rule_files\"[%zu]: %s",
				     c->path, i, inner);
			free(inner);
			return -1;
		}
	}
	for (i = 0; i < c->disable_rules.len; i++) {
		if (kl_ruleset_disable(rs, c->disable_rules.items[i]) < 0) {
			kl_error_set(err, "%s: field \"disable_rules\"[%zu]: no "
				     "rule has the id \"%s\"", c->path, i,
				     c->disable_rules.items[i]);
			return -1;
		}
	}
	return 0;
}
