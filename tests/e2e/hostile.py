"""Helpers for the hostile-input tests (test_hostile*.py): run one scan in
every format, check that JSON and SARIF stay valid, that paths are exact,
that no planted secret leaks, and how stderr names what went wrong."""
import json
import os
import shutil
import subprocess
import urllib.parse

import lib
from lib import assert_eq


class Scan:
    """One scan's results in JSON, SARIF and text, checked for validity."""

    def __init__(self, args, secrets=(), cwd=None, env=None, timeout=300,
                 runner=None):
        run = runner or lib.run

        def fmt(name):  # right after the command: args may hold "--"
            return run([args[0], "--format", name] + list(args[1:]),
                       cwd=cwd, env=env, timeout=timeout)
        j, s, t = fmt("json"), fmt("sarif"), fmt("text")
        self.code = j.returncode
        self.stderr = j.stderr.decode("utf-8", errors="replace")
        for name, p in (("sarif", s), ("text", t)):
            assert_eq(p.returncode, self.code, "exit status of the %s run" % name)
        self.report = _parse(j, "JSON")
        self.sarif = _parse(s, "SARIF")
        self.text = t.stdout
        for name, p in (("json", j), ("sarif", s), ("text", t)):
            lib.assert_no_secret(p.stdout, secrets, name + " stdout")
            lib.assert_no_secret(p.stderr, secrets, name + " stderr")
        results = self.sarif["runs"][0]["results"]
        assert_eq(len(results), len(self.report["findings"]),
                  "SARIF results vs JSON findings")

    @property
    def findings(self):
        return self.report["findings"]

    @property
    def summary(self):
        return self.report["summary"]

    def paths(self):
        """Exact bytes of every finding's path (JSON path / path_hex)."""
        return sorted(exact_path(f) for f in self.findings)

    def uris(self):
        """Every SARIF result's uri, percent-decoded to bytes."""
        out = []
        for r in self.sarif["runs"][0]["results"]:
            uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            out.append(urllib.parse.unquote_to_bytes(uri))
        return sorted(out)

    def notices(self, kind=None):
        return [n for n in self.report["notices"]
                if kind is None or n["kind"] == kind]

    def assert_stderr_names(self, name, *words):
        """stderr has a line naming name (str or bytes) and every word."""
        if isinstance(name, bytes):
            name = name.decode("utf-8", errors="replace")
        for line in self.stderr.splitlines():
            if name in line and all(w in line for w in words):
                return
        raise AssertionError("no stderr line names %r with %r:\n%s" %
                             (name, words, self.stderr[-3000:]))


def _parse(p, what):
    try:
        return json.loads(p.stdout.decode("utf-8"))
    except ValueError:
        raise AssertionError("%s output is not valid (exit %d): %r\nstderr: %s"
                             % (what, p.returncode, p.stdout[:1000],
                                p.stderr.decode(errors="replace")[-2000:]))


def exact_path(obj, key="path"):
    """The exact bytes a JSON path field stands for."""
    if obj.get(key + "_hex") is not None:
        return bytes.fromhex(obj[key + "_hex"])
    return obj[key].encode("utf-8")


def found(scan, key):
    """The finding whose secret is key (matched by its redacted form's
    ends and the key itself never being shown), or None."""
    for f in scan.findings:
        red = f.get("secret_redacted") or ""
        head, _, tail = red.partition("\u2026")
        if head and key.startswith(head) and key.endswith(tail):
            return f
    return None


def drop_privileges():
    """Argument prefix that runs a command as nobody, or None."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [setpriv, "--reuid=nobody", "--regid=nogroup",
                "--clear-groups", "--"]
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "nobody", "--"]
    return None


def runner_as(prefix):
    """A lib.run replacement that runs keyleak behind prefix."""
    def run(args, cwd=None, env=None, timeout=600):
        full_env = dict(os.environ)
        full_env.pop("NO_COLOR", None)
        if env:
            full_env.update(env)
        return subprocess.run(prefix + [lib.KEYLEAK] + list(args), cwd=cwd,
                              capture_output=True, env=full_env,
                              timeout=timeout)
    return run
