"""End-to-end tests of the pre-commit hook and `keyleak install-hook`,
driving real `git commit`."""
import os
import subprocess

import lib
from lib import assert_eq, git, test

RULE = "anthropic-api-key"
HOOK_SRC = os.path.join(lib.ROOT, "hooks", "pre-commit")


def commit(repo, *args, env=None):
    full = dict(os.environ)
    full.update({"GIT_AUTHOR_NAME": "Ann", "GIT_AUTHOR_EMAIL": "a@x",
                 "GIT_COMMITTER_NAME": "Ann", "GIT_COMMITTER_EMAIL": "a@x",
                 "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
                 "KEYLEAK": lib.KEYLEAK})
    if env:
        full.update(env)
    return subprocess.run(["git", "-C", repo, "commit", "-q"] + list(args),
                          capture_output=True, env=full)


def installed(repo, *args):
    p = lib.run(["install-hook", repo] + list(args))
    return p


@test
def installed_hook_is_hooks_pre_commit():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        p = installed(repo)
        assert_eq(p.returncode, 0, "install: %s" % p.stderr)
        path = os.path.join(repo, ".git", "hooks", "pre-commit")
        with open(path, "rb") as f, open(HOOK_SRC, "rb") as g:
            assert f.read() == g.read(), \
                "the embedded hook differs from hooks/pre-commit"
        assert os.access(path, os.X_OK), "hook not executable"
        p = installed(repo)
        assert_eq(p.returncode, 0, "reinstall is a no-op")
        assert b"already" in p.stdout, p.stdout


@test
def commit_with_key_is_blocked():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "README", "hi\n", "init")
        head = git(repo, "rev-parse", "HEAD")
        assert_eq(installed(repo).returncode, 0, "install")
        k = lib.make_key(RULE, 1)
        lib.write(os.path.join(repo, "cfg.py"), "x = 1\nKEY = '%s'\n" % k)
        git(repo, "add", "cfg.py")
        p = commit(repo, "-m", "leak")
        assert_eq(p.returncode, 1, "commit exit status")
        err = p.stderr.decode()
        assert "commit blocked" in err, err
        assert "cfg.py" in err and RULE in err, err
        assert "--no-verify" in err, err
        lib.assert_no_secret(p.stdout + p.stderr, [k], "hook output")
        assert_eq(git(repo, "rev-parse", "HEAD"), head, "no commit made")
        p = commit(repo, "--no-verify", "-m", "bypass")
        assert_eq(p.returncode, 0, "--no-verify bypasses")


@test
def clean_commit_succeeds():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        assert_eq(installed(repo).returncode, 0, "install")
        lib.write(os.path.join(repo, "a.txt"), "nothing secret\n")
        git(repo, "add", "a.txt")
        p = commit(repo, "-m", "clean")
        assert_eq(p.returncode, 0, "clean commit: %s" % p.stderr)


@test
def missing_keyleak_fails_with_message():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        assert_eq(installed(repo).returncode, 0, "install")
        lib.write(os.path.join(repo, "a.txt"), "x\n")
        git(repo, "add", "a.txt")
        p = commit(repo, "-m", "x", env={"KEYLEAK": "keyleak-not-here"})
        assert_eq(p.returncode, 1, "exit")
        assert b"not installed" in p.stderr, p.stderr


@test
def existing_hook_is_kept_unless_forced_or_chained():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        hook = os.path.join(repo, ".git", "hooks", "pre-commit")
        marker = os.path.join(d, "ran")
        lib.write(hook, "#!/bin/sh\ntouch '%s'\n" % marker)
        os.chmod(hook, 0o755)
        p = installed(repo)
        assert_eq(p.returncode, 2, "refuses to overwrite")
        assert b"--force" in p.stderr and b"--chain" in p.stderr, p.stderr
        p = installed(repo, "--chain")
        assert_eq(p.returncode, 0, "chain: %s" % p.stderr)
        assert os.path.exists(hook + ".chained"), "old hook kept"
        lib.write(os.path.join(repo, "a.txt"), "x\n")
        git(repo, "add", "a.txt")
        assert_eq(commit(repo, "-m", "x").returncode, 0, "commit")
        assert os.path.exists(marker), "chained hook did not run"
        lib.write(hook, "#!/bin/sh\nexit 0\n")
        assert_eq(installed(repo, "--force").returncode, 0, "--force")
        with open(hook, "rb") as f, open(HOOK_SRC, "rb") as g:
            assert f.read() == g.read(), "--force did not install"


@test
def honours_core_hooks_path():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        git(repo, "config", "core.hooksPath", "tools/hooks")
        assert_eq(installed(repo).returncode, 0, "install")
        assert os.path.exists(os.path.join(repo, "tools", "hooks",
                                           "pre-commit")), "not in hooksPath"
        lib.write(os.path.join(repo, "k.py"), lib.make_key(RULE, 2) + "\n")
        git(repo, "add", "k.py")
        assert_eq(commit(repo, "-m", "x").returncode, 1, "hook ran")


@test
def pre_commit_framework_manifest():
    with open(os.path.join(lib.ROOT, ".pre-commit-hooks.yaml")) as f:
        text = f.read()
    for want in ("id: keyleak", "entry: keyleak staged", "language: system",
                 "pass_filenames: false", "always_run: true"):
        assert want in text, want


if __name__ == "__main__":
    lib.main()
