/*
 * The pieces the platform files and the listing loop share: reading the
 * headers every API uses in its own way (Link, Retry-After, the
 * rate-limit pair, counts), query parameters, JSON fields, and the API
 * URL's checks (HTTPS, or plain HTTP to a loopback address only).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hosting/platform.h"

const char *kl_host_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

bool kl_host_bool(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

void kl_host_header(kl_strlist *out, const char *name, const char *scheme,
		    const char *value)
{
	kl_buf line = KL_BUF_INIT;

	kl_buf_printf(&line, "%s: %s%s", name, scheme, value);
	kl_strlist_push(out, line.data);
	memset(line.data, 0, line.len);
	kl_buf_free(&line);
}

bool kl_host_link_next(const kl_http_reply *r, kl_buf *next)
{
	char *link = kl_http_reply_header(r, "Link");
	const char *p = link, *lt, *gt, *end;
	bool found = false;

	while (p && !found && (lt = strchr(p, '<')) && (gt = strchr(lt, '>'))) {
		end = strchr(gt, ',');
		if (!end)
			end = gt + strlen(gt);
		found = memmem(gt, (size_t)(end - gt), "rel=\"next\"", 10) ||
			memmem(gt, (size_t)(end - gt), "rel=next", 8);
		if (found) {
			kl_buf_reset(next);
			kl_buf_add(next, lt + 1, (size_t)(gt - lt - 1));
		}
		p = *end ? end + 1 : end;
	}
	free(link);
	return found;
}

long long kl_host_header_num(const kl_http_reply *r, const char *name)
{
	char *v = kl_http_reply_header(r, name), *end;
	long long n = -1;

	if (v && *v) {
		n = strtoll(v, &end, 10);
		if (*end || n < 0)
			n = -1;
	}
	free(v);
	return n;
}

long kl_host_retry_after(const kl_http_reply *r, time_t now)
{
	char *v = kl_http_reply_header(r, "Retry-After");
	long long n = kl_host_header_num(r, "Retry-After");
	struct tm tm;
	long w = -1;

	if (n >= 0)
		w = n > 86400 ? 86400 : (long)n;
	else if (v && strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm))
		w = (long)(timegm(&tm) - now);
	free(v);
	return w < 0 && v ? 0 : w;
}

long kl_host_rate_wait(const kl_http_reply *r, const char *remaining_hdr,
		       const char *reset_hdr, time_t now)
{
	long w = kl_host_retry_after(r, now);
	long long reset;

	if (w >= 0)
		return w;
	if (kl_host_header_num(r, remaining_hdr) == 0) {
		reset = kl_host_header_num(r, reset_hdr);
		if (reset >= 0)
			return reset > (long long)now ? (long)(reset - now) : 0;
	}
	return r->status == 429 ? 60 : -1;
}

long kl_host_get_param(const char *url, const char *name, long dflt)
{
	const char *q = strchr(url, '?');
	size_t n = strlen(name);

	while (q) {
		q++;
		if (strncmp(q, name, n) == 0 && q[n] == '=')
			return strtol(q + n + 1, NULL, 10);
		q = strchr(q, '&');
	}
	return dflt;
}

void kl_host_set_param(const char *url, const char *name, long value,
		       kl_buf *out)
{
	const char *q = strchr(url, '?'), *p, *end;
	size_t n = strlen(name);
	bool done = false;

	kl_buf_reset(out);
	kl_buf_add(out, url, q ? (size_t)(q - url) : strlen(url));
	for (p = q; p && *p; p = end) {
		p++;
		end = p + strcspn(p, "&");
		kl_buf_addch(out, out->data[out->len - 1] == '?' ||
			     !strchr(out->data, '?') ? '?' : '&');
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			kl_buf_printf(out, "%s=%ld", name, value);
			done = true;
		} else {
			kl_buf_add(out, p, (size_t)(end - p));
		}
	}
	if (!done)
		kl_buf_printf(out, "%c%s=%ld", strchr(out->data, '?') ? '&'
			      : '?', name, value);
}

/* --------------------------------------------------------- the API URL */

/* "host[:port]" of a URL, lowercased; "" when it has none. */
char *kl_host_authority(const char *url)
{
	const char *p = strstr(url, "://"), *end, *at;
	char *a;
	size_t i;

	if (!p)
		return kl_xstrdup("");
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	a = kl_xstrndup(p, (size_t)(end - p));
	for (i = 0; a[i]; i++)
		a[i] = (char)tolower((unsigned char)a[i]);
	return a;
}

/* localhost, 127.0.0.0/8 or ::1, as an address literal: never a name
 * that merely starts like one. */
static bool is_loopback(const char *auth)
{
	unsigned char addr[16];
	char *host;
	bool ok;

	if (auth[0] == '[')
		host = kl_xstrndup(auth + 1, strcspn(auth + 1, "]"));
	else
		host = kl_xstrndup(auth, strcspn(auth, ":"));
	if (strcmp(host, "localhost") == 0)
		ok = true;
	else if (inet_pton(AF_INET, host, addr) == 1)
		ok = addr[0] == 127;
	else
		ok = inet_pton(AF_INET6, host, addr) == 1 &&
		     memcmp(addr, in6addr_loopback.s6_addr, 16) == 0;
	free(host);
	return ok;
}

/* HTTPS anywhere; plain HTTP only to this machine (tests, a tunnel). */
bool kl_host_transport_ok(const char *url)
{
	char *auth;
	bool ok;

	if (strncmp(url, "https://", 8) == 0)
		return true;
	if (strncmp(url, "http://", 7) != 0)
		return false;
	auth = kl_host_authority(url);
	ok = is_loopback(auth);
	free(auth);
	return ok;
}

int kl_hosting_check_api_url(const char *url, kl_error *err)
{
	const char *rest = strstr(url, "://");
	char *auth = kl_host_authority(url);
	size_t i;
	int rc = 0;

	for (i = 0; url[i]; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			break;
	if (!rest || strncmp(url, "http", 4) != 0 || url[i] || !auth[0] ||
	    strpbrk(url, "?#") || memchr(rest + 3, '@', strcspn(rest + 3, "/"))) {
		kl_error_set(err, "--api-url %s: expected https://HOST[:PORT]"
			     "[/PATH], without user, query or spaces", url);
		rc = -1;
	} else if (!kl_host_transport_ok(url)) {
		kl_error_set(err, "--api-url %s: the token goes only over "
			     "HTTPS (plain HTTP only to a loopback address)",
			     url);
		rc = -1;
	}
	free(auth);
	return rc;
}

