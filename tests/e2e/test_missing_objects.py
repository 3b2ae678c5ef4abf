"""Repositories with missing objects: a real partial clone
(`git clone --filter=blob:none` / `tree:0` over file:// from a source with
uploadpack.allowFilter), a shallow partial clone, and a repository with a
deleted object. keyleak must say it once (how many, where, why, what to
do), not once per object, and with --fetch-missing fetch the objects
through git and scan them."""
import json
import os
import shutil

import lib
from lib import assert_eq, git, test

RULE = "anthropic-api-key"
KEY = lib.make_key(RULE, 31)


def source(d):
    """Three commits; the key arrives in the second, in a subdirectory."""
    repo = lib.new_repo(d, "source")
    lib.commit_file(repo, "README", "hello\n", "one")
    lib.commit_file(repo, "app/settings.py", "KEY = '%s'\n" % KEY, "two")
    lib.commit_file(repo, "notes.txt", "more\n", "three")
    git(repo, "config", "uploadpack.allowFilter", "true")
    return repo


def clone(d, src, name, *args):
    dst = os.path.join(d, name)
    git(d, "clone", "-q", "--no-checkout", *args, "file://" + src, dst)
    return dst


def missing_notices(report):
    return [n for n in report["notices"]
            if n["kind"] == "error"
            and "missing from the repository" in n["message"]]


def assert_one_summary(code, report, stderr, *words):
    assert_eq(code, 2, "exit status with missing objects")
    assert report["incomplete"], "not marked incomplete"
    notes = missing_notices(report)
    assert_eq(len(notes), 1, "missing-object notices: %r" % report["notices"])
    msg = notes[0]["message"]
    for w in words:
        assert w in msg, "%r not in %r" % (w, msg)
    errors = [l for l in stderr.splitlines() if l.startswith("keyleak: error")]
    assert_eq(len(errors), 1, "stderr error lines: %r" % errors)
    assert "not found" not in stderr, "raw libgit2 lines: %s" % stderr
    return msg


def run_json(args):
    p = lib.run(args + ["--format", "json"])
    return p.returncode, json.loads(p.stdout), p.stderr.decode()


def partial(d, *filt):
    """(source, its partial clone): blob:none unless filt says."""
    src = source(d)
    return src, clone(d, src, "part", *(filt or ("--filter=blob:none",)))


@test
def partial_clone_gets_one_summary():
    with lib.TempDir() as d:
        src, part = partial(d)
        code, rep, err = run_json(["history", part, "--all"])
        msg = assert_one_summary(code, rep, err, "partial clone", "'origin'",
                                 "--fetch-missing", "git fetch --refetch",
                                 "--allow-incomplete", "3 blobs")
        assert_eq(rep["summary"]["missing_objects"], 3, "summary count")
        paths = sorted(m["path"] for m in rep["missing_objects"])
        assert_eq(paths, ["README", "app/settings.py", "notes.txt"], "paths")
        by_path = {m["path"]: m for m in rep["missing_objects"]}
        want = git(src, "rev-parse", "HEAD~1")
        assert_eq(by_path["app/settings.py"]["commit"], want, "commit")
        assert_eq(by_path["app/settings.py"]["id"],
                  git(src, "rev-parse", "HEAD:app/settings.py"), "blob id")
        assert "app/settings.py in commit %s" % want[:12] in msg, msg
        assert_eq(rep["findings"], [], "findings from absent blobs")
        p = lib.run(["history", part, "--all", "--allow-incomplete"])
        assert_eq(p.returncode, 0, "exit status with --allow-incomplete")


@test
def fetch_missing_scans_a_partial_clone():
    with lib.TempDir() as d:
        src, part = partial(d)
        code, rep, err = run_json(["history", part, "--all", "--fetch-missing"])
        assert_eq(code, 1, "exit status: the key is found (%s)" % err)
        assert not rep["incomplete"], rep["notices"]
        assert_eq(rep["summary"]["missing_objects"], 0, "nothing missing")
        assert_eq([(f["rule_id"], f["path"]) for f in rep["findings"]],
                  [(RULE, "app/settings.py")], "findings")
        assert_eq(rep["findings"][0]["provenance"]["commit"],
                  git(src, "rev-parse", "HEAD~1"), "introducing commit")
        lib.assert_no_secret(err, [KEY], "stderr")


