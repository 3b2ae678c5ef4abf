/*
 * Helpers every reporter needs: file names, messages and commit metadata
 * are arbitrary bytes, but JSON and SARIF must be valid UTF-8 and dates
 * must be unambiguous. Formatting of findings lives in text/json/sarif.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"

static size_t utf8_expected_len(unsigned char c, uint32_t *cp)
{
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		*cp = c & 0x1f;
		return 2;
	}
	if (c >= 0xe0 && c <= 0xef) {
		*cp = c & 0x0f;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		*cp = c & 0x07;
		return 4;
	}
	return 0;
}

size_t kl_report_utf8_seq(const char *s, size_t len, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n, i;
	uint32_t v;

	if (!len)
		return 0;
	n = utf8_expected_len(u[0], &v);
	if (!n || n > len)
		return 0;
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (u[i] & 0x3f);
	}
	if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

bool kl_report_utf8_clean(const char *s, size_t len, kl_buf *out)
{
	bool valid = true;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = kl_report_utf8_seq(s + i, len - i, &cp);
		if (n) {
			kl_buf_add(out, s + i, n);
			i += n;
		} else {
			kl_buf_puts(out, "\xef\xbf\xbd");
			valid = false;
			i++;
		}
	}
	if (!out->data)
		kl_buf_grow(out, 0);
	return valid;
}

void kl_report_iso_date(int64_t t, int tz_minutes, kl_buf *out)
{
	time_t local = (time_t)(t + (int64_t)tz_minutes * 60);
	int off = tz_minutes < 0 ? -tz_minutes : tz_minutes;
	struct tm tm;

	if (!gmtime_r(&local, &tm)) {
		kl_buf_puts(out, "1970-01-01T00:00:00Z");
		return;
	}
	kl_buf_printf(out, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
		      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		      tm.tm_min, tm.tm_sec, tz_minutes < 0 ? '-' : '+',
		      off / 60, off % 60);
}

bool kl_report_is_policy(const kl_finding *f)
{
	/* a merged report keeps only the redacted form of a key */
	return f->rule->kind == KL_RULE_POLICY || (!f->secret && !f->redacted);
}

size_t kl_report_count_notices(const kl_report *r, kl_notice_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < r->n_notices; i++)
		n += r->notices[i].kind == kind;
	return n;
}

cJSON *kl_report_json_str(const char *s)
{
	kl_buf b = KL_BUF_INIT;
	cJSON *item;

	if (!s)
		return cJSON_CreateNull();
	kl_report_utf8_clean(s, strlen(s), &b);
	item = cJSON_CreateString(b.data);
	kl_buf_free(&b);
	return item;
}

void kl_report_json_add_str(cJSON *obj, const char *key, const char *s)
{
	cJSON_AddItemToObject(obj, key, kl_report_json_str(s));
}

void kl_report_json_add_num(cJSON *obj, const char *key, uint64_t v)
{
	cJSON_AddItemToObject(obj, key, cJSON_CreateNumber((double)v));
}

void kl_report_json_add_bool(cJSON *obj, const char *key, bool v)
{
	cJSON_AddItemToObject(obj, key, cJSON_CreateBool(v));
}

static void add_hex(cJSON *obj, const char *key, const char *s)
{
	kl_buf k = KL_BUF_INIT, hex = KL_BUF_INIT;
	const unsigned char *u = (const unsigned char *)s;

	kl_buf_printf(&k, "%s_hex", key);
	for (; *u; u++)
		kl_buf_printf(&hex, "%02x", *u);
	cJSON_AddItemToObject(obj, k.data, cJSON_CreateString(hex.data));
	kl_buf_free(&k);
	kl_buf_free(&hex);
}

void kl_report_json_add_path(cJSON *obj, const char *key, const char *path)
{
	kl_buf b = KL_BUF_INIT;
	bool valid;

	if (!path) {
		cJSON_AddItemToObject(obj, key, cJSON_CreateNull());
		return;
	}
	valid = kl_report_utf8_clean(path, strlen(path), &b);
	cJSON_AddItemToObject(obj, key, cJSON_CreateString(b.data));
	if (!valid)
		add_hex(obj, key, path);
	kl_buf_free(&b);
}

cJSON *kl_report_json_strlist(const kl_strlist *l)
{
	cJSON *arr = cJSON_CreateArray();
	size_t i;

	for (i = 0; i < l->len; i++)
		cJSON_AddItemToArray(arr, kl_report_json_str(l->items[i]));
	return arr;
}

