/*
 * Owns `keyleak pre-receive` and `keyleak pre-push`: reads the hook's
 * stdin, loads the configuration allowed to judge the push (the server's
 * own, never anything inside the pushed content), runs the push source and
 * turns the outcome into the hook's verdict (refuse, accept, bypass, or the
 * failure policy), appending refusals and bypasses to the audit log.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "findings/config.h"
#include "sources/receive.h"

typedef struct push_cmd {
	cli_opts o;
	bool client;             /* pre-push */
	const char *repo;        /* --repo, default "." (git runs hooks there) */
	const char *remote;      /* pre-push: REMOTE operand, or NULL */
	kl_config cfg;
	bool has_cfg;
	kl_ruleset *rs;
	kl_push push;
	bool bypass_asked;       /* -o keyleak.bypass[=REASON] */
	char *bypass_reason;     /* non-empty REASON, or NULL */
	kl_report r;
	kl_buf error;            /* why the scan could not be trusted */
} push_cmd;

static void push_usage(FILE *out)
{
	fputs(
"usage: keyleak pre-receive [--repo PATH] [options]     (server hook)\n"
"       keyleak pre-push [REMOTE [URL]] [options]        (client hook)\n"
"\n"
"Run by git as hooks/pre-receive or hooks/pre-push (install them with\n"
"`keyleak install-hook --pre-receive REPO` or `--pre-push`). Reads git's\n"
"ref-update lines on stdin and scans exactly what the push adds: the\n"
"commits no existing ref reaches (the lines each adds), annotated tag\n"
"messages. Exit 0 accepts the push, 1 refuses it (secrets found), 2\n"
"refuses it because the scan failed (unless push.on_error is \"accept\").\n"
"\n"
"  --repo PATH        repository (default: the current directory)\n"
"  --config FILE      configuration; pre-receive default: git config\n"
"                     keyleak.config, else keyleak.json in the git\n"
"                     directory (never a file from the pushed content);\n"
"                     pre-push default: the work tree's .keyleak.json\n"
"  -f, --format FMT   also write a json or sarif report (stdout or -o)\n"
"  -o, --output FILE  write that report to FILE\n"
"  -q, --quiet        say nothing when the push is clean\n"
"  --verify           ask each key's provider whether it still works\n"
"                     (sends each found key to its provider); the\n"
"                     message shows live / revoked / unknown\n"
"  --only-live        with --verify: refuse only live keys\n"
"  --verify-jobs N, --verify-timeout S: as for the other commands\n"
"  --rules, --only-rules, --max-file-size, -j: as for the other commands\n"
"  --no-decode, --no-archives, --max-decode-*, --max-archive-*: as for\n"
"                     the other commands (archives and encoded values\n"
"                     are looked through by default)\n"
"\n"
"Server configuration \"push\": {\"allow_bypass\": true} honours\n"
"`git push -o keyleak.bypass=\"reason\"`; \"audit_log\": PATH logs every\n"
"refusal and bypass as JSON lines; \"on_error\": \"accept\" lets a push\n"
"through (logged) when the scan fails; \"timeout\": seconds.\n", out);
}

/* Take --repo PATH / --repo=PATH out of argv (cli_parse does not know
 * it); 1 for --help, -1 on error. */
static int take_repo(push_cmd *c, int *argc, char **argv)
{
	int i, n = 0;

	for (i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
		if (strcmp(argv[i], "--repo") == 0) {
			if (i + 1 >= *argc) {
				fprintf(stderr, "keyleak: --repo needs a path\n");
				return -1;
			}
			c->repo = argv[++i];
		} else if (strncmp(argv[i], "--repo=", 7) == 0) {
			c->repo = argv[i] + 7;
		} else {
			argv[n++] = argv[i];
		}
	}
	*argc = n;
	return 0;
}

