/*
 * The command line's side of --verify: which options go together, the
 * KEYLEAK_VERIFY_BASE_URL environment variable (tests, egress gateways;
 * no configuration file can set it), and the call into src/verify once
 * the scan's findings are final.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

#define BASE_URL_ENV "KEYLEAK_VERIFY_BASE_URL"

static const char *base_url(void)
{
	const char *b = getenv(BASE_URL_ENV);

	return b && *b ? b : NULL;
}

int cli_verify_check(const cli_opts *o)
{
	kl_error err = { 0 };

	if (!o->verify && (o->only_live || o->verify_opts_given)) {
		fprintf(stderr, "keyleak: %s needs --verify (keys are sent to "
			"their providers only when asked)\n",
			o->only_live ? "--only-live"
				     : "--verify-jobs/--verify-timeout");
		return -1;
	}
	if (o->verify && strcmp(o->command, "baseline") == 0) {
		fprintf(stderr, "keyleak: baseline: --verify does not apply "
			"when recording a baseline\n");
		return -1;
	}
	if (o->verify && base_url() &&
	    kl_verify_check_base_url(base_url(), &err) != 0) {
		fprintf(stderr, "keyleak: %s\n", err.message);
		kl_error_clear(&err);
		return -1;
	}
	return 0;
}

void cli_verify(const cli_opts *o, kl_report *r)
{
	kl_verify_opts vo = { o->verify_jobs, (long)o->verify_timeout * 1000,
			      3, base_url() };

	if (!o->verify)
		return;
	if (vo.base_url && !o->quiet)
		fprintf(stderr, "keyleak: verifying through %s (%s)\n",
			vo.base_url, BASE_URL_ENV);
	kl_verify_report(r, &vo);
	if (o->only_live)
		kl_verify_only_live(r);
}