cJSON *kl_report_json_provenance(cJSON *o, const kl_provenance *p)
{
	kl_buf date = KL_BUF_INIT;

	kl_report_json_add_str(o, "commit", p->commit);
	kl_report_json_add_str(o, "author_name", p->author_name);
	kl_report_json_add_str(o, "author_email", p->author_email);
	kl_report_iso_date(p->author_time, p->author_tz, &date);
	kl_report_json_add_str(o, "author_date", date.data);
	kl_buf_free(&date);
	kl_report_json_add_str(o, "summary", p->summary);
	kl_report_json_add_bool(o, "in_head", p->in_head);
	kl_report_json_add_str(o, "removed_in", p->removed_in);
	if (p->removed_in && p->removed_time) {
		kl_report_iso_date(p->removed_time, 0, &date);
		kl_report_json_add_str(o, "removed_date", date.data);
	} else {
		kl_report_json_add_str(o, "removed_date", NULL);
	}
	kl_buf_free(&date);
	cJSON_AddItemToObject(o, "commits", kl_report_json_strlist(&p->commits));
	if (p->reach_known) {
		kl_report_json_add_bool(o, "reachable", p->reach_total > 0);
		cJSON_AddItemToObject(o, "refs",
				      kl_report_json_strlist(&p->reach_refs));
		kl_report_json_add_num(o, "refs_total", p->reach_total);
	}
	return o;
}

cJSON *kl_report_json_verification(const kl_verification *v)
{
	cJSON *o;
	kl_buf date = KL_BUF_INIT;

	if (v->status == KL_VERIFY_NONE)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	kl_report_json_add_str(o, "status", kl_verify_status_name(v->status));
	kl_report_json_add_str(o, "detail", v->detail);
	/* UTC, so runs on machines in other zones compare. */
	if (v->checked_at)
		kl_report_iso_date(v->checked_at, 0, &date);
	kl_report_json_add_str(o, "checked_at", v->checked_at ? date.data
							       : NULL);
	kl_buf_free(&date);
	return o;
}

/* The --verify counters, or null when --verify was not given. */
static cJSON *verify_summary(const kl_verify_summary *v)
{
	cJSON *o;

	if (!v->ran)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	kl_report_json_add_num(o, "live", v->live);
	kl_report_json_add_num(o, "revoked", v->revoked);
	kl_report_json_add_num(o, "unknown", v->unknown);
	kl_report_json_add_num(o, "requests", v->requests);
	kl_report_json_add_bool(o, "only_live", v->only_live);
	kl_report_json_add_num(o, "hidden", v->hidden);
	return o;
}

cJSON *kl_report_json_summary(const kl_report *r)
{
	const kl_summary *s = &r->summary;
	cJSON *o = cJSON_CreateObject();

	kl_report_json_add_num(o, "findings", r->findings.len);
	kl_report_json_add_num(o, "files_scanned", s->files_scanned);
	kl_report_json_add_num(o, "bytes_scanned", s->bytes_scanned);
	kl_report_json_add_num(o, "skipped_binary", s->skipped_binary);
	kl_report_json_add_num(o, "skipped_too_large", s->skipped_too_large);
	kl_report_json_add_num(o, "skipped_lfs", s->skipped_lfs);
	kl_report_json_add_num(o, "skipped_other", s->skipped_other);
	kl_report_json_add_num(o, "unreadable", s->unreadable);
	kl_report_json_add_num(o, "suppressed", s->suppressed);
	kl_report_json_add_num(o, "baselined", s->baselined);
	kl_report_json_add_num(o, "commits_scanned", s->commits_scanned);
	kl_report_json_add_num(o, "limit_hits", s->limit_hits);
	kl_report_json_add_num(o, "missing_objects", s->missing_objects);
	cJSON_AddItemToObject(o, "verification", verify_summary(&r->verify));
	return o;
}

/* cJSON's printed text plus a newline into out; NULL is out of memory. */
static void put_printed(char *s, kl_buf *out)
{
	if (!s) {
		fprintf(stderr, "keyleak: out of memory formatting JSON\n");
		abort();
	}
	kl_buf_puts(out, s);
	kl_buf_addch(out, '\n');
	cJSON_free(s);
}

void kl_report_json_finish(cJSON *root, kl_buf *out)
{
	put_printed(cJSON_Print(root), out);
	cJSON_Delete(root);
}

void kl_report_json_line(const cJSON *o, kl_buf *out)
{
	put_printed(cJSON_PrintUnformatted(o), out);
}
