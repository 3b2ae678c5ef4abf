"""End-to-end tests of .pre-commit-hooks.yaml with the pre-commit framework
Debian ships (3.0.4 in Debian 12): a real `git commit` and a real `git push`
through hooks that `pre-commit install` wrote, in temporary repositories.
The hook repository is a copy of this checkout's manifest, so uncommitted
edits are what is tested."""
import os
import shutil
import subprocess

import lib
from lib import Skip, assert_eq, git, test

RULE = "anthropic-api-key"
MANIFEST = os.path.join(lib.ROOT, ".pre-commit-hooks.yaml")


def need_pre_commit():
    if not shutil.which("pre-commit"):
        raise Skip("pre-commit is not installed (apt-get install pre-commit)")


def env_for(d):
    """git identity, no user config, keyleak on PATH, a private cache."""
    env = dict(os.environ)
    env.pop("KEYLEAK", None)  # the hooks must find keyleak on PATH
    env.update({
        "GIT_AUTHOR_NAME": "Ann", "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "Ann", "GIT_COMMITTER_EMAIL": "a@x",
        "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
        "PRE_COMMIT_HOME": os.path.join(d, "pre-commit-cache"),
        "PATH": lib.keyleak_on_path(d),
        "NO_COLOR": "1",
    })
    return env


def sh(args, cwd, env):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True,
                          timeout=300)


def hook_repo(d):
    """A git repository holding this checkout's manifest."""
    repo = lib.new_repo(d, "hooks-repo")
    shutil.copy(MANIFEST, os.path.join(repo, ".pre-commit-hooks.yaml"))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hooks")
    return repo, git(repo, "rev-parse", "HEAD")


def project(d, env, hook_types):
    """A repository whose .pre-commit-config.yaml uses both hooks, with the
    git hooks installed by `pre-commit install`."""
    hooks, rev = hook_repo(d)
    repo = lib.new_repo(d, "project")
    lib.write(os.path.join(repo, ".pre-commit-config.yaml"),
              "repos:\n- repo: %s\n  rev: %s\n  hooks:\n"
              "  - id: keyleak\n  - id: keyleak-pre-push\n" % (hooks, rev))
    lib.write(os.path.join(repo, "README"), "hello\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    args = ["pre-commit", "install"]
    for t in hook_types:
        args += ["--hook-type", t]
    p = sh(args, repo, env)
    assert_eq(p.returncode, 0, "pre-commit install: %s%s" % (p.stdout, p.stderr))
    return repo


def out(p):
    return (p.stdout + p.stderr).decode(errors="replace")


@test
def manifest_validates():
    need_pre_commit()
    p = subprocess.run(["pre-commit", "validate-manifest", MANIFEST],
                       capture_output=True)
    assert_eq(p.returncode, 0, "validate-manifest: %s" % out(p))


@test
def commit_stage_blocks_a_key_and_passes_without():
    need_pre_commit()
    with lib.TempDir() as d:
        env = env_for(d)
        repo = project(d, env, ["pre-commit"])
        head = git(repo, "rev-parse", "HEAD")
        key = lib.make_key(RULE, 7)
        lib.write(os.path.join(repo, "app.py"), "KEY = '%s'\n" % key)
        git(repo, "add", "app.py")
        p = sh(["git", "commit", "-q", "-m", "leak"], repo, env)
        text = out(p)
        assert_eq(p.returncode, 1, "commit with a key: %s" % text)
        assert RULE in text and "app.py" in text, text
        assert key not in text, "the secret was printed in full"
        assert_eq(git(repo, "rev-parse", "HEAD"), head, "HEAD moved")

        lib.write(os.path.join(repo, "app.py"), "KEY = os.environ['K']\n")
        git(repo, "add", "app.py")
        p = sh(["git", "commit", "-q", "-m", "clean"], repo, env)
        assert_eq(p.returncode, 0, "clean commit: %s" % out(p))
        assert_eq(git(repo, "log", "-1", "--format=%s"), "clean", "committed")


@test
def push_stage_blocks_a_key_and_passes_without():
    need_pre_commit()
    probe = lib.run(["pre-push", "--help"])
    if probe.returncode != 0:
        raise Skip("`keyleak pre-push --help` exits %d: the pre-push "
                   "command is not built yet (issue 10)" % probe.returncode)
    with lib.TempDir() as d:
        env = env_for(d)
        repo = project(d, env, ["pre-commit", "pre-push"])
        remote = os.path.join(d, "remote.git")
        git(d, "init", "-q", "--bare", remote)
        git(repo, "remote", "add", "origin", remote)
        p = sh(["git", "push", "-q", "origin", "main"], repo, env)
        assert_eq(p.returncode, 0, "clean push: %s" % out(p))

        key = lib.make_key(RULE, 8)
        lib.write(os.path.join(repo, "deploy.sh"), "export K=%s\n" % key)
        git(repo, "add", "deploy.sh")
        p = sh(["git", "commit", "-q", "--no-verify", "-m", "leak"], repo, env)
        assert_eq(p.returncode, 0, "commit --no-verify: %s" % out(p))
        before = git(remote, "rev-parse", "main")
        p = sh(["git", "push", "-q", "origin", "main"], repo, env)
        text = out(p)
        assert p.returncode != 0, "push of a key was accepted: %s" % text
        assert "deploy.sh" in text, text
        assert key not in text, "the secret was printed in full"
        assert_eq(git(remote, "rev-parse", "main"), before, "remote moved")

        # A new branch whose commits include the root: the whole branch.
        git(repo, "checkout", "-q", "--orphan", "fresh")
        git(repo, "rm", "-q", "-rf", "--cached", ".")
        lib.write(os.path.join(repo, "x.txt"), "K=%s\n" % key)
        git(repo, "add", "x.txt", ".pre-commit-config.yaml")
        p = sh(["git", "commit", "-q", "--no-verify", "-m", "fresh"], repo, env)
        assert_eq(p.returncode, 0, "orphan commit: %s" % out(p))
        p = sh(["git", "push", "-q", "origin", "fresh"], repo, env)
        assert p.returncode != 0, "new branch with a key accepted: %s" % out(p)


if __name__ == "__main__":
    lib.main()
