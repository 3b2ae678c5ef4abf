"""End-to-end tests of `keyleak history`: provenance, dedup, ranges,
shallow clones, bare repositories and linked worktrees, with real git."""
import json
import os
import subprocess

import lib
from lib import assert_eq, git, test

RULE = "anthropic-api-key"
RULE2 = "openai-project-key"


def key(seed=1, rule=RULE):
    return lib.make_key(rule, seed)


def line(k):
    return 'API_KEY = "%s"\n' % k


def by_path(report):
    return {f["path"]: f for f in report["findings"]}


def findings_for(report, secret_prefix):
    """Findings whose redacted secret starts like secret_prefix's key."""
    return [f for f in report["findings"]
            if f["secret_redacted"].startswith(secret_prefix[:6])]


@test
def key_added_then_deleted():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "README", "hello\n", "init")
        added = lib.commit_file(repo, "app/config.py", line(key()), "add key")
        git(repo, "rm", "-q", "app/config.py")
        git(repo, "commit", "-q", "-m", "remove key")
        removed = git(repo, "rev-parse", "HEAD")
        rc, rep = lib.run_json(["history", repo])
        assert_eq(rc, 1, "history exit")
        assert_eq(len(rep["findings"]), 1, "findings")
        prov = rep["findings"][0]["provenance"]
        assert_eq(prov["commit"], added, "introduced in")
        assert_eq(prov["removed_in"], removed, "removed in")
        assert_eq(prov["in_head"], False, "in_head")
        assert_eq(prov["author_email"], "ann@example.org", "author")
        assert_eq(prov["summary"], "add key", "summary")
        rc, rep = lib.run_json(["scan", repo])
        assert_eq((rc, rep["findings"]), (0, []), "scan of the work tree")
        p = lib.run(["history", repo])
        lib.assert_no_secret(p.stdout + p.stderr, [key()], "text output")


@test
def key_only_on_other_branch():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "README", "hello\n", "init")
        git(repo, "checkout", "-q", "-b", "feature")
        lib.commit_file(repo, "feature.txt", line(key()), "feature key")
        git(repo, "checkout", "-q", "main")
        rc, rep = lib.run_json(["history", repo, "HEAD"])
        assert_eq((rc, rep["findings"]), (0, []), "history of HEAD")
        # Without revisions, every ref (like gitleaks and TruffleHog).
        rc, rep = lib.run_json(["history", repo])
        assert_eq((rc, len(rep["findings"])), (1, 1), "history")
        rc, rep = lib.run_json(["history", repo, "--all"])
        assert_eq((rc, len(rep["findings"])), (1, 1), "history --all")
        rc, rep = lib.run_json(["history", repo, "feature"])
        assert_eq((rc, len(rep["findings"])), (1, 1), "history feature")
        rc, rep = lib.run_json(["audit", repo])
        assert_eq(rc, 1, "audit exit")
        assert_eq([f["path"] for f in rep["findings"]], ["feature.txt"], "audit")


@test
def renamed_file_reported_once():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        first = lib.commit_file(repo, "old/name.py", line(key()), "add key")
        git(repo, "mv", "old/name.py", "new_name.py")
        git(repo, "commit", "-q", "-m", "rename")
        rc, rep = lib.run_json(["history", repo])
        assert_eq((rc, len(rep["findings"])), (1, 1), "one finding")
        f = rep["findings"][0]
        assert_eq(f["path"], "old/name.py", "original path")
        assert_eq(f["provenance"]["commit"], first, "original introduction")
        assert_eq(f["provenance"]["in_head"], True, "still in HEAD (renamed)")
        assert_eq(f["provenance"]["removed_in"], None, "not removed")


@test
def key_introduced_by_merge():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "settings.py", "a = 1\nb = 2\n", "init")
        git(repo, "checkout", "-q", "-b", "feature")
        lib.commit_file(repo, "settings.py", "a = 1\nb = 3\n", "feature b")
        lib.commit_file(repo, "other.py", line(key(2)), "feature key")
        feature_key = git(repo, "rev-parse", "HEAD")
        git(repo, "checkout", "-q", "main")
        lib.commit_file(repo, "settings.py", "a = 1\nb = 4\n", "main b")
        p = subprocess.run(["git", "-C", repo, "merge", "-q", "feature"],
                           capture_output=True)
        assert p.returncode != 0, "expected a conflict"
        lib.write(os.path.join(repo, "settings.py"), "a = 1\n" + line(key(1)))
        git(repo, "add", "settings.py")
        git(repo, "commit", "-q", "--no-edit")
        merge = git(repo, "rev-parse", "HEAD")
        rc, rep = lib.run_json(["history", repo])
        assert_eq(rc, 1, "exit")
        paths = by_path(rep)
        assert_eq(sorted(paths), ["other.py", "settings.py"], "paths")
        assert_eq(paths["settings.py"]["provenance"]["commit"], merge,
                  "conflict resolution is attributed to the merge")
        assert_eq(paths["settings.py"]["provenance"]["commits"], [merge],
                  "merge commits")
        assert_eq(paths["other.py"]["provenance"]["commits"], [feature_key],
                  "a merged branch's key stays with its own commit")
        rc, rep = lib.run_json(["history", repo, "--range", "main~1..main"])
        assert_eq(sorted(by_path(rep)), ["other.py", "settings.py"],
                  "range over the merge sees the branch and the resolution")


