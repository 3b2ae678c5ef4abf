/*
 * GitLab (gitlab.com and self-managed): a group's projects with its
 * subgroups' (/groups/GROUP/projects?include_subgroups=true) or a user's,
 * 100 a page in id order; the next page from the Link header (keyset
 * pagination) or else X-Next-Page. Rate limits: 429 with Retry-After or
 * RateLimit-Remaining: 0 with RateLimit-Reset.
 */
#include <string.h>

#include "hosting/platform.h"

static const char *const token_env[] = {
	"KEYLEAK_GITLAB_TOKEN", "GITLAB_TOKEN", NULL
};

static void first_url(const char *api, const char *owner, bool user,
		      kl_buf *url)
{
	kl_buf_printf(url, "%s/%s/%s/projects?per_page=100&order_by=id&"
		      "sort=asc%s", api, user ? "users" : "groups", owner,
		      user ? "" : "&include_subgroups=true");
}

static void headers(const char *token, kl_strlist *out)
{
	if (token)
		kl_host_header(out, "PRIVATE-TOKEN", "", token);
}

static bool entry(const cJSON *item, kl_host_entry *e)
{
	const char *vis = kl_host_str(item, "visibility");

	e->name = kl_host_str(item, "path_with_namespace");
	e->clone_url = kl_host_str(item, "http_url_to_repo");
	e->fork = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(
		item, "forked_from_project"));
	e->archived = kl_host_bool(item, "archived");
	e->public_ = vis && strcmp(vis, "public") == 0; /* not internal */
	return e->name && e->clone_url;
}

static bool next(const kl_http_reply *r, const char *url, size_t got,
		 size_t on_page, kl_buf *out)
{
	long long page = kl_host_header_num(r, "X-Next-Page");

	(void)got;
	if (kl_host_link_next(r, out))
		return true;
	if (page <= 0 || on_page == 0)
		return false;
	kl_host_set_param(url, "page", (long)page, out);
	return true;
}

static long rate_wait(const kl_http_reply *r, time_t now)
{
	return kl_host_rate_wait(r, "RateLimit-Remaining", "RateLimit-Reset",
				 now);
}

const kl_platform kl_platform_gitlab = {
	"gitlab", "https://gitlab.com/api/v4", "/api/v4", token_env, "oauth2",
	"a token with the read_api scope (and read_repository to clone)",
	first_url, headers, entry, next, rate_wait, NULL
};
