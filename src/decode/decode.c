/*
 * Owns decoding: which runs of a buffer are worth decoding (long enough to
 * hold a key), the decoders themselves, the "mostly printable" test that
 * keeps images, hashes and random tokens out, nesting, and the limits one
 * blob may spend. A run is tried cheaply first (its first bytes decoded and
 * tested), so a notebook full of base64 images costs a few bytes per image.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "decode/decode.h"
#include "internal.h"

#define MIN_B64 20      /* base64 chars: 15 bytes, shorter than any key */
#define MIN_HEX 32      /* hex digits: 16 bytes */
#define MIN_TOKEN 16    /* bytes of a percent- or escape-encoded token */
#define MIN_ESCAPES 3
#define WRAP_MIN 40     /* a line of wrapped base64 is at least this long */
#define CONTEXT 256     /* bytes of the line kept before and after a span */
#define PROBE 18        /* bytes decoded before deciding to decode it all */
#define MAX_DEPTH 16

enum { K_B64 = 1, K_HEX = 2, K_TOKEN = 4, K_BRACE = 8 };
enum { C_B64, C_PERCENT, C_ESCAPE };

static const char *const names[] = { "base64", "percent", "escape" };
static const char *const hex_name = "hex";

static unsigned char cls[256];
static signed char b64val[256];
static signed char hexval[256];

static void fill_tables(void)
{
	int c;

	for (c = 0; c < 256; c++) {
		b64val[c] = hexval[c] = -1;
		cls[c] = 0;
	}
	for (c = 0; c < 26; c++) {
		b64val['A' + c] = (signed char)c;
		b64val['a' + c] = (signed char)(26 + c);
	}
	for (c = 0; c < 10; c++) {
		b64val['0' + c] = (signed char)(52 + c);
		hexval['0' + c] = (signed char)c;
	}
	for (c = 0; c < 6; c++) {
		hexval['a' + c] = hexval['A' + c] = (signed char)(10 + c);
	}
	b64val['+'] = b64val['-'] = 62;
	b64val['/'] = b64val['_'] = 63;
	for (c = 0; c < 256; c++) {
		if (c > ' ' && c != 0x7f && !strchr("\"'`<>,;()[]{}", c))
			cls[c] |= K_TOKEN;
		if (c == '{' || c == '}')
			cls[c] |= K_BRACE;
		if (b64val[c] >= 0)
			cls[c] |= K_B64;
		if (hexval[c] >= 0)
			cls[c] |= K_HEX;
	}
}

/* Threads scan at once: the tables are filled exactly once. */
static void init_tables(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, fill_tables);
}

static bool is_b64(unsigned char c)
{
	return cls[c] & K_B64;
}

static bool printable(unsigned char c)
{
	return (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' || c == '\t';
}

/* Text, not bytes: at most 1 in 20 bytes outside printable ASCII. */
static bool mostly_printable(const char *d, size_t n)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++)
		bad += !printable((unsigned char)d[i]);
	return n && bad * 20 <= n;
}

/* ------------------------------------------------------------ decoders */

/* Decode base64 chars of src (whitespace skipped, '=' only at the end),
 * at most max bytes (0: all). */
static bool b64_decode(const char *src, size_t len, size_t max, kl_buf *out)
{
	uint32_t acc = 0;
	size_t i, n = 0, pad = 0, produced = 0;

	init_tables();
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '\n' || c == '\r' || c == ' ' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || b64val[c] < 0)
			return false;
		acc = acc << 6 | (uint32_t)b64val[c];
		if (++n % 4 == 0) {
			char b[3] = { (char)(acc >> 16), (char)(acc >> 8),
				      (char)acc };

			kl_buf_add(out, b, 3);
			produced += 3;
			acc = 0;
			if (max && produced >= max)
				return true;
		}
	}
	if (pad > 2)
		return false;
	/* n % 4 == 1: a stray char (a run cut mid-token): dropped */
	if (n % 4 == 2) {
		kl_buf_addch(out, (char)(acc >> 4));
	} else if (n % 4 == 3) {
		kl_buf_addch(out, (char)(acc >> 10));
		kl_buf_addch(out, (char)(acc >> 2));
	}
	return n > 0;
}

bool kl_decode_base64(const char *src, size_t len, kl_buf *out)
{
	return b64_decode(src, len, 0, out);
}

