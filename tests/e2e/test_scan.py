"""End-to-end tests of `keyleak scan`: what git would see, exact locations,
placeholders, skips, stdin, rule files, exit codes and --output."""
import json
import os

import lib
from lib import test, assert_eq


def plant_every_family(repo):
    """One file per rule, key on line 3 after a known prefix; returns
    {rule_id: (path, line, column, key)}."""
    planted = {}
    for n, rule_id in enumerate(lib.key_rule_ids()):
        example = lib.make_key(rule_id, seed=n)
        path = "src/%s.txt" % rule_id
        prefix = "value: "
        lib.write(os.path.join(repo, path), "# config\n\n%s%s\n" % (prefix, example))
        planted[rule_id] = (path, 3, len(prefix) + 1, example)
    return planted


@test
def finds_every_family_at_its_place():
    with lib.TempDir() as tmp:
        repo = lib.new_repo(tmp)
        planted = plant_every_family(repo)
        lib.git(repo, "add", "-A")
        code, report = lib.run_json(["scan", repo])
        assert_eq(code, 1, "exit status with findings")
        got = {f["rule_id"]: f for f in report["findings"]}
        for rule_id, (path, line, col, example) in planted.items():
            f = got.get(rule_id)
            assert f is not None, "%s not found" % rule_id
            assert_eq(f["path"], path, rule_id + " path")
            assert_eq(f["line"], line, rule_id + " line")
            # A context rule's example starts with the context, so its
            # secret starts further in; its last character is the key's.
            body = example.rstrip("\n")
            if "paired_line" in f:  # found with its partner (next line)
                assert_eq((f["end_line"], f["paired_line"]), (line, line + 1),
                          rule_id + " end line and partner's line")
            elif "\n" in body:  # a PEM block: it ends on its END line
                assert_eq((f["end_line"], f["end_column"]),
                          (line + body.count("\n"), len(body) - body.rfind("\n")),
                          rule_id + " end line and column")
            else:
                assert_eq(f["end_column"], col + len(example), rule_id + " end column")
            assert f["column"] >= col, rule_id + " column"
        assert_eq(len(report["findings"]), len(planted), "one finding per key")


@test
def bare_key_column_is_exact():
    with lib.TempDir() as tmp:
        key = lib.make_key("groq-api-key", 5)
        lib.write(os.path.join(tmp, "a.py"), "x = 1\nclient = Groq(api_key=\"%s\")\n" % key)
        code, report = lib.run_json(["scan", tmp])
        assert_eq(code, 1)
        f = report["findings"][0]
        assert_eq((f["path"], f["line"], f["column"], f["end_column"]),
                  ("a.py", 2, 24, 24 + len(key)), "location")


