/*
 * Unit tests of the decoding stage (src/decode/): each decoder, which runs
 * become views (and which do not), spans and chains, nesting and limits.
 */
#include <stdlib.h>
#include <string.h>

#include "decode/decode.h"
#include "unit.h"

typedef struct views {
	char text[8][256];
	size_t start[8], end[8], depth[8], n;
	char chain[8][64];
} views;

static void collect(void *ctx, const kl_decode_view *v)
{
	views *w = ctx;
	size_t i, k = w->n;

	if (k >= 8)
		return;
	snprintf(w->text[k], sizeof(w->text[k]), "%.*s", (int)(v->to - v->from),
		 v->data + v->from);
	w->start[k] = v->span_start;
	w->end[k] = v->span_end;
	w->depth[k] = v->depth;
	w->chain[k][0] = '\0';
	for (i = 0; i < v->depth; i++) {
		strcat(w->chain[k], v->chain[i]);
		strcat(w->chain[k], i + 1 < v->depth ? "," : "");
	}
	w->n++;
}

static views *run(const char *text, unsigned depth, kl_decode_stats *st)
{
	static views w;
	kl_decode_limits lim = { depth, 0, 0 };
	kl_decode_stats local = { 0 };

	memset(&w, 0, sizeof(w));
	kl_decode_each(text, strlen(text), &lim, st ? st : &local, collect, &w);
	return &w;
}

static void decoders(void)
{
	kl_buf b = KL_BUF_INIT;

	CHECK(kl_decode_base64("aGVsbG8gd29ybGQ=", 16, &b) &&
	      unit_str_eq(b.data, "hello world"), "base64 padded");
	kl_buf_reset(&b);
	CHECK(kl_decode_base64("aGVsbG8_d29y-A", 14, &b) && b.len == 10,
	      "base64 url-safe unpadded");
	kl_buf_reset(&b);
	CHECK(kl_decode_base64("aGVs\nbG8=", 9, &b) &&
	      unit_str_eq(b.data, "hello"), "base64 over lines");
	kl_buf_reset(&b);
	CHECK(!kl_decode_base64("aGV=sbG8", 8, &b), "padding in the middle");
	kl_buf_reset(&b);
	CHECK(kl_decode_hex("6869", 4, &b) && unit_str_eq(b.data, "hi"), "hex");
	kl_buf_reset(&b);
	CHECK(!kl_decode_hex("686", 3, &b), "odd hex");
	kl_buf_reset(&b);
	CHECK(kl_decode_percent("a%2Db%2d%", 9, &b) &&
	      unit_str_eq(b.data, "a-b-%"), "percent, a stray %% kept");
	kl_buf_reset(&b);
	CHECK(kl_decode_escapes("\\u0068\\x69\\u{21}\\ud83d\\ude00", 28, &b) &&
	      unit_str_eq(b.data, "hi!\xf0\x9f\x98\x80"), "escapes, a pair");
	kl_buf_free(&b);
}

static void spans(void)
{
	/* "KEY=some plain text value" */
	const char *t = "x\nv: S0VZPXNvbWUgcGxhaW4gdGV4dCB2YWx1ZQ== end\n";
	views *w = run(t, 0, NULL);

	CHECK(w->n == 1 && unit_str_eq(w->text[0], "KEY=some plain text value"),
	      "one view: \"%s\"", w->n ? w->text[0] : "");
	CHECK(w->start[0] == 5 && w->end[0] == 41, "span %zu..%zu",
	      w->start[0], w->end[0]);
	CHECK(unit_str_eq(w->chain[0], "base64"), "chain %s", w->chain[0]);
}

static void not_text(void)
{
	/* identifiers, a hash, base64 of random bytes */
	views *w = run("aVeryLongIdentifierNameHere = 1\n"
		       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
		       "q83vEjRWeJq83vEjRWeJq83vEjRWeJ==\n", 0, NULL);

	CHECK(w->n == 0, "no views: %zu", w->n);
}

static void nesting(void)
{
	/* base64 of "v: " + base64 of "KEY=some plain text value" */
	const char *t = "a: djogUzBWWlBYTnZiV1VnY0d4aGFXNGdkR1Y0ZENCMllXeDFaUT09\n";
	kl_decode_stats st = { 0 };
	views *w = run(t, 0, &st);

	CHECK(w->n == 2 && unit_str_eq(w->chain[1], "base64,base64") &&
	      unit_str_eq(w->text[1], "KEY=some plain text value"),
	      "two layers: %zu, %s", w->n, w->n > 1 ? w->chain[1] : "");
	CHECK(w->n == 2 && w->start[1] == w->start[0] &&
	      w->end[1] == w->end[0], "the inner view has the outer span");
	w = run(t, 1, &st);
	CHECK(w->n == 1 && st.hit_depth, "depth 1: %zu views, hit %d", w->n,
	      st.hit_depth);
}

static void tokens(void)
{
	views *w = run("u = \"\\u0074\\u006f\\u006b\\u0065\\u006e=abcd\"\n"
		       "p = q%3Dtoken%2Dvalue%2Dhere\n", 0, NULL);

	CHECK(w->n == 2 && unit_str_eq(w->text[0], "token=abcd") &&
	      unit_str_eq(w->chain[0], "escape"), "escape token: %s",
	      w->n ? w->text[0] : "");
	CHECK(w->n == 2 && unit_str_eq(w->text[1], "q=token-value-here") &&
	      unit_str_eq(w->chain[1], "percent"), "percent token: %s",
	      w->n > 1 ? w->text[1] : "");
}

int main(void)
{
	decoders();
	spans();
	not_text();
	nesting();
	tokens();
	return unit_failed != 0;
}
