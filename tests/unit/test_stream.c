/*
 * Unit tests for the piecewise reader (src/findings/stream.c) with small
 * pieces: a key at every offset around each window boundary, at offset 0
 * and ending on the last byte, look-behinds across a boundary, UTF-16, and
 * a file that grew or shrank after it was opened, base64-encoded keys.
 * Each case compares with the whole-buffer scan of the same bytes.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "unit.h"

#define PIECE 20000 /* bytes; at least 4 overlaps of groq's rule alone */

static kl_ruleset *rs;
static size_t overlap;
static kl_scan_opts opts;
static char tmpl[] = "/tmp/keyleak-stream-XXXXXX";
static int fd = -1;

static void setup(void)
{
	kl_error err = { 0 };

	/* One short-window rule keeps pieces small: the built-in set's
	 * private key blocks would make a piece four times 70 KB. */
	rs = kl_ruleset_new();
	if (kl_ruleset_add_path(rs, "rules/groq.json", &err) ||
	    kl_ruleset_compile(rs, &err)) {
		printf("not ok - rules/groq.json: %s\n", err.message);
		exit(1);
	}
	overlap = kl_stream_overlap(rs);
	opts.rules = rs;
	opts.threads = 1;
	fd = mkstemp(tmpl);
	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	unlink(tmpl);
}

static char *key(const char *id, uint64_t seed)
{
	const kl_rule *r = kl_ruleset_find(rs, id);

	return kl_template_expand(r->examples.items[0], &seed);
}

/* Text lines of filler with a multi-byte character, so columns (code
 * points) and bytes differ. */
static char *filler_lines(size_t len, bool newlines)
{
	static const char line[] = "lorem ipsum \xc3\xa9 dolor sit amet\n";
	char *d = kl_xcalloc(len + 1, 1);
	size_t i;

	for (i = 0; i < len; i++)
		d[i] = line[i % (sizeof(line) - 1)];
	for (i = 0; !newlines && i < len; i++)
		if (d[i] == '\n')
			d[i] = ' ';
	return d;
}

static char *filler(size_t len)
{
	return filler_lines(len, true);
}

static void put_file(const char *d, size_t len)
{
	if (ftruncate(fd, 0) != 0 || pwrite(fd, d, len, 0) != (ssize_t)len) {
		perror("write");
		exit(1);
	}
	lseek(fd, 0, SEEK_SET);
}

/* Scan d in pieces (file size claimed: size) into r. */
static int scan_pieces(const char *d, size_t len, int64_t size, kl_report *r)
{
	kl_scanner *sc = kl_scanner_new(rs);
	kl_buf buf = KL_BUF_INIT;
	int rc;

	put_file(d, len);
	kl_report_init(r, "scan", "t", rs);
	rc = kl_scan_fd(sc, &opts, r, "f", fd, size, &buf);
	kl_buf_free(&buf);
	kl_scanner_free(sc);
	return rc;
}

static void scan_whole(const char *d, size_t len, kl_report *r)
{
	kl_scanner *sc = kl_scanner_new(rs);

	kl_report_init(r, "scan", "t", rs);
	kl_scan_content(sc, &opts, r, "f", d, len);
	kl_scanner_free(sc);
}

/* Same findings (secret, line, columns) and byte count in both. */
static bool same(const kl_report *a, const kl_report *b, char *why,
		 size_t n)
{
	size_t i;

	if (a->findings.len != b->findings.len) {
		snprintf(why, n, "%zu findings, whole scan %zu",
			 a->findings.len, b->findings.len);
		return false;
	}
	for (i = 0; i < a->findings.len; i++) {
		const kl_finding *x = &a->findings.items[i];
		const kl_finding *y = &b->findings.items[i];

		if (strcmp(x->secret, y->secret) || x->line != y->line ||
		    x->column != y->column || x->end_column != y->end_column) {
			snprintf(why, n, "finding %zu at %zu:%zu, whole scan "
				 "%zu:%zu", i, x->line, x->column, y->line,
				 y->column);
			return false;
		}
	}
	if (a->summary.bytes_scanned != b->summary.bytes_scanned) {
		snprintf(why, n, "%llu bytes, whole scan %llu",
			 (unsigned long long)a->summary.bytes_scanned,
			 (unsigned long long)b->summary.bytes_scanned);
		return false;
	}
	return true;
}

/* Plant k at off (before: the byte before it) and compare both scans. */
static bool case_at(char *d, size_t len, const char *k, size_t off,
		    char before, size_t want, char *why, size_t n)
{
	size_t kl = strlen(k);
	kl_report a, b;
	bool ok;
	char *c = kl_xmalloc(len);

	memcpy(c, d, len);
	memcpy(c + off, k, kl);
	if (off)
		c[off - 1] = before;
	if (off + kl < len)
		c[off + kl] = ' ';
	ok = scan_pieces(c, len, (int64_t)len, &a) == 0;
	scan_whole(c, len, &b);
	if (!ok)
		snprintf(why, n, "read error");
	else if ((ok = same(&a, &b, why, n)) && a.findings.len != want) {
		snprintf(why, n, "%zu findings, want %zu", a.findings.len, want);
		ok = false;
	}
	kl_report_free(&a);
	kl_report_free(&b);
	free(c);
	return ok;
}

