/*
 * The HTML report: one self-contained page built from the same findings
 * as text, JSON and SARIF. CSS and script come from src/report/html/
 * (embedded at build time) and are allowed by hash in a CSP that forbids
 * any request; tables are plain HTML, so the page reads without script.
 * Never a full secret; every string from a repository is escaped.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "report.h"

#define DAY 86400

/* The page being built and what every part of it needs. */
typedef struct html_ctx {
	const kl_html_doc *d;
	kl_buf *out;
	int64_t now;
	const char **providers; /* distinct, sorted: filter values */
	size_t n_providers;
} html_ctx;

/* One finding of the page, with the repository it came from. */
typedef struct row {
	const kl_finding *f;
	size_t repo;
	size_t order;
} row;

/* ------------------------------------------------------------ escaping */

/* Text or attribute value: control characters, bidi overrides and bad
 * UTF-8 become visible escapes (as in the text report), then the five
 * HTML specials become entities, so no byte can open a tag or leave a
 * quoted attribute. */
static void esc(kl_buf *out, const char *s)
{
	kl_buf tmp = KL_BUF_INIT;
	size_t i;

	if (!s)
		return;
	kl_report_escape(&tmp, s);
	for (i = 0; i < tmp.len; i++) {
		switch (tmp.data[i]) {
		case '&': kl_buf_puts(out, "&amp;"); break;
		case '<': kl_buf_puts(out, "&lt;"); break;
		case '>': kl_buf_puts(out, "&gt;"); break;
		case '"': kl_buf_puts(out, "&quot;"); break;
		case '\'': kl_buf_puts(out, "&#39;"); break;
		default: kl_buf_addch(out, tmp.data[i]);
		}
	}
	kl_buf_free(&tmp);
}

/* A finding's own text (path, message, commit summary) with its secret,
 * should it appear there, replaced by the redacted form. */
static void esc_scrub(kl_buf *out, const char *s, const kl_finding *f)
{
	size_t n = f->secret ? strlen(f->secret) : 0;
	kl_buf b = KL_BUF_INIT;
	const char *p, *hit;

	if (!s || n < 8 || !strstr(s, f->secret)) {
		esc(out, s);
		return;
	}
	for (p = s; (hit = strstr(p, f->secret)) != NULL; p = hit + n) {
		kl_buf_add(&b, p, (size_t)(hit - p));
		kl_buf_puts(&b, f->redacted ? f->redacted : "\xE2\x80\xA6");
	}
	kl_buf_puts(&b, p);
	esc(out, b.data);
	kl_buf_free(&b);
}

/* ---------------------------------------------------------------- links */

enum host_kind { HOST_NONE, HOST_GITHUB, HOST_GITLAB, HOST_GITEA,
		 HOST_BITBUCKET };

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static enum host_kind host_kind(const char *host, size_t len)
{
	char h[256];

	if (len >= sizeof(h))
		return HOST_NONE;
	memcpy(h, host, len);
	h[len] = 0;
	if (strcmp(h, "github.com") == 0)
		return HOST_GITHUB;
	if (strcmp(h, "gitlab.com") == 0 || starts(h, "gitlab."))
		return HOST_GITLAB;
	if (strcmp(h, "bitbucket.org") == 0)
		return HOST_BITBUCKET;
	if (strcmp(h, "codeberg.org") == 0 || starts(h, "gitea.") ||
	    starts(h, "forgejo."))
		return HOST_GITEA;
	return HOST_NONE;
}

static bool all_of(const char *s, size_t len, const char *set)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(set, s[i])))
			return false;
	return len > 0;
}

/*
 * "https://host/owner/repo" for a remote on a known host (https, ssh://
 * or scp-like "git@host:owner/repo.git"), user and password dropped; the
 * host kind, or HOST_NONE (no link) for anything else.
 */
static enum host_kind web_base(const char *remote, kl_buf *base)
{
	const char *p = remote, *host, *slash, *at, *end;
	size_t hlen, plen;
	enum host_kind k;
	bool ssh = false;

	if (!p)
		return HOST_NONE;
	if (starts(p, "https://"))
		p += 8;
	else if (starts(p, "ssh://") || starts(p, "git+ssh://"))
		p = strstr(p, "://") + 3, ssh = true;
	else if (strstr(p, "://") || !strchr(p, ':'))
		return HOST_NONE;
	else
		ssh = true; /* scp-like */
	slash = p + strcspn(p, ssh && !strstr(remote, "://") ? ":" : "/");
	at = memchr(p, '@', (size_t)(slash - p));
	host = at ? at + 1 : p;
	hlen = strcspn(host, ":/");
	if (host + hlen > slash || !*slash)
		return HOST_NONE;
	k = host_kind(host, hlen);
	end = slash + 1 + strlen(slash + 1);
	while (end > slash + 1 && end[-1] == '/')
		end--;
	if (end - slash > 4 && strncmp(end - 4, ".git", 4) == 0)
		end -= 4;
	plen = (size_t)(end - slash - 1);
	if (k == HOST_NONE || !all_of(host, hlen, ".-") ||
	    !all_of(slash + 1, plen, "._~/-"))
		return HOST_NONE;
	kl_buf_puts(base, "https://");
	kl_buf_add(base, host, hlen);
	/* an https remote's port is its web port too; ssh's is not */
	if (!ssh && host[hlen] == ':') {
		size_t n = strspn(host + hlen + 1, "0123456789");

		kl_buf_add(base, host + hlen, n + 1);
	}
	kl_buf_addch(base, '/');
	kl_buf_add(base, slash + 1, plen);
	return k;
}

