"""End-to-end tests of `keyleak staged`: only what the next commit adds,
with staged line numbers, on first commits, renames, worktrees, and fast."""
import json
import os
import subprocess
import time

import lib
from lib import assert_eq, git, test

RULE = "anthropic-api-key"


def line(seed):
    return 'TOKEN = "%s"\n' % lib.make_key(RULE, seed)


def stage(repo, relpath, content):
    lib.write(os.path.join(repo, relpath), content)
    git(repo, "add", "--", relpath)


@test
def first_commit_everything_is_new():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        stage(repo, "cfg/app.py", "a\nb\n" + line(1))
        rc, rep = lib.run_json(["staged", repo])
        assert_eq(rc, 1, "exit")
        assert_eq([(f["path"], f["line"]) for f in rep["findings"]],
                  [("cfg/app.py", 3)], "findings")
        assert "provenance" not in rep["findings"][0] or \
            rep["findings"][0]["provenance"] is None, "no history provenance"


@test
def only_added_lines_with_staged_line_numbers():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "app.py", "x = 1\n" + line(1), "old key")
        stage(repo, "app.py", "new first line\nx = 1\n" + line(1) + line(2))
        rc, rep = lib.run_json(["staged", repo])
        assert_eq(rc, 1, "exit")
        assert_eq([(f["path"], f["line"]) for f in rep["findings"]],
                  [("app.py", 4)], "only the new key, at its staged line")


@test
def unstaged_changes_are_ignored():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "app.py", "x = 1\n", "init")
        lib.write(os.path.join(repo, "app.py"), "x = 1\n" + line(1))
        lib.write(os.path.join(repo, "untracked.py"), line(2))
        rc, rep = lib.run_json(["staged", repo])
        assert_eq((rc, rep["findings"]), (0, []), "nothing staged")


@test
def rename_does_not_re_report_old_key():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "a.py", "x = 1\n" + line(1), "key")
        git(repo, "mv", "a.py", "b.py")
        rc, rep = lib.run_json(["staged", repo])
        assert_eq((rc, rep["findings"]), (0, []), "renamed file")
        git(repo, "rm", "-q", "--cached", "b.py")
        rc, rep = lib.run_json(["staged", repo])
        assert_eq((rc, rep["findings"]), (0, []), "deleted file")


@test
def crlf_staged():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        git(repo, "config", "core.autocrlf", "false")
        with open(os.path.join(repo, "w.ini"), "wb") as f:
            f.write(("a\r\n" + line(1).replace("\n", "\r\n")).encode())
        git(repo, "add", "w.ini")
        rc, rep = lib.run_json(["staged", repo])
        assert_eq((rc, [f["line"] for f in rep["findings"]]), (1, [2]), "crlf")


@test
def submodule_is_skipped_and_counted():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "a.txt", "x\n", "init")
        head = git(repo, "rev-parse", "HEAD")
        git(repo, "update-index", "--add", "--cacheinfo",
            "160000,%s,vendor/sub" % head)
        rc, rep = lib.run_json(["staged", repo])
        assert_eq(rc, 0, "exit")
        assert_eq(rep["summary"]["skipped_other"], 1, "submodule counted")


@test
def linked_worktree_uses_its_own_index():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "a.txt", "x\n", "init")
        wt = os.path.join(d, "wt")
        git(repo, "worktree", "add", "-q", "-b", "side", wt)
        stage(wt, "k.py", line(1))
        rc, rep = lib.run_json(["staged", wt])
        assert_eq((rc, [f["path"] for f in rep["findings"]]), (1, ["k.py"]),
                  "worktree index")
        rc, rep = lib.run_json(["staged", repo])
        assert_eq((rc, rep["findings"]), (0, []), "main index untouched")


@test
def secret_never_printed_in_full():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        stage(repo, "k.py", line(1))
        p = lib.run(["staged", repo])
        assert_eq(p.returncode, 1, "exit")
        lib.assert_no_secret(p.stdout + p.stderr, [lib.make_key(RULE, 1)])


def big_index(repo, n):
    """A commit of n files built with fast-import, read into the index
    without a checkout (the work tree is irrelevant to `staged`)."""
    cmds = ["blob", "mark :1", "data 2", "x", ""]
    cmds += ["commit refs/heads/main", "committer A <a@b> 0 +0000",
             "data 4", "big", "", "M 100644 :1 keep.txt"]
    for i in range(n):
        cmds.append("M 100644 :1 d%02d/e%02d/f%d.txt" % (i % 100, i % 49, i))
    cmds += ["", ""]
    subprocess.run(["git", "-C", repo, "fast-import", "--quiet"],
                   input="\n".join(cmds).encode(), check=True)
    git(repo, "read-tree", "HEAD")


def best_time(args, runs=5):
    best = None
    for _ in range(runs):
        t = time.monotonic()
        p = lib.run(args)
        elapsed = time.monotonic() - t
        best = elapsed if best is None else min(best, elapsed)
    return best, p


@test
def one_file_change_in_100000_files():
    """A one-file change in a 100,000-file index is found, at its staged
    path and line. Its speed is measured by `make bench`, not asserted
    here: a timed test on a shared machine is a flaky test."""
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        big_index(repo, 100000)
        stage(repo, "d50/new.py", line(1))
        best, p = best_time(["staged", repo, "--format", "json"])
        assert_eq(p.returncode, 1, "exit")
        report = json.loads(p.stdout)
        assert_eq([(f["path"], f["line"]) for f in report["findings"]],
                  [("d50/new.py", 1)], "the staged key")
        print("# staged, one change in a 100000-file index: %.0f ms"
              % (best * 1000))


if __name__ == "__main__":
    lib.main()
