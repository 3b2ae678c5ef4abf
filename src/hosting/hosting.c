/*
 * Owns the listing loop every platform shares: the spec and the API URL,
 * the token (from the environment, sent only to the API's own host over
 * HTTPS), one page after another with 5xx retries and bounded rate-limit
 * waits, the filters, and the errors that name the likely cause. What
 * differs per platform (URLs, headers, fields, paging) is in github.c,
 * gitlab.c and gitea.c; the header and URL helpers they share in util.c.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hosting/platform.h"

#define PAGE_MAX_BYTES ((size_t)64 * 1024 * 1024)
#define REQUEST_TIMEOUT_MS 60000L
#define RETRIES 4               /* after a 5xx or no answer */
#define MAX_PAGES 100000

typedef struct spec_kind {
	const char *prefix;
	const kl_platform *p;
	bool user;
	const char *owner_word;
} spec_kind;

static const spec_kind kinds[] = {
	{ "github:", &kl_platform_github, false, "organisation" },
	{ "github-user:", &kl_platform_github, true, "user" },
	{ "gitlab:", &kl_platform_gitlab, false, "group" },
	{ "gitlab-user:", &kl_platform_gitlab, true, "user" },
	{ "gitea:", &kl_platform_gitea, false, "organisation" },
	{ "gitea-user:", &kl_platform_gitea, true, "user" },
	{ "forgejo:", &kl_platform_gitea, false, "organisation" },
	{ "forgejo-user:", &kl_platform_gitea, true, "user" },
};

static const spec_kind *find_kind(const char *spec)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncmp(spec, kinds[i].prefix, strlen(kinds[i].prefix)) == 0)
			return &kinds[i];
	return NULL;
}

bool kl_hosting_is_spec(const char *spec)
{
	return find_kind(spec) != NULL;
}

/* ------------------------------------------------------------ a listing */

typedef struct lister {
	const kl_platform *p;
	const spec_kind *kind;
	const kl_hosting_opts *o;
	const char *owner;
	kl_buf api;             /* without a trailing '/' */
	char *host;             /* the API's host[:port]: the token's only one */
	const char *git_host;   /* where clones may get the token */
	const char *token, *token_env;
	kl_http *http;
	void *handle;
	kl_strlist headers;
	long waited;            /* seconds of rate-limit waits so far */
	size_t got, kept, forks, archived, hidden;
} lister;

/* "platform: organisation ORG at HOST" for every message. */
static void what(const lister *l, kl_buf *b)
{
	kl_buf_printf(b, "%s: %s %s at %s", l->p->name, l->kind->owner_word,
		      l->owner, l->host);
}

