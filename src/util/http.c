/*
 * Owns keyleak's only network client: libcurl, its loading, the settings
 * every request gets (HTTPS only unless a caller allows HTTP, certificates
 * verified, redirects never followed, proxies from the standard
 * environment variables, no cookies, no .netrc) and a plain GET for the
 * hosting platforms' listings. --verify builds its requests on top.
 *
 * libcurl is loaded with dlopen the first time a command needs it: linked
 * in, it and the twenty libraries it pulls (TLS, Kerberos, LDAP, ...) cost
 * every keyleak run about 4.5 ms of CPU at start-up, a tenth of a
 * pre-commit scan, for features few runs use.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/http.h"

#define LIBCURL_SONAME "libcurl.so.4"
#define MAX_HEADER_BYTES ((size_t)256 * 1024)

/* dlsym into a typed function pointer: POSIX requires the two to have
 * the same representation. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
	       "function pointers must fit dlsym's void *");

static bool load_one(void *dl, const char *name, void *slot)
{
	void *sym = dlsym(dl, name);

	memcpy(slot, &sym, sizeof(sym));
	return sym != NULL;
}

#define LOAD(lib, dl, field, name) load_one((dl), (name), &(lib)->field)

static bool load_symbols(kl_http *h, void *dl)
{
	LOAD(h, dl, easy_header, "curl_easy_header");
	return LOAD(h, dl, global_init, "curl_global_init") &&
	       LOAD(h, dl, global_cleanup, "curl_global_cleanup") &&
	       LOAD(h, dl, easy_init, "curl_easy_init") &&
	       LOAD(h, dl, easy_cleanup, "curl_easy_cleanup") &&
	       LOAD(h, dl, easy_reset, "curl_easy_reset") &&
	       LOAD(h, dl, easy_setopt, "curl_easy_setopt") &&
	       LOAD(h, dl, easy_perform, "curl_easy_perform") &&
	       LOAD(h, dl, easy_getinfo, "curl_easy_getinfo") &&
	       LOAD(h, dl, easy_strerror, "curl_easy_strerror") &&
	       LOAD(h, dl, easy_escape, "curl_easy_escape") &&
	       LOAD(h, dl, free, "curl_free") &&
	       LOAD(h, dl, slist_append, "curl_slist_append") &&
	       LOAD(h, dl, slist_free_all, "curl_slist_free_all");
}

/*
 * The library stays loaded until the process exits: OpenSSL, under it,
 * registers exit handlers that must not outlive its code.
 */
kl_http *kl_http_open(kl_error *err)
{
	void *dl = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	kl_http *h;

	if (!dl) {
		kl_error_set(err, "libcurl is not installed (%s): %s",
			     LIBCURL_SONAME, dlerror());
		return NULL;
	}
	h = kl_xcalloc(1, sizeof(*h));
	if (!load_symbols(h, dl)) {
		kl_error_set(err, "%s lacks a function keyleak needs",
			     LIBCURL_SONAME);
		free(h);
		dlclose(dl);
		return NULL;
	}
	if (h->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		kl_error_set(err, "libcurl could not initialise");
		free(h);
		return NULL;
	}
	return h;
}

int kl_http_curl_version(const char **version, const char **ssl)
{
	void *dl = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	curl_version_info_data *(*info)(CURLversion) = NULL;
	const curl_version_info_data *v;

	if (!dl)
		return -1;
	if (!load_one(dl, "curl_version_info", &info)) {
		dlclose(dl);
		return -1;
	}
	/* Stays loaded, like kl_http_open's: the strings live in it. */
	v = info(CURLVERSION_NOW);
	*version = v->version;
	*ssl = v->ssl_version;
	return 0;
}

void kl_http_close(kl_http *h)
{
	if (!h)
		return;
	h->global_cleanup();
	free(h);
}

void *kl_http_handle_new(const kl_http *h)
{
	return h->easy_init();
}

void kl_http_handle_free(const kl_http *h, void *handle)
{
	if (handle)
		h->easy_cleanup(handle);
}

/* Only HTTPS (and HTTP when allowed), also for redirects, which are never
 * followed anyway. libcurl older than 7.85 refuses the setting. */
static CURLcode set_protocols(const kl_http *lib, CURL *h, bool allow_http)
{
	const char *names = allow_http ? "http,https" : "https";
	CURLcode rc = lib->easy_setopt(h, CURLOPT_PROTOCOLS_STR, names);

	return rc ? rc : lib->easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, names);
}

