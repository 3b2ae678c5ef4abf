/*
 * Owns the work-tree source: inside a git repository, the files git would
 * see (tracked, plus untracked files that are not ignored, via libgit2);
 * outside one, every regular file below PATH without following symlinks;
 * and standard input. Files are read and scanned in parallel.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdatomic.h>
#include <git2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sources/git/util.h"

/* The files to scan: display path and the path to open. */
typedef struct file_list {
	kl_strlist display;
	kl_strlist open_path;
} file_list;

typedef struct worker_state {
	kl_scanner *sc;
	kl_report report;
	kl_buf data;
} worker_state;

typedef struct scan_job {
	const kl_scan_opts *o;
	const file_list *files;
	worker_state *workers;
	kl_progress *progress;
	atomic_ulong done;
	atomic_ulong bytes;
} scan_job;

static void add_file(file_list *fl, const char *display, const char *open_path)
{
	kl_strlist_push(&fl->display, display);
	kl_strlist_push(&fl->open_path, open_path);
}

static void file_list_free(file_list *fl)
{
	kl_strlist_free(&fl->display);
	kl_strlist_free(&fl->open_path);
}

/* ------------------------------------------------------------- reading */

static void unreadable(kl_report *r, const char *path, const char *why)
{
	r->summary.unreadable++;
	r->incomplete = true;
	kl_report_notice(r, KL_NOTICE_ERROR, path, "cannot read: %s", why);
}


