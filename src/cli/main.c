/*
 * keyleak's entry point: parses arguments and dispatches to a command.
 * Exit status: 0 clean, 1 findings, 2 error or incomplete scan.
 */
#include <errno.h>
#include <getopt.h>
#include <git2.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

void cli_usage(FILE *out)
{
	fputs(
"usage: keyleak <command> [options] [PATH]\n"
"\n"
"Finds API keys of AI providers (OpenAI, Anthropic, Google, Groq, Hugging\n"
"Face, ...) in git repositories, before and after they leave the machine.\n"
"\n"
"commands:\n"
"  scan [PATH|-]        scan the work tree (what git would see) or stdin\n"
"  staged [PATH]        scan what `git commit` would record (pre-commit)\n"
"  history [PATH] [REV...]  scan commits (HEAD by default)\n"
"      --all              every ref: branches, tags, remotes, stash\n"
"      --range A..B       only what the commits A..B (or A...B) add\n"
"  audit [PATH]         all refs, unreachable objects and the work tree\n"
"  audit --repos FILE   audit every repository FILE lists (paths or clone\n"
"                       URLs, one a line; URLs are mirrored, see below)\n"
"  merge FILE...        merge JSON Lines (or JSON) reports of shards into\n"
"                       one report (--format, --output)\n"
"  baseline [PATH] --output FILE  record the work tree's current findings\n"
"                       (a JSON report) for --baseline\n"
"  rules [--check] [PATH]  list the active rules by provider, with their\n"
"                       checks and the host each rule's verifier asks;\n"
"                       --check verifies each against its own\n"
"                       examples (checksums completed, see README)\n"
"  install-hook [PATH] [--force] [--chain]  install the pre-commit hook\n"
"      --pre-push [PATH]    the client pre-push hook instead\n"
"      --pre-receive REPO   the server pre-receive hook (bare repository)\n"
"  pre-receive [--repo PATH]  server push protection: refuse a push that\n"
"                       adds a secret (git runs it; see pre-receive --help)\n"
"  pre-push [REMOTE [URL]]  the same check on the client before a push\n"
"  version              print the version and those of the libraries\n"
"                       (libgit2, PCRE2 and its JIT, cJSON, zlib, libcurl)\n"
"\n"
"options:\n"
"  -f, --format FMT     text (default), json, sarif or jsonl (JSON Lines)\n"
"  -o, --output FILE    write the report to FILE (atomically; a device or FIFO\n"
"                       is written into)\n"
"      --show-secrets   print secrets in full (default: redacted)\n"
"      --exit-code N    exit status when findings remain (default 1)\n"
"      --rules PATH     add rule files (a .json file or a directory)\n"
"      --only-rules PATH  use only these rule files, not the built-in set\n"
"      --config FILE    use FILE as configuration (default: .keyleak.json\n"
"                       at the repository root)\n"
"      --no-repo-config ignore the repository's own .keyleak.json\n"
"      --baseline FILE  report only findings not in FILE (a JSON or SARIF\n"
"                       report, e.g. from `keyleak baseline`)\n"
"      --max-file-size N  skip files larger than N bytes (K, M, G\n"
"                       suffixes; default 1G; 0: no limit); large files\n"
"                       are read in 8 MiB pieces, in bounded memory\n"
"  -j, --threads N      workers (default: number of cores): threads, or\n"
"                       processes for a history scan's passes\n"
"      --allow-incomplete  exit 0/1 even if some data could not be read\n"
"      --no-decode      do not decode base64, hex, percent-encoding and\n"
"                       \\u/\\x escapes (on by default; doc/decoding.md)\n"
"      --no-archives    do not open archives and compressed files (zip,\n"
"                       jar, docx, tar, gz, bz2, xz, zst, 7z: on by default)\n"
"      --max-decode-depth N  encodings nested in one another (default 4)\n"
"      --max-decode-bytes N  decoded bytes per file (default 64M)\n"
"      --max-archive-depth N  archives nested in one another (default 4)\n"
"      --max-archive-members N  members per archive (default 100000)\n"
"      --max-archive-bytes N  uncompressed bytes per archive (default 1G)\n"
"      --max-archive-ratio N  uncompressed:compressed ratio past 16 MiB\n"
"                       (default 200); a limit hit is a warning and an\n"
"                       incomplete scan\n"
"      --fetch-missing  in a partial clone (cloned with a filter), fetch\n"
"                       the objects history/audit need through git\n"
"      --verify         ask each key's provider whether it still works (sends\n"
"                       each distinct key once, over HTTPS, to the host its\n"
"                       rule names): live, revoked or unknown\n"
"      --only-live      with --verify: report only live keys\n"
"      --verify-jobs N  parallel verification requests (default 4)\n"
"      --verify-timeout S  seconds per request (default 10); set\n"
"                       KEYLEAK_VERIFY_BASE_URL=http://host:port to send\n"
"                       verification requests there instead (tests,\n"
"                       egress gateways)\n"
"      --no-color       no colour (also when NO_COLOR is set)\n"
"  -q, --quiet          no progress, warnings only in the report\n"
"  -v, --verbose        list every skipped file\n"
"  -h, --help           this help\n"
"\n"
"organisation-wide audits (audit --repos FILE):\n"
"      --shard K/N      audit only shard K of N (0-based): repositories are\n"
"                       split by a hash of their normalised URL or path\n"
"      --jobs N         repositories audited at once (default 1); each gets\n"
"                       --threads/N workers\n"
"      --mirror-dir DIR  where URLs are cloned as bare mirrors and fetched\n"
"                       on later runs (default ~/.cache/keyleak/mirrors);\n"
"                       HTTPS token from KEYLEAK_GIT_TOKEN (user\n"
"                       KEYLEAK_GIT_USERNAME), SSH keys from the agent\n"
"      --resume         with --format jsonl --output FILE: keep the\n"
"                       repositories FILE already has, audit the rest\n"
"      --state-dir DIR  incremental: remember the blobs scanned clean per\n"
"                       repository; later runs scan only new ones\n"
"\n"
"exit status: 0 no findings, 1 findings, 2 error or incomplete scan.\n"
"Secrets are never printed in full unless --show-secrets is given.\n",
	      out);
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

enum {
	OPT_SHOW_SECRETS = 256, OPT_EXIT_CODE, OPT_RULES, OPT_ONLY_RULES,
	OPT_MAX_SIZE, OPT_ALL, OPT_RANGE, OPT_ALLOW_INCOMPLETE, OPT_NO_COLOR,
	OPT_CHECK, OPT_SEED, OPT_CONFIG, OPT_NO_REPO_CONFIG, OPT_BASELINE,
	OPT_VERIFY, OPT_ONLY_LIVE, OPT_VERIFY_JOBS, OPT_VERIFY_TIMEOUT,
	OPT_REPOS, OPT_MIRROR_DIR, OPT_SHARD, OPT_JOBS, OPT_RESUME,
	OPT_STATE_DIR,
	OPT_FETCH_MISSING, OPT_NO_DECODE, OPT_NO_ARCHIVES, OPT_DECODE_DEPTH,
	OPT_DECODE_BYTES, OPT_ARCHIVE_DEPTH, OPT_ARCHIVE_MEMBERS,
	OPT_ARCHIVE_BYTES, OPT_ARCHIVE_RATIO
};

static const struct option long_opts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "threads", required_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "show-secrets", no_argument, NULL, OPT_SHOW_SECRETS },
	{ "exit-code", required_argument, NULL, OPT_EXIT_CODE },
	{ "rules", required_argument, NULL, OPT_RULES },
	{ "only-rules", required_argument, NULL, OPT_ONLY_RULES },
	{ "max-file-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "all", no_argument, NULL, OPT_ALL },
	{ "range", required_argument, NULL, OPT_RANGE },
	{ "allow-incomplete", no_argument, NULL, OPT_ALLOW_INCOMPLETE },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "no-repo-config", no_argument, NULL, OPT_NO_REPO_CONFIG },
	{ "baseline", required_argument, NULL, OPT_BASELINE },
	{ "fetch-missing", no_argument, NULL, OPT_FETCH_MISSING },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "only-live", no_argument, NULL, OPT_ONLY_LIVE },
	{ "verify-jobs", required_argument, NULL, OPT_VERIFY_JOBS },
	{ "verify-timeout", required_argument, NULL, OPT_VERIFY_TIMEOUT },
	{ "repos", required_argument, NULL, OPT_REPOS },
	{ "mirror-dir", required_argument, NULL, OPT_MIRROR_DIR },
	{ "shard", required_argument, NULL, OPT_SHARD },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "no-decode", no_argument, NULL, OPT_NO_DECODE },
	{ "no-archives", no_argument, NULL, OPT_NO_ARCHIVES },
	{ "max-decode-depth", required_argument, NULL, OPT_DECODE_DEPTH },
	{ "max-decode-bytes", required_argument, NULL, OPT_DECODE_BYTES },
	{ "max-archive-depth", required_argument, NULL, OPT_ARCHIVE_DEPTH },
	{ "max-archive-members", required_argument, NULL, OPT_ARCHIVE_MEMBERS },
	{ "max-archive-bytes", required_argument, NULL, OPT_ARCHIVE_BYTES },
	{ "max-archive-ratio", required_argument, NULL, OPT_ARCHIVE_RATIO },
	{ NULL, 0, NULL, 0 }
};

