#!/usr/bin/env python3
"""End-to-end tests for what someone coming from gitleaks or TruffleHog
expects (issue 25): paths named from the repository root whatever the
argument and the current directory, the repository's config applied to
every scan inside it, history's default refs, --fail-on, options refused
where they do not apply, -V, reachability labels, the text report's order
and compact form, and the organisation audit's fixes."""
import json
import os
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


if __name__ == "__main__":
    lib.main()
