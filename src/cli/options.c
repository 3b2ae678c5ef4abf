/*
 * Owns what every command shares below the command table (main.c):
 * --help, parsing the options and starting libgit2 on a thread. The
 * commands (commands.c, org.c, push.c) call this file; only main.c calls
 * them.
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
#include "hosting/hosting.h"

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
"  pre-commit [FILE...] the pre-commit framework's hook: inside `git\n"
"                       commit` as staged; otherwise (`pre-commit run`\n"
"                       over all files, in CI) the FILEs as on disk\n"
"  history [PATH] [REV...]  scan commits: every ref by default (branches,\n"
"                       tags, remotes, stash), or the named REVs (HEAD)\n"
"      --all              every ref, also with REVs\n"
"      --range A..B       only what the commits A..B (or A...B) add\n"
"  audit [PATH]         all refs, unreachable objects and the work tree\n"
"  audit --repos FILE   audit every repository FILE lists (paths or clone\n"
"                       URLs, one a line; URLs are mirrored, see below)\n"
"  audit --repos-from SPEC  the same for the repositories a hosting platform\n"
"                       lists (see `repos`); repeatable\n"
"  repos SPEC...        list the clone URLs of github:ORG, github-user:USER,\n"
"                       gitlab:GROUP (with subgroups), gitea:ORG (Forgejo\n"
"                       too), one a line, sorted: a list for --repos\n"
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
"      --use-path           the hook runs the keyleak on PATH, not this\n"
"                           binary by its absolute path\n"
"  pre-receive [--repo PATH]  server push protection: refuse a push that\n"
"                       adds a secret (git runs it; see pre-receive --help)\n"
"  pre-push [REMOTE [URL]]  the same check on the client before a push\n"
"  version              print the version and those of the libraries\n"
"                       (libgit2, PCRE2 and its JIT, cJSON, zlib, libcurl)\n"
"\n"
"options:\n"
"  -f, --format FMT     text (default), compact, json, sarif, jsonl or html\n"
"                       (compact: text, a line per finding, most severe\n"
"                       first; jsonl: JSON Lines; html: one self-contained\n"
"                       page, never a full secret)\n"
"  -o, --output FILE    write the report to FILE (atomically; a device or FIFO\n"
"                       is written into)\n"
"      --show-secrets   print secrets in full (default: redacted; never in html)\n"
"      --exit-code N    exit status when findings remain (default 1)\n"
"      --fail-on SEV    least severity that fails: low, medium (default),\n"
"                       high or critical (also \"fail_on\" in .keyleak.json);\n"
"                       lower findings are reported, exit status 0\n"
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
"  -V, --version        the version, as `keyleak version`\n"
"\n"
"organisation-wide audits (audit --repos FILE):\n"
"      --shard K/N      audit only shard K of N (0-based): repositories are\n"
"                       split by a hash of their normalised URL or path\n"
"      --repo-jobs N    repositories audited at once (default 1); each gets\n"
"                       --threads/N workers (was --jobs, still accepted)\n"
"      --mirror-dir DIR  where URLs are cloned as bare mirrors and fetched\n"
"                       on later runs (default ~/.cache/keyleak/mirrors);\n"
"                       HTTPS token from KEYLEAK_GIT_TOKEN (user\n"
"                       KEYLEAK_GIT_USERNAME), SSH keys from the agent\n"
"      --resume         with --format jsonl --output FILE: keep the\n"
"                       repositories FILE already has, audit the rest\n"
"      --state-dir DIR  incremental: remember the blobs scanned clean per\n"
"                       repository; later runs scan only new ones\n"
"\n"
"hosting platforms (repos, audit --repos-from; see doc/hosting.md):\n"
"      --api-url URL    GitHub Enterprise Server, self-managed GitLab, a\n"
"                       Gitea/Forgejo host (required for gitea:); HTTPS\n"
"                       only (plain HTTP to loopback addresses)\n"
"      --include-forks  list forks too (default: skipped)\n"
"      --include-archived  list archived repositories too (default: skipped)\n"
"      --visibility V   public, private (anything not public) or all\n"
"                       (default)\n"
"      --include-name PAT  only repositories whose name matches (fnmatch;\n"
"                       a PAT with '/' matches the full path); repeatable\n"
"      --exclude-name PAT  skip repositories whose name matches; repeatable\n"
"      --rate-limit-wait S  wait out rate limits up to S seconds in all\n"
"                       (default 900; 0: fail at once)\n"
"                       tokens: GITHUB_TOKEN/GH_TOKEN, GITLAB_TOKEN,\n"
"                       GITEA_TOKEN (or KEYLEAK_GITHUB_TOKEN, ...), sent\n"
"                       only to the API's host; also used to clone there\n"
"\n"
"paths: inside a git work tree, paths are named from its root whatever PATH\n"
"and the current directory (`scan src` and `scan src/app.py` both report\n"
"src/app.py) and its .keyleak.json applies; outside one, relative to PATH.\n"
"An option a command does not take is refused, naming the one that does.\n"
"\n"
"exit status: 0 no findings at --fail-on or above, 1 findings, 2 error or\n"
"incomplete scan.\n"
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
	OPT_FETCH_MISSING, OPT_FAIL_ON, OPT_REPO_JOBS, OPT_REPOS_FROM,
	OPT_API_URL, OPT_INCLUDE_FORKS, OPT_INCLUDE_ARCHIVED, OPT_VISIBILITY,
	OPT_INCLUDE_NAME, OPT_EXCLUDE_NAME, OPT_RATE_LIMIT_WAIT,
	OPT_NO_DECODE, OPT_NO_ARCHIVES, OPT_DECODE_DEPTH, OPT_DECODE_BYTES,
	OPT_ARCHIVE_DEPTH,
	OPT_ARCHIVE_MEMBERS, OPT_ARCHIVE_BYTES, OPT_ARCHIVE_RATIO, OPT_END
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
	{ "repo-jobs", required_argument, NULL, OPT_REPO_JOBS },
	{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
	{ "version", no_argument, NULL, 'V' },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "repos-from", required_argument, NULL, OPT_REPOS_FROM },
	{ "api-url", required_argument, NULL, OPT_API_URL },
	{ "include-forks", no_argument, NULL, OPT_INCLUDE_FORKS },
	{ "include-archived", no_argument, NULL, OPT_INCLUDE_ARCHIVED },
	{ "visibility", required_argument, NULL, OPT_VISIBILITY },
	{ "include-name", required_argument, NULL, OPT_INCLUDE_NAME },
	{ "exclude-name", required_argument, NULL, OPT_EXCLUDE_NAME },
	{ "rate-limit-wait", required_argument, NULL, OPT_RATE_LIMIT_WAIT },
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
	else if (strcmp(s, "compact") == 0)
		*out = KL_FORMAT_COMPACT;
	else if (strcmp(s, "html") == 0)
		*out = KL_FORMAT_HTML;
	else
		return bad_value("--format", s,
				 "expected text, compact, json, sarif, jsonl or html");
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

/* The listing options of `repos` and `audit --repos-from`. */
static int parse_hosting(int c, const char *arg, cli_opts *o)
{
	int v;

	o->hosting_given = true;
	switch (c) {
	case OPT_API_URL: o->api_url = arg; return 0;
	case OPT_INCLUDE_FORKS: o->include_forks = true; return 0;
	case OPT_INCLUDE_ARCHIVED: o->include_archived = true; return 0;
	case OPT_VISIBILITY:
		if (strcmp(arg, "all") == 0)
			o->visibility = KL_VIS_ALL;
		else if (strcmp(arg, "public") == 0)
			o->visibility = KL_VIS_PUBLIC;
		else if (strcmp(arg, "private") == 0)
			o->visibility = KL_VIS_PRIVATE;
		else
			return bad_value("--visibility", arg,
					 "expected public, private or all");
		return 0;
	case OPT_INCLUDE_NAME: kl_strlist_push(&o->include_names, arg); return 0;
	case OPT_EXCLUDE_NAME: kl_strlist_push(&o->exclude_names, arg); return 0;
	case OPT_RATE_LIMIT_WAIT:
		if (parse_int(arg, 0, 86400, &v))
			return bad_value("--rate-limit-wait", arg,
					 "expected 0 to 86400 seconds");
		o->rate_limit_wait = v;
		return 0;
	default:
		return -1;
	}
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
		fprintf(stderr, "keyleak: warning: --jobs (repositories at once) "
			"is now spelled --repo-jobs; -j is --threads\n");
		/* fall through */
	case OPT_REPO_JOBS:
		if (parse_int(arg, 1, 256, &o->jobs))
			return bad_value("--repo-jobs", arg, "expected 1 to 256");
		return 0;
	case OPT_FAIL_ON: {
		kl_severity s;

		if (kl_severity_parse(arg, &s) != 0)
			return bad_value("--fail-on", arg,
					 "expected low, medium, high or critical");
		o->fail_on = (int)s;
		return 0;
	}
	case OPT_RESUME: o->resume = true; return 0;
	case OPT_STATE_DIR: o->state_dir = arg; return 0;
	case OPT_REPOS_FROM: kl_strlist_push(&o->repos_from, arg); return 0;
	default:
		return parse_hosting(c, arg, o);
	}
}

