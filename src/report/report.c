/*
 * Owns the kl_report life cycle (notices, merging worker reports), the
 * dispatch to a format, and writing a rendered report to a file atomically
 * so --output never leaves a half-written report behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

void kl_report_init(kl_report *r, const char *command, const char *target,
		    const kl_ruleset *rules)
{
	memset(r, 0, sizeof(*r));
	r->command = command;
	r->target = target;
	r->rules = rules;
}

static void grow_notices(kl_report *r, size_t extra)
{
	size_t need = r->n_notices + extra;

	if (need <= r->cap_notices)
		return;
	if (need < r->cap_notices * 2)
		need = r->cap_notices * 2;
	if (need < 16)
		need = 16;
	r->notices = kl_xrealloc(r->notices, need * sizeof(*r->notices));
	r->cap_notices = need;
}

void kl_report_notice(kl_report *r, kl_notice_kind kind, const char *path,
		      const char *fmt, ...)
{
	kl_buf msg = KL_BUF_INIT;
	kl_notice *n;
	va_list ap;

	grow_notices(r, 1);
	n = &r->notices[r->n_notices++];
	n->kind = kind;
	n->path = kl_xstrdup_or_null(path);
	va_start(ap, fmt);
	kl_buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	n->message = kl_buf_detach(&msg);
}

static void free_notices(kl_report *r)
{
	size_t i;

	for (i = 0; i < r->n_notices; i++) {
		free(r->notices[i].path);
		free(r->notices[i].message);
	}
	free(r->notices);
	r->notices = NULL;
	r->n_notices = r->cap_notices = 0;
}

void kl_report_missing(kl_report *r, const char *id, const char *type,
		       const char *path, const char *commit)
{
	kl_missing_obj *m;

	if (r->n_missing == r->cap_missing) {
		r->cap_missing = r->cap_missing ? r->cap_missing * 2 : 16;
		r->missing = kl_xrealloc(r->missing,
					 r->cap_missing * sizeof(*m));
	}
	m = &r->missing[r->n_missing++];
	m->id = kl_xstrdup(id);
	m->type = kl_xstrdup(type);
	m->path = kl_xstrdup_or_null(path);
	m->commit = kl_xstrdup_or_null(commit);
}

static void free_missing(kl_report *r)
{
	size_t i;

	for (i = 0; i < r->n_missing; i++) {
		free(r->missing[i].id);
		free(r->missing[i].type);
		free(r->missing[i].path);
		free(r->missing[i].commit);
	}
	free(r->missing);
	r->missing = NULL;
	r->n_missing = r->cap_missing = 0;
}

/* Workers' missing objects join the main report's list. */
static void move_missing(kl_report *dst, kl_report *src)
{
	size_t i;

	for (i = 0; i < src->n_missing; i++) {
		kl_missing_obj *m = &src->missing[i];

		kl_report_missing(dst, m->id, m->type, m->path, m->commit);
	}
	free_missing(src);
}

void kl_report_free(kl_report *r)
{
	if (!r)
		return;
	kl_findings_free(&r->findings);
	free_notices(r);
	free_missing(r);
	free(r->config_path);
	free(r->baseline_path);
	r->config_path = r->baseline_path = NULL;
	free(r->head);
	free(r->branch);
	free(r->remote);
	free(r->refs);
	free(r->options);
	r->head = r->branch = r->remote = r->refs = r->options = NULL;
}

static void move_findings(kl_findings *dst, kl_findings *src)
{
	size_t need = dst->len + src->len;

	if (!src->len)
		goto done;
	if (need > dst->cap) {
		dst->items = kl_xrealloc(dst->items, need * sizeof(*dst->items));
		dst->cap = need;
	}
	memcpy(dst->items + dst->len, src->items,
	       src->len * sizeof(*src->items));
	dst->len = need;
done:
	free(src->items);
	memset(src, 0, sizeof(*src));
}

