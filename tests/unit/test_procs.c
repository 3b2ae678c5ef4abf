/*
 * Unit tests for src/sources/git/procs.c: tasks run in child processes
 * come back in task order, a child that dies is reported (not lost), a report's
 * notices and counters survive the trip, and cut-short bytes are caught.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "unit.h"

#define TASKS 5

typedef struct job {
	pid_t parent;
	pid_t ran_in[TASKS];     /* set in the child: seen only via the bytes */
	uint64_t got[TASKS];
	pid_t got_pid[TASKS];
	char *lost[TASKS];
	int received_order[TASKS];
	int n_received;
	kl_report rep;           /* task 2 adds a notice and a counter */
	int crash_task;          /* -1: none */
	kl_ruleset *rules;
} job;

/* Task 2's finding: every field set. */
static void add_finding(kl_report *r)
{
	kl_finding f = { 0 };

	f.rule = kl_ruleset_get(r->rules, 3);
	f.path = kl_xstrdup("dir/.env");
	f.line = 12;
	f.column = 5;
	f.end_column = 40;
	f.secret = kl_xstrdup("s3cr3t-value");
	f.redacted = kl_xstrdup("s3c…lue");
	f.fingerprint = kl_xstrdup("ab12");
	f.blob = kl_xstrdup("0badc0de");
	f.count = 2;
	f.prov.commit = kl_xstrdup("c0ffee");
	f.prov.author_time = -5;
	f.prov.author_tz = -120;
	kl_strlist_push(&f.prov.commits, "c0ffee");
	f.verification.status = KL_VERIFY_REVOKED;
	f.end_line = 14;
	f.partner_line = 11;
	f.member = kl_xstrdup("lib/in.jar!conf/.env");
	kl_strlist_push(&f.decoded, "base64");
	kl_strlist_push(&f.decoded, "hex");
	r->findings.items = kl_xrealloc(r->findings.items, sizeof(f));
	r->findings.cap = 1;
	r->findings.items[r->findings.len++] = f;
}

static bool finding_back(const kl_report *r)
{
	const kl_finding *f = r->findings.len == 1 ? &r->findings.items[0] : NULL;

	return f && f->rule == kl_ruleset_get(r->rules, 3) &&
	       unit_str_eq(f->path, "dir/.env") && f->line == 12 &&
	       f->column == 5 && f->end_column == 40 &&
	       unit_str_eq(f->secret, "s3cr3t-value") &&
	       unit_str_eq(f->redacted, "s3c…lue") &&
	       unit_str_eq(f->fingerprint, "ab12") && !f->message &&
	       unit_str_eq(f->blob, "0badc0de") && f->count == 2 &&
	       unit_str_eq(f->prov.commit, "c0ffee") &&
	       f->prov.author_time == -5 && f->prov.author_tz == -120 &&
	       f->prov.commits.len == 1 && f->refs.len == 0 &&
	       f->verification.status == KL_VERIFY_REVOKED &&
	       f->end_line == 14 && f->partner_line == 11 &&
	       unit_str_eq(f->member, "lib/in.jar!conf/.env") &&
	       f->decoded.len == 2 && unit_str_eq(f->decoded.items[1], "hex");
}

static void task_run(void *ctx, size_t k, _Atomic uint64_t *done)
{
	job *j = ctx;

	if ((int)k == j->crash_task)
		raise(SIGKILL); /* the child dies */
	j->ran_in[k] = getpid();
	if (k == 2) {
		kl_report_notice(&j->rep, KL_NOTICE_ERROR, "a/b.txt",
				 "cannot read tree %d", 7);
		kl_report_missing(&j->rep, "0123", "blob", NULL, "abcd");
		j->rep.summary.unreadable = 3;
		j->rep.incomplete = true;
		add_finding(&j->rep);
	}
	*done = k + 1;
}

