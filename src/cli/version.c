/*
 * Owns `keyleak version`: keyleak's version and the version of every
 * library it runs with (what a bug report needs first). Versions are the
 * ones loaded at run time; a header version that differs is shown too,
 * since a distribution may upgrade a shared library under the binary.
 */
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <git2.h>
#include <zlib.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cli/cli.h"
#include "util/http.h"

static void built_with(kl_buf *out, const char *runtime, const char *header)
{
	if (strcmp(runtime, header) != 0)
		kl_buf_printf(out, " (built with %s)", header);
}

static void libgit2_line(kl_buf *out)
{
	int major, minor, rev, f = git_libgit2_features();
	char run[64];

	git_libgit2_version(&major, &minor, &rev);
	snprintf(run, sizeof(run), "%d.%d.%d", major, minor, rev);
	kl_buf_printf(out, "libgit2 %s", run);
	built_with(out, run, LIBGIT2_VERSION);
	kl_buf_printf(out, " (threads: %s, https: %s, ssh: %s)\n",
		      f & GIT_FEATURE_THREADS ? "yes" : "no",
		      f & GIT_FEATURE_HTTPS ? "yes" : "no",
		      f & GIT_FEATURE_SSH ? "yes" : "no");
}

/* JIT can be compiled in and still refused at run time (e.g. a policy
 * that forbids executable memory): try it on a trivial pattern. */
static const char *pcre2_jit_state(void)
{
	uint32_t built = 0;
	pcre2_code *re;
	int errcode, rc;
	PCRE2_SIZE erroff;

	if (pcre2_config(PCRE2_CONFIG_JIT, &built) < 0 || !built)
		return "no (not compiled in)";
	re = pcre2_compile((PCRE2_SPTR) "a+", PCRE2_ZERO_TERMINATED, 0,
			   &errcode, &erroff, NULL);
	if (!re)
		return "unknown";
	rc = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	pcre2_code_free(re);
	return rc == 0 ? "yes" : "no (unavailable at run time)";
}

static void pcre2_line(kl_buf *out)
{
	char run[64] = "", target[128] = "";
	char header[32];

	pcre2_config(PCRE2_CONFIG_VERSION, run);
	/* "10.42 2022-12-11": the date is noise next to the number. */
	run[strcspn(run, " ")] = '\0';
	snprintf(header, sizeof(header), "%d.%02d", PCRE2_MAJOR, PCRE2_MINOR);
	kl_buf_printf(out, "PCRE2 %s", run);
	built_with(out, run, header);
	kl_buf_printf(out, " (JIT: %s", pcre2_jit_state());
	if (pcre2_config(PCRE2_CONFIG_JITTARGET, target) > 0 && *target)
		kl_buf_printf(out, ", %s", target);
	kl_buf_puts(out, ")\n");
}

static void cjson_line(kl_buf *out)
{
	char header[32];

	snprintf(header, sizeof(header), "%d.%d.%d", CJSON_VERSION_MAJOR,
		 CJSON_VERSION_MINOR, CJSON_VERSION_PATCH);
	kl_buf_printf(out, "cJSON %s", cJSON_Version());
	built_with(out, cJSON_Version(), header);
	kl_buf_puts(out, "\n");
}

static void zlib_line(kl_buf *out)
{
	kl_buf_printf(out, "zlib %s", zlibVersion());
	built_with(out, zlibVersion(), ZLIB_VERSION);
	kl_buf_puts(out, "\n");
}

/* libcurl is loaded only for --verify and the hosting listings
 * (src/util/http.c): this names the one it would load. */
static void curl_line(kl_buf *out)
{
	const char *version, *ssl = NULL;

	if (kl_http_curl_version(&version, &ssl) < 0) {
		kl_buf_puts(out, "libcurl not installed (needed by --verify "
			    "and repos only)\n");
		return;
	}
	kl_buf_printf(out, "libcurl %s", version);
	built_with(out, version, LIBCURL_VERSION);
	if (ssl)
		kl_buf_printf(out, " (%s)", ssl);
	kl_buf_puts(out, " (loaded for --verify and repos)\n");
}

void kl_version_text(kl_buf *out)
{
	kl_buf_printf(out, "keyleak %s\n", KL_VERSION);
	libgit2_line(out);
	pcre2_line(out);
	cjson_line(out);
	zlib_line(out);
	curl_line(out);
}

/* `keyleak version` / `--version`: the libraries too, for bug reports. */
int cli_version(void)
{
	kl_buf out = KL_BUF_INIT;
	bool ok;

	kl_version_text(&out);
	ok = fwrite(out.data, 1, out.len, stdout) == out.len &&
	     fflush(stdout) == 0;
	kl_buf_free(&out);
	return ok ? KL_EXIT_CLEAN : KL_EXIT_ERROR;
}