static void pct_path(kl_buf *out, const char *path)
{
	const unsigned char *p = (const unsigned char *)path;

	for (; *p; p++) {
		if (all_of((const char *)p, 1, "._~/-"))
			kl_buf_addch(out, (char)*p);
		else
			kl_buf_printf(out, "%%%02X", *p);
	}
}

/* The file at a commit on the repository's web host, or false. */
static bool file_url(const char *remote, const char *commit,
		     const char *path, size_t line, kl_buf *url)
{
	enum host_kind k;

	if (!commit || !path || !all_of(commit, strlen(commit), ""))
		return false;
	k = web_base(remote, url);
	if (k == HOST_NONE)
		return false;
	kl_buf_puts(url, k == HOST_GITHUB ? "/blob/" : k == HOST_GITLAB
		    ? "/-/blob/" : k == HOST_GITEA ? "/src/commit/" : "/src/");
	kl_buf_puts(url, commit);
	kl_buf_addch(url, '/');
	pct_path(url, path);
	if (line)
		kl_buf_printf(url, k == HOST_BITBUCKET ? "#lines-%zu" : "#L%zu",
			      line);
	return true;
}

/* The first https URL in a rule's remediation text, cut at the first
 * character outside a conservative set (so a rule file can only ever
 * produce a plain https link). */
static bool remediation_url(const char *text, kl_buf *url)
{
	const char *p = text ? strstr(text, "https://") : NULL;
	size_t n;

	if (!p)
		return false;
	n = 8;
	while (p[n] && all_of(p + n, 1, "._~/?#=&%+:-"))
		n++;
	while (n > 8 && strchr(".,:;", p[n - 1]))
		n--;
	if (n <= 8)
		return false;
	kl_buf_add(url, p, n);
	return true;
}

static void link_open(kl_buf *out, const char *url)
{
	kl_buf_puts(out, "<a rel=\"noreferrer\" href=\"");
	esc(out, url);
	kl_buf_puts(out, "\">");
}

/* ------------------------------------------------------------ helpers */

static const char *const sev_names[] = { "low", "medium", "high", "critical" };
static const char *const status_names[] = { "not-checked", "live", "revoked",
					    "unknown" };

static void put_date(kl_buf *out, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t && gmtime_r(&tt, &tm))
		kl_buf_printf(out, "%04d-%02d-%02d", tm.tm_year + 1900,
			      tm.tm_mon + 1, tm.tm_mday);
}

static void short_id(kl_buf *out, const char *id)
{
	if (id)
		kl_buf_printf(out, "<code>%.10s</code>", id);
}

/* Days a key was reachable: introduced to removed, or to now. */
static int64_t exposure_days(const html_ctx *c, const kl_finding *f)
{
	int64_t end;

	if (!f->has_prov || !f->prov.author_time)
		return -1;
	if (f->prov.removed_in)
		end = f->prov.removed_time;
	else
		end = f->prov.in_head ? c->now : 0;
	if (!end || end < f->prov.author_time)
		return end ? 0 : -1;
	return (end - f->prov.author_time) / DAY;
}

