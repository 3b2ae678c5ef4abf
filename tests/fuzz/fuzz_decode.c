/*
 * Fuzz target: the decoding stage over arbitrary bytes. Each decoder alone
 * (base64, hex, percent, escapes) must stay within its output bound; the
 * walk over the input (kl_decode_each) must give views whose decoded bytes
 * lie inside the view, whose span lies inside the input, whose chain is
 * named, and must respect its byte budget and depth. Then the input goes
 * through kl_scan_decoded with the built-in rules: findings must point
 * inside the input.
 */
#include "decode/decode.h"
#include "fuzz.h"

typedef struct seen {
	size_t len, views;
	unsigned depth;
} seen;

static void on_view(void *ctx, const kl_decode_view *v)
{
	seen *s = ctx;
	size_t i;

	FUZZ_ASSERT(v->from <= v->to && v->to <= v->len, "view %zu..%zu of %zu",
		    v->from, v->to, v->len);
	FUZZ_ASSERT(v->span_start < v->span_end && v->span_end <= s->len,
		    "span %zu..%zu of %zu", v->span_start, v->span_end, s->len);
	FUZZ_ASSERT(v->depth >= 1 && v->depth <= s->depth, "depth %zu",
		    v->depth);
	for (i = 0; i < v->depth; i++)
		FUZZ_ASSERT(v->chain[i] && v->chain[i][0], "unnamed layer");
	s->views++;
}

static void decoders(const char *d, size_t n)
{
	kl_buf out = KL_BUF_INIT;

	kl_decode_base64(d, n, &out);
	FUZZ_ASSERT(out.len <= n / 4 * 3 + 2, "base64 grew: %zu from %zu",
		    out.len, n);
	kl_buf_reset(&out);
	kl_decode_hex(d, n, &out);
	FUZZ_ASSERT(out.len <= n / 2, "hex grew");
	kl_buf_reset(&out);
	kl_decode_percent(d, n, &out);
	FUZZ_ASSERT(out.len <= n, "percent grew");
	kl_buf_reset(&out);
	kl_decode_escapes(d, n, &out);
	FUZZ_ASSERT(out.len <= n, "escapes grew");
	kl_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static kl_scanner *sc;
	const kl_ruleset *rs = fuzz_builtin_rules();
	const char *d = (const char *)data;
	kl_decode_limits lim = { 3, 1 << 20, 0 };
	kl_decode_stats st = { 0 };
	seen s = { size, 0, 3 };
	kl_scan_opts o = { 0 };
	kl_report r;
	size_t i;

	decoders(d, size);
	kl_decode_each(d, size, &lim, &st, on_view, &s);
	FUZZ_ASSERT(st.views == s.views, "views counted %zu, seen %zu",
		    st.views, s.views);
	FUZZ_ASSERT(st.bytes <= lim.bytes + size, "budget overrun");
	if (!sc)
		sc = kl_scanner_new(rs);
	o.rules = rs;
	o.unpack.decode_depth = 3;
	kl_report_init(&r, "scan", "fuzz", rs);
	kl_scan_decoded(sc, &o, &r, "fuzz.txt", d, size);
	for (i = 0; i < r.findings.len; i++) {
		const kl_finding *f = &r.findings.items[i];

		FUZZ_ASSERT(f->line >= 1 && f->column >= 1 && f->decoded.len,
			    "finding at %zu:%zu", f->line, f->column);
	}
	kl_report_free(&r);
	return 0;
}
