/*
 * Inside the verify module: one HTTP exchange with a provider (http.c,
 * on the shared client of src/util/http.c) and what its answer means
 * (verify.c). Nothing here reads a repository.
 */
#ifndef KL_VERIFY_INT_H
#define KL_VERIFY_INT_H

#include "internal.h"
#include "util/http.h"

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
