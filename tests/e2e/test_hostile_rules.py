"""Hostile rule files: a user regex with catastrophic backtracking is bounded
(reported as having hit its limit on that file, the scan goes on and stays
fast), and an invalid regex, an unknown field or a wrong type is refused
with the file, the rule and the reason."""
import json
import os
import time

import lib
from hostile import Scan
from lib import assert_eq, test

KEY_RULE = "groq-api-key"


def rule(**fields):
    r = {"id": "evil-backtrack", "name": "Evil", "description": "d",
         "remediation": "r", "severity": "high", "regex": "(a*)*[bc]",
         "keywords": ["aaaa"]}
    r.update(fields)
    return r


def rule_file(tmp, *rules, name="user-rules.json"):
    path = os.path.join(tmp, name)
    lib.write(path, json.dumps({"provider": "Test", "rules": list(rules)}))
    return path


@test
def catastrophic_backtracking_is_bounded():
    with lib.TempDir() as tmp:
        rules = rule_file(tmp, rule())
        root = os.path.join(tmp, "tree")
        key = lib.make_key(KEY_RULE, 1)
        lib.write(os.path.join(root, "key.txt"), "k = %s\n" % key)
        # a megabyte of keyword hits, each a backtracking bomb
        lib.write(os.path.join(root, "bomb.txt"), "a" * (1 << 20) + "!\n")
        lib.write(os.path.join(root, "small.txt"), "a" * 40 + "!\n")
        start = time.time()
        s = Scan(["scan", "--rules", rules, root], secrets=[key], timeout=120)
        elapsed = time.time() - start
        assert_eq(s.code, 1, "exit status (a key was found)")
        assert_eq([f["path"] for f in s.findings], ["key.txt"], "findings")
        assert_eq(s.summary["limit_hits"], 2, "limit hits (one per file)")
        s.assert_stderr_names("bomb.txt", "evil-backtrack", "limit")
        s.assert_stderr_names("small.txt", "evil-backtrack", "limit")
        warned = [n for n in s.notices("warning") if "evil-backtrack" in n["message"]]
        assert_eq(sorted(n["path"] for n in warned), ["bomb.txt", "small.txt"],
                  "limit notices in the report")
        assert elapsed < 100, "three scans took %.0fs" % elapsed


def refused(tmp, rules, *words):
    path = rule_file(tmp, *rules)
    p = lib.run(["scan", "--rules", path, tmp], timeout=60)
    assert_eq(p.returncode, 2, "exit status")
    assert_eq(p.stdout, b"", "no report from a refused rule file")
    err = p.stderr.decode(errors="replace")
    for w in (path,) + words:
        assert w in err, "stderr lacks %r: %s" % (w, err)


@test
def invalid_regex_is_refused():
    with lib.TempDir() as tmp:
        refused(tmp, [rule(id="broken-re", regex="(sk-[a-z")], "rule broken-re",
                "invalid regex")


@test
def unknown_field_is_refused():
    with lib.TempDir() as tmp:
        refused(tmp, [rule(id="typo-rule", keyword=["sk-"])], "rule typo-rule",
                "unknown field", "keyword")


@test
def wrong_types_are_refused():
    cases = [
        (dict(severity=3), "severity"),
        (dict(keywords="aaaa"), "keywords"),
        (dict(regex=["a"]), "regex"),
        (dict(secret_group="1"), "secret_group"),
        (dict(min_entropy="high"), "min_entropy"),
        (dict(examples=[1, 2]), "examples"),
    ]
    with lib.TempDir() as tmp:
        for fields, word in cases:
            refused(tmp, [rule(id="typed-rule", **fields)], "rule typed-rule", word)


@test
def rule_file_that_is_not_a_rule_file():
    with lib.TempDir() as tmp:
        for text, why in [("{\"rules\": [", "invalid JSON"),
                          ("[]", "\"rules\""),
                          ("{\"rules\": [42]}", "object")]:
            path = os.path.join(tmp, "odd.json")
            lib.write(path, text)
            p = lib.run(["scan", "--rules", path, tmp], timeout=60)
            assert_eq(p.returncode, 2, "exit status for %r" % text)
            err = p.stderr.decode(errors="replace")
            assert path in err and why in err, "stderr: %s" % err


@test
def rule_path_that_is_a_device_or_fifo():
    with lib.TempDir() as tmp:
        fifo = os.path.join(tmp, "rules.fifo")
        os.mkfifo(fifo)
        for path in ("/dev/zero", fifo):
            p = lib.run(["scan", "--rules", path, tmp], timeout=30)
            assert_eq(p.returncode, 2, "exit status for " + path)
            assert path in p.stderr.decode(errors="replace"), p.stderr


@test
def repository_config_naming_a_device_as_rule_file():
    with lib.TempDir() as tmp:
        repo = lib.new_repo(tmp)
        fifo = os.path.join(tmp, "rules.fifo")
        os.mkfifo(fifo)
        for target in ("/dev/zero", fifo):
            lib.write(os.path.join(repo, ".keyleak.json"),
                      json.dumps({"rule_files": [target]}))
            p = lib.run(["scan", repo], timeout=30)
            assert_eq(p.returncode, 2, "exit status for " + target)
            assert target in p.stderr.decode(errors="replace"), p.stderr


if __name__ == "__main__":
    lib.main()
