/*
 * Internal interfaces shared between keyleak's modules but not part of the
 * public header: scan options, the sources (work tree, index, history) and
 * the one function every source uses to turn content into findings.
 */
#ifndef KL_INTERNAL_H
#define KL_INTERNAL_H

#include "keyleak.h"

/* Files are read in pieces (src/findings/stream.c), so the default limit
 * is about what a scan should take in time, not in memory; 0: no limit. */
#define KL_DEFAULT_MAX_FILE_SIZE ((size_t)1024 * 1024 * 1024)

/* The decoding and archive stages (src/decode/, src/archive/): on unless
 * switched off; a 0 limit takes the stage's default. */
typedef struct kl_unpack_opts {
	bool no_decode, no_archives;
	unsigned decode_depth;   /* encodings nested in one another */
	size_t decode_bytes;     /* decoded bytes per file or blob */
	unsigned archive_depth;  /* archives nested in one another */
	size_t archive_members;  /* members per archive */
	uint64_t archive_bytes;  /* uncompressed bytes per archive (nested
				  * ones included) */
	unsigned archive_ratio;  /* uncompressed : compressed */
} kl_unpack_opts;

/* What a source needs to know to scan; built once by the CLI. */
typedef struct kl_scan_opts {
	const kl_ruleset *rules;
	size_t max_file_size;  /* larger files/blobs are skipped and counted */
	int threads;           /* worker threads (>= 1) */
	bool verbose;          /* list every skipped file as a notice */
	bool progress;         /* draw progress on stderr (a terminal) */
	const kl_allowlist *allow;  /* from config; may be NULL */
	const kl_strlist *skip_globs; /* paths to skip (fnmatch); may be NULL */
	const kl_strlist *allow_env_globs; /* env files the policy allows */
	/* history */
	bool all_refs;         /* --all */
	const char *range;     /* "A..B" or "A...B", or NULL */
	const kl_strlist *revs; /* explicit revisions, or NULL */
	bool fetch_missing;    /* partial clone: fetch absent blobs via git */
	/* audit --state-dir: blobs clean in the last run are not scanned
	 * again (findings/state.h); NULL = scan everything */
	struct kl_memo *memo;
	kl_unpack_opts unpack;
	/* Set by the archive stage on its copy for members: how deep, and
	 * the uncompressed bytes the outermost archive has left. */
	unsigned archive_level;
	uint64_t *archive_budget;
} kl_scan_opts;

/*
 * Scan one file's or blob's content and add its findings to r: classifies
 * (binary, LFS pointer, UTF-16, too large), scans, applies suppressions and
 * updates r->summary. path is the display path. Not thread-safe on r:
 * workers use their own kl_report and merge with kl_report_merge.
 * Returns the number of findings added.
 */
size_t kl_scan_content(kl_scanner *sc, const kl_scan_opts *o, kl_report *r,
		       const char *path, const char *data, size_t len);

/*
 * The first half of kl_scan_content, for sources that filter matches
 * themselves (staged and range scans keep only added lines): counts the
 * content in r->summary and returns the bytes to scan, or NULL when the
 * content is skipped (binary, LFS pointer, too large: counted, and a notice
 * with --verbose). UTF-16 content is transcoded into tmp, which the caller
 * frees; returned offsets and lines then refer to the transcoding.
 */
const char *kl_content_prepare(const kl_scan_opts *o, kl_report *r,
			       const char *path, const char *data,
			       size_t *len, kl_buf *tmp);

/*
 * Scan what fd yields in bounded memory: content of up to one piece (8 MiB)
 * goes through kl_scan_content as a whole; longer content is scanned in
 * pieces that overlap by more than any match can span, with line, column
 * and "keyleak:allow" as in a whole-file scan (the allow marker must be
 * within 4 KiB before the key on a line longer than a piece). size is the
 * file's size when opened (-1 for a stream such as stdin): a file that
 * grows or shrinks meanwhile is scanned as far as it was read, with a
 * warning. buf is the caller's reusable window. Returns 0, or -1 with
 * errno set when a read fails (findings so far are kept).
 */
int kl_scan_fd(kl_scanner *sc, const kl_scan_opts *o, kl_report *r,
	       const char *path, int fd, int64_t size, kl_buf *buf);
/* A window owns the matches that start from LEAD bytes after its start
 * (bytes for the rules' look-behinds) to the overlap before its end: the
 * farthest any rule's match may reach (a private key block's 70000 bytes)
 * plus twice LEAD. A piece is at least four overlaps. */
