"""Shared helpers for keyleak's end-to-end tests.

Each test script builds real repositories with the git CLI in temporary
directories, runs the real ./keyleak binary and asserts on exit codes and
parsed JSON. Tests print TAP lines; tests/run.sh counts them.

Test keys are generated here from the rules' own example templates with a
seeded RNG, so no credential-looking literal is ever committed.
"""
import glob
import http.server
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import traceback
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYLEAK = os.environ.get("KEYLEAK", os.path.join(ROOT, "keyleak"))

_CLASSES = {
    "alnum": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "lower": "abcdefghijklmnopqrstuvwxyz",
    "upper": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "digit": "0123456789",
    "lowernum": "abcdefghijklmnopqrstuvwxyz0123456789",
    "uppernum": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "b64": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    "b64url": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    "BECH32": "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
}
# Words real placeholders use; a generated key must never contain them.
_BANNED = re.compile(r"test|example|sample|dummy|placeholder|your|fake|"
                     r"redacted|changeme|xxxx", re.I)


def _load_rules():
    rules = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "rules", "*.json"))):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for rule in data.get("rules", []):
            rules[rule["id"]] = rule
    return rules


RULES = _load_rules()


def expand(template, rng):
    """Expand a rule example template ({N} / {N:class}) with rng."""
    out = []
    i = 0
    while i < len(template):
        if template.startswith("{{", i) or template.startswith("}}", i):
            out.append(template[i])
            i += 2
            continue
        m = re.match(r"\{(\d+)(?::(\w+))?\}", template[i:])
        if m:
            alphabet = _CLASSES[m.group(2) or "alnum"]
            out.append(_random_run(int(m.group(1)), alphabet, rng))
            i += m.end()
            continue
        out.append(template[i])
        i += 1
    return "".join(out)


def _random_run(n, alphabet, rng):
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        if not _BANNED.search(s) and not re.search(r"(.)\1{4}", s):
            return s


# ------------------------------------------------------ structure checks
# The same completions as src/engine/structure.c, written again here so a
# generated key's checksum is computed by the test, not taken from keyleak.

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def crc32_base62(body):
    """GitHub's token checksum: CRC32 of the random part, 6 base62 digits."""
    n = zlib.crc32(body.encode()) & 0xFFFFFFFF
    out = ""
    for _ in range(6):
        out = _B62[n % 62] + out
        n //= 62
    return out


def _complete_crc(tok):
    head, _, body = tok.rpartition("_")
    return "%s_%s%s" % (head, body[:-6], crc32_base62(body[:-6]))


def _b64_positions(text, start, end):
    return [i for i in range(start, end) if text[i] in _B64]


def _decode(text, pos):
    bits = "".join(format(_B64.index(text[i]), "06b") for i in pos)
    return bytearray(int(bits[i:i + 8], 2) for i in range(0, len(bits) - 7, 8))


def _encode_into(chars, pos, data):
    bits = "".join(format(b, "08b") for b in data)
    bits += "0" * (len(pos) * 6 - len(bits))
    for k, i in enumerate(pos):
        chars[i] = _B64[int(bits[6 * k:6 * k + 6], 2)]


def _crc24(data):
    crc = 0xB704CE
    for b in data:
        crc ^= b << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


_PEM = re.compile(r"-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----")
_LINE = re.compile(r"[^\r\n\\]+")


def _pem_body(text, m):
    """Positions of the body's base64 characters, and of a CRC24 line."""
    body, crc, in_body = [], [], False
    if '"' in m.group(2) or "'" in m.group(2):
        # joined string literals: the base64 inside the quotes, not the
        # joiners (+ is base64 too) nor the n of an escaped newline
        inside = True
        for i in range(m.start(2), m.end(2)):
            if text[i] in "\"'":
                inside = not inside
            elif inside and text[i] in _B64 and text[i - 1] != "\\":
                body.append(i)
        return body, crc
    for lm in _LINE.finditer(text, m.start(2), m.end(2)):
        line = lm.group(0).strip()
        if line in ("n", "r") or not line:
            continue
        if line.startswith("n") and lm.start() > 0 and text[lm.start() - 1] == "\\":
            lm_start = lm.start() + 1  # the n of a literal backslash-n
        else:
            lm_start = lm.start()
        seg = text[lm_start:lm.end()]
        if not in_body and ":" in seg:
            continue
        st = lm_start + (len(seg) - len(seg.lstrip()))
        if seg.strip().startswith("=") and len(seg.strip()) == 5:
            crc = list(range(st + 1, st + 5))
            continue
        in_body = True
        body += [i for i in range(st, lm.end()) if text[i] in _B64]
    return body, crc


