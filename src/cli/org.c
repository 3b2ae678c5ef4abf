/*
 * The organisation-wide commands: `audit --repos FILE` (this shard's
 * repositories, --jobs at a time, each mirrored if it is a URL, audited,
 * and written as a JSON Lines block the moment it finishes) and `merge`
 * (shards' outputs into one report). The work per repository is the
 * library's; this file schedules it and writes what comes back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "findings/baseline.h"
#include "findings/config.h"
#include "findings/state.h"
#include "hosting/hosting.h"
#include "sources/repos.h"

#define MAX_REPORT_BYTES ((size_t)4 << 30)

static int org_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int org_error(const char *fmt, ...)
{
	va_list ap;

	fputs("keyleak: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

int cli_check_org(const cli_opts *o)
{
	bool audit = strcmp(o->command, "audit") == 0;
	bool merge = strcmp(o->command, "merge") == 0;
	bool repos = strcmp(o->command, "repos") == 0;
	bool listed = o->repos || o->repos_from.len;

	if ((o->shard_n || o->jobs > 1 || o->mirror_dir || o->resume ||
	     o->state_dir) && (!listed || merge))
		return org_error("%s: --shard, --jobs, --mirror-dir, --resume "
				 "and --state-dir go with audit --repos FILE "
				 "or --repos-from SPEC", o->command);
	if (o->repos && !audit && !merge)
		return org_error("%s: --repos goes with audit and merge",
				 o->command);
	if (o->repos_from.len && !audit)
		return org_error("%s: --repos-from goes with audit (to list "
				 "only: keyleak repos SPEC)", o->command);
	if (o->hosting_given && !repos && !(audit && o->repos_from.len))
		return org_error("%s: --api-url, --include-forks, "
				 "--include-archived, --visibility, "
				 "--include-name, --exclude-name and "
				 "--rate-limit-wait go with repos and audit "
				 "--repos-from", o->command);
	if (listed && audit && (strcmp(o->path, ".") != 0 || o->revs.len))
		return org_error("audit: give either --repos FILE (or "
				 "--repos-from SPEC) or a PATH, not both");
	if (repos && strcmp(o->path, ".") == 0)
		return org_error("repos: name what to list: github:ORG, "
				 "github-user:USER, gitlab:GROUP or gitea:ORG");
	if (o->resume && (o->format != KL_FORMAT_JSONL || !o->output))
		return org_error("audit: --resume needs --format jsonl and "
				 "--output FILE (the file it continues)");
	if (o->state_dir && o->show_secrets)
		return org_error("audit: --state-dir keeps no secrets, so it "
				 "cannot be combined with --show-secrets");
	if (merge && strcmp(o->path, ".") == 0)
		return org_error("merge: name the JSON Lines or JSON reports to "
				 "merge");
	if (o->format == KL_FORMAT_JSONL && !o->repos && !merge && !audit &&
	    strcmp(o->command, "history") != 0 && strcmp(o->command, "scan") != 0)
		return org_error("%s: --format jsonl is for audit, history, "
				 "scan and merge", o->command);
	return 0;
}

/* ------------------------------------------------------------ merge */

static int write_out(const cli_opts *o, const kl_buf *out)
{
	kl_error err = { 0 };

	if (o->output) {
		if (kl_write_file_atomic(o->output, out->data, out->len,
					 &err) < 0) {
			org_error("%s", err.message);
			kl_error_clear(&err);
			return -1;
		}
		return 0;
	}
	if (fwrite(out->data, 1, out->len, stdout) != out->len ||
	    fflush(stdout) != 0)
		return org_error("cannot write the report to stdout");
	return 0;
}

static int merged_status(const cli_opts *o, const kl_merge *m)
{
	if (kl_merge_incomplete(m) && !o->allow_incomplete) {
		fprintf(stderr, "keyleak: some repositories are incomplete or "
			"failed (see the report); exiting with status 2\n");
		return KL_EXIT_ERROR;
	}
	return kl_merge_findings_at_least(m, cli_fail_on(o, NULL))
	       ? o->exit_code : KL_EXIT_CLEAN;
}

