#!/usr/bin/env python3
"""End-to-end tests for what someone coming from gitleaks or TruffleHog
expects (issue 25): paths named from the repository root whatever the
argument and the current directory, the repository's config applied to
every scan inside it, history's default refs, --fail-on, options refused
where they do not apply, -V, reachability labels, the text report's order
and compact form, and the organisation audit's fixes."""
import json
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

GROQ = lib.make_key("groq-api-key", 25)
HF = lib.make_key("huggingface-access-token", 25)


def src_repo(base, config=None):
    return lib.committed_repo(base, {
        ".gitignore": ".env\n",
        "src/app.py": 'GROQ_API_KEY = "%s"\n' % GROQ,
        "src/fixtures/hf.txt": "token: %s\n" % HF}, config)


def paths(report):
    return sorted(f["path"] for f in report["findings"])


def fingerprints(report):
    return sorted(f["fingerprint"] for f in report["findings"])


# --------------------------------------------------------------- paths

@lib.test
def paths_are_named_from_the_repository_root():
    with lib.TempDir() as base:
        repo = src_repo(base)
        want = ["src/app.py", "src/fixtures/hf.txt"]
        prints = None
        for args, cwd in ((["scan", repo], None), (["scan", "."], repo),
                          (["scan", "src"], repo), (["scan", "."],
                          os.path.join(repo, "src")),
                          (["scan", os.path.join(repo, "src")], base),
                          (["scan", "../src"], os.path.join(repo, "src"))):
            code, rep = lib.run_json(args, cwd=cwd)
            lib.assert_eq(code, 1, "exit of %r in %s" % (args, cwd))
            lib.assert_eq(paths(rep), want, "paths of %r in %s" % (args, cwd))
            if prints is None:
                prints = fingerprints(rep)
            lib.assert_eq(fingerprints(rep), prints, "fingerprints")
        for args, cwd in ((["scan", "src/app.py"], repo),
                          (["scan", "app.py"], os.path.join(repo, "src")),
                          (["scan", os.path.join(repo, "src/app.py")], "/")):
            code, rep = lib.run_json(args, cwd=cwd)
            lib.assert_eq(paths(rep), ["src/app.py"], "path of %r" % (args,))


@lib.test
def outside_a_repository_paths_stay_relative_to_the_argument():
    with lib.TempDir() as base:
        d = os.path.join(base, "plain")
        lib.write(os.path.join(d, "src/app.py"), 'K = "%s"\n' % GROQ)
        code, rep = lib.run_json(["scan", os.path.join(d, "src")])
        lib.assert_eq(paths(rep), ["app.py"], "plain directory")


@lib.test
def repository_config_applies_from_a_subdirectory():
    with lib.TempDir() as base:
        repo = src_repo(base, {"skip_paths": ["src/fixtures/*"]})
        for args, cwd in ((["scan", "."], os.path.join(repo, "src")),
                          (["scan", "src"], repo),
                          (["scan", "src/fixtures/hf.txt"], repo),
                          (["scan", "hf.txt"],
                           os.path.join(repo, "src/fixtures"))):
            code, rep = lib.run_json(args, cwd=cwd)
            assert "src/fixtures/hf.txt" not in paths(rep), (args, cwd, rep)
            assert rep.get("config"), "config not recorded for %r" % (args,)


@lib.test
def baseline_holds_across_ways_of_naming():
    with lib.TempDir() as base:
        repo = src_repo(base)
        bl = os.path.join(base, "bl.json")
        p = lib.run(["baseline", repo, "--output", bl])
        lib.assert_eq(p.returncode, 0, "baseline")
        for args, cwd in ((["scan", "src", "--baseline", bl], repo),
                          (["scan", ".", "--baseline", bl],
                           os.path.join(repo, "src")),
                          (["scan", "src/app.py", "--baseline", bl], repo)):
            code, rep = lib.run_json(args, cwd=cwd)
            lib.assert_eq((code, rep["findings"]), (0, []),
                          "baselined findings back with %r" % (args,))


