"""Hostile content and output: a 100 MB single-line file, a million
near-matches, NUL bytes, UTF-16 text; --output that is complete or absent
and a clear error for a missing directory."""
import json
import os
import time

import lib
from hostile import Scan
from lib import assert_eq, test

KEY_RULE = "groq-api-key"


@test
def hundred_mb_single_line_finds_the_key_in_the_middle():
    with lib.TempDir() as tmp:
        key = lib.make_key(KEY_RULE, 1)
        half = 50 * 1000 * 1000
        chunk = 'var a=function(b){return b+1};'
        body = (chunk * (half // len(chunk) + 1))[:half]
        with open(os.path.join(tmp, "bundle.min.js"), "w") as f:
            f.write(body)
            f.write('k="%s";' % key)
            f.write(body)
        start = time.time()
        s = Scan(["scan", "--max-file-size", "128M", tmp], secrets=[key],
                 timeout=240)
        assert_eq(s.code, 1, "exit status")
        assert_eq(len(s.findings), 1, "findings")
        f = s.findings[0]
        assert_eq((f["path"], f["line"], f["column"]),
                  ("bundle.min.js", 1, half + 4), "location")
        assert time.time() - start < 230, "too slow"
        # a lower limit skips it, by size, with a warning
        s = Scan(["scan", "--max-file-size", "64M", tmp], secrets=[key],
                 timeout=120)
        assert_eq(s.code, 0, "exit status when skipped")
        assert_eq(s.summary["skipped_too_large"], 1, "skipped_too_large")
        s.assert_stderr_names("bundle.min.js", "max-file-size")


@test
def a_million_near_matches_are_fast():
    with lib.TempDir() as tmp:
        key = lib.make_key(KEY_RULE, 2)
        lib.write(os.path.join(tmp, "sk.txt"), "sk-" * 1000000 + "\n")
        lib.write(os.path.join(tmp, "mixed.txt"),
                  "sk-proj-" * 200000 + "gsk_" * 200000 + " " + key + "\n")
        start = time.time()
        s = Scan(["scan", tmp], secrets=[key], timeout=120)
        elapsed = time.time() - start
        assert_eq(s.code, 1, "exit status")
        assert_eq([f["path"] for f in s.findings], ["mixed.txt"], "findings")
        assert_eq(s.summary["limit_hits"], 0, "limit hits")
        assert elapsed < 60, "three scans took %.0fs" % elapsed


@test
def nul_bytes():
    with lib.TempDir() as tmp:
        key = lib.make_key(KEY_RULE, 3)
        lib.write(os.path.join(tmp, "early.bin"), "\0" + key + "\n")
        late = "x" * 9000 + "\0\n" + "k = " + key + "\n"
        lib.write(os.path.join(tmp, "late.txt"), late)
        s = Scan(["scan", "--verbose", tmp], secrets=[key], timeout=60)
        assert_eq(s.summary["skipped_binary"], 1, "binary (NUL in 8 KiB)")
        s.assert_stderr_names("early.bin", "binary")
        assert_eq([(f["path"], f["line"]) for f in s.findings],
                  [("late.txt", 2)], "a key after a late NUL")
        assert_eq(s.code, 1, "exit status")


@test
def utf16_keys_are_found():
    with lib.TempDir() as tmp:
        keys = [lib.make_key(KEY_RULE, 10 + n) for n in range(4)]
        files = {
            "le-bom.txt": b"\xff\xfe" + ("a\r\nk = %s\r\n" % keys[0]).encode("utf-16-le"),
            "be-bom.txt": b"\xfe\xff" + ("a\nk = %s\n" % keys[1]).encode("utf-16-be"),
            "le.txt": ("a\nk = %s\n" % keys[2]).encode("utf-16-le"),
            "be.txt": ("a\nk = %s\n" % keys[3]).encode("utf-16-be"),
        }
        for name, data in files.items():
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        s = Scan(["scan", tmp], secrets=keys, timeout=60)
        assert_eq(s.code, 1, "exit status")
        assert_eq(sorted((f["path"], f["line"], f["column"]) for f in s.findings),
                  sorted((n, 2, 5) for n in files), "UTF-16 findings")


@test
def output_is_complete_or_absent():
    with lib.TempDir() as tmp:
        key = lib.make_key(KEY_RULE, 4)
        lib.write(os.path.join(tmp, "tree", "k.txt"), "k = %s\n" % key)
        out = os.path.join(tmp, "out", "report.json")
        os.makedirs(os.path.dirname(out))
        lib.write(out, "previous report\n")
        p = lib.run(["scan", "--format", "json", "--output", out,
                     os.path.join(tmp, "tree")], timeout=60)
        assert_eq(p.returncode, 1, "exit status")
        assert_eq(p.stdout, b"", "stdout with --output")
        with open(out) as f:
            report = json.load(f)
        assert_eq(len(report["findings"]), 1, "findings in the file")
        assert_eq(os.listdir(os.path.dirname(out)), ["report.json"],
                  "no temporary file left behind")
        lib.assert_no_secret(open(out, "rb").read(), [key], "report file")


@test
def output_into_a_missing_directory_is_a_clear_error():
    with lib.TempDir() as tmp:
        lib.write(os.path.join(tmp, "tree", "a.txt"), "nothing\n")
        out = os.path.join(tmp, "missing", "report.sarif")
        p = lib.run(["scan", "--format", "sarif", "--output", out,
                     os.path.join(tmp, "tree")], timeout=60)
        assert_eq(p.returncode, 2, "exit status")
        err = p.stderr.decode(errors="replace")
        assert out in err and os.path.join(tmp, "missing") in err, err
        assert not os.path.exists(os.path.join(tmp, "missing")), "created it"


@test
def output_unwritable_keeps_the_old_report():
    with lib.TempDir() as tmp:
        lib.write(os.path.join(tmp, "tree", "a.txt"), "nothing\n")
        # a directory where the report should go cannot be replaced
        out = os.path.join(tmp, "report.json")
        os.makedirs(os.path.join(out, "inside"))
        p = lib.run(["scan", "--format", "json", "--output", out,
                     os.path.join(tmp, "tree")], timeout=60)
        assert_eq(p.returncode, 2, "exit status")
        assert out in p.stderr.decode(errors="replace"), p.stderr
        assert_eq(sorted(os.listdir(tmp)), ["report.json", "tree"],
                  "no temporary file left behind")


if __name__ == "__main__":
    lib.main()
