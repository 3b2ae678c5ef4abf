/*
 * Owns reading archives and compressed files (libarchive, from memory): the
 * formats and filters opened (only built-in ones: libarchive never runs an
 * external program here), member names made safe to show, and the limits
 * that stop a hostile archive: members, uncompressed bytes, compression
 * ratio, member size. Nothing is ever written to disk.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#include "archive/archive.h"

/* The ratio is judged only past this much output: small files compress
 * well without being bombs. */
#define RATIO_FLOOR ((uint64_t)16 << 20)
#define READ_BLOCK 65536

bool kl_archive_sniff(const char *data, size_t len)
{
	const unsigned char *d = (const unsigned char *)data;

	if (len < 6)
		return false;
	if (d[0] == 'P' && d[1] == 'K' &&
	    ((d[2] == 3 && d[3] == 4) || (d[2] == 5 && d[3] == 6)))
		return true;                             /* zip, jar, docx */
	if (d[0] == 0x1f && d[1] == 0x8b)
		return true;                             /* gzip */
	if (d[0] == 'B' && d[1] == 'Z' && d[2] == 'h' && d[3] >= '1' &&
	    d[3] <= '9')
		return true;                             /* bzip2 */
	if (memcmp(d, "\xfd" "7zXZ\0", 6) == 0)
		return true;                             /* xz */
	if (memcmp(d, "\x28\xb5\x2f\xfd", 4) == 0)
		return true;                             /* zstd */
	if (memcmp(d, "7z\xbc\xaf\x27\x1c", 6) == 0)
		return true;                             /* 7z */
	if (memcmp(d, "Rar!\x1a\x07", 6) == 0)
		return true;                             /* rar */
	return len >= 262 && memcmp(d + 257, "ustar", 5) == 0; /* tar */
}

/* "dump.sql.gz" -> "dump.sql": the one member of a compressed file. */
static char *single_name(const char *path)
{
	static const char *const sfx[] = { ".gz", ".tgz", ".bz2", ".xz",
					   ".zst", ".zstd", ".z", NULL };
	const char *base = strrchr(path, '/');
	size_t n, k, i;

	base = base ? base + 1 : path;
	n = strlen(base);
	for (i = 0; sfx[i]; i++) {
		k = strlen(sfx[i]);
		if (n > k && strcasecmp(base + n - k, sfx[i]) == 0)
			return kl_xstrndup(base, n - k);
	}
	return kl_xstrdup(n ? base : "data");
}

/* Leading "/" and "./" dropped; whether a ".." part remains. */
static const char *clean_name(const char *name, bool *escapes)
{
	const char *p;

	for (;;) {
		if (name[0] == '/')
			name++;
		else if (name[0] == '.' && name[1] == '/')
			name += 2;
		else
			break;
	}
	*escapes = false;
	for (p = name; (p = strstr(p, "..")) != NULL; p += 2)
		if ((p == name || p[-1] == '/') && (p[2] == '/' || !p[2]))
			*escapes = true;
	return name;
}

static struct archive *new_reader(void)
{
	struct archive *a = archive_read_new();

	if (!a)
		return NULL;
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_compress(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_7zip(a);
	archive_read_support_format_rar(a);
	archive_read_support_format_rar5(a);
	archive_read_support_format_cpio(a);
	archive_read_support_format_raw(a);
	return a;
}

typedef struct reader {
	struct archive *a;
	size_t len;           /* compressed size */
	uint64_t out;         /* uncompressed bytes read so far */
	const kl_archive_limits *lim;
	kl_archive_note_fn note;
	void *ctx;
	bool stop;
} reader;

/* Read the current member into buf. false: not (wholly) read. */
static bool read_member(reader *rd, const char *name, kl_buf *buf)
{
	char block[READ_BLOCK];
	la_ssize_t n;

	kl_buf_reset(buf);
	while ((n = archive_read_data(rd->a, block, sizeof(block))) > 0) {
		rd->out += (uint64_t)n;
		if (*rd->lim->budget < (uint64_t)n) {
			rd->note(rd->ctx, NULL, true, "uncompressed bytes over "
				 "the archive limit (--max-archive-bytes): "
				 "the rest not read");
			rd->stop = true;
			return false;
		}
		*rd->lim->budget -= (uint64_t)n;
		if (rd->out > RATIO_FLOOR &&
		    rd->out / (rd->len ? rd->len : 1) > rd->lim->ratio) {
			kl_buf b = KL_BUF_INIT;

			kl_buf_printf(&b, "compression ratio over %u:1 (a zip "
				      "bomb?): the rest not read",
				      rd->lim->ratio);
			rd->note(rd->ctx, NULL, true, b.data);
			kl_buf_free(&b);
			rd->stop = true;
			return false;
		}
		if (rd->lim->member_max && buf->len + (size_t)n >
		    rd->lim->member_max) {
			rd->note(rd->ctx, name, true, "member over "
				 "--max-file-size: not read");
			return false;
		}
		kl_buf_add(buf, block, (size_t)n);
	}
	if (n < 0) {
		const char *why = archive_error_string(rd->a);

		rd->note(rd->ctx, name, true, why ? why : "cannot read");
		if (n == ARCHIVE_FATAL)
			rd->stop = true;
		return false;
	}
	if (!buf->data)
		kl_buf_grow(buf, 0);
	return true;
}

static void each_member(reader *rd, const char *path,
			kl_archive_member_fn member)
{
	struct archive_entry *e;
	kl_buf buf = KL_BUF_INIT;
	size_t count = 0;
	int rc;

	while (!rd->stop &&
	       ((rc = archive_read_next_header(rd->a, &e)) == ARCHIVE_OK ||
		rc == ARCHIVE_WARN)) {
		const char *raw = archive_entry_pathname(e), *name;
		char *single = NULL;
		bool escapes;

		if (++count > rd->lim->members) {
			rd->note(rd->ctx, NULL, true, "more members than "
				 "--max-archive-members: the rest not read");
			break;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		if (archive_format(rd->a) == ARCHIVE_FORMAT_RAW)
			raw = single = single_name(path);
		name = clean_name(raw ? raw : "", &escapes);
		if (escapes)
			rd->note(rd->ctx, name, false, "member name leads "
				 "outside the archive (\"..\")");
		if (archive_entry_is_encrypted(e))
			rd->note(rd->ctx, name, true, "encrypted: not read");
		else if (read_member(rd, name, &buf))
			member(rd->ctx, name, buf.data, buf.len);
		free(single);
	}
	if (!rd->stop && rc == ARCHIVE_FATAL) {
		const char *why = archive_error_string(rd->a);

		rd->note(rd->ctx, NULL, true, why ? why : "corrupt archive");
	}
	kl_buf_free(&buf);
}

void kl_archive_each(const char *data, size_t len, const char *path,
		     const kl_archive_limits *lim, kl_archive_member_fn member,
		     kl_archive_note_fn note, void *ctx)
{
	reader rd;

	memset(&rd, 0, sizeof(rd));
	rd.a = new_reader();
	rd.len = len;
	rd.lim = lim;
	rd.note = note;
	rd.ctx = ctx;
	if (!rd.a) {
		note(ctx, NULL, true, "cannot start libarchive");
		return;
	}
	if (archive_read_open_memory(rd.a, data, len) != ARCHIVE_OK) {
		const char *why = archive_error_string(rd.a);

		note(ctx, NULL, true, why ? why : "cannot open archive");
	} else {
		each_member(&rd, path, member);
	}
	archive_read_free(rd.a);
}