/* Render m in o's format, print its warnings, and give the exit status. */
static int finish_merge(const cli_opts *o, kl_merge *m)
{
	kl_report_opts ro = { o->format, o->show_secrets,
			      o->color && !o->output, o->verbose };
	const kl_strlist *w = kl_merge_warnings(m);
	kl_buf out = KL_BUF_INIT;
	size_t i;
	int rc;

	for (i = 0; i < w->len; i++) {
		kl_buf line = KL_BUF_INIT;

		kl_report_escape(&line, w->items[i]);
		fprintf(stderr, "keyleak: warning: %s\n", line.data);
		kl_buf_free(&line);
	}
	kl_merge_render(m, &ro, &out);
	rc = write_out(o, &out) < 0 ? KL_EXIT_ERROR : merged_status(o, m);
	kl_buf_free(&out);
	return rc;
}

static int merge_file(kl_merge *m, const char *path)
{
	kl_buf text = KL_BUF_INIT;
	kl_error err = { 0 };
	int rc;

	rc = kl_read_file(path, "report", MAX_REPORT_BYTES, &text, &err);
	if (rc == 0)
		rc = kl_merge_add(m, path, text.data ? text.data : "", text.len,
				  &err);
	if (rc < 0) {
		org_error("merge: %s", err.message);
		kl_error_clear(&err);
	}
	kl_buf_free(&text);
	return rc;
}

/* merge --repos FILE: every listed repository must be in some input. */
static int expect_listed(kl_merge *m, const char *list)
{
	kl_repo_list repos;
	kl_strlist dups = { 0 };
	kl_error err = { 0 };
	size_t i;

	if (kl_repos_load(list, &repos, &dups, &err) < 0) {
		org_error("merge: %s", err.message);
		kl_error_clear(&err);
		return -1;
	}
	for (i = 0; i < repos.len; i++)
		kl_merge_expect(m, repos.items[i].id, repos.items[i].spec);
	kl_repos_free(&repos);
	kl_strlist_free(&dups);
	return 0;
}

int cmd_merge(cli_opts *o)
{
	kl_ruleset *rs = cli_load_rules(o, NULL);
	kl_merge *m;
	size_t i;
	int rc = 0;

	if (!rs)
		return KL_EXIT_ERROR;
	m = kl_merge_new(rs);
	rc = merge_file(m, o->path);
	for (i = 0; rc == 0 && i < o->revs.len; i++)
		rc = merge_file(m, o->revs.items[i]);
	if (rc == 0 && o->repos)
		rc = expect_listed(m, o->repos);
	rc = rc < 0 ? KL_EXIT_ERROR : finish_merge(o, m);
	kl_merge_free(m);
	kl_ruleset_free(rs);
	return rc;
}

/* ------------------------------------------------- audit --repos */

typedef struct org_run {
	const cli_opts *o;
	kl_ruleset *rs;
	kl_config cfg;
	bool has_cfg;
	kl_baseline *baseline;
	kl_scan_opts so;
	kl_repo_list repos;
	size_t *todo;          /* indexes into repos: this run's work */
	size_t n_todo;
	char *mirror_dir;
	char key[65];          /* --state-dir key */
	pthread_mutex_t lock;  /* guards what follows */
	int fd;                /* jsonl --output, or -1 */
	kl_buf collected;      /* every block, for the other formats */
	size_t done, errors;   /* repositories written; write failures */
	size_t findings, bad;  /* findings; repositories not "ok" */
	size_t failing;        /* findings at --fail-on or above */
	size_t resumed;        /* repositories --resume kept from the output */
} org_run;

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void emit(org_run *run, const kl_buf *block, const char *spec,
		 size_t findings, size_t failing, bool ok)
{
	pthread_mutex_lock(&run->lock);
	run->findings += findings;
	run->failing += failing;
	run->bad += !ok;
	if (run->o->format != KL_FORMAT_JSONL) {
		kl_buf_add(&run->collected, block->data, block->len);
	} else if (run->fd >= 0) {
		/* A block is whole lines, written at once: a reader of a file
		 * cut anywhere sees whole repositories plus one cut line. */
		if (kl_write_all(run->fd, block->data, block->len) < 0) {
			org_error("%s: cannot write: %s", run->o->output,
				  strerror(errno));
			run->errors++;
		}
	} else if (fwrite(block->data, 1, block->len, stdout) != block->len ||
		   fflush(stdout) != 0) {
		org_error("%s: cannot write to stdout", spec);
		run->errors++;
	}
	run->done++;
	pthread_mutex_unlock(&run->lock);
}