static int bad_value(const char *opt, const char *value, const char *want)
{
	fprintf(stderr, "keyleak: invalid value '%s' for %s: %s\n", value, opt,
		want);
	return -1;
}

static int parse_format(const char *s, kl_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = KL_FORMAT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = KL_FORMAT_JSON;
	else if (strcmp(s, "sarif") == 0)
		*out = KL_FORMAT_SARIF;
	else if (strcmp(s, "jsonl") == 0)
		*out = KL_FORMAT_JSONL;
	else
		return bad_value("--format", s,
				 "expected text, json, sarif or jsonl");
	return 0;
}

/* "K/N": shard K (0-based) of N. */
static int parse_shard(const char *arg, cli_opts *o)
{
	unsigned k, n;
	char extra;

	if (sscanf(arg, "%u/%u%c", &k, &n, &extra) != 2 || n < 1 ||
	    n > 1000000 || k >= n)
		return bad_value("--shard", arg, "expected K/N with 0 <= K < N, "
				 "e.g. 0/4");
	o->shard_k = k;
	o->shard_n = n;
	return 0;
}

/* --no-decode, --no-archives and the stages' limits (all >= 1). */
static int parse_unpack(int c, const char *arg, kl_unpack_opts *u)
{
	size_t size;
	int n;

	switch (c) {
	case OPT_NO_DECODE: u->no_decode = true; return 0;
	case OPT_NO_ARCHIVES: u->no_archives = true; return 0;
	case OPT_DECODE_BYTES:
	case OPT_ARCHIVE_BYTES:
		if (parse_size(arg, &size) || !size)
			return bad_value(c == OPT_DECODE_BYTES
					 ? "--max-decode-bytes"
					 : "--max-archive-bytes", arg,
					 "expected a size such as 64M");
		if (c == OPT_DECODE_BYTES)
			u->decode_bytes = size;
		else
			u->archive_bytes = size;
		return 0;
	case OPT_DECODE_DEPTH:
		if (parse_int(arg, 1, 16, &n))
			return bad_value("--max-decode-depth", arg,
					 "expected 1 to 16");
		u->decode_depth = (unsigned)n;
		return 0;
	case OPT_ARCHIVE_DEPTH:
		if (parse_int(arg, 1, 64, &n))
			return bad_value("--max-archive-depth", arg,
					 "expected 1 to 64");
		u->archive_depth = (unsigned)n;
		return 0;
	case OPT_ARCHIVE_MEMBERS:
	case OPT_ARCHIVE_RATIO:
		if (parse_int(arg, 1, 1000000000, &n))
			return bad_value(c == OPT_ARCHIVE_RATIO
					 ? "--max-archive-ratio"
					 : "--max-archive-members", arg,
					 "expected 1 to 1000000000");
		if (c == OPT_ARCHIVE_RATIO)
			u->archive_ratio = (unsigned)n;
		else
			u->archive_members = (size_t)n;
		return 0;
	default:
		return -1;
	}
}

