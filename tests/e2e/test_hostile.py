"""Hostile work trees: unreadable files, FIFOs, devices, symlink loops and
escapes, deep and wide trees, huge sparse files and file names with
newlines, quotes, backslashes, invalid UTF-8 and leading dashes. Each scan
must finish (a hang is a timeout failure), name the odd file on stderr,
keep scanning the rest, exit as documented, keep JSON/SARIF valid and
paths exact, and never print a planted secret in full."""
import os
import stat
import subprocess
import time

import hostile
import lib
from hostile import Scan
from lib import assert_eq, test

KEY_RULE = "groq-api-key"


def plant(root, rel="found/key.txt", seed=1):
    """A file with a key next to the hostile entries, to prove the scan
    went on; returns the key."""
    key = lib.make_key(KEY_RULE, seed)
    lib.write(os.path.join(root, rel), "token = %s\n" % key)
    return key


def replace_tracked(root, is_repo, names):
    """In a repository, commit names as regular files first, so git lists
    them and the scan meets them when they have become something else (git
    itself never lists an untracked FIFO or device)."""
    if not is_repo:
        return
    for name in names:
        lib.write(os.path.join(root, name), "placeholder\n")
    lib.git(root, "add", "-A")
    lib.git(root, "commit", "-q", "-m", "regular files first")
    for name in names:
        os.unlink(os.path.join(root, name))


def both_layouts(fn):
    """Run fn(root, is_repo) in a plain directory and in a git work tree."""
    with lib.TempDir() as tmp:
        plain = os.path.join(tmp, "plain")
        os.makedirs(plain)
        fn(plain, False)
        fn(lib.new_repo(tmp), True)


@test
def unreadable_file_is_reported_and_scan_goes_on():
    prefix = hostile.drop_privileges()
    if prefix is None:
        raise lib.Skip("running as root without setpriv/runuser: chmod 000 "
                       "does not block root")

    def check(root, is_repo):
        key = plant(root)
        secret_path = os.path.join(root, "locked.txt")
        lib.write(secret_path, "x = %s\n" % lib.make_key(KEY_RULE, 2))
        if is_repo:
            lib.git(root, "add", "-A")
        os.chmod(secret_path, 0)
        # nobody must reach the tree: mkdtemp makes its top 0700.
        for d in (os.path.dirname(root), root):
            os.chmod(d, 0o755)
        run = hostile.runner_as(prefix)
        s = Scan(["scan", root], secrets=[key], runner=run)
        assert_eq(s.code, 2, "exit status of an incomplete scan")
        s.assert_stderr_names("locked.txt", "cannot read")
        assert_eq(s.summary["unreadable"], 1, "unreadable count")
        assert s.report["incomplete"], "report not marked incomplete"
        assert_eq(s.paths(), [b"found/key.txt"], "findings besides it")
        s = Scan(["scan", "--allow-incomplete", root], secrets=[key], runner=run)
        assert_eq(s.code, 1, "exit status with --allow-incomplete")

    both_layouts(check)


@test
def fifo_does_not_hang():
    def check(root, is_repo):
        key = plant(root)
        replace_tracked(root, is_repo, ["pipe", "-pipe2"])
        os.mkfifo(os.path.join(root, "pipe"))
        os.mkfifo(os.path.join(root, "-pipe2"))
        start = time.time()
        s = Scan(["scan", "--verbose", root], secrets=[key], timeout=60)
        assert time.time() - start < 60, "too slow"
        assert_eq(s.code, 1, "exit status")
        assert_eq(s.paths(), [b"found/key.txt"], "findings")
        s.assert_stderr_names("pipe", "skipped")
        assert s.summary["skipped_other"] >= 2, "FIFOs not counted as skipped"

    both_layouts(check)


@test
def fifo_given_as_the_path_does_not_hang():
    with lib.TempDir() as tmp:
        fifo = os.path.join(tmp, "pipe")
        os.mkfifo(fifo)
        s = Scan(["scan", "--verbose", fifo], timeout=60)
        assert s.code in (0, 2), "exit status %d" % s.code
        assert_eq(s.findings, [], "findings")
        s.assert_stderr_names("pipe")


@test
def device_files_are_skipped():
    def check(root, is_repo):
        key = plant(root)
        replace_tracked(root, is_repo, ["zero", "random", "null-dev"])
        os.symlink("/dev/zero", os.path.join(root, "zero"))
        os.symlink("/dev/urandom", os.path.join(root, "random"))
        made_node = False
        if os.geteuid() == 0:
            try:
                os.mknod(os.path.join(root, "null-dev"),
                         0o644 | stat.S_IFCHR, os.makedev(1, 3))
                made_node = True
            except OSError:
                pass  # containers may forbid mknod
        s = Scan(["scan", "--verbose", root], secrets=[key], timeout=60)
        assert_eq(s.code, 1, "exit status")
        assert_eq(s.paths(), [b"found/key.txt"], "findings")
        if made_node:
            s.assert_stderr_names("null-dev", "skipped")
        s.assert_stderr_names("zero", "skipped")
        s.assert_stderr_names("random", "skipped")

    both_layouts(check)
    with lib.TempDir():
        s = Scan(["scan", "--verbose", "/dev/zero"], timeout=60)
        assert s.code in (0, 2), "exit status %d" % s.code
        s.assert_stderr_names("/dev/zero")


