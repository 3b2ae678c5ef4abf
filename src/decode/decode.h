/*
 * The decoding stage (src/decode/decode.c): finds runs of bytes that are
 * encoded (base64, hex, percent-encoding, \uXXXX / \xXX escapes) and long
 * enough to hold a key, decodes those that turn into mostly printable text,
 * and hands each decoded span to a callback as a view. Nested encodings
 * are decoded again up to a depth. Knows nothing of rules or findings.
 */
#ifndef KL_DECODE_H
#define KL_DECODE_H

#include "keyleak.h"

/* What one blob may spend; 0 takes the default. */
#define KL_DECODE_DEPTH 4
#define KL_DECODE_BYTES ((size_t)64 << 20)
#define KL_DECODE_ATTEMPTS ((size_t)1 << 20)

typedef struct kl_decode_limits {
	unsigned depth;   /* decodings nested in one another */
	size_t bytes;     /* decoded bytes per blob */
	size_t attempts;  /* runs tried per blob */
} kl_decode_limits;

/* What a blob spent, and which limit stopped it (if any). */
typedef struct kl_decode_stats {
	size_t bytes, attempts, views;
	bool hit_depth, hit_bytes, hit_attempts;
} kl_decode_stats;

/*
 * One decoded span. data holds the text around the span on its line
 * (context for rules that look before a key) and the decoded bytes at
 * [from, to); span_start/span_end are the encoded bytes in the buffer
 * given to kl_decode_each (for a nested decoding: the outermost span).
 * chain[0..depth) names the decodings, outermost first.
 */
typedef struct kl_decode_view {
	const char *data;
	size_t len, from, to;
	size_t span_start, span_end;
	const char *const *chain;
	size_t depth;
} kl_decode_view;

typedef void (*kl_decode_fn)(void *ctx, const kl_decode_view *v);

/* Call fn for every decoded span of data, in order of span_start. */
void kl_decode_each(const char *data, size_t len, const kl_decode_limits *lim,
		    kl_decode_stats *st, kl_decode_fn fn, void *ctx);

/* The decoders alone (for tests and the fuzz target): append what src
 * decodes to to out; false if src is not of that encoding. base64 takes
 * both alphabets, with or without padding, and skips line breaks. */
bool kl_decode_base64(const char *src, size_t len, kl_buf *out);
bool kl_decode_hex(const char *src, size_t len, kl_buf *out);
bool kl_decode_percent(const char *src, size_t len, kl_buf *out);
bool kl_decode_escapes(const char *src, size_t len, kl_buf *out);

#endif
