#!/usr/bin/env python3
"""End-to-end tests for the .env / .gitignore policy rules.

Every case builds a real repository with git and runs the real ./keyleak:
dotenv-committed (scan, staged, history, audit), dotenv-not-ignored and
gitignore-missing-dotenv, each both ways, with ignore rules at every level
git knows (nested .gitignore, .git/info/exclude, core.excludesFile).
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

POLICY = ("dotenv-committed", "dotenv-not-ignored", "gitignore-missing-dotenv")


def policy(report, rule=None):
    """{(rule_id, path)} of the report's policy findings."""
    return {(f["rule_id"], f["path"]) for f in report["findings"]
            if f["kind"] == "policy" and (rule is None or f["rule_id"] == rule)}


def scan(repo, *args, cmd="scan"):
    return lib.run_json([cmd, repo, "--no-repo-config"] + list(args))


def repo_with(base, tracked=(), untracked=(), gitignore=None):
    """A repo with tracked files committed, then untracked files written."""
    repo = lib.new_repo(base)
    if gitignore is not None:
        lib.write(os.path.join(repo, ".gitignore"), gitignore)
        tracked = list(tracked) + [".gitignore"]
    for rel in tracked:
        if rel != ".gitignore":
            lib.write(os.path.join(repo, rel), "LOG_LEVEL=debug\n")
    if tracked:
        lib.git(repo, "add", "-f", "--", *tracked)
        lib.git(repo, "commit", "-q", "-m", "init")
    for rel in untracked:
        lib.write(os.path.join(repo, rel), "LOG_LEVEL=debug\n")
    return repo


# ------------------------------------------------------ dotenv-committed

@lib.test
def tracked_env_files_are_committed_findings():
    with lib.TempDir() as base:
        names = [".env", "app/.env.production", ".envrc", "deploy/.env.local",
                 ".env.vault"]
        repo = repo_with(base, tracked=names, gitignore=".env\n.env.*\n.envrc\n")
        code, rep = scan(repo)
        lib.assert_eq(code, 1, "exit code")
        lib.assert_eq(policy(rep, "dotenv-committed"),
                      {("dotenv-committed", n) for n in names}, "findings")
        f = [f for f in rep["findings"] if f["path"] == ".env"][0]
        assert f["remediation"] and "git rm --cached" in f["remediation"]
        assert f["severity"] == "high"


@lib.test
def templates_and_lookalikes_are_not_committed_findings():
    with lib.TempDir() as base:
        names = [".env.example", "a/.env.sample", ".env.template", ".env.dist",
                 ".env.defaults", "b/.env.local.example", ".env/bin/activate",
                 "env.py", "dotenv.md", "prod.env.md", ".environment"]
        repo = repo_with(base, tracked=names, gitignore=".env\n")
        code, rep = scan(repo)
        lib.assert_eq(policy(rep), set(), "policy findings")
        lib.assert_eq(code, 0, "exit code")


@lib.test
def key_in_template_is_a_key_finding():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        key = lib.make_key("groq-api-key", 7)
        lib.write(os.path.join(repo, ".gitignore"), ".env\n")
        lib.write(os.path.join(repo, ".env.example"),
                  "GROQ_API_KEY=%s\nOPENAI_API_KEY=sk-proj-YOUR_KEY_HERE\n" % key)
        lib.git(repo, "add", "-A")
        lib.git(repo, "commit", "-q", "-m", "template")
        code, rep = scan(repo)
        lib.assert_eq(code, 1, "exit code")
        keys = [(f["rule_id"], f["path"], f["line"]) for f in rep["findings"]]
        lib.assert_eq(keys, [("groq-api-key", ".env.example", 1)], "findings")


@lib.test
def staged_env_file_blocks_the_commit():
    with lib.TempDir() as base:
        repo = repo_with(base, tracked=["README.md"], gitignore="")
        lib.write(os.path.join(repo, "svc/.env"), "DEBUG=1\n")
        lib.write(os.path.join(repo, ".env.example"), "DEBUG=0\n")
        lib.git(repo, "add", "--", "svc/.env", ".env.example")
        code, rep = scan(repo, cmd="staged")
        lib.assert_eq(code, 1, "staged exit code")
        lib.assert_eq(policy(rep), {("dotenv-committed", "svc/.env")}, "staged")
        lib.git(repo, "rm", "-q", "--cached", "svc/.env")
        code, rep = scan(repo, cmd="staged")
        lib.assert_eq((code, policy(rep)), (0, set()), "after git rm --cached")


