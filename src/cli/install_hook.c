/*
 * Owns `keyleak install-hook`: writes hooks/pre-commit (or, with
 * --pre-push / --pre-receive, those hooks) into a repository's hooks
 * directory (honouring core.hooksPath), never silently replacing a
 * different hook: --force replaces it, --chain keeps it and runs it first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "sources/git/util.h"

typedef struct hook_args {
	const char *path;
	const char *name;   /* "pre-commit", "pre-push" or "pre-receive" */
	bool force;
	bool chain;
	bool print;         /* write the script to stdout, install nothing */
	const char *script; /* hooks/<name>, compiled in at build time */
	size_t len;
} hook_args;

#define HOOK_SCRIPT (a->script)
#define HOOK_LEN (a->len)

static void find_script(hook_args *a)
{
	size_t i;

	for (i = 0; i < kl_embedded_hook_count; i++)
		if (strcmp(kl_embedded_hook[i].name, a->name) == 0) {
			a->script = kl_embedded_hook[i].data;
			a->len = kl_embedded_hook[i].len;
		}
}

static void hook_usage(FILE *out)
{
	fputs("usage: keyleak install-hook [PATH] [--pre-push | --pre-receive]\n"
	      "                            [--force] [--chain] [--print]\n"
	      "Install keyleak's pre-commit hook into the repository at PATH\n"
	      "(default .), in core.hooksPath if set, else .git/hooks.\n"
	      "  --pre-push     install the client pre-push hook instead (scans\n"
	      "                 the commits a push sends)\n"
	      "  --pre-receive  install the server pre-receive hook into the\n"
	      "                 bare repository at PATH (refuses pushes that\n"
	      "                 add a secret)\n"
	      "  --force  replace an existing, different hook\n"
	      "  --chain  keep an existing hook as <hook>.chained and run it\n"
	      "           before keyleak\n"
	      "  --print  write the hook script to stdout instead (for hook\n"
	      "           directories keyleak does not know, e.g. Gitea's\n"
	      "           hooks/pre-receive.d/ or GitLab's custom_hooks/)\n", out);
}

/* Returns 1 for --help, 0 to go on, -1 on a usage error. */
static int parse_hook_args(int argc, char **argv, hook_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->path = ".";
	a->name = "pre-commit";
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pre-push") == 0 ||
		    strcmp(argv[i], "--pre-receive") == 0) {
			if (strcmp(a->name, "pre-commit") != 0 &&
			    strcmp(a->name, argv[i] + 2) != 0) {
				fprintf(stderr, "keyleak install-hook: "
					"--pre-push and --pre-receive exclude "
					"each other\n");
				return -1;
			}
			a->name = argv[i] + 2;
		} else if (strcmp(argv[i], "--print") == 0) {
			a->print = true;
		} else if (strcmp(argv[i], "--force") == 0) {
			a->force = true;
		} else if (strcmp(argv[i], "--chain") == 0) {
			a->chain = true;
		} else if (strcmp(argv[i], "-h") == 0 ||
			   strcmp(argv[i], "--help") == 0) {
			hook_usage(stdout);
			return 1;
		} else if (argv[i][0] == '-' || strcmp(a->path, ".") != 0) {
			fprintf(stderr, "keyleak install-hook: unexpected argument '%s'\n",
				argv[i]);
			hook_usage(stderr);
			return -1;
		} else {
			a->path = argv[i];
		}
	}
	find_script(a);
	return 0;
}

/* core.hooksPath (relative to the work tree, as git runs hooks there),
 * else the common git dir's hooks/, shared by linked worktrees. */
static int hooks_dir(git_repository *repo, kl_buf *out, kl_error *err)
{
	git_config *cfg = NULL;
	git_buf val = { 0 };
	const char *base;

	if (git_repository_config_snapshot(&cfg, repo) < 0) {
		kl_error_set(err, "cannot read the repository's config: %s",
			     kl_git_lasterr());
		return -1;
	}
	if (git_config_get_path(&val, cfg, "core.hooksPath") == 0 && val.ptr[0]) {
		base = git_repository_workdir(repo);
		if (val.ptr[0] != '/')
			kl_buf_puts(out, base ? base : git_repository_path(repo));
		kl_buf_puts(out, val.ptr);
	} else {
		kl_buf_puts(out, git_repository_commondir(repo));
		kl_buf_puts(out, "hooks");
	}
	if (out->len && out->data[out->len - 1] != '/')
		kl_buf_addch(out, '/');
	git_buf_dispose(&val);
	git_config_free(cfg);
	return 0;
}