def _der(b, encrypted):
    n = len(b)
    hdr = 2 if n - 2 < 128 else 3 if n - 3 < 256 else 4
    length = n - hdr
    b[0] = 0x30
    if hdr == 2:
        b[1] = length
    elif hdr == 3:
        b[1:3] = bytes([0x81, length])
    else:
        b[1:4] = bytes([0x82, length >> 8, length & 0xFF])
    b[hdr] = 0x30 if encrypted else 0x02


def _openssh(b, encrypted):
    out = b"openssh-key-v1\0"
    for name in ((b"aes256-ctr", b"bcrypt") if encrypted else (b"none", b"none")):
        out += len(name).to_bytes(4, "big") + name
    b[:len(out)] = out


def _pgp(b, encrypted):
    n = len(b)
    if n - 2 < 192:
        hdr = bytes([0xC5, n - 2])
    else:
        length = n - 3 - 192
        hdr = bytes([0xC5, (length >> 8) + 192, length & 0xFF])
    off = len(hdr)
    b[:off] = hdr
    b[off] = 4
    b[off + 5] = 22
    off += 6
    oid = bytes([9, 0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01])
    b[off:off + len(oid)] = oid
    off += len(oid)
    b[off:off + 3] = bytes([0x01, 0x07, 0x40])
    off += 2 + 33
    b[off] = 254 if encrypted else 0


def _complete_private_key(text, encrypted):
    chars = list(text)
    for m in _PEM.finditer(text):
        label = m.group(1)
        if "PRIVATE KEY" not in label:
            continue
        body, crc = _pem_body(text, m)
        data = _decode(text, body)
        if label == "OPENSSH PRIVATE KEY":
            _openssh(data, encrypted)
        elif label == "PGP PRIVATE KEY BLOCK":
            _pgp(data, encrypted)
        elif "Proc-Type: 4,ENCRYPTED" not in m.group(2):
            _der(data, encrypted)
        _encode_into(chars, body, data)
        if crc:
            _encode_into(chars, crc, _crc24(data).to_bytes(3, "big"))
    return "".join(chars)


def _complete_discord(text):
    def fix(m):
        first = m.group(1)
        n = len(first) * 6 // 8
        digits = bytes([ord("1") + ord(first[0]) % 9] +
                       [ord("0") + ord(c) % 10 for c in first[1:n]])
        pos = list(range(len(first)))
        chars = list(first)
        _encode_into(chars, pos, digits)
        return "".join(chars).replace("+", "-").replace("/", "_") + m.group(2)
    return re.sub(r"(?<![A-Za-z0-9_-])([A-Za-z0-9_-]{23,28})(\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})",
                  fix, text)


def complete(rule_id, text):
    """Make the candidates of rule_id in text pass its structure check."""
    rule = RULES[rule_id]
    check = rule.get("check")
    if check == "crc32-base62":
        kws = "|".join(re.escape(k) for k in rule["keywords"])
        return re.sub(r"(?:%s)[A-Za-z0-9_]*[A-Za-z0-9]{7,}" % kws,
                      lambda m: _complete_crc(m.group(0)), text)
    if check in ("private-key", "private-key-encrypted"):
        return _complete_private_key(text, check == "private-key-encrypted")
    if check == "discord-bot-token":
        return _complete_discord(text)
    return text


def key_rule_ids():
    """Ids of every content rule (rules with a regex)."""
    return sorted(r for r, v in RULES.items() if v.get("regex"))


def make_key(rule_id, seed=1):
    """A well-formed synthetic key for rule_id (from examples[0])."""
    rng = random.Random("%s/%s" % (rule_id, seed))
    return complete(rule_id, expand(RULES[rule_id]["examples"][0], rng))