bool kl_decode_hex(const char *src, size_t len, kl_buf *out)
{
	size_t i;

	init_tables();
	if (len % 2)
		return false;
	for (i = 0; i + 1 < len; i += 2) {
		int hi = hexval[(unsigned char)src[i]],
		    lo = hexval[(unsigned char)src[i + 1]];

		if (hi < 0 || lo < 0)
			return false;
		kl_buf_addch(out, (char)(hi << 4 | lo));
	}
	return len > 0;
}

static int hex2(const char *s)
{
	int hi = hexval[(unsigned char)s[0]], lo = hexval[(unsigned char)s[1]];

	return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

bool kl_decode_percent(const char *src, size_t len, kl_buf *out)
{
	size_t i, n = 0;
	int v;

	init_tables();
	for (i = 0; i < len; i++) {
		if (src[i] == '%' && i + 2 < len &&
		    (v = hex2(src + i + 1)) >= 0) {
			kl_buf_addch(out, (char)v);
			i += 2;
			n++;
		} else {
			kl_buf_addch(out, src[i]);
		}
	}
	return n > 0;
}

/* Hex digits at s (up to max, at least min): the value, or -1. */
static long hexn(const char *s, size_t avail, size_t min, size_t max,
		 size_t *used)
{
	long v = 0;
	size_t i;

	for (i = 0; i < max && i < avail && hexval[(unsigned char)s[i]] >= 0;
	     i++)
		v = v << 4 | hexval[(unsigned char)s[i]];
	*used = i;
	return i >= min ? v : -1;
}

/* One escape at s[0] == '\\': its length, the code point in *cp (a byte
 * for \x), or 0 if it is not \x, \u or \u{}. */
static size_t escape_at(const char *s, size_t avail, uint32_t *cp, bool *byte)
{
	size_t used;
	long v;

	if (avail < 4 || s[0] != '\\')
		return 0;
	*byte = s[1] == 'x';
	if (s[1] == 'x') {
		v = hexn(s + 2, avail - 2, 2, 2, &used);
		*cp = (uint32_t)v;
		return v < 0 ? 0 : 4;
	}
	if (s[1] != 'u')
		return 0;
	if (s[2] == '{') {
		v = hexn(s + 3, avail - 3, 1, 6, &used);
		if (v < 0 || v > 0x10FFFF || 3 + used >= avail ||
		    s[3 + used] != '}')
			return 0;
		*cp = (uint32_t)v;
		return 4 + used;
	}
	v = hexn(s + 2, avail - 2, 4, 4, &used);
	*cp = (uint32_t)v;
	return v < 0 ? 0 : 6;
}

bool kl_decode_escapes(const char *src, size_t len, kl_buf *out)
{
	size_t i, n = 0, k;
	uint32_t cp, lo;
	bool byte;

	init_tables();
	for (i = 0; i < len; i++) {
		k = escape_at(src + i, len - i, &cp, &byte);
		if (!k) {
			if (src[i] == '\\' && i + 1 < len &&
			    strchr("\\/\"'", src[i + 1])) {
				kl_buf_addch(out, src[++i]);
				continue;
			}
			kl_buf_addch(out, src[i]);
			continue;
		}
		n++;
		i += k - 1;
		if (byte) {
			kl_buf_addch(out, (char)cp);
			continue;
		}
		/* A surrogate pair written as two \u escapes. */
		if (cp >= 0xD800 && cp < 0xDC00 && i + 1 < len &&
		    escape_at(src + i + 1, len - i - 1, &lo, &byte) == 6 &&
		    lo >= 0xDC00 && lo < 0xE000) {
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			i += 6;
		}
		kl_buf_add_utf8(out, cp >= 0xD800 && cp < 0xE000 ? 0xFFFD : cp);
	}
	return n > 0;
}

/* ----------------------------------------------------------- candidates */

typedef struct cand {
	size_t start, end; /* the encoded span */
	int kind;
} cand;

typedef struct cands {
	cand *items;
	size_t len, cap;
} cands;

static void push_cand(cands *c, size_t start, size_t end, int kind)
{
	if (c->len == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->items = kl_xrealloc(c->items, c->cap * sizeof(cand));
	}
	c->items[c->len].start = start;
	c->items[c->len].end = end;
	c->items[c->len++].kind = kind;
}

/* Past the line break at d[i] ("\n" or "\r\n"), or i if there is none. */
static size_t skip_eol(const char *d, size_t n, size_t i)
{
	if (i < n && d[i] == '\r')
		i++;
	return i < n && d[i] == '\n' ? i + 1 : i;
}

#ifdef __SSE2__
/* c in [lo, hi], 16 bytes at once (a biased signed compare). */
static __m128i in_range(__m128i v, char lo, char hi)
{
	__m128i x = _mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - lo)));

	return _mm_cmplt_epi8(x, _mm_set1_epi8((char)(0x80 + hi - lo + 1)));
}

