/*
 * Owns the incremental state of `audit --state-dir`: one file per
 * repository listing the blobs scanned clean (sorted binary ids, 20 bytes
 * each), under a key over the ruleset and options. A blob with findings
 * or notices is never recorded, so it is scanned again each run and its
 * findings, provenance and warnings are exactly a full run's; a blob that
 * leaves the repository (force-push, gc) leaves the state at the next save.
 */
#include <stdlib.h>
#include <string.h>

#include "findings/state.h"

#define MAGIC "keyleak-state 1\n"
#define MAX_STATE_BYTES ((size_t)1 << 32)

static void key_list(kl_buf *b, const char *name, const kl_strlist *l)
{
	size_t i;

	kl_buf_printf(b, "%s %zu\n", name, l->len);
	for (i = 0; i < l->len; i++) {
		kl_buf_puts(b, l->items[i]);
		kl_buf_add(b, "", 1);
	}
}

static void key_rule(kl_buf *b, const kl_rule *r)
{
	kl_buf_printf(b, "rule %s %d %d %d %.6f\n", r->id, (int)r->kind,
		      (int)r->severity, r->secret_group, r->min_entropy);
	kl_buf_puts(b, r->regex ? r->regex : "");
	kl_buf_add(b, "", 1);
	kl_buf_puts(b, r->marker ? r->marker : "");
	kl_buf_add(b, "", 1);
	key_list(b, "keywords", &r->keywords);
	key_list(b, "stopwords", &r->stopwords);
	key_list(b, "checks", &r->checks);
}

void kl_state_key(const kl_ruleset *rs, size_t max_file_size, bool verbose,
		  const char *cfg, size_t cfg_len, char out[65])
{
	kl_buf b = KL_BUF_INIT;
	size_t i;

	kl_buf_printf(&b, "keyleak %s\nmax %zu\nverbose %d\n", KL_VERSION,
		      max_file_size, (int)verbose);
	for (i = 0; i < kl_ruleset_count(rs); i++)
		key_rule(&b, kl_ruleset_get(rs, i));
	kl_buf_printf(&b, "config %zu\n", cfg ? cfg_len : 0);
	if (cfg)
		kl_buf_add(&b, cfg, cfg_len);
	kl_sha256_hex(b.data, b.len, out);
	kl_buf_free(&b);
}

static void set_status(kl_memo *m, const char *s)
{
	free(m->status);
	m->status = kl_xstrdup(s);
}

/* "keyleak-state 1\nkey HEX\nblobs N\n" then N sorted ids. */
static const char *parse(kl_memo *m, const kl_buf *t)
{
	const char *p = t->data, *end = t->data + t->len;
	unsigned long long n;
	char *after;
	size_t head = strlen(MAGIC);

	if (t->len < head || memcmp(p, MAGIC, head) != 0)
		return "invalidated: not a keyleak state file";
	p += head;
	if ((size_t)(end - p) < 69 || memcmp(p, "key ", 4) != 0 || p[68] != '\n')
		return "invalidated: damaged header";
	if (memcmp(p + 4, m->key, 64) != 0)
		return "invalidated: the ruleset or options changed";
	p += 69;
	if ((size_t)(end - p) < 7 || memcmp(p, "blobs ", 6) != 0)
		return "invalidated: damaged header";
	n = strtoull(p + 6, &after, 10);
	if (*after != '\n' || (size_t)(end - after - 1) != n * KL_MEMO_IDLEN)
		return "invalidated: truncated";
	m->n_known = (size_t)n;
	m->known = kl_xmalloc(n * KL_MEMO_IDLEN + 1);
	memcpy(m->known, after + 1, n * KL_MEMO_IDLEN);
	return "used";
}

void kl_memo_load(kl_memo *m, const char *path, const char key[65])
{
	kl_buf t = KL_BUF_INIT;
	kl_error err = { 0 };
	FILE *probe;

	memset(m, 0, sizeof(*m));
	memcpy(m->key, key, 65);
	probe = fopen(path, "rb");
	if (!probe) {
		set_status(m, "new");
		return;
	}
	fclose(probe);
	if (kl_read_file(path, "state file", MAX_STATE_BYTES, &t, &err) < 0) {
		kl_buf b = KL_BUF_INIT;

		kl_buf_printf(&b, "invalidated: %s", err.message);
		set_status(m, b.data);
		kl_buf_free(&b);
		kl_error_clear(&err);
	} else {
		set_status(m, parse(m, &t));
	}
	kl_buf_free(&t);
}

