/*
 * The command-line tool's own interfaces: parsed options and the command
 * functions. The CLI only parses, opens inputs through the library and
 * prints; it holds no scanning logic.
 */
#ifndef KL_CLI_H
#define KL_CLI_H

#include "internal.h"

struct kl_config;

#define KL_EXIT_CLEAN 0
#define KL_EXIT_FINDINGS 1
#define KL_EXIT_ERROR 2

typedef struct cli_opts {
	const char *command;
	const char *path;         /* PATH operand, default "." */
	kl_strlist revs;          /* further operands (history REVs) */
	kl_format format;
	const char *output;
	bool show_secrets;
	int exit_code;            /* status when findings remain */
	int threads;
	bool quiet;
	bool verbose;
	bool color;
	size_t max_file_size;
	kl_strlist rules_paths;   /* --rules */
	kl_strlist only_rules;    /* --only-rules */
	bool all_refs;
	const char *range;
	bool allow_incomplete;
	bool check;               /* rules --check */
	uint64_t seed;            /* rules --check --seed */
	const char *config;       /* --config */
	bool no_repo_config;
	const char *baseline;     /* --baseline */
	bool fetch_missing;       /* --fetch-missing */
	bool verify;              /* --verify */
	bool only_live;           /* --only-live */
	int verify_jobs;          /* --verify-jobs */
	int verify_timeout;       /* --verify-timeout, seconds */
	bool verify_opts_given;   /* --verify-jobs or --verify-timeout */
	/* audit --repos (src/cli/org.c) */
	const char *repos;        /* --repos FILE */
	const char *mirror_dir;   /* --mirror-dir */
	unsigned shard_k, shard_n; /* --shard K/N; shard_n 0 = all */
	int jobs;                 /* --jobs: repositories at once */
	bool resume;              /* --resume */
	const char *state_dir;    /* --state-dir */
	bool threads_given;       /* -j was on the command line */
	bool files_only;          /* pre-commit FILE...: revs are the files */
	int fail_on;              /* --fail-on: a kl_severity, or -1 */
	/* keyleak repos, audit --repos-from (src/cli/repos.c) */
	kl_strlist repos_from;    /* --repos-from SPEC */
	const char *api_url;      /* --api-url */
	bool include_forks, include_archived;
	int visibility;           /* kl_visibility */
	kl_strlist include_names; /* --include-name */
	kl_strlist exclude_names; /* --exclude-name */
	long rate_limit_wait;     /* --rate-limit-wait, seconds */
	bool hosting_given;       /* any of the listing options above */
	kl_unpack_opts unpack;    /* --no-decode, --no-archives, limits */
} cli_opts;

void cli_usage(FILE *out);
/* The least severity that makes the exit status non-zero: --fail-on,
 * else the config's "fail_on", else medium (low findings are reported
 * but do not fail a scan). */
kl_severity cli_fail_on(const cli_opts *o, const struct kl_config *cfg);
int cli_parse(int argc, char **argv, cli_opts *o);
void cli_opts_free(cli_opts *o);

int cmd_scan(cli_opts *o);    /* scan, staged, history, audit, baseline,
                                 pre-commit */
int cmd_rules(cli_opts *o);
int cmd_org_audit(cli_opts *o); /* audit --repos (org.c) */
int cmd_merge(cli_opts *o);     /* merge FILE... (org.c) */
int cmd_repos(cli_opts *o);     /* repos SPEC... (repos.c) */
struct kl_hosted_list;
/* Every --repos-from (or repos) spec's repositories, sorted; prints the
 * error and returns -1. */
int cli_list_hosted(const cli_opts *o, const kl_strlist *specs,
		    struct kl_hosted_list *out);
/* Check the audit --repos options; prints the error. */
int cli_check_org(const cli_opts *o);

/* Start libgit2's initialisation on a thread (main does, first);
 * cli_git_ready waits until it is done. */
void cli_git_start(void);
void cli_git_ready(void);

/* `keyleak version`: keyleak's version, then one line per library it runs
 * with (libgit2, PCRE2 with JIT state, cJSON, zlib, libcurl if built in);
 * src/cli/version.c. */
void kl_version_text(kl_buf *out);
/* `keyleak version`, `--version`, `-V`: prints it; the exit status. */
int cli_version(void);

/* In src/cli/verify.c: refuse verification options that make no sense
 * (and a malformed KEYLEAK_VERIFY_BASE_URL) before scanning; then, after
 * the scan, verify the report's findings and apply --only-live. */
int cli_verify_check(const cli_opts *o);
void cli_verify(const cli_opts *o, kl_report *r);

/* In src/cli/install_hook.c. argv[0] is "install-hook". */
int kl_cmd_install_hook(int argc, char **argv);

struct kl_config;

/* The decoding and archive settings of a scan: the config's (cfg may be
 * NULL), then the command line's over them. */
void cli_unpack_opts(const cli_opts *o, const struct kl_config *cfg,
		     kl_unpack_opts *out);

/* Load the rules the options (and the config, if not NULL) ask for;
 * prints the error and returns NULL. */
kl_ruleset *cli_load_rules(const cli_opts *o, const struct kl_config *cfg);

/* For the push hooks (src/cli/push.c): cli_load_rules in two halves, so
 * the first runs while libgit2 initialises; notices on stderr; the report
 * to stdout or --output (non-zero on failure). */
kl_ruleset *cli_rules_start(const cli_opts *o);
kl_ruleset *cli_rules_done(kl_ruleset *rs, const struct kl_config *cfg);
void cli_print_notices(const cli_opts *o, const kl_report *r);
/* One notice on stderr, escaped: "keyleak: [REPO: ]error: PATH: message". */
void cli_print_notice(const char *repo, const kl_notice *n);
int cli_write_report(const cli_opts *o, const kl_report *r);

/* In src/cli/push.c. argv[0] is "pre-receive" or "pre-push". */
int cmd_push(int argc, char **argv);
/* In src/cli/pusher.c: who is pushing, as the server names them (or
 * their SSH key's comment), or NULL. Caller frees. */
char *cli_pusher(void);

#endif
