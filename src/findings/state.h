/*
 * Incremental audits (`audit --state-dir`): per repository, the blobs a
 * previous run scanned and found clean, keyed by everything that decides
 * a blob's findings (ruleset, config, size limit, keyleak's version).
 */
#ifndef KL_FINDINGS_STATE_H
#define KL_FINDINGS_STATE_H

#include "internal.h"

#define KL_MEMO_IDLEN 20 /* a SHA-1 object id */

typedef enum kl_memo_mark {
	KL_MEMO_DIRTY = 0, /* scanned, and it had findings or notices */
	KL_MEMO_CLEAN = 1, /* scanned clean this run */
	KL_MEMO_KNOWN = 2  /* clean in an earlier run: not scanned again */
} kl_memo_mark;

typedef struct kl_memo {
	char key[65];
	unsigned char *known;  /* sorted ids, clean in the last run */
	size_t n_known;
	unsigned char *ids;    /* this run's blobs, by item */
	unsigned char *marks;  /* kl_memo_mark, by item */
	size_t n;
	char *status;          /* "new", "used", or "invalidated: why" */
} kl_memo;

/* Hex hash of what decides a blob's findings; cfg is the config file's
 * bytes (NULL when none applies). */
void kl_state_key(const kl_ruleset *rs, size_t max_file_size, bool verbose,
		  const char *cfg, size_t cfg_len, char out[65]);

/*
 * Load the state at path for key. A missing file starts empty ("new"); a
 * state made under another key, or unreadable, is dropped
 * ("invalidated: ..."): a full scan follows, never a wrong one.
 */
void kl_memo_load(kl_memo *m, const char *path, const char key[65]);
void kl_memo_free(kl_memo *m);

/* Was this blob clean in the last run? */
bool kl_memo_known(const kl_memo *m, const unsigned char id[KL_MEMO_IDLEN]);
/* A scan of n blobs starts: items are marked from any thread, each slot
 * by the worker that owns the item. */
void kl_memo_begin(kl_memo *m, size_t n);
void kl_memo_mark_item(kl_memo *m, size_t item,
		       const unsigned char id[KL_MEMO_IDLEN], kl_memo_mark mk);
/* What a worker's report held before a blob's scan: the blob is clean
 * when the scan added no finding, notice, suppression or limit hit. */
typedef struct kl_memo_snapshot {
	size_t findings, notices;
	uint64_t suppressed, limit_hits, unreadable, too_large;
} kl_memo_snapshot;

void kl_memo_snap(kl_memo_snapshot *s, const kl_report *r);
kl_memo_mark kl_memo_snap_clean(const kl_memo_snapshot *s, const kl_report *r);

/* Blobs of this run taken from the state instead of scanned. */
size_t kl_memo_carried(const kl_memo *m);
/* False when this run saw exactly the blobs the state holds, all clean:
 * saving would write the same file again. */
bool kl_memo_changed(const kl_memo *m);
/* Write this run's clean blobs to path (atomically). */
int kl_memo_save(const kl_memo *m, const char *path, kl_error *err);

/*
 * A repository's last JSON Lines block, under the signature of what it
 * was made from (kl_repo_signature). load returns 0 and fills block when
 * the file at path exists and sig matches, else -1.
 */
int kl_state_last_load(const char *path, const char sig[65], kl_buf *block);
int kl_state_last_save(const char *path, const char sig[65],
		       const kl_buf *block, kl_error *err);

#endif
