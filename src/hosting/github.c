/*
 * GitHub (github.com and GitHub Enterprise Server): an organisation's
 * repositories (/orgs/ORG/repos) or a user's (/users/USER/repos), 100 a
 * page, the next page named by the Link header. Rate limits: 403 or 429
 * with Retry-After (secondary limits) or X-RateLimit-Remaining: 0 with
 * X-RateLimit-Reset (the hourly budget).
 */
#include <string.h>

#include "hosting/platform.h"

static const char *const token_env[] = {
	"KEYLEAK_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN", NULL
};

static void first_url(const char *api, const char *owner, bool user,
		      kl_buf *url)
{
	kl_buf_printf(url, "%s/%s/%s/repos?per_page=100&type=%s", api,
		      user ? "users" : "orgs", owner, user ? "owner" : "all");
}

static void headers(const char *token, kl_strlist *out)
{
	kl_strlist_push(out, "Accept: application/vnd.github+json");
	kl_strlist_push(out, "X-GitHub-Api-Version: 2022-11-28");
	if (token)
		kl_host_header(out, "Authorization", "Bearer ", token);
}

static bool entry(const cJSON *item, kl_host_entry *e)
{
	const char *vis = kl_host_str(item, "visibility");

	e->name = kl_host_str(item, "full_name");
	e->clone_url = kl_host_str(item, "clone_url");
	e->fork = kl_host_bool(item, "fork");
	e->archived = kl_host_bool(item, "archived");
	e->public_ = vis ? strcmp(vis, "public") == 0
			 : !kl_host_bool(item, "private");
	return e->name && e->clone_url;
}

static bool next(const kl_http_reply *r, const char *url, size_t got,
		 size_t on_page, kl_buf *out)
{
	(void)url;
	(void)got;
	(void)on_page;
	return kl_host_link_next(r, out);
}

static long rate_wait(const kl_http_reply *r, time_t now)
{
	return kl_host_rate_wait(r, "X-RateLimit-Remaining",
				 "X-RateLimit-Reset", now);
}

/* github.com's API has a host of its own; Enterprise Server's is the
 * server's (under /api/v3). */
static const char *git_host(const char *api_host)
{
	return strcmp(api_host, "api.github.com") == 0 ? "github.com" : NULL;
}

const kl_platform kl_platform_github = {
	"github", "https://api.github.com", "/api/v3", token_env,
	"x-access-token",
	"a token that can read the organisation's repositories (a classic "
	"token with the repo scope, or a fine-grained token with read access "
	"to metadata)",
	first_url, headers, entry, next, rate_wait, git_host
};