def run(args, cwd=None, input=None, env=None, timeout=600):
    """Run keyleak; returns CompletedProcess with text stdout/stderr.
    A run past timeout seconds is killed and fails the test (a hang)."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    if env:
        full_env.update(env)
    return subprocess.run([KEYLEAK] + list(args), cwd=cwd, input=input,
                          capture_output=True, env=full_env, timeout=timeout)


def run_json(args, cwd=None, **kw):
    """Run keyleak with --format json; returns (exit code, parsed report)."""
    p = run(list(args) + ["--format", "json"], cwd=cwd, **kw)
    try:
        report = json.loads(p.stdout.decode("utf-8"))
    except ValueError:
        raise AssertionError("not JSON (exit %d): %r\nstderr: %s" %
                             (p.returncode, p.stdout[:2000], p.stderr.decode(errors="replace")))
    return p.returncode, report


def git(repo, *args, env=None):
    full_env = dict(os.environ)
    full_env.update({
        "GIT_AUTHOR_NAME": "Ann Author", "GIT_AUTHOR_EMAIL": "ann@example.org",
        "GIT_COMMITTER_NAME": "Ann Author", "GIT_COMMITTER_EMAIL": "ann@example.org",
        "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
    })
    if env:
        full_env.update(env)
    p = subprocess.run(["git", "-C", repo] + list(args), capture_output=True,
                       env=full_env)
    if p.returncode != 0:
        raise AssertionError("git %s failed: %s" % (" ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout.decode("utf-8", errors="replace").strip()


def keyleak_on_path(d):
    """PATH with d/bin first, where `keyleak` is the binary under test: for
    hooks and shells that look keyleak up by name. Idempotent per d."""
    bindir = os.path.join(d, "bin")
    if not os.path.isdir(bindir):
        os.makedirs(bindir)
        os.symlink(KEYLEAK, os.path.join(bindir, "keyleak"))
    return bindir + os.pathsep + os.environ.get("PATH", "")


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="keyleak-test-")
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


class LoopbackHTTP:
    """A fake web service for the tests: an HTTP server on 127.0.0.1 at a
    free port (url), serving on a thread while the with block runs; every
    GET and POST goes to answer(handler). keep_alive: HTTP/1.1, as git
    expects of a hosting platform."""

    def __init__(self, answer, keep_alive=False):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                answer(self)

            do_POST = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        # a handler still waiting (a timeout test) must not hold up close
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def new_repo(base, name="repo"):
    path = os.path.join(base, name)
    os.makedirs(path)
    git(path, "init", "-q", "-b", "main")
    return path


def committed_repo(base, files, config=None):
    """A new repository holding files ({path: text}) and, when config is
    given, that .keyleak.json, all in one commit."""
    repo = new_repo(base)
    for relpath, content in files.items():
        write(os.path.join(repo, relpath), content)
    if config is not None:
        write(os.path.join(repo, ".keyleak.json"), json.dumps(config))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    return repo


def write(path, content, mode="w"):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, mode) as f:
        f.write(content)


def commit_file(repo, relpath, content, message="change", env=None):
    write(os.path.join(repo, relpath), content)
    git(repo, "add", "--", relpath)
    git(repo, "commit", "-q", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD")


_tests = []


class Skip(Exception):
    """Raised by a test that cannot run here; reported as a TAP SKIP."""


def test(fn):
    """Decorator: register a test function."""
    _tests.append(fn)
    return fn


def validate_sarif(path):
    """tests/sarif-validate.sh (Microsoft's SARIF Multitool with GitHub's
    ingestion rules) on path; skipped, with a note, without node/npm,
    except in CI, where a missing validator is a failure."""
    if not shutil.which("npm") or not shutil.which("node"):
        if os.environ.get("CI"):
            raise AssertionError("CI must validate SARIF, but npm/node is missing")
        print("# SARIF validation skipped: npm/node not installed")
        return
    v = subprocess.run(["sh", os.path.join(ROOT, "tests", "sarif-validate.sh"), path],
                       capture_output=True)
    if v.returncode != 0:
        raise AssertionError("sarif-validate failed:\n%s%s" % (
            v.stdout.decode(errors="replace"), v.stderr.decode(errors="replace")))


def main():
    """Run the registered tests, printing TAP lines."""
    if not os.access(KEYLEAK, os.X_OK):
        print("not ok 1 - %s is not built" % KEYLEAK)
        sys.exit(1)
    failed = 0
    for n, fn in enumerate(_tests, 1):
        name = fn.__name__
        try:
            fn()
            print("ok %d - %s" % (n, name))
        except Skip as why:
            print("ok %d - %s # SKIP %s" % (n, name, why))
        except Exception:  # report every failure, keep going
            failed += 1
            print("not ok %d - %s" % (n, name))
            for line in traceback.format_exc().splitlines():
                print("#   " + line)
        sys.stdout.flush()
    sys.exit(1 if failed else 0)


def assert_eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def assert_no_secret(text, secrets, what="output"):
    """No secret appears in full in text (bytes or str)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    for s in secrets:
        if s in text:
            raise AssertionError("%s contains a full secret (%s…)" % (what, s[:6]))


def provider_cells():
    """The cells under a "provider" or "providers" column of the tables in
    doc/providers.md, joined: where a provider must be named."""
    with open(os.path.join(ROOT, "doc", "providers.md"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    cells, col = [], None
    for line in lines:
        if not line.startswith("|"):
            col = None
            continue
        row = [c.strip() for c in line.strip("|").split("|")]
        if col is None:
            col = next((i for i, c in enumerate(row) if c in ("provider", "providers")), -1)
        elif col >= 0 and not set(row[0]) <= set("-: "):
            cells.append(row[col])
    return " | ".join(cells)
