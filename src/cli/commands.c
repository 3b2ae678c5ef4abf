/*
 * The scanning commands (scan, staged, history, audit, baseline) and
 * `rules`: load the config, rules and baseline, run the source, print
 * notices on stderr, write the report, and turn the result into an exit
 * status.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "findings/baseline.h"
#include "findings/config.h"
#include "sources/repos.h"

/* Print a rule-loading error and free what was loaded. */
static kl_ruleset *rules_failed(kl_ruleset *rs, kl_error *err)
{
	fprintf(stderr, "keyleak: %s\n", err->message);
	kl_error_clear(err);
	kl_ruleset_free(rs);
	return NULL;
}

/* The rule files the command line names (or the built-in set), with
 * their regexes compiled: the part of start-up that needs no libgit2. */
static kl_ruleset *cli_rules_base(const cli_opts *o)
{
	kl_ruleset *rs = kl_ruleset_new();
	kl_error err = { 0 };
	size_t i;
	int rc = 0;

	if (o->only_rules.len == 0)
		rc = kl_ruleset_add_builtin(rs, &err);
	for (i = 0; rc == 0 && i < o->only_rules.len; i++)
		rc = kl_ruleset_add_path(rs, o->only_rules.items[i], &err);
	for (i = 0; rc == 0 && i < o->rules_paths.len; i++)
		rc = kl_ruleset_add_path(rs, o->rules_paths.items[i], &err);
	return rc == 0 ? rs : rules_failed(rs, &err);
}

/* Apply the config's rule changes and build the prefilter. */
static kl_ruleset *cli_rules_finish(kl_ruleset *rs, const kl_config *cfg)
{
	kl_error err = { 0 };
	int rc = 0;

	if (cfg)
		rc = kl_config_apply_rules(cfg, rs, &err);
	if (rc == 0)
		rc = kl_ruleset_compile(rs, &err);
	return rc == 0 ? rs : rules_failed(rs, &err);
}

kl_ruleset *cli_load_rules(const cli_opts *o, const kl_config *cfg)
{
	kl_ruleset *rs = cli_rules_base(o);

	return rs ? cli_rules_finish(rs, cfg) : NULL;
}

static int run_source(const cli_opts *o, const kl_scan_opts *so,
		      kl_report *r, kl_error *err)
{
	const char *cmd = o->command;
	int rc;

	if (o->files_only)
		return kl_src_files(&o->revs, so, r, err);
	if (strcmp(cmd, "staged") == 0)
		return kl_src_staged(o->path, so, r, err);
	if (strcmp(cmd, "history") == 0)
		return kl_src_history(o->path, so, r, err);
	if (strcmp(cmd, "audit") == 0)
		return kl_src_audit(o->path, so, r, err);
	if (strcmp(o->path, "-") == 0)
		return kl_src_stdin(so, r, err);
	/* scan and baseline also judge the work tree's .env files (the git
	 * sources call the policy checks themselves). */
	rc = kl_src_worktree(o->path, so, r, err);
	if (rc == 0)
		rc = kl_policy_worktree(o->path, so, r, err);
	kl_findings_sort(&r->findings);
	return rc;
}

/* Errors always reach stderr; warnings unless --quiet. The text report
 * repeats them, so skip that when both go to the same terminal. */
static void print_notices(const cli_opts *o, const kl_report *r)
{
	bool same_tty = o->format == KL_FORMAT_TEXT && !o->output &&
			isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
	size_t i;

	if (same_tty)
		return;
	for (i = 0; i < r->n_notices; i++) {
		const kl_notice *n = &r->notices[i];

		if (n->kind == KL_NOTICE_SKIPPED && !o->verbose)
			continue;
		if (n->kind == KL_NOTICE_WARNING && o->quiet)
			continue;
		cli_print_notice(NULL, n);
	}
}

void cli_print_notice(const char *repo, const kl_notice *n)
{
	kl_buf line = KL_BUF_INIT;

	if (repo) {
		kl_report_escape(&line, repo);
		kl_buf_puts(&line, ": ");
	}
	kl_buf_puts(&line, n->kind == KL_NOTICE_ERROR ? "error: " :
		    n->kind == KL_NOTICE_WARNING ? "warning: " : "skipped: ");
	if (n->path) {
		kl_report_escape(&line, n->path);
		kl_buf_puts(&line, ": ");
	}
	kl_report_escape(&line, n->message);
	fprintf(stderr, "keyleak: %s\n", line.data);
	kl_buf_free(&line);
}