@lib.test
def history_reports_adding_and_removing_commits():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.commit_file(repo, "README.md", "hi\n", "init")
        added = lib.commit_file(repo, "config/.env", "DEBUG=1\n", "add env")
        lib.commit_file(repo, "config/.env", "DEBUG=2\n", "edit env")
        lib.git(repo, "rm", "-q", "config/.env")
        lib.git(repo, "commit", "-q", "-m", "remove env")
        removed = lib.git(repo, "rev-parse", "HEAD")
        kept = lib.commit_file(repo, ".env.staging", "DEBUG=3\n", "staging env")
        lib.commit_file(repo, ".env.example", "DEBUG=0\n", "template")
        for cmd in ("history", "audit"):
            code, rep = scan(repo, cmd=cmd)
            lib.assert_eq(code, 1, cmd + " exit code")
            committed = [f for f in rep["findings"]
                         if f["rule_id"] == "dotenv-committed"]
            found = {f["path"]: f for f in committed}
            lib.assert_eq(sorted(f["path"] for f in committed),
                          [".env.staging", "config/.env"], cmd)
            gone = found["config/.env"]["provenance"]
            lib.assert_eq((gone["commit"], gone["removed_in"], gone["in_head"]),
                          (added, removed, False), cmd + " removed file")
            here = found[".env.staging"]["provenance"]
            lib.assert_eq((here["commit"], here["removed_in"], here["in_head"]),
                          (kept, None, True), cmd + " present file")


@lib.test
def history_without_env_files_has_no_policy_findings():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.commit_file(repo, ".gitignore", ".env\n", "init")
        lib.commit_file(repo, ".env.example", "A=\n", "template")
        lib.write(os.path.join(repo, ".env"), "A=1\n")  # ignored, untracked
        for cmd in ("history", "audit"):
            code, rep = scan(repo, cmd=cmd)
            lib.assert_eq((code, policy(rep)), (0, set()), cmd)


# ---------------------------------------------------- dotenv-not-ignored

@lib.test
def untracked_env_file_not_ignored():
    with lib.TempDir() as base:
        repo = repo_with(base, tracked=["README.md"], gitignore="node_modules/\n",
                         untracked=[".env", "web/.env.local", ".env.example"])
        code, rep = scan(repo)
        lib.assert_eq(code, 1, "exit code")
        lib.assert_eq(policy(rep, "dotenv-not-ignored"),
                      {("dotenv-not-ignored", ".env"),
                       ("dotenv-not-ignored", "web/.env.local")}, "findings")


@lib.test
def ignore_rules_at_every_level_silence_not_ignored():
    with lib.TempDir() as base:
        # top-level .gitignore, nested .gitignore, info/exclude, excludesFile
        repo = repo_with(base, tracked=["README.md", "web/.gitignore"],
                         gitignore=".env\n",
                         untracked=[".env", "web/.env.local", "api/.env.prod",
                                    "tools/.envrc"])
        lib.write(os.path.join(repo, "web/.gitignore"), ".env.local\n.env\n")
        lib.git(repo, "add", "web/.gitignore")
        lib.git(repo, "commit", "-q", "-m", "nested ignore")
        lib.write(os.path.join(repo, ".git/info/exclude"), "api/.env.prod\n")
        excludes = os.path.join(base, "global-excludes")
        lib.write(excludes, ".envrc\n")
        lib.git(repo, "config", "core.excludesFile", excludes)
        code, rep = scan(repo)
        lib.assert_eq((code, policy(rep)), (0, set()), "all ignored")


@lib.test
def negated_ignore_rule_is_honoured():
    with lib.TempDir() as base:
        repo = repo_with(base, tracked=["README.md"],
                         gitignore=".env*\n!.env.local\n",
                         untracked=[".env", ".env.local"])
        code, rep = scan(repo)
        lib.assert_eq(policy(rep), {("dotenv-not-ignored", ".env.local")},
                      "findings")


# ---------------------------------------------- gitignore-missing-dotenv

@lib.test
def template_without_ignore_rule():
    with lib.TempDir() as base:
        repo = repo_with(base, tracked=[".env.example", "svc/api/.env.sample"])
        code, rep = scan(repo)
        # Low severity: reported, but under the default --fail-on medium
        # it does not fail the scan; --fail-on low does.
        lib.assert_eq(code, 0, "exit code")
        code, _ = scan(repo, "--fail-on", "low")
        lib.assert_eq(code, 1, "exit code with --fail-on low")
        lib.assert_eq(policy(rep),
                      {("gitignore-missing-dotenv", ".gitignore"),
                       ("gitignore-missing-dotenv", "svc/api/.gitignore")},
                      "findings")
        msg = [f["message"] for f in rep["findings"] if f["path"] == ".gitignore"][0]
        assert "`.env`" in msg, msg


