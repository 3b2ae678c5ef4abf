/*
 * Fuzz target: the archive stage over arbitrary bytes, as every source
 * runs it (kl_scan_content with archives on). Any input must end without
 * a crash, leak or runaway: members and uncompressed bytes within the
 * limits given, findings inside an archive must name their member, and
 * every member name handed out must be a C string without a leading "/".
 * Seeds (tests/fuzz/corpus/archive) are small zip, tar, gzip, bzip2, xz
 * files made by tests/fuzz/make_archive_seeds.py.
 */
#include "archive/archive.h"
#include "fuzz.h"

typedef struct seen {
	size_t members;
	uint64_t bytes;
} seen;

static void on_member(void *ctx, const char *name, const char *data,
		      size_t len)
{
	seen *s = ctx;

	FUZZ_ASSERT(name && name[0] != '/', "member name \"%s\"", name);
	FUZZ_ASSERT(data != NULL || len == 0, "member without bytes");
	s->members++;
	s->bytes += len;
}

static void on_note(void *ctx, const char *name, bool incomplete,
		    const char *why)
{
	(void)ctx;
	(void)name;
	(void)incomplete;
	FUZZ_ASSERT(why && why[0], "a note without a reason");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static kl_scanner *sc;
	const kl_ruleset *rs = fuzz_builtin_rules();
	const char *d = (const char *)data;
	uint64_t budget = 8 << 20;
	kl_archive_limits lim = { 64, &budget, 50, 1 << 20 };
	seen s = { 0, 0 };
	kl_scan_opts o = { 0 };
	kl_report r;
	size_t i;

	kl_archive_each(d, size, "fuzz.gz", &lim, on_member, on_note, &s);
	FUZZ_ASSERT(s.members <= lim.members, "%zu members", s.members);
	FUZZ_ASSERT(s.bytes <= (8 << 20), "%llu bytes",
		    (unsigned long long)s.bytes);
	if (!sc)
		sc = kl_scanner_new(rs);
	o.rules = rs;
	o.max_file_size = 1 << 20;
	o.unpack.archive_bytes = 8 << 20;
	o.unpack.archive_members = 64;
	o.unpack.decode_bytes = 1 << 20;
	kl_report_init(&r, "scan", "fuzz", rs);
	kl_scan_content(sc, &o, &r, "fuzz.zip", d, size);
	for (i = 0; i < r.findings.len; i++)
		FUZZ_ASSERT(!kl_archive_sniff(d, size) || r.findings.items[i].member,
			    "a finding in an archive without its member");
	kl_report_free(&r);
	return 0;
}
