#!/usr/bin/env python3
"""The CI templates build keyleak the way they say (issue 25): each
template's own fetch-and-build steps, run as a script against a clean copy
of this tree (a local git repository standing for KEYLEAK_SOURCE_URL, so no
network), must produce a working ./keyleak, and the packages they install
must be exactly `make print-deps` (ci/build-deps.txt, one list for the
Makefile and every template). apt-get and sudo are stubs that record what
would be installed; the packages themselves are already on this machine."""
import os
import re
import shutil
import subprocess

import yaml

import lib
from lib import assert_eq, test

CI = os.path.join(lib.ROOT, "ci")
STUB = """#!/bin/sh
# records the call; installs nothing (the packages are already here)
echo "$*" >> "%s"
"""


def print_deps():
    p = subprocess.run(["make", "-s", "-C", lib.ROOT, "print-deps"],
                       capture_output=True, check=True)
    return sorted(p.stdout.decode().split())


def clean_copy(base, ref):
    """This tree's files (tracked and new, not ignored) committed into a
    fresh repository tagged ref: what KEYLEAK_SOURCE_URL would hold."""
    src = os.path.join(base, "keyleak-src")
    files = subprocess.run(["git", "-C", lib.ROOT, "ls-files", "-co",
                            "--exclude-standard", "-z"], capture_output=True,
                           check=True).stdout.decode().split("\0")
    for rel in files:
        if not rel or not os.path.isfile(os.path.join(lib.ROOT, rel)):
            continue
        os.makedirs(os.path.join(src, os.path.dirname(rel)), exist_ok=True)
        shutil.copy2(os.path.join(lib.ROOT, rel), os.path.join(src, rel))
    lib.git(src, "init", "-q", "-b", "main")
    lib.git(src, "add", "-A")
    lib.git(src, "commit", "-q", "-m", "source")
    lib.git(src, "tag", ref)
    return src


def stubs(base):
    bindir = os.path.join(base, "stubs")
    log = os.path.join(base, "apt.log")
    os.makedirs(bindir)
    with open(os.path.join(bindir, "apt-get"), "w") as f:
        f.write(STUB % log)
    with open(os.path.join(bindir, "sudo"), "w") as f:
        f.write('#!/bin/sh\nexec "$@"\n')
    for name in ("apt-get", "sudo"):
        os.chmod(os.path.join(bindir, name), 0o755)
    return bindir, log


def installed(log):
    """The packages of each `apt-get install` call, in order."""
    with open(log) as f:
        calls = [l.split() for l in f if l.split()[:1] == ["install"]]
    return [sorted(w for w in c[1:] if not w.startswith("-")) for c in calls]


def run_script(shell, script, env, cwd):
    full = dict(os.environ)
    full.update(env)
    p = subprocess.run([shell, "-e", "-c", script], cwd=cwd, env=full,
                       capture_output=True, timeout=1200)
    assert p.returncode == 0, "template steps failed (%d):\n%s\n%s" % (
        p.returncode, p.stdout.decode(errors="replace")[-3000:],
        p.stderr.decode(errors="replace")[-3000:])


def check_built(keyleak):
    p = subprocess.run([keyleak, "version"], capture_output=True)
    assert_eq(p.returncode, 0, "%s version" % keyleak)
    assert p.stdout.decode().startswith("keyleak "), p.stdout