/* Bit i set when p[i] is not a base64 character (either alphabet). */
static unsigned not_b64_mask(const char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i ok = _mm_or_si128(in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)),
					   'a', 'z'),
				  in_range(v, '0', '9'));

	ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('+')));
	ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('/')));
	ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
	ok = _mm_or_si128(ok, _mm_cmpeq_epi8(v, _mm_set1_epi8('_')));
	return ~(unsigned)_mm_movemask_epi8(ok) & 0xFFFF;
}
#endif

/* End of the base64 run from s, with its '=' padding. Long runs (images
 * in notebooks) are walked 16 bytes at a time. */
static size_t run_end(const char *d, size_t n, size_t s)
{
	size_t e = s, k = 0;

#ifdef __SSE2__
	while (e + 16 <= n) {
		unsigned m = not_b64_mask(d + e);

		if (m) {
			e += (size_t)__builtin_ctz(m);
			goto pad;
		}
		e += 16;
	}
#endif
	while (e < n && is_b64((unsigned char)d[e]))
		e++;
#ifdef __SSE2__
pad:
#endif
	while (e + k < n && d[e + k] == '=' && k < 2)
		k++;
	/* '=' joins a name to a value: padding only before a non-run byte */
	if (k && (e + k == n || !is_b64((unsigned char)d[e + k])))
		e += k;
	return e;
}

static bool at_eol(const char *d, size_t n, size_t i)
{
	return i == n || d[i] == '\n' || (d[i] == '\r' && i + 1 < n &&
					  d[i + 1] == '\n');
}

/* A run that fills its line may go on over the next lines (base64 wrapped
 * at 64 or 76 columns, maybe indented): lines made only of base64. */
static size_t wrapped_end(const char *d, size_t n, size_t s, size_t e)
{
	size_t seg = e - s;

	while (seg >= WRAP_MIN && seg % 4 == 0 && at_eol(d, n, e) && e < n) {
		size_t t = skip_eol(d, n, e), u;

		while (t < n && (d[t] == ' ' || d[t] == '\t'))
			t++;
		u = run_end(d, n, t);
		if (u == t || !at_eol(d, n, u))
			break;
		seg = u - t;
		e = u;
	}
	return e;
}

/* A first look at a run: its first 6 bytes (8 chars) as base64, or 4 as
 * hex, are (nearly) all text. Identifiers, hashes and images stop here
 * before costing a candidate. */
static bool may_be_text(const char *d, size_t n)
{
	size_t i, ok = 0;

	if (n >= 8 && cls[(unsigned char)d[0]] & K_HEX) {
		for (i = 0; i < 8 && cls[(unsigned char)d[i]] & K_HEX; i++)
			;
		if (i == 8) {
			for (i = 0; i < 8; i += 2)
				ok += printable((unsigned char)
						(hexval[(unsigned char)d[i]] << 4 |
						 hexval[(unsigned char)d[i + 1]]));
			if (ok == 4)
				return true;
			ok = 0;
		}
	}
	for (i = 0; i + 4 <= 8 && i + 4 <= n; i += 4) {
		uint32_t v = (uint32_t)b64val[(unsigned char)d[i]] << 18 |
			     (uint32_t)b64val[(unsigned char)d[i + 1]] << 12 |
			     (uint32_t)b64val[(unsigned char)d[i + 2]] << 6 |
			     (uint32_t)b64val[(unsigned char)d[i + 3]];

		ok += printable((unsigned char)(v >> 16)) +
		      printable((unsigned char)(v >> 8)) +
		      printable((unsigned char)v);
	}
	return ok >= 5;
}

/* The run at s (d[s - 1] is not base64): a candidate if it is long
 * enough and may be text. Returns where to look next. */
static size_t take_run(const char *d, size_t n, size_t s, cands *out)
{
	size_t e = run_end(d, n, s);

	if (e - s >= MIN_B64 && may_be_text(d + s, e - s))
		push_cand(out, s, wrapped_end(d, n, s, e), C_B64);
	return e > s ? e : s + 1;
}

/* Runs of at least MIN_B64 base64 characters. With SSE2, 16 bytes are
 * classified at once and only runs that reach MIN_B64 are looked at;
 * otherwise a byte MIN_B64 - 1 ahead tells whether a run can start here. */