@test
def symlink_loops_and_escapes_are_not_followed():
    with lib.TempDir() as tmp:
        outside = os.path.join(tmp, "outside")
        outside_key = plant(outside, "secret.txt", seed=7)

        def check(root, is_repo):
            key = plant(root)
            os.symlink("loop-b", os.path.join(root, "loop-a"))
            os.symlink("loop-a", os.path.join(root, "loop-b"))
            os.symlink(".", os.path.join(root, "self"))
            os.makedirs(os.path.join(root, "sub"))
            os.symlink("..", os.path.join(root, "sub", "up"))
            os.symlink(os.path.join(outside, "secret.txt"),
                       os.path.join(root, "escape.txt"))
            os.symlink(outside, os.path.join(root, "escape-dir"))
            os.symlink("/", os.path.join(root, "root"))
            if is_repo:
                lib.git(root, "add", "-A")
            s = Scan(["scan", root], secrets=[key, outside_key], timeout=60)
            assert_eq(s.code, 1, "exit status")
            assert_eq(s.paths(), [b"found/key.txt"], "findings (nothing "
                      "read through a symlink)")

        both_layouts(check)


def make_deep(root, depth, name, content):
    """root/d/d/.../name, depth directories deep, without recursion (the
    path is longer than Python's recursive helpers like)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        os.mkdir("d", dir_fd=fd)
        sub = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = sub
    out = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(out, content.encode())
    os.close(out)
    os.close(fd)
    return "/".join(["d"] * depth) + "/" + name


@test
def directory_1000_levels_deep():
    def check(root, is_repo):
        key = lib.make_key(KEY_RULE, 3)
        rel = make_deep(root, 1000, "deep.txt", "k = %s\n" % key)
        try:
            if is_repo:
                lib.git(root, "add", "-A")
            s = Scan(["scan", root], secrets=[key], timeout=120)
            assert_eq(s.paths(), [rel.encode()], "deep path exact")
            assert_eq(s.uris(), [rel.encode()], "SARIF uri")
            if is_repo:
                # libgit2 lists no untracked files over 100 levels deep:
                # tracked ones are scanned, the rest is reported.
                assert_eq(s.code, 2, "exit status (incomplete)")
                s.assert_stderr_names(root, "cannot list untracked files")
                s = Scan(["scan", "--allow-incomplete", root],
                         secrets=[key], timeout=120)
            assert_eq(s.code, 1, "exit status")
        finally:
            # shutil.rmtree recurses once per level
            subprocess.run(["rm", "-rf", os.path.join(root, "d")])

    both_layouts(check)


@test
def hundred_thousand_empty_files():
    with lib.TempDir() as tmp:
        root = os.path.join(tmp, "wide")
        for d in range(100):
            sub = os.path.join(root, "d%02d" % d)
            os.makedirs(sub)
            for i in range(1000):
                open(os.path.join(sub, "f%03d" % i), "w").close()
        key = plant(root, "d50/key.txt")
        start = time.time()
        s = Scan(["scan", root], secrets=[key], timeout=300)
        elapsed = time.time() - start
        assert_eq(s.code, 1, "exit status")
        assert_eq(s.summary["files_scanned"], 100001, "files scanned")
        assert_eq(s.paths(), [b"d50/key.txt"], "findings")
        # three formats: generous for sanitizer builds on a slow machine
        assert elapsed < 280, "100,000 empty files took %.0fs" % elapsed


@test
def sparse_4gib_file_is_skipped_by_size_not_read():
    def check(root, is_repo):
        key = plant(root)
        big = os.path.join(root, "huge.bin")
        with open(big, "wb") as f:
            f.truncate(4 << 30)
        start = time.time()
        s = Scan(["scan", root], secrets=[key], timeout=60)
        assert time.time() - start < 60, "read the sparse file?"
        assert_eq(s.code, 1, "exit status")
        assert_eq(s.summary["skipped_too_large"], 1, "skipped_too_large")
        assert_eq(s.paths(), [b"found/key.txt"], "findings")
        s.assert_stderr_names("huge.bin", "skipped")

    both_layouts(check)


HOSTILE_NAMES = [
    b"new\nline.txt",
    b"quote\"d'.txt",
    b"back\\slash.txt",
    b"bad\xff\xfeutf8.txt",
    b"-rf",
    b"--help",
    b"tab\tand space %20.txt",
    b"\xe2\x80\xaertl.txt",
    b"esc\x1b[31mred.txt",
]


@test
def hostile_file_names_are_reported_exactly():
    def check(root, is_repo):
        keys = []
        for n, name in enumerate(HOSTILE_NAMES):
            key = lib.make_key(KEY_RULE, 100 + n)
            keys.append(key)
            with open(os.path.join(root.encode(), name), "w") as f:
                f.write("k = %s\n" % key)
        if is_repo:
            lib.git(root, "add", "-A")
        s = Scan(["scan", root], secrets=keys, timeout=60)
        assert_eq(s.code, 1, "exit status")
        assert_eq(s.paths(), sorted(HOSTILE_NAMES), "JSON paths exact")
        assert_eq(s.uris(), sorted(HOSTILE_NAMES), "SARIF uris exact")
        assert b"\x1b" not in s.text, "raw escape in the text report"

    both_layouts(check)


@test
def leading_dash_path_operand():
    with lib.TempDir() as tmp:
        key = plant(tmp, "-dir/k.txt")
        s = Scan(["scan", "./-dir"], secrets=[key], cwd=tmp, timeout=60)
        assert_eq(s.code, 1, "exit status")
        assert_eq(s.paths(), [b"k.txt"], "findings")
        s = Scan(["scan", "--", "-dir"], secrets=[key], cwd=tmp, timeout=60)
        assert_eq(s.code, 1, "exit status after --")


if __name__ == "__main__":
    lib.main()
