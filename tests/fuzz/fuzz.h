/*
 * Shared helpers for the libFuzzer targets in tests/fuzz: a reader that
 * splits one fuzz input into typed values (like LLVM's FuzzedDataProvider,
 * in C), the built-in ruleset compiled once, and checks on rendered
 * reports. A failed check aborts, which libFuzzer records as a crash.
 */
#ifndef KL_FUZZ_H
#define KL_FUZZ_H

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, ...)                                              \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "fuzz check failed: %s: ", #cond);  \
			fprintf(stderr, __VA_ARGS__);                       \
			fputc('\n', stderr);                                \
			abort();                                            \
		}                                                           \
	} while (0)

typedef struct fuzz_reader {
	const uint8_t *data;
	size_t len;
} fuzz_reader;

static inline uint8_t fuzz_byte(fuzz_reader *r)
{
	uint8_t b = 0;

	if (r->len) {
		b = r->data[0];
		r->data++;
		r->len--;
	}
	return b;
}

static inline uint32_t fuzz_u32(fuzz_reader *r)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 4; i++)
		v = v << 8 | fuzz_byte(r);
	return v;
}

/*
 * The next string: bytes up to a NUL separator (or the end), without the
 * separator; NUL-free because paths and messages are C strings. Caller
 * frees.
 */
static inline char *fuzz_str(fuzz_reader *r)
{
	const uint8_t *nul = memchr(r->data, '\0', r->len);
	size_t n = nul ? (size_t)(nul - r->data) : r->len;
	char *s = kl_xstrndup((const char *)r->data, n);

	r->data += n;
	r->len -= n;
	if (nul) {
		r->data++;
		r->len--;
	}
	return s;
}

/* The built-in rules, loaded and compiled once per process. */
static inline const kl_ruleset *fuzz_builtin_rules(void)
{
	static kl_ruleset *rs;
	kl_error err = { 0 };

	if (rs)
		return rs;
	rs = kl_ruleset_new();
	if (kl_ruleset_add_builtin(rs, &err) || kl_ruleset_compile(rs, &err)) {
		fprintf(stderr, "fuzz: built-in rules: %s\n", err.message);
		abort();
	}
	return rs;
}

/*
 * A few built-in rule files (a key rule set and the policy rules): enough
 * for the reporters, whose SARIF lists every rule, so they stay fast.
 */
static inline const kl_ruleset *fuzz_small_rules(void)
{
	static const char *const names[] = { "groq.json", "langfuse.json",
					     "policy.json" };
	static kl_ruleset *rs;
	kl_error err = { 0 };
	size_t i, j;

	if (rs)
		return rs;
	rs = kl_ruleset_new();
	for (i = 0; i < kl_embedded_rules_count; i++)
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (strcmp(kl_embedded_rules[i].name, names[j]) == 0 &&
			    kl_ruleset_add_json(rs, names[j],
						kl_embedded_rules[i].data,
						kl_embedded_rules[i].len, &err))
				abort();
	if (kl_ruleset_count(rs) == 0 || kl_ruleset_compile(rs, &err))
		abort();
	return rs;
}

/* Does the text (len bytes) contain s in full? */
static inline bool fuzz_contains(const char *text, size_t len, const char *s)
{
	size_t n = strlen(s);

	return n && memmem(text, len, s, n) != NULL;
}

/* Parse a rendered JSON or SARIF report; aborts when it is not JSON. */
static inline cJSON *fuzz_parse_json(const kl_buf *out, const char *what)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(out->data, out->len, &end, 0);

	FUZZ_ASSERT(root != NULL, "%s output is not valid JSON near byte %zu",
		    what, end ? (size_t)(end - out->data) : 0);
	return root;
}

/* Decode "%XX" escapes of a SARIF uri; caller frees. */
static inline char *fuzz_uri_decode(const char *uri)
{
	kl_buf b = KL_BUF_INIT;
	unsigned int v;

	for (; *uri; uri++) {
		if (*uri == '%' && sscanf(uri + 1, "%2x", &v) == 1) {
			kl_buf_addch(&b, (char)v);
			uri += 2;
		} else {
			kl_buf_addch(&b, *uri);
		}
	}
	if (!b.data)
		kl_buf_grow(&b, 0);
	return kl_buf_detach(&b);
}

/* Decode a JSON "*_hex" field back to bytes; caller frees. */
static inline char *fuzz_hex_decode(const char *hex)
{
	kl_buf b = KL_BUF_INIT;
	unsigned int v;

	for (; hex[0] && hex[1]; hex += 2) {
		FUZZ_ASSERT(sscanf(hex, "%2x", &v) == 1, "bad hex %s", hex);
		kl_buf_addch(&b, (char)v);
	}
	if (!b.data)
		kl_buf_grow(&b, 0);
	return kl_buf_detach(&b);
}

#endif
