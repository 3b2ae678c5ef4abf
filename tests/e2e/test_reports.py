#!/usr/bin/env python3
"""End-to-end tests for the report formats (text, JSON, SARIF).

Plants one synthetic key of every rule family in a temporary repository,
scans it with the real ./keyleak in each format, and checks: no full secret
without --show-secrets, JSON locations, and SARIF that passes GitHub's
ingestion rules (tests/sarif-validate.sh; skipped when npm is missing).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

PREFIX = "token = \""  # the key starts right after this on its line


def plant(base):
    """A repo with one key per rule in its own file; returns (repo, keys).

    keys maps rule id -> (relative path, planted example text). The example
    may carry context around the secret (e.g. "NAME=<key>").
    """
    repo = lib.new_repo(base)
    keys = {}
    for n, rule_id in enumerate(lib.key_rule_ids()):
        example = lib.make_key(rule_id)
        rel = "keys/%s.txt" % rule_id
        body = "# config %d\n\n%s%s\"\n" % (n, PREFIX, example)
        lib.write(os.path.join(repo, rel), body)
        keys[rule_id] = (rel, example)
    lib.git(repo, "add", "-A")
    lib.git(repo, "commit", "-q", "-m", "add keys")
    return repo, keys


def expected_position(example, secret):
    """(line, column, end_column) of secret planted on line 3 after PREFIX;
    columns count code points, as Python strings do. A paired finding's
    secret is "ID:PARTNER" and sits at its ID; a multi-line secret (a PEM
    block) ends on a later line, end_column counting on that line."""
    if secret not in example and ":" in secret:
        secret = secret.split(":", 1)[0]
    at = example.find(secret)
    if at < 0:
        raise AssertionError("secret is not part of the planted example")
    before = PREFIX + example[:at]
    line = 3 + before.count("\n")
    col = len(before) - (before.rfind("\n") + 1) + 1
    if "\n" in secret:
        return line, col, len(secret) - secret.rfind("\n")
    return line, col, col + len(secret)


def true_secrets(repo, keys):
    """Run with --show-secrets: {rule id: secret}, one finding per key."""
    code, report = lib.run_json(["scan", repo, "--show-secrets"])
    lib.assert_eq(code, 1, "exit code with findings")
    found = by_path(report)
    secrets = {}
    for rule_id, (rel, _example) in keys.items():
        f = found.get(rel)
        if f is None:
            raise AssertionError("no finding in %s" % rel)
        lib.assert_eq(f["rule_id"], rule_id, rel + " rule_id")
        secrets[rule_id] = f["secret"]
    return secrets


def odd_repo(base):
    """A repo whose file names are hostile: newline, escape, quote, dash."""
    repo = lib.new_repo(base, "odd")
    example = lib.make_key(lib.key_rule_ids()[0])
    names = ["new\nline.txt", "esc\x1b[31m.txt", "quo\"te\\.txt",
             "-dash.txt", "sp ace.txt", "%41.txt", "a:b.txt",
             os.fsdecode(b"bad\xff.txt")]
    for name in names:
        lib.write(os.path.join(repo, name), "%s%s\"\n" % (PREFIX, example))
    lib.git(repo, "add", "-A")
    lib.git(repo, "commit", "-q", "-m", "odd names")
    return repo, names, example


def by_path(report):
    return {f["path"]: f for f in report["findings"]}


def scan(repo, *args):
    return lib.run(["scan", repo, "--no-color"] + list(args))


@lib.test
def json_locations_for_every_rule():
    with lib.TempDir() as base:
        repo, keys = plant(base)
        secrets = true_secrets(repo, keys)
        code, report = lib.run_json(["scan", repo])
        lib.assert_eq(code, 1, "exit code with findings")
        lib.assert_eq(report["version"], 1, "schema version")
        lib.assert_eq(report["command"], "scan", "command")
        found = by_path(report)
        for rule_id, (rel, example) in keys.items():
            f = found[rel]
            line, col, end = expected_position(example, secrets[rule_id])
            lib.assert_eq(f["kind"], "key", rel + " kind")
            lib.assert_eq((f["line"], f["column"], f["end_column"]),
                          (line, col, end), rel + " line/column/end_column")
            lib.assert_eq(f["provenance"], None, rel + " provenance")
            if "secret" in f:
                raise AssertionError("secret field without --show-secrets")
        lib.assert_eq(report["summary"]["findings"], len(report["findings"]),
                      "summary.findings")
        lib.assert_eq(report["incomplete"], False, "incomplete")


@lib.test
def no_full_secret_without_show_secrets():
    with lib.TempDir() as base:
        repo, keys = plant(base)
        secrets = list(true_secrets(repo, keys).values())
        for fmt in ("text", "json", "sarif"):
            p = scan(repo, "--format", fmt)
            lib.assert_eq(p.returncode, 1, fmt + " exit code")
            lib.assert_no_secret(p.stdout, secrets, fmt + " stdout")
            lib.assert_no_secret(p.stderr, secrets, fmt + " stderr")
        text = scan(repo, "--show-secrets").stdout.decode("utf-8", "replace")
        for secret in secrets:
            # the text report escapes the line breaks of a PEM block, and
            # the backslashes of one inside a JSON string (a key file)
            if secret not in text and secret.replace("\n", "\\n") not in text and \
                    secret.replace("\\", "\\\\") not in text:
                raise AssertionError("text lacks a secret with --show-secrets")


@lib.test
def sarif_passes_github_validation():
    with lib.TempDir() as base:
        repo, keys = plant(base)
        out = os.path.join(base, "report.sarif")
        secrets = true_secrets(repo, keys)
        p = scan(repo, "--format", "sarif", "--output", out)
        lib.assert_eq(p.returncode, 1, "exit code")
        with open(out, encoding="utf-8") as f:
            sarif = json.load(f)
        run = sarif["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        lib.assert_eq(len(run["results"]), len(keys), "one result per key")
        for res in run["results"]:
            lib.assert_eq(rules[res["ruleIndex"]]["id"], res["ruleId"], "ruleIndex")
            if not res["partialFingerprints"].get("keyleak/v1"):
                raise AssertionError("no partialFingerprints")
            region = res["locations"][0]["physicalLocation"]["region"]
            rel, example = keys[res["ruleId"]]
            pos = expected_position(example, secrets[res["ruleId"]])
            lib.assert_eq((region["startLine"], region["startColumn"],
                           region["endColumn"]), pos, rel + " region")
        lib.validate_sarif(out)


@lib.test
def odd_file_names_stay_exact():
    with lib.TempDir() as base:
        repo, names, _example = odd_repo(base)
        code, report = lib.run_json(["scan", repo, "--show-secrets"])
        lib.assert_eq(code, 1, "exit code")
        secret = report["findings"][0]["secret"]
        bad = os.fsdecode(b"bad\xff.txt")
        want = sorted(n if n != bad else "bad\ufffd.txt" for n in names)
        lib.assert_eq(sorted(by_path(report)), want, "JSON paths")
        lib.assert_eq(by_path(report)["bad\ufffd.txt"].get("path_hex"),
                      b"bad\xff.txt".hex(), "path_hex of a non-UTF-8 name")
        out = os.path.join(base, "odd.sarif")
        scan(repo, "--format", "sarif", "--output", out)
        with open(out, encoding="utf-8") as f:
            results = json.load(f)["runs"][0]["results"]
        uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                      for r in results)
        lib.assert_eq(uris, sorted(["new%0Aline.txt", "esc%1B%5B31m.txt",
                                    "quo%22te%5C.txt", "-dash.txt",
                                    "sp%20ace.txt", "%2541.txt", "a%3Ab.txt",
                                    "bad%FF.txt"]), "SARIF uris")
        lib.validate_sarif(out)
        text = scan(repo).stdout
        if b"\x1b" in text:
            raise AssertionError("raw escape byte in text output")
        for want in (b"new\\nline.txt:1:", b"esc\\x1b[31m.txt:1:",
                     b"bad\\xff.txt:1:"):
            if want not in text:
                raise AssertionError("text lacks escaped path %r" % want)
        lib.assert_no_secret(text, [secret], "text")


@lib.test
def output_file_is_written_atomically():
    with lib.TempDir() as base:
        repo, _ = plant(base)
        out = os.path.join(base, "r.json")
        p = scan(repo, "--format", "json", "--output", out)
        lib.assert_eq(p.returncode, 1, "exit code")
        with open(out, encoding="utf-8") as f:
            json.load(f)
        leftovers = [n for n in os.listdir(base) if n.startswith(".keyleak-tmp")]
        lib.assert_eq(leftovers, [], "temporary files left")
        p = scan(repo, "--format", "json", "--output",
                 os.path.join(base, "missing", "r.json"))
        lib.assert_eq(p.returncode, 2, "exit code for a missing directory")
        if b"missing" not in p.stderr:
            raise AssertionError("error does not name the path: %r" % p.stderr)


@lib.test
def output_into_a_fifo_writes_through_it():
    # -o to a FIFO (or a device: /dev/null as root) must write into it, not
    # rename a regular file over it.
    import stat
    import threading
    with lib.TempDir() as base:
        repo, _ = plant(base)
        fifo = os.path.join(base, "report.pipe")
        os.mkfifo(fifo)
        got = []

        def reader():
            with open(fifo, "rb") as f:
                got.append(f.read())
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        p = scan(repo, "--format", "json", "--output", fifo)
        t.join(60)
        lib.assert_eq(p.returncode, 1, "exit code: %r" % p.stderr)
        if not stat.S_ISFIFO(os.lstat(fifo).st_mode):
            raise AssertionError("the FIFO was replaced by a regular file")
        lib.assert_eq(len(got), 1, "the reader got the report")
        report = json.loads(got[0].decode("utf-8"))
        lib.assert_eq(report["summary"]["findings"] > 0, True, "findings")
        leftovers = [n for n in os.listdir(base) if n.startswith(".keyleak-tmp")]
        lib.assert_eq(leftovers, [], "temporary files left")


@lib.test
def history_provenance_in_json_and_sarif():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        rule_id = lib.key_rule_ids()[0]
        env = {"GIT_AUTHOR_DATE": "2025-03-02T14:05:09+01:00"}
        first = lib.commit_file(repo, "c.txt", "%s%s\"\n" % (
            PREFIX, lib.make_key(rule_id)), env=env)
        lib.git(repo, "rm", "-q", "c.txt")
        lib.git(repo, "commit", "-q", "-m", "remove")
        gone = lib.git(repo, "rev-parse", "HEAD")
        code, report = lib.run_json(["history", repo])
        lib.assert_eq(code, 1, "exit code")
        lib.assert_eq(len(report["findings"]), 1, "findings")
        prov = report["findings"][0]["provenance"]
        lib.assert_eq(prov["commit"], first, "introducing commit")
        lib.assert_eq(prov["author_name"], "Ann Author", "author_name")
        lib.assert_eq(prov["author_date"], "2025-03-02T14:05:09+01:00",
                      "author_date")
        lib.assert_eq((prov["in_head"], prov["removed_in"]), (False, gone),
                      "in_head/removed_in")
        if not report["findings"][0]["blob"]:
            raise AssertionError("history finding without blob id")
        out = os.path.join(base, "h.sarif")
        lib.run(["history", repo, "--format", "sarif", "--output", out])
        with open(out, encoding="utf-8") as f:
            props = json.load(f)["runs"][0]["results"][0]["properties"]
        lib.assert_eq(props["commit"], first, "SARIF commit property")
        lib.validate_sarif(out)


@lib.test
def clean_repo_summary():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.commit_file(repo, "README", "nothing here\n")
        p = scan(repo)
        lib.assert_eq(p.returncode, 0, "exit code")
        if b"no secrets found in 1 file" not in p.stdout:
            raise AssertionError("summary: %r" % p.stdout)
        code, report = lib.run_json(["scan", repo])
        lib.assert_eq(report["findings"], [], "findings")
        lib.assert_eq(report["summary"]["files_scanned"], 1, "files_scanned")


if __name__ == "__main__":
    lib.main()
