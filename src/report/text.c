/*
 * The text report, for people at a terminal: one block per finding, then
 * notices, then a summary. Every string that came from a repository (paths,
 * messages, commit metadata, even rule text) is escaped, so a hostile file
 * name can neither forge report lines nor send terminal sequences.
 */
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_BRED "\033[1;31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

typedef struct text_ctx {
	const kl_report_opts *o;
	kl_buf *out;
} text_ctx;

static void color(text_ctx *t, const char *seq)
{
	if (t->o->color)
		kl_buf_puts(t->out, seq);
}

/* Code points that move the cursor, switch modes or reorder text. */
static bool needs_escape(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	       (cp >= 0x200e && cp <= 0x200f) ||
	       (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

static void put_escaped_cp(kl_buf *out, uint32_t cp)
{
	switch (cp) {
	case '\n':
		kl_buf_puts(out, "\\n");
		return;
	case '\t':
		kl_buf_puts(out, "\\t");
		return;
	case '\r':
		kl_buf_puts(out, "\\r");
		return;
	}
	if (cp < 0x80)
		kl_buf_printf(out, "\\x%02x", (unsigned)cp);
	else
		kl_buf_printf(out, "\\u%04x", (unsigned)cp);
}

/* C-style escaping: control characters, backslash and invalid UTF-8. */
void kl_report_escape(kl_buf *out, const char *s)
{
	size_t len = s ? strlen(s) : 0, i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = kl_report_utf8_seq(s + i, len - i, &cp);
		if (!n) {
			kl_buf_printf(out, "\\x%02x", (unsigned char)s[i++]);
		} else if (cp == '\\') {
			kl_buf_puts(out, "\\\\");
			i++;
		} else if (needs_escape(cp)) {
			put_escaped_cp(out, cp);
			i += n;
		} else {
			kl_buf_add(out, s + i, n);
			i += n;
		}
	}
}

static void put_label(text_ctx *t, const char *label)
{
	kl_buf_puts(t->out, "  ");
	color(t, C_DIM);
	kl_buf_printf(t->out, "%-8s", label);
	color(t, C_RESET);
}

static void put_field(text_ctx *t, const char *label, const char *value)
{
	put_label(t, label);
	kl_report_escape(t->out, value);
	kl_buf_addch(t->out, '\n');
}

/* Multi-line text (remediation): continuation lines stay indented. */
static void put_lines(text_ctx *t, const char *label, const char *value)
{
	const char *p = value, *nl;
	char *line;

	put_label(t, label);
	while ((nl = strchr(p, '\n'))) {
		line = kl_xstrndup(p, (size_t)(nl - p));
		kl_report_escape(t->out, line);
		free(line);
		kl_buf_puts(t->out, "\n          ");
		p = nl + 1;
	}
	kl_report_escape(t->out, p);
	kl_buf_addch(t->out, '\n');
}

static void put_heading(text_ctx *t, const kl_rule *rule)
{
	static const char *const labels[] = { "LOW", "MEDIUM", "HIGH",
					      "CRITICAL" };
	static const char *const colors[] = { C_CYAN, C_YELLOW, C_RED,
					      C_BRED };
	kl_severity s = rule->severity <= KL_SEV_CRITICAL ? rule->severity
							  : KL_SEV_CRITICAL;

	color(t, colors[s]);
	kl_buf_printf(t->out, "%-8s", labels[s]);
	color(t, C_RESET);
	kl_buf_addch(t->out, ' ');
	color(t, C_BOLD);
	kl_report_escape(t->out, rule->id);
	color(t, C_RESET);
	kl_buf_puts(t->out, "  ");
	kl_report_escape(t->out, rule->name);
	kl_buf_addch(t->out, '\n');
}

static void put_location(text_ctx *t, const kl_finding *f)
{
	put_label(t, "at");
	kl_report_escape(t->out, f->path);
	if (f->member) {
		kl_buf_addch(t->out, '!');
		kl_report_escape(t->out, f->member);
	}
	if (f->line)
		kl_buf_printf(t->out, ":%zu:%zu", f->line, f->column);
	if (f->line && f->end_line > f->line) /* a key block */
		kl_buf_printf(t->out, " to line %zu", f->end_line);
	if (f->count > 1)
		kl_buf_printf(t->out, " (seen %zu times)", f->count);
	kl_buf_addch(t->out, '\n');
	if (f->decoded.len) {
		size_t i;

		put_label(t, "decoded");
		for (i = 0; i < f->decoded.len; i++) {
			if (i)
				kl_buf_puts(t->out, ", then ");
			kl_report_escape(t->out, f->decoded.items[i]);
		}
		kl_buf_addch(t->out, '\n');
	}
}

static void put_short_commit(kl_buf *out, const char *id)
{
	char *s = kl_xstrndup(id, strnlen(id, 7));

	kl_report_escape(out, s);
	free(s);
}

/* "reach: reachable from main, topic (+2 more refs)" or "unreachable". */
static void put_reach(text_ctx *t, const kl_provenance *p)
{
	size_t i;

	put_label(t, "reach");
	if (!p->reach_total) {
		kl_buf_puts(t->out, "unreachable: no branch, tag or other ref "
			    "has this commit (amended, rebased or deleted; "
			    "clones made before still have it)\n");
		return;
	}
	kl_buf_puts(t->out, "reachable from ");
	for (i = 0; i < p->reach_refs.len; i++) {
		if (i)
			kl_buf_puts(t->out, ", ");
		kl_report_escape(t->out, p->reach_refs.items[i]);
	}
	if (p->reach_total > p->reach_refs.len)
		kl_buf_printf(t->out, " (+%zu more ref%s)",
			      p->reach_total - p->reach_refs.len,
			      p->reach_total - p->reach_refs.len == 1 ? "" : "s");
	kl_buf_addch(t->out, '\n');
}

static void put_provenance(text_ctx *t, const kl_provenance *p)
{
	kl_buf date = KL_BUF_INIT;

	put_label(t, "commit");
	kl_buf_puts(t->out, "introduced in ");
	put_short_commit(t->out, p->commit ? p->commit : "?");
	kl_buf_puts(t->out, " by ");
	kl_report_escape(t->out, p->author_name);
	kl_buf_puts(t->out, " <");
	kl_report_escape(t->out, p->author_email);
	kl_report_iso_date(p->author_time, p->author_tz, &date);
	kl_buf_printf(t->out, "> on %.10s", date.data);
	kl_buf_free(&date);
	if (p->in_head) {
		kl_buf_puts(t->out, ", still in HEAD");
	} else if (p->removed_in) {
		kl_buf_puts(t->out, ", removed in ");
		put_short_commit(t->out, p->removed_in);
	}
	if (p->commits.len > 1)
		kl_buf_printf(t->out, "; seen in %zu commits", p->commits.len);
	kl_buf_addch(t->out, '\n');
	if (p->reach_known)
		put_reach(t, p);
}

/* "verified live (HTTP 200)", "revoked (HTTP 401)", "unknown (...)". */
static void put_verification(text_ctx *t, const kl_verification *v)
{
	static const char *const colors[] = { "", C_BRED, C_GREEN, C_YELLOW };

	put_label(t, "status");
	color(t, colors[v->status]);
	if (v->status == KL_VERIFY_LIVE)
		kl_buf_puts(t->out, "verified ");
	kl_buf_puts(t->out, kl_verify_status_name(v->status));
	color(t, C_RESET);
	if (v->detail) {
		kl_buf_puts(t->out, " (");
		kl_report_escape(t->out, v->detail);
		kl_buf_addch(t->out, ')');
	}
	kl_buf_addch(t->out, '\n');
}

static void put_finding(text_ctx *t, const kl_finding *f)
{
	const kl_rule *rule = f->rule;

	put_heading(t, rule);
	put_location(t, f);
	if (kl_report_is_policy(f))
		put_field(t, "issue", f->message ? f->message : rule->name);
	else
		put_field(t, "secret", t->o->show_secrets ? f->secret
							 : f->redacted);
	if (f->verification.status != KL_VERIFY_NONE)
		put_verification(t, &f->verification);
	if (f->partner_line) /* a pair: the message names the partner */
		put_field(t, "pair", f->message);
	if (f->fingerprint) {
		put_label(t, "id");
		kl_buf_printf(t->out, "%.16s\n", f->fingerprint);
	}
	if (f->has_prov)
		put_provenance(t, &f->prov);
	kl_buf_addch(t->out, '\n');
}

/* A rule's remediation, once, after the last of its findings. */
static void put_fix(text_ctx *t, const kl_rule *rule)
{
	if (!rule->remediation || !*rule->remediation)
		return;
	put_lines(t, "fix", rule->remediation);
	kl_buf_addch(t->out, '\n');
}

/* --format compact: "high  groq-api-key  src/app.py:3:9  gsk_ab…wxyz"
 * plus, from history, the commit and where it lives. */
static void put_compact(text_ctx *t, const kl_finding *f)
{
	const kl_provenance *p = &f->prov;

	kl_buf_printf(t->out, "%-8s ", kl_severity_name(f->rule->severity));
	kl_report_escape(t->out, f->rule->id);
	kl_buf_puts(t->out, "  ");
	kl_report_escape(t->out, f->path);
	if (f->line)
		kl_buf_printf(t->out, ":%zu:%zu", f->line, f->column);
	kl_buf_puts(t->out, "  ");
	if (kl_report_is_policy(f))
		kl_report_escape(t->out, f->message ? f->message
						    : f->rule->name);
	else
		kl_report_escape(t->out, t->o->show_secrets ? f->secret
							    : f->redacted);
	if (f->has_prov && p->commit)
		kl_buf_printf(t->out, "  commit %.7s", p->commit);
	if (f->has_prov && p->reach_known)
		kl_buf_puts(t->out, p->reach_total ? " reachable" : " unreachable");
	kl_buf_addch(t->out, '\n');
}

static void put_notice(text_ctx *t, const kl_notice *n)
{
	static const char *const names[] = { "skipped", "warning", "error" };
	static const char *const colors[] = { C_DIM, C_YELLOW, C_RED };

	color(t, colors[n->kind]);
	kl_buf_printf(t->out, "%s:", names[n->kind]);
	color(t, C_RESET);
	kl_buf_addch(t->out, ' ');
	if (n->path) {
		kl_report_escape(t->out, n->path);
		kl_buf_puts(t->out, ": ");
	}
	kl_report_escape(t->out, n->message);
	kl_buf_addch(t->out, '\n');
}

static void put_notices(text_ctx *t, const kl_report *r)
{
	size_t i, shown = 0;

	for (i = 0; i < r->n_notices; i++) {
		if (r->notices[i].kind == KL_NOTICE_SKIPPED && !t->o->verbose)
			continue;
		put_notice(t, &r->notices[i]);
		shown++;
	}
	if (shown)
		kl_buf_addch(t->out, '\n');
}

static void put_size(kl_buf *out, uint64_t bytes)
{
	static const char *const units[] = { "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes < 1000) {
		kl_buf_printf(out, "%llu B", (unsigned long long)bytes);
		return;
	}
	v /= 1000;
	while (v >= 1000 && u + 1 < sizeof(units) / sizeof(*units)) {
		v /= 1000;
		u++;
	}
	kl_buf_printf(out, "%.1f %s", v, units[u]);
}

static void put_plural(kl_buf *out, uint64_t n, const char *one,
		       const char *many)
{
	kl_buf_printf(out, "%llu %s", (unsigned long long)n, n == 1 ? one : many);
}

static void put_severity_counts(kl_buf *out, const kl_findings *fs)
{
	size_t counts[KL_SEV_CRITICAL + 1] = { 0 }, i;
	int s;
	bool first = true;

	for (i = 0; i < fs->len; i++)
		counts[fs->items[i].rule->severity]++;
	kl_buf_puts(out, " (");
	for (s = KL_SEV_CRITICAL; s >= KL_SEV_LOW; s--) {
		if (!counts[s])
			continue;
		kl_buf_printf(out, "%s%zu %s", first ? "" : ", ", counts[s],
			      kl_severity_name((kl_severity)s));
		first = false;
	}
	kl_buf_addch(out, ')');
}

static void put_scanned(kl_buf *out, const kl_summary *s)
{
	bool history = s->commits_scanned > 0;

	kl_buf_puts(out, " in ");
	put_plural(out, s->files_scanned, history ? "blob" : "file",
		   history ? "blobs" : "files");
	kl_buf_puts(out, " (");
	put_size(out, s->bytes_scanned);
	kl_buf_addch(out, ')');
	if (history) {
		kl_buf_puts(out, " from ");
		put_plural(out, s->commits_scanned, "commit", "commits");
	}
}

static void put_optional(kl_buf *out, uint64_t n, const char *what)
{
	if (n)
		kl_buf_printf(out, "; %llu %s", (unsigned long long)n, what);
}

static void put_counters(kl_buf *out, const kl_summary *s)
{
	kl_buf_printf(out, "; skipped %llu binary, %llu too large, %llu LFS",
		      (unsigned long long)s->skipped_binary,
		      (unsigned long long)s->skipped_too_large,
		      (unsigned long long)s->skipped_lfs);
	if (s->skipped_other)
		kl_buf_printf(out, ", %llu other",
			      (unsigned long long)s->skipped_other);
	put_optional(out, s->unreadable, "unreadable");
	put_optional(out, s->suppressed, "suppressed");
	put_optional(out, s->baselined, "baselined");
	put_optional(out, s->limit_hits, "regex limit hits");
	put_optional(out, s->missing_objects, "missing");
}

static void put_incomplete(text_ctx *t, const kl_report *r)
{
	color(t, C_BRED);
	kl_buf_puts(t->out, "result INCOMPLETE:");
	color(t, C_RESET);
	kl_buf_addch(t->out, ' ');
	put_plural(t->out, kl_report_count_notices(r, KL_NOTICE_ERROR),
		   "error", "errors");
	kl_buf_puts(t->out, "; ");
	put_plural(t->out, r->summary.unreadable, "unreadable item",
		   "unreadable items");
	kl_buf_puts(t->out, "; content that could not be read was not "
			    "scanned\n");
}

/* Which configuration and baseline shaped the result: a pull request can
 * add a config that silences the scanner, so the reader must see it. */
static void put_config(text_ctx *t, const kl_report *r)
{
	if (r->config_path) {
		kl_buf_puts(t->out, "config: ");
		kl_report_escape(t->out, r->config_path);
		kl_buf_addch(t->out, '\n');
	} else if (r->repo_config_ignored) {
		kl_buf_puts(t->out, "config: none (the repository's own "
				    "config was ignored: --no-repo-config)\n");
	}
	if (r->baseline_path) {
		kl_buf_puts(t->out, "baseline: ");
		kl_report_escape(t->out, r->baseline_path);
		kl_buf_addch(t->out, '\n');
	}
}

static void put_verify_summary(text_ctx *t, const kl_verify_summary *v)
{
	kl_buf_printf(t->out, "verification: %llu live, %llu revoked, %llu "
		      "unknown (",
		      (unsigned long long)v->live, (unsigned long long)v->revoked,
		      (unsigned long long)v->unknown);
	put_plural(t->out, v->requests, "request", "requests");
	kl_buf_addch(t->out, ')');
	if (v->only_live)
		kl_buf_printf(t->out, "; %llu not live, not shown (--only-live)",
			      (unsigned long long)v->hidden);
	kl_buf_addch(t->out, '\n');
}

static void put_summary(text_ctx *t, const kl_report *r)
{
	const kl_findings *fs = &r->findings;

	color(t, fs->len ? C_BOLD : C_GREEN);
	if (fs->len) {
		put_plural(t->out, fs->len, "finding", "findings");
		put_severity_counts(t->out, fs);
	} else {
		kl_buf_puts(t->out, "no secrets found");
	}
	put_scanned(t->out, &r->summary);
	color(t, C_RESET);
	put_counters(t->out, &r->summary);
	kl_buf_addch(t->out, '\n');
	if (r->verify.ran)
		put_verify_summary(t, &r->verify);
	if (r->shallow) {
		color(t, C_YELLOW);
		kl_buf_puts(t->out, "WARNING: history beyond the shallow "
				    "boundary was not scanned\n");
		color(t, C_RESET);
	}
	if (r->incomplete)
		put_incomplete(t, r);
}

/* Most severe first; a rule's findings together (its remediation is
 * printed once, after them); within a rule, the report's own order. */
static int cmp_for_text(const void *a, const void *b)
{
	const kl_finding *x = *(const kl_finding *const *)a;
	const kl_finding *y = *(const kl_finding *const *)b;
	int c;

	if (x->rule->severity != y->rule->severity)
		return x->rule->severity > y->rule->severity ? -1 : 1;
	c = strcmp(x->rule->id, y->rule->id);
	return c ? c : x < y ? -1 : x > y;
}

static void put_findings(text_ctx *t, const kl_findings *fs)
{
	const kl_finding **order = kl_xcalloc(fs->len + 1, sizeof(*order));
	size_t i;

	for (i = 0; i < fs->len; i++)
		order[i] = &fs->items[i];
	qsort(order, fs->len, sizeof(*order), cmp_for_text);
	for (i = 0; i < fs->len; i++) {
		if (t->o->format == KL_FORMAT_COMPACT) {
			put_compact(t, order[i]);
			continue;
		}
		put_finding(t, order[i]);
		if (i + 1 == fs->len || order[i + 1]->rule != order[i]->rule)
			put_fix(t, order[i]->rule);
	}
	if (t->o->format == KL_FORMAT_COMPACT && fs->len)
		kl_buf_addch(t->out, '\n');
	free(order);
}

void kl_report_text(const kl_report *r, const kl_report_opts *o, kl_buf *out)
{
	text_ctx t = { o, out };

	put_findings(&t, &r->findings);
	put_notices(&t, r);
	put_config(&t, r);
	put_summary(&t, r);
}
