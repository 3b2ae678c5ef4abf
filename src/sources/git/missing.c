/*
 * Owns what keyleak does about objects a repository lacks (a clone made
 * with --filter=blob:none, an incomplete mirror, a deleted object): the
 * record, the fetch through git from the promisor remote, and the one
 * summary that says how many, where, why and what to do.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sources/git/missing.h"

/* How many missing objects the summary names; JSON lists them all. */
#define SUMMARY_EXAMPLES 5

extern char **environ;

void kl_git_obj_missing(kl_report *r, const git_oid *id, const char *type,
			const char *path, const git_oid *commit)
{
	char hex[GIT_OID_HEXSZ + 1], chex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	if (commit)
		git_oid_tostr(chex, sizeof(chex), commit);
	kl_report_missing(r, hex, type, path, commit ? chex : NULL);
	r->incomplete = true;
}

void kl_git_missing_commit(kl_report *r, size_t from, const git_oid *commit)
{
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;

	git_oid_tostr(hex, sizeof(hex), commit);
	for (i = from; i < r->n_missing; i++)
		if (!r->missing[i].commit)
			r->missing[i].commit = kl_xstrdup(hex);
}

/* ------------------------------------------------------ partial clones */

/* "remote.<name>.promisor" set true: that remote's name, else NULL. */
static char *promisor_of(const git_config_entry *e)
{
	size_t len = strlen(e->name);
	const char *suffix = ".promisor";
	size_t slen = strlen(suffix);
	int on = 0;

	if (strncmp(e->name, "remote.", 7) != 0 || len <= 7 + slen ||
	    strcmp(e->name + len - slen, suffix) != 0 ||
	    git_config_parse_bool(&on, e->value) < 0 || !on)
		return NULL;
	return kl_xstrndup(e->name + 7, len - 7 - slen);
}

char *kl_git_promisor_remote(git_repository *repo)
{
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	git_buf buf = { 0 };
	char *name = NULL;

	if (git_repository_config_snapshot(&cfg, repo) < 0)
		return NULL;
	/* git's own order: extensions.partialClone names it, else any remote
	 * marked promisor. A plain iterator: libgit2 1.5's regex-matching
	 * config walk leaks its match data. */
	if (git_config_get_string_buf(&buf, cfg, "extensions.partialclone") == 0 &&
	    buf.ptr && *buf.ptr)
		name = kl_xstrdup(buf.ptr);
	else if (git_config_iterator_new(&it, cfg) == 0)
		while (!name && git_config_next(&e, it) == 0)
			name = promisor_of(e);
	git_config_iterator_free(it);
	git_buf_dispose(&buf);
	git_config_free(cfg);
	git_error_clear();
	return name;
}

/* ---------------------------------------------------------------- fetch */

static FILE *oid_list(const git_oid *ids, size_t n)
{
	FILE *f = tmpfile();
	char hex[GIT_OID_HEXSZ + 1];
	size_t i;

	for (i = 0; f && i < n; i++) {
		git_oid_tostr(hex, sizeof(hex), &ids[i]);
		fprintf(f, "%s\n", hex);
	}
	if (f && (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0)) {
		fclose(f);
		f = NULL;
	}
	return f;
}

/* The first line git wrote on stderr: the reason a fetch failed. */
static void first_line(FILE *f, kl_buf *out)
{
	char line[512];

	rewind(f);
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		kl_buf_puts(out, line);
	}
	if (!out->len)
		kl_buf_puts(out, "no message");
}

/* The environment for git: ours, but a fetch that needs credentials fails
 * instead of waiting for someone to type them (keyleak runs in CI and in
 * hooks, where nobody would). Caller frees the array only. */
static char **fetch_env(void)
{
	size_t n = 0, i, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = kl_xcalloc(n + 2, sizeof(*env));
	for (i = 0; i < n; i++)
		if (strncmp(environ[i], "GIT_TERMINAL_PROMPT=", 20) != 0)
			env[k++] = environ[i];
	env[k] = "GIT_TERMINAL_PROMPT=0";
	return env;
}

/*
 * `git fetch` with object ids on stdin, as git does for its own lazy
 * fetches (fetch_objects in promisor-remote.c): one round trip for all of
 * them, where `git cat-file --batch` would start one fetch per object.
 * stdin and stderr are files, so no pipe can fill up and block.
 */
