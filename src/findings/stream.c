/*
 * Owns scanning content of any size in bounded memory. Content that fits
 * in one piece is scanned whole (kl_scan_content). Longer content is read
 * into a window of one piece; each window is scanned, and keeps only the
 * matches that start in the part it owns; the window then slides, keeping
 * its tail so that every match starting in the next owned part lies wholly
 * inside the next window:
 *
 *   window  |LEAD| owned ......................... |   OVERLAP   |
 *   next                                    |LEAD| owned ...
 *
 * OVERLAP is longer than any match (the rules' longest window); LEAD gives the
 * rules' look-behinds the bytes before an owned match. Lines and columns
 * are carried from window to window, so findings read as in a whole-file
 * scan. UTF-16 content is transcoded piece by piece into the window.
 * Encoded runs are decoded by the window where they start, with the
 * file's decoding budget (kl_scan_decoded_part).
 */
#include <errno.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

#include "archive/archive.h"
#include "decode/decode.h"
#include "internal.h"

#define DEFAULT_CHUNK ((size_t)8 << 20)
#define LEAD KL_STREAM_LEAD
#define SNIFF 8192

static size_t chunk_size = DEFAULT_CHUNK;

void kl_stream_set_chunk(size_t bytes)
{
	chunk_size = bytes ? bytes : DEFAULT_CHUNK;
}

size_t kl_stream_overlap(const kl_ruleset *rs)
{
	size_t w = kl_ruleset_max_window(rs);

	return (w > KL_MATCH_WINDOW ? w : KL_MATCH_WINDOW) + 2 * LEAD;
}

typedef struct stream {
	kl_scanner *sc;
	const kl_scan_opts *o;
	kl_report *r;
	const char *path;
	int fd;
	int64_t size;      /* bytes at open, or -1 for a stream */
	size_t chunk;      /* bytes a window holds: at least 4 overlaps */
	size_t overlap;    /* see the picture above */
	uint64_t raw_read; /* bytes read from fd */
	bool eof;          /* fd has nothing more for us */
	bool over_limit;   /* a stream passed --max-file-size */
	int utf16;         /* 0, or the byte order (1 LE, 2 BE) */
	kl_buf raw;        /* UTF-16: bytes read, not yet decoded */
	kl_buf *win;       /* the text window */
	size_t own_from;   /* window offset where owned matches begin */
	uint64_t lines;    /* newlines before the window */
	uint64_t cols;     /* code points from the last of them to the window */
	uint64_t text;     /* text bytes passed through windows so far */
	kl_strlist limits;
	kl_decode_stats decoded; /* what decoding spent over the file */
} stream;

/* ------------------------------------------------------------ reading */

static void said_changed(stream *s, const char *how)
{
	kl_report_notice(s->r, KL_NOTICE_WARNING, s->path,
			 "file %s while being read (%lld bytes when opened); "
			 "scanned the %llu bytes read", how,
			 (long long)s->size, (unsigned long long)s->raw_read);
}

/* At the size the file had when opened: one more byte means it grew. */
static int probe_growth(stream *s)
{
	char c;
	ssize_t n;

	do
		n = read(s->fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n > 0)
		said_changed(s, "grew");
	return 0;
}

/* Read up to room bytes into dst; sets eof. -1 on a read error. */
static ssize_t read_some(stream *s, char *dst, size_t room)
{
	ssize_t n;

	if (s->size >= 0 && (uint64_t)s->size - s->raw_read < room)
		room = (size_t)((uint64_t)s->size - s->raw_read);
	if (room == 0) {
		s->eof = true;
		return s->size >= 0 && probe_growth(s) < 0 ? -1 : 0;
	}
	do
		n = read(s->fd, dst, room);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	if (n == 0) {
		s->eof = true;
		if (s->size >= 0)
			said_changed(s, "shrank");
	}
	s->raw_read += (uint64_t)n;
	if (s->size >= 0 && s->raw_read == (uint64_t)s->size) {
		s->eof = true;
		if (probe_growth(s) < 0)
			return -1;
	}
	/* A stream has no size to check up front. */
	if (s->size < 0 && s->o->max_file_size &&
	    s->raw_read > s->o->max_file_size) {
		s->eof = s->over_limit = true;
	}
	return n;
}