@test
def placeholders_are_not_findings():
    bait = "\n".join([
        "OPENAI_API_KEY=sk-proj-YOUR_KEY_HERE",
        "OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "ANTHROPIC_API_KEY=sk-ant-...",
        "GOOGLE_API_KEY=AIza...",
        "GROQ_API_KEY=<your_key>",
        "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "key = os.environ[\"OPENAI_API_KEY\"]",
        "task-manager desk-lamp hf_model_dir gsk_config",
    ]) + "\n"
    with lib.TempDir() as tmp:
        lib.write(os.path.join(tmp, "README.md"), bait)
        code, report = lib.run_json(["scan", tmp])
        assert_eq(report["findings"], [], "findings on placeholders")
        assert_eq(code, 0, "exit status when clean")


@test
def scans_what_git_sees():
    with lib.TempDir() as tmp:
        repo = lib.new_repo(tmp)
        lib.write(os.path.join(repo, ".gitignore"), "ignored/\n")
        lib.write(os.path.join(repo, "ignored/k.txt"), lib.make_key("groq-api-key", 1) + "\n")
        lib.write(os.path.join(repo, "untracked.txt"), lib.make_key("groq-api-key", 2) + "\n")
        lib.write(os.path.join(repo, "tracked.txt"), lib.make_key("groq-api-key", 3) + "\n")
        lib.git(repo, "add", "tracked.txt", ".gitignore")
        code, report = lib.run_json(["scan", repo])
        paths = sorted(f["path"] for f in report["findings"])
        assert_eq(paths, ["tracked.txt", "untracked.txt"], "paths scanned")


@test
def subdirectory_scan_names_paths_from_the_root():
    with lib.TempDir() as tmp:
        repo = lib.new_repo(tmp)
        lib.write(os.path.join(repo, "a/b/k.txt"), lib.make_key("groq-api-key", 1) + "\n")
        lib.write(os.path.join(repo, "other.txt"), lib.make_key("groq-api-key", 2) + "\n")
        lib.git(repo, "add", "-A")
        code, report = lib.run_json(["scan", os.path.join(repo, "a")])
        # Only a/ is scanned, but its paths are the repository's own.
        assert_eq([f["path"] for f in report["findings"]], ["a/b/k.txt"])


@test
def plain_directory_does_not_follow_symlinks_out():
    with lib.TempDir() as tmp:
        outside = os.path.join(tmp, "outside")
        inside = os.path.join(tmp, "inside")
        lib.write(os.path.join(outside, "k.txt"), lib.make_key("groq-api-key", 1) + "\n")
        lib.write(os.path.join(inside, "k.txt"), lib.make_key("groq-api-key", 2) + "\n")
        os.symlink(outside, os.path.join(inside, "link-dir"))
        os.symlink(os.path.join(outside, "k.txt"), os.path.join(inside, "link-file"))
        code, report = lib.run_json(["scan", inside])
        assert_eq([f["path"] for f in report["findings"]], ["k.txt"])


@test
def binary_and_large_files_are_skipped_and_counted():
    with lib.TempDir() as tmp:
        key = lib.make_key("groq-api-key", 1)
        lib.write(os.path.join(tmp, "bin.dat"), "\0\1\2" + key, mode="w")
        lib.write(os.path.join(tmp, "big.txt"), "x" * 5000 + key + "\n")
        lib.write(os.path.join(tmp, "ok.txt"), "nothing here\n")
        p = lib.run(["scan", tmp, "--max-file-size", "4K", "--format", "json",
                     "--verbose"])
        report = json.loads(p.stdout)
        s = report["summary"]
        assert_eq((s["skipped_binary"], s["skipped_too_large"], s["files_scanned"]),
                  (1, 1, 1), "counts")
        skipped = sorted(n["path"] for n in report["notices"] if n["kind"] == "skipped")
        assert_eq(skipped, ["big.txt", "bin.dat"], "skips listed with --verbose")
        assert_eq(p.returncode, 0)


@test
def stderr_notices_escape_hostile_names():
    with lib.TempDir() as tmp:
        name = "b\x1b[31mRED\nfake.bin"
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(b"\0binary")
        p = lib.run(["scan", tmp, "--verbose", "--format", "json"])
        err = p.stderr.decode()
        assert "\x1b" not in err and "RED\nfake" not in err, repr(err)
        assert "skipped: b\\x1b[31mRED\\nfake.bin: binary" in err, repr(err)


@test
def utf16_file_keys_are_found():
    with lib.TempDir() as tmp:
        key = lib.make_key("openai-project-key", 1)
        with open(os.path.join(tmp, "w.txt"), "wb") as f:
            f.write(("line one\r\nkey=%s\r\n" % key).encode("utf-16"))
        code, report = lib.run_json(["scan", tmp])
        assert_eq([(f["rule_id"], f["line"]) for f in report["findings"]],
                  [("openai-project-key", 2)])


@test
def stdin_is_scanned():
    key = lib.make_key("anthropic-api-key", 1)
    code, report = lib.run_json(["scan", "-"], input=("a\nb %s\n" % key).encode())
    assert_eq(code, 1)
    assert_eq([(f["path"], f["line"]) for f in report["findings"]], [("-", 2)])


@test
def secrets_never_in_full_without_show_secrets():
    key = lib.make_key("openai-project-key", 9)
    for fmt in ("text", "json", "sarif"):
        p = lib.run(["scan", "-", "--format", fmt], input=key.encode())
        assert_eq(p.returncode, 1, fmt)
        lib.assert_no_secret(p.stdout + p.stderr, [key], fmt)
    p = lib.run(["scan", "-", "--format", "json", "--show-secrets"], input=key.encode())
    assert_eq(json.loads(p.stdout)["findings"][0]["secret"], key, "--show-secrets")


@test
def exit_code_option_and_errors():
    key = lib.make_key("groq-api-key", 1)
    p = lib.run(["scan", "-", "--exit-code", "7"], input=key.encode())
    assert_eq(p.returncode, 7, "--exit-code")
    p = lib.run(["scan", "/nonexistent/path"])
    assert_eq(p.returncode, 2, "missing path")
    assert b"/nonexistent/path" in p.stderr, "error names the path"
    p = lib.run(["scan", "--format", "yaml"])
    assert_eq(p.returncode, 2, "bad option")
    p = lib.run(["frobnicate"])
    assert_eq(p.returncode, 2, "unknown command")


@test
def broken_rule_file_is_refused_with_reason():
    with lib.TempDir() as tmp:
        bad = os.path.join(tmp, "bad.json")
        lib.write(bad, json.dumps({"provider": "X", "rules": [{
            "id": "bad-regex", "name": "n", "description": "d", "remediation": "r",
            "severity": "high", "regex": "abc(", "keywords": ["abc"]}]}))
        p = lib.run(["scan", tmp, "--rules", bad])
        assert_eq(p.returncode, 2)
        err = p.stderr.decode()
        assert "bad.json" in err and "bad-regex" in err and "offset" in err, err


@test
def custom_rules_add_and_replace():
    with lib.TempDir() as tmp:
        rules = os.path.join(tmp, "r.json")
        lib.write(rules, json.dumps({"provider": "Acme", "rules": [{
            "id": "acme-key", "name": "Acme key", "description": "d",
            "remediation": "r", "severity": "high",
            "regex": "(acme_[A-Za-z0-9]{24})", "secret_group": 1,
            "keywords": ["acme_"], "examples": ["acme_{24}"]}]}))
        data = os.path.join(tmp, "data")
        key = lib.make_key("groq-api-key", 1)
        acme = lib.expand("acme_{24}", __import__("random").Random(3))
        lib.write(os.path.join(data, "a.txt"), "%s\n%s\n" % (key, acme))
        _, report = lib.run_json(["scan", data, "--rules", rules])
        assert_eq(sorted(f["rule_id"] for f in report["findings"]),
                  ["acme-key", "groq-api-key"], "--rules adds")
        _, report = lib.run_json(["scan", data, "--only-rules", rules])
        assert_eq([f["rule_id"] for f in report["findings"]], ["acme-key"],
                  "--only-rules replaces")
        p = lib.run(["rules", "--check", rules])
        assert_eq(p.returncode, 0, "rules --check on a user file")


@test
def output_file_is_written_and_missing_dir_is_an_error():
    key = lib.make_key("groq-api-key", 1)
    with lib.TempDir() as tmp:
        out = os.path.join(tmp, "r.json")
        p = lib.run(["scan", "-", "--format", "json", "--output", out], input=key.encode())
        assert_eq(p.returncode, 1)
        assert_eq(p.stdout, b"", "nothing on stdout with --output")
        with open(out) as f:
            assert_eq(len(json.load(f)["findings"]), 1)
        p = lib.run(["scan", "-", "--output", os.path.join(tmp, "no/such/dir/r.json")],
                    input=key.encode())
        assert_eq(p.returncode, 2, "missing directory")
        assert b"no/such/dir" in p.stderr


@test
def help_and_version():
    p = lib.run(["--help"])
    assert_eq(p.returncode, 0)
    assert b"usage: keyleak" in p.stdout
    p = lib.run(["version"])
    assert p.stdout.startswith(b"keyleak "), p.stdout


if __name__ == "__main__":
    lib.main()
