/*
 * Inside src/hosting/: what each platform file (github.c, gitlab.c,
 * gitea.c) supplies to the one listing loop in hosting.c, and the helpers
 * they share for the headers every API uses in its own way.
 */
#ifndef KL_HOSTING_PLATFORM_H
#define KL_HOSTING_PLATFORM_H

#include <cjson/cJSON.h>
#include <time.h>

#include "hosting/hosting.h"
#include "util/http.h"

/* One entry of a listing page, before the filters. */
typedef struct kl_host_entry {
	const char *name;       /* points into the page's JSON */
	const char *clone_url;
	bool fork, archived, public_;
} kl_host_entry;

typedef struct kl_platform {
	const char *name;         /* "github", in messages */
	const char *default_api;  /* NULL: --api-url is required */
	const char *api_path;     /* added to an --api-url without a path */
	const char *const *token_env; /* NULL-terminated, first set wins */
	const char *git_user;     /* the clone's user name with the token */
	const char *scope_hint;   /* what a token needs, for 401/403/404 */
	/* The first page's URL for owner (escaped by the caller). */
	void (*first_url)(const char *api, const char *owner, bool user,
			  kl_buf *url);
	/* The request's header lines; the credential's only when token. */
	void (*headers)(const char *token, kl_strlist *out);
	/* Entry i of a page (an array), false when it lacks what is needed. */
	bool (*entry)(const cJSON *item, kl_host_entry *e);
	/* The next page's URL, false after the last. got: entries so far. */
	bool (*next)(const kl_http_reply *r, const char *url, size_t got,
		     size_t on_page, kl_buf *next);
	/* Seconds until the limit resets when r says "rate limited", else -1. */
	long (*rate_wait)(const kl_http_reply *r, time_t now);
	/* The host clone URLs live on, from the API's ("api.github.com" ->
	 * "github.com"); NULL (or no function): the API's own. */
	const char *(*git_host)(const char *api_host);
} kl_platform;

extern const kl_platform kl_platform_github;
extern const kl_platform kl_platform_gitlab;
extern const kl_platform kl_platform_gitea;

/* Link: <...>; rel="next" -> next (true when there is one). */
bool kl_host_link_next(const kl_http_reply *r, kl_buf *next);
/* A header's value as a number; -1 when absent or not a number. */
long long kl_host_header_num(const kl_http_reply *r, const char *name);
/* Retry-After (seconds or an HTTP date), -1 when absent. */
long kl_host_retry_after(const kl_http_reply *r, time_t now);
/* How long a 403/429 asks to wait, -1 when it is no rate limit:
 * Retry-After, else reset_hdr (epoch seconds) when remaining_hdr is 0,
 * else a minute for a 429 that says nothing of its end. */
long kl_host_rate_wait(const kl_http_reply *r, const char *remaining_hdr,
		       const char *reset_hdr, time_t now);
/* url with its query parameter name set to value (added or replaced);
 * the parameter's value in url, or dflt when absent. */
void kl_host_set_param(const char *url, const char *name, long value,
		       kl_buf *out);
long kl_host_get_param(const char *url, const char *name, long dflt);
/* "Name: <scheme>value" pushed onto out; the line is wiped after the
 * copy (value is a token). */
void kl_host_header(kl_strlist *out, const char *name, const char *scheme,
		    const char *value);
/* "host[:port]" of a URL, lowercased, without user info. Caller frees. */
char *kl_host_authority(const char *url);
/* HTTPS, or plain HTTP to a loopback address literal or localhost. */
bool kl_host_transport_ok(const char *url);
/* A JSON field as a string / a bool (false when absent). */
const char *kl_host_str(const cJSON *o, const char *key);
bool kl_host_bool(const cJSON *o, const char *key);

#endif