static void find_b64(const char *d, size_t n, cands *out)
{
	size_t i = 0;

#ifdef __SSE2__
	size_t run = 0; /* base64 bytes just before i */

	while (i + 16 <= n) {
		unsigned m = not_b64_mask(d + i);

		if (!m) {
			run += 16;
			i += 16;
		} else if (run + (size_t)__builtin_ctz(m) >= MIN_B64) {
			i = take_run(d, n, i - run, out);
			run = 0;
		} else {
			/* runs inside a block are shorter than MIN_B64 */
			run = (size_t)__builtin_clz(m) - 16;
			i += 16;
		}
	}
	i -= run;
#endif
	while (i + MIN_B64 <= n) {
		size_t p = i + MIN_B64 - 1, s;

		if (!is_b64((unsigned char)d[p])) {
			i = p + 1;
			continue;
		}
		s = p;
		while (s > i && is_b64((unsigned char)d[s - 1]))
			s--;
		/* A run starting before i was already seen (or too short). */
		if (s == i && i > 0 && is_b64((unsigned char)d[i - 1])) {
			while (p < n && is_b64((unsigned char)d[p]))
				p++;
			i = p;
			continue;
		}
		i = take_run(d, n, s, out) + 1;
	}
}

static bool token_byte(unsigned char c)
{
	return cls[c] & K_TOKEN;
}

/* Escaped tokens may hold braces (\u{1F600}). */
static bool escape_token_byte(unsigned char c)
{
	return cls[c] & (K_TOKEN | K_BRACE);
}

/* Whether an escape starts at d[i]: tokens are only built around one. */
static bool escape_here(const char *d, size_t n, size_t i, int kind)
{
	uint32_t cp;
	bool byte;

	if (kind == C_PERCENT)
		return i + 2 < n && hex2(d + i + 1) >= 0;
	return escape_at(d + i, n - i, &cp, &byte) != 0;
}

/* Tokens holding at least MIN_ESCAPES escapes introduced by ch. */
static void find_tokens(const char *d, size_t n, char ch, int kind,
			cands *out)
{
	bool (*tok)(unsigned char) = kind == C_ESCAPE ? escape_token_byte
						      : token_byte;
	const char *p = d, *end = d + n;

	while ((p = memchr(p, ch, (size_t)(end - p))) != NULL) {
		size_t s = (size_t)(p - d), e = s, escapes = 0, k;
		uint32_t cp;
		bool byte;

		if (!escape_here(d, n, s, kind)) {
			p++;
			continue;
		}
		while (s > 0 && tok((unsigned char)d[s - 1]))
			s--;
		while (e < n && (tok((unsigned char)d[e]) || d[e] == ch)) {
			if (kind == C_PERCENT && d[e] == '%' && e + 2 < n &&
			    hex2(d + e + 1) >= 0) {
				escapes++;
				e += 3;
				continue;
			}
			if (kind == C_ESCAPE && d[e] == '\\' &&
			    (k = escape_at(d + e, n - e, &cp, &byte)) != 0) {
				escapes++;
				e += k;
				continue;
			}
			e++;
		}
		if (escapes >= MIN_ESCAPES && e - s >= MIN_TOKEN)
			push_cand(out, s, e, kind);
		p = d + (e > (size_t)(p - d) ? e : (size_t)(p - d) + 1);
	}
}

static int cmp_cand(const void *a, const void *b)
{
	const cand *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end > y->end ? -1 : x->end < y->end;
}

/* -------------------------------------------------------------- walking */

typedef struct walk {
	const kl_decode_limits *lim;
	kl_decode_stats *st;
	kl_decode_fn fn;
	void *ctx;
	const char *chain[MAX_DEPTH];
} walk;

static bool all_hex(const char *d, size_t s, size_t e)
{
	size_t i;

	for (i = s; i < e; i++)
		if (!(cls[(unsigned char)d[i]] & K_HEX))
			return false;
	return true;
}

/* Decode candidate c into out; its encoding's name, or NULL if it does not
 * decode to text. */
