/*
 * Gitea and Forgejo (the same API, always self-hosted: --api-url is
 * required): an organisation's repositories (/orgs/ORG/repos) or a
 * user's, 50 a page (the servers' usual maximum) counted with page=N
 * until X-Total-Count is reached or a page comes back empty.
 */
#include <string.h>

#include "hosting/platform.h"

static const char *const token_env[] = {
	"KEYLEAK_GITEA_TOKEN", "GITEA_TOKEN", "FORGEJO_TOKEN", NULL
};

static void first_url(const char *api, const char *owner, bool user,
		      kl_buf *url)
{
	kl_buf_printf(url, "%s/%s/%s/repos?limit=50&page=1", api,
		      user ? "users" : "orgs", owner);
}

static void headers(const char *token, kl_strlist *out)
{
	if (token)
		kl_host_header(out, "Authorization", "token ", token);
}

static bool entry(const cJSON *item, kl_host_entry *e)
{
	e->name = kl_host_str(item, "full_name");
	e->clone_url = kl_host_str(item, "clone_url");
	e->fork = kl_host_bool(item, "fork");
	e->archived = kl_host_bool(item, "archived");
	e->public_ = !kl_host_bool(item, "private") &&
		     !kl_host_bool(item, "internal");
	return e->name && e->clone_url;
}

/* Counting pages, not following Link: a server that caps limit lower
 * still numbers its pages by the size it uses. */
static bool next(const kl_http_reply *r, const char *url, size_t got,
		 size_t on_page, kl_buf *out)
{
	long long total = kl_host_header_num(r, "X-Total-Count");

	if (on_page == 0 || (total >= 0 && got >= (size_t)total))
		return false;
	kl_host_set_param(url, "page", kl_host_get_param(url, "page", 1) + 1,
			  out);
	return true;
}

static long rate_wait(const kl_http_reply *r, time_t now)
{
	return kl_host_rate_wait(r, "X-RateLimit-Remaining",
				 "X-RateLimit-Reset", now);
}

const kl_platform kl_platform_gitea = {
	"gitea", NULL, "/api/v1", token_env, "oauth2",
	"a token with the read:organization and read:repository scopes",
	first_url, headers, entry, next, rate_wait, NULL
};
