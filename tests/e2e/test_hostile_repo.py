"""Corrupt repository data: a truncated loose object, a corrupt packfile, a
missing object referenced by a tree, a ref pointing nowhere. `history` and
`audit` scan what can be read, name what could not on stderr and in the
report, and exit 2 because the result is incomplete (0/1 with
--allow-incomplete). None may hang."""
import os
import subprocess

import lib
from hostile import Scan
from lib import assert_eq, test

KEY_RULE = "groq-api-key"
KEYS = [lib.make_key(KEY_RULE, 50 + n) for n in range(3)]


def three_commits(base, name):
    """good.txt, victim.txt, later.txt, one commit each, one key each."""
    repo = lib.new_repo(base, name)
    for path, key in zip(["good.txt", "victim.txt", "later.txt"], KEYS):
        lib.commit_file(repo, path, "k = %s\n" % key, "add " + path)
    return repo


def loose_path(repo, oid):
    return os.path.join(repo, ".git", "objects", oid[:2], oid[2:])


def truncate(path):
    os.chmod(path, 0o644)
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[:len(data) // 2])


def check_incomplete(args, bad_name, want_paths, words=()):
    s = Scan(args, secrets=KEYS, timeout=60)
    assert_eq(s.code, 2, "exit status of an incomplete scan")
    assert s.report["incomplete"], "report not marked incomplete"
    s.assert_stderr_names(bad_name, *words)
    errors = [n for n in s.notices("error") if bad_name in (n["path"] or "") + n["message"]]
    assert errors, "no error notice names %s: %r" % (bad_name, s.notices())
    assert_eq(sorted(set(f["path"] for f in s.findings)), want_paths,
              "what could be read was scanned")
    s = Scan([args[0], "--allow-incomplete"] + args[1:], secrets=KEYS, timeout=60)
    assert_eq(s.code, 1, "exit status with --allow-incomplete")


@test
def truncated_loose_blob():
    with lib.TempDir() as tmp:
        repo = three_commits(tmp, "repo")
        oid = lib.git(repo, "rev-parse", "HEAD:victim.txt")
        truncate(loose_path(repo, oid))
        check_incomplete(["history", repo], oid, ["good.txt", "later.txt"])
        check_incomplete(["audit", repo], oid, ["good.txt", "later.txt", "victim.txt"])


@test
def truncated_loose_tree():
    with lib.TempDir() as tmp:
        repo = three_commits(tmp, "repo")
        oid = lib.git(repo, "rev-parse", "HEAD~1^{tree}")
        truncate(loose_path(repo, oid))
        s = Scan(["history", repo], secrets=KEYS, timeout=60)
        assert_eq(s.code, 2, "exit status")
        s.assert_stderr_names(oid)
        assert "good.txt" in [f["path"] for f in s.findings], "rest scanned"


@test
def corrupt_packfile():
    with lib.TempDir() as tmp:
        repo = three_commits(tmp, "repo")
        oid = lib.git(repo, "rev-parse", "HEAD:victim.txt")
        packdir = os.path.join(repo, ".git", "objects", "pack")
        name = subprocess.run(
            ["git", "-C", repo, "pack-objects", "-q", os.path.join(packdir, "pack")],
            input=(oid + "\n").encode(), capture_output=True, check=True,
        ).stdout.decode().strip()
        os.unlink(loose_path(repo, oid))
        pack = os.path.join(packdir, "pack-%s.pack" % name)
        os.chmod(pack, 0o644)
        with open(pack, "rb") as f:
            data = bytearray(f.read())
        for i in range(16, len(data) - 24):  # the object, not header/trailer
            data[i] ^= 0x5A
        with open(pack, "wb") as f:
            f.write(bytes(data))
        check_incomplete(["history", repo], oid, ["good.txt", "later.txt"])


@test
def missing_object_referenced_by_a_tree():
    with lib.TempDir() as tmp:
        repo = three_commits(tmp, "repo")
        oid = lib.git(repo, "rev-parse", "HEAD:victim.txt")
        os.unlink(loose_path(repo, oid))
        check_incomplete(["history", repo], oid, ["good.txt", "later.txt"])


@test
def ref_pointing_nowhere():
    with lib.TempDir() as tmp:
        repo = three_commits(tmp, "repo")
        lib.write(os.path.join(repo, ".git", "refs", "heads", "dangling"),
                  "0123456789abcdef0123456789abcdef01234567\n")
        want = ["good.txt", "later.txt", "victim.txt"]
        check_incomplete(["history", "--all", repo], "refs/heads/dangling", want)
        check_incomplete(["audit", repo], "refs/heads/dangling", want)
        # HEAD alone does not need the broken ref
        s = Scan(["history", repo, "HEAD"], secrets=KEYS, timeout=60)
        assert_eq(s.code, 1, "exit status of a HEAD-only scan")


if __name__ == "__main__":
    lib.main()