# -------------------------------------------------------------- defaults

@lib.test
def history_reads_every_ref_unless_told():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.commit_file(repo, "README", "hi\n", "init")
        lib.git(repo, "checkout", "-q", "-b", "topic")
        lib.commit_file(repo, "k.py", 'K = "%s"\n' % GROQ, "key")
        lib.git(repo, "checkout", "-q", "main")
        code, rep = lib.run_json(["history", repo])
        lib.assert_eq((code, paths(rep)), (1, ["k.py"]), "every ref")
        code, rep = lib.run_json(["history", repo, "HEAD"])
        lib.assert_eq((code, paths(rep)), (0, []), "HEAD only when named")
        code, rep = lib.run_json(["history", repo, "--range", "main..topic"])
        lib.assert_eq((code, paths(rep)), (1, ["k.py"]), "a range")


@lib.test
def fail_on_decides_the_exit_status():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        # only a template: a low finding (a .env would not be ignored)
        lib.commit_file(repo, ".env.example", "DEBUG=1\n")
        code, rep = lib.run_json(["scan", repo])
        lib.assert_eq((code, [f["severity"] for f in rep["findings"]]),
                      (0, ["low"]), "a low finding is reported, exit 0")
        code, _ = lib.run_json(["scan", repo, "--fail-on", "low"])
        lib.assert_eq(code, 1, "--fail-on low")
        lib.write(os.path.join(repo, ".keyleak.json"),
                  json.dumps({"fail_on": "low"}))
        code, _ = lib.run_json(["scan", repo])
        lib.assert_eq(code, 1, "fail_on in .keyleak.json")
        code, _ = lib.run_json(["scan", repo, "--fail-on", "medium"])
        lib.assert_eq(code, 0, "the command line wins over the config")
        lib.commit_file(repo, "k.py", 'K = "%s"\n' % GROQ)
        for level, want in (("high", 1), ("critical", 0)):
            code, _ = lib.run_json(["scan", repo, "--fail-on", level,
                                    "--no-repo-config"])
            lib.assert_eq(code, want, "groq key (high) with --fail-on %s"
                          % level)
        lib.write(os.path.join(repo, ".keyleak.json"),
                  json.dumps({"fail_on": "severe"}))
        p = lib.run(["scan", repo])
        lib.assert_eq(p.returncode, 2, "a bad fail_on")
        assert b"fail_on" in p.stderr, p.stderr


@lib.test
def options_are_refused_where_they_do_not_apply():
    with lib.TempDir() as base:
        repo = src_repo(base)
        for args, opt, taker in (
                (["scan", repo, "--range", "a..b"], "--range", "history"),
                (["scan", repo, "--all"], "--all", "history"),
                (["staged", repo, "--all"], "--all", "history"),
                (["audit", repo, "--all"], "--all", "history"),
                (["scan", repo, "--check"], "--check", "rules"),
                (["scan", repo, "--fetch-missing"], "--fetch-missing",
                 "history"),
                (["rules", "--fail-on", "low"], "--fail-on", "scan")):
            p = lib.run(args)
            err = p.stderr.decode()
            lib.assert_eq(p.returncode, 2, "exit of %r" % (args,))
            assert opt in err and "`keyleak %s`" % taker in err, (args, err)
        p = lib.run(["scan", repo, "--jobs", "2"])
        lib.assert_eq(p.returncode, 2, "--jobs outside audit --repos")


@lib.test
def version_short_option():
    long_ = lib.run(["--version"])
    for args in (["-V"], ["scan", "-V"]):
        p = lib.run(args)
        lib.assert_eq((p.returncode, p.stdout), (0, long_.stdout),
                      "%r" % (args,))


@lib.test
def repo_jobs_and_the_old_jobs_spelling():
    with lib.TempDir() as base:
        repo = src_repo(base)
        lst = os.path.join(base, "repos.txt")
        lib.write(lst, repo + "\n")
        p = lib.run(["audit", "--repos", lst, "--repo-jobs", "2", "-q"])
        lib.assert_eq(p.returncode, 1, "--repo-jobs")
        p = lib.run(["audit", "--repos", lst, "--jobs", "2", "-q"])
        lib.assert_eq(p.returncode, 1, "--jobs still works")
        assert b"--repo-jobs" in p.stderr, p.stderr


