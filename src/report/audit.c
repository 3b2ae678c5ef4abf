/*
 * The push hooks' audit log: one JSON line per refused or bypassed
 * finding and ref (or per failed scan), appended under a lock so that
 * concurrent pushes to one repository leave whole lines. It names the
 * rule, path, line and fingerprint, never the secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static cJSON *line_head(const kl_audit_ctx *c, const char *now)
{
	cJSON *o = cJSON_CreateObject();

	kl_report_json_add_str(o, "time", now);
	kl_report_json_add_str(o, "event", c->event);
	kl_report_json_add_path(o, "repository", c->repository);
	kl_report_json_add_str(o, "pusher", c->pusher);
	return o;
}

static void add_update(cJSON *o, const kl_audit_ctx *c, const char *ref)
{
	size_t i;

	kl_report_json_add_path(o, "ref", ref);
	for (i = 0; ref && i < c->refs->len; i++)
		if (strcmp(c->refs->items[i], ref) == 0)
			break;
	kl_report_json_add_str(o, "old", ref && i < c->refs->len ?
			       c->olds->items[i] : NULL);
	kl_report_json_add_str(o, "new", ref && i < c->refs->len ?
			       c->news->items[i] : NULL);
}

static void finish_line(cJSON *o, kl_buf *out)
{
	char *s = cJSON_PrintUnformatted(o);

	kl_buf_puts(out, s);
	kl_buf_addch(out, '\n');
	cJSON_free(s);
	cJSON_Delete(o);
}

static void finding_line(const kl_finding *f, const kl_audit_ctx *c,
			 const char *now, const char *ref, kl_buf *out)
{
	cJSON *o = line_head(c, now);

	add_update(o, c, ref);
	kl_report_json_add_str(o, "rule", f->rule->id);
	kl_report_json_add_path(o, "path", f->path);
	if (f->member)
		kl_report_json_add_path(o, "member", f->member);
	kl_report_json_add_num(o, "line", f->line);
	kl_report_json_add_str(o, "fingerprint", f->fingerprint);
	kl_report_json_add_str(o, "commit", f->has_prov ? f->prov.commit
							: NULL);
	kl_report_json_add_str(o, "reason", c->reason);
	finish_line(o, out);
}

void kl_report_audit(const kl_report *r, const kl_audit_ctx *c, kl_buf *out)
{
	kl_buf now = KL_BUF_INIT;
	cJSON *o;
	size_t i, k;

	kl_report_iso_date((int64_t)time(NULL), 0, &now);
	if (strcmp(c->event, "error") == 0) {
		o = line_head(c, now.data);
		cJSON_AddItemToObject(o, "refs", kl_report_json_strlist(c->refs));
		kl_report_json_add_str(o, "message", c->message);
		finish_line(o, out);
	}
	for (i = 0; strcmp(c->event, "error") && i < r->findings.len; i++) {
		const kl_finding *f = &r->findings.items[i];

		for (k = 0; k < f->refs.len; k++)
			finding_line(f, c, now.data, f->refs.items[k], out);
		if (!f->refs.len)
			finding_line(f, c, now.data, NULL, out);
	}
	kl_buf_free(&now);
}

int kl_audit_append(const char *path, const char *data, size_t len,
		    kl_error *err)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
		      O_NOFOLLOW, 0640);

	if (fd < 0) {
		kl_error_set(err, "audit log %s: cannot open: %s", path,
			     strerror(errno));
		return -1;
	}
	/* O_APPEND keeps each write whole; the lock keeps a writer that
	 * needs several writes (a large batch) from interleaving. */
	while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
		;
	if (kl_write_all(fd, data, len) < 0) {
		kl_error_set(err, "audit log %s: cannot write: %s", path,
			     strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		kl_error_set(err, "audit log %s: cannot write: %s", path,
			     strerror(errno));
		return -1;
	}
	return 0;
}
