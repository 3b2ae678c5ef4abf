/*
 * Owns the "context" field of a rule: reading it from JSON with errors that
 * name the file, the rule and the field, and compiling its regexes. What a
 * context means at scan time lives in src/engine/context.c.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rules/context.h"

static const char *const context_fields[] = {
	"before", "near", "lines", "family", "fallback", NULL
};

/* Names the file, the rule and the field, like the rest of the loader. */
typedef struct ctx_reader {
	const char *origin, *id;
	kl_error *err;
} ctx_reader;

static int ctx_fail(const ctx_reader *rd, const char *what)
{
	kl_error_set(rd->err, "%s: rule %s: field \"context\": %s", rd->origin,
		     rd->id, what);
	return -1;
}

static int check_fields(const ctx_reader *rd, const cJSON *o)
{
	const cJSON *v;
	size_t i;

	cJSON_ArrayForEach(v, o) {
		for (i = 0; context_fields[i]; i++)
			if (strcmp(v->string, context_fields[i]) == 0)
				break;
		if (!context_fields[i]) {
			kl_error_set(rd->err, "%s: rule %s: field \"context\": "
				     "unknown field \"%s\"", rd->origin, rd->id,
				     v->string);
			return -1;
		}
	}
	return 0;
}

/* An optional non-empty string field; why says what it must be. */
static int read_text(const ctx_reader *rd, const cJSON *o, const char *field,
		     const char *why, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);

	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !*v->valuestring)
		return ctx_fail(rd, why);
	*out = kl_xstrdup(v->valuestring);
	return 0;
}

static int read_near(const ctx_reader *rd, const cJSON *o, kl_rule_context *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "near"), *item;

	if (!v)
		return 0;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return ctx_fail(rd, "\"near\" must be a non-empty array of "
				"regexes");
	cJSON_ArrayForEach(item, v) {
		if (!cJSON_IsString(item) || !*item->valuestring)
			return ctx_fail(rd, "\"near\" must hold only non-empty "
					"regexes");
		kl_strlist_push(&c->near, item->valuestring);
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "lines");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
		  v->valuedouble > KL_CONTEXT_MAX_LINES ||
		  v->valuedouble != (double)(int)v->valuedouble))
		return ctx_fail(rd, "\"lines\" must be an integer from 0 to "
				"100");
	c->lines = v ? (unsigned)v->valueint : 0;
	return 0;
}

static int read_fields(const ctx_reader *rd, const cJSON *o,
		       kl_rule_context *c)
{
	const cJSON *v;

	if (check_fields(rd, o) ||
	    read_text(rd, o, "before", "\"before\" must be a non-empty regex",
		      &c->before) ||
	    read_near(rd, o, c) ||
	    read_text(rd, o, "family", "\"family\" must be a non-empty string",
		      &c->family))
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(o, "lines") && !c->near.len)
		return ctx_fail(rd, "\"lines\" needs \"near\"");
	v = cJSON_GetObjectItemCaseSensitive(o, "fallback");
	if (v && !cJSON_IsBool(v))
		return ctx_fail(rd, "\"fallback\" must be a boolean");
	c->fallback = v && cJSON_IsTrue(v);
	if (c->fallback && !c->family)
		return ctx_fail(rd, "\"fallback\" needs \"family\"");
	if (!c->before && !c->near.len && !c->family)
		return ctx_fail(rd, "needs \"before\", \"near\" or \"family\"");
	return 0;
}

int kl_rule_context_read(const void *rule_json, const char *origin,
			 const char *id, kl_rule_context **out, kl_error *err)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(rule_json, "context");
	ctx_reader rd = { origin, id, err };
	kl_rule_context *c;

	*out = NULL;
	if (!o)
		return 0;
	if (!cJSON_IsObject(o))
		return ctx_fail(&rd, "must be an object");
	c = kl_xcalloc(1, sizeof(*c));
	if (read_fields(&rd, o, c)) {
		kl_rule_context_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

/* skip: bytes of wrapping before the user's pattern, for error offsets. */
static void *compile_one(const char *src, const char *pattern, size_t skip,
			 uint32_t flags, const char *origin, const char *id,
			 const char *what, kl_error *err)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int code;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern,
				       PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | flags,
				       &code, &off, NULL);

	if (!re) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		off = off > skip ? off - skip : 0;
		if (off > strlen(src))
			off = strlen(src);
		kl_error_set(err, "%s: rule %s: field \"context\": invalid %s "
			     "regex at offset %zu: %s", origin, id, what,
			     (size_t)off, (char *)msg);
		return NULL;
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	return re;
}

int kl_rule_context_compile(kl_rule_context *c, const char *origin,
			    const char *id, kl_error *err)
{
	size_t i;

	if (c->before && !c->before_code) {
		/* "before" must end exactly where the secret starts. */
		kl_buf b = KL_BUF_INIT;

		kl_buf_printf(&b, "(?:%s)\\z", c->before);
		c->before_code = compile_one(c->before, b.data, 3,
					     PCRE2_MULTILINE, origin, id,
					     "\"before\"", err);
		kl_buf_free(&b);
		if (!c->before_code)
			return -1;
	}
	if (c->near.len && !c->near_code) {
		void **codes = kl_xcalloc(c->near.len, sizeof(void *));

		for (i = 0; i < c->near.len; i++) {
			codes[i] = compile_one(c->near.items[i],
					       c->near.items[i], 0,
					       PCRE2_MULTILINE, origin, id,
					       "\"near\"", err);
			if (!codes[i]) {
				while (i--)
					pcre2_code_free(codes[i]);
				free(codes);
				return -1;
			}
		}
		c->near_code = codes;
	}
	return 0;
}

void kl_rule_context_free(kl_rule_context *c)
{
	size_t i;

	if (!c)
		return;
	free(c->before);
	pcre2_code_free(c->before_code);
	if (c->near_code)
		for (i = 0; i < c->near.len; i++)
			pcre2_code_free(c->near_code[i]);
	free(c->near_code);
	kl_strlist_free(&c->near);
	free(c->family);
	free(c);
}