void kl_memo_free(kl_memo *m)
{
	if (!m)
		return;
	free(m->known);
	free(m->ids);
	free(m->marks);
	free(m->status);
	memset(m, 0, sizeof(*m));
}

bool kl_memo_known(const kl_memo *m, const unsigned char id[KL_MEMO_IDLEN])
{
	size_t lo = 0, hi = m->n_known;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(m->known + mid * KL_MEMO_IDLEN, id, KL_MEMO_IDLEN);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

void kl_memo_begin(kl_memo *m, size_t n)
{
	free(m->ids);
	free(m->marks);
	m->n = n;
	m->ids = kl_xcalloc(n ? n : 1, KL_MEMO_IDLEN);
	m->marks = kl_xcalloc(n ? n : 1, 1);
}

void kl_memo_mark_item(kl_memo *m, size_t item,
		       const unsigned char id[KL_MEMO_IDLEN], kl_memo_mark mk)
{
	if (item >= m->n)
		return;
	memcpy(m->ids + item * KL_MEMO_IDLEN, id, KL_MEMO_IDLEN);
	m->marks[item] = (unsigned char)mk;
}

void kl_memo_snap(kl_memo_snapshot *s, const kl_report *r)
{
	s->findings = r->findings.len;
	s->notices = r->n_notices;
	s->suppressed = r->summary.suppressed;
	s->limit_hits = r->summary.limit_hits;
	s->unreadable = r->summary.unreadable;
	s->too_large = r->summary.skipped_too_large;
}

kl_memo_mark kl_memo_snap_clean(const kl_memo_snapshot *s, const kl_report *r)
{
	kl_memo_snapshot now;

	kl_memo_snap(&now, r);
	return memcmp(s, &now, sizeof(now)) == 0 ? KL_MEMO_CLEAN : KL_MEMO_DIRTY;
}

size_t kl_memo_carried(const kl_memo *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->n; i++)
		n += m->marks[i] == KL_MEMO_KNOWN;
	return n;
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, KL_MEMO_IDLEN);
}

int kl_memo_save(const kl_memo *m, const char *path, kl_error *err)
{
	kl_buf b = KL_BUF_INIT;
	unsigned char *ids = kl_xmalloc(m->n * KL_MEMO_IDLEN + 1);
	size_t i, n = 0;
	int rc;

	for (i = 0; i < m->n; i++)
		if (m->marks[i] != KL_MEMO_DIRTY)
			memcpy(ids + n++ * KL_MEMO_IDLEN,
			       m->ids + i * KL_MEMO_IDLEN, KL_MEMO_IDLEN);
	if (n)
		qsort(ids, n, KL_MEMO_IDLEN, cmp_id);
	kl_buf_printf(&b, "%skey %s\nblobs %zu\n", MAGIC, m->key, n);
	kl_buf_add(&b, ids, n * KL_MEMO_IDLEN);
	rc = kl_write_file_atomic(path, b.data, b.len, err);
	kl_buf_free(&b);
	free(ids);
	return rc;
}

bool kl_memo_changed(const kl_memo *m)
{
	size_t i;

	if (!m->status || strcmp(m->status, "used") != 0 || m->n != m->n_known)
		return true;
	for (i = 0; i < m->n; i++)
		if (m->marks[i] != KL_MEMO_KNOWN)
			return true;
	return false;
}

#define LAST_MAGIC "keyleak-last 1\nsig "

int kl_state_last_load(const char *path, const char sig[65], kl_buf *block)
{
	kl_buf t = KL_BUF_INIT;
	kl_error err = { 0 };
	size_t head = strlen(LAST_MAGIC) + 65;
	FILE *probe = fopen(path, "rb");

	if (!probe)
		return -1;
	fclose(probe);
	if (kl_read_file(path, "state file", MAX_STATE_BYTES, &t, &err) < 0 ||
	    t.len < head || memcmp(t.data, LAST_MAGIC, head - 65) != 0 ||
	    memcmp(t.data + head - 65, sig, 64) != 0 || t.data[head - 1] != '\n') {
		kl_error_clear(&err);
		kl_buf_free(&t);
		return -1;
	}
	kl_buf_add(block, t.data + head, t.len - head);
	kl_buf_free(&t);
	return 0;
}

int kl_state_last_save(const char *path, const char sig[65],
		       const kl_buf *block, kl_error *err)
{
	kl_buf b = KL_BUF_INIT;
	int rc;

	kl_buf_printf(&b, "%s%s\n", LAST_MAGIC, sig);
	kl_buf_add(&b, block->data, block->len);
	rc = kl_write_file_atomic(path, b.data, b.len, err);
	kl_buf_free(&b);
	return rc;
}