#define KL_STREAM_LEAD 256
size_t kl_stream_overlap(const kl_ruleset *rs);
/* The piece size (tests set a small one to put keys across boundaries;
 * 0 restores the default). */
void kl_stream_set_chunk(size_t bytes);

/* UTF-16 pieces (src/engine/content.c): the byte order of data (1 LE,
 * 2 BE, 0 not UTF-16) and its BOM length; decode appends the UTF-8 of
 * whole code units to out and returns the bytes consumed (all when final;
 * otherwise an odd byte or a split surrogate pair is left for later). */
int kl_content_utf16_order(const char *data, size_t len, size_t *bom);
size_t kl_content_utf16_decode(const char *data, size_t len, int order,
			       bool final, kl_buf *out);

/* Count rules that hit their match limit in path and say so, once each. */
void kl_note_limits(kl_report *r, const char *path, const kl_strlist *limits);

/* Count content skipped for its size and say so: a warning (a skip
 * notice with --verbose), since a secret in it went unseen. */
void kl_skip_too_large(const kl_scan_opts *o, kl_report *r, const char *path,
		       uint64_t size);

/*
 * The stages between a source and the engine (src/findings/unpack.c).
 * kl_scan_content calls both; a source that scans content itself (staged
 * and range scans keep added lines only) calls them on its own.
 * kl_scan_archive: if data is an archive or compressed file (and archives
 * are on, within depth), scan its members as files "path!member" whose
 * findings carry path and member; true when it took the content.
 * kl_scan_decoded: scan the decoded spans of prepared text; findings point
 * at the encoded span and name the decodings. Both return through *added
 * the findings added.
 */
bool kl_scan_archive(kl_scanner *sc, const kl_scan_opts *o, kl_report *r,
		     const char *path, const char *data, size_t len,
		     size_t *added);
size_t kl_scan_decoded(kl_scanner *sc, const kl_scan_opts *o, kl_report *r,
		       const char *path, const char *text, size_t len);

/*
 * One window of a file read in pieces (stream.c): text is the window.
 * Its decoded spans are scanned when their encoded bytes start in
 * [own_from, own_to); lines and columns are counted as in the whole file
 * (lines: line breaks before the window; cols: code points before it on
 * its first line). What decoding spends is summed in *spent over the
 * file, so the limits are the file's; limits hit by rules go to *limits.
 * kl_note_decode then says, once, which decoding limits the file hit.
 */
struct kl_decode_stats;
typedef struct kl_text_part {
	size_t own_from, own_to, lines, cols;
	struct kl_decode_stats *spent;
	kl_strlist *limits;
} kl_text_part;
size_t kl_scan_decoded_part(kl_scanner *sc, const kl_scan_opts *o,
			    kl_report *r, const char *path, const char *text,
			    size_t len, const kl_text_part *part);
void kl_note_decode(kl_report *r, const char *path,
		    const struct kl_decode_stats *spent,
		    const kl_unpack_opts *u);

/* Turn matches over prepared content into findings in r (suppressed ones
 * are counted, not added). Returns the number of findings added. */
size_t kl_add_matches(kl_report *r, const char *path, const char *data,
		      const kl_matches *m);

/*
 * Run fn(ctx, worker, item) for item in [0, n) on `threads` threads; each
 * worker (0 .. threads-1) takes items in order from a shared counter, so
 * per-worker state can live in arrays indexed by worker.
 */
void kl_parallel_for(size_t n, int threads,
		     void (*fn)(void *ctx, int worker, size_t item), void *ctx);

/*
 * Run n tasks, each in its own child process (src/sources/git/procs.c
 * says why): run(ctx, k, done) in the child (it may store its progress in *done),
 * then send(ctx, k, out) writes its results; in the parent, receive(ctx,
 * k, in) reads them back, in task order, and lost(ctx, k, why) is told
 * of a child that died or whose bytes were cut short. Returns false,
 * having run nothing, when no process could be started (no memfd, fork
 * refused): the caller runs the tasks on threads instead.
 */
typedef struct kl_wire_reader {
	const unsigned char *p, *end;
	bool bad; /* read past the end, or a malformed string */
} kl_wire_reader;

typedef struct kl_procs {
	void (*run)(void *ctx, size_t k, _Atomic uint64_t *done);
	void (*send)(void *ctx, size_t k, kl_buf *out);
	bool (*receive)(void *ctx, size_t k, kl_wire_reader *in);
	void (*lost)(void *ctx, size_t k, const char *why);
	void *ctx;
	struct kl_progress *progress; /* ticked with the sum of the done counts */
} kl_procs;

bool kl_procs_run(const kl_procs *ps, size_t n);