def hook_commit(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="Ann", GIT_AUTHOR_EMAIL="a@x",
               GIT_COMMITTER_NAME="Ann", GIT_COMMITTER_EMAIL="a@x",
               GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
               KEYLEAK=lib.KEYLEAK)
    return subprocess.run(["git", "-C", repo, "commit", "-q"] + list(args),
                          capture_output=True, env=env)


@lib.test
def hook_names_the_policy_and_its_way_out():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.commit_file(repo, "README", "hi\n", "init")
        lib.assert_eq(lib.run(["install-hook", repo]).returncode, 0, "install")
        lib.write(os.path.join(repo, "config/.env.test"), "DEBUG=1\n")
        lib.git(repo, "add", "-A")
        p = hook_commit(repo, "-m", "env")
        err = p.stderr.decode()
        lib.assert_eq(p.returncode, 1, "a staged .env blocks")
        assert "dotenv-committed" in err and "policy finding" in err, err
        assert '"allow_env_files"' in err, err
        # the way out the message names
        lib.write(os.path.join(repo, ".keyleak.json"),
                  json.dumps({"allow_env_files": ["config/.env.test"]}))
        lib.git(repo, "add", "-A")
        p = hook_commit(repo, "-m", "env allowed")
        lib.assert_eq(p.returncode, 0, "allowed: %s" % p.stderr.decode())
        # an allowed env file is still scanned for secrets
        lib.write(os.path.join(repo, "config/.env.test"),
                  "DEBUG=1\nGROQ_API_KEY=%s\n" % GROQ)
        lib.git(repo, "add", "-A")
        p = hook_commit(repo, "-m", "key")
        lib.assert_eq(p.returncode, 1, "a key in an allowed env file")
        assert "groq-api-key" in p.stderr.decode(), p.stderr
        lib.assert_no_secret(p.stdout + p.stderr, [GROQ], "hook output")
        code, rep = lib.run_json(["history", repo])
        lib.assert_eq([f["rule_id"] for f in rep["findings"]], [],
                      "history: the allowed file is no policy finding")


# ------------------------------------------------------ where a key lives

