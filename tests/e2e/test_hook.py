"""End-to-end tests of the pre-commit hook and `keyleak install-hook`,
driving real `git commit`."""
import os
import re
import shutil
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


def with_path(src, keyleak):
    """hooks/<name> as install-hook writes it: the KEYLEAK line names the
    installing binary by its absolute path."""
    with open(src, "rb") as f:
        text = f.read()
    line = b"\nKEYLEAK=${KEYLEAK:-keyleak}\n"
    assert line in text, "no KEYLEAK line in %s" % src
    return text.replace(line, b"\nKEYLEAK=${KEYLEAK:-'%s'}\n"
                        % os.path.realpath(keyleak).encode())


@test
def installed_hook_is_hooks_pre_commit():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        p = installed(repo)
        assert_eq(p.returncode, 0, "install: %s" % p.stderr)
        path = os.path.join(repo, ".git", "hooks", "pre-commit")
        with open(path, "rb") as f:
            assert f.read() == with_path(HOOK_SRC, lib.KEYLEAK), \
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
        with open(hook, "rb") as f:
            assert f.read() == with_path(HOOK_SRC, lib.KEYLEAK), \
                "--force did not install"


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
    for want in ("id: keyleak", "entry: keyleak pre-commit",
                 "language: system", "pass_filenames: true"):
        assert want in text, want


def copy_of_keyleak(d, *dirs, mode=0o755):
    """The binary copied to d/<dirs>/keyleak (dirs opened to others)."""
    bindir = os.path.join(d, *dirs) if dirs else d
    os.makedirs(bindir, exist_ok=True)
    for x in [d] + [os.path.join(d, *dirs[:i + 1]) for i in range(len(dirs))]:
        os.chmod(x, 0o755)
    os.chmod(bindir, mode)
    exe = os.path.join(bindir, "keyleak")
    shutil.copy(lib.KEYLEAK, exe)
    return exe


def no_keyleak_env(d):
    """No KEYLEAK and no keyleak on PATH: only the hook's own path."""
    return {"KEYLEAK": "", "PATH": "/usr/bin:/bin"}


@test
def hook_runs_the_installing_binary_without_path():
    with lib.TempDir() as d:
        exe = copy_of_keyleak(d, "opt", "bin")
        repo = lib.new_repo(d)
        p = subprocess.run([exe, "install-hook", repo], capture_output=True)
        assert_eq(p.returncode, 0, "install: %s" % p.stderr)
        assert_eq(p.stderr, b"", "no warning for an installed binary")
        lib.write(os.path.join(repo, "k.py"), lib.make_key(RULE, 3) + "\n")
        git(repo, "add", "k.py")
        p = commit(repo, "-m", "x", env=no_keyleak_env(d))
        assert_eq(p.returncode, 1, "the hook found its keyleak: %s"
                  % p.stderr)
        assert b"commit blocked" in p.stderr, p.stderr
        # Moved away: the hook says what to do, with no web address.
        os.remove(exe)
        p = commit(repo, "-m", "x", env=no_keyleak_env(d))
        assert_eq(p.returncode, 1, "missing binary blocks")
        err = p.stderr.decode()
        for want in (exe, "install-hook", "KEYLEAK=", "man keyleak",
                     "doc/hooks-and-ci.md"):
            assert want in err, (want, err)
        assert "http" not in err, err


@test
def use_path_and_reinstall_after_a_move():
    with lib.TempDir() as d:
        exe = copy_of_keyleak(d, "a")
        repo = lib.new_repo(d)
        hook = os.path.join(repo, ".git", "hooks", "pre-commit")
        p = subprocess.run([exe, "install-hook", repo, "--use-path"],
                           capture_output=True)
        assert_eq(p.returncode, 0, "install --use-path: %s" % p.stderr)
        with open(hook, "rb") as f, open(HOOK_SRC, "rb") as g:
            assert f.read() == g.read(), "--use-path keeps keyleak on PATH"
        exe2 = copy_of_keyleak(d, "b")
        p = subprocess.run([exe2, "install-hook", repo], capture_output=True)
        assert_eq(p.returncode, 0, "an older keyleak hook is updated: %s"
                  % p.stderr)
        assert b"updated" in p.stdout, p.stdout
        with open(hook, "rb") as f:
            assert_eq(f.read(), with_path(HOOK_SRC, exe2), "new path")


@test
def install_warns_about_build_trees_and_closed_directories():
    with lib.TempDir() as d:
        tree = os.path.join(d, "tree")
        os.makedirs(os.path.join(tree, "src"))
        lib.write(os.path.join(tree, "Makefile"), "all:\n")
        exe = copy_of_keyleak(d, "tree")
        repo = lib.new_repo(d)
        p = subprocess.run([exe, "install-hook", repo, "--pre-push"],
                           capture_output=True)
        assert_eq(p.returncode, 0, "install: %s" % p.stderr)
        assert b"build tree" in p.stderr and tree.encode() in p.stderr, \
            p.stderr
        closed = copy_of_keyleak(d, "private", mode=0o700)
        p = subprocess.run([closed, "install-hook", "--pre-receive",
                            "--print"], capture_output=True)
        assert_eq(p.returncode, 0, "--print: %s" % p.stderr)
        assert b"not executable by other users" in p.stderr, p.stderr
        assert os.path.realpath(closed).encode() in p.stdout, \
            "--print writes the path too"
        p = subprocess.run([closed, "install-hook", "--print"],
                           capture_output=True)
        assert_eq(p.stderr, b"", "a client hook runs as its user")


@test
def no_web_address_in_hooks_or_messages():
    for name in ("pre-commit", "pre-push", "pre-receive"):
        with open(os.path.join(lib.ROOT, "hooks", name)) as f:
            text = f.read()
        assert "http://" not in text and "https://" not in text, name
        assert "man keyleak" in text, name
        # the guide it names exists (and ships in /usr/share/doc/keyleak)
        guides = re.findall(r"doc/[a-z-]+\.md", text)
        assert guides and all(os.path.isfile(os.path.join(lib.ROOT, g)) for g in guides), (name, guides)


if __name__ == "__main__":
    lib.main()