@test
def fetch_missing_in_a_range_and_an_audit():
    with lib.TempDir() as d:
        src, part = partial(d)
        code, rep, err = run_json(["history", part, "--range", "HEAD~2..HEAD"])
        assert_one_summary(code, rep, err, "partial clone")
        code, rep, err = run_json(["history", part, "--range", "HEAD~2..HEAD",
                                   "--fetch-missing"])
        assert_eq(code, 1, "range with --fetch-missing (%s)" % err)
        assert_eq([f["path"] for f in rep["findings"]], ["app/settings.py"],
                  "range findings")
        part2 = clone(d, src, "part2", "--filter=blob:none")
        code, rep, err = run_json(["audit", part2, "--fetch-missing"])
        assert_eq(code, 1, "audit with --fetch-missing (%s)" % err)
        assert not rep["incomplete"], rep["notices"]


@test
def tree_filter_clone_fetches_trees_too():
    with lib.TempDir() as d:
        src = source(d)
        part = clone(d, src, "part", "--filter=tree:0")
        code, rep, err = run_json(["history", part])
        assert_one_summary(code, rep, err, "partial clone", "tree")
        code, rep, err = run_json(["history", part, "--fetch-missing"])
        assert_eq(code, 1, "tree:0 with --fetch-missing (%s)" % err)
        assert_eq([f["path"] for f in rep["findings"]], ["app/settings.py"], "")


@test
def shallow_partial_clone_says_both():
    with lib.TempDir() as d:
        src = source(d)
        part = clone(d, src, "part", "--filter=blob:none", "--depth", "2")
        code, rep, err = run_json(["history", part])
        assert_one_summary(code, rep, err, "partial clone", "shallow clone",
                           "fetch-depth: 0")
        assert rep["shallow"], "report not marked shallow"
        assert_eq(rep["summary"]["missing_objects"], 3, "count")


@test
def deleted_object_is_not_a_partial_clone():
    with lib.TempDir() as d:
        src = source(d)
        blob = git(src, "rev-parse", "HEAD:notes.txt")
        os.unlink(os.path.join(src, ".git", "objects", blob[:2], blob[2:]))
        code, rep, err = run_json(["history", src])
        msg = assert_one_summary(code, rep, err, "not a partial clone",
                                 "git fsck", blob, "notes.txt")
        assert "--fetch-missing" not in msg, msg
        assert_eq([f["path"] for f in rep["findings"]], ["app/settings.py"],
                  "the rest is scanned")


@test
def fetch_missing_with_the_remote_gone_is_an_error():
    with lib.TempDir() as d:
        src, part = partial(d)
        shutil.rmtree(src)
        code, rep, err = run_json(["history", part, "--fetch-missing"])
        assert_eq(code, 2, "exit status")
        fetch = [n for n in rep["notices"] if "--fetch-missing" in n["message"]
                 and "failed" in n["message"]]
        assert fetch, "no notice says the fetch failed: %r" % rep["notices"]
        assert "'origin'" in fetch[0]["message"], fetch[0]
        assert_eq(len(missing_notices(rep)), 1, "one summary")


@test
def verbose_lists_every_missing_object():
    with lib.TempDir() as d:
        src, part = partial(d)
        code, rep, _ = run_json(["history", part, "--verbose"])
        skips = [n for n in rep["notices"] if n["kind"] == "skipped"
                 and n["message"].startswith("missing blob")]
        assert_eq(sorted(n["path"] for n in skips),
                  ["README", "app/settings.py", "notes.txt"], "skip notices")


if __name__ == "__main__":
    lib.main()