/*
 * Which commands take an option that not every command takes: any other
 * command refuses it, naming the ones that do, instead of ignoring it.
 */
#define SCANS " scan staged history audit "
#define PUSH "pre-receive pre-push "
static const struct option_scope {
	int opt;
	const char *name;
	const char *commands; /* " a b c " */
} option_scopes[] = {
	{ OPT_ALL, "--all", " history " },
	{ OPT_RANGE, "--range", " history " },
	{ OPT_CHECK, "--check", " rules " },
	{ OPT_SEED, "--seed", " rules " },
	{ OPT_FETCH_MISSING, "--fetch-missing", " history audit " },
	{ OPT_REPOS_FROM, "--repos-from", " audit " },
	{ OPT_API_URL, "--api-url", " repos audit " },
	{ OPT_INCLUDE_FORKS, "--include-forks", " repos audit " },
	{ OPT_INCLUDE_ARCHIVED, "--include-archived", " repos audit " },
	{ OPT_VISIBILITY, "--visibility", " repos audit " },
	{ OPT_INCLUDE_NAME, "--include-name", " repos audit " },
	{ OPT_EXCLUDE_NAME, "--exclude-name", " repos audit " },
	{ OPT_RATE_LIMIT_WAIT, "--rate-limit-wait", " repos audit " },
	{ OPT_FAIL_ON, "--fail-on", SCANS "merge " },
	{ OPT_BASELINE, "--baseline", SCANS PUSH },
	{ OPT_MAX_SIZE, "--max-file-size", SCANS "baseline " PUSH },
	{ OPT_CONFIG, "--config", SCANS "baseline " PUSH },
	{ OPT_NO_REPO_CONFIG, "--no-repo-config", SCANS "baseline " PUSH },
	{ 'j', "-j/--threads", SCANS "baseline " PUSH },
	{ OPT_EXIT_CODE, "--exit-code", SCANS "merge " PUSH },
	{ OPT_SHOW_SECRETS, "--show-secrets", SCANS "merge " PUSH },
	{ OPT_ALLOW_INCOMPLETE, "--allow-incomplete", SCANS "merge " PUSH },
	{ OPT_RULES, "--rules", SCANS "baseline rules " PUSH },
	{ OPT_ONLY_RULES, "--only-rules", SCANS "baseline rules " PUSH },
	{ OPT_NO_DECODE, "--no-decode", SCANS "baseline " PUSH },
	{ OPT_NO_ARCHIVES, "--no-archives", SCANS "baseline " PUSH },
	{ OPT_DECODE_DEPTH, "--max-decode-depth", SCANS "baseline " PUSH },
	{ OPT_DECODE_BYTES, "--max-decode-bytes", SCANS "baseline " PUSH },
	{ OPT_ARCHIVE_DEPTH, "--max-archive-depth", SCANS "baseline " PUSH },
	{ OPT_ARCHIVE_MEMBERS, "--max-archive-members", SCANS "baseline " PUSH },
	{ OPT_ARCHIVE_BYTES, "--max-archive-bytes", SCANS "baseline " PUSH },
	{ OPT_ARCHIVE_RATIO, "--max-archive-ratio", SCANS "baseline " PUSH },
	{ 'f', "--format", SCANS "merge " PUSH },
	{ 'o', "--output", SCANS "baseline merge repos " PUSH },
};
#undef SCANS
#undef PUSH