static int parse_option(int c, const char *arg, cli_opts *o)
{
	if (c >= OPT_NO_DECODE && c <= OPT_ARCHIVE_RATIO)
		return parse_unpack(c, arg, &o->unpack);
	switch (c) {
	case 'f': return parse_format(arg, &o->format);
	case 'o': o->output = arg; return 0;
	case 'j':
		if (parse_int(arg, 1, 256, &o->threads))
			return bad_value("--threads", arg, "expected 1 to 256");
		o->threads_given = true;
		return 0;
	case 'q': o->quiet = true; return 0;
	case 'v': o->verbose = true; return 0;
	case OPT_SHOW_SECRETS: o->show_secrets = true; return 0;
	case OPT_EXIT_CODE:
		if (parse_int(arg, 0, 255, &o->exit_code))
			return bad_value("--exit-code", arg, "expected 0 to 255");
		return 0;
	case OPT_RULES: kl_strlist_push(&o->rules_paths, arg); return 0;
	case OPT_ONLY_RULES: kl_strlist_push(&o->only_rules, arg); return 0;
	case OPT_MAX_SIZE:
		if (parse_size(arg, &o->max_file_size))
			return bad_value("--max-file-size", arg,
					 "expected a size such as 1048576, 32M or 0 (no limit)");
		return 0;
	case OPT_ALL: o->all_refs = true; return 0;
	case OPT_RANGE: o->range = arg; return 0;
	case OPT_ALLOW_INCOMPLETE: o->allow_incomplete = true; return 0;
	case OPT_NO_COLOR: o->color = false; return 0;
	case OPT_CHECK: o->check = true; return 0;
	case OPT_SEED:
		o->seed = strtoull(arg, NULL, 10);
		return 0;
	case OPT_CONFIG: o->config = arg; return 0;
	case OPT_NO_REPO_CONFIG: o->no_repo_config = true; return 0;
	case OPT_BASELINE: o->baseline = arg; return 0;
	case OPT_FETCH_MISSING: o->fetch_missing = true; return 0;
	case OPT_VERIFY: o->verify = true; return 0;
	case OPT_ONLY_LIVE: o->only_live = true; return 0;
	case OPT_VERIFY_JOBS:
		o->verify_opts_given = true;
		if (parse_int(arg, 1, 64, &o->verify_jobs))
			return bad_value("--verify-jobs", arg, "expected 1 to 64");
		return 0;
	case OPT_VERIFY_TIMEOUT:
		o->verify_opts_given = true;
		if (parse_int(arg, 1, 300, &o->verify_timeout))
			return bad_value("--verify-timeout", arg,
					 "expected 1 to 300 seconds");
		return 0;
	case OPT_REPOS: o->repos = arg; return 0;
	case OPT_MIRROR_DIR: o->mirror_dir = arg; return 0;
	case OPT_SHARD: return parse_shard(arg, o);
	case OPT_JOBS:
		if (parse_int(arg, 1, 256, &o->jobs))
			return bad_value("--jobs", arg, "expected 1 to 256");
		return 0;
	case OPT_RESUME: o->resume = true; return 0;
	case OPT_STATE_DIR: o->state_dir = arg; return 0;
	default:
		return -1;
	}
}

