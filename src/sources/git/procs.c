/*
 * Owns running a pass's segments in child processes, and the bytes they
 * send back (kl_wire).
 *
 * Why processes: libgit2 shares one pack object per pack file across
 * every repository handle of a process, with its locks, delta-base cache
 * and window list. Two threads each walking half of a history's commits
 * took 2.1 s where one thread walking them all took 2.6 s; two processes
 * walk side by side at full speed. A child is forked once the commit graph
 * is loaded (no other thread runs then), inherits everything read so far,
 * writes its records to a memfd and leaves with _exit; the parent reads
 * them back in segment order, so the report is the same as on threads.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* ------------------------------------------------------------- wire */

void kl_wire_u64(kl_buf *b, uint64_t v)
{
	kl_buf_add(b, &v, sizeof(v));
}

void kl_wire_str(kl_buf *b, const char *s)
{
	kl_wire_u64(b, s ? strlen(s) + 1 : 0);
	if (s)
		kl_buf_add(b, s, strlen(s) + 1);
}

const void *kl_wire_take(kl_wire_reader *r, size_t n)
{
	const void *at = r->p;

	if (r->bad || n > (size_t)(r->end - r->p)) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	return at;
}

uint64_t kl_wire_get_u64(kl_wire_reader *r)
{
	uint64_t v = 0;
	const void *at = kl_wire_take(r, sizeof(v));

	if (at)
		memcpy(&v, at, sizeof(v));
	return v;
}

const char *kl_wire_get_str(kl_wire_reader *r)
{
	uint64_t n = kl_wire_get_u64(r);
	const char *s = n ? kl_wire_take(r, n) : NULL;

	if (s && s[n - 1] != '\0') {
		r->bad = true;
		return NULL;
	}
	return s;
}

static void wire_strlist(kl_buf *b, const kl_strlist *l)
{
	size_t i;

	kl_wire_u64(b, l->len);
	for (i = 0; i < l->len; i++)
		kl_wire_str(b, l->items[i]);
}

static void get_strlist(kl_wire_reader *w, kl_strlist *l)
{
	uint64_t n = kl_wire_get_u64(w), i;

	for (i = 0; i < n && !w->bad; i++) {
		const char *s = kl_wire_get_str(w);

		if (s)
			kl_strlist_push(l, s);
	}
}

/* Every field of a finding; the rule as its index in the ruleset. */
static void wire_finding(kl_buf *b, const kl_report *r, const kl_finding *f)
{
	kl_wire_u64(b, (uint64_t)(int64_t)(f->rule && r->rules
			? kl_ruleset_index(r->rules, f->rule) : -1));
	kl_wire_str(b, f->path);
	kl_wire_u64(b, f->line);
	kl_wire_u64(b, f->column);
	kl_wire_u64(b, f->end_column);
	kl_wire_str(b, f->secret);
	kl_wire_str(b, f->redacted);
	kl_wire_str(b, f->fingerprint);
	kl_wire_str(b, f->message);
	kl_wire_str(b, f->blob);
	kl_wire_u64(b, f->count);
	kl_wire_str(b, f->prov.commit);
	kl_wire_str(b, f->prov.author_name);
	kl_wire_str(b, f->prov.author_email);
	kl_wire_u64(b, (uint64_t)f->prov.author_time);
	kl_wire_u64(b, (uint64_t)(int64_t)f->prov.author_tz);
	kl_wire_str(b, f->prov.summary);
	kl_wire_str(b, f->prov.removed_in);
	kl_wire_u64(b, (uint64_t)f->prov.removed_time);
	kl_wire_u64(b, f->prov.in_head);
	wire_strlist(b, &f->prov.commits);
	kl_wire_u64(b, f->has_prov);
	wire_strlist(b, &f->refs);
	kl_wire_u64(b, f->verification.status);
	kl_wire_str(b, f->verification.detail);
	kl_wire_u64(b, (uint64_t)f->verification.checked_at);
	kl_wire_u64(b, f->end_line);
	kl_wire_u64(b, f->partner_line);
	kl_wire_str(b, f->member);
	wire_strlist(b, &f->decoded);
}