CURLcode kl_http_safe_setup(const kl_http *lib, CURL *h, bool allow_http,
			    long timeout_ms, const char *agent, char *errbuf)
{
	CURLcode rc;

	lib->easy_reset(h);
	lib->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	rc = set_protocols(lib, h, allow_http);
	if (!rc)
		rc = lib->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (!rc)
		rc = lib->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	if (!rc)
		rc = lib->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (!rc)
		rc = lib->easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads */
	if (!rc)
		rc = lib->easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (!rc)
		rc = lib->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	lib->easy_setopt(h, CURLOPT_USERAGENT, agent);
	return rc;
}

/* ------------------------------------------------------------ GET */

typedef struct sink {
	kl_buf *buf;
	size_t max;
	bool *truncated;
} sink;

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	sink *s = ctx;
	size_t len = size * n;

	if (s->buf->len + len > s->max) {
		*s->truncated = true;
		return 0; /* abort: a page past the bound is an error anyway */
	}
	kl_buf_add(s->buf, data, len);
	return len;
}

/* Header lines of the last response only (an interim "100 Continue" has
 * its own status line, which starts the list again). */
static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	kl_buf *h = ctx;
	size_t len = size * n;

	if (len >= 5 && strncmp(data, "HTTP/", 5) == 0)
		kl_buf_reset(h);
	if (h->len + len <= MAX_HEADER_BYTES)
		kl_buf_add(h, data, len);
	return len;
}

void kl_http_reply_free(kl_http_reply *r)
{
	kl_buf_free(&r->body);
	kl_buf_free(&r->headers);
	kl_buf_free(&r->error);
}

static struct curl_slist *header_list(const kl_http *lib,
				      const kl_strlist *headers)
{
	struct curl_slist *list = NULL;
	size_t i;

	for (i = 0; headers && i < headers->len; i++) {
		list = lib->slist_append(list, headers->items[i]);
		if (!list)
			abort();
	}
	return list;
}

void kl_http_slist_wipe(const kl_http *lib, struct curl_slist *list)
{
	struct curl_slist *l;

	for (l = list; l; l = l->next)
		memset(l->data, 0, strlen(l->data));
	lib->slist_free_all(list);
}

void kl_http_get(const kl_http *lib, void *handle, const char *url,
		 const kl_strlist *headers, bool allow_http, long timeout_ms,
		 size_t max_body, kl_http_reply *r)
{
	CURL *h = handle;
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *list;
	sink body;
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	body = (sink){ &r->body, max_body, &r->truncated };
	rc = kl_http_safe_setup(lib, h, allow_http, timeout_ms,
				"keyleak/" KL_VERSION, errbuf);
	if (rc) {
		r->curl_code = (int)rc;
		kl_buf_printf(&r->error, "libcurl refused a safety setting: %s",
			      lib->easy_strerror(rc));
		return;
	}
	list = header_list(lib, headers);
	lib->easy_setopt(h, CURLOPT_HTTPGET, 1L);
	lib->easy_setopt(h, CURLOPT_URL, url);
	lib->easy_setopt(h, CURLOPT_HTTPHEADER, list);
	lib->easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* what libcurl has */
	lib->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	lib->easy_setopt(h, CURLOPT_WRITEDATA, &body);
	lib->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	lib->easy_setopt(h, CURLOPT_HEADERDATA, &r->headers);
	rc = lib->easy_perform(h);
	r->curl_code = (int)rc;
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && r->truncated)) {
		lib->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
		r->curl_code = 0;
	} else {
		kl_buf_puts(&r->error, *errbuf ? errbuf : lib->easy_strerror(rc));
	}
	/* The handle keeps its options: drop the credential from them now. */
	lib->easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	lib->easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	kl_http_slist_wipe(lib, list);
}

char *kl_http_reply_header(const kl_http_reply *r, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = r->headers.data, *end, *v, *ve;

	for (; p && *p; p = *end ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		if ((size_t)(end - p) <= nlen || p[nlen] != ':' ||
		    strncasecmp(p, name, nlen) != 0)
			continue;
		v = p + nlen + 1;
		ve = end;
		while (v < ve && isspace((unsigned char)*v))
			v++;
		while (ve > v && isspace((unsigned char)ve[-1]))
			ve--;
		return kl_xstrndup(v, (size_t)(ve - v));
	}
	return NULL;
}
