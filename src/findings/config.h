/*
 * The configuration file (.keyleak.json at the repository root, or
 * --config FILE): paths to skip, values to allow, rules to disable and
 * extra rule files. Parsing is strict: an unknown field or a wrong type is
 * an error naming the file and the field, because a config that silently
 * means something else is how a scanner goes quiet.
 */
#ifndef KL_CONFIG_H
#define KL_CONFIG_H

#include "internal.h"

#define KL_CONFIG_NAME ".keyleak.json"

/* "push": what the push hooks do besides scanning (server config only). */
typedef struct kl_push_policy {
	bool allow_bypass;     /* honour `git push -o keyleak.bypass=REASON` */
	char *audit_log;       /* refusals and bypasses go here, or NULL */
	bool accept_on_error;  /* "on_error": "accept" (default: refuse) */
	double timeout;        /* seconds for the scan, 0 = no limit */
} kl_push_policy;

typedef struct kl_config {
	char *path;                /* the file it was read from */
	kl_strlist skip_paths;     /* fnmatch globs, relative to the scan root */
	kl_strlist allow_env_files; /* env files the policy lets git track */
	kl_strlist allow_stopwords; /* a secret containing one is allowed */
	kl_strlist allow_regexes;  /* sources; a secret matching one is allowed */
	kl_strlist disable_rules;  /* rule ids */
	kl_strlist rule_files;     /* resolved against the config's directory */
	void **compiled;           /* pcre2_code_8 * per allow_regexes item */
	kl_allowlist allow;        /* points into the above */
	kl_push_policy push;
	int fail_on;               /* "fail_on": a kl_severity, or -1 */
	kl_unpack_opts unpack;     /* "decode" and "archives" */
} kl_config;

/* Parse root's "push" object into c->push (src/findings/config_push.c). */
struct cJSON;
int kl_config_read_push(kl_config *c, const struct cJSON *root,
			kl_error *err);

/* Parse root's "decode" and "archives" objects into c->unpack
 * (src/findings/config_unpack.c). */
int kl_config_read_unpack(kl_config *c, const struct cJSON *root,
			  kl_error *err);
/* Settings of over that are set (a limit, an "off") replace dst's: the
 * command line's over the config's. */
void kl_unpack_opts_merge(kl_unpack_opts *dst, const kl_unpack_opts *over);

/* Read and validate path into c (zeroed first). */
int kl_config_load(kl_config *c, const char *path, kl_error *err);
void kl_config_free(kl_config *c);

/*
 * The repository's own config for a scan of path: KL_CONFIG_NAME at the
 * root of the work tree containing path (or in path itself when it is a
 * directory outside git). Returns a path to free, or NULL if none exists.
 */
char *kl_config_find(const char *path);

/* Add c's rule files to rs and drop its disabled rules; call before
 * kl_ruleset_compile. A disabled id that names no rule is an error. */
int kl_config_apply_rules(const kl_config *c, kl_ruleset *rs, kl_error *err);

#endif