def commit_env(repo):
    return {"GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}


def reach_of(rep, path):
    """(reachable, refs sorted, refs_total) of the finding in path."""
    p = next(f["provenance"] for f in rep["findings"] if f["path"] == path)
    return p["reachable"], sorted(p["refs"]), p["refs_total"]


@lib.test
def findings_say_reachable_from_which_refs_or_unreachable():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.commit_file(repo, "README", "hi\n", "init")
        gone = lib.make_key("groq-api-key", 61)
        lib.commit_file(repo, "a.py", 'K = "%s"\n' % gone, "key")
        # amend the key away: only the reflog still holds that commit
        lib.write(os.path.join(repo, "a.py"), "K = None\n")
        lib.git(repo, "add", "a.py")
        lib.git(repo, "commit", "-q", "--amend", "-m", "no key")
        lib.git(repo, "checkout", "-q", "-b", "topic")
        lib.commit_file(repo, "b.py", 'K = "%s"\n' % GROQ, "topic key")
        lib.git(repo, "tag", "v1")
        lib.git(repo, "checkout", "-q", "main")
        code, rep = lib.run_json(["audit", repo])
        lib.assert_eq(code, 1, "audit exit")
        lib.assert_eq(reach_of(rep, "b.py"), (True, ["topic", "v1"], 2),
                      "b.py reach")
        lib.assert_eq(reach_of(rep, "a.py"), (False, [], 0),
                      "the amended-away key")
        text = lib.run(["audit", repo, "--no-color"]).stdout.decode()
        assert "reachable from topic, v1" in text or \
               "reachable from v1, topic" in text, text
        assert "unreachable: no branch, tag or other ref" in text, text
        compact = lib.run(["audit", repo, "--format", "compact"]).stdout.decode()
        lines = [l for l in compact.splitlines() if "groq-api-key" in l]
        lib.assert_eq(sorted(l.split()[-1] for l in lines),
                      ["reachable", "unreachable"], "compact labels")
        # history of topic alone: a ref outside its commits ("other") means
        # the refs are walked rather than read from the loaded graph
        lib.git(repo, "checkout", "-q", "-b", "other", "main")
        lib.commit_file(repo, "c.txt", "x\n", "other work")
        lib.git(repo, "checkout", "-q", "main")
        code, rep = lib.run_json(["history", repo, "topic"])
        lib.assert_eq(reach_of(rep, "b.py"), (True, ["topic", "v1"], 2),
                      "b.py reach, refs walked")


@lib.test
def dotenv_committed_says_which_ref_still_holds_it():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.commit_file(repo, "README", "hi\n", "init")
        lib.git(repo, "checkout", "-q", "-b", "topic")
        lib.commit_file(repo, ".env", "DEBUG=1\n", "env")
        lib.git(repo, "checkout", "-q", "main")
        code, rep = lib.run_json(["history", repo])
        msgs = [f["message"] for f in rep["findings"]
                if f["rule_id"] == "dotenv-committed"]
        lib.assert_eq(len(msgs), 1, "one finding")
        assert "HEAD does not have it, but it is still in topic" in msgs[0], msgs
        assert "still there" not in msgs[0], msgs
        lib.git(repo, "merge", "-q", "topic")
        code, rep = lib.run_json(["history", repo])
        msgs = [f["message"] for f in rep["findings"]
                if f["rule_id"] == "dotenv-committed"]
        assert msgs and "HEAD still has it" in msgs[0], msgs


@lib.test
def text_is_sorted_by_severity_with_each_fix_once():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        lib.write(os.path.join(repo, ".env.example"), "DEBUG=1\n")
        for i, name in enumerate(("a.py", "b.py", "c.py")):
            lib.write(os.path.join(repo, name), 'K = "%s"\n' %
                      lib.make_key("groq-api-key", 70 + i))
        lib.write(os.path.join(repo, "0.py"), 'K = "%s"\n' %
                  lib.make_key("anthropic-api-key", 70))
        lib.git(repo, "add", "-A")
        lib.git(repo, "commit", "-q", "-m", "keys")
        p = lib.run(["scan", repo, "--no-color"])
        text = p.stdout.decode()
        heads = [l.split()[0] for l in text.splitlines()
                 if l and l.split()[0] in ("CRITICAL", "HIGH", "MEDIUM", "LOW")]
        order = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3}
        lib.assert_eq(heads, sorted(heads, key=order.get), "severity order")
        lib.assert_eq(heads[0], "CRITICAL", "the anthropic key first")
        fixes = [l for l in text.splitlines() if l.strip().startswith("fix")]
        lib.assert_eq(len(fixes), 3, "one fix per rule (%s)" % fixes)
        compact = lib.run(["scan", repo, "--format", "compact"]).stdout.decode()
        rows = [l for l in compact.splitlines() if l and l.split()[0] in
                ("critical", "high", "medium", "low")]
        lib.assert_eq(len(rows), 5, "one line per finding")
        lib.assert_eq([r.split()[0] for r in rows],
                      ["critical", "high", "high", "high", "low"], "order")
        lib.assert_no_secret(compact, [lib.make_key("groq-api-key", 70)])


# ------------------------------------------------------- organisation audits

def org_audit(args, cwd=None):
    return lib.run(["audit", "--repos"] + args, cwd=cwd)


