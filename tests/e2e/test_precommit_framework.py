"""End-to-end tests of .pre-commit-hooks.yaml with the pre-commit framework
Debian ships (3.0.4 in Debian 12): a real `git commit` and a real `git push`
through hooks that `pre-commit install` wrote, in temporary repositories.
The hook repository is a copy of this checkout's manifest, so uncommitted
edits are what is tested."""
import os
import re
import shutil
import textwrap
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


def key_in_head(d, env):
    """A project whose HEAD already holds a key (committed before the hooks
    were installed) plus the hooks installed."""
    repo = project(d, env, ["pre-commit"])
    key = lib.make_key(RULE, 9)
    lib.write(os.path.join(repo, "settings.py"),
              "A = 1\nKEY = '%s'\n" % key)
    git(repo, "add", "settings.py")
    p = sh(["git", "commit", "-q", "--no-verify", "-m", "old"], repo, env)
    assert_eq(p.returncode, 0, "commit --no-verify: %s" % out(p))
    return repo, key


@test
def run_all_files_finds_a_key_in_head():
    need_pre_commit()
    with lib.TempDir() as d:
        env = env_for(d)
        repo, key = key_in_head(d, env)
        p = sh(["pre-commit", "run", "--all-files"], repo, env)
        text = out(p)
        assert_eq(p.returncode, 1, "run --all-files: %s" % text)
        assert RULE in text and "settings.py" in text, text
        assert key not in text, "the secret was printed in full"
        # --files and --from-ref/--to-ref name files the same way.
        p = sh(["pre-commit", "run", "keyleak", "--files", "settings.py"],
               repo, env)
        assert_eq(p.returncode, 1, "run --files: %s" % out(p))
        p = sh(["pre-commit", "run", "keyleak", "--files", "README"],
               repo, env)
        assert_eq(p.returncode, 0, "a clean file passes: %s" % out(p))
        p = sh(["pre-commit", "run", "--from-ref", "HEAD~1", "--to-ref",
                "HEAD"], repo, env)
        assert_eq(p.returncode, 1, "run --from-ref: %s" % out(p))


@test
def a_real_commit_scans_only_what_it_adds():
    need_pre_commit()
    with lib.TempDir() as d:
        env = env_for(d)
        repo, key = key_in_head(d, env)
        # The framework names settings.py, which holds the old key; a real
        # commit judges only the lines it adds.
        lib.write(os.path.join(repo, "settings.py"),
                  "A = 2\nKEY = '%s'\n" % key)
        git(repo, "add", "settings.py")
        p = sh(["git", "commit", "-q", "-m", "touch"], repo, env)
        assert_eq(p.returncode, 0, "commit that adds no key: %s" % out(p))


@test
def readme_pre_commit_config_works():
    """The README's .pre-commit-config.yaml, with its rev filled in."""
    need_pre_commit()
    with open(os.path.join(lib.ROOT, "README.md")) as f:
        readme = f.read()
    m = re.search(r"```yaml\n((?:[ ]*repos:\n)(?:.*\n)*?)[ ]*```", readme)
    assert m, "no .pre-commit-config.yaml example in README.md"
    block = textwrap.dedent(m.group(1))
    assert "rev: " in block and "id: keyleak" in block, block
    with lib.TempDir() as d:
        env = env_for(d)
        hooks, rev = hook_repo(d)
        repo = lib.new_repo(d, "project")
        lines = []
        for line in block.splitlines():
            if line.strip().startswith("- repo:"):
                line = line[:line.index("- repo:")] + "- repo: " + hooks
            elif line.strip().startswith("rev:"):
                line = line[:line.index("rev:")] + "rev: " + rev
            lines.append(line)
        lib.write(os.path.join(repo, ".pre-commit-config.yaml"),
                  "\n".join(lines) + "\n")
        p = sh(["pre-commit", "validate-config", ".pre-commit-config.yaml"],
               repo, env)
        assert_eq(p.returncode, 0, "validate-config: %s" % out(p))
        lib.write(os.path.join(repo, "a.py"),
                  "K = '%s'\n" % lib.make_key(RULE, 10))
        git(repo, "add", "-A")
        p = sh(["git", "commit", "-q", "--no-verify", "-m", "x"], repo, env)
        p = sh(["pre-commit", "run", "--all-files"], repo, env)
        assert_eq(p.returncode, 1, "README config finds the key: %s" % out(p))


if __name__ == "__main__":
    lib.main()