/* Errors (and warnings unless --quiet) on stderr, named by repository. */
static void print_repo_notices(const org_run *run, const kl_repo *rp,
			       const kl_report *r)
{
	size_t i;

	for (i = 0; i < r->n_notices; i++) {
		const kl_notice *n = &r->notices[i];

		if (n->kind == KL_NOTICE_SKIPPED ||
		    (n->kind == KL_NOTICE_WARNING && run->o->quiet))
			continue;
		cli_print_notice(rp->spec, n);
	}
}

static char *state_path(const org_run *run, const kl_repo *rp,
			const char *ext)
{
	kl_buf b = KL_BUF_INIT;

	kl_buf_printf(&b, "%s/%s.%s", run->o->state_dir, rp->id, ext);
	return kl_buf_detach(&b);
}

/* A URL's mirror (cloned or fetched), or the listed path. */
static char *repo_path(const org_run *run, const kl_repo *rp, kl_error *err)
{
	char *path = NULL;

	if (!rp->is_url)
		return kl_xstrdup(rp->location);
	return kl_repo_mirror(rp, run->mirror_dir, &path, err) < 0 ? NULL : path;
}

/* One repository's work, from its path to its JSON Lines block. */
typedef struct repo_job {
	org_run *run;
	const kl_repo *rp;
	double t0;
	char *path;
	char sig[65];      /* kl_repo_signature; "" when there is none */
	kl_buf block;
	size_t findings;
	size_t failing;    /* of which at --fail-on or above */
	bool ok;
} repo_job;

/* --state-dir and a mirror whose refs and objects are what they were at
 * the last run: that run's block holds, nothing is read again. */
static bool reuse_last(repo_job *j)
{
	char *lpath;
	kl_buf last = KL_BUF_INIT;
	size_t i;
	bool hit;

	if (!j->run->o->state_dir ||
	    kl_repo_signature(j->path, j->run->key, j->sig) < 0) {
		j->sig[0] = '\0';
		return false;
	}
	lpath = state_path(j->run, j->rp, "last");
	hit = kl_state_last_load(lpath, j->sig, &last) == 0;
	if (hit) {
		kl_report_jsonl_restamp(last.data, last.len, "unchanged",
					now_seconds() - j->t0, &j->block);
		for (i = 0; i < j->block.len; i++)
			j->findings += j->block.data[i] == '\n';
		j->findings = j->findings ? j->findings - 1 : 0;
		j->failing = j->findings; /* severities unread: all count */
		j->ok = true;
	}
	kl_buf_free(&last);
	free(lpath);
	return hit;
}

/* After a whole audit: the blobs found clean, and the block for
 * reuse_last (only an "ok" one: errors are retried). */
static void save_state(repo_job *j, kl_memo *memo, kl_report *r)
{
	char *mpath = state_path(j->run, j->rp, "state");
	char *lpath = state_path(j->run, j->rp, "last");
	kl_error err = { 0 };

	if (kl_memo_changed(memo) && kl_memo_save(memo, mpath, &err) < 0) {
		kl_report_notice(r, KL_NOTICE_WARNING, NULL, "state not saved: "
				 "%s", err.message);
		kl_error_clear(&err);
	}
	free(mpath);
	if (!j->sig[0] || !j->ok)
		unlink(lpath);
	else if (kl_state_last_save(lpath, j->sig, &j->block, &err) < 0)
		kl_error_clear(&err); /* only a shortcut is lost */
	free(lpath);
}