static int write_report(const cli_opts *o, const kl_report *r)
{
	kl_report_opts ro = { o->format, o->show_secrets,
			      o->color && !o->output, o->verbose };
	kl_buf out = KL_BUF_INIT;
	kl_error err = { 0 };
	int rc = 0;

	kl_report_render(r, &ro, &out);
	if (o->output) {
		rc = kl_write_file_atomic(o->output, out.data, out.len, &err);
		if (rc) {
			fprintf(stderr, "keyleak: %s\n", err.message);
			kl_error_clear(&err);
		}
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
		   fflush(stdout) != 0) {
		fprintf(stderr, "keyleak: cannot write the report to stdout\n");
		rc = -1;
	}
	kl_buf_free(&out);
	return rc;
}

static int exit_status(const cli_opts *o, const kl_report *r,
		       kl_severity fail_on)
{
	if (r->incomplete && !o->allow_incomplete) {
		fprintf(stderr, "keyleak: the scan is incomplete (see the errors "
			"above); exiting with status 2\n");
		return KL_EXIT_ERROR;
	}
	/* Recording a baseline succeeds whatever it records. */
	if (strcmp(o->command, "baseline") == 0)
		return KL_EXIT_CLEAN;
	return kl_findings_at_least(&r->findings, fail_on) ? o->exit_code
							    : KL_EXIT_CLEAN;
}

kl_severity cli_fail_on(const cli_opts *o, const kl_config *cfg)
{
	if (o->fail_on >= 0)
		return (kl_severity)o->fail_on;
	if (cfg && cfg->fail_on >= 0)
		return (kl_severity)cfg->fail_on;
	return KL_SEV_MEDIUM;
}

/* What a scan needs besides its options: the config that applies (none,
 * the repository's .keyleak.json or --config), the rules and a baseline. */
typedef struct scan_setup {
	kl_config cfg;
	bool has_cfg;
	kl_ruleset *rs;
	kl_baseline *baseline;
} scan_setup;

static void scan_setup_free(scan_setup *s)
{
	kl_config_free(&s->cfg);
	kl_ruleset_free(s->rs);
	kl_baseline_free(s->baseline);
}

/* --config FILE wins; else the repository's own file unless
 * --no-repo-config. */
static int load_config(const cli_opts *o, scan_setup *s, kl_error *err)
{
	char *path = NULL;
	int rc;

	if (o->config)
		path = kl_xstrdup(o->config);
	else if (!o->no_repo_config)
		path = kl_config_find(strcmp(o->path, "-") == 0 ? "." : o->path);
	if (!path)
		return 0;
	rc = kl_config_load(&s->cfg, path, err);
	s->has_cfg = rc == 0;
	free(path);
	return rc;
}

/*
 * `keyleak pre-commit [FILE...]`, the pre-commit framework's entry: inside
 * `git commit` (git sets GIT_INDEX_FILE for its hooks) the staged scan,
 * whatever files the framework names; otherwise (`pre-commit run
 * --all-files`, `--files`, `--from-ref`) the named files as they are on
 * disk, so a key already committed is found too. No FILE: staged.
 */
static void pre_commit_mode(cli_opts *o)
{
	kl_strlist files = { 0 };
	const char *index = getenv("GIT_INDEX_FILE");
	size_t i;

	if (strcmp(o->command, "pre-commit") != 0)
		return;
	if ((index && *index) || (strcmp(o->path, ".") == 0 && !o->revs.len)) {
		o->command = "staged";
		o->path = ".";
		return;
	}
	kl_strlist_push(&files, o->path);
	for (i = 0; i < o->revs.len; i++)
		kl_strlist_push(&files, o->revs.items[i]);
	kl_strlist_free(&o->revs);
	o->revs = files;
	o->command = "scan";
	o->path = ".";
	o->files_only = true;
}

static int scan_setup_load(const cli_opts *o, scan_setup *s)
{
	kl_error err = { 0 };

	kl_ruleset *base;

	memset(s, 0, sizeof(*s));
	/* Rules load while libgit2 initialises; the config needs libgit2. */
	base = cli_rules_base(o);
	cli_git_ready();
	if (!base)
		return -1;
	if (load_config(o, s, &err) == 0 && s->has_cfg && !o->config)
		kl_ruleset_distrust_verifiers(base, true);
	if (!err.message &&
	    (!o->baseline || kl_baseline_load(&s->baseline, o->baseline,
					      &err) == 0)) {
		s->rs = cli_rules_finish(base, s->has_cfg ? &s->cfg : NULL);
		return s->rs ? 0 : -1;
	}
	kl_ruleset_free(base);
	fprintf(stderr, "keyleak: %s\n", err.message);
	kl_error_clear(&err);
	return -1;
}

