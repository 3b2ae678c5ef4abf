/*
 * Fuzz target: the push hooks' stdin parser (kl_push_parse), in both
 * protocols (first byte: pre-receive or pre-push). An accepted input's
 * updates must each have a non-empty ref, and a pre-push one a local ref;
 * a refused one must name the line.
 */
#include <git2.h>

#include "fuzz.h"
#include "sources/receive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool client = size && (data[0] & 1);
	kl_error err = { 0 };
	kl_push p;
	size_t i;

	if (size)
		data++, size--;
	if (kl_push_parse(&p, (const char *)data, size, client, &err) < 0) {
		FUZZ_ASSERT(err.message && strstr(err.message, "stdin line "),
			    "error does not name the line: %s",
			    err.message ? err.message : "(none)");
		kl_error_clear(&err);
		return 0;
	}
	for (i = 0; i < p.n; i++) {
		FUZZ_ASSERT(p.v[i].ref && p.v[i].ref[0], "update %zu: no ref", i);
		FUZZ_ASSERT(!client || (p.v[i].local_ref && p.v[i].local_ref[0]),
			    "update %zu: no local ref", i);
	}
	kl_push_free(&p);
	return 0;
}
