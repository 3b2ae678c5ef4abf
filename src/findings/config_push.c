/*
 * Owns the config's "push" object: bypass, audit log, failure policy and
 * time budget of the push hooks. Strict like the rest of the config: an
 * unknown field or a wrong type is an error naming the file and field.
 */
#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "findings/config.h"

static const char *const push_fields[] = {
	"allow_bypass", "audit_log", "on_error", "timeout", NULL
};

static int bad(const kl_config *c, const char *field, const char *want,
	       kl_error *err)
{
	kl_error_set(err, "%s: field \"push.%s\" must be %s", c->path, field,
		     want);
	return -1;
}

static int check_push_fields(const kl_config *c, const cJSON *push,
			     kl_error *err)
{
	const cJSON *it;
	size_t i;

	cJSON_ArrayForEach(it, push) {
		for (i = 0; push_fields[i]; i++)
			if (strcmp(it->string, push_fields[i]) == 0)
				break;
		if (!push_fields[i]) {
			kl_error_set(err, "%s: unknown field \"push.%s\" (known: "
				     "allow_bypass, audit_log, on_error, "
				     "timeout)", c->path, it->string);
			return -1;
		}
	}
	return 0;
}

/* A relative log path is relative to the config file's directory, like
 * rule_files. */
static char *resolve(const kl_config *c, const char *p)
{
	const char *slash = strrchr(c->path, '/');
	kl_buf b = KL_BUF_INIT;

	if (p[0] == '/' || !slash)
		return kl_xstrdup(p);
	kl_buf_add(&b, c->path, (size_t)(slash - c->path) + 1);
	kl_buf_puts(&b, p);
	return kl_buf_detach(&b);
}

int kl_config_read_push(kl_config *c, const cJSON *root, kl_error *err)
{
	const cJSON *push = cJSON_GetObjectItemCaseSensitive(root, "push"), *v;

	if (!push)
		return 0;
	if (!cJSON_IsObject(push)) {
		kl_error_set(err, "%s: field \"push\" must be an object", c->path);
		return -1;
	}
	if (check_push_fields(c, push, err) < 0)
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(push, "allow_bypass"))) {
		if (!cJSON_IsBool(v))
			return bad(c, "allow_bypass", "true or false", err);
		c->push.allow_bypass = cJSON_IsTrue(v);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(push, "audit_log"))) {
		if (!cJSON_IsString(v) || !v->valuestring[0])
			return bad(c, "audit_log", "a non-empty path", err);
		c->push.audit_log = resolve(c, v->valuestring);
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(push, "on_error"))) {
		if (!cJSON_IsString(v) || (strcmp(v->valuestring, "refuse") &&
					   strcmp(v->valuestring, "accept")))
			return bad(c, "on_error", "\"refuse\" or \"accept\"", err);
		c->push.accept_on_error = strcmp(v->valuestring, "accept") == 0;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(push, "timeout"))) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0)
			return bad(c, "timeout", "a number of seconds (0: no "
				   "limit)", err);
		c->push.timeout = v->valuedouble;
	}
	return 0;
}
