"""End-to-end tests of large files: read in 8 MiB pieces, keys across
piece boundaries, at offset 0 and on the last byte, in bounded memory;
--max-file-size (default 1 GiB, 0 = no limit) and standard input."""
import json
import os
import random
import subprocess

import lib
from lib import test, assert_eq

MIB = 1 << 20
PIECE = 8 * MIB          # src/findings/stream.c
OVERLAP = 70000 + 512    # kl_stream_overlap: the private key block window + 2 LEAD
LEAD = 256               # KL_STREAM_LEAD
LINE = b"lorem ipsum dolor sit amet, consectetur adipiscing elit\n"


def big_file(path, size, offsets):
    """size bytes of text lines with one distinct groq key at each offset
    (-1: ending on the last byte); returns {(secret, line, column)}.
    Written and measured piece by piece: this process stays small, since a
    child's peak RSS counts its parent's pages from before exec."""
    block = LINE * (MIB // len(LINE) + 1)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
            block = block[n % len(LINE):] + block[:n % len(LINE)]
    keys = []
    with open(path, "r+b") as f:
        for n, off in enumerate(offsets):
            k = lib.make_key("groq-api-key", 500 + n).encode()
            if off < 0:
                off = size - len(k)
            f.seek(max(off - 1, 0))
            f.write((b" " if off else b"") + k +
                    (b" " if off + len(k) < size else b""))
            keys.append((k.decode(), off))
    out = set()
    with open(path, "rb") as f:
        for k, off in keys:
            lines, last_nl, pos = 0, -1, 0
            f.seek(0)
            while pos < off:
                chunk = f.read(min(MIB, off - pos))
                lines += chunk.count(b"\n")
                i = chunk.rfind(b"\n")
                if i >= 0:
                    last_nl = pos + i
                pos += len(chunk)
            out.add((k, lines + 1, off - last_nl))
    return out


def boundary_offsets():
    """Keys straddling where the first two windows end, own and begin."""
    own = PIECE - OVERLAP
    nxt = own - LEAD
    offs = [0, 3 * MIB, -1]
    for edge in (PIECE, own, nxt, nxt + PIECE, nxt + own):
        offs += [edge - 120, edge - 40, edge + 30]
    return offs


def found(report):
    return {(f["secret"], f["line"], f["column"])
            for f in report["findings"]}


@test
def keys_across_piece_boundaries_are_found_at_their_place():
    with lib.TempDir() as tmp:
        path = os.path.join(tmp, "dump.sql")
        keys = big_file(path, 2 * PIECE + 5 * MIB, boundary_offsets())
        code, report = lib.run_json(["scan", "--show-secrets", path])
        assert_eq(code, 1, "exit status")
        assert_eq(found(report), keys, "findings (secret, line, column)")
        assert_eq(report["summary"]["bytes_scanned"], 2 * PIECE + 5 * MIB,
                  "bytes scanned")
        assert_eq(report["summary"]["skipped_too_large"], 0, "skipped")


def long_key_block(seed):
    """A 6.5 KB RSA key block (100 body lines), its DER header made valid
    by the test's own completion: longer than the old 4 KiB overlap."""
    rng = random.Random(seed)
    body = "\n".join(lib.expand("{64:b64}", rng) for _ in range(100))
    return lib.complete("private-key", "-----BEGIN RSA PRIVATE KEY-----\n" +
                        body + "\n-----END RSA PRIVATE KEY-----\n")


@test
def a_private_key_block_across_a_piece_boundary_is_found():
    """A key block may span 70000 bytes: windows overlap by more than
    that, so a block starting in one window's owned part and running past
    its end is read whole by the next window."""
    with lib.TempDir() as tmp:
        path = os.path.join(tmp, "backup.txt")
        big_file(path, PIECE + 2 * MIB, [])
        block = long_key_block(3).encode()
        assert len(block) > 4096 + 512 + 200, len(block)
        with open(path, "r+b") as f:
            f.seek(PIECE - 4096 - 512 - 100)
            f.write(b"\n" + block)
        code, report = lib.run_json(["scan", path])
        assert_eq(code, 1, "exit status")
        assert_eq([f["rule_id"] for f in report["findings"]], ["private-key"],
                  "findings")


@test
def a_file_over_the_old_32m_limit_is_scanned_by_default():
    with lib.TempDir() as tmp:
        path = os.path.join(tmp, "app.log")
        keys = big_file(path, 40 * MIB, [20 * MIB, -1])
        code, report = lib.run_json(["scan", "--show-secrets", path])
        assert_eq(code, 1, "exit status")
        assert_eq(found(report), keys, "findings")


@test
def max_file_size_skips_and_zero_means_no_limit():
    with lib.TempDir() as tmp:
        path = os.path.join(tmp, "big.txt")
        keys = big_file(path, PIECE + MIB, [-1])
        code, report = lib.run_json(["scan", "--max-file-size", "4M", path])
        assert_eq(code, 0, "exit status when skipped (a warning)")
        assert_eq(report["summary"]["skipped_too_large"], 1, "skipped")
        assert_eq(report["findings"], [], "findings when skipped")
        assert any("over --max-file-size" in n["message"]
                   for n in report["notices"]), report["notices"]
        code, report = lib.run_json(["scan", "--show-secrets",
                                     "--max-file-size", "0", path])
        assert_eq(code, 1, "exit status with no limit")
        assert_eq(found(report), keys, "findings with no limit")


@test
def stdin_is_read_in_pieces():
    with lib.TempDir() as tmp:
        path = os.path.join(tmp, "in.txt")
        keys = big_file(path, PIECE + 3 * MIB, [PIECE - 40, -1])
        with open(path, "rb") as f:
            p = subprocess.run([lib.KEYLEAK, "scan", "-", "--format", "json",
                                "--show-secrets"], stdin=f,
                               capture_output=True, timeout=600)
        assert_eq(p.returncode, 1, "exit status")
        assert_eq(found(json.loads(p.stdout)), keys, "findings")


@test
def memory_stays_bounded_on_a_large_file():
    """Peak RSS well under the file's size (it was the size plus a copy)."""
    with lib.TempDir() as tmp:
        path = os.path.join(tmp, "huge.txt")
        size = 96 * MIB
        keys = big_file(path, size, [0, 50 * MIB, -1])
        # A small Python parent runs keyleak and reports its children's
        # peak RSS: keyleak's own (the parent's pages before exec count).
        probe = ("import resource, subprocess, sys; "
                 "p = subprocess.run(sys.argv[1:], stdout=open('out.json', "
                 "'wb')); print(p.returncode, resource.getrusage("
                 "resource.RUSAGE_CHILDREN).ru_maxrss)")
        out = subprocess.run(["python3", "-c", probe, lib.KEYLEAK, "scan",
                              "-q", "--format", "json", "--show-secrets",
                              "-j", "2", path], capture_output=True,
                             timeout=600, cwd=tmp)
        code, rss_kib = map(int, out.stdout.split())
        assert_eq(code, 1, "exit status")
        with open(os.path.join(tmp, "out.json")) as f:
            assert_eq(found(json.load(f)), keys, "findings")
        print("# peak RSS %d KiB for a %d MiB file" % (rss_kib, size // MIB))
        if "ASAN_OPTIONS" in os.environ:
            raise lib.Skip("ASan's shadow memory inflates RSS (findings "
                           "checked)")
        assert rss_kib < 64 * 1024, "peak RSS %d KiB for a %d MiB file" % (
            rss_kib, size // MIB)


if __name__ == "__main__":
    lib.main()
