"""Shared helpers for keyleak's end-to-end tests.

Each test script builds real repositories with the git CLI in temporary
directories, runs the real ./keyleak binary and asserts on exit codes and
parsed JSON. Tests print TAP lines; tests/run.sh counts them.

Test keys are generated here from the rules' own example templates with a
seeded RNG, so no credential-looking literal is ever committed.
"""
import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import traceback

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


def key_rule_ids():
    """Ids of every content rule (rules with a regex)."""
    return sorted(r for r, v in RULES.items() if v.get("regex"))


def make_key(rule_id, seed=1):
    """A well-formed synthetic key for rule_id (from examples[0])."""
    rng = random.Random("%s/%s" % (rule_id, seed))
    return expand(RULES[rule_id]["examples"][0], rng)


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


def new_repo(base, name="repo"):
    path = os.path.join(base, name)
    os.makedirs(path)
    git(path, "init", "-q", "-b", "main")
    return path


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
