/*
 * keyleak's entry point: the command table, dispatching to a command.
 * Nothing calls into this file: what the commands share (--help, option
 * parsing, libgit2's start-up) is in cli/options.c.
 * Exit status: 0 clean, 1 findings, 2 error or incomplete scan.
 */
#include <git2.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static bool is_scan_command(const char *cmd)
{
	return strcmp(cmd, "scan") == 0 || strcmp(cmd, "staged") == 0 ||
	       strcmp(cmd, "history") == 0 || strcmp(cmd, "audit") == 0 ||
	       strcmp(cmd, "baseline") == 0 || strcmp(cmd, "pre-commit") == 0;
}

/* `baseline` is a work-tree scan whose report is always JSON: the format
 * --baseline reads back. */
static int check_baseline_cmd(cli_opts *o)
{
	if (strcmp(o->command, "baseline") != 0)
		return 0;
	if (o->baseline) {
		fprintf(stderr, "keyleak: baseline: --baseline cannot be used "
			"when recording a baseline\n");
		return -1;
	}
	o->format = KL_FORMAT_JSON;
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	cli_opts o;
	int rc;

	if (!cmd || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "help") == 0) {
		cli_usage(cmd ? stdout : stderr);
		return cmd ? KL_EXIT_CLEAN : KL_EXIT_ERROR;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 ||
	    strcmp(cmd, "-V") == 0) {
		return cli_version();
	}
	cli_git_start();
	if (strcmp(cmd, "install-hook") == 0) {
		cli_git_ready();
		rc = kl_cmd_install_hook(argc - 1, argv + 1);
	} else if (strcmp(cmd, "pre-receive") == 0 ||
		   strcmp(cmd, "pre-push") == 0) {
		rc = cmd_push(argc - 1, argv + 1);
	} else if (!is_scan_command(cmd) && strcmp(cmd, "rules") != 0 &&
		   strcmp(cmd, "merge") != 0 && strcmp(cmd, "repos") != 0) {
		fprintf(stderr, "keyleak: unknown command '%s'\n"
			"Try 'keyleak --help'.\n", cmd);
		rc = KL_EXIT_ERROR;
	} else if (cli_parse(argc - 1, argv + 1, &o) != 0) {
		rc = KL_EXIT_ERROR;
	} else if (check_baseline_cmd(&o) != 0 || cli_check_org(&o) != 0) {
		rc = KL_EXIT_ERROR;
		cli_opts_free(&o);
	} else {
		rc = strcmp(cmd, "rules") == 0 ? cmd_rules(&o)
		     : strcmp(cmd, "merge") == 0 ? cmd_merge(&o)
		     : strcmp(cmd, "repos") == 0 ? cmd_repos(&o)
		     : o.repos || o.repos_from.len ? cmd_org_audit(&o)
		     : cmd_scan(&o);
		cli_opts_free(&o);
	}
	cli_git_ready();
	git_libgit2_shutdown();
	return rc;
}