@test
def github_actions_template_builds_keyleak():
    with open(os.path.join(CI, "github-actions.yml")) as f:
        wf = yaml.safe_load(f)
    steps = wf["jobs"]["keyleak"]["steps"]
    names = [s.get("name") for s in steps]
    fetch = steps[names.index("Fetch keyleak's source")]
    build = steps[names.index("Build keyleak")]
    ref = fetch["env"]["KEYLEAK_REF"]
    assert re.match(r"^v\d+\.\d+\.\d+$", ref), "unpinned KEYLEAK_REF %r" % ref
    assert fetch["env"]["KEYLEAK_SOURCE_URL"] == "${{ vars.KEYLEAK_SOURCE_URL }}"
    with lib.TempDir() as base:
        src = clean_copy(base, ref)
        bindir, log = stubs(base)
        runner = os.path.join(base, "runner")
        os.makedirs(runner)
        env = {"PATH": bindir + os.pathsep + os.environ["PATH"],
               "RUNNER_TEMP": runner,
               "GITHUB_PATH": os.path.join(base, "github_path"),
               "KEYLEAK_SOURCE_URL": src, "KEYLEAK_REF": ref,
               "MAKEFLAGS": "-j2"}
        run_script("bash", fetch["run"] + "\n" + build["run"], env, base)
        check_built(os.path.join(runner, "keyleak", "keyleak"))
        assert_eq(installed(log), [print_deps()], "packages installed")
        with open(env["GITHUB_PATH"]) as f:
            assert_eq(f.read().strip(), os.path.join(runner, "keyleak"),
                      "PATH entry")


@test
def github_actions_template_refuses_without_a_source():
    with open(os.path.join(CI, "github-actions.yml")) as f:
        steps = yaml.safe_load(f)["jobs"]["keyleak"]["steps"]
    fetch = [s for s in steps if s.get("name") == "Fetch keyleak's source"][0]
    with lib.TempDir() as base:
        full = dict(os.environ, RUNNER_TEMP=base, KEYLEAK_SOURCE_URL="",
                    KEYLEAK_REF="v0.1.0")
        p = subprocess.run(["bash", "-e", "-c", fetch["run"]], env=full,
                           capture_output=True)
        assert_eq(p.returncode, 2, "exit without KEYLEAK_SOURCE_URL")
        assert b"KEYLEAK_SOURCE_URL" in p.stderr, p.stderr


@test
def gitlab_template_builds_keyleak():
    with open(os.path.join(CI, "gitlab-ci.yml")) as f:
        job = yaml.safe_load(f)["keyleak"]
    ref = job["variables"]["KEYLEAK_REF"]
    assert re.match(r"^v\d+\.\d+\.\d+$", ref), "unpinned KEYLEAK_REF %r" % ref
    with lib.TempDir() as base:
        src = clean_copy(base, ref)
        bindir, log = stubs(base)
        dest = os.path.join(base, "opt-keyleak")
        script = "\n".join(job["before_script"]).replace("/opt/keyleak", dest)
        script += '\necho "$PATH" > "%s/path"' % base
        env = {"PATH": bindir + os.pathsep + os.environ["PATH"],
               "KEYLEAK_SOURCE_URL": src, "KEYLEAK_REF": ref,
               "MAKEFLAGS": "-j2"}
        run_script("sh", script, env, base)
        check_built(os.path.join(dest, "keyleak"))
        calls = installed(log)
        # The first install only fetches what cloning and `make` need.
        assert_eq(calls[-1], print_deps(), "packages `make deps` installed")
        assert set(calls[0]) <= {"git", "ca-certificates", "make"}, calls[0]


@test
def every_template_installs_through_make_deps():
    """The org-audit templates too: no package list of their own."""
    for name in ("github-actions.yml", "gitlab-ci.yml", "org-audit-github.yml",
                 "org-audit-gitlab.yml"):
        with open(os.path.join(CI, name)) as f:
            text = f.read()
        assert "deps" in text and "make -C" in text, name
        for pkg in print_deps():
            if pkg.endswith("-dev"):
                assert pkg not in text, "%s lists %s itself" % (name, pkg)
        assert "KEYLEAK_SOURCE_URL" in text and "KEYLEAK_REF" in text, name


@test
def makefile_deps_installs_the_shared_list():
    p = subprocess.run(["make", "-n", "-C", lib.ROOT, "deps"],
                       capture_output=True, check=True)
    line = [l for l in p.stdout.decode().splitlines() if "apt-get install" in l]
    assert line, p.stdout
    got = sorted(w for w in line[-1].split("install", 1)[1].split()
                 if not w.startswith("-"))
    assert_eq(got, print_deps(), "make deps")


if __name__ == "__main__":
    lib.main()
