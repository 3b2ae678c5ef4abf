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
    repo = lib.new_repo(base)
    lib.write(os.path.join(repo, ".gitignore"), ".env\n")
    lib.write(os.path.join(repo, "src/app.py"), 'GROQ_API_KEY = "%s"\n' % GROQ)
    lib.write(os.path.join(repo, "src/fixtures/hf.txt"), "token: %s\n" % HF)
    if config is not None:
        lib.write(os.path.join(repo, ".keyleak.json"), json.dumps(config))
    lib.git(repo, "add", "-A")
    lib.git(repo, "commit", "-q", "-m", "init")
    return repo


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
