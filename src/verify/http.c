/*
 * Owns keyleak's only network code: one read-only request per call with
 * libcurl. HTTPS only (plain HTTP only through KEYLEAK_VERIFY_BASE_URL),
 * certificates always verified, redirects never followed (the secret must
 * not travel to a host the rule does not name), proxies from the standard
 * environment variables, no cookies, no .netrc.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "verify/verify.h"

#define PLACEHOLDER "{secret}"

void kl_http_answer_free(kl_http_answer *a)
{
	kl_buf_free(&a->body);
	kl_buf_free(&a->error);
}

bool kl_http_timed_out(int curl_code)
{
	return curl_code == CURLE_OPERATION_TIMEDOUT;
}

/* Replace every PLACEHOLDER in tmpl with value. */
static void substitute(kl_buf *out, const char *tmpl, const char *value)
{
	const char *p = tmpl, *hit;

	while ((hit = strstr(p, PLACEHOLDER))) {
		kl_buf_add(out, p, (size_t)(hit - p));
		kl_buf_puts(out, value);
		p = hit + strlen(PLACEHOLDER);
	}
	kl_buf_puts(out, p);
}

/* The rule's URL with the query's secret URL-encoded and, with a base
 * URL, its scheme, host and port replaced (path and query kept). */
static void build_url(CURL *h, const kl_verifier *v, const char *secret,
		      const char *base, kl_buf *out)
{
	char *escaped = curl_easy_escape(h, secret, 0);
	kl_buf full = KL_BUF_INIT;
	const char *rest;
	size_t n;

	substitute(&full, v->url, escaped ? escaped : "");
	if (escaped) {
		memset(escaped, 0, strlen(escaped));
		curl_free(escaped);
	}
	if (!base) {
		kl_buf_add(out, full.data, full.len);
	} else {
		rest = full.data + strlen("https://");
		rest += strcspn(rest, "/?");
		n = strlen(base);
		while (n && base[n - 1] == '/')
			n--;
		kl_buf_add(out, base, n);
		if (*rest != '/')
			kl_buf_addch(out, '/');
		kl_buf_puts(out, rest);
	}
	memset(full.data, 0, full.len);
	kl_buf_free(&full);
}

static struct curl_slist *build_headers(const kl_verifier *v,
					const char *secret)
{
	struct curl_slist *list = NULL, *next;
	kl_buf line = KL_BUF_INIT;
	size_t i;

	for (i = 0; i < v->headers.len; i++) {
		kl_buf_reset(&line);
		substitute(&line, v->headers.items[i], secret);
		next = curl_slist_append(list, line.data);
		memset(line.data, 0, line.len);
		if (!next)
			abort();
		list = next;
	}
	/* No "Expect: 100-continue" dance for an empty POST. */
	list = curl_slist_append(list, "Expect:");
	if (!list)
		abort();
	kl_buf_free(&line);
	return list;
}

static void wipe_headers(struct curl_slist *list)
{
	struct curl_slist *l;

	for (l = list; l; l = l->next)
		memset(l->data, 0, strlen(l->data));
	curl_slist_free_all(list);
}

/* Keep the start of the body; the rest is read and dropped, bounded by
 * the request's timeout. */
static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	kl_buf *body = ctx;
	size_t len = size * n, room;

	if (body->len < KL_VERIFY_BODY_MAX) {
		room = KL_VERIFY_BODY_MAX - body->len;
		kl_buf_add(body, data, len < room ? len : room);
	}
	return len;
}

static void set_protocols(CURL *h, bool allow_http)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR,
			 allow_http ? "http,https" : "https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
			 allow_http ? "http,https" : "https");
#else
	long p = CURLPROTO_HTTPS | (allow_http ? CURLPROTO_HTTP : 0);

	curl_easy_setopt(h, CURLOPT_PROTOCOLS, p);
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, p);
#endif
}

static void set_method(CURL *h, const char *method)
{
	if (strcmp(method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
}

static void setup(CURL *h, const kl_verify_opts *o, kl_http_answer *a,
		  char *errbuf)
{
	curl_easy_reset(h);
	set_protocols(h, o->base_url != NULL);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); /* threads */
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "keyleak/" KL_VERSION
			 " (secret verification)");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &a->body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
}

static long retry_after(CURL *h)
{
#if LIBCURL_VERSION_NUM >= 0x075300
	struct curl_header *hdr;
	char *end;
	long v;

	if (curl_easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hdr) !=
	    CURLHE_OK)
		return -1;
	v = strtol(hdr->value, &end, 10);
	return end != hdr->value && *end == '\0' && v >= 0 ? v : -1;
#else
	(void)h;
	return -1;
#endif
}

void kl_http_request(void *handle, const kl_verifier *v, const char *secret,
		     const kl_verify_opts *o, kl_http_answer *a)
{
	CURL *h = handle;
	char errbuf[CURL_ERROR_SIZE] = "";
	kl_buf url = KL_BUF_INIT;
	struct curl_slist *headers;
	CURLcode rc;

	memset(a, 0, sizeof(*a));
	a->retry_after = -1;
	setup(h, o, a, errbuf);
	set_method(h, v->method);
	build_url(h, v, secret, o->base_url, &url);
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	headers = build_headers(v, secret);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	rc = curl_easy_perform(h);
	a->curl_code = (int)rc;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
		a->retry_after = retry_after(h);
	} else {
		kl_buf_puts(&a->error, *errbuf ? errbuf : curl_easy_strerror(rc));
	}
	/* The handle keeps its options: drop the secret from them now. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_URL, "");
	wipe_headers(headers);
	memset(url.data, 0, url.len);
	kl_buf_free(&url);
}