static const char *try_decode(walk *w, const char *d, const cand *c,
			      kl_buf *out)
{
	const char *src = d + c->start;
	size_t len = c->end - c->start;

	kl_buf_reset(out);
	w->st->attempts++;
	if (c->kind == C_B64) {
		if (len >= MIN_HEX && len % 2 == 0 && all_hex(d, c->start, c->end) &&
		    kl_decode_hex(src, len, out) &&
		    mostly_printable(out->data, out->len))
			return hex_name;
		kl_buf_reset(out);
		/* A probe first: images and random tokens stop here. */
		if (!b64_decode(src, len, PROBE, out) ||
		    !mostly_printable(out->data, out->len))
			return NULL;
		kl_buf_reset(out);
		if (!b64_decode(src, len, w->lim->bytes - w->st->bytes, out))
			return NULL;
	} else if (c->kind == C_PERCENT) {
		if (!kl_decode_percent(src, len, out))
			return NULL;
	} else if (!kl_decode_escapes(src, len, out)) {
		return NULL;
	}
	return mostly_printable(out->data, out->len) ? names[c->kind] : NULL;
}

static void walk_level(walk *w, const char *d, size_t n, size_t depth,
		       size_t outer_start, size_t outer_end);

/* The view: the rest of the span's line around the decoded bytes. */
static void emit(walk *w, const char *d, size_t n, const cand *c,
		 const kl_buf *dec, size_t depth, size_t span_s, size_t span_e)
{
	kl_buf v = KL_BUF_INIT;
	kl_decode_view view;
	size_t ls = c->start, le = c->end;

	while (ls > 0 && c->start - ls < CONTEXT && d[ls - 1] != '\n')
		ls--;
	while (le < n && le - c->end < CONTEXT && d[le] != '\n')
		le++;
	kl_buf_add(&v, d + ls, c->start - ls);
	kl_buf_add(&v, dec->data, dec->len);
	kl_buf_add(&v, d + c->end, le - c->end);
	view.data = v.data;
	view.len = v.len;
	view.from = c->start - ls;
	view.to = view.from + dec->len;
	view.span_start = span_s;
	view.span_end = span_e;
	view.chain = w->chain;
	view.depth = depth + 1;
	w->st->views++;
	w->fn(w->ctx, &view);
	kl_buf_free(&v);
}

static bool spent(walk *w)
{
	if (w->st->attempts >= w->lim->attempts)
		w->st->hit_attempts = true;
	if (w->st->bytes >= w->lim->bytes)
		w->st->hit_bytes = true;
	return w->st->hit_attempts || w->st->hit_bytes;
}

static void walk_level(walk *w, const char *d, size_t n, size_t depth,
		       size_t outer_start, size_t outer_end)
{
	cands cs = { 0 };
	kl_buf dec = KL_BUF_INIT;
	size_t i, done_to = 0, runs;

	find_b64(d, n, &cs);
	runs = cs.len;
	if (memchr(d, '%', n))
		find_tokens(d, n, '%', C_PERCENT, &cs);
	if (memchr(d, '\\', n))
		find_tokens(d, n, '\\', C_ESCAPE, &cs);
	if (cs.len > runs) /* base64 runs come in order; tokens joined them */
		qsort(cs.items, cs.len, sizeof(cand), cmp_cand);
	for (i = 0; i < cs.len && !spent(w); i++) {
		const cand *c = &cs.items[i];
		const char *name;
		size_t s, e;

		if (c->start < done_to)
			continue;
		name = try_decode(w, d, c, &dec);
		if (!name)
			continue;
		if (depth >= w->lim->depth) {
			w->st->hit_depth = true;
			break;
		}
		done_to = c->end;
		w->st->bytes += dec.len;
		if (w->st->bytes >= w->lim->bytes)
			w->st->hit_bytes = true;
		w->chain[depth] = name;
		s = depth ? outer_start : c->start;
		e = depth ? outer_end : c->end;
		emit(w, d, n, c, &dec, depth, s, e);
		walk_level(w, dec.data, dec.len, depth + 1, s, e);
	}
	free(cs.items);
	kl_buf_free(&dec);
}

void kl_decode_each(const char *data, size_t len, const kl_decode_limits *lim,
		    kl_decode_stats *st, kl_decode_fn fn, void *ctx)
{
	kl_decode_limits l = *lim;
	walk w;

	init_tables();
	if (!l.depth)
		l.depth = KL_DECODE_DEPTH;
	if (l.depth > MAX_DEPTH)
		l.depth = MAX_DEPTH;
	if (!l.bytes)
		l.bytes = KL_DECODE_BYTES;
	if (!l.attempts)
		l.attempts = KL_DECODE_ATTEMPTS;
	memset(&w, 0, sizeof(w));
	w.lim = &l;
	w.st = st;
	w.fn = fn;
	w.ctx = ctx;
	walk_level(&w, data, len, 0, 0, len);
}