int cli_parse(int argc, char **argv, cli_opts *o)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int c, i;

	memset(o, 0, sizeof(*o));
	o->command = argv[0];
	o->exit_code = KL_EXIT_FINDINGS;
	o->threads = cores > 0 ? (int)(cores > 64 ? 64 : cores) : 1;
	o->max_file_size = KL_DEFAULT_MAX_FILE_SIZE;
	o->color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
	o->seed = 1;
	o->verify_jobs = 4;
	o->verify_timeout = 10;
	o->jobs = 1;
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "f:o:j:qvh", long_opts, NULL)) != -1) {
		if (c == 'h') {
			cli_usage(stdout);
			exit(KL_EXIT_CLEAN);
		}
		if (c == '?' || parse_option(c, optarg, o) != 0) {
			fprintf(stderr, "Try 'keyleak --help'.\n");
			return -1;
		}
	}
	for (i = optind; i < argc; i++) {
		if (!o->path)
			o->path = argv[i];
		else
			kl_strlist_push(&o->revs, argv[i]);
	}
	if (!o->path)
		o->path = ".";
	return 0;
}

void cli_opts_free(cli_opts *o)
{
	kl_strlist_free(&o->revs);
	kl_strlist_free(&o->rules_paths);
	kl_strlist_free(&o->only_rules);
}

static bool is_scan_command(const char *cmd)
{
	return strcmp(cmd, "scan") == 0 || strcmp(cmd, "staged") == 0 ||
	       strcmp(cmd, "history") == 0 || strcmp(cmd, "audit") == 0 ||
	       strcmp(cmd, "baseline") == 0;
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

/*
 * git_libgit2_init parses the system's TLS certificates (about half of a
 * pre-commit scan's start-up, for a feature keyleak never uses), so it runs
 * on its own thread while the rules load; cli_git_ready() waits for it.
 * The only process-wide state besides the options, set once in main.
 */
static pthread_t git_init_thread;
static bool git_init_pending;

static void *run_git_init(void *unused)
{
	(void)unused;
	git_libgit2_init();
	return NULL;
}

static void start_git_init(void)
{
	git_init_pending = pthread_create(&git_init_thread, NULL, run_git_init,
					  NULL) == 0;
	if (!git_init_pending)
		git_libgit2_init();
}

void cli_git_ready(void)
{
	if (git_init_pending) {
		pthread_join(git_init_thread, NULL);
		git_init_pending = false;
	}
}

/* `keyleak version` / `--version`: the libraries too, for bug reports. */
static int cli_version(void)
{
	kl_buf out = KL_BUF_INIT;
	bool ok;

	kl_version_text(&out);
	ok = fwrite(out.data, 1, out.len, stdout) == out.len &&
	     fflush(stdout) == 0;
	kl_buf_free(&out);
	return ok ? KL_EXIT_CLEAN : KL_EXIT_ERROR;
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
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		return cli_version();
	}
	start_git_init();
	if (strcmp(cmd, "install-hook") == 0) {
		cli_git_ready();
		rc = kl_cmd_install_hook(argc - 1, argv + 1);
	} else if (strcmp(cmd, "pre-receive") == 0 ||
		   strcmp(cmd, "pre-push") == 0) {
		rc = cmd_push(argc - 1, argv + 1);
	} else if (!is_scan_command(cmd) && strcmp(cmd, "rules") != 0 &&
		   strcmp(cmd, "merge") != 0) {
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
		     : o.repos ? cmd_org_audit(&o) : cmd_scan(&o);
		cli_opts_free(&o);
	}
	cli_git_ready();
	git_libgit2_shutdown();
	return rc;
}
