/*
 * keyleak public API: rules, the scanning engine, findings and reports.
 *
 * Data flows one way: source -> engine -> findings -> report. A source hands
 * byte buffers to the engine, the engine returns raw matches, the findings
 * layer turns matches into redacted, fingerprinted findings, and a reporter
 * formats a finished kl_report. Nothing here knows about libgit2.
 *
 * Calls point one way too. Each directory of src/ is a layer; a file
 * includes the headers of, and calls, its own layer and those below it,
 * never one above, and no two files call each other (tests/e2e/
 * test_layers.py reads the includes and the objects' symbols). Top down:
 *   1. cli/main.c     the command table; nothing calls it
 *   2. cli            commands, options, --help, version, hook installer
 *   3. hosting        listing repositories from GitHub, GitLab, Gitea
 *                     (names, not blobs; HTTP through util/http.c)
 *   4. sources        what to scan: work tree, index, history (and its
 *                     parallel walk), audit, pushes, repository lists
 *   5. policy         .env / .gitignore checks, called by the sources;
 *                     it reads git through the plumbing below
 *   6. sources/git    libgit2 plumbing: open, walk, tree diff, provenance,
 *                     missing objects, worker processes (procs.c)
 *   7. verify         --verify: annotates findings, never reads a repository
 *   8. report         text, JSON, SARIF, JSON Lines, merge: only reads a
 *                     kl_report
 *   9. findings       kl_finding and kl_report (filled by sources, policy
 *                     and verify; status names), config, baselines, state
 *  10. rules          compiling rule files, and the engine that runs them
 *                     (engine/: the two share the compiled kl_rule, so
 *                     they are one layer)
 *  11. decode         the decoding (decode/) and archive (archive/) stages:
 *                     bytes in, views out; findings/unpack.c wires them
 *  12. util           buffers, files, atomic writes, SHA-256, progress,
 *                     threads, the object-id map, the libcurl loader
 * This header and src/internal.h hold declarations only, for every layer.
 *
 * Conventions: functions that can fail return int (0 ok, negative error) and
 * fill a kl_error; whoever calls *_new calls *_free; *_free(NULL) is a no-op.
 * Allocation failure aborts the process (see kl_xmalloc).
 */
#ifndef KEYLEAK_H
#define KEYLEAK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define KL_VERSION "0.1.0"
/* KL_INFORMATION_URI (SARIF's tool.driver.informationUri) is defined only
 * by a build that names keyleak's home: make INFORMATION_URI=https://...
 * The project has no public home, so by default SARIF omits it. */

/* ---------------------------------------------------------------- basics */

/* An error message that names the file, object or rule and the reason. */
typedef struct kl_error {
	char *message; /* NULL when no error was set */
} kl_error;