/* Fill the window up to one piece. -1 on a read error. */
static int fill(stream *s)
{
	kl_buf *w = s->win;
	ssize_t n;

	if (w->len < s->chunk)
		kl_buf_grow(w, s->chunk - w->len + 8);
	while (w->len < s->chunk && (!s->eof || s->raw.len)) {
		size_t room = s->chunk - w->len;

		if (!s->utf16) {
			n = read_some(s, w->data + w->len, room);
			if (n < 0)
				return -1;
			w->len += (size_t)n;
			continue;
		}
		/* UTF-16 becomes at most 3/2 as long in UTF-8. */
		room = room / 3 * 2 & ~(size_t)1;
		if (room < 4)
			break;
		if (!s->eof && s->raw.len < room) {
			kl_buf_grow(&s->raw, room - s->raw.len);
			n = read_some(s, s->raw.data + s->raw.len,
				      room - s->raw.len);
			if (n < 0)
				return -1;
			s->raw.len += (size_t)n;
		}
		n = (ssize_t)kl_content_utf16_decode(s->raw.data, s->raw.len,
						     s->utf16, s->eof, w);
		memmove(s->raw.data, s->raw.data + n, s->raw.len - (size_t)n);
		s->raw.len -= (size_t)n;
	}
	if (w->data)
		w->data[w->len] = '\0';
	return 0;
}

/* ----------------------------------------------------------- scanning */

static bool is_cont(unsigned char c)
{
	return (c & 0xC0) == 0x80;
}

/* Newlines in d: every byte of a long file passes here once. Byte-wise
 * counters (each compare adds 0 or 1 by subtracting its all-ones mask)
 * summed every 255 steps with psadbw: SSE2 only, no popcnt instruction,
 * which the baseline x86-64 target lacks and emulates slowly. */
static uint64_t count_newlines(const char *d, size_t n)
{
	uint64_t c = 0;
	size_t i = 0;
#ifdef __SSE2__
	const __m128i nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();

	while (i + 16 <= n) {
		__m128i acc = zero, sums;
		int steps;

		for (steps = 0; steps < 255 && i + 16 <= n; steps++, i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(d + i));

			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(v, nl));
		}
		sums = _mm_sad_epu8(acc, zero);
		c += (uint64_t)_mm_cvtsi128_si64(sums) +
		     (uint64_t)_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums));
	}
#endif
	for (; i < n; i++)
		c += d[i] == '\n';
	return c;
}

/* Carry line and column over the text that leaves the window. */
static void advance(stream *s, const char *d, size_t n)
{
	const char *last = memrchr(d, '\n', n);
	size_t i, from = 0;

	if (last) {
		s->lines += count_newlines(d, (size_t)(last - d) + 1);
		s->cols = 0;
		from = (size_t)(last - d) + 1;
	}
	for (i = from; i < n; i++)
		s->cols += !is_cont((unsigned char)d[i]);
}

/* Scan the window; keep the matches that start in [own_from, own_end),
 * and the decoded spans whose encoded bytes start there. */