@lib.test
def relative_and_absolute_paths_are_one_repository():
    with lib.TempDir() as base:
        repo = lib.new_repo(base, "srv-src")
        lib.commit_file(repo, "k.py", 'K = "%s"\n' % GROQ)
        bare = os.path.join(base, "srv.git")
        lib.git(repo, "clone", "-q", "--bare", repo, bare)
        work = os.path.join(base, "work")
        os.makedirs(work)
        lst = os.path.join(work, "repos.txt")
        lib.write(lst, "../srv.git\n%s\n" % bare)
        out = os.path.join(work, "org.jsonl")
        p = org_audit([lst, "--format", "jsonl", "-o", out, "-q"], cwd=work)
        lib.assert_eq(p.returncode, 1, "exit (%s)" % p.stderr)
        with open(out) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        repos = [l for l in lines if l["type"] == "repository"]
        lib.assert_eq(len(repos), 1, "audited once")
        p = lib.run(["merge", out, "--format", "sarif"], cwd=work)
        uris = [v["repositoryUri"] for r in json.loads(p.stdout)["runs"]
                for v in r.get("versionControlProvenance", [])]
        lib.assert_eq(uris, ["file://" + os.path.realpath(bare)],
                      "absolute file URI in SARIF")


@lib.test
def resumed_repositories_are_counted():
    with lib.TempDir() as base:
        specs = []
        for i in range(3):
            r = lib.new_repo(base, "r%d" % i)
            lib.commit_file(r, "k.py", 'K = "%s"\n' %
                            lib.make_key("groq-api-key", 40 + i))
            specs.append(r)
        lst = os.path.join(base, "repos.txt")
        lib.write(lst, "\n".join(specs) + "\n")
        out = os.path.join(base, "org.jsonl")
        p = org_audit([lst, "--format", "jsonl", "-o", out])
        lib.assert_eq(p.returncode, 1, "first run")
        p = org_audit([lst, "--format", "jsonl", "-o", out, "--resume"])
        lib.assert_eq(p.returncode, 1, "resumed run: the kept findings count")
        err = p.stderr.decode()
        assert "3 of 3 listed repositories audited (3 kept by --resume), " \
               "3 findings" in err, err


@lib.test
def aws_pair_line_in_merged_text():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        akid = lib.make_key("aws-access-key", seed=4)
        secret = lib.expand("{40:b64}", random.Random(9))
        lib.commit_file(repo, "credentials", "[default]\naws_access_key_id = "
                        "%s\naws_secret_access_key = %s\n" % (akid, secret))
        single = lib.run(["audit", repo]).stdout.decode()
        lst = os.path.join(base, "repos.txt")
        lib.write(lst, repo + "\n")
        out = os.path.join(base, "org.jsonl")
        org_audit([lst, "--format", "jsonl", "-o", out, "-q"])
        for name, text in (("merge", lib.run(["merge", out]).stdout.decode()),
                           ("audit --repos",
                            org_audit([lst, "-q"]).stdout.decode())):
            pair = [l for l in text.splitlines() if l.strip().startswith("pair")]
            want = [l for l in single.splitlines()
                    if l.strip().startswith("pair")]
            assert want, single
            lib.assert_eq(pair, want, "pair line in %s text" % name)
            lib.assert_no_secret(text, [secret], name)


@lib.test
def parallel_script_reports_progress_and_the_merged_report():
    with lib.TempDir() as base:
        specs = []
        for i in range(3):
            r = lib.new_repo(base, "r%d" % i)
            lib.commit_file(r, "README", "hi %d\n" % i)
            specs.append(r)
        lst = os.path.join(base, "repos.txt")
        lib.write(lst, "\n".join(specs) + "\n")
        out = os.path.join(base, "org")
        env = dict(os.environ, KEYLEAK=lib.KEYLEAK, PATH="/usr/bin:/bin")
        p = subprocess.run(["sh", os.path.join(lib.ROOT, "ci",
                                               "org-audit-parallel.sh"),
                            lst, "2", out], env=env, capture_output=True,
                           timeout=300)
        err = p.stderr.decode()
        lib.assert_eq(p.returncode, 0, "status (%s)" % err)
        assert "auditing the 3 repositories" in err, err
        assert "shard 0/2:" in err and "shard 1/2:" in err, err
        assert ("merged report: %s/keyleak.json" % out) in err, err


if __name__ == "__main__":
    lib.main()
