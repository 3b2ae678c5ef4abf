"""End-to-end tests of `keyleak audit` (all refs, unreachable objects and
the work tree in one report) and of ci/keyleak-ci.sh's range choice."""
import json
import os
import subprocess

import lib
from lib import assert_eq, git, test

RULE = "anthropic-api-key"


def line(seed):
    return 'KEY = "%s"\n' % lib.make_key(RULE, seed)


@test
def amended_away_commit_found_by_audit_only():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "README", "hi\n", "init")
        leaked = lib.commit_file(repo, "conf.py", line(1), "oops")
        lib.write(os.path.join(repo, "conf.py"), "KEY = os.environ['K']\n")
        git(repo, "add", "conf.py")
        git(repo, "commit", "-q", "--amend", "-m", "config")
        rc, rep = lib.run_json(["history", repo, "--all"])
        assert_eq((rc, rep["findings"]), (0, []), "history --all")
        rc, rep = lib.run_json(["scan", repo])
        assert_eq((rc, rep["findings"]), (0, []), "scan")
        rc, rep = lib.run_json(["audit", repo])
        assert_eq(rc, 1, "audit exit")
        assert_eq([f["path"] for f in rep["findings"]], ["conf.py"], "paths")
        prov = rep["findings"][0]["provenance"]
        assert_eq(prov["commit"], leaked, "the amended-away commit")
        assert_eq(prov["in_head"], False, "not in HEAD")


@test
def dangling_blob_and_stash():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "README", "hi\n", "init")
        blob_file = os.path.join(d, "loose.txt")
        lib.write(blob_file, line(2))
        oid = git(repo, "hash-object", "-w", blob_file)
        lib.write(os.path.join(repo, "README"), "hi\n" + line(3))
        git(repo, "stash", "-q")
        rc, rep = lib.run_json(["audit", repo])
        assert_eq(rc, 1, "exit")
        paths = sorted(f["path"] for f in rep["findings"])
        assert_eq(paths, ["(unreachable blob %s)" % oid, "README"], "paths")
        rc, rep = lib.run_json(["history", repo, "--all"])
        assert_eq([f["path"] for f in rep["findings"]], ["README"],
                  "history --all includes the stash")


@test
def work_tree_and_history_merged_once():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "a.py", line(1), "key")
        lib.write(os.path.join(repo, "b.py"), line(4))  # never committed
        rc, rep = lib.run_json(["audit", repo])
        assert_eq(rc, 1, "exit")
        by = {f["path"]: f for f in rep["findings"]}
        assert_eq(sorted(by), ["a.py", "b.py"], "paths")
        assert_eq(by["a.py"]["provenance"]["in_head"], True,
                  "history's finding (with provenance) is kept")
        assert not by["b.py"].get("provenance"), "work-tree only"


@test
def audit_threads_identical_and_sarif():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        for i in range(6):
            lib.commit_file(repo, "f%d.py" % i, line(10 + i), "c%d" % i)
        git(repo, "checkout", "-q", "-b", "side", "HEAD~3")
        lib.commit_file(repo, "side.py", line(30), "side")
        git(repo, "checkout", "-q", "main")
        outs = [lib.run(["audit", repo, "--threads", n, "--format", "json"]).stdout
                for n in ("1", "4")]
        assert outs[0] == outs[1], "audit JSON differs between thread counts"
        p = lib.run(["audit", repo, "--format", "sarif"])
        assert_eq(p.returncode, 1, "exit")
        sarif = json.loads(p.stdout)
        assert_eq(len(sarif["runs"][0]["results"]), 7, "results")


def ci(repo, env):
    full = dict(os.environ)
    for k in list(full):
        if k.startswith(("GITHUB_", "CI_", "BITBUCKET_", "KEYLEAK_")):
            del full[k]
    full.update(env)
    full["KEYLEAK"] = lib.KEYLEAK
    return subprocess.run(["sh", os.path.join(lib.ROOT, "ci", "keyleak-ci.sh"),
                           "--format", "json"], cwd=repo, env=full,
                          capture_output=True)


@test
def ci_script_scans_the_pushed_range():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        before = lib.commit_file(repo, "old.py", line(1), "old")
        lib.commit_file(repo, "new.py", line(2), "new")
        p = ci(repo, {"CI_COMMIT_BEFORE_SHA": before})
        assert_eq(p.returncode, 1, "exit: %s" % p.stderr)
        assert_eq([f["path"] for f in json.loads(p.stdout)["findings"]],
                  ["new.py"], "only the push's commits")
        p = ci(repo, {"CI_COMMIT_BEFORE_SHA": "0" * 40})
        assert_eq(p.returncode, 1, "new branch, no origin: whole history")
        assert_eq(sorted(f["path"] for f in json.loads(p.stdout)["findings"]),
                  ["new.py", "old.py"], "whole history")


if __name__ == "__main__":
    lib.main()
