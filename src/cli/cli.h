/*
 * The command-line tool's own interfaces: parsed options and the command
 * functions. The CLI only parses, opens inputs through the library and
 * prints; it holds no scanning logic.
 */
#ifndef KL_CLI_H
#define KL_CLI_H

#include "internal.h"

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
} cli_opts;

void cli_usage(FILE *out);
int cli_parse(int argc, char **argv, cli_opts *o);
void cli_opts_free(cli_opts *o);

int cmd_scan(cli_opts *o);    /* scan, staged, history, audit, baseline */
int cmd_rules(cli_opts *o);

/* Wait until libgit2 is initialised (it starts on a thread in main). */
void cli_git_ready(void);

/* In src/cli/install_hook.c. argv[0] is "install-hook". */
int kl_cmd_install_hook(int argc, char **argv);

struct kl_config;

/* Load the rules the options (and the config, if not NULL) ask for;
 * prints the error and returns NULL. */
kl_ruleset *cli_load_rules(const cli_opts *o, const struct kl_config *cfg);

#endif