static int mkdir_p(const char *dir, kl_error *err)
{
	char *p = kl_xstrdup(dir), *s;
	int rc = 0;

	for (s = p + 1; rc == 0 && *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			kl_error_set(err, "cannot create %s: %s", p, strerror(errno));
			rc = -1;
		}
		*s = '/';
	}
	free(p);
	return rc;
}

/* 1 and the content in out if path exists, 0 if not, -1 on error. */
static int read_existing(const char *path, kl_buf *out, kl_error *err)
{
	struct stat st;

	if (lstat(path, &st) != 0 && errno == ENOENT)
		return 0;
	return kl_read_file(path, "hook", 0, out, err) == 0 ? 1 : -1;
}

static int write_hook(const hook_args *a, const char *path, kl_error *err)
{
	if (kl_write_file_atomic(path, HOOK_SCRIPT, HOOK_LEN,
				 err) < 0)
		return -1;
	if (chmod(path, 0755) < 0) {
		kl_error_set(err, "cannot make %s executable: %s", path,
			     strerror(errno));
		return -1;
	}
	return 0;
}

/* Move a foreign hook aside so the keyleak hook can run it first. */
static int chain_existing(const char *hook, const hook_args *a, kl_error *err)
{
	kl_buf chained = KL_BUF_INIT;
	int rc = -1;

	kl_buf_printf(&chained, "%s.chained", hook);
	if (access(chained.data, F_OK) == 0 && !a->force) {
		kl_error_set(err, "%s already exists: remove it, or use --force "
			     "to replace it with the current hook", chained.data);
		goto out;
	}
	if (rename(hook, chained.data) < 0 || chmod(chained.data, 0755) < 0) {
		kl_error_set(err, "cannot move %s to %s: %s", hook, chained.data,
			     strerror(errno));
		goto out;
	}
	printf("keyleak: kept the existing hook as %s; it runs before keyleak\n",
	       chained.data);
	rc = 0;
out:
	kl_buf_free(&chained);
	return rc;
}

static int install(git_repository *repo, const hook_args *a, kl_error *err)
{
	kl_buf hook = KL_BUF_INIT, old = KL_BUF_INIT;
	int rc = -1, exists;

	if (hooks_dir(repo, &hook, err) < 0 || mkdir_p(hook.data, err) < 0)
		goto out;
	kl_buf_puts(&hook, a->name);
	exists = read_existing(hook.data, &old, err);
	if (exists < 0)
		goto out;
	if (exists && old.len == HOOK_LEN &&
	    memcmp(old.data, HOOK_SCRIPT, old.len) == 0) {
		printf("keyleak: the %s hook in %s is already installed\n",
		       a->name, hook.data);
		rc = 0;
		goto out;
	}
	if (exists && a->chain) {
		if (chain_existing(hook.data, a, err) < 0)
			goto out;
	} else if (exists && !a->force) {
		kl_error_set(err, "%s already exists and is not keyleak's hook; "
			     "use --chain to keep it and run it first, or "
			     "--force to replace it", hook.data);
		goto out;
	}
	if (write_hook(a, hook.data, err) < 0)
		goto out;
	printf("keyleak: installed the %s hook in %s\n", a->name, hook.data);
	rc = 0;
out:
	kl_buf_free(&hook);
	kl_buf_free(&old);
	return rc;
}

int kl_cmd_install_hook(int argc, char **argv)
{
	git_repository *repo;
	kl_error err = { 0 };
	hook_args a;
	int rc = parse_hook_args(argc, argv, &a);

	if (rc != 0)
		return rc > 0 ? KL_EXIT_CLEAN : KL_EXIT_ERROR;
	if (a.print)
		return fwrite(a.script, 1, a.len, stdout) == a.len &&
		       fflush(stdout) == 0 ? KL_EXIT_CLEAN : KL_EXIT_ERROR;
	if (kl_git_open(a.path, &repo, &err) == 0) {
		rc = install(repo, &a, &err);
		kl_git_close(repo);
	} else {
		rc = -1;
	}
	if (rc < 0) {
		fprintf(stderr, "keyleak install-hook: %s\n", err.message);
		kl_error_clear(&err);
		return KL_EXIT_ERROR;
	}
	return KL_EXIT_CLEAN;
}
