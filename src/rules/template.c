/*
 * Owns rule example templates: "{N}" / "{N:class}" expand to N random
 * characters, so rule files carry key shapes rather than key-like
 * literals that push protection would block.
 */
#include <stdlib.h>
#include <string.h>

#include "keyleak.h"

static const struct {
	const char *name;
	const char *chars;
} classes[] = {
	{ "alnum", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" },
	{ "hex", "0123456789abcdef" },
	{ "HEX", "0123456789ABCDEF" },
	{ "lower", "abcdefghijklmnopqrstuvwxyz" },
	{ "upper", "ABCDEFGHIJKLMNOPQRSTUVWXYZ" },
	{ "digit", "0123456789" },
	{ "lowernum", "abcdefghijklmnopqrstuvwxyz0123456789" },
	{ "uppernum", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" },
	{ "b64", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" },
	{ "b64url", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-" },
	{ "BECH32", "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" }, /* age identities */
};

/* splitmix64: tiny, seedable, good enough for test data. */
uint64_t kl_random_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static const char *class_chars(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == n &&
		    memcmp(classes[i].name, name, n) == 0)
			return classes[i].chars;
	return NULL;
}

/* Parse "{N}" or "{N:class}" at p; returns its length or 0. */
static size_t parse_field(const char *p, size_t *count, const char **chars)
{
	const char *q = p + 1, *colon, *close;
	char *end;
	unsigned long n = strtoul(q, &end, 10);

	if (end == q || n == 0 || n > 4096)
		return 0;
	close = strchr(end, '}');
	if (!close)
		return 0;
	colon = *end == ':' ? end + 1 : NULL;
	if (!colon && end != close)
		return 0;
	*chars = colon ? class_chars(colon, (size_t)(close - colon))
		       : classes[0].chars;
	if (!*chars)
		return 0;
	*count = n;
	return (size_t)(close - p) + 1;
}

/*
 * Append count random characters; redraw a run that happens to look like
 * a placeholder (a word like "test", a run of one character), since real
 * keys are what the examples stand for.
 */
static void add_random_run(kl_buf *out, const char *chars, size_t count,
			   uint64_t *seed)
{
	size_t k = strlen(chars), i, start = out->len;
	int tries;

	for (tries = 0; tries < 100; tries++) {
		out->len = start;
		for (i = 0; i < count; i++)
			kl_buf_addch(out, chars[kl_random_next(seed) % k]);
		if (!kl_is_placeholder(NULL, out->data + start, count))
			return;
	}
}

char *kl_template_expand(const char *tmpl, uint64_t *seed)
{
	kl_buf out = KL_BUF_INIT;
	const char *p = tmpl;

	while (*p) {
		size_t count, n;
		const char *chars;

		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			kl_buf_addch(&out, *p);
			p += 2;
		} else if (*p == '{' && (n = parse_field(p, &count, &chars))) {
			add_random_run(&out, chars, count, seed);
			p += n;
		} else {
			kl_buf_addch(&out, *p++);
		}
	}
	return kl_buf_detach(&out);
}