static void add_summary(kl_summary *d, kl_summary *s)
{
	d->files_scanned += s->files_scanned;
	d->bytes_scanned += s->bytes_scanned;
	d->skipped_binary += s->skipped_binary;
	d->skipped_too_large += s->skipped_too_large;
	d->skipped_lfs += s->skipped_lfs;
	d->skipped_other += s->skipped_other;
	d->unreadable += s->unreadable;
	d->suppressed += s->suppressed;
	d->baselined += s->baselined;
	d->commits_scanned += s->commits_scanned;
	d->limit_hits += s->limit_hits;
	d->missing_objects += s->missing_objects;
	memset(s, 0, sizeof(*s));
}

void kl_report_merge(kl_report *dst, kl_report *src)
{
	move_findings(&dst->findings, &src->findings);
	if (src->n_notices) {
		grow_notices(dst, src->n_notices);
		memcpy(dst->notices + dst->n_notices, src->notices,
		       src->n_notices * sizeof(*src->notices));
		dst->n_notices += src->n_notices;
	}
	free(src->notices);
	src->notices = NULL;
	src->n_notices = src->cap_notices = 0;
	add_summary(&dst->summary, &src->summary);
	move_missing(dst, src);
	dst->incomplete |= src->incomplete;
	dst->shallow |= src->shallow;
	src->incomplete = src->shallow = false;
}

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
		break;
	}
	kl_report_text(r, o, out);
}

/* ------------------------------------------------------- atomic writes */

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return kl_xstrdup(".");
	if (slash == path)
		return kl_xstrdup("/");
	return kl_xstrndup(path, (size_t)(slash - path));
}

/* The mode a new file would get, or the existing file's mode. */
static mode_t target_mode(const char *path)
{
	struct stat st;
	mode_t mask;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return st.st_mode & 07777;
	mask = umask(022);
	umask(mask);
	return 0666 & ~mask;
}

static int check_dir(const char *path, const char *dir, kl_error *err)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		kl_error_set(err, "cannot write %s: directory %s: %s", path,
			     dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		kl_error_set(err, "cannot write %s: %s is not a directory",
			     path, dir);
		return -1;
	}
	return 0;
}

static int fill_temp(int fd, const char *data, size_t len, mode_t mode)
{
	if (kl_write_all(fd, data, len) != 0 || fchmod(fd, mode) != 0 ||
	    fsync(fd) != 0)
		return -1;
	return 0;
}

static int write_regular(const char *path, const char *data, size_t len,
			 kl_error *err)
{
	char *dir = dir_of(path);
	kl_buf tmp = KL_BUF_INIT;
	mode_t mode = target_mode(path);
	int fd, saved, rc = -1;

	if (check_dir(path, dir, err) != 0)
		goto out;
	kl_buf_printf(&tmp, "%s/.keyleak-tmp-XXXXXX", dir);
	fd = mkstemp(tmp.data);
	if (fd < 0) {
		kl_error_set(err, "cannot write %s: creating a temporary file "
			     "in %s: %s", path, dir, strerror(errno));
		goto out;
	}
	if (fill_temp(fd, data, len, mode) != 0) {
		saved = errno;
		close(fd);
		unlink(tmp.data);
		kl_error_set(err, "cannot write %s: %s", path, strerror(saved));
		goto out;
	}
	if (close(fd) != 0 || rename(tmp.data, path) != 0) {
		saved = errno;
		unlink(tmp.data);
		kl_error_set(err, "cannot write %s: %s", path, strerror(saved));
		goto out;
	}
	rc = 0;
out:
	kl_buf_free(&tmp);
	free(dir);
	return rc;
}

/*
 * A device or FIFO (-o /dev/null, -o /dev/stdout, a pipe) is written in
 * place: renaming a temporary file over it would replace, as root, the
 * machine's /dev/null with a regular file.
 */
static int write_special(const char *path, const char *data, size_t len,
			 kl_error *err)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	int saved;

	if (fd < 0 || kl_write_all(fd, data, len) != 0) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		kl_error_set(err, "cannot write %s: %s", path, strerror(saved));
		return -1;
	}
	if (close(fd) != 0) {
		kl_error_set(err, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int kl_write_file_atomic(const char *path, const char *data, size_t len,
			 kl_error *err)
{
	struct stat st;

	if (stat(path, &st) == 0 &&
	    (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return write_special(path, data, len, err);
	return write_regular(path, data, len, err);
}
