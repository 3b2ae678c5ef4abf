"""Determinism of the parallel history passes: the tree walk, the blob
scan, provenance and range scans split the commits between threads, and
the report must be the same byte for byte at 1, 2 and 8 threads. The
repository (built with git fast-import) is long enough that every pass
really splits: a few hundred commits, a branch merged back, renames,
removals, a submodule entry, a .env file and keys of several rules."""
import json
import os
import pty
import subprocess

import lib
from lib import test, assert_eq

MAIN = 320
BRANCH = 90
RULES = ["groq-api-key", "openai-project-key", "anthropic-api-key",
         "huggingface-access-token", "google-api-key", "xai-api-key"]


class Stream:
    def __init__(self):
        self.parts = []
        self.mark = 0
        self.t = 1700000000

    def blob_inline(self, path, data):
        self.parts.append(b"M 100644 inline %s\ndata %d\n%s\n" % (
            path.encode(), len(data), data))

    def commit(self, ref, msg, changes, parent=None, merge=None):
        self.mark += 1
        self.t += 60
        who = b"Ann Author <ann@example.org> %d +0000" % self.t
        self.parts.append(b"commit refs/heads/%s\nmark :%d\nauthor %s\n"
                          b"committer %s\ndata %d\n%s\n" % (
                              ref.encode(), self.mark, who, who,
                              len(msg), msg.encode()))
        if parent:
            self.parts.append(b"from :%d\n" % parent)
        if merge:
            self.parts.append(b"merge :%d\n" % merge)
        for kind, path, data in changes:
            if kind == "M":
                self.blob_inline(path, data)
            elif kind == "D":
                self.parts.append(b"D %s\n" % path.encode())
            elif kind == "R":
                self.parts.append(b"R %s %s\n" % (path.encode(), data))
            elif kind == "G":  # a submodule (gitlink) entry
                self.parts.append(b"M 160000 %s %s\n" % (data, path.encode()))
        self.parts.append(b"\n")
        return self.mark


def build(repo):
    """Returns the number of distinct keys planted."""
    s = Stream()
    files = {"src/m%d/f%d.py" % (i % 7, i): b"x = %d\n" % i for i in range(60)}
    s.commit("main", "import", [("M", p, d) for p, d in sorted(files.items())])
    keys = 0
    fork = merge_at = first_key_file = None
    for n in range(1, MAIN + 1):
        j = (n * 13) % 60
        path = "src/m%d/f%d.py" % (j % 7, j)
        files[path] = files.get(path, b"") + b"y%d = %d  # rev\n" % (n, n)
        changes = [("M", path, files[path])]
        if n % 41 == 0:
            k = lib.make_key(RULES[keys % len(RULES)], 700 + keys)
            keys += 1
            files[path] += b'KEY = "%s"\n' % k.encode()
            changes = [("M", path, files[path])]
            if keys == 1:
                first_key_file = (path, files[path])
        if n == 77 and path != "src/m0/f0.py":
            changes.append(("R", "src/m0/f0.py", b"src/moved/f0.py"))
            files.pop("src/m0/f0.py")
        if n == 99:
            changes.append(("M", "config/.env", b"A=1\n"))
        if n == 130:
            changes.append(("G", "vendor/lib", b"1" * 40))
        if n == 300:  # the same blob again: a copy, and a revert
            changes.append(("M", "copies/again.py", first_key_file[1]))
        if n == 310:
            files[first_key_file[0]] = first_key_file[1]
            changes.append(("M", first_key_file[0], first_key_file[1]))
        if n == 170:  # a key removed again
            victim = sorted(p for p in files if b"KEY" in files[p])[0]
            files[victim] = b"".join(l for l in files[victim].splitlines(True)
                                     if b"KEY" not in l)
            changes.append(("M", victim, files[victim]))
        mark = s.commit("main", "edit %d" % n, changes)
        if n == 100:
            fork = mark
        merge_at = mark
    parent = fork
    for n in range(1, BRANCH + 1):
        path = "feature/g%d.txt" % (n % 9)
        data = b"line %d\n" % n
        if n % 30 == 0:
            data += b"token: %s\n" % lib.make_key(
                RULES[keys % len(RULES)], 700 + keys).encode()
            keys += 1
        parent = s.commit("feature", "feature %d" % n, [("M", path, data)],
                          parent=parent)
    s.commit("main", "merge feature", [], parent=merge_at, merge=parent)
    p = subprocess.run(["git", "-C", repo, "fast-import", "--quiet"],
                       input=b"".join(s.parts), capture_output=True)
    assert p.returncode == 0, p.stderr
    lib.git(repo, "reset", "-q", "--hard", "main")
    return keys


def same_at_every_thread_count(repo, args):
    outs = {}
    for j in ("1", "2", "8"):
        p = lib.run(args + ["-j", j, "--format", "json", "-q", repo])
        assert p.returncode in (0, 1), p.stderr
        outs[j] = p.stdout
    assert_eq(outs["2"] == outs["1"], True, "%s: -j2 equals -j1" % args)
    assert_eq(outs["8"] == outs["1"], True, "%s: -j8 equals -j1" % args)
    return json.loads(outs["1"])


@test
def history_all_is_the_same_at_1_2_and_8_threads():
    with lib.TempDir() as tmp:
        repo = lib.new_repo(tmp)
        keys = build(repo)
        report = same_at_every_thread_count(repo, ["history", "--all"])
        secrets = {f.get("fingerprint") for f in report["findings"]
                   if f["rule_id"] in RULES}
        # each key once, plus the renamed file's copy of one of them
        assert len(secrets) >= keys, (len(secrets), keys)
        assert any(f["rule_id"] == "dotenv-committed"
                   for f in report["findings"]), "no .env finding"
        assert any(f.get("provenance", {}).get("removed_in")
                   for f in report["findings"]), "no removal found"
        assert_eq(report["summary"]["commits_scanned"], MAIN + BRANCH + 2,
                  "commits")


@test
def range_scan_is_the_same_at_1_2_and_8_threads():
    with lib.TempDir() as tmp:
        repo = lib.new_repo(tmp)
        build(repo)
        report = same_at_every_thread_count(
            repo, ["history", "--range", "main~200..main"])
        assert report["findings"], "the range adds keys"


@test
def audit_is_the_same_at_1_2_and_8_threads():
    with lib.TempDir() as tmp:
        repo = lib.new_repo(tmp)
        build(repo)
        report = same_at_every_thread_count(repo, ["audit"])
        assert report["findings"], "audit finds the keys"


def run_on_terminal(args):
    """keyleak with stderr on a pseudo-terminal (progress lines drawn),
    stdout on a pipe; returns (exit code, stdout, what the terminal got)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([lib.KEYLEAK] + args, stdout=subprocess.PIPE,
                         stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = p.stdout.read()
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    return p.wait(timeout=600), out, err


@test
def progress_on_a_terminal_leaves_the_report_alone():
    """On a terminal the parent draws the worker processes' progress (it
    polls them instead of blocking); the report is the same as without."""
    with lib.TempDir() as tmp:
        repo = lib.new_repo(tmp)
        build(repo)
        args = ["history", "--all", "-j", "2", "--format", "json", repo]
        plain = lib.run(args)
        rc, out, err = run_on_terminal(args)
        assert_eq(rc, plain.returncode, "exit code")
        assert_eq(out == plain.stdout, True, "same JSON as without a terminal")
        for label in (b"walking commits: ", b"scanning blobs: "):
            assert label in err, "no %r line in %r" % (label, err[-500:])


if __name__ == "__main__":
    lib.main()