void kl_error_set(kl_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kl_error_clear(kl_error *err);

/* Growable byte buffer, always NUL-terminated after data[len]. */
typedef struct kl_buf {
	char *data;
	size_t len;
	size_t cap;
} kl_buf;

#define KL_BUF_INIT { NULL, 0, 0 }
void kl_buf_grow(kl_buf *b, size_t extra);
void kl_buf_add(kl_buf *b, const void *data, size_t len);
void kl_buf_puts(kl_buf *b, const char *s);
void kl_buf_addch(kl_buf *b, char c);
void kl_buf_add_utf8(kl_buf *b, uint32_t cp); /* cp <= 0x10FFFF */
void kl_buf_printf(kl_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kl_buf_vprintf(kl_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void kl_buf_reset(kl_buf *b);
char *kl_buf_detach(kl_buf *b); /* caller frees; b is left empty */
void kl_buf_free(kl_buf *b);

void *kl_xmalloc(size_t n);
void *kl_xcalloc(size_t n, size_t size);
void *kl_xrealloc(void *p, size_t n);
char *kl_xstrdup(const char *s);
char *kl_xstrdup_or_null(const char *s); /* NULL stays NULL */
char *kl_xstrndup(const char *s, size_t n);

/*
 * Append everything left in fd to out (size_hint: expected size; max_len:
 * fail with errno EFBIG past it, 0 for no limit). 0, or -1 with errno.
 */
int kl_read_fd(int fd, kl_buf *out, size_t size_hint, size_t max_len);
/* Write all of data, retrying short writes and EINTR; -1 with errno. */
int kl_write_all(int fd, const void *data, size_t len);
/*
 * Append the regular file at path to out. Anything else (FIFO, device,
 * directory) is refused rather than read. On failure err names path,
 * what it is for ("rule file", "config") and the reason.
 */
int kl_read_file(const char *path, const char *what, size_t max_len,
		 kl_buf *out, kl_error *err);

/* A list of owned strings. */
typedef struct kl_strlist {
	char **items;
	size_t len;
} kl_strlist;

void kl_strlist_push(kl_strlist *l, const char *s);
bool kl_strlist_has(const kl_strlist *l, const char *s); /* linear */
void kl_strlist_free(kl_strlist *l);

/* Lowercase hex SHA-256 of data (65 bytes incl. NUL written to hex). */
void kl_sha256_hex(const void *data, size_t len, char hex[65]);
void kl_sha256(const void *data, size_t len, unsigned char out[32]);
void kl_hmac_sha256(const void *key, size_t key_len, const void *msg,
		    size_t msg_len, unsigned char out[32]);

/* ----------------------------------------------------------------- rules */

typedef enum kl_severity {
	KL_SEV_LOW,
	KL_SEV_MEDIUM,
	KL_SEV_HIGH,
	KL_SEV_CRITICAL
} kl_severity;

const char *kl_severity_name(kl_severity s); /* "low", ..., "critical" */
/* The severity a name ("low" ... "critical") means; -1 for another. */
int kl_severity_parse(const char *name, kl_severity *out);

/*
 * How to ask a provider whether a key still works (rule field "verify",
 * documented in README.md): one read-only HTTPS request. "{secret}" in a
 * header value (or, with secret_in_query, in the URL's query) stands for
 * the key. Used only with --verify.
 */
typedef struct kl_verifier {
	char *method;        /* "GET", "HEAD" or "POST" (no body) */
	char *url;           /* https://host/path[?query] */
	kl_strlist headers;  /* "Name: value" lines */
	int *live;           /* statuses meaning the key works */
	size_t n_live;
	int *revoked;        /* statuses meaning it was rejected */
	size_t n_revoked;
	kl_strlist live_body;    /* if any, a live answer contains one */
	kl_strlist revoked_body; /* if any, a revoked answer contains one */
	bool secret_in_query; /* the provider needs the key in the URL */
	bool untrusted;      /* from a repository's own config: not used */
} kl_verifier;

typedef enum kl_rule_kind {
	KL_RULE_PATTERN, /* a regex over content */
	KL_RULE_POLICY   /* a repository policy check (.env, .gitignore) */
} kl_rule_kind;

/*
 * One rule as loaded from rules/ JSON files. Fields mirror the JSON keys
 * (documented in README.md). Immutable once the ruleset is compiled, and
 * shared read-only by all threads.
 */
typedef struct kl_rule_context kl_rule_context; /* src/rules/context.h */

typedef struct kl_rule {
	char *id;          /* stable kebab-case id, e.g. "openai-project-key" */
	char *name;        /* human name */
	char *description; /* what it finds, and the source of the format */
	char *remediation; /* how to revoke and rotate, with the provider's URL */
	char *provider;    /* "OpenAI", from the rule file */
	char *origin;      /* file the rule came from ("builtin:openai.json") */
	kl_rule_kind kind;
	kl_severity severity;
	char *regex;       /* PCRE2 pattern (NULL for policy rules) */
	int secret_group;  /* capture group holding the secret (0 = whole) */
	kl_strlist keywords;  /* prefilter literals, matched case-insensitively */
	kl_strlist stopwords; /* extra per-rule placeholder words */
	kl_strlist references; /* URLs documenting the format */
	kl_strlist tags;
	kl_strlist examples;          /* must match (templates, see rules_check) */
	kl_strlist negative_examples; /* must not match */
	double min_entropy;  /* Shannon bits/char over the secret; 0 = off */
	char *marker;        /* literal the secret must contain; NULL = off */
	kl_strlist checks;   /* names of checks this rule applies, for humans */
	kl_verifier *verify; /* NULL: no verifier (owned) */
	void *code;          /* compiled pcre2_code_8 *, owned */
	kl_rule_context *context; /* what must surround a match; NULL = none */
	/* Structure checks and pairing (src/engine/structure.c, pair.c). */
	char *check;         /* "crc32-base62", "private-key", ...; NULL = off */
	kl_strlist claims;   /* "name=value" / "name!=value" a check reads (jwt) */
	size_t window;       /* bytes a match may span from its keyword; 0 = 4096 */
	struct kl_pair *pair; /* a partner secret to report with it; NULL = off */
} kl_rule;

/*
 * A rule's partner: a second secret that belongs with the first (AWS key
 * id + secret access key, Twilio key SID + secret). When a match of rule
 * `rule`, or else of `regex`, lies in the id's window (`lines` lines each
 * way, not across a blank line or a section header) and no other id of
 * the same rule is nearer to it, both become one finding; `required`
 * drops a match without a partner.
 */
typedef struct kl_pair {
	char *name;          /* what the partner is, e.g. "secret access key" */
	char *rule;          /* id of a rule whose match is the partner; or NULL */
	char *regex;         /* partner pattern near the match; or NULL */
	int secret_group;
	size_t lines;        /* the window: lines each way from the id */
	double min_entropy;
	bool required;
	void *code;          /* compiled regex, owned */
} kl_pair;

typedef struct kl_ruleset kl_ruleset;

kl_ruleset *kl_ruleset_new(void);
void kl_ruleset_free(kl_ruleset *rs);

/*
 * Verifiers in rule files added from now on are not to be trusted (a
 * repository's own .keyleak.json names them): they are read and checked
 * but never sent a secret. Built-in rules are always trusted.
 */
void kl_ruleset_distrust_verifiers(kl_ruleset *rs, bool distrust);

/* Add the rule files compiled into the binary. */
int kl_ruleset_add_builtin(kl_ruleset *rs, kl_error *err);
/* Add one rule file, or every *.json in a directory (sorted by name). */
int kl_ruleset_add_path(kl_ruleset *rs, const char *path, kl_error *err);
/* Add rules from a JSON text; origin names it in error messages. */
int kl_ruleset_add_json(kl_ruleset *rs, const char *origin,
			const char *json, size_t len, kl_error *err);
/* Drop a rule by id; returns 0 if found, -1 if not. */
int kl_ruleset_disable(kl_ruleset *rs, const char *id);
/* Compile every regex (JIT) and build the keyword prefilter. */
int kl_ruleset_compile(kl_ruleset *rs, kl_error *err);

size_t kl_ruleset_count(const kl_ruleset *rs);
const kl_rule *kl_ruleset_get(const kl_ruleset *rs, size_t i);
const kl_rule *kl_ruleset_find(const kl_ruleset *rs, const char *id);
/* The farthest any rule's match may reach past its keyword hit (the
 * largest "window", at least 4096): what a reader that scans a file in
 * overlapping pieces must overlap by. */
size_t kl_ruleset_max_window(const kl_ruleset *rs);
/* Index of a rule in the set (for SARIF ruleIndex), or -1. */
int kl_ruleset_index(const kl_ruleset *rs, const kl_rule *rule);

/*
 * Expand an example template: "{N}" is N random characters of
 * [A-Za-z0-9]; "{N:class}" uses class alnum, hex, HEX, lower, upper, digit,
 * lowernum, uppernum, b64 ([A-Za-z0-9+/]), b64url ([A-Za-z0-9_-]).
 * "{{" and "}}" are literal braces. seed makes the result reproducible.
 */
char *kl_template_expand(const char *tmpl, uint64_t *seed);
/* The generator behind it (splitmix64): the next number for state. */
uint64_t kl_random_next(uint64_t *state);

/*
 * Complete the expansion of one of r's examples in place: where r's regex
 * matches, r's structure check (its "check") rewrites the random candidate
 * into one that passes (e.g. computes GitHub's CRC32 over the random part).
 * A rule without a check leaves text alone.
 */
void kl_rule_complete_example(const kl_rule *r, char *text);

/*
 * Check every rule against its own examples (must be found, by that rule)
 * and negative examples (must not be found by that rule). Prints one line
 * per failure to out; returns the number of failures.
 */
int kl_ruleset_check(const kl_ruleset *rs, uint64_t seed, FILE *out);

/* ---------------------------------------------------------------- engine */

/* A raw match of a rule over a buffer. Offsets are bytes into the buffer. */
typedef struct kl_match {
	const kl_rule *rule;
	size_t start;   /* start of the secret */
	size_t len;     /* length of the secret */
	size_t line;    /* 1-based line of start */
	size_t column;  /* 1-based column of start, in Unicode code points */
	size_t end_column; /* column just past the secret (on end_line) */
	bool suppressed; /* the line carries "keyleak:allow" */
	size_t end_line; /* line of the secret's last byte (multi-line secrets) */
	size_t partner_start, partner_len; /* paired secret; len 0 = none */
	size_t partner_line;
	size_t at;      /* start of the whole match (its keyword hit) */
} kl_match;

typedef struct kl_matches {
	kl_match *items;
	size_t len;
	size_t cap;
} kl_matches;

void kl_matches_free(kl_matches *m);

/* Per-thread scanning state (PCRE2 match data). Not shared. */
typedef struct kl_scanner kl_scanner;

kl_scanner *kl_scanner_new(const kl_ruleset *rs);
/* The rules a scanner runs. */
const kl_ruleset *kl_scanner_ruleset(const kl_scanner *sc);
void kl_scanner_free(kl_scanner *sc);

/* Extra allow-list applied by the scanner (from config). Borrowed. */
typedef struct kl_allowlist {
	const kl_strlist *stopwords;  /* case-insensitive words in a secret */
	void *const *regexes;         /* compiled pcre2_code_8 * over the secret */
	size_t n_regexes;
} kl_allowlist;

void kl_scanner_set_allowlist(kl_scanner *sc, const kl_allowlist *allow);

/*
 * Scan a buffer: append matches (sorted by offset) to out. Placeholders,
 * failed structure checks and allow-listed values are dropped; matches on a
 * "keyleak:allow" line are kept with suppressed = true. Returns the number
 * of rules that hit their PCRE2 match limit (the scan goes on); their ids
 * are appended to limit_hit if non-NULL.
 */
int kl_scan_buffer(kl_scanner *sc, const char *data, size_t len,
		   kl_matches *out, kl_strlist *limit_hit);

/* A match starts at a keyword hit and ends at most this many bytes after
 * it: what a reader of large files in pieces must overlap. */
#define KL_MATCH_WINDOW 4096

/* Common placeholder test used by every pattern rule (exposed for tests). */
bool kl_is_placeholder(const kl_rule *rule, const char *secret, size_t len);
double kl_shannon_entropy(const char *s, size_t len);

/* Content classification (binary: NUL in first 8 KiB; LFS pointer). */
bool kl_content_is_binary(const char *data, size_t len);
bool kl_content_is_lfs_pointer(const char *data, size_t len);
/*
 * If data is UTF-16 (BOM, or a regular NUL pattern), write its UTF-8
 * transcoding to out and return true.
 */
bool kl_content_utf16_to_utf8(const char *data, size_t len, kl_buf *out);

/* -------------------------------------------------------------- findings */

/* Where a finding came from in history; all NULL/0 for work-tree scans. */
typedef struct kl_provenance {
	char *commit;        /* full hex id of the introducing commit */
	char *author_name;
	char *author_email;
	int64_t author_time; /* seconds since epoch */
	int author_tz;       /* offset in minutes */
	char *summary;       /* first line of the commit message */
	char *removed_in;    /* commit that removed it from HEAD's line, or NULL */
	bool in_head;        /* still present at HEAD */
	kl_strlist commits;  /* every commit where it was seen, oldest first */
	/* Where the introducing commit lives (history, audit): the first
	 * refs whose history has it, how many do in all; reach_known with
	 * reach_total 0 means unreachable (amended, rebased or deleted,
	 * found through the reflog or the object database). */
	bool reach_known;
	size_t reach_total;
	kl_strlist reach_refs;
	int64_t removed_time; /* removed_in's commit time; 0 when not removed */
} kl_provenance;

/* The provider's answer about a secret (--verify). */
typedef enum kl_verify_status {
	KL_VERIFY_NONE,    /* not verified (no --verify, or a policy finding) */
	KL_VERIFY_LIVE,    /* the provider accepted the key */
	KL_VERIFY_REVOKED, /* the provider rejected it as invalid or revoked */
	KL_VERIFY_UNKNOWN  /* anything else; detail says why */
} kl_verify_status;

typedef struct kl_verification {
	kl_verify_status status;
	char *detail;        /* "HTTP 200", "timeout after 10 s", ... */
	int64_t checked_at;  /* seconds since the epoch; 0: no request made */
} kl_verification;

const char *kl_verify_status_name(kl_verify_status s); /* "live", ... */

typedef struct kl_finding {
	const kl_rule *rule;
	char *path;          /* relative to the scanned root, exact bytes */
	size_t line;
	size_t column;
	size_t end_column;   /* column just past the secret, on end_line */
	char *secret;        /* full secret: never printed unless show_secrets */
	char *redacted;      /* e.g. "sk-proj-Ab…9xQz" */
	char *fingerprint;   /* hex sha256 over rule id, path and secret */
	char *message;       /* one-line description (policy rules set it) */
	char *blob;          /* blob id in history scans, or NULL */
	size_t count;        /* times seen (blobs/occurrences), >= 1 */
	kl_provenance prov;
	bool has_prov;
	kl_strlist refs;     /* push hooks: the pushed refs that bring it */
	kl_verification verification; /* with --verify */
	size_t end_line;     /* last line of a multi-line secret (PEM block) */
	size_t partner_line; /* line of a paired secret, 0 = none */
	/* Where the bytes came from inside the stored file (src/decode/,
	 * src/archive/): the archive member path (nested archives joined
	 * by '!'), or NULL; the decodings applied, outermost first
	 * ("base64", "hex", "percent", "escape"), empty when none. line and
	 * column then point at the encoded span in the (member) file. */
	char *member;
	kl_strlist decoded;
} kl_finding;

typedef struct kl_findings {
	kl_finding *items;
	size_t len;
	size_t cap;
} kl_findings;

/* Append an empty finding (count 1) and return it. */
kl_finding *kl_findings_push(kl_findings *fs);
/* Append a finding built from a match; copies path and the secret. */
kl_finding *kl_findings_add_match(kl_findings *fs, const char *path,
				  const char *data, const kl_match *m);
/* Append a policy finding (no secret). */
kl_finding *kl_findings_add_policy(kl_findings *fs, const kl_rule *rule,
				   const char *path, const char *message);
/* Sort by path, line, column, rule id: makes output deterministic. */
void kl_findings_sort(kl_findings *fs);
/* How many findings have severity min or above (--fail-on); a key
 * verified live counts whatever its rule's severity. */
size_t kl_findings_at_least(const kl_findings *fs, kl_severity min);
void kl_findings_free(kl_findings *fs);
void kl_finding_clear(kl_finding *f);
void kl_provenance_clear(kl_provenance *p);

/* Redact a secret whose first prefix_len bytes are its fixed prefix. */
char *kl_redact(const char *secret, size_t len, size_t prefix_len);
char *kl_fingerprint(const char *rule_id, const char *path,
		     const char *secret, size_t len);

/* ---------------------------------------------------------------- report */

/* Counters every scan keeps, so nothing is dropped silently. */
typedef struct kl_summary {
	uint64_t files_scanned;   /* files or blobs scanned */
	uint64_t bytes_scanned;
	uint64_t skipped_binary;
	uint64_t skipped_too_large;
	uint64_t skipped_lfs;
	uint64_t skipped_other;   /* submodules, special files */
	uint64_t unreadable;
	uint64_t suppressed;      /* findings silenced by keyleak:allow */
	uint64_t baselined;       /* findings silenced by --baseline */
	uint64_t commits_scanned;
	uint64_t limit_hits;      /* rule x file pairs that hit a regex limit */
	uint64_t missing_objects; /* objects absent from the repository */
} kl_summary;

/* What --verify found, over every finding before --only-live. */
typedef struct kl_verify_summary {
	bool ran;            /* --verify was given */
	bool only_live;      /* --only-live dropped the rest */
	uint64_t live, revoked, unknown;
	uint64_t requests;   /* distinct secrets sent to a provider */
	uint64_t hidden;     /* findings dropped by --only-live */
} kl_verify_summary;

/* A notice for the report: skips (with --verbose), errors, warnings. */
typedef enum kl_notice_kind {
	KL_NOTICE_SKIPPED,
	KL_NOTICE_WARNING,
	KL_NOTICE_ERROR
} kl_notice_kind;

typedef struct kl_notice {
	kl_notice_kind kind;
	char *path;    /* file or object concerned, or NULL */
	char *message;
} kl_notice;

/* An object a git source needed and the repository does not have (a
 * partial or damaged clone), with where it is referenced when known. */
typedef struct kl_missing_obj {
	char *id;
	char *type;    /* "blob", "tree" or "commit" */
	char *path;    /* path in the commit below, or NULL */
	char *commit;  /* a commit that references it, or NULL */
} kl_missing_obj;

typedef struct kl_report {
	const char *command;     /* "scan", "staged", "history", "audit" */
	const char *target;      /* path as given by the user */
	const kl_ruleset *rules;
	kl_findings findings;
	kl_summary summary;
	kl_notice *notices;
	size_t n_notices;
	size_t cap_notices;
	bool incomplete;         /* some data could not be read */
	char *config_path;       /* config file that applied, or NULL */
	bool repo_config_ignored; /* --no-repo-config was given */
	char *baseline_path;
	bool shallow;            /* history beyond a shallow boundary unseen */
	kl_missing_obj *missing; /* missing objects (the source summarises) */
	size_t n_missing, cap_missing;
	kl_verify_summary verify; /* --verify counts (ran == false without) */
	/* What was scanned, for the HTML report's header (owned, NULL when
	 * unknown): HEAD's commit and branch, the remote's URL, the refs
	 * and the options that shaped the scan ("--all", "--verify"). */
	char *head, *branch, *remote, *refs, *options;
} kl_report;

void kl_report_init(kl_report *r, const char *command, const char *target,
		    const kl_ruleset *rules);
void kl_report_notice(kl_report *r, kl_notice_kind kind, const char *path,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void kl_report_free(kl_report *r);
/* Record a missing object (strings are copied; path/commit may be NULL). */
void kl_report_missing(kl_report *r, const char *id, const char *type,
		       const char *path, const char *commit);

typedef enum kl_format {
	KL_FORMAT_TEXT,
	KL_FORMAT_JSON,
	KL_FORMAT_SARIF,
	KL_FORMAT_JSONL, /* JSON Lines: one line per finding, then a summary */
	KL_FORMAT_COMPACT, /* text, one line per finding */
	KL_FORMAT_HTML   /* one self-contained page (src/report/html.c) */
} kl_format;

typedef struct kl_report_opts {
	kl_format format;
	bool show_secrets;
	bool color;
	bool verbose; /* text: list every skipped file */
} kl_report_opts;

/*
 * Append s escaped for a terminal or a log: control characters, bidi
 * overrides, backslash and invalid UTF-8 become C-style escapes, so a
 * hostile file name cannot forge lines or send terminal sequences.
 */
void kl_report_escape(kl_buf *out, const char *s);

/* Format the report into out (a buffer, so --output can write atomically). */
void kl_report_render(const kl_report *r, const kl_report_opts *o, kl_buf *out);
void kl_report_text(const kl_report *r, const kl_report_opts *o, kl_buf *out);
void kl_report_json(const kl_report *r, const kl_report_opts *o, kl_buf *out);
void kl_report_sarif(const kl_report *r, const kl_report_opts *o, kl_buf *out);

/*
 * The HTML report: one page with its CSS and script inline, nothing
 * fetched (a Content-Security-Policy forbids it), never a full secret
 * whatever the options, every repository string escaped. One or more
 * repositories (audit --repos, merge: a repositories table too).
 */
typedef struct kl_html_repo {
	const kl_report *report;
	const char *name;    /* as listed, or the scanned path */
	const char *status;  /* "ok", "incomplete" or "error" */
	const char *error;   /* why, for "error"; or NULL */
	double seconds;      /* < 0: not measured */
} kl_html_repo;

typedef struct kl_html_doc {
	const char *command;     /* "scan", "history", "audit", "merge" */
	const kl_html_repo *repos;
	size_t n_repos;
	bool multi;              /* show the repositories table */
	const kl_strlist *warnings; /* merge's warnings about its inputs */
	const kl_ruleset *rules;
	int64_t now;             /* the report's date; 0: the clock's */
} kl_html_doc;

void kl_report_html_doc(const kl_html_doc *d, kl_buf *out);
void kl_report_html(const kl_report *r, const kl_report_opts *o, kl_buf *out);

/* What a pusher sees from a push hook (git shows a server hook's stderr
 * prefixed with "remote: "): per finding the refs, commit, path:line,
 * rule and redacted secret, then what to do. Lines fit 80 columns except
 * for long paths; no colour; never a full secret. */
typedef struct kl_push_report_opts {
	const char *verdict;  /* first line, e.g. "push refused: ..." */
	bool client;          /* pre-push: advice for the local clone */
	bool bypass_allowed;  /* the server honours -o keyleak.bypass=REASON */
} kl_push_report_opts;

void kl_report_push(const kl_report *r, const kl_push_report_opts *o,
		    kl_buf *out);

/* The push hooks' audit log: JSON lines, never a secret. */
typedef struct kl_audit_ctx {
	const char *event;       /* "refused", "bypass" or "error" */
	const char *repository;
	const char *pusher;      /* as the server names them, or NULL */
	const char *reason;      /* the bypass reason, or NULL */
	const char *message;     /* "error": what went wrong */
	const kl_strlist *refs;  /* the pushed ref updates: names, old and */
	const kl_strlist *olds;  /* new ids, parallel lists */
	const kl_strlist *news;
} kl_audit_ctx;

/* Append the audit lines for r to out: one per (finding, ref) for
 * "refused" and "bypass", one per push for "error". */
void kl_report_audit(const kl_report *r, const kl_audit_ctx *c, kl_buf *out);
/* Append data (whole lines) to path under an exclusive lock, in one
 * write, so concurrent pushes never interleave lines. */
int kl_audit_append(const char *path, const char *data, size_t len,
		    kl_error *err);
/* ---------------------------------------------------------------- verify */

typedef struct kl_verify_opts {
	int jobs;            /* parallel requests (>= 1) */
	long timeout_ms;     /* per request */
	int attempts;        /* tries per secret on 429/5xx/network errors */
	/* "http://127.0.0.1:PORT": replaces scheme, host and port of every
	 * verifier URL (tests, egress gateways); NULL for none. */
	const char *base_url;
	bool progress;       /* draw "verifying: n/total" on stderr */
} kl_verify_opts;

/* Check that base is "http[s]://host[:port]" (an optional trailing "/").
 * 0, or -1 with err naming the reason. */
int kl_verify_check_base_url(const char *base, kl_error *err);

/*
 * Verify every key finding in r: each distinct (verifier, secret) pair is
 * sent once to its provider, and every finding with that secret gets the
 * answer in f->verification; r->verify counts them. Findings whose rule
 * has no (trusted) verifier become unknown with the reason, without any
 * request. Never fails: a network problem is an unknown status.
 */
void kl_verify_report(kl_report *r, const kl_verify_opts *o);

/* --only-live: drop every finding that is not live, counting them in
 * r->verify.hidden. */
void kl_verify_only_live(kl_report *r);
/*
 * What a JSON Lines summary line says about one repository of an
 * organisation-wide audit, besides the report itself.
 */
typedef struct kl_jsonl_repo {
	const char *repository; /* as listed (a URL's password masked) */
	const char *id;         /* stable id: sha256 of the normalised name */
	const char *status;     /* "ok", "incomplete" or "error" */
	const char *error;      /* why, for "error"; else NULL */
	double seconds;
	const char *head;       /* HEAD's commit id, or NULL */
	const char *branch;     /* HEAD's branch (refs/heads/...), or NULL */
	const char *state;      /* --state-dir: "new", "used", "invalidated:
				 * why"; NULL without a state */
	uint64_t carried_blobs; /* blobs clean in the last run, not rescanned */
	const char *remote;     /* the remote's URL (links in HTML), or NULL */
} kl_jsonl_repo;

/*
 * JSON Lines: one compact line per finding (the JSON report's finding
 * plus "type":"finding", "repository" and "repository_id"), then one
 * "type":"repository" summary line. repo NULL: r->target names it.
 */
void kl_report_jsonl(const kl_report *r, const kl_jsonl_repo *repo,
		     const kl_report_opts *o, kl_buf *out);

/*
 * A JSON Lines block (kl_report_jsonl) again, with its summary line's
 * "state" and "seconds" replaced: an unchanged repository's last result.
 */
void kl_report_jsonl_restamp(const char *block, size_t len, const char *state,
			     double seconds, kl_buf *out);

/*
 * `keyleak merge`: JSON Lines (and JSON) reports of shards read back and
 * rendered as one report (SARIF: one run per repository). Findings of
 * rules rs does not know keep the rule fields the input carried.
 */
typedef struct kl_merge kl_merge;

kl_merge *kl_merge_new(const kl_ruleset *rs);
/* The JSON report's "command" (default "merge"); borrowed. */
void kl_merge_set_command(kl_merge *m, const char *command);
void kl_merge_free(kl_merge *m);
/* Add one input file's text; file names it in warnings and errors. */
int kl_merge_add(kl_merge *m, const char *file, const char *data, size_t len,
		 kl_error *err);
/* A repository the merge must have (from the list): if no input holds
 * it, it is reported as an error, not left out. Call after the inputs. */
void kl_merge_expect(kl_merge *m, const char *id, const char *name);
/* Inputs that were read but not whole (cut lines, missing summaries). */
const kl_strlist *kl_merge_warnings(const kl_merge *m);
bool kl_merge_incomplete(const kl_merge *m); /* a repository not "ok" */
size_t kl_merge_findings(const kl_merge *m);
/* Findings of severity min or above (--fail-on). */
size_t kl_merge_findings_at_least(const kl_merge *m, kl_severity min);
void kl_merge_render(kl_merge *m, const kl_report_opts *o, kl_buf *out);
/*
 * For --resume: append to kept the lines of data (JSON Lines) that belong
 * to repositories whose summary line is there, push those ids to done,
 * and add their findings and their repositories not "ok" to the counters.
 * A cut last line and a killed worker's partial block are left out.
 */
void kl_jsonl_keep_complete(const char *data, size_t len, kl_buf *kept,
			    kl_strlist *done, size_t *findings, size_t *not_ok);

/* Write data to path atomically (temp file + rename); a device or FIFO
 * (/dev/null, /dev/stdout, a named pipe) is written in place instead. */
int kl_write_file_atomic(const char *path, const char *data, size_t len,
			 kl_error *err);

#endif
