#!/usr/bin/env python3
"""No invented addresses (issue 25): keyleak has no public home, so no
file users read or install (README, doc/, ci/ templates, hooks, Debian
packaging, completions, the sources and headers) may name a URL under a
host the project does not control. Allowed: the hosts the rules name
(providers' verification endpoints, revoke and documentation pages in
rules/*.json), the standards and formats keyleak cites, loopback, the
names RFC 2606 reserves for examples, and placeholders ("host:port")."""
import glob
import json
import os
import re
import subprocess

import lib
from lib import test

# Standards, formats and tools cited by name, not homes of keyleak's.
STANDARDS = {
    "json.schemastore.org",          # SARIF 2.1.0 schema id
    "docs.oasis-open.org",           # SARIF specification
    "www.debian.org",                # copyright-format 1.0
    "git-scm.com",                   # git's documentation
    "git-lfs.github.com",            # the LFS pointer format's version line
    "pre-commit.com",                # the pre-commit framework
    "spdx.org",
    "bitbucket.org",                 # the HTML report's file links (doc/html-report.md)
}
RESERVED = re.compile(r"(^|\.)(example\.(com|org|net)|example|invalid|test|"
                      r"localhost)$")
URL = re.compile(r"\b(?:https?|git|ssh|ftp)://([^/\s\"'`<>)\]*,;]*)")
CHECKED = ["README.md", "Makefile", ".pre-commit-hooks.yaml"]
CHECKED_DIRS = ["doc", "ci", "hooks", "debian", "completions", "include",
                "src", ".ci"]


def rule_hosts():
    hosts = set()
    for path in glob.glob(os.path.join(lib.ROOT, "rules", "*.json")):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        hosts |= {h.split("@")[-1].split(":")[0].lower()
                  for h in URL.findall(text)}
    return hosts


def checked_files():
    out = subprocess.run(["git", "-C", lib.ROOT, "ls-files", "-co",
                          "--exclude-standard"] + CHECKED + CHECKED_DIRS,
                         capture_output=True, check=True).stdout.decode()
    return [p for p in out.splitlines()
            if os.path.isfile(os.path.join(lib.ROOT, p))]


def allowed(host, known):
    h = host.split("@")[-1].lower()
    h = re.sub(r":[^:]*$", "", h) if not h.startswith("[") else h
    if not h or "." not in h and h not in ("localhost",):
        return True  # a placeholder: "host", "host:port", "…"
    if h in known or h in STANDARDS or RESERVED.search(h):
        return True
    if re.match(r"^(127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$", h):
        return True
    return "..." in h or any(c in h for c in "{}$%…*")  # a template


@test
def no_url_under_a_host_the_project_does_not_control():
    known = rule_hosts()
    bad = []
    for rel in checked_files():
        try:
            with open(os.path.join(lib.ROOT, rel), encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), 1):
            for host in URL.findall(line):
                if not allowed(host, known):
                    bad.append("%s:%d: %s" % (rel, n, line.strip()[:120]))
    assert not bad, "addresses under hosts keyleak does not control:\n" + \
        "\n".join(bad)


@test
def the_check_catches_an_invented_home():
    known = rule_hosts()
    assert not allowed("github.com", known) or "github.com" in known
    assert not allowed("keyleak.dev", known)
    assert allowed("127.0.0.1:8080", known) and allowed("host:port", known)


@test
def sarif_names_no_home_by_default():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.commit_file(repo, "k.txt", lib.make_key("groq-api-key", 3) + "\n")
        out = os.path.join(base, "r.sarif")
        p = lib.run(["scan", repo, "--format", "sarif", "--output", out])
        lib.assert_eq(p.returncode, 1, "exit")
        with open(out) as f:
            driver = json.load(f)["runs"][0]["tool"]["driver"]
        assert "informationUri" not in driver, driver.get("informationUri")


if __name__ == "__main__":
    lib.main()