static void get_finding(kl_wire_reader *w, const kl_report *r, kl_finding *f)
{
	int64_t rule = (int64_t)kl_wire_get_u64(w);

	memset(f, 0, sizeof(*f));
	f->rule = rule >= 0 && r->rules ? kl_ruleset_get(r->rules, (size_t)rule)
					: NULL;
	f->path = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->line = (size_t)kl_wire_get_u64(w);
	f->column = (size_t)kl_wire_get_u64(w);
	f->end_column = (size_t)kl_wire_get_u64(w);
	f->secret = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->redacted = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->fingerprint = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->message = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->blob = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->count = (size_t)kl_wire_get_u64(w);
	f->prov.commit = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->prov.author_name = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->prov.author_email = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->prov.author_time = (int64_t)kl_wire_get_u64(w);
	f->prov.author_tz = (int)(int64_t)kl_wire_get_u64(w);
	f->prov.summary = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->prov.removed_in = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->prov.removed_time = (int64_t)kl_wire_get_u64(w);
	f->prov.in_head = kl_wire_get_u64(w) != 0;
	get_strlist(w, &f->prov.commits);
	f->has_prov = kl_wire_get_u64(w) != 0;
	get_strlist(w, &f->refs);
	f->verification.status = (kl_verify_status)kl_wire_get_u64(w);
	f->verification.detail = kl_xstrdup_or_null(kl_wire_get_str(w));
	f->verification.checked_at = (int64_t)kl_wire_get_u64(w);
	f->end_line = (size_t)kl_wire_get_u64(w);
	f->partner_line = (size_t)kl_wire_get_u64(w);
	f->member = kl_xstrdup_or_null(kl_wire_get_str(w));
	get_strlist(w, &f->decoded);
	if (!f->rule || !f->path)
		w->bad = true;
}

void kl_wire_report(kl_buf *b, const kl_report *r)
{
	size_t i;

	kl_wire_u64(b, r->findings.len);
	for (i = 0; i < r->findings.len; i++)
		wire_finding(b, r, &r->findings.items[i]);
	kl_wire_u64(b, r->incomplete);
	kl_wire_u64(b, r->n_notices);
	for (i = 0; i < r->n_notices; i++) {
		kl_wire_u64(b, r->notices[i].kind);
		kl_wire_str(b, r->notices[i].path);
		kl_wire_str(b, r->notices[i].message);
	}
	kl_wire_u64(b, r->n_missing);
	for (i = 0; i < r->n_missing; i++) {
		kl_wire_str(b, r->missing[i].id);
		kl_wire_str(b, r->missing[i].type);
		kl_wire_str(b, r->missing[i].path);
		kl_wire_str(b, r->missing[i].commit);
	}
	kl_buf_add(b, &r->summary, sizeof(r->summary));
}

void kl_wire_get_report(kl_wire_reader *w, kl_report *r)
{
	uint64_t n, i;
	const void *sum;

	n = kl_wire_get_u64(w);
	for (i = 0; i < n && !w->bad; i++) {
		kl_finding *f = kl_findings_push(&r->findings);

		get_finding(w, r, f);
		if (w->bad) { /* cut short: keep no half-read finding */
			kl_finding_clear(f);
			r->findings.len--;
		}
	}
	r->incomplete |= kl_wire_get_u64(w) != 0;
	n = kl_wire_get_u64(w);
	for (i = 0; i < n && !w->bad; i++) {
		kl_notice_kind kind = (kl_notice_kind)kl_wire_get_u64(w);
		const char *path = kl_wire_get_str(w);
		const char *msg = kl_wire_get_str(w);

		if (!w->bad && msg)
			kl_report_notice(r, kind, path, "%s", msg);
	}
	n = kl_wire_get_u64(w);
	for (i = 0; i < n && !w->bad; i++) {
		const char *id = kl_wire_get_str(w), *type = kl_wire_get_str(w);
		const char *path = kl_wire_get_str(w);
		const char *commit = kl_wire_get_str(w);

		if (!w->bad && id && type)
			kl_report_missing(r, id, type, path, commit);
	}
	/* Last: recording the missing objects above counted them too. */
	if ((sum = kl_wire_take(w, sizeof(r->summary))))
		memcpy(&r->summary, sum, sizeof(r->summary));
}

/* -------------------------------------------------------- processes */

#define WIRE_END 0x2e2e6b6c7761656eull /* the child's last word */

/* Task k's run (its progress in done[k]) and send into b, closed by the
 * end mark. */
static void run_task(const kl_procs *ps, size_t k, _Atomic uint64_t *done,
		     kl_buf *b)
{
	ps->run(ps->ctx, k, &done[k]);
	ps->send(ps->ctx, k, b);
	kl_wire_u64(b, WIRE_END);
}

/* One child's bookkeeping in the parent. */
typedef struct slot {
	pid_t pid;     /* 0 once reaped */
	int fd;        /* its memfd */
	int status;
	bool reaped;   /* status is known */
} slot;

/* The child: never returns, never runs the parent's exit handlers nor
 * flushes its stdio buffers. It frees the parent's bookkeeping first, so
 * a leak checker following it finds nothing of the parent's lost. */
