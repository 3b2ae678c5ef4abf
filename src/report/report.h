/*
 * Private helpers shared by the reporters (text, JSON, SARIF): UTF-8
 * cleaning of untrusted bytes, dates, and small cJSON conveniences.
 */
#ifndef KL_REPORT_PRIV_H
#define KL_REPORT_PRIV_H

#include <cjson/cJSON.h>

#include "keyleak.h"

/*
 * Length (1..4) of the valid UTF-8 sequence at s, storing its code point,
 * or 0 when the byte at s does not start one (overlong forms, surrogates
 * and values past U+10FFFF are invalid).
 */
size_t kl_report_utf8_seq(const char *s, size_t len, uint32_t *cp);

/* Append s to out with each invalid UTF-8 byte replaced by U+FFFD.
 * Returns true when s was valid UTF-8 (and so was copied unchanged). */
bool kl_report_utf8_clean(const char *s, size_t len, kl_buf *out);

/* "2025-03-02T14:05:09+01:00": t seconds since the epoch shown in the
 * zone tz_minutes east of UTC. */
void kl_report_iso_date(int64_t t, int tz_minutes, kl_buf *out);

/* Policy findings (and any finding without a secret) show a message. */
bool kl_report_is_policy(const kl_finding *f);
size_t kl_report_count_notices(const kl_report *r, kl_notice_kind kind);

/* A cJSON string made valid UTF-8, or JSON null for a NULL s. */
cJSON *kl_report_json_str(const char *s);
void kl_report_json_add_str(cJSON *obj, const char *key, const char *s);
void kl_report_json_add_num(cJSON *obj, const char *key, uint64_t v);
void kl_report_json_add_bool(cJSON *obj, const char *key, bool v);
/* Add "key" (cleaned) and, when path was not valid UTF-8, "key_hex"
 * holding its exact bytes so nothing is lost. */
void kl_report_json_add_path(cJSON *obj, const char *key, const char *path);
cJSON *kl_report_json_strlist(const kl_strlist *l);
/* Add a finding's history fields to o (JSON "provenance", SARIF result
 * properties); returns o. */
cJSON *kl_report_json_provenance(cJSON *o, const kl_provenance *p);
/* A finding's --verify answer ({status, detail, checked_at}), or JSON
 * null when it was not verified. */
cJSON *kl_report_json_verification(const kl_verification *v);
/* The summary counters, the same object in JSON and SARIF. */
cJSON *kl_report_json_summary(const kl_report *r);
/* One finding and the notices, as in the JSON report (json.c). */
cJSON *kl_report_json_finding(const kl_finding *f, const kl_report_opts *o);
cJSON *kl_report_json_notices(const kl_report *r);
/* Print root (indented) plus a newline into out, then delete root. */
void kl_report_json_finish(cJSON *root, kl_buf *out);

#endif
