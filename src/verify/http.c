/*
 * Owns --verify's request: one read-only exchange per call through the
 * shared client (src/util/http.c: HTTPS only, certificates verified,
 * redirects never followed, so the secret never travels to a host the
 * rule does not name); plain HTTP only through KEYLEAK_VERIFY_BASE_URL.
 */
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
static void build_url(const kl_http *lib, CURL *h, const kl_verifier *v,
		      const char *secret, const char *base, kl_buf *out)
{
	char *escaped = lib->easy_escape(h, secret, 0);
	kl_buf full = KL_BUF_INIT;
	const char *rest;
	size_t n;

	substitute(&full, v->url, escaped ? escaped : "");
	if (escaped) {
		memset(escaped, 0, strlen(escaped));
		lib->free(escaped);
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

/* Through a base URL, say which host the rule names ("https://host[:port]",
 * never the secret), so an egress gateway can route the request. */
static void target_header(const kl_verifier *v, kl_buf *out)
{
	const char *host = v->url + strlen("https://");

	kl_buf_puts(out, "X-Keyleak-Target: ");
	kl_buf_add(out, v->url, (size_t)(host - v->url) + strcspn(host, "/?"));
}

static struct curl_slist *build_headers(const kl_http *lib,
					const kl_verifier *v,
					const char *secret, bool via_base)
{
	struct curl_slist *list = NULL, *next;
	kl_buf line = KL_BUF_INIT;
	size_t i;

	if (via_base) {
		target_header(v, &line);
		list = lib->slist_append(list, line.data);
		if (!list)
			abort();
	}

	for (i = 0; i < v->headers.len; i++) {
		kl_buf_reset(&line);
		substitute(&line, v->headers.items[i], secret);
		next = lib->slist_append(list, line.data);
		memset(line.data, 0, line.len);
		if (!next)
			abort();
		list = next;
	}
	/* No "Expect: 100-continue" dance for an empty POST. */
	list = lib->slist_append(list, "Expect:");
	if (!list)
		abort();
	kl_buf_free(&line);
	return list;
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

static void set_method(const kl_http *lib, CURL *h, const char *method)
{
	if (strcmp(method, "HEAD") == 0) {
		lib->easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(method, "POST") == 0) {
		lib->easy_setopt(h, CURLOPT_POST, 1L);
		lib->easy_setopt(h, CURLOPT_POSTFIELDS, "");
		lib->easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	} else {
		lib->easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
}

/* Every option that makes the request safe; any refusal is fatal. */
static CURLcode setup(const kl_http *lib, CURL *h, const kl_verify_opts *o,
		      kl_http_answer *a, char *errbuf)
{
	CURLcode rc = kl_http_safe_setup(lib, h, o->base_url != NULL,
					 o->timeout_ms, "keyleak/" KL_VERSION
					 " (secret verification)", errbuf);

	lib->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	lib->easy_setopt(h, CURLOPT_WRITEDATA, &a->body);
	return rc;
}

static long retry_after(const kl_http *lib, CURL *h)
{
	struct curl_header *hdr;
	char *end;
	long v;

	if (!lib->easy_header ||
	    lib->easy_header(h, "Retry-After", 0, CURLH_HEADER, -1, &hdr) !=
	    CURLHE_OK)
		return -1;
	v = strtol(hdr->value, &end, 10);
	if (end == hdr->value || *end != '\0' || v < 0)
		return -1;
	/* A day is past any budget; capping keeps v * 1000 in range. */
	return v > 86400 ? 86400 : v;
}

static void fail_setup(const kl_http *lib, CURLcode rc, kl_http_answer *a)
{
	a->curl_code = (int)rc;
	kl_buf_printf(&a->error, "libcurl refused a safety setting: %s",
		      lib->easy_strerror(rc));
}

void kl_http_request(const kl_http *lib, void *handle, const kl_verifier *v,
		     const char *secret, const kl_verify_opts *o,
		     kl_http_answer *a)
{
	CURL *h = handle;
	char errbuf[CURL_ERROR_SIZE] = "";
	kl_buf url = KL_BUF_INIT;
	struct curl_slist *headers;
	CURLcode rc;

	memset(a, 0, sizeof(*a));
	a->retry_after = -1;
	rc = setup(lib, h, o, a, errbuf);
	if (rc) {
		fail_setup(lib, rc, a);
		return;
	}
	set_method(lib, h, v->method);
	build_url(lib, h, v, secret, o->base_url, &url);
	lib->easy_setopt(h, CURLOPT_URL, url.data);
	headers = build_headers(lib, v, secret, o->base_url != NULL);
	lib->easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	rc = lib->easy_perform(h);
	a->curl_code = (int)rc;
	if (rc == CURLE_OK) {
		lib->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
		a->retry_after = retry_after(lib, h);
	} else {
		kl_buf_puts(&a->error, *errbuf ? errbuf
						: lib->easy_strerror(rc));
	}
	/* The handle keeps its options: drop the secret from them now. */
	lib->easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	lib->easy_setopt(h, CURLOPT_URL, "");
	lib->easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	kl_http_slist_wipe(lib, headers);
	memset(url.data, 0, url.len);
	kl_buf_free(&url);
}