static int check_scopes(const char *cmd, const bool *given)
{
	kl_buf word = KL_BUF_INIT, takers = KL_BUF_INIT;
	const char *p, *end;
	size_t i;
	int rc = 0;

	kl_buf_printf(&word, " %s ", cmd);
	for (i = 0; rc == 0 && i < sizeof(option_scopes) /
				    sizeof(option_scopes[0]); i++) {
		const struct option_scope *s = &option_scopes[i];

		if (!given[s->opt] || strstr(s->commands, word.data))
			continue;
		for (p = s->commands + 1; *p; p = end + 1) {
			end = strchr(p, ' ');
			kl_buf_printf(&takers, "%s`keyleak %.*s`",
				      takers.len ? ", " : "", (int)(end - p), p);
		}
		fprintf(stderr, "keyleak: %s: %s does not apply here; it is an "
			"option of %s\n", cmd, s->name, takers.data);
		rc = -1;
	}
	kl_buf_free(&word);
	kl_buf_free(&takers);
	return rc;
}

int cli_parse(int argc, char **argv, cli_opts *o)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	bool given[OPT_END] = { false };
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
	o->fail_on = -1;
	o->rate_limit_wait = 900;
	optind = 1;
	opterr = 1;
	while ((c = getopt_long(argc, argv, "f:o:j:qvhV", long_opts, NULL)) != -1) {
		if (c == 'h') {
			cli_usage(stdout);
			exit(KL_EXIT_CLEAN);
		}
		if (c == 'V')
			exit(cli_version());
		if (c == '?' || parse_option(c, optarg, o) != 0) {
			fprintf(stderr, "Try 'keyleak --help'.\n");
			return -1;
		}
		if (c > 0 && c < OPT_END)
			given[c] = true;
	}
	if (check_scopes(o->command, given) != 0) {
		fprintf(stderr, "Try 'keyleak --help'.\n");
		return -1;
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
	kl_strlist_free(&o->repos_from);
	kl_strlist_free(&o->include_names);
	kl_strlist_free(&o->exclude_names);
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

void cli_git_start(void)
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