void cli_unpack_opts(const cli_opts *o, const kl_config *cfg,
		     kl_unpack_opts *out)
{
	memset(out, 0, sizeof(*out));
	if (cfg)
		*out = cfg->unpack;
	kl_unpack_opts_merge(out, &o->unpack);
}

static void fill_scan_opts(const cli_opts *o, const scan_setup *s,
			   kl_scan_opts *so)
{
	memset(so, 0, sizeof(*so));
	so->rules = s->rs;
	so->max_file_size = o->max_file_size;
	so->threads = o->threads;
	so->verbose = o->verbose;
	so->progress = !o->quiet && isatty(STDERR_FILENO);
	/* Like gitleaks and TruffleHog, history reads every ref unless
	 * revisions or a range name what to read. */
	so->all_refs = o->all_refs ||
		       (strcmp(o->command, "history") == 0 && !o->revs.len &&
			!o->range);
	so->range = o->range;
	so->revs = &o->revs;
	so->fetch_missing = o->fetch_missing;
	if (s->has_cfg) {
		so->allow = &s->cfg.allow;
		so->skip_globs = &s->cfg.skip_paths;
		so->allow_env_globs = &s->cfg.allow_env_files;
	}
	cli_unpack_opts(o, s->has_cfg ? &s->cfg : NULL, &so->unpack);
}

/* The report records what shaped it: config, --no-repo-config, baseline. */
static void note_setup(const cli_opts *o, const scan_setup *s, kl_report *r)
{
	r->config_path = s->has_cfg ? kl_xstrdup(s->cfg.path) : NULL;
	r->repo_config_ignored = o->no_repo_config;
	r->baseline_path = o->baseline ? kl_xstrdup(o->baseline) : NULL;
	if (s->baseline)
		kl_baseline_filter(s->baseline, r);
}

/* The HTML report's header: which refs, commit and remote were scanned
 * and the options that shaped the findings. */
static void note_scope(const cli_opts *o, kl_report *r)
{
	kl_buf b = KL_BUF_INIT;
	size_t i;

	if (strcmp(o->path, "-") == 0)
		return;
	kl_repo_head(o->path, &r->head, &r->branch);
	r->remote = kl_repo_remote(o->path);
	if (strcmp(o->command, "history") == 0) {
		if (o->all_refs)
			kl_buf_puts(&b, "every ref (--all)");
		else if (o->range)
			kl_buf_puts(&b, o->range);
		for (i = 0; i < o->revs.len; i++)
			kl_buf_printf(&b, "%s%s", b.len ? " " : "",
				      o->revs.items[i]);
		if (!b.len)
			kl_buf_puts(&b, "HEAD");
	} else {
		kl_buf_puts(&b, strcmp(o->command, "audit") == 0
			    ? "every ref, unreachable objects and the work tree"
			    : strcmp(o->command, "staged") == 0 ? "the index"
			    : "the work tree");
	}
	r->refs = kl_buf_detach(&b);
	kl_buf_printf(&b, "%s%s%s%s%s", o->verify ? " --verify" : "",
		      o->only_live ? " --only-live" : "",
		      o->baseline ? " --baseline" : "",
		      o->no_repo_config ? " --no-repo-config" : "",
		      o->allow_incomplete ? " --allow-incomplete" : "");
	if (o->rules_paths.len || o->only_rules.len)
		kl_buf_puts(&b, o->only_rules.len ? " --only-rules" : " --rules");
	r->options = b.len ? kl_xstrdup(b.data + 1) : NULL;
	kl_buf_free(&b);
}

