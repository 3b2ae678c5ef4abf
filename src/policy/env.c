/*
 * Owns what an environment file is (.env, .env.*, .envrc, but not the
 * templates that are meant to be committed) and how a policy finding is
 * added, so every source names and words them the same way.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Suffixes that make a .env.* file a template, committed on purpose. */
static const char *const template_parts[] = {
	"example", "sample", "template", "dist", "defaults", NULL
};

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* True if any dot-separated part of s (after ".env.") is a template word. */
static bool has_template_part(const char *s)
{
	size_t i, n;

	while (*s) {
		n = strcspn(s, ".");
		for (i = 0; template_parts[i]; i++)
			if (n == strlen(template_parts[i]) &&
			    strncasecmp(s, template_parts[i], n) == 0)
				return true;
		s += n;
		if (*s == '.')
			s++;
	}
	return false;
}

/* .env, .env.<something> or .envrc; *rest is what follows ".env.". */
static bool env_shaped(const char *base, const char **rest)
{
	*rest = "";
	if (strcasecmp(base, ".env") == 0 || strcasecmp(base, ".envrc") == 0)
		return true;
	if (strncasecmp(base, ".env.", 5) == 0 && base[5]) {
		*rest = base + 5;
		return true;
	}
	return false;
}

bool kl_policy_is_env_template(const char *path)
{
	const char *rest;

	return env_shaped(base_name(path), &rest) && has_template_part(rest);
}

bool kl_policy_is_env_file(const char *path)
{
	const char *rest;

	return env_shaped(base_name(path), &rest) && !has_template_part(rest);
}

bool kl_policy_env_allowed(const kl_scan_opts *o, const char *path)
{
	size_t i;

	for (i = 0; o->allow_env_globs && i < o->allow_env_globs->len; i++)
		if (fnmatch(o->allow_env_globs->items[i], path, 0) == 0)
			return true;
	return false;
}

kl_finding *kl_policy_add(kl_report *r, const char *rule_id, const char *path,
			  const char *fmt, ...)
{
	const kl_rule *rule = r->rules ? kl_ruleset_find(r->rules, rule_id)
				       : NULL;
	kl_buf msg = KL_BUF_INIT;
	kl_finding *f;
	va_list ap;

	if (!rule || rule->kind != KL_RULE_POLICY)
		return NULL;
	va_start(ap, fmt);
	kl_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	f = kl_findings_add_policy(&r->findings, rule, path, msg.data);
	kl_buf_free(&msg);
	return f;
}