static const kl_report *rep(const html_ctx *c, size_t i)
{
	return c->d->repos[i].report;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t provider_index(const html_ctx *c, const char *p)
{
	const char **hit = bsearch(&p, c->providers, c->n_providers,
				   sizeof(*c->providers), cmp_str);

	return hit ? (size_t)(hit - c->providers) : 0;
}

static const char *provider_of(const kl_finding *f)
{
	return f->rule->provider && *f->rule->provider ? f->rule->provider
						       : "(none)";
}

static void collect_providers(html_ctx *c)
{
	size_t i, j, n = 0, k = 0;

	for (i = 0; i < c->d->n_repos; i++)
		n += rep(c, i)->findings.len;
	c->providers = kl_xcalloc(n ? n : 1, sizeof(*c->providers));
	for (i = 0; i < c->d->n_repos; i++)
		for (j = 0; j < rep(c, i)->findings.len; j++)
			c->providers[k++] =
				provider_of(&rep(c, i)->findings.items[j]);
	qsort(c->providers, k, sizeof(*c->providers), cmp_str);
	for (i = 0, n = 0; i < k; i++)
		if (!n || strcmp(c->providers[n - 1], c->providers[i]) != 0)
			c->providers[n++] = c->providers[i];
	c->n_providers = n;
}

/* Worst first; within a severity, repository then report order. */
static int cmp_row(const void *a, const void *b)
{
	const row *x = a, *y = b;

	if (x->f->rule->severity != y->f->rule->severity)
		return x->f->rule->severity > y->f->rule->severity ? -1 : 1;
	if (x->repo != y->repo)
		return x->repo < y->repo ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The findings of one kind (keys or policy), sorted for the table. */
static row *rows_of(const html_ctx *c, bool policy, size_t *n)
{
	size_t i, j, k = 0, total = 0;
	row *v;

	for (i = 0; i < c->d->n_repos; i++)
		total += rep(c, i)->findings.len;
	v = kl_xcalloc(total ? total : 1, sizeof(*v));
	for (i = 0; i < c->d->n_repos; i++)
		for (j = 0; j < rep(c, i)->findings.len; j++) {
			const kl_finding *f = &rep(c, i)->findings.items[j];

			if (kl_report_is_policy(f) == policy) {
				v[k] = (row){ f, i, k };
				k++;
			}
		}
	qsort(v, k, sizeof(*v), cmp_row);
	*n = k;
	return v;
}

/* ------------------------------------------------------------- header */

static void ruleset_id(const kl_ruleset *rs, kl_buf *out)
{
	kl_buf b = KL_BUF_INIT;
	size_t i, n = rs ? kl_ruleset_count(rs) : 0;
	char hex[65];

	for (i = 0; i < n; i++) {
		const kl_rule *r = kl_ruleset_get(rs, i);

		kl_buf_printf(&b, "%s\n%s\n%d\n", r->id, r->regex ? r->regex : "",
			      (int)r->severity);
	}
	kl_sha256_hex(b.data ? b.data : "", b.len, hex);
	kl_buf_printf(out, "%zu rules, digest <code>%.12s</code>", n, hex);
	kl_buf_free(&b);
}

static void meta_item(kl_buf *out, const char *name, const char *value)
{
	if (!value || !*value)
		return;
	kl_buf_printf(out, "<dt>%s</dt><dd>", name);
	esc(out, value);
	kl_buf_puts(out, "</dd>\n");
}

static void put_header(html_ctx *c)
{
	const kl_html_doc *d = c->d;
	const kl_report *r = d->n_repos ? rep(c, 0) : NULL;
	kl_buf *o = c->out;

	kl_buf_puts(o, "<header><h1>keyleak report</h1>\n<dl class=\"meta\">\n");
	meta_item(o, "Command", d->command);
	if (d->multi) {
		kl_buf_printf(o, "<dt>Repositories</dt><dd>%zu</dd>\n",
			      d->n_repos);
	} else if (r) {
		meta_item(o, "Scanned", d->repos[0].name);
		meta_item(o, "Remote", r->remote);
		meta_item(o, "Refs", r->refs);
		meta_item(o, "Branch", r->branch);
		meta_item(o, "Commit", r->head);
		meta_item(o, "Options", r->options);
		kl_buf_printf(o, "<dt>Read</dt><dd>%llu files, %llu commits"
			      "</dd>\n",
			      (unsigned long long)r->summary.files_scanned,
			      (unsigned long long)r->summary.commits_scanned);
	}
	kl_buf_puts(o, "<dt>keyleak</dt><dd>" KL_VERSION "</dd>\n<dt>Rules</dt><dd>");
	ruleset_id(d->rules ? d->rules : r ? r->rules : NULL, o);
	kl_buf_puts(o, "</dd>\n<dt>Date</dt><dd>");
	{
		kl_buf date = KL_BUF_INIT;

		kl_report_iso_date(c->now, 0, &date);
		kl_buf_puts(o, date.data);
		kl_buf_free(&date);
	}
	kl_buf_puts(o, "</dd>\n</dl></header>\n");
}

/* ------------------------------------------------------- completeness */

static void reason(kl_buf *b, const char *name, uint64_t n, const char *what)
{
	if (n)
		kl_buf_printf(b, "<li>%s: %llu %s</li>\n", name,
			      (unsigned long long)n, what);
}

/* Why one repository's scan is not whole; nothing when it is. */
static void repo_reasons(const kl_html_repo *h, kl_buf *b)
{
	const kl_report *r = h->report;
	const kl_summary *s = &r->summary;
	size_t i, shown = 0;

	if (!r->incomplete && (!h->status || strcmp(h->status, "ok") == 0) &&
	    !s->missing_objects && !s->unreadable && !s->limit_hits &&
	    !r->shallow)
		return;
	kl_buf_puts(b, "<li><strong>");
	esc(b, h->name);
	kl_buf_printf(b, "</strong> (%s)<ul>\n", h->status &&
		      strcmp(h->status, "ok") != 0 ? h->status
		      : r->incomplete ? "incomplete" : "not all read");
	if (h->error) {
		kl_buf_puts(b, "<li>");
		esc(b, h->error);
		kl_buf_puts(b, "</li>\n");
	}
	reason(b, "missing objects", s->missing_objects, "objects the "
	       "repository does not have (a partial or damaged clone)");
	reason(b, "unreadable", s->unreadable, "files or objects could not be read");
	reason(b, "limits hit", s->limit_hits, "rule and file pairs stopped at "
	       "the regex limit");
	if (r->shallow)
		kl_buf_puts(b, "<li>shallow clone: history beyond its boundary "
			    "was not seen</li>\n");
	for (i = 0; i < r->n_notices && shown < 20; i++) {
		const kl_notice *n = &r->notices[i];

		if (n->kind != KL_NOTICE_ERROR)
			continue;
		kl_buf_puts(b, "<li>error: ");
		if (n->path) {
			esc(b, n->path);
			kl_buf_puts(b, ": ");
		}
		esc(b, n->message);
		kl_buf_puts(b, "</li>\n");
		shown++;
	}
	kl_buf_puts(b, "</ul></li>\n");
}

static void put_banner(html_ctx *c)
{
	kl_buf b = KL_BUF_INIT;
	size_t i;

	for (i = 0; i < c->d->n_repos; i++)
		repo_reasons(&c->d->repos[i], &b);
	for (i = 0; c->d->warnings && i < c->d->warnings->len; i++) {
		kl_buf_puts(&b, "<li>");
		esc(&b, c->d->warnings->items[i]);
		kl_buf_puts(&b, "</li>\n");
	}
	if (b.len) {
		kl_buf_puts(c->out, "<section class=\"banner\" id=\"incomplete\" "
			    "role=\"alert\"><h2>Incomplete scan: findings may "
			    "be missing</h2>\n<ul>\n");
		kl_buf_add(c->out, b.data, b.len);
		kl_buf_puts(c->out, "</ul></section>\n");
	}
	kl_buf_free(&b);
}

/* ------------------------------------------------------------ summary */

typedef struct tally {
	size_t sev[4], status[4], in_head, history_only, worktree, keys, policy;
	size_t *per_provider;
} tally;

static void count_all(const html_ctx *c, tally *t)
{
	size_t i, j;

	memset(t, 0, sizeof(*t));
	t->per_provider = kl_xcalloc(c->n_providers + 1, sizeof(size_t));
	for (i = 0; i < c->d->n_repos; i++)
		for (j = 0; j < rep(c, i)->findings.len; j++) {
			const kl_finding *f = &rep(c, i)->findings.items[j];

			if (kl_report_is_policy(f)) {
				t->policy++;
				continue;
			}
			t->keys++;
			t->sev[f->rule->severity]++;
			t->status[f->verification.status]++;
			if (!f->has_prov)
				t->worktree++;
			else if (f->prov.in_head)
				t->in_head++;
			else
				t->history_only++;
			t->per_provider[provider_index(c, provider_of(f))]++;
		}
}

static void card(kl_buf *o, const char *cls, size_t n, const char *label)
{
	kl_buf_printf(o, "<div class=\"card %s\"><b>%zu</b><span>%s</span>"
		      "</div>\n", cls, n, label);
}

static void put_cards(html_ctx *c, const tally *t)
{
	kl_buf *o = c->out;
	int s;

	kl_buf_puts(o, "<div class=\"cards\">\n");
	card(o, "total", t->keys, "keys found");
	for (s = 3; s >= 0; s--)
		card(o, sev_names[s], t->sev[s], sev_names[s]);
	card(o, "head", t->in_head, "still in HEAD");
	card(o, "hist", t->history_only, "only in history");
	if (t->worktree)
		card(o, "wt", t->worktree, "in the work tree");
	card(o, "live", t->status[KL_VERIFY_LIVE], "live");
	card(o, "revoked", t->status[KL_VERIFY_REVOKED], "revoked");
	card(o, "unknown", t->status[KL_VERIFY_UNKNOWN], "unknown");
	card(o, "nc", t->status[KL_VERIFY_NONE], "not checked");
	if (t->policy)
		card(o, "policy", t->policy, "policy findings");
	kl_buf_puts(o, "</div>\n");
}

/* Horizontal bars, one per provider, largest first (at most 15). */
static void put_provider_bars(html_ctx *c, const tally *t)
{
	size_t *idx = kl_xcalloc(c->n_providers + 1, sizeof(*idx));
	size_t i, j, n = 0, max = 1, shown;
	kl_buf *o = c->out;

	for (i = 0; i < c->n_providers; i++)
		if (t->per_provider[i])
			idx[n++] = i;
	for (i = 1; i < n; i++) /* insertion sort: few providers */
		for (j = i; j > 0 && t->per_provider[idx[j]] >
			    t->per_provider[idx[j - 1]]; j--) {
			size_t tmp = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = tmp;
		}
	shown = n < 15 ? n : 15;
	for (i = 0; i < shown; i++)
		if (t->per_provider[idx[i]] > max)
			max = t->per_provider[idx[i]];
	kl_buf_printf(o, "<figure class=\"chart\"><figcaption>Keys by provider"
		      "</figcaption><svg class=\"bars\" viewBox=\"0 0 400 %zu\" "
		      "role=\"img\" aria-label=\"keys by provider\">\n",
		      shown * 20 + 4);
	for (i = 0; i < shown; i++) {
		size_t v = t->per_provider[idx[i]];

		kl_buf_printf(o, "<text x=\"0\" y=\"%zu\" class=\"lbl\">",
			      i * 20 + 15);
		esc(o, c->providers[idx[i]]);
		kl_buf_printf(o, "</text><rect x=\"130\" y=\"%zu\" height=\"14\" "
			      "width=\"%.1f\" class=\"bar\"/><text x=\"%.1f\" "
			      "y=\"%zu\" class=\"num\">%zu</text>\n", i * 20 + 4,
			      1 + 220.0 * (double)v / (double)max,
			      136 + 220.0 * (double)v / (double)max, i * 20 + 15,
			      v);
	}
	kl_buf_puts(o, "</svg></figure>\n");
	free(idx);
}

/* Months since 1970 of t. */
static int month_of(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		return 0;
	return (tm.tm_year - 70) * 12 + tm.tm_mon;
}

typedef struct timeline {
	int first, last, step; /* in months */
	size_t *added, *removed, n, max;
} timeline;

static void timeline_add(timeline *tl, int64_t t, size_t *col)
{
	int m = month_of(t);

	if (t && m >= tl->first && m <= tl->last) {
		size_t i = (size_t)((m - tl->first) / tl->step);

		col[i]++;
		if (col[i] > tl->max)
			tl->max = col[i];
	}
}

/* Buckets of a month, a quarter or a year: at most 60 bars. */
static bool timeline_fill(const html_ctx *c, timeline *tl)
{
	size_t i, j;

	memset(tl, 0, sizeof(*tl));
	tl->first = -1;
	for (i = 0; i < c->d->n_repos; i++)
		for (j = 0; j < rep(c, i)->findings.len; j++) {
			const kl_finding *f = &rep(c, i)->findings.items[j];
			int m;

			if (!f->has_prov || !f->prov.author_time ||
			    kl_report_is_policy(f))
				continue;
			m = month_of(f->prov.author_time);
			if (tl->first < 0 || m < tl->first)
				tl->first = m;
			if (m > tl->last)
				tl->last = m;
			if (f->prov.removed_time &&
			    month_of(f->prov.removed_time) > tl->last)
				tl->last = month_of(f->prov.removed_time);
		}
	if (tl->first < 0)
		return false;
	tl->step = tl->last - tl->first < 60 ? 1 : tl->last - tl->first < 180
		   ? 3 : 12;
	if (tl->step > 1)
		tl->first -= tl->first % tl->step;
	tl->n = (size_t)((tl->last - tl->first) / tl->step + 1);
	tl->added = kl_xcalloc(tl->n, sizeof(size_t));
	tl->removed = kl_xcalloc(tl->n, sizeof(size_t));
	for (i = 0; i < c->d->n_repos; i++)
		for (j = 0; j < rep(c, i)->findings.len; j++) {
			const kl_finding *f = &rep(c, i)->findings.items[j];

			if (!f->has_prov || kl_report_is_policy(f))
				continue;
			timeline_add(tl, f->prov.author_time, tl->added);
			if (f->prov.removed_in)
				timeline_add(tl, f->prov.removed_time,
					     tl->removed);
		}
	return true;
}

static void bucket_label(kl_buf *o, const timeline *tl, size_t i)
{
	int m = tl->first + (int)i * tl->step;

	if (tl->step == 12)
		kl_buf_printf(o, "%d", 1970 + m / 12);
	else if (tl->step == 3)
		kl_buf_printf(o, "%d Q%d", 1970 + m / 12, m % 12 / 3 + 1);
	else
		kl_buf_printf(o, "%d-%02d", 1970 + m / 12, m % 12 + 1);
}

/* Keys introduced (up) and removed (down) per period. */
static void put_timeline(html_ctx *c)
{
	kl_buf *o = c->out;
	timeline tl;
	double w, h = 70;
	size_t i;

	if (!timeline_fill(c, &tl))
		return;
	w = 560.0 / (double)(tl.n < 12 ? 12 : tl.n);
	kl_buf_puts(o, "<figure class=\"chart\"><figcaption>Keys introduced "
		    "<span class=\"k-add\">&#9632;</span> and removed <span "
		    "class=\"k-rm\">&#9632;</span> over time</figcaption>"
		    "<svg class=\"timeline\" viewBox=\"0 0 600 180\" role=\"img\" "
		    "aria-label=\"keys introduced and removed over time\">\n"
		    "<line x1=\"30\" x2=\"590\" y1=\"80\" y2=\"80\" class=\"axis\"/>\n");
	for (i = 0; i < tl.n; i++) {
		double x = 30 + w * (double)i, ha, hr;

		ha = h * (double)tl.added[i] / (double)tl.max;
		hr = h * (double)tl.removed[i] / (double)tl.max;
		kl_buf_puts(o, "<g><title>");
		bucket_label(o, &tl, i);
		kl_buf_printf(o, ": %zu introduced, %zu removed</title>",
			      tl.added[i], tl.removed[i]);
		if (tl.added[i])
			kl_buf_printf(o, "<rect class=\"add\" x=\"%.1f\" y=\"%.1f\""
				      " width=\"%.1f\" height=\"%.1f\"/>", x + w * 0.1,
				      80 - ha, w * 0.8, ha);
		if (tl.removed[i])
			kl_buf_printf(o, "<rect class=\"rm\" x=\"%.1f\" y=\"80\" "
				      "width=\"%.1f\" height=\"%.1f\"/>", x + w * 0.1,
				      w * 0.8, hr);
		kl_buf_puts(o, "</g>\n");
	}
	kl_buf_printf(o, "<text x=\"0\" y=\"14\" class=\"num\">%zu</text>"
		      "<text x=\"30\" y=\"175\" class=\"lbl\">", tl.max);
	bucket_label(o, &tl, 0);
	kl_buf_puts(o, "</text><text x=\"590\" y=\"175\" class=\"lbl end\">");
	bucket_label(o, &tl, tl.n - 1);
	kl_buf_puts(o, "</text></svg></figure>\n");
	free(tl.added);
	free(tl.removed);
}

static void put_summary(html_ctx *c)
{
	tally t;

	count_all(c, &t);
	kl_buf_puts(c->out, "<section id=\"summary\"><h2>Summary</h2>\n");
	put_cards(c, &t);
	kl_buf_puts(c->out, "<div class=\"charts\">\n");
	put_timeline(c);
	if (t.keys)
		put_provider_bars(c, &t);
	kl_buf_puts(c->out, "</div></section>\n");
	free(t.per_provider);
}

/* ------------------------------------------------------- repositories */

static void put_repos(html_ctx *c)
{
	kl_buf *o = c->out;
	size_t i, j;

	kl_buf_puts(o, "<section id=\"repositories\"><h2>Repositories</h2>\n"
		    "<div class=\"scroll\"><table class=\"repos\"><thead><tr><th>Repository</th>"
		    "<th>Status</th><th>Findings</th><th>Worst</th><th>Seconds"
		    "</th><th>Commit</th></tr></thead><tbody>\n");
	for (i = 0; i < c->d->n_repos; i++) {
		const kl_html_repo *h = &c->d->repos[i];
		const kl_findings *fs = &h->report->findings;
		int worst = -1;

		for (j = 0; j < fs->len; j++)
			if ((int)fs->items[j].rule->severity > worst)
				worst = (int)fs->items[j].rule->severity;
		kl_buf_printf(o, "<tr class=\"st-%s\"><td>", h->status);
		esc(o, h->name);
		if (h->error) {
			kl_buf_puts(o, "<br><small>");
			esc(o, h->error);
			kl_buf_puts(o, "</small>");
		}
		kl_buf_printf(o, "</td><td class=\"st\">%s</td><td data-k=\"%zu\">",
			      h->status, fs->len);
		if (fs->len)
			kl_buf_printf(o, "<a href=\"#findings\" data-repo=\"%zu\">"
				      "%zu</a>", i, fs->len);
		else
			kl_buf_puts(o, "0");
		kl_buf_printf(o, "</td><td class=\"sev sev-%s\">%s</td><td>",
			      worst < 0 ? "none" : sev_names[worst],
			      worst < 0 ? "" : sev_names[worst]);
		if (h->seconds >= 0)
			kl_buf_printf(o, "%.1f", h->seconds);
		kl_buf_puts(o, "</td><td>");
		short_id(o, h->report->head);
		kl_buf_puts(o, "</td></tr>\n");
	}
	kl_buf_puts(o, "</tbody></table></div></section>\n");
}

/* ------------------------------------------------------------ findings */

static void put_location(html_ctx *c, const row *w)
{
	const kl_finding *f = w->f;
	const kl_report *r = rep(c, w->repo);
	const char *commit = f->has_prov ? f->prov.commit : r->head;
	kl_buf url = KL_BUF_INIT;
	bool link = file_url(r->remote, commit, f->path, f->line, &url);

	kl_buf_puts(c->out, "<td class=\"path\">");
	if (link)
		link_open(c->out, url.data);
	esc_scrub(c->out, f->path, f);
	if (f->line)
		kl_buf_printf(c->out, ":%zu", f->line);
	kl_buf_puts(c->out, link ? "</a></td>" : "</td>");
	kl_buf_free(&url);
}

static void put_introduced(html_ctx *c, const kl_finding *f)
{
	kl_buf *o = c->out;

	if (!f->has_prov) {
		kl_buf_puts(o, "<td data-k=\"0\"></td>");
		return;
	}
	kl_buf_printf(o, "<td data-k=\"%lld\">", (long long)f->prov.author_time);
	put_date(o, f->prov.author_time);
	kl_buf_puts(o, " ");
	short_id(o, f->prov.commit);
	kl_buf_puts(o, "<span class=\"who\">");
	esc_scrub(o, f->prov.author_name, f);
	kl_buf_puts(o, "</span>");
	if (f->prov.summary) {
		kl_buf_puts(o, "<span class=\"msg\">");
		esc_scrub(o, f->prov.summary, f);
		kl_buf_puts(o, "</span>");
	}
	kl_buf_puts(o, "</td>");
}

static void put_removed(html_ctx *c, const kl_finding *f)
{
	kl_buf *o = c->out;
	int64_t days = exposure_days(c, f);

	kl_buf_printf(o, "<td data-k=\"%lld\">",
		      (long long)(f->prov.removed_in ? f->prov.removed_time : 0));
	if (f->has_prov && f->prov.removed_in) {
		put_date(o, f->prov.removed_time);
		kl_buf_puts(o, " ");
		short_id(o, f->prov.removed_in);
	}
	kl_buf_printf(o, "</td><td class=\"%s\">%s</td>",
		      !f->has_prov || f->prov.in_head ? "yes" : "no",
		      !f->has_prov ? "work tree" : f->prov.in_head ? "yes" : "no");
	if (days >= 0)
		kl_buf_printf(o, "<td data-k=\"%lld\" class=\"n\">%lld</td>",
			      (long long)days, (long long)days);
	else
		kl_buf_puts(o, "<td data-k=\"-1\"></td>");
}

static void put_verification(html_ctx *c, const kl_finding *f)
{
	const char *st = status_names[f->verification.status];

	kl_buf_printf(c->out, "<td class=\"v v-%s\"", st);
	if (f->verification.detail) {
		kl_buf_puts(c->out, " title=\"");
		esc(c->out, f->verification.detail);
		kl_buf_puts(c->out, "\"");
	}
	kl_buf_printf(c->out, ">%s</td>", f->verification.status ==
		      KL_VERIFY_NONE ? "not checked" : st);
}

static void put_remediation(html_ctx *c, const kl_finding *f)
{
	kl_buf url = KL_BUF_INIT;

	kl_buf_puts(c->out, "<td>");
	if (remediation_url(f->rule->remediation, &url)) {
		kl_buf_puts(c->out, "<a rel=\"noreferrer\" href=\"");
		esc(c->out, url.data);
		kl_buf_puts(c->out, "\">rotate</a>");
	} else if (f->rule->remediation) {
		kl_buf_puts(c->out, "<span class=\"msg\">");
		esc(c->out, f->rule->remediation);
		kl_buf_puts(c->out, "</span>");
	}
	kl_buf_puts(c->out, "</td>");
	kl_buf_free(&url);
}

static void put_rule(html_ctx *c, const kl_finding *f)
{
	kl_buf_printf(c->out, "<td class=\"sev sev-%s\" data-k=\"%d\">%s</td>"
		      "<td>", sev_names[f->rule->severity],
		      (int)f->rule->severity, sev_names[f->rule->severity]);
	esc(c->out, f->rule->name);
	kl_buf_puts(c->out, "<code class=\"rid\">");
	esc(c->out, f->rule->id);
	kl_buf_puts(c->out, "</code></td><td>");
	esc(c->out, provider_of(f));
	kl_buf_puts(c->out, "</td>");
}

static void put_repo_cell(html_ctx *c, const row *w)
{
	if (!c->d->multi)
		return;
	kl_buf_puts(c->out, "<td>");
	esc(c->out, c->d->repos[w->repo].name);
	kl_buf_puts(c->out, "</td>");
}

static void put_finding(html_ctx *c, const row *w, size_t i)
{
	const kl_finding *f = w->f;
	kl_buf *o = c->out;

	kl_buf_printf(o, "<tr id=\"f%zu\" data-sev=\"%s\" data-p=\"%zu\" "
		      "data-v=\"%s\" data-r=\"%zu\" data-h=\"%d\">", i,
		      sev_names[f->rule->severity],
		      provider_index(c, provider_of(f)),
		      status_names[f->verification.status], w->repo,
		      !f->has_prov || f->prov.in_head);
	put_repo_cell(c, w);
	put_rule(c, f);
	put_location(c, w);
	kl_buf_puts(o, "<td class=\"secret\"><code>");
	esc(o, f->redacted);
	kl_buf_puts(o, "</code></td>");
	put_introduced(c, f);
	put_removed(c, f);
	put_verification(c, f);
	put_remediation(c, f);
	kl_buf_puts(o, "</tr>\n");
}

static void select_open(kl_buf *o, const char *key, const char *label)
{
	kl_buf_printf(o, "<label>%s <select data-filter=\"%s\"><option value=\"\">"
		      "all</option>", label, key);
}

/* Filters, search and counts: shown only when the script runs. */
static void put_controls(html_ctx *c)
{
	kl_buf *o = c->out;
	size_t i;
	int s;

	kl_buf_puts(o, "<form id=\"controls\" hidden role=\"search\">");
	select_open(o, "sev", "Severity");
	for (s = 3; s >= 0; s--)
		kl_buf_printf(o, "<option>%s</option>", sev_names[s]);
	kl_buf_puts(o, "</select></label>");
	select_open(o, "p", "Provider");
	for (i = 0; i < c->n_providers; i++) {
		kl_buf_printf(o, "<option value=\"%zu\">", i);
		esc(o, c->providers[i]);
		kl_buf_puts(o, "</option>");
	}
	kl_buf_puts(o, "</select></label>");
	select_open(o, "v", "Status");
	for (s = 1; s < 4; s++)
		kl_buf_printf(o, "<option>%s</option>", status_names[s]);
	kl_buf_puts(o, "<option value=\"not-checked\">not checked</option>"
		    "</select></label>");
	select_open(o, "h", "Where");
	kl_buf_puts(o, "<option value=\"1\">in HEAD</option><option value=\"0\">"
		    "only in history</option></select></label>");
	if (c->d->multi) {
		select_open(o, "r", "Repository");
		for (i = 0; i < c->d->n_repos; i++) {
			kl_buf_printf(o, "<option value=\"%zu\">", i);
			esc(o, c->d->repos[i].name);
			kl_buf_puts(o, "</option>");
		}
		kl_buf_puts(o, "</select></label>");
	}
	kl_buf_puts(o, "<label>Search <input type=\"search\" id=\"q\" "
		    "placeholder=\"path, author, rule...\"></label>"
		    "<output id=\"shown\"></output></form>\n");
}

/* The sortable columns of the findings table and how they sort; the
 * first only in a report of several repositories. */
static const char *const columns[][2] = {
	{ "Repository", "text" }, { "Severity", "num" }, { "Rule", "text" },
	{ "Provider", "text" }, { "Location", "text" },
	{ "Secret (redacted)", "text" }, { "Introduced", "num" },
	{ "Removed", "num" }, { "In HEAD", "text" },
	{ "Days", "num" } /* the exposure window */, { "Verified", "text" },
};

static void put_findings(html_ctx *c)
{
	kl_buf *o = c->out;
	size_t n, i;
	row *v = rows_of(c, false, &n);

	kl_buf_printf(o, "<section id=\"findings\"><h2>Findings (%zu)</h2>\n", n);
	if (!n) {
		kl_buf_puts(o, "<p class=\"none\">No keys found.</p></section>\n");
		free(v);
		return;
	}
	put_controls(c);
	kl_buf_printf(o, "<div class=\"scroll\"><table id=\"ft\" class=\"findings%s"
		      "\"><thead><tr>", c->d->multi ? " multi" : "");
	for (i = c->d->multi ? 0 : 1; i < sizeof(columns) / sizeof(*columns); i++)
		kl_buf_printf(o, "<th data-sort=\"%s\" aria-sort=\"none\">%s</th>",
			      columns[i][1], columns[i][0]);
	kl_buf_puts(o, "<th>Fix</th></tr></thead>\n<tbody id=\"ftb\">\n");
	for (i = 0; i < n; i++)
		put_finding(c, &v[i], i);
	kl_buf_puts(o, "</tbody></table></div></section>\n");
	free(v);
}

static void put_policy(html_ctx *c)
{
	kl_buf *o = c->out;
	size_t n, i;
	row *v = rows_of(c, true, &n);

	if (!n) {
		free(v);
		return;
	}
	kl_buf_printf(o, "<section id=\"policy\"><h2>Policy findings (%zu)</h2>\n"
		      "<div class=\"scroll\"><table class=\"policy\"><thead><tr>%s<th>Severity</th><th>Rule</th>"
		      "<th>Path</th><th>What</th><th>Introduced</th><th>Removed"
		      "</th><th>In HEAD</th><th>Days exposed</th></tr></thead>"
		      "<tbody>\n", n, c->d->multi ? "<th>Repository</th>" : "");
	for (i = 0; i < n; i++) {
		const kl_finding *f = v[i].f;

		kl_buf_puts(o, "<tr>");
		put_repo_cell(c, &v[i]);
		kl_buf_printf(o, "<td class=\"sev sev-%s\">%s</td><td>",
			      sev_names[f->rule->severity],
			      sev_names[f->rule->severity]);
		esc(o, f->rule->id);
		kl_buf_puts(o, "</td>");
		put_location(c, &v[i]);
		kl_buf_puts(o, "<td>");
		esc_scrub(o, f->message ? f->message : f->rule->name, f);
		kl_buf_puts(o, "</td>");
		put_introduced(c, f);
		put_removed(c, f);
		kl_buf_puts(o, "</tr>\n");
	}
	kl_buf_puts(o, "</tbody></table></div></section>\n");
	free(v);
}

/* ---------------------------------------------------------- document */

static const kl_embedded_file *asset(const char *name)
{
	size_t i;

	for (i = 0; i < kl_embedded_html_count; i++)
		if (strcmp(kl_embedded_html[i].name, name) == 0)
			return &kl_embedded_html[i];
	return NULL;
}

/* 'sha256-BASE64' of an inline block, for the CSP. */
static void csp_hash(kl_buf *o, const kl_embedded_file *f)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char raw[33] = { 0 };
	char hex[65];
	size_t i;

	kl_sha256_hex(f->data, f->len, hex);
	for (i = 0; i < 32; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		raw[i] = (unsigned char)v;
	}
	kl_buf_puts(o, "'sha256-");
	for (i = 0; i < 33; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 |
			     (i + 2 < 32 ? raw[i + 2] : 0);

		kl_buf_addch(o, b64[v >> 18 & 63]);
		kl_buf_addch(o, b64[v >> 12 & 63]);
		kl_buf_addch(o, i + 1 < 32 ? b64[v >> 6 & 63] : '=');
		kl_buf_addch(o, i + 2 < 32 ? b64[v & 63] : '=');
	}
	kl_buf_addch(o, '\'');
}

static void put_head(html_ctx *c, const kl_embedded_file *css,
		     const kl_embedded_file *js)
{
	kl_buf *o = c->out;

	kl_buf_puts(o, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
		    "<meta charset=\"utf-8\">\n"
		    "<meta http-equiv=\"Content-Security-Policy\" content=\""
		    "default-src 'none'; img-src 'none'; connect-src 'none'; "
		    "base-uri 'none'; form-action 'none'; style-src ");
	csp_hash(o, css);
	kl_buf_puts(o, "; script-src ");
	csp_hash(o, js);
	kl_buf_puts(o, "\">\n<meta name=\"referrer\" content=\"no-referrer\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, "
		    "initial-scale=1\">\n<meta name=\"generator\" content=\"keyleak "
		    KL_VERSION "\">\n<title>keyleak report: ");
	esc(o, c->d->multi ? c->d->command : c->d->n_repos
	    ? c->d->repos[0].name : "");
	kl_buf_puts(o, "</title>\n<style>");
	kl_buf_add(o, css->data, css->len);
	kl_buf_puts(o, "</style>\n</head>\n<body>\n");
}

void kl_report_html_doc(const kl_html_doc *d, kl_buf *out)
{
	const kl_embedded_file *css = asset("report.css"), *js = asset("report.js");
	html_ctx c = { d, out, d->now ? d->now : (int64_t)time(NULL), NULL, 0 };

	collect_providers(&c);
	put_head(&c, css, js);
	put_header(&c);
	kl_buf_puts(out, "<main>\n");
	put_banner(&c);
	put_summary(&c);
	if (d->multi)
		put_repos(&c);
	put_findings(&c);
	put_policy(&c);
	kl_buf_puts(out, "</main>\n<footer>Generated by keyleak " KL_VERSION
		    ". Secrets are redacted; this page makes no network "
		    "requests.</footer>\n<script>");
	kl_buf_add(out, js->data, js->len);
	kl_buf_puts(out, "</script>\n</body></html>\n");
	free(c.providers);
}

void kl_report_html(const kl_report *r, const kl_report_opts *o, kl_buf *out)
{
	kl_html_repo repo = { r, r->target, r->incomplete ? "incomplete" : "ok",
			      NULL, -1 };
	kl_html_doc d = { r->command, &repo, 1, false, NULL, r->rules, 0 };

	(void)o; /* show_secrets never applies here */
	kl_report_html_doc(&d, out);
}
