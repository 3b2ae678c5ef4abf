/*
 * Owns --verify: groups the report's key findings by (verifier, secret)
 * so each distinct secret is sent once, runs the requests on a small pool
 * of workers (one libcurl handle each), turns each answer into live /
 * revoked / unknown with a reason, and copies it onto every finding that
 * carries that secret. It annotates findings; it never reads a repository.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verify/verify.h"

#define BACKOFF_FIRST_MS 500

int kl_verify_check_base_url(const char *base, kl_error *err)
{
	const char *p = base;

	if (strncmp(p, "http://", 7) == 0)
		p += 7;
	else if (strncmp(p, "https://", 8) == 0)
		p += 8;
	else
		goto bad;
	if (!*p || *p == '/' || *p == ':')
		goto bad;
	for (; *p && *p != '/'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(".-:[]", *p)))
			goto bad;
	if (*p == '/' && p[1] == '\0')
		return 0;
	if (!*p)
		return 0;
bad:
	kl_error_set(err, "KEYLEAK_VERIFY_BASE_URL='%s': expected "
		     "http[s]://host[:port] (no path, query or user)", base);
	return -1;
}

/* One distinct secret to send, and what came back. */
typedef struct verify_job {
	const kl_verifier *v;
	const char *secret;
	kl_verify_status status;
	char *detail;
	int64_t checked_at;
} verify_job;

typedef struct verify_ctx {
	const kl_verify_opts *o;
	const kl_http *http;
	verify_job *jobs;
	void **handles; /* one per worker, made on first use */
	kl_progress *progress;
	atomic_size_t done;
} verify_ctx;

/* True when the body holds one of the texts, or no text is asked for. */
static bool body_has(const kl_buf *body, const kl_strlist *texts)
{
	size_t t, n, i;

	if (!texts->len)
		return true;
	for (t = 0; t < texts->len; t++) {
		n = strlen(texts->items[t]);
		for (i = 0; i + n <= body->len; i++)
			if (memcmp(body->data + i, texts->items[t], n) == 0)
				return true;
	}
	return false;
}

/* A message from libcurl or a server must not carry the secret back
 * into the report (an error that quotes the URL, say). */
static char *scrub(kl_buf *msg, const char *secret)
{
	size_t n = strlen(secret);
	char *at = msg->data, *hit;

	while (n && at && (hit = strstr(at, secret))) {
		memset(hit, '*', n);
		at = hit + n;
	}
	return kl_buf_detach(msg);
}

static void classify_http(verify_job *j, const kl_http_answer *a,
			  kl_buf *detail)
{
	const kl_verifier *v = j->v;

	if (kl_verify_has_status(v->live, v->n_live, a->status) &&
	    body_has(&a->body, &v->live_body)) {
		j->status = KL_VERIFY_LIVE;
		kl_buf_printf(detail, "HTTP %ld", a->status);
	} else if (kl_verify_has_status(v->revoked, v->n_revoked, a->status) &&
		   body_has(&a->body, &v->revoked_body)) {
		j->status = KL_VERIFY_REVOKED;
		kl_buf_printf(detail, "HTTP %ld", a->status);
	} else if (a->status == 429) {
		kl_buf_puts(detail, "rate limited (HTTP 429)");
	} else if (a->status >= 500) {
		kl_buf_printf(detail, "server error (HTTP %ld)", a->status);
	} else {
		kl_buf_printf(detail, "HTTP %ld: not an answer this rule's "
			      "verifier knows", a->status);
	}
}

static void classify(verify_job *j, const kl_http_answer *a,
		     const kl_verify_opts *o, kl_buf *detail)
{
	j->status = KL_VERIFY_UNKNOWN;
	kl_buf_reset(detail);
	if (kl_http_timed_out(a->curl_code))
		kl_buf_printf(detail, "timeout after %ld s",
			      (o->timeout_ms + 999) / 1000);
	else if (a->curl_code)
		kl_buf_printf(detail, "no answer: %s", a->error.data);
	else
		classify_http(j, a, detail);
}

