/*
 * The archive stage (src/archive/archive.c): recognises archives and
 * compressed files by their first bytes and hands each regular member to a
 * callback with its path inside the archive, through libarchive, within
 * limits on members, uncompressed bytes and compression ratio. Knows
 * nothing of rules or findings.
 */
#ifndef KL_ARCHIVE_H
#define KL_ARCHIVE_H

#include "keyleak.h"

#define KL_ARCHIVE_DEPTH 4
#define KL_ARCHIVE_MEMBERS 100000
#define KL_ARCHIVE_BYTES ((uint64_t)1 << 30)
#define KL_ARCHIVE_RATIO 200

typedef struct kl_archive_limits {
	size_t members;      /* members per archive */
	uint64_t *budget;    /* uncompressed bytes left (shared by nested
			      * archives); decremented */
	unsigned ratio;      /* uncompressed : compressed bytes */
	size_t member_max;   /* a larger member is skipped; 0 = no limit */
} kl_archive_limits;

/* Whether data starts like an archive or a compressed file keyleak opens
 * (zip and its kin, tar, gzip, bzip2, xz, zstd, 7z, rar). */
bool kl_archive_sniff(const char *data, size_t len);

/* A member: its path (leading "/" and "./" removed) and bytes. */
typedef void (*kl_archive_member_fn)(void *ctx, const char *name,
				     const char *data, size_t len);
/* Something not read: a member (name) or the whole archive (name NULL);
 * incomplete says a key may have gone unseen. */
typedef void (*kl_archive_note_fn)(void *ctx, const char *name,
				   bool incomplete, const char *why);

/*
 * Read the archive in data, calling member for each regular file and note
 * for what could not be read (encrypted or oversized members, corruption,
 * a limit). path is the archive's own name: a compressed single file
 * ("dump.sql.gz") yields one member named after it ("dump.sql").
 */
void kl_archive_each(const char *data, size_t len, const char *path,
		     const kl_archive_limits *lim, kl_archive_member_fn member,
		     kl_archive_note_fn note, void *ctx);

#endif