static void audit_path(repo_job *j, kl_jsonl_repo *info, kl_report *r)
{
	org_run *run = j->run;
	kl_scan_opts so = run->so;
	kl_report_opts ro = { KL_FORMAT_JSONL, run->o->show_secrets, false,
			      run->o->verbose };
	kl_memo memo = { 0 };
	kl_error err = { 0 };
	char *mpath = NULL;

	if (run->o->state_dir) {
		mpath = state_path(run, j->rp, "state");
		kl_memo_load(&memo, mpath, run->key);
		so.memo = &memo;
		info->state = memo.status;
	}
	if (kl_src_audit(j->path, &so, r, &err) < 0) {
		info->status = "error";
		info->error = err.message;
		kl_report_notice(r, KL_NOTICE_ERROR, NULL, "%s", err.message);
	} else {
		if (run->baseline)
			kl_baseline_filter(run->baseline, r);
		info->status = r->incomplete ? "incomplete" : "ok";
		info->carried_blobs = mpath ? kl_memo_carried(&memo) : 0;
		kl_repo_head(j->path, (char **)&info->head,
			     (char **)&info->branch);
		info->remote = kl_repo_remote(j->path);
	}
	info->seconds = now_seconds() - j->t0;
	j->ok = strcmp(info->status, "ok") == 0;
	j->findings = r->findings.len;
	j->failing = kl_findings_at_least(&r->findings,
					  cli_fail_on(run->o,
						      run->has_cfg ? &run->cfg
								   : NULL));
	kl_report_jsonl(r, info, &ro, &j->block);
	if (mpath && strcmp(info->status, "error") != 0)
		save_state(j, &memo, r);
	kl_memo_free(&memo);
	kl_error_clear(&err);
	free(mpath);
}

static void audit_one(void *ctx, int worker, size_t item)
{
	org_run *run = ctx;
	repo_job j = { run, &run->repos.items[run->todo[item]], now_seconds(),
		       NULL, "", KL_BUF_INIT, 0, 0, false };
	kl_jsonl_repo info = { j.rp->spec, j.rp->id, "ok", NULL, 0, NULL, NULL,
			       NULL, 0, NULL };
	kl_report_opts ro = { KL_FORMAT_JSONL, false, false, false };
	kl_error err = { 0 };
	kl_report r;

	(void)worker;
	kl_report_init(&r, "audit", j.rp->spec, run->rs);
	j.path = repo_path(run, j.rp, &err);
	if (!j.path) {
		info.status = "error";
		info.error = err.message;
		kl_report_notice(&r, KL_NOTICE_ERROR, NULL, "%s", err.message);
		info.seconds = now_seconds() - j.t0;
		kl_report_jsonl(&r, &info, &ro, &j.block);
	} else if (!reuse_last(&j)) {
		audit_path(&j, &info, &r);
	}
	print_repo_notices(run, j.rp, &r);
	emit(run, &j.block, j.rp->spec, j.findings, j.failing, j.ok);
	kl_buf_free(&j.block);
	kl_report_free(&r);
	kl_error_clear(&err);
	free((char *)info.head);
	free((char *)info.branch);
	free((char *)info.remote);
	free(j.path);
}

/* ------------------------------------------------------------ set-up */

/* Rules, --config (the same for every repository: their own
 * .keyleak.json files are not read) and --baseline. */
static int load_setup(org_run *run)
{
	const cli_opts *o = run->o;
	kl_buf cfgtext = KL_BUF_INIT;
	kl_error err = { 0 };

	if (o->config) {
		if (kl_config_load(&run->cfg, o->config, &err) < 0 ||
		    kl_read_file(o->config, "config", 0, &cfgtext, &err) < 0)
			goto fail;
		run->has_cfg = true;
	}
	/* a reused block (--state-dir) is filtered by the baseline: a new
	 * baseline must not meet an old block */
	if (o->baseline && (kl_baseline_load(&run->baseline, o->baseline,
					     &err) < 0 ||
			    kl_read_file(o->baseline, "baseline", 0, &cfgtext,
					 &err) < 0))
		goto fail;
	run->rs = cli_load_rules(o, run->has_cfg ? &run->cfg : NULL);
	if (!run->rs) {
		kl_buf_free(&cfgtext);
		return -1;
	}
	/* a blob clean without decoding may not be clean with it */
	kl_buf_printf(&cfgtext, "\nunpack %d %d %u %zu %u %zu %llu %u\n",
		      o->unpack.no_decode, o->unpack.no_archives,
		      o->unpack.decode_depth, o->unpack.decode_bytes,
		      o->unpack.archive_depth, o->unpack.archive_members,
		      (unsigned long long)o->unpack.archive_bytes,
		      o->unpack.archive_ratio);
	kl_state_key(run->rs, o->max_file_size, o->verbose, cfgtext.data,
		     cfgtext.len, run->key); /* config and baseline bytes */
	kl_buf_free(&cfgtext);
	return 0;
fail:
	org_error("%s", err.message);
	kl_error_clear(&err);
	kl_buf_free(&cfgtext);
	return -1;
}