static void scan_file(const kl_scan_opts *o, worker_state *w,
		      const char *display, const char *open_path)
{
	kl_report *r = &w->report;
	struct stat st;
	int fd;

	if (lstat(open_path, &st) != 0) {
		unreadable(r, display, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		r->summary.skipped_other++;
		if (o->verbose)
			kl_report_notice(r, KL_NOTICE_SKIPPED, display,
					 "not a regular file");
		return;
	}
	if (o->max_file_size && (uint64_t)st.st_size > o->max_file_size) {
		kl_skip_too_large(o, r, display, (uint64_t)st.st_size);
		return;
	}
	fd = open(open_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	/* Any size in bounded memory: read and scanned piece by piece. */
	if (fd < 0 || kl_scan_fd(w->sc, o, r, display, fd,
				 (int64_t)st.st_size, &w->data) != 0)
		unreadable(r, display, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void scan_one(void *ctx, int worker, size_t i)
{
	scan_job *job = ctx;
	worker_state *w = &job->workers[worker];
	uint64_t before = w->report.summary.bytes_scanned;

	scan_file(job->o, w, job->files->display.items[i],
		  job->files->open_path.items[i]);
	atomic_fetch_add(&job->bytes, w->report.summary.bytes_scanned - before);
	kl_progress_tick(job->progress, atomic_fetch_add(&job->done, 1) + 1,
			 atomic_load(&job->bytes));
}

static void scan_files(const kl_scan_opts *o, const file_list *fl,
		       kl_report *r)
{
	int n = o->threads > 0 ? o->threads : 1, i;
	scan_job job = { o, fl, NULL, NULL, 0, 0 };

	job.workers = kl_xcalloc((size_t)n, sizeof(worker_state));
	job.progress = kl_progress_new("scanning files", fl->display.len,
				       o->progress);
	for (i = 0; i < n; i++) {
		job.workers[i].sc = kl_scanner_new(o->rules);
		kl_scanner_set_allowlist(job.workers[i].sc, o->allow);
		kl_report_init(&job.workers[i].report, r->command, r->target,
			       r->rules);
	}
	kl_parallel_for(fl->display.len, n, scan_one, &job);
	kl_progress_free(job.progress);
	for (i = 0; i < n; i++) {
		kl_report_merge(r, &job.workers[i].report);
		kl_report_free(&job.workers[i].report);
		kl_scanner_free(job.workers[i].sc);
		kl_buf_free(&job.workers[i].data);
	}
	free(job.workers);
	kl_findings_sort(&r->findings);
}

/* --------------------------------------------------- git repositories */

static void join_path(kl_buf *b, const char *dir, const char *rel)
{
	kl_buf_reset(b);
	kl_buf_puts(b, dir);
	if (b->len && b->data[b->len - 1] != '/')
		kl_buf_addch(b, '/');
	kl_buf_puts(b, rel);
}

/* Path of a repository entry relative to the scanned directory, or NULL
 * when the entry is outside it. prefix is the scanned dir within the
 * work tree ("" or "sub/dir/"). */
static const char *under_prefix(const char *entry, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(entry, prefix, n) == 0 ? entry + n : NULL;
}

/* Inside a repository every path is the entry's own, relative to the
 * work tree's root, whatever directory was named: fingerprints, baselines
 * and the config's skip_paths then agree across all ways of naming a file. */
static void consider(const kl_scan_opts *o, kl_report *r, file_list *fl,
		     const char *workdir, const char *entry,
		     const char *prefix, kl_buf *full)
{
	if (!under_prefix(entry, prefix))
		return;
	if (kl_path_skipped(o, entry)) {
		r->summary.skipped_other++;
		if (o->verbose)
			kl_report_notice(r, KL_NOTICE_SKIPPED, entry,
					 "matches a skip pattern in the config");
		return;
	}
	join_path(full, workdir, entry);
	add_file(fl, entry, full->data);
}

static int list_tracked(git_repository *repo, const kl_scan_opts *o,
			kl_report *r, file_list *fl, const char *prefix,
			kl_error *err)
{
	const char *workdir = git_repository_workdir(repo);
	kl_buf full = KL_BUF_INIT;
	git_index *index;
	size_t i, n;

	if (git_repository_index(&index, repo) != 0) {
		kl_error_set(err, "%s: cannot read the git index: %s", workdir,
			     kl_git_lasterr());
		return -1;
	}
	n = git_index_entrycount(index);
	for (i = 0; i < n; i++) {
		const git_index_entry *e = git_index_get_byindex(index, i);

		if (git_index_entry_stage(e) > 1)
			continue; /* one entry per conflicted path */
		if (e->mode == GIT_FILEMODE_COMMIT) {
			if (!under_prefix(e->path, prefix))
				continue;
			r->summary.skipped_other++;
			kl_report_notice(r, KL_NOTICE_SKIPPED, e->path,
					 "submodule: scan it separately");
			continue;
		}
		if (e->mode == GIT_FILEMODE_LINK)
			continue; /* its content is a path, not a file */
		consider(o, r, fl, workdir, e->path, prefix, &full);
	}
	git_index_free(index);
	kl_buf_free(&full);
	return 0;
}

static int list_untracked(git_repository *repo, const kl_scan_opts *o,
			  kl_report *r, file_list *fl, const char *prefix,
			  kl_error *err)
{
	const char *workdir = git_repository_workdir(repo);
	kl_buf full = KL_BUF_INIT;
	git_status_list *list;
	size_t i, n;

	if (kl_git_untracked(repo, prefix, false, &list, err) < 0)
		return -1;
	n = git_status_list_entrycount(list);
	for (i = 0; i < n; i++) {
		const git_status_entry *e = git_status_byindex(list, i);

		if (e->status == GIT_STATUS_WT_NEW && e->index_to_workdir)
			consider(o, r, fl, workdir,
				 e->index_to_workdir->new_file.path, prefix,
				 &full);
	}
	git_status_list_free(list);
	kl_buf_free(&full);
	return 0;
}

static int scan_repository(git_repository *repo, const char *path,
			   const kl_scan_opts *o, kl_report *r, kl_error *err)
{
	file_list fl = { { 0 }, { 0 } };
	char *prefix = kl_git_scan_prefix(repo, path);
	int rc;

	rc = list_tracked(repo, o, r, &fl, prefix, err);
	if (rc == 0 && list_untracked(repo, o, r, &fl, prefix, err) != 0) {
		/* e.g. libgit2 refuses trees over 100 levels deep: the
		 * tracked files can still be scanned. */
		r->incomplete = true;
		kl_report_notice(r, KL_NOTICE_ERROR, NULL, "%s", err->message);
		kl_error_clear(err);
	}
	if (rc == 0)
		scan_files(o, &fl, r);
	file_list_free(&fl);
	free(prefix);
	return rc;
}

/* ------------------------------------------------- plain directories */

static struct {
	const kl_scan_opts *o;
	kl_report *r;
	file_list *fl;
	size_t root_len;
} walk;

static int walk_entry(const char *fpath, const struct stat *st, int type,
		      struct FTW *ftw)
{
	const char *rel = fpath + walk.root_len;

	(void)st;
	(void)ftw;
	while (*rel == '/')
		rel++;
	if (type == FTW_DNR || type == FTW_NS) {
		unreadable(walk.r, *rel ? rel : ".", strerror(errno));
		return 0;
	}
	if (type == FTW_D || type == FTW_DP)
		return 0;
	if (kl_path_skipped(walk.o, rel))
		return 0;
	/* Symlinks (FTW_SL) are listed too: scan_file skips non-regular. */
	add_file(walk.fl, rel, fpath);
	return 0;
}

static int scan_directory(const char *path, const kl_scan_opts *o,
			  kl_report *r, kl_error *err)
{
	file_list fl = { { 0 }, { 0 } };

	walk.o = o;
	walk.r = r;
	walk.fl = &fl;
	walk.root_len = strlen(path);
	if (nftw(path, walk_entry, 64, FTW_PHYS) != 0) {
		kl_error_set(err, "%s: cannot walk directory: %s", path,
			     strerror(errno));
		file_list_free(&fl);
		return -1;
	}
	scan_files(o, &fl, r);
	file_list_free(&fl);
	return 0;
}

/* One named file: inside a work tree it is named from the root (and the
 * config's skip_paths apply), elsewhere as given. */
static int scan_one_file(const char *path, const kl_scan_opts *o,
			 kl_report *r)
{
	file_list fl = { { 0 }, { 0 } };
	char *rel = kl_git_repo_relpath(path);

	if (rel && kl_path_skipped(o, rel)) {
		r->summary.skipped_other++;
		kl_report_notice(r, KL_NOTICE_SKIPPED, rel,
				 "matches a skip pattern in the config");
	} else {
		add_file(&fl, rel ? rel : path, path);
		scan_files(o, &fl, r);
	}
	file_list_free(&fl);
	free(rel);
	return 0;
}

int kl_src_worktree(const char *path, const kl_scan_opts *o, kl_report *r,
		    kl_error *err)
{
	git_repository *repo = NULL;
	struct stat st;
	int rc;

	if (stat(path, &st) != 0) {
		kl_error_set(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return scan_one_file(path, o, r);
	if (git_repository_open_ext(&repo, path, 0, NULL) == 0) {
		if (git_repository_is_bare(repo)) {
			git_repository_free(repo);
			kl_error_set(err, "%s: a bare repository has no work "
				     "tree; use `keyleak history --all` or "
				     "`keyleak audit`", path);
			return -1;
		}
		rc = scan_repository(repo, path, o, r, err);
		git_repository_free(repo);
		return rc;
	}
	return scan_directory(path, o, r, err);
}

/* Just these files, as they are on disk (the pre-commit framework's
 * file names): no walk, no ignore rules, skip_paths still apply. */
int kl_src_files(const kl_strlist *paths, const kl_scan_opts *o,
		 kl_report *r, kl_error *err)
{
	file_list fl = { { 0 }, { 0 } };
	size_t i;

	(void)err;
	for (i = 0; i < paths->len; i++)
		if (!kl_path_skipped(o, paths->items[i]))
			add_file(&fl, paths->items[i], paths->items[i]);
	scan_files(o, &fl, r);
	file_list_free(&fl);
	return 0;
}

int kl_src_stdin(const kl_scan_opts *o, kl_report *r, kl_error *err)
{
	kl_scanner *sc = kl_scanner_new(o->rules);
	kl_buf data = KL_BUF_INIT;
	int rc;

	kl_scanner_set_allowlist(sc, o->allow);
	rc = kl_scan_fd(sc, o, r, "-", STDIN_FILENO, -1, &data);
	if (rc != 0)
		kl_error_set(err, "standard input: %s", strerror(errno));
	kl_scanner_free(sc);
	kl_buf_free(&data);
	return rc;
}
