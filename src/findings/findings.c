/*
 * Owns kl_finding: building findings from matches, redaction (enough of a
 * secret to recognise it, never enough to use it), fingerprints (one-way,
 * stable across edits that move the line) and deterministic ordering.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keyleak.h"

#define FINGERPRINT_HEX 32 /* 128 bits of SHA-256 */
#define SUFFIX_SHOWN 4

/* Length of the rule keyword the secret starts with: its fixed part. */
static size_t keyword_prefix(const kl_rule *r, const char *s, size_t len)
{
	size_t i, best = 0;

	for (i = 0; i < r->keywords.len; i++) {
		size_t n = strlen(r->keywords.items[i]);

		if (n > best && n < len &&
		    strncasecmp(s, r->keywords.items[i], n) == 0)
			best = n;
	}
	return best;
}

char *kl_redact(const char *secret, size_t len, size_t prefix_len)
{
	kl_buf b = KL_BUF_INIT;
	size_t random_len = prefix_len < len ? len - prefix_len : 0;

	/* Reveal at most a third of the random part: 2 first, 4 last. */
	if (2 + SUFFIX_SHOWN > random_len / 3) {
		kl_buf_add(&b, secret, prefix_len + random_len / 6);
		kl_buf_puts(&b, "\xE2\x80\xA6");
		return kl_buf_detach(&b);
	}
	kl_buf_add(&b, secret, prefix_len + 2);
	kl_buf_puts(&b, "\xE2\x80\xA6");
	kl_buf_add(&b, secret + len - SUFFIX_SHOWN, SUFFIX_SHOWN);
	return kl_buf_detach(&b);
}

char *kl_fingerprint(const char *rule_id, const char *path,
		     const char *secret, size_t len)
{
	kl_buf b = KL_BUF_INIT;
	char hex[65];

	kl_buf_puts(&b, "keyleak-v1");
	kl_buf_add(&b, "", 1);
	kl_buf_puts(&b, rule_id);
	kl_buf_add(&b, "", 1);
	kl_buf_puts(&b, path);
	kl_buf_add(&b, "", 1);
	kl_buf_add(&b, secret, len);
	kl_sha256_hex(b.data, b.len, hex);
	kl_buf_free(&b);
	return kl_xstrndup(hex, FINGERPRINT_HEX);
}

kl_finding *kl_findings_push(kl_findings *fs)
{
	kl_finding *f;

	if (fs->len == fs->cap) {
		fs->cap = fs->cap ? fs->cap * 2 : 16;
		fs->items = kl_xrealloc(fs->items, fs->cap * sizeof(kl_finding));
	}
	f = &fs->items[fs->len++];
	memset(f, 0, sizeof(*f));
	f->count = 1;
	return f;
}

/* A paired credential: the secret is "first:partner", so the
 * fingerprint covers both and redaction hides the partner's body. */
static void add_pair(kl_finding *f, const char *path, const char *data,
		     const kl_match *m)
{
	kl_buf b = KL_BUF_INIT;

	kl_buf_add(&b, data + m->start, m->len);
	kl_buf_addch(&b, ':');
	kl_buf_add(&b, data + m->partner_start, m->partner_len);
	f->partner_line = m->partner_line;
	f->redacted = kl_redact(b.data, b.len,
				keyword_prefix(m->rule, b.data, b.len));
	f->fingerprint = kl_fingerprint(m->rule->id, path, b.data, b.len);
	f->secret = kl_buf_detach(&b);
	kl_buf_printf(&b, "%s, with its %s (line %zu)", m->rule->name,
		      m->rule->pair->name, m->partner_line);
	f->message = kl_buf_detach(&b);
}

kl_finding *kl_findings_add_match(kl_findings *fs, const char *path,
				  const char *data, const kl_match *m)
{
	kl_finding *f = kl_findings_push(fs);
	const char *s = data + m->start;

	f->rule = m->rule;
	f->path = kl_xstrdup(path);
	f->line = m->line;
	f->column = m->column;
	f->end_column = m->end_column;
	f->end_line = m->end_line ? m->end_line : m->line;
	if (m->partner_len) {
		add_pair(f, path, data, m);
		return f;
	}
	f->secret = kl_xstrndup(s, m->len);
	f->redacted = kl_redact(s, m->len, keyword_prefix(m->rule, s, m->len));
	f->fingerprint = kl_fingerprint(m->rule->id, path, s, m->len);
	f->message = kl_xstrdup(m->rule->name);
	return f;
}

kl_finding *kl_findings_add_policy(kl_findings *fs, const kl_rule *rule,
				   const char *path, const char *message)
{
	kl_finding *f = kl_findings_push(fs);

	f->rule = rule;
	f->path = kl_xstrdup(path);
	f->message = kl_xstrdup(message);
	f->fingerprint = kl_fingerprint(rule->id, path, "", 0);
	return f;
}

static int cmp_finding(const void *a, const void *b)
{
	const kl_finding *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c)
		return c;
	if (x->member || y->member) { /* members of an archive, by name */
		c = !x->member ? -1 : !y->member ? 1
					       : strcmp(x->member, y->member);
		if (c)
			return c;
	}
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	c = strcmp(x->rule->id, y->rule->id);
	if (c)
		return c;
	return strcmp(x->fingerprint, y->fingerprint);
}

void kl_findings_sort(kl_findings *fs)
{
	if (fs->len > 1)
		qsort(fs->items, fs->len, sizeof(kl_finding), cmp_finding);
}

size_t kl_findings_at_least(const kl_findings *fs, kl_severity min)
{
	size_t i, n = 0;

	/* A key its provider accepts (--verify) counts as critical, as
	 * SARIF raises it to "error". */
	for (i = 0; i < fs->len; i++)
		n += fs->items[i].rule &&
		     (fs->items[i].rule->severity >= min ||
		      fs->items[i].verification.status == KL_VERIFY_LIVE);
	return n;
}

void kl_provenance_clear(kl_provenance *p)
{
	free(p->commit);
	free(p->author_name);
	free(p->author_email);
	free(p->summary);
	free(p->removed_in);
	kl_strlist_free(&p->commits);
	kl_strlist_free(&p->reach_refs);
	memset(p, 0, sizeof(*p));
}

void kl_finding_clear(kl_finding *f)
{
	free(f->path);
	/* Secrets do not linger in freed memory. */
	if (f->secret)
		memset(f->secret, 0, strlen(f->secret));
	free(f->secret);
	free(f->redacted);
	free(f->fingerprint);
	free(f->message);
	free(f->blob);
	free(f->verification.detail);
	kl_provenance_clear(&f->prov);
	kl_strlist_free(&f->refs);
	free(f->member);
	kl_strlist_free(&f->decoded);
	memset(f, 0, sizeof(*f));
}

void kl_findings_free(kl_findings *fs)
{
	size_t i;

	for (i = 0; i < fs->len; i++)
		kl_finding_clear(&fs->items[i]);
	free(fs->items);
	fs->items = NULL;
	fs->len = fs->cap = 0;
}

/* The names of verification states, with the findings that carry them:
 * reporters and the verifier both print them. */
const char *kl_verify_status_name(kl_verify_status s)
{
	switch (s) {
	case KL_VERIFY_LIVE:
		return "live";
	case KL_VERIFY_REVOKED:
		return "revoked";
	case KL_VERIFY_UNKNOWN:
		return "unknown";
	case KL_VERIFY_NONE:
		break;
	}
	return "none";
}