static int parse_args(push_cmd *c, int argc, char **argv)
{
	int rc;

	c->client = strcmp(argv[0], "pre-push") == 0;
	c->repo = ".";
	rc = take_repo(c, &argc, argv);
	if (rc)
		return rc;
	if (cli_parse(argc, argv, &c->o) != 0 || cli_verify_check(&c->o) != 0)
		return -1;
	if (c->client && strcmp(c->o.path, ".") != 0) {
		c->remote = c->o.path;
	} else if (!c->client && (strcmp(c->o.path, ".") || c->o.revs.len)) {
		fprintf(stderr, "keyleak pre-receive: unexpected argument "
			"'%s' (the repository is --repo PATH)\n", c->o.revs.len ?
			c->o.revs.items[0] : c->o.path);
		return -1;
	}
	if (c->client && c->o.revs.len > 1) {
		fprintf(stderr, "keyleak pre-push: unexpected argument '%s'\n",
			c->o.revs.items[1]);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------ configuration */

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The server's config: --config, else git config keyleak.config (relative
 * to the git directory), else keyleak.json in the git directory. The
 * work tree of a non-bare server repository holds pushed content: never. */
static char *server_config_path(const char *repo_path)
{
	git_repository *repo = NULL;
	git_config *gc = NULL;
	git_buf val = { 0 };
	kl_buf b = KL_BUF_INIT;

	if (git_repository_open_ext(&repo, repo_path, 0, NULL) < 0)
		return NULL; /* the scan reports it */
	if (git_repository_config_snapshot(&gc, repo) == 0 &&
	    git_config_get_path(&val, gc, "keyleak.config") == 0 &&
	    val.ptr[0]) {
		if (val.ptr[0] != '/')
			kl_buf_puts(&b, git_repository_path(repo));
		kl_buf_puts(&b, val.ptr);
	} else {
		kl_buf_printf(&b, "%skeyleak.json", git_repository_path(repo));
		if (!is_file(b.data))
			kl_buf_free(&b);
	}
	git_buf_dispose(&val);
	git_config_free(gc);
	git_repository_free(repo);
	return b.data ? kl_buf_detach(&b) : NULL;
}

static int load_config(push_cmd *c, kl_error *err)
{
	char *path = NULL;
	int rc;

	if (c->o.config)
		path = kl_xstrdup(c->o.config);
	else if (!c->client)
		path = server_config_path(c->repo);
	else if (!c->o.no_repo_config)
		path = kl_config_find(c->repo);
	if (!path)
		return 0;
	rc = kl_config_load(&c->cfg, path, err);
	c->has_cfg = rc == 0;
	free(path);
	return rc;
}

/* Rules load while libgit2 starts; the config needs libgit2. */
static int load_setup(push_cmd *c)
{
	kl_ruleset *base = cli_rules_start(&c->o);
	kl_error err = { 0 };

	cli_git_ready();
	if (!base)
		return -1;
	if (load_config(c, &err) < 0) {
		fprintf(stderr, "keyleak: %s\n", err.message);
		kl_error_clear(&err);
		kl_ruleset_free(base);
		return -1;
	}
	c->rs = cli_rules_done(base, c->has_cfg ? &c->cfg : NULL);
	return c->rs ? 0 : -1;
}

/* ----------------------------------------------------------- the scan */

/* git push -o keyleak.bypass=REASON reaches the server as
 * GIT_PUSH_OPTION_<n> (with receive.advertisePushOptions). */
static void read_push_options(push_cmd *c)
{
	const char *count = getenv("GIT_PUSH_OPTION_COUNT");
	int n = count ? atoi(count) : 0, i;
	kl_buf name = KL_BUF_INIT;

	for (i = 0; i < n && i < 1000; i++) {
		const char *v;

		kl_buf_reset(&name);
		kl_buf_printf(&name, "GIT_PUSH_OPTION_%d", i);
		v = getenv(name.data);
		if (!v || strncmp(v, "keyleak.bypass", 14) != 0 ||
		    (v[14] && v[14] != '='))
			continue;
		c->bypass_asked = true;
		if (v[14] == '=' && v[15]) {
			free(c->bypass_reason);
			c->bypass_reason = kl_xstrdup(v + 15);
		}
	}
	kl_buf_free(&name);
}

static double deadline(const push_cmd *c)
{
	struct timespec ts;

	if (!c->has_cfg || c->cfg.push.timeout <= 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 +
	       c->cfg.push.timeout;
}

static void fill_scan_opts(const push_cmd *c, kl_scan_opts *so)
{
	memset(so, 0, sizeof(*so));
	so->rules = c->rs;
	so->max_file_size = c->o.max_file_size;
	so->threads = c->o.threads;
	so->verbose = c->o.verbose;
	if (c->has_cfg) {
		so->allow = &c->cfg.allow;
		so->skip_globs = &c->cfg.skip_paths;
		so->allow_env_globs = &c->cfg.allow_env_files;
	}
	cli_unpack_opts(&c->o, c->has_cfg ? &c->cfg : NULL, &so->unpack);
}

/* The first error notice, as the reason a scan cannot be trusted. */
static void first_error(push_cmd *c)
{
	size_t i;

	for (i = 0; i < c->r.n_notices && !c->error.len; i++)
		if (c->r.notices[i].kind == KL_NOTICE_ERROR)
			kl_report_escape(&c->error, c->r.notices[i].message);
	if (!c->error.len)
		kl_buf_puts(&c->error, "the scan is incomplete");
}

/* Under the pre-commit framework stdin is empty and the update comes in
 * PRE_COMMIT_* variables (first ref only: the framework's limit). */
static void from_pre_commit(push_cmd *c, kl_push_opts *po)
{
	if (!c->client || c->push.n || !kl_push_from_pre_commit(&c->push))
		return;
	if (!po->remote && getenv("PRE_COMMIT_REMOTE_NAME"))
		po->remote = getenv("PRE_COMMIT_REMOTE_NAME");
}

/* git's ref-update lines from stdin into c->push. */
static int read_updates(push_cmd *c, kl_error *err)
{
	kl_buf in = KL_BUF_INIT;
	int rc = -1;

	if (isatty(STDIN_FILENO))
		kl_error_set(err, "%s reads git's ref updates on stdin: git "
			     "runs it as a hook (see keyleak %s --help)",
			     c->o.command, c->o.command);
	else if (kl_read_fd(STDIN_FILENO, &in, 4096, 64u << 20) < 0)
		kl_error_set(err, "cannot read the ref updates on stdin");
	else
		rc = kl_push_parse(&c->push, in.data ? in.data : "", in.len,
				   c->client, err);
	kl_buf_free(&in);
	return rc;
}

static void run_scan(push_cmd *c)
{
	kl_push_opts po = { c->repo, c->remote, c->client, deadline(c) };
	kl_scan_opts so;
	kl_error err = { 0 };

	fill_scan_opts(c, &so);
	if (read_updates(c, &err) == 0) {
		from_pre_commit(c, &po);
		if (kl_src_push(&c->push, &po, &so, &c->r, &err) == 0)
			c->r.config_path = c->has_cfg ?
				kl_xstrdup(c->cfg.path) : NULL;
	}
	if (err.message)
		kl_report_escape(&c->error, err.message);
	else if (c->r.incomplete)
		first_error(c);
	kl_error_clear(&err);
}

/* ------------------------------------------------------------ verdict */

/* Server only: append event's lines to push.audit_log, if configured. */
static int audit(push_cmd *c, const char *event)
{
	kl_strlist refs = { 0 }, olds = { 0 }, news = { 0 };
	char hex[GIT_OID_HEXSZ + 1], *repo, *who;
	kl_audit_ctx ac;
	kl_buf lines = KL_BUF_INIT;
	kl_error err = { 0 };
	size_t i;
	int rc = 0;

	if (c->client || !c->has_cfg || !c->cfg.push.audit_log)
		return 0;
	for (i = 0; i < c->push.n; i++) {
		kl_strlist_push(&refs, c->push.v[i].ref);
		kl_strlist_push(&olds, git_oid_tostr(hex, sizeof(hex),
						     &c->push.v[i].old_id));
		kl_strlist_push(&news, git_oid_tostr(hex, sizeof(hex),
						     &c->push.v[i].new_id));
	}
	repo = realpath(c->repo, NULL);
	who = cli_pusher();
	ac = (kl_audit_ctx){ event, repo ? repo : c->repo, who,
			     c->bypass_reason, c->error.data, &refs, &olds,
			     &news };
	kl_report_audit(&c->r, &ac, &lines);
	if (kl_audit_append(c->cfg.push.audit_log, lines.data, lines.len,
			    &err) < 0) {
		fprintf(stderr, "keyleak: %s\n", err.message);
		kl_error_clear(&err);
		rc = -1;
	}
	free(repo);
	free(who);
	kl_buf_free(&lines);
	kl_strlist_free(&refs);
	kl_strlist_free(&olds);
	kl_strlist_free(&news);
	return rc;
}

static void say(const push_cmd *c, const char *verdict)
{
	kl_push_report_opts ro = { verdict, c->client,
				   c->has_cfg && c->cfg.push.allow_bypass };
	kl_buf out = KL_BUF_INIT;

	kl_report_push(&c->r, &ro, &out);
	fwrite(out.data, 1, out.len, stderr);
	kl_buf_free(&out);
}

static int on_findings(push_cmd *c)
{
	bool allowed = !c->client && c->has_cfg && c->cfg.push.allow_bypass;
	kl_buf v = KL_BUF_INIT;
	int rc = c->o.exit_code ? c->o.exit_code : KL_EXIT_FINDINGS;

	if (allowed && c->bypass_reason && audit(c, "bypass") == 0) {
		kl_buf_printf(&v, "push accepted with a bypass: %zu secret%s "
			      "(logged with your reason)", c->r.findings.len,
			      c->r.findings.len == 1 ? "" : "s");
		say(c, v.data);
		kl_buf_free(&v);
		return KL_EXIT_CLEAN;
	}
	kl_buf_printf(&v, "push refused: %zu secret%s in the pushed commits",
		      c->r.findings.len, c->r.findings.len == 1 ? "" : "s");
	say(c, v.data);
	if (c->bypass_asked && !allowed)
		fputs("keyleak: -o keyleak.bypass was given, but this server "
		      "does not allow\nbypass (push.allow_bypass is not set)\n",
		      stderr);
	else if (c->bypass_asked && !c->bypass_reason)
		fputs("keyleak: a bypass needs a reason: "
		      "git push -o keyleak.bypass=\"why\"\n", stderr);
	else if (c->bypass_asked)
		fputs("keyleak: the bypass could not be logged, so it was not "
		      "applied\n", stderr);
	if (!c->bypass_reason || !allowed)
		audit(c, "refused");
	kl_buf_free(&v);
	return rc;
}

/* The scan could not be trusted: fail closed unless the server says
 * otherwise. Either way it is said to be an error, not a finding. */
static int on_error(push_cmd *c)
{
	bool accept = !c->client && c->has_cfg && c->cfg.push.accept_on_error;

	if (accept && audit(c, "error") == 0) {
		fprintf(stderr, "keyleak: the secret scan failed: %s\n"
			"keyleak: push accepted by the server's policy "
			"(push.on_error: accept); this was logged\n",
			c->error.data);
		return KL_EXIT_CLEAN;
	}
	fprintf(stderr, "keyleak: push refused: the secret scan could not "
		"complete:\n  %s\nkeyleak: this is an error, not a finding: %s\n",
		c->error.data, c->client ?
		"fix it, or push with --no-verify" :
		"ask the server's administrators");
	if (!accept)
		audit(c, "error");
	return KL_EXIT_ERROR;
}

static int verdict(push_cmd *c)
{
	if (c->o.format != KL_FORMAT_TEXT || c->o.output)
		if (cli_write_report(&c->o, &c->r) != 0 && !c->error.len)
			kl_buf_puts(&c->error, "cannot write the report");
	if (c->r.findings.len)
		return on_findings(c);
	if (c->error.len)
		return on_error(c);
	if (!c->o.quiet)
		fprintf(stderr, "keyleak: no %ssecrets in %llu new commit%s\n",
			c->r.verify.only_live ? "live " : "",
			(unsigned long long)c->r.summary.commits_scanned,
			c->r.summary.commits_scanned == 1 ? "" : "s");
	if (!c->o.quiet && c->r.verify.hidden)
		fprintf(stderr, "keyleak: %llu finding%s not live, let through "
			"by --only-live\n",
			(unsigned long long)c->r.verify.hidden,
			c->r.verify.hidden == 1 ? "" : "s");
	return KL_EXIT_CLEAN;
}

static void push_cmd_free(push_cmd *c)
{
	kl_report_free(&c->r);
	kl_push_free(&c->push);
	kl_ruleset_free(c->rs);
	kl_config_free(&c->cfg);
	cli_opts_free(&c->o);
	free(c->bypass_reason);
	kl_buf_free(&c->error);
}

int cmd_push(int argc, char **argv)
{
	push_cmd c;
	int rc;

	memset(&c, 0, sizeof(c));
	rc = parse_args(&c, argc, argv);
	if (rc) {
		push_usage(rc > 0 ? stdout : stderr);
		cli_git_ready();
		if (rc < 0)
			cli_opts_free(&c.o);
		return rc > 0 ? KL_EXIT_CLEAN : KL_EXIT_ERROR;
	}
	if (load_setup(&c) < 0) {
		fprintf(stderr, "keyleak: push refused: keyleak's configuration "
			"could not be loaded (an error, not a finding)\n");
		push_cmd_free(&c);
		return KL_EXIT_ERROR;
	}
	if (!c.client)
		read_push_options(&c);
	kl_report_init(&c.r, c.o.command, c.repo, c.rs);
	run_scan(&c);
	/* Keys of a scan that failed are refused anyway: no request. */
	if (!c.error.len)
		cli_verify(&c.o, &c.r);
	cli_print_notices(&c.o, &c.r);
	rc = verdict(&c);
	push_cmd_free(&c);
	return rc;
}