int cmd_scan(cli_opts *o)
{
	scan_setup s;
	kl_scan_opts so;
	kl_report r;
	kl_error err = { 0 };
	int rc;

	pre_commit_mode(o);
	if (cli_verify_check(o) != 0)
		return KL_EXIT_ERROR;
	if (scan_setup_load(o, &s) != 0) {
		scan_setup_free(&s);
		return KL_EXIT_ERROR;
	}
	fill_scan_opts(o, &s, &so);
	kl_report_init(&r, o->command, o->path, s.rs);
	if (run_source(o, &so, &r, &err) != 0) {
		fprintf(stderr, "keyleak: %s\n", err.message);
		kl_error_clear(&err);
		rc = KL_EXIT_ERROR;
	} else {
		note_setup(o, &s, &r);
		if (o->format == KL_FORMAT_HTML)
			note_scope(o, &r);
		cli_verify(o, &r);
		print_notices(o, &r);
		rc = write_report(o, &r) != 0 ? KL_EXIT_ERROR
		     : exit_status(o, &r, cli_fail_on(o, s.has_cfg ? &s.cfg
								  : NULL));
	}
	kl_report_free(&r);
	scan_setup_free(&s);
	return rc;
}

/* "verify: api.github.com": the host --verify would send this rule's key
 * to (the loader made sure the url is https://host...). */
static void list_verifier(const kl_verifier *v)
{
	const char *host = v->url + strlen("https://");

	printf("  verify: %.*s", (int)strcspn(host, "/?:"), host);
}

static void list_rule(const kl_rule *r)
{
	size_t j;

	printf("  %-34s %-8s %s", r->id, kl_severity_name(r->severity), r->name);
	if (r->checks.len) {
		printf("  [");
		for (j = 0; j < r->checks.len; j++)
			printf("%s%s", j ? ", " : "", r->checks.items[j]);
		printf("]");
	}
	if (r->verify)
		list_verifier(r->verify);
	printf("\n");
}

typedef struct listed_rule {
	const kl_rule *r;
	size_t index; /* load order, kept inside a provider's group */
} listed_rule;

static int cmp_provider(const void *a, const void *b)
{
	const listed_rule *x = a, *y = b;
	int c = strcasecmp(x->r->provider, y->r->provider);

	return c ? c : x->index < y->index ? -1 : x->index > y->index;
}

/* Rules grouped by provider, each with the checks it applies; a rule
 * with a structure check (checksum, key encoding) says which, a rule with
 * a verifier the host --verify asks. */
static void list_rules(const kl_ruleset *rs)
{
	size_t n = kl_ruleset_count(rs), i, j, k, groups = 0, structured = 0;
	size_t verified = 0;
	listed_rule *sorted = kl_xcalloc(n ? n : 1, sizeof(*sorted));

	for (i = 0; i < n; i++)
		sorted[i] = (listed_rule){ kl_ruleset_get(rs, i), i };
	qsort(sorted, n, sizeof(*sorted), cmp_provider);
	for (i = 0; i < n; i = j) {
		const char *provider = sorted[i].r->provider;

		for (j = i; j < n && strcasecmp(sorted[j].r->provider,
						provider) == 0; j++) {
			structured += sorted[j].r->check != NULL;
			verified += sorted[j].r->verify != NULL;
		}
		printf("%s%s (%zu rule%s)\n", i ? "\n" : "",
		       *provider ? provider : "(no provider)", j - i,
		       j - i == 1 ? "" : "s");
		for (k = i; k < j; k++)
			list_rule(sorted[k].r);
		groups++;
	}
	printf("\n%zu rules from %zu providers; %zu with a structure check, "
	       "%zu with a verifier (--verify)\n", n, groups, structured,
	       verified);
	free(sorted);
}

int cmd_rules(cli_opts *o)
{
	kl_ruleset *rs;
	int failures;

	/* `rules --check PATH` checks that file or directory alone. */
	if (strcmp(o->path, ".") != 0)
		kl_strlist_push(&o->only_rules, o->path);
	rs = cli_load_rules(o, NULL);
	if (!rs)
		return KL_EXIT_ERROR;
	if (!o->check) {
		list_rules(rs);
		kl_ruleset_free(rs);
		return KL_EXIT_CLEAN;
	}
	failures = kl_ruleset_check(rs, o->seed, stdout);
	printf("# %zu rules checked, %d failures\n", kl_ruleset_count(rs),
	       failures);
	kl_ruleset_free(rs);
	return failures ? KL_EXIT_FINDINGS : KL_EXIT_CLEAN;
}

kl_ruleset *cli_rules_start(const cli_opts *o)
{
	return cli_rules_base(o);
}

kl_ruleset *cli_rules_done(kl_ruleset *rs, const kl_config *cfg)
{
	return cli_rules_finish(rs, cfg);
}

void cli_print_notices(const cli_opts *o, const kl_report *r)
{
	print_notices(o, r);
}

int cli_write_report(const cli_opts *o, const kl_report *r)
{
	return write_report(o, r);
}