static void scan_window(stream *s, size_t own_end)
{
	kl_text_part part;
	kl_matches m = { 0 };
	size_t i, kept = 0;

	kl_scan_buffer(s->sc, s->win->data, s->win->len, &m, &s->limits);
	for (i = 0; i < m.len; i++) {
		kl_match x = m.items[i];

		if (x.at < s->own_from || x.at >= own_end)
			continue;
		if (x.line == 1) {
			x.column += s->cols;
			x.end_column += s->cols;
		}
		x.line += s->lines;
		m.items[kept++] = x;
	}
	m.len = kept;
	kl_add_matches(s->r, s->path, s->win->data, &m);
	kl_matches_free(&m);
	part.own_from = s->own_from;
	part.own_to = own_end;
	part.lines = (size_t)s->lines;
	part.cols = (size_t)s->cols;
	part.spent = &s->decoded;
	part.limits = &s->limits;
	kl_scan_decoded_part(s->sc, s->o, s->r, s->path, s->win->data,
			     s->win->len, &part);
}

static int scan_pieces(stream *s)
{
	kl_buf *w = s->win;

	for (;;) {
		bool last = s->eof && s->raw.len == 0;
		size_t own_end = last ? w->len : w->len - s->overlap;
		size_t next = own_end - LEAD;

		scan_window(s, own_end);
		if (last) {
			s->text += w->len;
			return 0;
		}
		advance(s, w->data, next);
		s->text += next;
		memmove(w->data, w->data + next, w->len - next);
		w->len -= next;
		s->own_from = LEAD;
		if (fill(s) < 0)
			return -1;
	}
}

/* The first window did not hold it all: decide how to read the rest. */
static int scan_long(stream *s)
{
	kl_report *r = s->r;
	size_t bom;

	s->utf16 = kl_content_utf16_order(s->win->data, s->win->len, &bom);
	if (s->utf16) {
		kl_buf_add(&s->raw, s->win->data + bom, s->win->len - bom);
		kl_buf_reset(s->win);
		if (fill(s) < 0)
			return -1;
	} else if (kl_content_is_binary(s->win->data, s->win->len)) {
		r->summary.skipped_binary++;
		if (s->o->verbose)
			kl_report_notice(r, KL_NOTICE_SKIPPED, s->path, "binary");
		return 0;
	}
	r->summary.files_scanned++;
	if (scan_pieces(s) < 0)
		return -1;
	r->summary.bytes_scanned += s->text;
	kl_note_limits(r, s->path, &s->limits);
	kl_note_decode(r, s->path, &s->decoded, &s->o->unpack);
	if (s->over_limit)
		kl_skip_too_large(s->o, r, s->path, s->raw_read);
	return 0;
}

/* An archive longer than a piece: read whole (within --max-file-size),
 * then through the archive stage. */
static int scan_whole(stream *s)
{
	size_t max = s->o->max_file_size;

	if (kl_read_fd(s->fd, s->win, 0, max ? max : 0) < 0) {
		if (errno != EFBIG)
			return -1;
		kl_skip_too_large(s->o, s->r, s->path, s->win->len);
		return 0;
	}
	kl_scan_content(s->sc, s->o, s->r, s->path, s->win->data,
			s->win->len);
	return 0;
}

int kl_scan_fd(kl_scanner *sc, const kl_scan_opts *o, kl_report *r,
	       const char *path, int fd, int64_t size, kl_buf *buf)
{
	stream s;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	s.sc = sc;
	s.o = o;
	s.r = r;
	s.path = path;
	s.fd = fd;
	s.size = size;
	s.overlap = kl_stream_overlap(kl_scanner_ruleset(sc));
	s.chunk = chunk_size > 4 * s.overlap ? chunk_size : 4 * s.overlap;
	s.win = buf;
	kl_buf_reset(buf);
	if (fill(&s) < 0)
		rc = -1;
	else if (s.eof && !s.over_limit)
		kl_scan_content(sc, o, r, path, buf->data, buf->len);
	else if (!s.utf16 && !o->unpack.no_archives && !s.over_limit &&
		 kl_archive_sniff(buf->data, buf->len))
		rc = scan_whole(&s); /* libarchive reads it from memory */
	else
		rc = scan_long(&s);
	kl_strlist_free(&s.limits);
	kl_buf_free(&s.raw);
	return rc;
}
