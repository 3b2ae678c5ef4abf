/*
 * The push hooks' message to the person pushing: short lines (a server
 * hook's stderr reaches them prefixed with "remote: "), no colour, every
 * repository string escaped, secrets redacted, and what to do next: which
 * commits to rewrite and with which command.
 */
#include <string.h>

#include "report.h"

static void put_short(kl_buf *out, const char *id)
{
	kl_buf_add(out, id, id && strlen(id) > 7 ? 7 : (id ? strlen(id) : 0));
}

static void put_field(kl_buf *out, const char *label, const char *value)
{
	kl_buf_printf(out, "  %-7s ", label);
	kl_report_escape(out, value ? value : "");
	kl_buf_addch(out, '\n');
}

/* With --verify: "verified live (HTTP 200)", "revoked (HTTP 401)", ... */
static void put_status(kl_buf *out, const kl_verification *v)
{
	kl_buf_puts(out, "  status  ");
	if (v->status == KL_VERIFY_LIVE)
		kl_buf_puts(out, "verified ");
	kl_buf_puts(out, kl_verify_status_name(v->status));
	if (v->detail) {
		kl_buf_puts(out, " (");
		kl_report_escape(out, v->detail);
		kl_buf_addch(out, ')');
	}
	kl_buf_addch(out, '\n');
}

static void put_finding(kl_buf *out, const kl_finding *f)
{
	size_t i;

	for (i = 0; i < f->refs.len; i++) {
		kl_report_escape(out, f->refs.items[i]);
		kl_buf_addch(out, i + 1 < f->refs.len ? ',' : '\n');
		if (i + 1 < f->refs.len)
			kl_buf_addch(out, ' ');
	}
	if (!f->refs.len)
		kl_buf_puts(out, "(pushed commits)\n");
	if (f->has_prov && f->prov.commit) {
		kl_buf_puts(out, "  commit  ");
		put_short(out, f->prov.commit);
		kl_buf_addch(out, ' ');
		kl_report_escape(out, f->prov.summary ? f->prov.summary : "");
		kl_buf_addch(out, '\n');
		if (f->prov.commits.len > 1)
			kl_buf_printf(out, "  also in %zu later commit%s\n",
				      f->prov.commits.len - 1,
				      f->prov.commits.len > 2 ? "s" : "");
	}
	kl_buf_puts(out, "  at      ");
	kl_report_escape(out, f->path);
	if (f->member) {
		kl_buf_addch(out, '!');
		kl_report_escape(out, f->member);
	}
	kl_buf_printf(out, ":%zu\n", f->line);
	if (f->decoded.len)
		kl_buf_printf(out, "  decoded %s%s\n", f->decoded.items[0],
			      f->decoded.len > 1 ? " (nested)" : "");
	kl_buf_puts(out, "  rule    ");
	kl_report_escape(out, f->rule->id);
	kl_buf_puts(out, " (");
	kl_report_escape(out, f->rule->provider);
	kl_buf_puts(out, ")\n");
	if (!kl_report_is_policy(f))
		put_field(out, "secret", f->redacted);
	else
		put_field(out, "issue", f->message);
	if (f->verification.status != KL_VERIFY_NONE)
		put_status(out, &f->verification);
	kl_buf_addch(out, '\n');
}

/* The oldest commit that adds one of the secrets: the rebase starts at
 * its parent. */
static const kl_finding *oldest(const kl_report *r)
{
	const kl_finding *best = NULL;
	size_t i;

	for (i = 0; i < r->findings.len; i++) {
		const kl_finding *f = &r->findings.items[i];

		if (f->has_prov && f->prov.commit &&
		    (!best || f->prov.author_time < best->prov.author_time))
			best = f;
	}
	return best;
}

static void put_advice(kl_buf *out, const kl_report *r,
		       const kl_push_report_opts *o)
{
	const kl_finding *old = oldest(r);

	kl_buf_puts(out, "What to do:\n"
		    "- Remove the key from the commits that add it; deleting\n"
		    "  it in a later commit is not enough (the history would\n"
		    "  still hold it).\n"
		    "  last commit: fix the file, git add, git commit --amend\n");
	if (old) {
		kl_buf_puts(out, "  older ones:  git rebase -i ");
		put_short(out, old->prov.commit);
		kl_buf_puts(out, "^  (mark them \"edit\")\n");
	}
	kl_buf_puts(out, "  then push again.\n"
		    "- If the key was ever shared or pushed anywhere, revoke\n"
		    "  and rotate it.\n"
		    "- A false positive? Put \"keyleak:allow\" in a comment on\n"
		    "  that line (reviewers see it).\n");
	if (o->client)
		kl_buf_puts(out, "- To push anyway (not recommended):\n"
			    "  git push --no-verify\n");
	else if (o->bypass_allowed)
		kl_buf_puts(out, "- To push anyway, give a reason (it is logged):\n"
			    "  git push -o keyleak.bypass=\"why\"\n");
}

void kl_report_push(const kl_report *r, const kl_push_report_opts *o,
		    kl_buf *out)
{
	size_t i;

	kl_buf_printf(out, "keyleak: %s\n\n", o->verdict);
	for (i = 0; i < r->findings.len; i++)
		put_finding(out, &r->findings.items[i]);
	if (r->findings.len)
		put_advice(out, r, o);
}
