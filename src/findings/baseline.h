/*
 * Baselines: the fingerprints of findings already known and accepted. Any
 * keyleak JSON report (what `keyleak baseline` writes) or SARIF report is
 * a baseline; findings whose fingerprint it holds are dropped and counted
 * in summary.baselined.
 */
#ifndef KL_BASELINE_H
#define KL_BASELINE_H

#include "internal.h"

typedef struct kl_baseline kl_baseline;

/* Read the fingerprints of the report at path. */
int kl_baseline_load(kl_baseline **out, const char *path, kl_error *err);
void kl_baseline_free(kl_baseline *b);
bool kl_baseline_has(const kl_baseline *b, const char *fingerprint);

/* Drop r's findings that b holds; returns how many (also added to
 * r->summary.baselined). */
size_t kl_baseline_filter(const kl_baseline *b, kl_report *r);

#endif