static void fill_opts(org_run *run)
{
	const cli_opts *o = run->o;
	kl_scan_opts *so = &run->so;
	int jobs = o->jobs > 0 ? o->jobs : 1;

	memset(so, 0, sizeof(*so));
	so->rules = run->rs;
	so->max_file_size = o->max_file_size;
	/* jobs x threads stays within the cores (or within -j N) */
	so->threads = o->threads / jobs > 0 ? o->threads / jobs : 1;
	so->verbose = o->verbose;
	so->progress = false; /* many repositories at once: no progress lines */
	if (run->has_cfg) {
		so->allow = &run->cfg.allow;
		so->skip_globs = &run->cfg.skip_paths;
		so->allow_env_globs = &run->cfg.allow_env_files;
	}
	cli_unpack_opts(o, run->has_cfg ? &run->cfg : NULL, &so->unpack);
}

/*
 * --resume: keep the repositories the output already holds whole (their
 * summary line came), drop a killed worker's partial block and cut line,
 * and rewrite the file so appending continues it cleanly.
 */
static int resume_output(org_run *run, kl_strlist *done)
{
	kl_buf text = KL_BUF_INIT, kept = KL_BUF_INIT;
	kl_error err = { 0 };
	struct stat st;
	int rc;

	if (stat(run->o->output, &st) < 0 && errno == ENOENT)
		return 0;
	if (kl_read_file(run->o->output, "output to resume", MAX_REPORT_BYTES,
			 &text, &err) < 0) {
		org_error("%s", err.message);
		kl_error_clear(&err);
		return -1;
	}
	kl_jsonl_keep_complete(text.data, text.len, &kept, done,
			       &run->findings, &run->bad);
	run->failing = run->findings; /* severities unread: all count */
	rc = kl_write_file_atomic(run->o->output, kept.data ? kept.data : "",
				  kept.len, &err);
	if (rc < 0) {
		org_error("%s", err.message);
		kl_error_clear(&err);
	}
	kl_buf_free(&text);
	kl_buf_free(&kept);
	return rc;
}

/* This shard's repositories, less those --resume found done. */
static void pick_todo(org_run *run, const kl_strlist *done)
{
	const cli_opts *o = run->o;
	size_t i;

	run->todo = kl_xcalloc(run->repos.len + 1, sizeof(*run->todo));
	for (i = 0; i < run->repos.len; i++) {
		const kl_repo *rp = &run->repos.items[i];

		if (o->shard_n && !kl_repo_in_shard(rp, o->shard_k, o->shard_n))
			continue;
		if (kl_strlist_has(done, rp->id)) {
			run->resumed++;
			continue;
		}
		run->todo[run->n_todo++] = i;
	}
}

static int open_output(org_run *run)
{
	const cli_opts *o = run->o;

	run->fd = -1;
	if (o->format != KL_FORMAT_JSONL || !o->output)
		return 0;
	run->fd = open(o->output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
		       (o->resume ? 0 : O_TRUNC), 0644);
	if (run->fd < 0)
		return org_error("%s: cannot open for writing: %s", o->output,
				 strerror(errno));
	return 0;
}

/* --repos-from: each spec's listing joins the list, the token its
 * clones may use with it; a repository also in FILE is audited once. */
static int add_hosted(org_run *run, kl_strlist *dups)
{
	kl_hosted_list hosted = { 0 };
	kl_error err = { 0 };
	size_t i, before;
	int rc = 0;

	if (cli_list_hosted(run->o, &run->o->repos_from, &hosted) < 0)
		return -1;
	for (i = 0; rc == 0 && i < hosted.len; i++) {
		before = run->repos.len;
		rc = kl_repos_add(&run->repos, "--repos-from",
				  hosted.items[i].clone_url, i + 1, dups, &err);
		if (rc == 0 && run->repos.len > before) {
			run->repos.items[before].token = hosted.items[i].token;
			run->repos.items[before].token_user =
				hosted.items[i].token_user;
		}
	}
	if (rc < 0) {
		org_error("%s", err.message);
		kl_error_clear(&err);
	}
	kl_hosted_free(&hosted);
	return rc;
}

