/*
 * keyleak's one HTTP client: libcurl, loaded with dlopen on first use
 * (http.c says why), shared by its two users: --verify (src/verify/) and
 * the hosting platforms' repository listings (src/hosting/). Both keep
 * their own request rules; the loading and the safe defaults live here.
 */
#ifndef KL_UTIL_HTTP_H
#define KL_UTIL_HTTP_H

#include <curl/curl.h>

#include "internal.h"

/* libcurl's functions, looked up once. */
typedef struct kl_http {
	CURLcode (*global_init)(long flags);
	void (*global_cleanup)(void);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *h);
	void (*easy_reset)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode code);
	char *(*easy_escape)(CURL *h, const char *s, int len);
	void (*free)(void *p);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
	/* Optional (7.83+): Retry-After is read only when present. */
	CURLHcode (*easy_header)(CURL *h, const char *name, size_t index,
				 unsigned int origin, int request,
				 struct curl_header **hout);
} kl_http;

/* Load and initialise libcurl; NULL with err set when it cannot be. */
kl_http *kl_http_open(kl_error *err);
/* For `keyleak version`: the version of the libcurl keyleak would load
 * and of its TLS library (NULL when unknown), read without initialising
 * it; -1 when libcurl is not installed. */
int kl_http_curl_version(const char **version, const char **ssl);
void kl_http_close(kl_http *h);

/* A connection handle (a CURL *) for one worker; NULL on failure. */
void *kl_http_handle_new(const kl_http *h);
void kl_http_handle_free(const kl_http *h, void *handle);

/*
 * The settings every request gets, after a reset of the handle: only
 * HTTPS (also HTTP when allow_http), certificates verified, redirects
 * never followed, no signals, the timeout, keyleak's User-Agent. A
 * libcurl that refuses one of them must not send anything: the caller
 * gets its code.
 */
CURLcode kl_http_safe_setup(const kl_http *lib, CURL *h, bool allow_http,
			    long timeout_ms, const char *agent, char *errbuf);

/* Free a header list after overwriting its lines (they may hold a
 * credential). */
void kl_http_slist_wipe(const kl_http *lib, struct curl_slist *list);

/* A GET's answer: status, the body (up to max_body bytes, then cut with
 * truncated set) and the response headers, one "Name: value" a line. */
typedef struct kl_http_reply {
	int curl_code;     /* CURLcode; 0 when an HTTP answer arrived */
	long status;
	kl_buf body;
	kl_buf headers;
	kl_buf error;      /* libcurl's message when curl_code != 0 */
	bool truncated;
} kl_http_reply;

void kl_http_reply_free(kl_http_reply *r);

/* GET url with the extra header lines given (may hold a credential: they
 * are wiped from memory after the request). */
void kl_http_get(const kl_http *lib, void *handle, const char *url,
		 const kl_strlist *headers, bool allow_http, long timeout_ms,
		 size_t max_body, kl_http_reply *r);

/* The value of response header name (case-insensitive), trimmed; NULL
 * when absent. Caller frees. */
char *kl_http_reply_header(const kl_http_reply *r, const char *name);

#endif
