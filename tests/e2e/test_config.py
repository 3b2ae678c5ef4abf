#!/usr/bin/env python3
"""End-to-end tests for what silences findings, and how visibly.

.keyleak.json (skip paths, allowed stopwords and regexes, disabled rules,
extra rule files) with strict parsing, --config and --no-repo-config, the
keyleak:allow inline suppression and baselines (`keyleak baseline` and
--baseline), in real repositories with synthetic keys.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

GROQ = lib.make_key("groq-api-key", 11)
HF = lib.make_key("huggingface-access-token", 11)
ANT = lib.make_key("anthropic-api-key", 11)


def keys_repo(base, config=None):
    """A repo with three keys in three files (committed), .gitignore .env."""
    return lib.committed_repo(base, {
        ".gitignore": ".env\n",
        "app/llm.py": 'GROQ_API_KEY = "%s"\n' % GROQ,
        "fixtures/hf.txt": "token: %s\n" % HF,
        "docs/setup.md": "key `%s`\n" % ANT}, config)


def found(report):
    return sorted((f["rule_id"], f["path"]) for f in report["findings"])


ALL3 = [("anthropic-api-key", "docs/setup.md"),
        ("groq-api-key", "app/llm.py"),
        ("huggingface-access-token", "fixtures/hf.txt")]


def expect_error(args, *words):
    p = lib.run(args)
    lib.assert_eq(p.returncode, 2, "exit code of %r" % (args,))
    err = p.stderr.decode()
    for w in words:
        assert w in err, "%r not in stderr: %s" % (w, err)
    return err


# ------------------------------------------------------------- config

@lib.test
def repo_config_applies_and_is_recorded():
    with lib.TempDir() as base:
        repo = keys_repo(base, {"skip_paths": ["fixtures/*"],
                                "disable_rules": ["anthropic-api-key"]})
        code, rep = lib.run_json(["scan", repo])
        lib.assert_eq(found(rep), [("groq-api-key", "app/llm.py")], "findings")
        lib.assert_eq(rep["config"]["path"],
                      os.path.join(repo, ".keyleak.json"), "config path")
        lib.assert_eq(rep["config"]["repo_config_ignored"], False, "ignored flag")
        # the config is found from a subdirectory too
        code, rep = lib.run_json(["scan", os.path.join(repo, "app")])
        assert rep["config"]["path"].endswith(".keyleak.json"), rep["config"]


@lib.test
def no_repo_config_ignores_the_repositorys_file():
    with lib.TempDir() as base:
        repo = keys_repo(base, {"skip_paths": ["**"], "disable_rules": [
            "groq-api-key", "huggingface-access-token", "anthropic-api-key"]})
        code, rep = lib.run_json(["scan", repo])
        lib.assert_eq((code, found(rep)), (0, []), "silenced by the repo")
        code, rep = lib.run_json(["scan", repo, "--no-repo-config"])
        lib.assert_eq((code, found(rep)), (1, ALL3), "--no-repo-config")
        lib.assert_eq(rep["config"], {"path": None, "repo_config_ignored": True,
                                      "baseline": None}, "recorded")
        p = lib.run(["scan", repo, "--no-repo-config", "--format", "sarif"])
        props = json.loads(p.stdout)["runs"][0]["properties"]
        lib.assert_eq((props["config"], props["repo_config_ignored"]),
                      (None, True), "SARIF run properties")


@lib.test
def text_report_states_the_config():
    with lib.TempDir() as base:
        repo = keys_repo(base, {"skip_paths": ["fixtures/*"]})
        out = lib.run(["scan", repo]).stdout.decode()
        assert "config: %s\n" % os.path.join(repo, ".keyleak.json") in out, out
        out = lib.run(["scan", repo, "--no-repo-config"]).stdout.decode()
        assert "config: none (the repository's own config was ignored" in out, out


@lib.test
def explicit_config_replaces_the_repositorys():
    with lib.TempDir() as base:
        repo = keys_repo(base, {"skip_paths": ["**"]})
        cfg = os.path.join(base, "ci-keyleak.json")
        lib.write(cfg, json.dumps({"skip_paths": ["docs/**"]}))
        code, rep = lib.run_json(["scan", repo, "--config", cfg])
        lib.assert_eq(found(rep), ALL3[1:], "findings")
        lib.assert_eq(rep["config"]["path"], cfg, "config path")


@lib.test
def allow_stopwords_and_regexes():
    with lib.TempDir() as base:
        repo = keys_repo(base, {"allow_stopwords": [HF[8:16].lower()],
                                "allow_regexes": ["^sk-ant-api03-" + ANT[13:20]]})
        code, rep = lib.run_json(["scan", repo])
        lib.assert_eq(found(rep), [("groq-api-key", "app/llm.py")], "findings")


@lib.test
def extra_rule_files_relative_to_the_config():
    with lib.TempDir() as base:
        repo = keys_repo(base, {"rule_files": ["tools/rules.json"]})
        rule = {"provider": "Internal", "rules": [{
            "id": "internal-token", "name": "Internal token",
            "description": "An internal token.", "severity": "high",
            "regex": "(?<![a-z0-9_])(itk_[a-z0-9]{32})(?![a-z0-9])",
            "secret_group": 1, "keywords": ["itk_"],
            "remediation": "Rotate it.", "examples": ["itk_{32:lowernum}"],
            "negative_examples": ["itk_short"]}]}
        lib.write(os.path.join(repo, "tools/rules.json"), json.dumps(rule))
        lib.write(os.path.join(repo, "app/internal.txt"),
                  "itk_q8w7e6r5t4y3u2i1o9p8a7s6d5f4g3h2\n")
        code, rep = lib.run_json(["scan", repo])
        assert ("internal-token", "app/internal.txt") in found(rep), found(rep)


@lib.test
def strict_parsing_names_the_file_and_field():
    cases = [
        ({"skip_path": ["x"]}, "skip_path"),           # unknown field
        ({"skip_paths": "fixtures/*"}, "skip_paths"),  # wrong type
        ({"allow_stopwords": [3]}, "allow_stopwords"),
        ({"disable_rules": ["no-such-rule"]}, "no-such-rule"),
        ({"allow_regexes": ["("]}, "allow_regexes"),
        ({"version": 2}, "version"),
        ({"rule_files": ["missing.json"]}, "rule_files"),
        ([], "object"),
    ]
    with lib.TempDir() as base:
        repo = keys_repo(base)
        cfg = os.path.join(repo, ".keyleak.json")
        for config, word in cases:
            lib.write(cfg, json.dumps(config))
            expect_error(["scan", repo], ".keyleak.json", word)
        lib.write(cfg, "{\"skip_paths\": [")
        expect_error(["scan", repo], ".keyleak.json", "JSON")
        lib.write(cfg, '{"skip_paths": [], "skip_paths": ["**"]}')
        expect_error(["scan", repo], ".keyleak.json", "twice")
        expect_error(["scan", repo, "--config", os.path.join(base, "nope.json")],
                     "nope.json")
        # a broken repo config does not matter when it is ignored
        code, rep = lib.run_json(["scan", repo, "--no-repo-config"])
        lib.assert_eq(code, 1, "--no-repo-config with a broken repo config")


@lib.test
def config_applies_to_staged_and_history():
    with lib.TempDir() as base:
        repo = keys_repo(base, {"skip_paths": ["fixtures/*", "docs/*"]})
        code, rep = lib.run_json(["history", repo])
        lib.assert_eq(found(rep), [("groq-api-key", "app/llm.py")], "history")
        lib.write(os.path.join(repo, "fixtures/more.txt"), "t=%s\n" % HF)
        lib.write(os.path.join(repo, "app/more.txt"), "t=%s\n" % HF)
        lib.git(repo, "add", "-A")
        code, rep = lib.run_json(["staged", repo])
        lib.assert_eq(found(rep), [("huggingface-access-token", "app/more.txt")],
                      "staged")


# -------------------------------------------------------- suppression

@lib.test
def inline_allow_suppresses_and_counts():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.write(os.path.join(repo, "a.py"),
                  'A = "%s"  # keyleak:allow test fixture\nB = "%s"\n' % (GROQ, GROQ))
        lib.write(os.path.join(repo, "b.js"),
                  "// keyleak:allow on another line does nothing\nconst k = '%s';\n" % HF)
        lib.git(repo, "add", "-A")
        lib.git(repo, "commit", "-q", "-m", "x")
        for cmd in ("scan", "history"):
            code, rep = lib.run_json([cmd, repo])
            lib.assert_eq(code, 1, cmd)
            got = sorted((f["path"], f["line"]) for f in rep["findings"])
            lib.assert_eq(got, [("a.py", 2), ("b.js", 2)], cmd + " findings")
            lib.assert_eq(rep["summary"]["suppressed"], 1, cmd + " suppressed")


@lib.test
def inline_allow_alone_exits_clean():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.write(os.path.join(repo, "a.yaml"),
                  "groq: %s # keyleak:allow\r\n" % GROQ)
        code, rep = lib.run_json(["scan", repo])
        lib.assert_eq((code, rep["findings"], rep["summary"]["suppressed"]),
                      (0, [], 1), "suppressed")


# ----------------------------------------------------------- baselines

@lib.test
def baseline_round_trip_survives_moved_lines():
    with lib.TempDir() as base:
        repo = keys_repo(base)
        lib.write(os.path.join(repo, "app/.env"), "X=1\n")  # ignored
        out = os.path.join(base, "baseline.json")
        p = lib.run(["baseline", repo, "--output", out])
        lib.assert_eq(p.returncode, 0, "baseline exit: %s" % p.stderr)
        recorded = json.load(open(out))
        lib.assert_eq(len(recorded["findings"]), 3, "recorded findings")
        code, rep = lib.run_json(["scan", repo, "--baseline", out])
        lib.assert_eq((code, rep["findings"]), (0, []), "all baselined")
        lib.assert_eq(rep["summary"]["baselined"], 3, "baselined count")
        lib.assert_eq(rep["config"]["baseline"], out, "baseline recorded")
        # unrelated edits move the key's line: still known
        lib.write(os.path.join(repo, "app/llm.py"),
                  "import os\n\n\n# comment\nGROQ_API_KEY = \"%s\"\n" % GROQ)
        new = lib.make_key("groq-api-key", 12)
        lib.write(os.path.join(repo, "app/new.py"), "K = '%s'\n" % new)
        code, rep = lib.run_json(["scan", repo, "--baseline", out])
        lib.assert_eq((code, found(rep)), (1, [("groq-api-key", "app/new.py")]),
                      "only the new key")
        lib.assert_eq(rep["summary"]["baselined"], 3, "baselined after edits")


@lib.test
def baseline_holds_policy_findings_and_reads_sarif():
    with lib.TempDir() as base:
        repo = keys_repo(base)
        lib.write(os.path.join(repo, ".env.local"), "X=1\n")  # not ignored
        sarif = os.path.join(base, "old.sarif")
        p = lib.run(["scan", repo, "--format", "sarif", "--output", sarif])
        lib.assert_eq(p.returncode, 1, "sarif scan")
        code, rep = lib.run_json(["scan", repo, "--baseline", sarif])
        lib.assert_eq((code, rep["findings"], rep["summary"]["baselined"]),
                      (0, [], 4), "SARIF as baseline")


@lib.test
def a_different_secret_at_the_same_place_is_new():
    with lib.TempDir() as base:
        repo = keys_repo(base)
        out = os.path.join(base, "b.json")
        lib.assert_eq(lib.run(["baseline", repo, "-o", out]).returncode, 0, "rec")
        lib.write(os.path.join(repo, "app/llm.py"),
                  'GROQ_API_KEY = "%s"\n' % lib.make_key("groq-api-key", 99))
        code, rep = lib.run_json(["scan", repo, "--baseline", out])
        lib.assert_eq(found(rep), [("groq-api-key", "app/llm.py")], "rotated key")


@lib.test
def baseline_errors():
    with lib.TempDir() as base:
        repo = keys_repo(base)
        expect_error(["scan", repo, "--baseline", os.path.join(base, "none.json")],
                     "none.json")
        bad = os.path.join(base, "bad.json")
        lib.write(bad, '{"not": "a report"}')
        expect_error(["scan", repo, "--baseline", bad], "bad.json")
        expect_error(["baseline", repo, "--baseline", bad], "--baseline")


if __name__ == "__main__":
    lib.main()