@lib.test
def ignore_rule_at_any_level_silences_missing_dotenv():
    for rules in (".env\n", "*.env\n", ".env*\n", "**/.env\n"):
        with lib.TempDir() as base:
            repo = repo_with(base, tracked=[".env.example", "svc/api/.env.sample"],
                             gitignore=rules)
            code, rep = scan(repo)
            lib.assert_eq((code, policy(rep)), (0, set()), repr(rules))
    with lib.TempDir() as base:  # nested .gitignore covers only its dir
        repo = repo_with(base, tracked=["svc/.env.example", "svc/.gitignore"])
        lib.write(os.path.join(repo, "svc/.gitignore"), ".env\n")
        lib.git(repo, "add", "svc/.gitignore")
        lib.git(repo, "commit", "-q", "-m", "ignore")
        code, rep = scan(repo)
        lib.assert_eq((code, policy(rep)), (0, set()), "nested rule")


@lib.test
def anchored_rule_leaves_subdirectories_uncovered():
    with lib.TempDir() as base:
        repo = repo_with(base, tracked=[".env.example", "svc/.env.example"],
                         gitignore="/.env\n")
        code, rep = scan(repo)
        lib.assert_eq(policy(rep), {("gitignore-missing-dotenv", "svc/.gitignore")},
                      "findings")


@lib.test
def repository_without_env_files_is_clean():
    with lib.TempDir() as base:
        repo = repo_with(base, tracked=["README.md", "src/env.py", ".env/lib/x.py"])
        code, rep = scan(repo)
        lib.assert_eq((code, policy(rep)), (0, set()), "no env files")


@lib.test
def ignored_env_file_still_needs_dotenv_rule():
    with lib.TempDir() as base:
        repo = repo_with(base, tracked=["README.md"], gitignore=".env.local\n",
                         untracked=[".env.local"])
        code, rep = scan(repo)
        lib.assert_eq(policy(rep), {("gitignore-missing-dotenv", ".gitignore")},
                      "findings")


# ----------------------------------------------------------------- misc

@lib.test
def subdirectory_scan_reports_root_relative_paths():
    with lib.TempDir() as base:
        repo = repo_with(base, tracked=["svc/.env", "other/.env"])
        code, rep = scan(os.path.join(repo, "svc"))
        # Only svc/ is judged; its paths are the repository's own.
        lib.assert_eq(policy(rep), {("dotenv-committed", "svc/.env"),
                                    ("gitignore-missing-dotenv", "svc/.gitignore")},
                      "findings")


@lib.test
def plain_directory_has_no_policy_findings():
    with lib.TempDir() as base:
        d = os.path.join(base, "plain")
        lib.write(os.path.join(d, ".env"), "A=1\n")
        code, rep = scan(d)
        lib.assert_eq((code, policy(rep)), (0, set()), "outside git")


@lib.test
def policy_findings_in_sarif_and_text():
    with lib.TempDir() as base:
        repo = repo_with(base, tracked=[".env"])
        p = lib.run(["scan", repo, "--format", "sarif"])
        lib.assert_eq(p.returncode, 1, "sarif exit")
        sarif = json.loads(p.stdout)
        ids = {r["ruleId"] for r in sarif["runs"][0]["results"]}
        lib.assert_eq(ids, {"dotenv-committed", "gitignore-missing-dotenv"}, "sarif")
        p = lib.run(["scan", repo, "--no-color"])
        text = p.stdout.decode()
        assert "dotenv-committed" in text and "gitignore-missing-dotenv" in text, text


@lib.test
def config_can_disable_policy_rules():
    with lib.TempDir() as base:
        repo = repo_with(base, tracked=[".env"], untracked=[".env.dev"])
        lib.write(os.path.join(repo, ".keyleak.json"),
                  '{"disable_rules": ["dotenv-committed", "dotenv-not-ignored",'
                  ' "gitignore-missing-dotenv"]}')
        code, rep = lib.run_json(["scan", repo])
        lib.assert_eq((code, policy(rep)), (0, set()), "disabled")


if __name__ == "__main__":
    lib.main()