static bool worth_retrying(const kl_http_answer *a, const verify_job *j)
{
	return j->status == KL_VERIFY_UNKNOWN && !a->curl_code &&
	       (a->status == 429 || a->status >= 500);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

/*
 * How long to wait before the next attempt: the server's Retry-After, or
 * an exponential backoff; -1 when that would pass the budget (the
 * per-request timeout, spent on waiting across all retries).
 */
static long next_wait(const kl_http_answer *a, int attempt, long *budget)
{
	long wait = a->retry_after >= 0 ? a->retry_after * 1000
					: (long)BACKOFF_FIRST_MS << attempt;

	if (wait > *budget)
		return -1;
	*budget -= wait;
	return wait;
}

static void run_job(void *ctx_, int worker, size_t item)
{
	verify_ctx *ctx = ctx_;
	verify_job *j = &ctx->jobs[item];
	kl_http_answer a;
	kl_buf detail = KL_BUF_INIT;
	long budget = ctx->o->timeout_ms, wait;
	int attempt;

	if (!ctx->handles[worker])
		ctx->handles[worker] = kl_http_handle_new(ctx->http);
	if (!ctx->handles[worker]) {
		j->status = KL_VERIFY_UNKNOWN;
		j->detail = kl_xstrdup("libcurl could not start");
		return;
	}
	for (attempt = 0;; attempt++) {
		kl_http_request(ctx->http, ctx->handles[worker], j->v,
				j->secret, ctx->o, &a);
		j->checked_at = (int64_t)time(NULL);
		classify(j, &a, ctx->o, &detail);
		if (!worth_retrying(&a, j) || attempt + 1 >= ctx->o->attempts ||
		    (wait = next_wait(&a, attempt, &budget)) < 0) {
			if (attempt > 0 && j->status == KL_VERIFY_UNKNOWN)
				kl_buf_printf(&detail, " after %d attempts",
					      attempt + 1);
			kl_http_answer_free(&a);
			break;
		}
		kl_http_answer_free(&a);
		sleep_ms(wait);
	}
	j->detail = scrub(&detail, j->secret);
	kl_progress_tick(ctx->progress, atomic_fetch_add(&ctx->done, 1) + 1, 0);
}

/* ----------------------------------------------------------- grouping */

/* A finding to verify and the job it belongs to. */
typedef struct pending {
	kl_finding *f;
	size_t job;
} pending;

static int cmp_pending(const void *a, const void *b)
{
	const kl_finding *x = ((const pending *)a)->f;
	const kl_finding *y = ((const pending *)b)->f;
	const kl_verifier *vx = x->rule->verify, *vy = y->rule->verify;

	if (vx != vy)
		return (uintptr_t)vx < (uintptr_t)vy ? -1 : 1;
	return strcmp(x->secret, y->secret);
}

static void set_result(kl_finding *f, kl_verify_status s, const char *detail,
		       int64_t when)
{
	free(f->verification.detail);
	f->verification.status = s;
	f->verification.detail = kl_xstrdup(detail);
	f->verification.checked_at = when;
}

/* Why a key finding gets no request, or NULL when it gets one. */
static const char *no_request_reason(const kl_finding *f)
{
	const char *s;

	if (!f->rule->verify)
		return "no verifier for this rule";
	if (f->rule->verify->untrusted)
		return "verifier not used: it comes from the repository's "
		       "own configuration";
	for (s = f->secret; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return "not sent: the secret holds characters an "
			       "HTTP header cannot carry";
	return NULL;
}

/* Findings that need a request, sorted so equal secrets are adjacent;
 * the others get their reason now. */
static pending *collect(kl_report *r, size_t *n)
{
	pending *p = kl_xcalloc(r->findings.len + 1, sizeof(*p));
	const char *why;
	size_t i;

	*n = 0;
	for (i = 0; i < r->findings.len; i++) {
		kl_finding *f = &r->findings.items[i];

		if (f->rule->kind != KL_RULE_PATTERN || !f->secret)
			continue;
		why = no_request_reason(f);
		if (why)
			set_result(f, KL_VERIFY_UNKNOWN, why, 0);
		else
			p[(*n)++].f = f;
	}
	if (*n > 1)
		qsort(p, *n, sizeof(*p), cmp_pending);
	return p;
}

static verify_job *make_jobs(pending *p, size_t n, size_t *n_jobs)
{
	verify_job *jobs = kl_xcalloc(n + 1, sizeof(*jobs));
	size_t i;

	*n_jobs = 0;
	for (i = 0; i < n; i++) {
		if (i == 0 || cmp_pending(&p[i - 1], &p[i]) != 0) {
			jobs[*n_jobs].v = p[i].f->rule->verify;
			jobs[*n_jobs].secret = p[i].f->secret;
			(*n_jobs)++;
		}
		p[i].job = *n_jobs - 1;
	}
	return jobs;
}

static void run_jobs(const kl_http *http, verify_job *jobs, size_t n,
		     const kl_verify_opts *o)
{
	int workers = o->jobs < 1 ? 1 : o->jobs;
	verify_ctx ctx = { o, http, jobs, NULL, NULL, 0 };
	int i;

	if ((size_t)workers > n)
		workers = (int)n;
	ctx.handles = kl_xcalloc((size_t)workers + 1, sizeof(void *));
	ctx.progress = kl_progress_new("verifying", n, o->progress);
	kl_parallel_for(n, workers, run_job, &ctx);
	kl_progress_free(ctx.progress);
	for (i = 0; i < workers; i++)
		kl_http_handle_free(http, ctx.handles[i]);
	free(ctx.handles);
}

/* No libcurl: every job is unknown, with the reason. */
static void fail_jobs(verify_job *jobs, size_t n, const char *why)
{
	size_t i;

	for (i = 0; i < n; i++) {
		jobs[i].status = KL_VERIFY_UNKNOWN;
		jobs[i].detail = kl_xstrdup(why);
	}
}

static void count(kl_report *r)
{
	size_t i;

	for (i = 0; i < r->findings.len; i++) {
		switch (r->findings.items[i].verification.status) {
		case KL_VERIFY_LIVE: r->verify.live++; break;
		case KL_VERIFY_REVOKED: r->verify.revoked++; break;
		case KL_VERIFY_UNKNOWN: r->verify.unknown++; break;
		case KL_VERIFY_NONE: break;
		}
	}
}

void kl_verify_report(kl_report *r, const kl_verify_opts *o)
{
	size_t n, n_jobs = 0, i;
	pending *p = collect(r, &n);
	verify_job *jobs = make_jobs(p, n, &n_jobs);
	kl_error err = { 0 };
	kl_http *http = NULL;

	r->verify.ran = true;
	/* libcurl is loaded only when a request is due. */
	if (n_jobs && !(http = kl_http_open(&err))) {
		kl_report_notice(r, KL_NOTICE_WARNING, NULL,
				 "--verify: %s; no key was verified",
				 err.message);
		fail_jobs(jobs, n_jobs, err.message);
		kl_error_clear(&err);
	} else if (n_jobs) {
		run_jobs(http, jobs, n_jobs, o);
		kl_http_close(http);
		r->verify.requests = n_jobs;
	}
	for (i = 0; i < n; i++) {
		verify_job *j = &jobs[p[i].job];

		set_result(p[i].f, j->detail ? j->status : KL_VERIFY_UNKNOWN,
			   j->detail ? j->detail : "libcurl could not start",
			   j->checked_at);
	}
	for (i = 0; i < n_jobs; i++)
		free(jobs[i].detail);
	free(jobs);
	free(p);
	count(r);
}

void kl_verify_only_live(kl_report *r)
{
	kl_findings *fs = &r->findings;
	size_t i, kept = 0;

	r->verify.only_live = true;
	for (i = 0; i < fs->len; i++) {
		if (fs->items[i].verification.status == KL_VERIFY_LIVE) {
			fs->items[kept++] = fs->items[i];
			continue;
		}
		kl_finding_clear(&fs->items[i]);
		r->verify.hidden++;
	}
	fs->len = kept;
}