static int run_git_fetch(git_repository *repo, const char *remote, FILE *in,
			 FILE *errf, int *status)
{
	char *gitdir = kl_xstrdup(git_repository_path(repo));
	char *dirarg = NULL;
	posix_spawn_file_actions_t fa;
	char **env = fetch_env();
	pid_t pid;
	int rc;
	kl_buf b = KL_BUF_INIT;

	kl_buf_printf(&b, "--git-dir=%s", gitdir);
	dirarg = kl_buf_detach(&b);
	{
		char *argv[] = {
			"git", dirarg, "-c", "fetch.negotiationAlgorithm=noop",
			"fetch", (char *)remote, "--no-tags",
			"--no-write-fetch-head", "--recurse-submodules=no",
			"--filter=blob:none", "--stdin", NULL
		};

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fileno(in), 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, fileno(errf), 2);
		rc = posix_spawnp(&pid, "git", &fa, NULL, argv, env);
		posix_spawn_file_actions_destroy(&fa);
	}
	free(env);
	free(dirarg);
	free(gitdir);
	if (rc != 0) {
		errno = rc;
		return -1;
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

int kl_git_fetch_objects(git_repository *repo, const char *remote,
			 const git_oid *ids, size_t n, kl_error *err)
{
	FILE *in = oid_list(ids, n), *errf = tmpfile();
	kl_buf why = KL_BUF_INIT;
	git_odb *odb = NULL;
	int status = 0, rc = -1;

	if (!in || !errf) {
		kl_error_set(err, "cannot create a temporary file: %s",
			     strerror(errno));
	} else if (run_git_fetch(repo, remote, in, errf, &status) < 0) {
		kl_error_set(err, "cannot run git to fetch from '%s': %s",
			     remote, strerror(errno));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		first_line(errf, &why);
		kl_error_set(err, "git fetch from '%s' failed: %s", remote,
			     why.data);
	} else {
		rc = 0;
	}
	/* The fetch wrote a new pack: make libgit2 look for it. */
	if (rc == 0 && git_repository_odb(&odb, repo) == 0)
		git_odb_refresh(odb);
	git_odb_free(odb);
	kl_buf_free(&why);
	if (in)
		fclose(in);
	if (errf)
		fclose(errf);
	return rc;
}

void kl_git_fetch_absent(git_repository *repo, git_odb *odb,
			 const char *promisor, const git_oid *id)
{
	kl_error err = { 0 };

	if (!promisor || git_odb_exists(odb, id))
		return;
	kl_git_fetch_objects(repo, promisor, id, 1, &err);
	kl_error_clear(&err);
}

/* -------------------------------------------------------------- summary */

static int cmp_missing(const void *a, const void *b)
{
	const kl_missing_obj *x = a, *y = b;
	int c = strcmp(x->path ? x->path : "", y->path ? y->path : "");

	return c ? c : strcmp(x->id, y->id);
}

static void count_types(const kl_report *r, kl_buf *out)
{
	static const char *const types[] = { "blob", "tree", "commit" };
	size_t t, i, n;
	bool first = true;

	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (i = n = 0; i < r->n_missing; i++)
			n += strcmp(r->missing[i].type, types[t]) == 0;
		if (!n)
			continue;
		kl_buf_printf(out, "%s%zu %s%s", first ? "" : ", ", n,
			      types[t], n == 1 ? "" : "s");
		first = false;
	}
}

static void name_examples(const kl_report *r, kl_buf *out)
{
	size_t i, shown = r->n_missing < SUMMARY_EXAMPLES ? r->n_missing
							   : SUMMARY_EXAMPLES;

	for (i = 0; i < shown; i++) {
		const kl_missing_obj *m = &r->missing[i];

		kl_buf_printf(out, "%s%s %s", i ? "; " : "", m->type, m->id);
		if (m->path && m->commit)
			kl_buf_printf(out, " (%s in commit %.12s)", m->path,
				      m->commit);
		else if (m->path)
			kl_buf_printf(out, " (%s)", m->path);
		else if (m->commit)
			kl_buf_printf(out, " (commit %.12s)", m->commit);
	}
	if (r->n_missing > shown)
		kl_buf_printf(out, "; and %zu more", r->n_missing - shown);
}

static void advise(git_repository *repo, const kl_scan_opts *o, kl_buf *out)
{
	char *promisor = kl_git_promisor_remote(repo);

	if (promisor && !o->fetch_missing)
		kl_buf_printf(out, "This is a partial clone (promisor remote "
			      "'%s', e.g. git clone --filter=blob:none): "
			      "run again with --fetch-missing to fetch them "
			      "through git, or fetch everything with `git "
			      "fetch --refetch %s` (in CI: check out without "
			      "a filter, with fetch-depth: 0). ", promisor,
			      promisor);
	else if (promisor)
		kl_buf_printf(out, "This is a partial clone (promisor remote "
			      "'%s') and --fetch-missing could not get them "
			      "(see the error above): check that the remote "
			      "is reachable and still has them, or fetch "
			      "everything with `git fetch --refetch %s`. ",
			      promisor, promisor);
	else
		kl_buf_puts(out, "This is not a partial clone, so they were "
			    "deleted or lost (a damaged repository or an "
			    "incomplete mirror): check it with `git fsck "
			    "--full` and fetch the history again (`git fetch "
			    "--refetch`, or a fresh clone). ");
	if (git_repository_is_shallow(repo) == 1)
		kl_buf_puts(out, "It is also a shallow clone: history beyond "
			    "its boundary was not scanned (fetch-depth: 0). ");
	kl_buf_puts(out, "--allow-incomplete accepts the partial result.");
	free(promisor);
}

void kl_git_missing_summary(git_repository *repo, const kl_scan_opts *o,
			    kl_report *r)
{
	kl_buf msg = KL_BUF_INIT;
	size_t i;

	r->summary.missing_objects = r->n_missing;
	if (!r->n_missing)
		return;
	/* Workers record in any order: the report must not depend on it. */
	qsort(r->missing, r->n_missing, sizeof(*r->missing), cmp_missing);
	kl_buf_printf(&msg, "%zu object%s missing from the repository (",
		      r->n_missing, r->n_missing == 1 ? " is" : "s are");
	count_types(r, &msg);
	kl_buf_puts(&msg, ") and not scanned: ");
	name_examples(r, &msg);
	kl_buf_puts(&msg, ". ");
	advise(repo, o, &msg);
	kl_report_notice(r, KL_NOTICE_ERROR, NULL, "%s", msg.data);
	r->incomplete = true;
	for (i = 0; o->verbose && i < r->n_missing; i++)
		kl_report_notice(r, KL_NOTICE_SKIPPED, r->missing[i].path,
				 "missing %s %s", r->missing[i].type,
				 r->missing[i].id);
	kl_buf_free(&msg);
}
