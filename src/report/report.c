/*
 * Owns the dispatch of a finished kl_report to its format.
 */
#include "internal.h"

void kl_report_render(const kl_report *r, const kl_report_opts *o, kl_buf *out)
{
	switch (o->format) {
	case KL_FORMAT_JSON:
		kl_report_json(r, o, out);
		return;
	case KL_FORMAT_SARIF:
		kl_report_sarif(r, o, out);
		return;
	case KL_FORMAT_JSONL:
		kl_report_jsonl(r, NULL, o, out);
		return;
	case KL_FORMAT_HTML:
		kl_report_html(r, o, out);
		return;
	case KL_FORMAT_TEXT:
	case KL_FORMAT_COMPACT:
		break;
	}
	kl_report_text(r, o, out);
}
