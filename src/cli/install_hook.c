/*
 * Owns `keyleak install-hook`: writes hooks/pre-commit (or, with
 * --pre-push / --pre-receive, those hooks) into a repository's hooks
 * directory (honouring core.hooksPath), never silently replacing a
 * different hook: --force replaces it, --chain keeps it and runs it first.
 * The hook runs the keyleak that installed it, by its absolute path (a
 * server's PATH rarely holds a binary from someone's build tree).
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
	bool use_path;      /* the hook runs the first keyleak on PATH */
	const char *script; /* hooks/<name>, compiled in at build time */
	size_t len;
	kl_buf text;        /* the script with the keyleak it runs filled in */
} hook_args;

#define HOOK_SCRIPT (a->text.data)
#define HOOK_LEN (a->text.len)

static void find_script(hook_args *a)
{
	size_t i;

	for (i = 0; i < kl_embedded_hook_count; i++)
		if (strcmp(kl_embedded_hook[i].name, a->name) == 0) {
			a->script = kl_embedded_hook[i].data;
			a->len = kl_embedded_hook[i].len;
		}
}

/* The line of each hooks/<name> that names the keyleak to run. */
static const char keyleak_line[] = "\nKEYLEAK=${KEYLEAK:-keyleak}\n";

/* path in single quotes for sh ('\'' for a quote inside). */
static void sh_quote(kl_buf *out, const char *path)
{
	kl_buf_addch(out, '\'');
	for (; *path; path++)
		if (*path == '\'')
			kl_buf_puts(out, "'\\''");
		else
			kl_buf_addch(out, *path);
	kl_buf_addch(out, '\'');
}

/* A directory holding dir/name (a file or a directory). */
static bool has_entry(const char *dir, const char *name, bool want_dir)
{
	kl_buf p = KL_BUF_INIT;
	struct stat st;
	bool ok;

	kl_buf_printf(&p, "%s/%s", dir, name);
	ok = stat(p.data, &st) == 0 && (!want_dir || S_ISDIR(st.st_mode));
	kl_buf_free(&p);
	return ok;
}

/* Where exe's trees of sources are: the nearest ancestor directory that
 * is a git work tree or holds a Makefile and src/ (caller frees), or NULL.
 * A binary there disappears with `make clean` or the checkout. */
static char *build_tree(const char *exe)
{
	char *dir = kl_xstrdup(exe), *slash;

	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (has_entry(dir, ".git", false) ||
		    (has_entry(dir, "Makefile", false) &&
		     has_entry(dir, "src", true)))
			return dir;
	}
	free(dir);
	return NULL;
}

/* The first of exe and its directories that other users cannot execute
 * or enter (caller frees), or NULL: a server's git often runs as another
 * user (www-data, git) than the one who installed the hook. */
static char *closed_to_others(const char *exe)
{
	char *p = kl_xstrdup(exe), *slash;
	struct stat st;

	for (;;) {
		if (stat(p[0] ? p : "/", &st) == 0 && !(st.st_mode & S_IXOTH))
			return p;
		if (!(slash = strrchr(p, '/')) || !p[0])
			break;
		*slash = '\0';
	}
	free(p);
	return NULL;
}

static void warn_about(const hook_args *a, const char *exe)
{
	char *tree = build_tree(exe), *closed;

	if (tree)
		fprintf(stderr, "keyleak install-hook: warning: the hook runs "
			"%s,\n  which is inside a build tree (%s): `make clean` "
			"or removing\n  that tree breaks the hook. Install "
			"keyleak (the Debian package, or\n  `make install`) and "
			"run install-hook from there, or use --use-path.\n",
			exe, tree);
	free(tree);
	if (strcmp(a->name, "pre-receive") != 0)
		return;
	closed = closed_to_others(exe);
	if (closed)
		fprintf(stderr, "keyleak install-hook: warning: %s is not "
			"executable by other users,\n  so a server whose git "
			"runs as another user (www-data, git, ...)\n  cannot "
			"run %s and refuses every push.\n",
			closed[0] ? closed : "/", exe);
	free(closed);
}

/* The hook's text: the embedded script with the absolute path of this
 * keyleak (resolved from /proc/self/exe) on its KEYLEAK line. */
static int render(hook_args *a, kl_error *err)
{
	const char *at = memmem(a->script, a->len, keyleak_line,
				sizeof(keyleak_line) - 1);
	char *exe;
	size_t head;

	if (a->use_path || !at) {
		kl_buf_add(&a->text, a->script, a->len);
		return 0;
	}
	if (!(exe = realpath("/proc/self/exe", NULL))) {
		kl_error_set(err, "cannot find the path of this keyleak "
			     "(/proc/self/exe: %s); use --use-path to run the "
			     "keyleak on PATH", strerror(errno));
		return -1;
	}
	head = (size_t)(at - a->script) + 1;
	kl_buf_add(&a->text, a->script, head);
	kl_buf_puts(&a->text, "KEYLEAK=${KEYLEAK:-");
	sh_quote(&a->text, exe);
	kl_buf_puts(&a->text, "}\n");
	head += sizeof(keyleak_line) - 2;
	kl_buf_add(&a->text, a->script + head, a->len - head);
	warn_about(a, exe);
	free(exe);
	return 0;
}

/* A hook some keyleak installed (any version, any binary): updated in
 * place, never chained or refused. */
static bool is_keyleak_hook(const kl_buf *old, const char *name)
{
	kl_buf head = KL_BUF_INIT;
	bool yes;

	kl_buf_printf(&head, "#!/bin/sh\n# keyleak %s hook:", name);
	yes = old->len >= head.len && memcmp(old->data, head.data, head.len) == 0;
	kl_buf_free(&head);
	return yes;
}

static void hook_usage(FILE *out)
{
	fputs("usage: keyleak install-hook [PATH] [--pre-push | --pre-receive]\n"
	      "                            [--force] [--chain] [--print]\n"
	      "                            [--use-path]\n"
	      "Install keyleak's pre-commit hook into the repository at PATH\n"
	      "(default .), in core.hooksPath if set, else .git/hooks.\n"
	      "The hook runs this keyleak by its absolute path; a warning says\n"
	      "when that path is inside a build tree or not executable by other\n"
	      "users. Installing over an older keyleak hook updates it.\n"
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
	      "           hooks/pre-receive.d/ or GitLab's custom_hooks/)\n"
	      "  --use-path  the hook runs the first keyleak on PATH instead\n"
	      "           (for images where the binary moves)\n", out);
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
		} else if (strcmp(argv[i], "--use-path") == 0) {
			a->use_path = true;
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
	if (exists && is_keyleak_hook(&old, a->name)) {
		if (write_hook(a, hook.data, err) < 0)
			goto out;
		printf("keyleak: updated the %s hook in %s\n", a->name,
		       hook.data);
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
	if (render(&a, &err) < 0) {
		rc = -1;
	} else if (a.print) {
		rc = fwrite(a.text.data, 1, a.text.len, stdout) == a.text.len &&
		     fflush(stdout) == 0 ? 0 : -2;
	} else if (kl_git_open(a.path, &repo, &err) == 0) {
		rc = install(repo, &a, &err);
		kl_git_close(repo);
	} else {
		rc = -1;
	}
	kl_buf_free(&a.text);
	if (rc == -1) {
		fprintf(stderr, "keyleak install-hook: %s\n", err.message);
		kl_error_clear(&err);
	}
	return rc < 0 ? KL_EXIT_ERROR : KL_EXIT_CLEAN;
}