static void task_send(void *ctx, size_t k, kl_buf *out)
{
	job *j = ctx;

	kl_wire_u64(out, k * 1000 + 7);
	kl_wire_u64(out, (uint64_t)j->ran_in[k]);
	kl_wire_str(out, k == 1 ? NULL : "");
	if (k == 2)
		kl_wire_report(out, &j->rep);
}

static bool task_receive(void *ctx, size_t k, kl_wire_reader *in)
{
	job *j = ctx;
	const char *s;

	j->got[k] = kl_wire_get_u64(in);
	j->got_pid[k] = (pid_t)kl_wire_get_u64(in);
	s = kl_wire_get_str(in);
	if ((k == 1) != (s == NULL))
		return false;
	if (k == 2)
		kl_wire_get_report(in, &j->rep);
	j->received_order[j->n_received++] = (int)k;
	return true;
}

static void task_lost(void *ctx, size_t k, const char *why)
{
	((job *)ctx)->lost[k] = kl_xstrdup(why);
}

static void run_job(job *j, int crash)
{
	kl_procs ps = { task_run, task_send, task_receive, task_lost, j,
			NULL };
	kl_error err = { 0 };

	memset(j, 0, sizeof(*j));
	j->parent = getpid();
	j->crash_task = crash;
	j->rules = kl_ruleset_new();
	if (kl_ruleset_add_builtin(j->rules, &err) < 0) {
		printf("not ok - builtin rules: %s\n", err.message);
		exit(1);
	}
	kl_report_init(&j->rep, "history", ".", j->rules);
	CHECK(kl_procs_run(&ps, TASKS), "tasks start in child processes");
}

static void job_free(job *j)
{
	for (int k = 0; k < TASKS; k++)
		free(j->lost[k]);
	kl_report_free(&j->rep);
	kl_ruleset_free(j->rules);
}

static void test_round_trip(void)
{
	job j;
	bool order = true, own = true;

	run_job(&j, -1);
	for (int k = 0; k < TASKS; k++) {
		order &= j.received_order[k] == k && j.got[k] == (uint64_t)k * 1000 + 7;
		own &= j.got_pid[k] != 0 && j.got_pid[k] != j.parent &&
		       j.ran_in[k] == 0 && !j.lost[k];
	}
	CHECK(j.n_received == TASKS && order,
	      "every task's bytes come back, in task order");
	CHECK(own, "each task ran in a child, not in the parent");
	CHECK(j.rep.n_notices == 1 && j.rep.notices[0].kind == KL_NOTICE_ERROR &&
	      unit_str_eq(j.rep.notices[0].path, "a/b.txt") &&
	      unit_str_eq(j.rep.notices[0].message, "cannot read tree 7"),
	      "a report's notice survives the trip");
	CHECK(j.rep.n_missing == 1 && unit_str_eq(j.rep.missing[0].id, "0123") &&
	      !j.rep.missing[0].path &&
	      unit_str_eq(j.rep.missing[0].commit, "abcd") &&
	      j.rep.summary.unreadable == 3 && j.rep.incomplete,
	      "missing objects, counters and the incomplete flag too");
	CHECK(finding_back(&j.rep), "a finding comes back with every field");
	job_free(&j);
}

static void test_child_dies(void)
{
	job j;

	run_job(&j, 3);
	CHECK(j.lost[3] && strstr(j.lost[3], "killed by signal 9"),
	      "a child killed by a signal is reported: %s",
	      j.lost[3] ? j.lost[3] : "(not reported)");
	CHECK(j.n_received == TASKS - 1 && !j.lost[0] && !j.lost[4],
	      "the other tasks still come back");
	job_free(&j);
}

static void test_cut_short(void)
{
	static const unsigned char bytes[] = { 5, 0, 0, 0, 0, 0, 0, 0, 'a', 'b' };
	kl_wire_reader r = { bytes, bytes + sizeof(bytes), false };

	CHECK(kl_wire_get_str(&r) == NULL && r.bad,
	      "a string running past the end marks the bytes bad");
}

int main(void)
{
	test_round_trip();
	test_child_dies();
	test_cut_short();
	return UNIT_DONE();
}
