/*
 * Owns --baseline: reading fingerprints back from a JSON or SARIF report
 * and removing known findings from a new one. Fingerprints hash the rule,
 * the path and the secret, not the line, so moving a key keeps it known.
 */
#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "findings/baseline.h"

#define BASELINE_MAX_SIZE ((size_t)512 * 1024 * 1024)

struct kl_baseline {
	char **fps; /* sorted */
	size_t len;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}


static void add_fp(kl_strlist *l, const cJSON *v)
{
	if (cJSON_IsString(v) && v->valuestring[0])
		kl_strlist_push(l, v->valuestring);
}

/* keyleak JSON: {"findings": [{"fingerprint": ...}]} */
static bool from_json(const cJSON *root, kl_strlist *l)
{
	const cJSON *fs = cJSON_GetObjectItemCaseSensitive(root, "findings"), *f;

	if (!cJSON_IsArray(fs))
		return false;
	cJSON_ArrayForEach(f, fs)
		add_fp(l, cJSON_GetObjectItemCaseSensitive(f, "fingerprint"));
	return true;
}

/* SARIF: runs[].results[].partialFingerprints["keyleak/v1"] */
static bool from_sarif(const cJSON *root, kl_strlist *l)
{
	const cJSON *runs = cJSON_GetObjectItemCaseSensitive(root, "runs");
	const cJSON *run, *res;

	if (!cJSON_IsArray(runs))
		return false;
	cJSON_ArrayForEach(run, runs) {
		const cJSON *results =
			cJSON_GetObjectItemCaseSensitive(run, "results");

		cJSON_ArrayForEach(res, results) {
			const cJSON *pf = cJSON_GetObjectItemCaseSensitive(
				res, "partialFingerprints");

			add_fp(l, cJSON_GetObjectItemCaseSensitive(pf,
								   "keyleak/v1"));
		}
	}
	return true;
}

int kl_baseline_load(kl_baseline **out, const char *path, kl_error *err)
{
	kl_buf text = KL_BUF_INIT;
	kl_strlist l = { 0 };
	cJSON *root = NULL;
	int rc = -1;

	*out = NULL;
	if (kl_read_file(path, "baseline", BASELINE_MAX_SIZE, &text, err) < 0)
		goto done;
	root = cJSON_ParseWithLength(text.data ? text.data : "", text.len);
	if (!root || !(from_json(root, &l) || from_sarif(root, &l))) {
		kl_error_set(err, "%s: not a keyleak JSON or SARIF report "
			     "(write one with `keyleak baseline --output %s`)",
			     path, path);
		goto done;
	}
	*out = kl_xcalloc(1, sizeof(**out));
	(*out)->fps = l.items;
	(*out)->len = l.len;
	l.items = NULL;
	l.len = 0;
	if ((*out)->len > 1)
		qsort((*out)->fps, (*out)->len, sizeof(char *), cmp_str);
	rc = 0;
done:
	cJSON_Delete(root);
	kl_strlist_free(&l);
	kl_buf_free(&text);
	return rc;
}

void kl_baseline_free(kl_baseline *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->len; i++)
		free(b->fps[i]);
	free(b->fps);
	free(b);
}

bool kl_baseline_has(const kl_baseline *b, const char *fingerprint)
{
	return b && fingerprint && b->len && /* fps is NULL when empty */
	       bsearch(&fingerprint, b->fps, b->len, sizeof(char *),
		       cmp_str) != NULL;
}

size_t kl_baseline_filter(const kl_baseline *b, kl_report *r)
{
	kl_findings *fs = &r->findings;
	size_t i, kept = 0, dropped;

	for (i = 0; i < fs->len; i++) {
		if (kl_baseline_has(b, fs->items[i].fingerprint))
			kl_finding_clear(&fs->items[i]);
		else
			fs->items[kept++] = fs->items[i];
	}
	dropped = fs->len - kept;
	fs->len = kept;
	r->summary.baselined += dropped;
	return dropped;
}