@test
def crlf_line_endings():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        git(repo, "config", "core.autocrlf", "false")
        content = "first\r\nsecond\r\n" + line(key()).replace("\n", "\r\n")
        lib.write(os.path.join(repo, "win.ini"), content, mode="w")
        with open(os.path.join(repo, "win.ini"), "wb") as f:
            f.write(content.encode())
        git(repo, "add", "win.ini")
        git(repo, "commit", "-q", "-m", "crlf")
        rc, rep = lib.run_json(["history", repo])
        assert_eq((rc, len(rep["findings"])), (1, 1), "found")
        assert_eq(rep["findings"][0]["line"], 3, "line")
        rc, scan = lib.run_json(["scan", repo])
        assert_eq(scan["findings"][0]["fingerprint"],
                  rep["findings"][0]["fingerprint"], "same secret as scan")


@test
def same_key_in_fifty_commits():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        body = line(key())
        shas = []
        for i in range(50):
            body += "x%d = %d\n" % (i, i)
            shas.append(lib.commit_file(repo, "conf.py", body, "c%d" % i))
        rc, rep = lib.run_json(["history", repo])
        assert_eq((rc, len(rep["findings"])), (1, 1), "one finding")
        f = rep["findings"][0]
        assert_eq(f["provenance"]["commits"], shas, "every commit, oldest first")
        assert_eq(f["count"], 50, "count")
        assert_eq(f["provenance"]["commit"], shas[0], "introduced")
        assert_eq(f["provenance"]["in_head"], True, "in head")


@test
def range_reports_only_new_keys():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        base = lib.commit_file(repo, "a.py", line(key(1)), "old key")
        lib.commit_file(repo, "a.py", line(key(1)) + "z = 1\n", "touch")
        new = lib.commit_file(repo, "b.py", "x\n" + line(key(2)), "new key")
        for spec in ("%s..HEAD" % base, "%s...HEAD" % base):
            rc, rep = lib.run_json(["history", repo, "--range", spec])
            assert_eq(rc, 1, spec)
            assert_eq([(f["path"], f["line"]) for f in rep["findings"]],
                      [("b.py", 2)], spec)
            assert_eq(rep["findings"][0]["provenance"]["commit"], new, spec)
        rc, rep = lib.run_json(["history", repo, "HEAD~1..HEAD~1"])
        assert_eq((rc, rep["findings"]), (0, []), "empty range")
        rc, rep = lib.run_json(["history", repo, "^" + base, "HEAD"])
        assert_eq(len(rep["findings"]), 1, "^REV form")


def shallow_source(d):
    src = lib.new_repo(d, "src")
    lib.commit_file(src, "old.py", line(key(1)), "old key")
    for i in range(3):
        lib.commit_file(src, "n.txt", "%d\n" % i, "c%d" % i)
    lib.commit_file(src, "new.py", line(key(2)), "new key")
    return src


@test
def shallow_clone_warns_and_range_fails():
    with lib.TempDir() as d:
        src = shallow_source(d)
        clone = os.path.join(d, "clone")
        subprocess.run(["git", "clone", "-q", "--depth", "1",
                        "file://" + src, clone], check=True)
        p = lib.run(["history", clone, "--format", "json"])
        assert_eq(p.returncode, 1, "exit (findings)")
        assert b"shallow" in p.stderr, p.stderr
        import json
        rep = json.loads(p.stdout)
        assert_eq(rep["shallow"], True, "report says shallow")
        # A depth-1 clone holds every file of HEAD in its one commit.
        assert_eq(sorted(by_path(rep)), ["new.py", "old.py"], "paths")
        p = lib.run(["history", clone, "--range", "HEAD~3..HEAD"])
        assert_eq(p.returncode, 2, "range into the missing part")
        err = p.stderr.decode()
        assert "fetch-depth: 0" in err, err
        assert "HEAD~3" in err, err
        old = git(src, "rev-parse", "HEAD~3")
        p = lib.run(["history", clone, "--range", old + "..HEAD"])
        assert_eq(p.returncode, 2, "missing base by id")
        assert old in p.stderr.decode(), p.stderr