/*
 * Plant k (alone on its spot, one finding wanted) at every step-th offset
 * from just before to just after each place where windows end, own and
 * begin; compare each case with the whole-file scan. Returns how many
 * failed (the first is printed), and counts the cases in *cases.
 */
static size_t sweep_edges(char *d, size_t len, const char *k, size_t step,
			  size_t *cases)
{
	size_t kl = strlen(k), fails = 0, b, off;
	char why[200] = "";
	/* Window 0 owns matches up to OVERLAP before its end; window 1 starts
	 * LEAD before that and ends one piece later. */
	size_t own_end = PIECE - overlap, next = own_end - KL_STREAM_LEAD;
	size_t edges[] = { PIECE, own_end, next, next + PIECE,
			   next + own_end, 2 * next + KL_STREAM_LEAD };

	*cases = 0;
	for (b = 0; b < sizeof(edges) / sizeof(edges[0]); b++) {
		for (off = edges[b] - kl - 3; off <= edges[b] + 3; off += step) {
			(*cases)++;
			if (!case_at(d, len, k, off, ' ', 1, why, sizeof(why)) &&
			    fails++ == 0)
				printf("# planted at %zu: %s\n", off, why);
		}
	}
	return fails;
}

/* A key at every offset near where windows end, own and begin; on short
 * lines, and on one line as long as the file (columns carried over). */
static void sweep(bool newlines)
{
	size_t len = 5 * PIECE + 777, fails, cases, off;
	char *d = filler_lines(len, newlines), *k = key("groq-api-key", 7);
	size_t kl = strlen(k), own_end = PIECE - overlap;
	char why[200] = "";

	kl_stream_set_chunk(PIECE);
	fails = sweep_edges(d, len, k, 1, &cases);
	CHECK(fails == 0, "%s: a key across each window boundary is found "
	      "once, at the whole-file line and column (%zu of %zu cases "
	      "failed)", newlines ? "short lines" : "one long line", fails,
	      cases);
	CHECK(case_at(d, len, k, 0, ' ', 1, why, sizeof(why)),
	      "a key at offset 0 of a long file (%s)", why);
	CHECK(case_at(d, len, k, len - kl, ' ', 1, why, sizeof(why)),
	      "a key ending on the last byte of a long file (%s)", why);
	/* The groq rule refuses a key glued to a letter before it: that
	 * letter is the last byte before the next window's owned part. */
	fails = 0;
	for (off = own_end - 3; off <= own_end + 3; off++)
		if (!case_at(d, len, k, off, 'x', 0, why, sizeof(why)) &&
		    fails++ == 0)
			printf("# glued key at %zu: %s\n", off, why);
	CHECK(fails == 0, "look-behinds see the bytes before a window");
	kl_stream_set_chunk(0);
	free(k);
	free(d);
}

static void test_boundaries(void)
{
	sweep(true);
	sweep(false);
}

static char *base64(const char *s)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), i, o = 0;
	char *out = kl_xcalloc(4 * (n / 3 + 1) + 1, 1);

	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)(unsigned char)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = abc[v >> 18 & 63];
		out[o++] = abc[v >> 12 & 63];
		out[o++] = i + 1 < n ? abc[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? abc[v & 63] : '=';
	}
	return out;
}

/* A base64-encoded key at every offset near where windows end, own and
 * begin: decoded in the window that owns its first byte, found once, at
 * the whole-file line and column; one such key in the last window too. */
static void test_decoded(void)
{
	size_t len = 5 * PIECE + 777, fails, cases;
	char *d = filler(len), *k = key("groq-api-key", 9), *e = base64(k);
	size_t el = strlen(e);
	char why[200] = "";

	kl_stream_set_chunk(PIECE);
	fails = sweep_edges(d, len, e, 2, &cases);
	CHECK(fails == 0, "a base64-encoded key across each window boundary "
	      "is decoded and found once, where the whole-file scan puts it "
	      "(%zu of %zu cases failed)", fails, cases);
	CHECK(case_at(d, len, e, len - el - 1, ' ', 1, why, sizeof(why)),
	      "a base64-encoded key in the last window (%s)", why);
	kl_stream_set_chunk(0);
	free(e);
	free(k);
	free(d);
}