static void child(const kl_procs *ps, size_t k, _Atomic uint64_t *done,
		  slot *slots, pid_t parent)
{
	kl_buf b = KL_BUF_INIT;
	int fd = slots[k].fd;

	free(slots);
	/* A parent killed (a CI job's timeout) takes its workers along. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(3);
	run_task(ps, k, done, &b);
	_exit(kl_write_all(fd, b.data, b.len) == 0 ? 0 : 3);
}

/* Hand task k's bytes to receive; false when they are cut short. */
static bool deliver(const kl_procs *ps, size_t k, const unsigned char *d,
		    size_t len)
{
	kl_wire_reader r;

	if (len < sizeof(uint64_t))
		return false;
	r = (kl_wire_reader){ d, d + len - sizeof(uint64_t), false };
	if (memcmp(r.end, &(uint64_t){ WIRE_END }, sizeof(uint64_t)) != 0)
		return false;
	return ps->receive(ps->ctx, k, &r) && !r.bad && r.p == r.end;
}

static void collect(const kl_procs *ps, size_t k, const slot *sl)
{
	off_t len = lseek(sl->fd, 0, SEEK_END);
	void *map = len > 0 ? mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE,
				   sl->fd, 0) : MAP_FAILED;
	bool ok = map != MAP_FAILED && deliver(ps, k, map, (size_t)len);
	kl_buf why = KL_BUF_INIT;

	if (map != MAP_FAILED)
		munmap(map, (size_t)len);
	if (ok)
		return;
	kl_buf_puts(&why, "its worker process ");
	if (sl->reaped && WIFSIGNALED(sl->status))
		kl_buf_printf(&why, "was killed by signal %d",
			      WTERMSIG(sl->status));
	else
		kl_buf_puts(&why, "did not finish");
	ps->lost(ps->ctx, k, why.data);
	kl_buf_free(&why);
}

/* Wait for the n children; draw the progress line meanwhile (polling
 * every 20 ms; without a progress line, simply blocking on each). */
static void wait_all(const kl_procs *ps, slot *sl, size_t n,
		     _Atomic uint64_t *done)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	int flags = kl_progress_shown(ps->progress) ? WNOHANG : 0;
	size_t left = n, k;

	while (left) {
		uint64_t sum = 0;

		for (k = 0; k < n; k++) {
			pid_t w;

			if (sl[k].pid <= 0)
				continue;
			w = waitpid(sl[k].pid, &sl[k].status, flags);
			if (w == 0 || (w < 0 && errno == EINTR))
				continue;
			/* ECHILD (SIGCHLD ignored): the status is lost, the
			 * bytes still tell whether it finished. */
			sl[k].reaped = w == sl[k].pid;
			sl[k].pid = 0;
			left--;
		}
		for (k = 0; k < n; k++)
			sum += atomic_load_explicit(&done[k], memory_order_relaxed);
		kl_progress_tick(ps->progress, sum, 0);
		if (left)
			nanosleep(&tick, NULL);
	}
}

/* A task no child could take runs here, through the same bytes. */
static void run_here(const kl_procs *ps, size_t k, _Atomic uint64_t *done)
{
	kl_buf b = KL_BUF_INIT;

	run_task(ps, k, done, &b);
	if (!deliver(ps, k, (const unsigned char *)b.data, b.len))
		ps->lost(ps->ctx, k, "its records could not be read back");
	kl_buf_free(&b);
}

bool kl_procs_run(const kl_procs *ps, size_t n)
{
	size_t bytes = (n ? n : 1) * sizeof(_Atomic uint64_t), k, started = 0;
	_Atomic uint64_t *done = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	slot *sl = kl_xcalloc(n ? n : 1, sizeof(*sl));
	bool ok = done != MAP_FAILED;
	pid_t self = getpid();

	for (k = 0; k < n; k++)
		sl[k].fd = ok ? memfd_create("keyleak-worker", MFD_CLOEXEC) : -1;
	for (k = 0; ok && k < n; k++)
		ok = sl[k].fd >= 0;
	fflush(NULL);
	for (; ok && started < n; started++) {
		sl[started].pid = fork();
		if (sl[started].pid == 0)
			child(ps, started, done, sl, self);
		if (sl[started].pid < 0)
			break;
	}
	ok = ok && started > 0;
	if (ok) {
		wait_all(ps, sl, started, done);
		for (k = 0; k < started; k++)
			collect(ps, k, &sl[k]);
		for (k = started; k < n; k++) /* fork refused part way */
			run_here(ps, k, done);
	}
	for (k = 0; k < n; k++)
		if (sl[k].fd >= 0)
			close(sl[k].fd);
	if (done != MAP_FAILED)
		munmap((void *)done, bytes);
	free(sl);
	return ok;
}