@test
def thread_counts_give_identical_json():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        for i in range(12):
            lib.commit_file(repo, "dir%d/f%d.py" % (i % 3, i),
                            line(key(i, RULE if i % 2 else RULE2)) * (1 + i % 2),
                            "c%d" % i)
            if i % 4 == 3:
                git(repo, "rm", "-q", "dir%d/f%d.py" % ((i - 1) % 3, i - 1))
                git(repo, "commit", "-q", "-m", "rm")
        outs = []
        for n in ("1", "4"):
            p = lib.run(["history", repo, "--threads", n, "--format", "json"])
            assert_eq(p.returncode, 1, "exit")
            outs.append(p.stdout)
        assert outs[0] == outs[1], "JSON differs between 1 and 4 threads"
        assert b'"findings": []' not in outs[0]


@test
def bare_mirror_clone():
    with lib.TempDir() as d:
        src = lib.new_repo(d, "src")
        lib.commit_file(src, "k.py", line(key()), "key")
        mirror = os.path.join(d, "mirror.git")
        subprocess.run(["git", "clone", "-q", "--mirror", src, mirror],
                       check=True)
        rc, rep = lib.run_json(["history", mirror])
        assert_eq((rc, [f["path"] for f in rep["findings"]]), (1, ["k.py"]),
                  "history of a bare mirror")
        rc, rep = lib.run_json(["audit", mirror])
        assert_eq((rc, [f["path"] for f in rep["findings"]]), (1, ["k.py"]),
                  "audit of a bare mirror")


@test
def linked_worktree_and_subdirectory():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "sub/readme", "hi\n", "init")
        wt = os.path.join(d, "wt")
        git(repo, "worktree", "add", "-q", "-b", "side", wt)
        lib.commit_file(wt, "side.py", line(key()), "side key")
        rc, rep = lib.run_json(["history", wt, "HEAD"])
        assert_eq((rc, [f["path"] for f in rep["findings"]]), (1, ["side.py"]),
                  "history in a linked worktree follows its HEAD")
        rc, rep = lib.run_json(["history", repo, "HEAD"])
        assert_eq((rc, rep["findings"]), (0, []), "main worktree's HEAD")
        rc, rep = lib.run_json(["history", repo])
        assert_eq((rc, [f["path"] for f in rep["findings"]]), (1, ["side.py"]),
                  "every ref by default, the linked worktree's branch too")
        rc, rep = lib.run_json(["history", os.path.join(repo, "sub"), "HEAD"])
        assert_eq(rc, 0, "from a subdirectory")


@test
def lfs_pointer_is_skipped():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        pointer = ("version https://git-lfs.github.com/spec/v1\n"
                   "oid sha256:" + "ab" * 32 + "\nsize 12345\n")
        lib.commit_file(repo, "model.bin", pointer, "lfs")
        rc, rep = lib.run_json(["history", repo])
        assert_eq(rc, 0, "exit")
        assert_eq(rep["summary"]["skipped_lfs"], 1, "skipped_lfs")


@test
def blob_skipped_for_size_is_said():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        key = lib.make_key("groq-api-key", 3)
        lib.commit_file(repo, "big.txt", "x" * 5000 + key + "\n", "big")
        p = lib.run(["history", repo, "--max-file-size", "4K", "--format", "json"])
        rep = json.loads(p.stdout)
        assert_eq(rep["summary"]["skipped_too_large"], 1, "counted")
        assert_eq([(n["kind"], n["path"]) for n in rep["notices"]],
                  [("warning", "big.txt")], "in the report")
        assert b"big.txt" in p.stderr and b"max-file-size" in p.stderr, p.stderr


@test
def blobs_scanned_once():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "a.txt", "same\n", "a")
        for i in range(5):
            lib.commit_file(repo, "n%d.txt" % i, "%d\n" % i, "n")
        rc, rep = lib.run_json(["history", repo])
        # a.txt once plus five n*.txt, though a.txt is in all six commits.
        assert_eq(rep["summary"]["files_scanned"], 6, "files scanned")
        assert_eq(rep["summary"]["commits_scanned"], 6, "commits")


@test
def unknown_revision_is_an_error():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        lib.commit_file(repo, "a.txt", "x\n", "a")
        p = lib.run(["history", repo, "no-such-branch"])
        assert_eq(p.returncode, 2, "exit")
        assert b"no-such-branch" in p.stderr, p.stderr


@test
def empty_repository_is_clean():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        rc, rep = lib.run_json(["history", repo])
        assert_eq((rc, rep["findings"]), (0, []), "unborn HEAD")


if __name__ == "__main__":
    lib.main()