/* The bytes between a child and its parent: native layout (both are this
 * binary). Strings keep NULL apart from "". */
void kl_wire_u64(kl_buf *b, uint64_t v);
void kl_wire_str(kl_buf *b, const char *s);
const void *kl_wire_take(kl_wire_reader *r, size_t n);
uint64_t kl_wire_get_u64(kl_wire_reader *r);
const char *kl_wire_get_str(kl_wire_reader *r); /* points into the bytes */
/* A report's findings (every field), notices, missing objects, counters
 * and incomplete flag: what a pass's share produces. Its rules must be
 * the same ruleset on both sides. */
void kl_wire_report(kl_buf *b, const kl_report *r);
void kl_wire_get_report(kl_wire_reader *w, kl_report *r);

/* True if path matches one of o->skip_globs. */
bool kl_path_skipped(const kl_scan_opts *o, const char *path);

/* Move src's findings, notices and counters into dst; src is emptied. */
void kl_report_merge(kl_report *dst, kl_report *src);

/* Sources. Each fills r and returns 0, or -1 with err set when the scan
 * could not be done at all. Partial failures are notices plus
 * r->incomplete. */
int kl_src_stdin(const kl_scan_opts *o, kl_report *r, kl_error *err);
int kl_src_worktree(const char *path, const kl_scan_opts *o, kl_report *r,
		    kl_error *err);
int kl_src_files(const kl_strlist *paths, const kl_scan_opts *o,
		 kl_report *r, kl_error *err);
int kl_src_staged(const char *path, const kl_scan_opts *o, kl_report *r,
		  kl_error *err);
int kl_src_history(const char *path, const kl_scan_opts *o, kl_report *r,
		   kl_error *err);
int kl_src_audit(const char *path, const kl_scan_opts *o, kl_report *r,
		 kl_error *err);

/*
 * Policy checks (.env, .gitignore) over a repository's index and work
 * tree: dotenv-committed (tracked), dotenv-not-ignored (untracked, not
 * ignored) and gitignore-missing-dotenv (a directory that uses environment
 * files where a .env would not be ignored). Ignoring is decided by
 * libgit2. A path that is not inside a git work tree has nothing to check:
 * returns 0 and adds nothing. Paths are relative to path, like kl_src_worktree.
 */
int kl_policy_worktree(const char *path, const kl_scan_opts *o, kl_report *r,
		       kl_error *err);

/* An environment file: basename .env, .env.<anything> or .envrc (any
 * directory, ASCII case ignored), and not a template. */
bool kl_policy_is_env_file(const char *path);
/* An environment file the config's "allow_env_files" lets git track: no
 * policy finding (its content is still scanned for secrets). */
bool kl_policy_env_allowed(const kl_scan_opts *o, const char *path);
/* A template: .env.example, .env.sample, .env.template, .env.dist,
 * .env.defaults (also as a later part: .env.local.example). */
bool kl_policy_is_env_template(const char *path);
/* Add a finding of the policy rule rule_id at path, with a formatted
 * message; NULL (nothing added) when the rule is not in r->rules, e.g.
 * disabled by the config. Git-typed helpers are in src/policy/policy.h. */
kl_finding *kl_policy_add(kl_report *r, const char *rule_id, const char *path,
			  const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Progress line on stderr: "label: done/total, MB/s, ETA". */
typedef struct kl_progress kl_progress;
kl_progress *kl_progress_new(const char *label, uint64_t total, bool enabled);
void kl_progress_tick(kl_progress *p, uint64_t done, uint64_t bytes);
bool kl_progress_shown(const kl_progress *p); /* enabled, on a terminal */
void kl_progress_free(kl_progress *p); /* clears the line */

/* Files compiled into the binary at build time (src/build/embed_files.c). */
typedef struct kl_embedded_file {
	const char *name;
	const char *data;
	size_t len;
} kl_embedded_file;

extern const kl_embedded_file kl_embedded_rules[];
extern const size_t kl_embedded_rules_count;
/* Whether code is one of a verifier's n statuses (src/rules/rules.c: the
 * loader refuses a status both live and revoked; verify.c classifies). */
bool kl_verify_has_status(const int *codes, size_t n, long code);

/* hooks/pre-commit, pre-push and pre-receive (named by their base names),
 * for `keyleak install-hook`. */
extern const kl_embedded_file kl_embedded_hook[];
extern const size_t kl_embedded_hook_count;

/* report.css and report.js, which the HTML report inlines. */
extern const kl_embedded_file kl_embedded_html[];
extern const size_t kl_embedded_html_count;

#endif
