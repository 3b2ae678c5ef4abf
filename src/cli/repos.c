/*
 * `keyleak repos SPEC...`: a hosting platform's repositories as the list
 * `audit --repos` reads (one clone URL a line, sorted), and the same
 * listing for `audit --repos-from`. The listing itself is src/hosting/'s.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "hosting/hosting.h"

int cli_list_hosted(const cli_opts *o, const kl_strlist *specs,
		    kl_hosted_list *out)
{
	kl_hosting_opts ho = {
		o->api_url, o->include_forks, o->include_archived,
		(kl_visibility)o->visibility, &o->include_names,
		&o->exclude_names, o->rate_limit_wait, o->quiet
	};
	kl_error err = { 0 };
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < specs->len; i++) {
		if (kl_hosting_list(specs->items[i], &ho, out, &err) < 0) {
			fprintf(stderr, "keyleak: %s\n", err.message);
			kl_error_clear(&err);
			kl_hosted_free(out);
			return -1;
		}
	}
	kl_hosted_sort(out);
	return 0;
}

int cmd_repos(cli_opts *o)
{
	kl_strlist specs = { 0 };
	kl_hosted_list hosted;
	kl_buf text = KL_BUF_INIT;
	kl_error err = { 0 };
	size_t i;
	int rc = KL_EXIT_CLEAN;

	kl_strlist_push(&specs, o->path);
	for (i = 0; i < o->revs.len; i++)
		kl_strlist_push(&specs, o->revs.items[i]);
	if (cli_list_hosted(o, &specs, &hosted) < 0) {
		kl_strlist_free(&specs);
		return KL_EXIT_ERROR;
	}
	for (i = 0; i < hosted.len; i++)
		kl_buf_printf(&text, "%s\n", hosted.items[i].clone_url);
	if (o->output) {
		if (kl_write_file_atomic(o->output, text.data ? text.data : "",
					 text.len, &err) < 0) {
			fprintf(stderr, "keyleak: %s\n", err.message);
			rc = KL_EXIT_ERROR;
		}
	} else if (fwrite(text.data ? text.data : "", 1, text.len, stdout) !=
		   text.len || fflush(stdout) != 0) {
		fprintf(stderr, "keyleak: repos: cannot write to stdout\n");
		rc = KL_EXIT_ERROR;
	}
	kl_error_clear(&err);
	kl_buf_free(&text);
	kl_hosted_free(&hosted);
	kl_strlist_free(&specs);
	return rc;
}
