/*
 * Inside the verify module: one HTTP exchange with a provider (http.c,
 * the only code that talks to libcurl) and what its answer means
 * (verify.c). Nothing here reads a repository.
 */
#ifndef KL_VERIFY_INT_H
#define KL_VERIFY_INT_H

#include "internal.h"

#define KL_VERIFY_BODY_MAX ((size_t)64 * 1024)

/* What one request got back. */
typedef struct kl_http_answer {
	int curl_code;     /* CURLcode; 0 when an HTTP answer arrived */
	long status;       /* HTTP status, 0 without an answer */
	long retry_after;  /* seconds from Retry-After, -1 if none */
	kl_buf body;       /* at most KL_VERIFY_BODY_MAX bytes of it */
	kl_buf error;      /* libcurl's message when curl_code != 0 */
} kl_http_answer;

void kl_http_answer_free(kl_http_answer *a);

/* libcurl, loaded on first use (see http.c for why). */
typedef struct kl_http kl_http;

/* Load and initialise libcurl; NULL with err set when it cannot be. */
kl_http *kl_http_open(kl_error *err);
/* For `keyleak version`: the version of the libcurl --verify would load
 * and of its TLS library (NULL when unknown), read without initialising
 * it; -1 when libcurl is not installed. */
int kl_http_curl_version(const char **version, const char **ssl);
void kl_http_close(kl_http *h);

/* A connection handle (a CURL *) for one worker; NULL on failure. */
void *kl_http_handle_new(const kl_http *h);
void kl_http_handle_free(const kl_http *h, void *handle);

/*
 * Send v's request for secret with handle (reused between requests of one
 * worker for its connection cache). The secret goes only into the headers
 * and, URL-encoded, the query the rule names; the URL's scheme, host and
 * port are o->base_url's when set.
 */
void kl_http_request(const kl_http *h, void *handle, const kl_verifier *v,
		     const char *secret, const kl_verify_opts *o,
		     kl_http_answer *a);

/* Whether a curl code means the request timed out. */
bool kl_http_timed_out(int curl_code);

#endif