static void test_many_keys(void)
{
	size_t len = 7 * PIECE, off, kl, planted = 0;
	char *d = filler(len), *k = key("groq-api-key", 11), why[200] = "";
	kl_report a, b;

	kl = strlen(k);
	/* A key every 997 bytes: some land on every kind of boundary. */
	for (off = 1; off + kl + 1 < len; off += 997, planted++) {
		free(k);
		k = key("groq-api-key", 100 + planted);
		d[off - 1] = '\n';
		memcpy(d + off, k, kl);
		d[off + kl] = '\n';
	}
	kl_stream_set_chunk(PIECE);
	CHECK(scan_pieces(d, len, (int64_t)len, &a) == 0, "many keys read");
	scan_whole(d, len, &b);
	CHECK(same(&a, &b, why, sizeof(why)) && a.findings.len == planted,
	      "%zu keys 997 bytes apart: as in a whole scan (%s; %zu found)",
	      planted, why, a.findings.len);
	kl_report_free(&a);
	kl_report_free(&b);
	kl_stream_set_chunk(0);
	free(k);
	free(d);
}

static void test_utf16(void)
{
	size_t len = 4 * PIECE, i, off = PIECE - 30;
	char *d = filler(len), *k = key("groq-api-key", 13), *u;
	kl_report a, b;
	kl_buf utf8 = KL_BUF_INIT;
	char why[200] = "";

	for (i = 0; i < len; i++)
		if ((unsigned char)d[i] >= 0x80)
			d[i] = 'e'; /* ASCII, so UTF-16 is one unit each */
	memcpy(d + off, k, strlen(k));
	d[off - 1] = d[off + strlen(k)] = ' ';
	u = kl_xmalloc(2 * len + 2);
	u[0] = (char)0xFF;
	u[1] = (char)0xFE;
	for (i = 0; i < len; i++) {
		u[2 + 2 * i] = d[i];
		u[3 + 2 * i] = 0;
	}
	kl_stream_set_chunk(PIECE);
	scan_pieces(u, 2 * len + 2, (int64_t)(2 * len + 2), &a);
	kl_content_utf16_to_utf8(u, 2 * len + 2, &utf8);
	scan_whole(utf8.data, utf8.len, &b);
	CHECK(same(&a, &b, why, sizeof(why)) && a.findings.len == 1,
	      "UTF-16 over many pieces: the key across a boundary (%s)", why);
	kl_report_free(&a);
	kl_report_free(&b);
	kl_stream_set_chunk(0);
	kl_buf_free(&utf8);
	free(u);
	free(k);
	free(d);
}

static bool has_notice(const kl_report *r, const char *what)
{
	size_t i;

	for (i = 0; i < r->n_notices; i++)
		if (strstr(r->notices[i].message, what))
			return true;
	return false;
}

/* size is the file's size when it was opened; the file then changed. */
static void test_grow_shrink(void)
{
	size_t len = 3 * PIECE, off = 2 * PIECE + 500;
	char *d = filler(len), *k = key("groq-api-key", 17);
	kl_report r;
	int rc;

	memcpy(d + off, k, strlen(k));
	d[off - 1] = d[off + strlen(k)] = ' ';
	kl_stream_set_chunk(PIECE);
	rc = scan_pieces(d, len, (int64_t)off + 10, &r);
	CHECK(rc == 0 && has_notice(&r, "grew while being read") &&
	      r.summary.bytes_scanned == off + 10 && r.findings.len == 0,
	      "a file that grew: the bytes it had are scanned, with a warning");
	kl_report_free(&r);
	rc = scan_pieces(d, len, (int64_t)len + 5000, &r);
	CHECK(rc == 0 && has_notice(&r, "shrank while being read") &&
	      r.summary.bytes_scanned == len && r.findings.len == 1,
	      "a file that shrank: what is left is scanned, with a warning");
	kl_report_free(&r);
	rc = scan_pieces(d, 100, 50, &r);
	CHECK(rc == 0 && has_notice(&r, "grew while being read"),
	      "a short file that grew: warned too");
	kl_report_free(&r);
	rc = scan_pieces(d, len, (int64_t)len, &r);
	CHECK(rc == 0 && r.n_notices == 0 && r.findings.len == 1,
	      "an unchanged file: no warning");
	kl_report_free(&r);
	kl_stream_set_chunk(0);
	free(k);
	free(d);
}

static void test_stream_limit(void)
{
	size_t len = 3 * PIECE;
	char *d = filler(len);
	kl_report r;

	kl_stream_set_chunk(PIECE);
	opts.max_file_size = PIECE + 1000;
	scan_pieces(d, len, -1, &r);
	CHECK(r.summary.skipped_too_large == 1 &&
	      has_notice(&r, "over --max-file-size"),
	      "a stream longer than --max-file-size is said to be cut short");
	kl_report_free(&r);
	opts.max_file_size = 0;
	kl_stream_set_chunk(0);
	free(d);
}

int main(void)
{
	setup();
	test_boundaries();
	test_decoded();
	test_many_keys();
	test_utf16();
	test_grow_shrink();
	test_stream_limit();
	close(fd);
	kl_ruleset_free(rs);
	return UNIT_DONE();
}