/* "platform: organisation ORG at HOST: " and the message. */
static void say(const lister *l, kl_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void say(const lister *l, kl_buf *b, const char *fmt, va_list ap)
{
	what(l, b);
	kl_buf_puts(b, ": ");
	kl_buf_vprintf(b, fmt, ap);
}

static int fail(const lister *l, kl_error *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(const lister *l, kl_error *err, const char *fmt, ...)
{
	kl_buf b = KL_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	say(l, &b, fmt, ap);
	va_end(ap);
	kl_error_set(err, "%s", b.data);
	kl_buf_free(&b);
	return -1;
}

static void progress(const lister *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void progress(const lister *l, const char *fmt, ...)
{
	kl_buf b = KL_BUF_INIT;
	va_list ap;

	if (l->o->quiet)
		return;
	va_start(ap, fmt);
	say(l, &b, fmt, ap);
	va_end(ap);
	fprintf(stderr, "keyleak: %s\n", b.data);
	kl_buf_free(&b);
}

/* The API base: --api-url, KEYLEAK_<PLATFORM>_API_URL, the default; a
 * bare host given by the user gets the platform's API path (/api/v3 for
 * GitHub Enterprise Server, /api/v4, /api/v1). */
static int pick_api(lister *l, kl_error *err)
{
	kl_buf env = KL_BUF_INIT;
	const char *url = l->o->api_url, *path;
	bool given;
	size_t i;

	kl_buf_puts(&env, "KEYLEAK_");
	for (i = 0; l->p->name[i]; i++)
		kl_buf_addch(&env, (char)toupper((unsigned char)l->p->name[i]));
	kl_buf_puts(&env, "_API_URL");
	if (!url || !*url)
		url = getenv(env.data);
	given = url && *url;
	if (!given)
		url = l->p->default_api;
	if (!url) {
		kl_error_set(err, "%s: %s is self-hosted: give --api-url "
			     "https://HOST (or set %s)", l->kind->prefix,
			     l->p->name, env.data);
		kl_buf_free(&env);
		return -1;
	}
	kl_buf_free(&env);
	if (kl_hosting_check_api_url(url, err) < 0)
		return -1;
	kl_buf_puts(&l->api, url);
	while (l->api.len && l->api.data[l->api.len - 1] == '/')
		l->api.data[--l->api.len] = '\0';
	path = strstr(l->api.data, "://") + 3;
	if (given && !strchr(path, '/') && !(l->p->default_api &&
	    strcasecmp(l->api.data, l->p->default_api) == 0))
		kl_buf_puts(&l->api, l->p->api_path);
	l->host = kl_host_authority(l->api.data);
	return 0;
}

static void pick_token(lister *l)
{
	const char *const *name;
	const char *v;

	for (name = l->p->token_env; *name; name++) {
		v = getenv(*name);
		if (v && *v) {
			l->token = v;
			l->token_env = *name;
			return;
		}
	}
}

/* An owner is a name (GitLab: a path of names): escaped for the URL. */
static void escape_owner(const char *owner, kl_buf *out)
{
	const unsigned char *s = (const unsigned char *)owner;

	for (; *s; s++) {
		if (isalnum(*s) || strchr("-_.~", *s))
			kl_buf_addch(out, (char)*s);
		else
			kl_buf_printf(out, "%%%02X", *s);
	}
}

static void sleep_seconds(long s)
{
	struct timespec ts = { s, 0 };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* Wait out a rate limit within --rate-limit-wait, or say why not. */
static int wait_limit(lister *l, long w, size_t page, kl_error *err)
{
	if (w < 1)
		w = 1;
	if (l->waited + w > l->o->max_wait) {
		return fail(l, err, "rate limited (it lifts in %ld s, past "
			    "--rate-limit-wait %ld)%s%s", w, l->o->max_wait,
			    l->token ? "" : "; a token raises the limit: set ",
			    l->token ? "" : l->p->token_env[1]);
	}
	progress(l, "rate limited; waiting %ld s before page %zu", w, page);
	sleep_seconds(w);
	l->waited += w;
	return 0;
}

static const char *token_words(const lister *l)
{
	return l->token ? "the token" : "no token was given, and anonymous "
				       "access";
}

/* The likely cause of a refusal, without the token. */
static int refused(lister *l, long status, kl_error *err)
{
	kl_buf why = KL_BUF_INIT;
	int rc;

	if (status == 401 && l->token)
		kl_buf_printf(&why, "401 Unauthorized: the token from %s was "
			      "refused (expired, revoked or mistyped); it "
			      "needs %s", l->token_env, l->p->scope_hint);
	else if (status == 401)
		kl_buf_printf(&why, "401 Unauthorized: this server wants a "
			      "token: set %s to %s", l->p->token_env[1],
			      l->p->scope_hint);
	else if (status == 403)
		kl_buf_printf(&why, "403 Forbidden: %s cannot read this %s's "
			      "repositories (SSO not authorised, or the token "
			      "lacks scope); it needs %s",
			      l->token ? l->token_env : "anonymous access",
			      l->kind->owner_word, l->p->scope_hint);
	else
		kl_buf_printf(&why, "404 Not Found: no such %s, or it is "
			      "private and %s cannot see it%s%s (check the "
			      "name and --api-url)", l->kind->owner_word,
			      token_words(l), l->token ? "" : "; set ",
			      l->token ? "" : l->p->token_env[1]);
	rc = fail(l, err, "%s", why.data);
	kl_buf_free(&why);
	return rc;
}

/* GET one page, retrying a 5xx or a failed connection with backoff and
 * waiting out rate limits; 0 with a 2xx reply. */
static int get_page(lister *l, const char *url, size_t page,
		    kl_http_reply *r, kl_error *err)
{
	long backoff = 1, w;
	int tries = 0;

	for (;;) {
		kl_http_get(l->http, l->handle, url, &l->headers,
			    strncmp(url, "http://", 7) == 0,
			    REQUEST_TIMEOUT_MS, PAGE_MAX_BYTES, r);
		if (r->curl_code == 0 && r->truncated)
			return fail(l, err, "page %zu is larger than %zu MiB",
				    page, PAGE_MAX_BYTES >> 20);
		if (r->curl_code == 0 && r->status >= 200 && r->status < 300)
			return 0;
		if (r->curl_code == 0 && (r->status == 403 || r->status == 429) &&
		    (w = l->p->rate_wait(r, time(NULL))) >= 0) {
			kl_http_reply_free(r);
			if (wait_limit(l, w, page, err) < 0)
				return -1;
			continue;
		}
		if ((r->curl_code || r->status >= 500) && tries++ < RETRIES) {
			if (r->curl_code)
				progress(l, "no answer (%s); retrying in %ld s",
					 r->error.data, backoff);
			else
				progress(l, "HTTP %ld on page %zu; retrying in "
					 "%ld s", r->status, page, backoff);
			kl_http_reply_free(r);
			sleep_seconds(backoff);
			backoff *= 2;
			continue;
		}
		if (r->curl_code)
			return fail(l, err, "cannot reach the API: %s",
				    r->error.data);
		if (r->status == 401 || r->status == 403 || r->status == 404)
			return refused(l, r->status, err);
		return fail(l, err, "HTTP %ld on page %zu", r->status, page);
	}
}

/* The start of a body that is not JSON, printable, for the message. */
static void body_start(const kl_http_reply *r, kl_buf *out)
{
	size_t i;

	for (i = 0; i < r->body.len && i < 40; i++) {
		unsigned char c = (unsigned char)r->body.data[i];

		kl_buf_addch(out, c >= 0x20 && c < 0x7f ? (char)c : '?');
	}
}

static bool name_matches(const char *pattern, const char *full)
{
	const char *last = strrchr(full, '/');

	if (strchr(pattern, '/'))
		return fnmatch(pattern, full, 0) == 0;
	return fnmatch(pattern, last ? last + 1 : full, 0) == 0;
}

static bool any_matches(const kl_strlist *pats, const char *full)
{
	size_t i;

	for (i = 0; pats && i < pats->len; i++)
		if (name_matches(pats->items[i], full))
			return true;
	return false;
}

static bool wanted(lister *l, const kl_host_entry *e)
{
	const kl_hosting_opts *o = l->o;

	if (e->fork && !o->include_forks) {
		l->forks++;
		return false;
	}
	if (e->archived && !o->include_archived) {
		l->archived++;
		return false;
	}
	if ((o->visibility == KL_VIS_PUBLIC && !e->public_) ||
	    (o->visibility == KL_VIS_PRIVATE && e->public_) ||
	    (o->include && o->include->len &&
	     !any_matches(o->include, e->name)) ||
	    any_matches(o->exclude, e->name)) {
		l->hidden++;
		return false;
	}
	return true;
}

/* The token follows a clone only to the platform's own git host, over
 * HTTPS (or HTTP on this machine, for tests). */
static bool clone_gets_token(const lister *l, const char *url)
{
	char *auth;
	bool ok;

	if (!l->token || !kl_host_transport_ok(url))
		return false;
	auth = kl_host_authority(url);
	ok = strcmp(auth, l->git_host) == 0;
	free(auth);
	return ok;
}

static int add_entry(lister *l, const kl_host_entry *e, kl_hosted_list *out,
		     kl_error *err)
{
	kl_hosted_repo *h;
	size_t i;

	for (i = 0; e->clone_url[i]; i++)
		if ((unsigned char)e->clone_url[i] < 0x20 ||
		    e->clone_url[i] == 0x7f)
			return fail(l, err, "the clone URL of %s holds a control "
				    "character", e->name);
	if (!wanted(l, e))
		return 0;
	if (out->len == out->cap) {
		out->cap = out->cap ? out->cap * 2 : 256;
		out->items = kl_xrealloc(out->items,
					 out->cap * sizeof(*out->items));
	}
	h = &out->items[out->len++];
	h->name = kl_xstrdup(e->name);
	h->clone_url = kl_xstrdup(e->clone_url);
	h->token = clone_gets_token(l, e->clone_url) ? l->token : NULL;
	h->token_user = h->token ? l->p->git_user : NULL;
	l->kept++;
	return 0;
}

/* One page's entries; the count on the page through *n. */
static int take_page(lister *l, const kl_http_reply *r, size_t page,
		     kl_hosted_list *out, size_t *n, kl_error *err)
{
	cJSON *json = cJSON_ParseWithLength(r->body.data ? r->body.data : "",
					    r->body.len);
	const cJSON *item;
	kl_host_entry e;
	kl_buf start = KL_BUF_INIT;
	int rc = 0;

	*n = 0;
	if (!cJSON_IsArray(json)) {
		body_start(r, &start);
		rc = fail(l, err, "page %zu is not a JSON list of repositories "
			  "(it starts \"%s\"): is --api-url the API's address?",
			  page, start.data ? start.data : "");
		kl_buf_free(&start);
		cJSON_Delete(json);
		return rc;
	}
	cJSON_ArrayForEach(item, json) {
		memset(&e, 0, sizeof(e));
		if (!l->p->entry(item, &e)) {
			rc = fail(l, err, "entry %zu of page %zu lacks a name or "
				  "a clone URL", *n + 1, page);
			break;
		}
		(*n)++;
		l->got++;
		if ((rc = add_entry(l, &e, out, err)) < 0)
			break;
	}
	cJSON_Delete(json);
	return rc;
}

/* A next page elsewhere would take the token with it. */
static int check_next(lister *l, const char *url, const char *next,
		      kl_error *err)
{
	char *auth = kl_host_authority(next);
	bool same = strcmp(auth, l->host) == 0 &&
		    strncmp(next, l->api.data, strcspn(l->api.data, ":")) == 0;

	free(auth);
	if (!same)
		return fail(l, err, "the next page is on another host or "
			    "scheme; not followed (the token stays with %s)",
			    l->host);
	if (strcmp(url, next) == 0)
		return fail(l, err, "the next page is the same page again");
	return 0;
}

static int list_pages(lister *l, kl_hosted_list *out, kl_error *err)
{
	kl_buf url = KL_BUF_INIT, next = KL_BUF_INIT, owner = KL_BUF_INIT;
	kl_http_reply r;
	size_t page, n = 0;
	int rc = 0;

	escape_owner(l->owner, &owner);
	l->p->first_url(l->api.data, owner.data, l->kind->user, &url);
	for (page = 1; rc == 0 && page <= MAX_PAGES; page++) {
		if (get_page(l, url.data, page, &r, err) < 0) {
			kl_http_reply_free(&r);
			rc = -1;
			break;
		}
		rc = take_page(l, &r, page, out, &n, err);
		if (rc == 0 && !l->p->next(&r, url.data, l->got, n, &next)) {
			kl_http_reply_free(&r);
			break;
		}
		kl_http_reply_free(&r);
		if (rc == 0)
			rc = check_next(l, url.data, next.data, err);
		kl_buf_reset(&url);
		kl_buf_puts(&url, next.data ? next.data : "");
	}
	if (rc == 0 && page > MAX_PAGES)
		rc = fail(l, err, "more than %d pages", MAX_PAGES);
	kl_buf_free(&url);
	kl_buf_free(&next);
	kl_buf_free(&owner);
	return rc;
}

static int open_lister(lister *l, const char *spec, kl_error *err)
{
	const char *gh;

	l->kind = find_kind(spec);
	if (!l->kind) {
		kl_error_set(err, "%s: expected github:ORG, github-user:USER, "
			     "gitlab:GROUP, gitlab-user:USER, gitea:ORG or "
			     "gitea-user:USER", spec);
		return -1;
	}
	l->p = l->kind->p;
	l->owner = spec + strlen(l->kind->prefix);
	if (!*l->owner || strchr(l->owner, '?') || strchr(l->owner, '#') ||
	    (!l->kind->user && l->p != &kl_platform_gitlab &&
	     strchr(l->owner, '/'))) {
		kl_error_set(err, "%s: name the %s after '%s'", spec,
			     l->kind->owner_word, l->kind->prefix);
		return -1;
	}
	if (pick_api(l, err) < 0)
		return -1;
	gh = l->p->git_host ? l->p->git_host(l->host) : NULL;
	l->git_host = gh ? gh : l->host;
	pick_token(l);
	l->p->headers(l->token, &l->headers);
	l->http = kl_http_open(err);
	if (!l->http)
		return -1;
	l->handle = kl_http_handle_new(l->http);
	if (!l->handle) {
		kl_error_set(err, "libcurl could not make a connection handle");
		return -1;
	}
	return 0;
}

static void close_lister(lister *l)
{
	size_t i;

	for (i = 0; i < l->headers.len; i++)
		memset(l->headers.items[i], 0, strlen(l->headers.items[i]));
	kl_strlist_free(&l->headers);
	if (l->http) {
		kl_http_handle_free(l->http, l->handle);
		kl_http_close(l->http);
	}
	kl_buf_free(&l->api);
	free(l->host);
}

int kl_hosting_list(const char *spec, const kl_hosting_opts *o,
		    kl_hosted_list *out, kl_error *err)
{
	lister l;
	int rc;

	memset(&l, 0, sizeof(l));
	l.o = o;
	rc = open_lister(&l, spec, err);
	if (rc == 0)
		rc = list_pages(&l, out, err);
	if (rc == 0)
		progress(&l, "%zu repositories listed, %zu kept (skipped: %zu "
			 "forks, %zu archived, %zu by visibility or name)",
			 l.got, l.kept, l.forks, l.archived, l.hidden);
	close_lister(&l);
	return rc;
}

/* ------------------------------------------------------------ the list */

static int cmp_url(const void *a, const void *b)
{
	return strcmp(((const kl_hosted_repo *)a)->clone_url,
		      ((const kl_hosted_repo *)b)->clone_url);
}

void kl_hosted_sort(kl_hosted_list *l)
{
	size_t i, k = 0;

	if (l->len)
		qsort(l->items, l->len, sizeof(*l->items), cmp_url);
	for (i = 0; i < l->len; i++) {
		if (k && strcmp(l->items[k - 1].clone_url,
				l->items[i].clone_url) == 0) {
			free(l->items[i].name);
			free(l->items[i].clone_url);
			continue;
		}
		l->items[k++] = l->items[i];
	}
	l->len = k;
}

void kl_hosted_free(kl_hosted_list *l)
{
	size_t i;

	for (i = 0; i < l->len; i++) {
		free(l->items[i].name);
		free(l->items[i].clone_url);
	}
	free(l->items);
	memset(l, 0, sizeof(*l));
}
