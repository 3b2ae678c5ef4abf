/*
 * Unit tests for the hosting platforms' shared pieces (src/hosting/):
 * Link headers, query parameters, Retry-After and rate-limit headers,
 * --api-url checks and spec names; and the response-header lookup of the
 * shared HTTP client (src/util/http.c).
 */
#include <stdlib.h>
#include <string.h>

#include "hosting/platform.h"
#include "unit.h"

static void reply_with(kl_http_reply *r, long status, const char *headers)
{
	memset(r, 0, sizeof(*r));
	r->status = status;
	kl_buf_puts(&r->headers, headers);
}

static void test_header_lookup(void)
{
	kl_http_reply r;
	char *v;

	reply_with(&r, 200, "HTTP/1.1 200 OK\r\nx-total-count:  42 \r\n"
		   "Link: <a>; rel=\"next\"\r\n\r\n");
	v = kl_http_reply_header(&r, "X-Total-Count");
	CHECK_STR(v, "42", "case-insensitive, trimmed");
	free(v);
	CHECK(kl_http_reply_header(&r, "X-Total") == NULL, "a prefix is no match");
	CHECK(kl_host_header_num(&r, "X-Total-Count") == 42, "as a number");
	CHECK(kl_host_header_num(&r, "Link") == -1, "not a number");
	kl_http_reply_free(&r);
}

static void test_link_next(void)
{
	kl_http_reply r;
	kl_buf next = KL_BUF_INIT;

	reply_with(&r, 200, "Link: <https://h/x?page=1>; rel=\"prev\", "
		   "<https://h/x?page=3&per_page=100>; rel=\"next\", "
		   "<https://h/x?page=9>; rel=\"last\"\r\n");
	CHECK(kl_host_link_next(&r, &next), "next found among three");
	CHECK_STR(next.data, "https://h/x?page=3&per_page=100", "next URL");
	kl_http_reply_free(&r);
	reply_with(&r, 200, "Link: <https://h/x?page=1>; rel=\"first\"\r\n");
	CHECK(!kl_host_link_next(&r, &next), "no next on the last page");
	kl_http_reply_free(&r);
	reply_with(&r, 200, "");
	CHECK(!kl_host_link_next(&r, &next), "no Link at all");
	kl_http_reply_free(&r);
	kl_buf_free(&next);
}

static void test_params(void)
{
	kl_buf b = KL_BUF_INIT;

	kl_host_set_param("https://h/a?limit=50&page=1", "page", 2, &b);
	CHECK_STR(b.data, "https://h/a?limit=50&page=2", "replaced");
	kl_host_set_param("https://h/a?page=7&x=1", "page", 8, &b);
	CHECK_STR(b.data, "https://h/a?page=8&x=1", "replaced first");
	kl_host_set_param("https://h/a?x=1", "page", 2, &b);
	CHECK_STR(b.data, "https://h/a?x=1&page=2", "added");
	kl_host_set_param("https://h/a", "page", 2, &b);
	CHECK_STR(b.data, "https://h/a?page=2", "added as the query");
	CHECK(kl_host_get_param("https://h/a?limit=50&page=4", "page", 1) == 4,
	      "read");
	CHECK(kl_host_get_param("https://h/a?xpage=4", "page", 1) == 1,
	      "absent: the default");
	kl_buf_free(&b);
}

static void test_rate_limits(void)
{
	kl_http_reply r;
	time_t now = 1700000000;

	reply_with(&r, 403, "Retry-After: 30\r\n");
	CHECK(kl_host_rate_wait(&r, "X-RateLimit-Remaining",
				"X-RateLimit-Reset", now) == 30, "Retry-After");
	kl_http_reply_free(&r);
	reply_with(&r, 429, "Retry-After: Tue, 14 Nov 2023 22:13:27 GMT\r\n");
	CHECK(kl_host_retry_after(&r, now) == 7, "Retry-After as a date: %ld",
	      kl_host_retry_after(&r, now));
	kl_http_reply_free(&r);
	reply_with(&r, 403, "X-RateLimit-Remaining: 0\r\n"
		   "X-RateLimit-Reset: 1700000100\r\n");
	CHECK(kl_host_rate_wait(&r, "X-RateLimit-Remaining",
				"X-RateLimit-Reset", now) == 100, "reset");
	kl_http_reply_free(&r);
	reply_with(&r, 403, "X-RateLimit-Remaining: 12\r\n");
	CHECK(kl_host_rate_wait(&r, "X-RateLimit-Remaining",
				"X-RateLimit-Reset", now) == -1,
	      "a 403 with budget left is a refusal, not a limit");
	kl_http_reply_free(&r);
	reply_with(&r, 429, "");
	CHECK(kl_host_rate_wait(&r, "RateLimit-Remaining", "RateLimit-Reset",
				now) == 60, "a bare 429: a minute");
	kl_http_reply_free(&r);
}

static void test_api_urls(void)
{
	static const char *good[] = {
		"https://api.github.com", "https://github.example.com/api/v3",
		"http://127.0.0.1:8080/api/v4", "http://localhost:3000",
		"http://[::1]:9/", "http://127.0.0.2:1", NULL
	};
	static const char *bad[] = {
		"http://10.0.0.1/api", "http://127evil.example", "ftp://h/",
		"https://user:pw@h/", "https://h/x?y=1", "https://h/ x", "h",
		"https://", "http://localhost.example.com/",
		"http://127.evil.example/", "http://127.0.0.1.nip.example/", NULL
	};
	kl_error err = { 0 };
	size_t i;

	for (i = 0; good[i]; i++) {
		CHECK(kl_hosting_check_api_url(good[i], &err) == 0, "accepts %s",
		      good[i]);
		kl_error_clear(&err);
	}
	for (i = 0; bad[i]; i++) {
		CHECK(kl_hosting_check_api_url(bad[i], &err) < 0 &&
		      strstr(err.message, "--api-url"), "refuses %s", bad[i]);
		kl_error_clear(&err);
	}
	CHECK(kl_hosting_is_spec("github:acme") &&
	      kl_hosting_is_spec("forgejo-user:ann") &&
	      !kl_hosting_is_spec("bitbucket:x") && !kl_hosting_is_spec("acme"),
	      "spec names");
}

int main(void)
{
	test_header_lookup();
	test_link_next();
	test_params();
	test_rate_limits();
	test_api_urls();
	return UNIT_DONE();
}