static int load_list(org_run *run)
{
	kl_strlist dups = { 0 };
	kl_error err = { 0 };
	size_t i;

	if (run->o->repos &&
	    kl_repos_load(run->o->repos, &run->repos, &dups, &err) < 0) {
		org_error("%s", err.message);
		kl_error_clear(&err);
		return -1;
	}
	if (run->o->repos_from.len && add_hosted(run, &dups) < 0) {
		kl_strlist_free(&dups);
		return -1;
	}
	for (i = 0; i < dups.len && !run->o->quiet; i++)
		fprintf(stderr, "keyleak: warning: %s\n", dups.items[i]);
	kl_strlist_free(&dups);
	return 0;
}

static int make_state_dir(const char *dir)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return org_error("%s: cannot create the state directory: %s",
				 dir, strerror(errno));
	return 0;
}

static int prepare(org_run *run)
{
	const cli_opts *o = run->o;
	kl_strlist done = { 0 };
	int rc;

	if (load_list(run) < 0 || load_setup(run) < 0)
		return -1;
	if (o->state_dir && make_state_dir(o->state_dir) < 0)
		return -1;
	fill_opts(run);
	run->mirror_dir = o->mirror_dir ? kl_xstrdup(o->mirror_dir)
					: kl_repos_default_mirror_dir();
	rc = o->resume ? resume_output(run, &done) : 0;
	if (rc == 0) {
		pick_todo(run, &done);
		rc = open_output(run);
	}
	kl_strlist_free(&done);
	return rc;
}

static void free_run(org_run *run)
{
	if (run->fd >= 0)
		close(run->fd);
	kl_repos_free(&run->repos);
	free(run->todo);
	free(run->mirror_dir);
	kl_buf_free(&run->collected);
	kl_baseline_free(run->baseline);
	kl_config_free(&run->cfg);
	kl_ruleset_free(run->rs);
	pthread_mutex_destroy(&run->lock);
}

/* The formats that need everything: the blocks, merged. */
static int render_collected(org_run *run)
{
	kl_merge *m = kl_merge_new(run->rs);
	kl_error err = { 0 };
	int rc;

	kl_merge_set_command(m, "audit");
	if (kl_merge_add(m, run->o->repos ? run->o->repos
			 : run->o->repos_from.items[0], run->collected.data ?
			 run->collected.data : "", run->collected.len,
			 &err) < 0) {
		org_error("%s", err.message);
		kl_error_clear(&err);
		kl_merge_free(m);
		return KL_EXIT_ERROR;
	}
	rc = finish_merge(run->o, m);
	kl_merge_free(m);
	return rc;
}

static int run_status(const org_run *run)
{
	const cli_opts *o = run->o;

	if (!o->quiet)
		fprintf(stderr, "keyleak: %zu of %zu listed repositories "
			"audited%s (%zu kept by --resume), %zu findings, %zu "
			"not complete\n", run->done + run->resumed,
			run->repos.len, o->shard_n ? " (this shard)" : "",
			run->resumed, run->findings, run->bad);
	if (run->errors)
		return KL_EXIT_ERROR;
	if (run->bad && !o->allow_incomplete) {
		fprintf(stderr, "keyleak: some repositories failed or are "
			"incomplete (see above); exiting with status 2\n");
		return KL_EXIT_ERROR;
	}
	return run->failing ? o->exit_code : KL_EXIT_CLEAN;
}

int cmd_org_audit(cli_opts *o)
{
	org_run run;
	int rc;

	memset(&run, 0, sizeof(run));
	run.o = o;
	run.fd = -1;
	pthread_mutex_init(&run.lock, NULL);
	cli_git_ready();
	if (prepare(&run) < 0) {
		free_run(&run);
		return KL_EXIT_ERROR;
	}
	kl_parallel_for(run.n_todo, o->jobs, audit_one, &run);
	if (o->format != KL_FORMAT_JSONL)
		rc = render_collected(&run);
	else
		rc = run_status(&run);
	free_run(&run);
	return rc;
}
