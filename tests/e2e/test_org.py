"""End-to-end tests of organisation-wide audits: `audit --repos` over real
local repositories (paths and file:// URLs mirrored with libgit2), shards,
--jobs, JSON Lines with --resume after a killed worker, `keyleak merge`,
the incremental --state-dir, and the CI templates in ci/."""
import hashlib
import json
import os
import random
import signal
import subprocess
import time

import lib
from lib import assert_eq, git, test

RULE = "anthropic-api-key"
SECRETS = []


def key(seed):
    k = lib.make_key(RULE, seed)
    SECRETS.append(k)
    return k


def make_org(d, n=10, urls=True):
    """n repositories; even ones hold a key. Odd-numbered ones (when urls)
    are bare repositories listed as file:// URLs (mirrored), the rest as
    paths. Returns (list file, specs)."""
    specs = []
    for i in range(n):
        repo = lib.new_repo(d, "r%02d" % i)
        lib.commit_file(repo, "README", "repo %d\n" % i, "init")
        if i % 2 == 0:
            lib.commit_file(repo, "conf.py", 'KEY = "%s"\n' % key(100 + i),
                            "config")
        if urls and i % 2 == 1:
            bare = os.path.join(d, "r%02d.git" % i)
            git(repo, "clone", "-q", "--bare", repo, bare)
            specs.append("file://" + bare)
        else:
            specs.append(repo)
    path = os.path.join(d, "repos.txt")
    lib.write(path, "# the organisation\n\n" + "\n".join(specs) + "\n")
    return path, specs


def audit(d, lst, *extra, env=None):
    args = ["audit", "--repos", lst, "--mirror-dir",
            os.path.join(d, "mirrors"), "-q"] + list(extra)
    return lib.run(args, env=env)


def lines_of(path_or_bytes):
    if isinstance(path_or_bytes, bytes):
        text = path_or_bytes.decode()
    else:
        with open(path_or_bytes) as f:
            text = f.read()
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def summaries(lines):
    return [l for l in lines if l["type"] == "repository"]


def fingerprints(lines):
    return sorted((l["repository_id"], l["fingerprint"]) for l in lines
                  if l["type"] == "finding")


def no_secret(*texts):
    for t in texts:
        lib.assert_no_secret(t, SECRETS)


@test
def sharding_covers_every_repository_once():
    with lib.TempDir() as d:
        lst, specs = make_org(d, 12)
        out = os.path.join(d, "all.jsonl")
        p = audit(d, lst, "--format", "jsonl", "-o", out)
        assert_eq(p.returncode, 1, "unsharded exit (findings)")
        every = sorted(s["repository_id"] for s in summaries(lines_of(out)))
        assert_eq(len(every), 12, "all repositories audited")
        assert_eq(len(set(every)), 12, "distinct ids")
        shuffled = os.path.join(d, "shuffled.txt")
        rnd = list(specs)
        random.Random(7).shuffle(rnd)
        lib.write(shuffled, "\n".join(rnd) + "\n")
        for n in (1, 2, 7):
            seen = {}
            for lst_file in (lst, shuffled):
                got = []
                for k in range(n):
                    p = audit(d, lst_file, "--shard", "%d/%d" % (k, n),
                              "--format", "jsonl")
                    assert p.returncode in (0, 1), p.stderr
                    ids = [s["repository_id"] for s in summaries(lines_of(p.stdout))]
                    got += ids
                    for i in ids:
                        seen.setdefault(i, set()).add(k)
                assert_eq(sorted(got), every, "N=%d covers each once" % n)
            assert all(len(v) == 1 for v in seen.values()), \
                "a repository changed shard with the list's order"
        # the id is a hash of the normalised name: a URL's case, trailing
        # slash, ".git" and credentials do not change it
        dup = os.path.join(d, "dup.txt")
        lib.write(dup, "https://Git.Example.org/org/repo.git\n"
                  "https://user:pw@git.example.org/org/repo/\n")
        p = lib.run(["audit", "--repos", dup, "--shard", "0/1", "--format",
                     "jsonl", "--mirror-dir", os.path.join(d, "m2")])
        ls = summaries(lines_of(p.stdout))
        assert_eq(len(ls), 1, "listed twice, audited once")
        assert b"same repository as line 1" in p.stderr, p.stderr
        assert_eq(ls[0]["repository_id"], hashlib.sha256(
            b"https://git.example.org/org/repo").hexdigest(), "stable id")


@test
def failed_clone_is_reported_and_the_rest_complete():
    with lib.TempDir() as d:
        lst, specs = make_org(d, 4)
        with open(lst, "a") as f:
            f.write("file://%s/missing.git\n" % d)
        p = audit(d, lst, "--format", "jsonl", "--repo-jobs", "2")
        assert_eq(p.returncode, 2, "exit: a repository failed")
        sums = {s["repository"]: s for s in summaries(lines_of(p.stdout))}
        bad = sums["file://%s/missing.git" % d]
        assert_eq(bad["status"], "error", "status")
        assert "cannot clone" in bad["error"], bad["error"]
        assert b"missing.git" in p.stderr and b"cannot clone" in p.stderr
        for s in specs:
            assert_eq(sums[s]["status"], "ok", s)
        assert_eq(sum(s["findings"] for s in sums.values()), 2, "findings")
        # mirrors were made, and a second run fetches instead of cloning
        assert_eq(len(os.listdir(os.path.join(d, "mirrors"))), 2, "mirrors")
        p2 = audit(d, lst, "--format", "jsonl", "--allow-incomplete")
        assert_eq(p2.returncode, 1, "allow-incomplete: findings decide")
        assert_eq(fingerprints(lines_of(p2.stdout)),
                  fingerprints(lines_of(p.stdout)), "same on the fetch run")


@test
def killed_worker_resumes_and_merges():
    with lib.TempDir() as d:
        lst, specs = make_org(d, 16, urls=False)
        full = os.path.join(d, "full.jsonl")
        audit(d, lst, "--format", "jsonl", "-o", full)
        want = fingerprints(lines_of(full))
        out = os.path.join(d, "out.jsonl")
        # a real kill, as soon as the first repository is written
        proc = subprocess.Popen([lib.KEYLEAK, "audit", "--repos", lst, "-q",
                                 "--format", "jsonl", "-o", out, "-j", "1"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        for _ in range(2000):
            if os.path.exists(out) and os.path.getsize(out) > 0:
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # and, so the test never depends on timing, a worker cut in the
        # middle of a repository's block: a finding line whole, the next
        # line cut short, no summary line
        with open(out) as f:
            kept = [l for l in f.read().splitlines(True) if l.endswith("\n")]
        with open(full) as f:
            flines = f.read().splitlines(True)
        cut_at = next(i for i, l in enumerate(flines)
                      if json.loads(l)["type"] == "finding")
        done = set(s["repository_id"] for s in summaries(
            [json.loads(l) for l in kept]))
        partial = json.loads(flines[cut_at])["repository_id"]
        if partial not in done:
            kept.append(flines[cut_at])
            kept.append(flines[cut_at + 1][:20])
        with open(out, "w") as f:
            f.writelines(kept)
        # merge reads the damaged file and says what is missing
        p = lib.run(["merge", out, "--repos", lst, "--format", "json"])
        assert_eq(p.returncode, 2, "merge of a cut file: incomplete")
        rep = json.loads(p.stdout)
        assert rep["incomplete"], "incomplete"
        assert any("cut short" in w for w in rep["warnings"]) or \
            partial in done, rep["warnings"]
        assert_eq(rep["summary"]["repositories"], 16, "every listed one")
        # --resume completes it: each repository exactly once
        p = audit(d, lst, "--format", "jsonl", "-o", out, "--resume")
        assert_eq(p.returncode, 1, "resume exit")
        ls = lines_of(out)
        ids = [s["repository_id"] for s in summaries(ls)]
        assert_eq(len(ids), 16, "all summaries")
        assert_eq(len(set(ids)), 16, "none twice")
        assert_eq(fingerprints(ls), want, "same findings as one run")
        p = lib.run(["merge", out, "--repos", lst, "--format", "json"])
        assert_eq(p.returncode, 1, "merge exit")
        assert_eq(json.loads(p.stdout)["incomplete"], False, "complete")
        no_secret(open(out).read(), p.stdout)


@test
def merged_shards_equal_one_run():
    with lib.TempDir() as d:
        lst, specs = make_org(d, 10)
        one = os.path.join(d, "one.jsonl")
        assert_eq(audit(d, lst, "--format", "jsonl", "-o", one,
                        "--repo-jobs", "3").returncode, 1, "one run")
        shards = []
        for k in range(3):
            s = os.path.join(d, "shard-%d.jsonl" % k)
            audit(d, lst, "--shard", "%d/3" % k, "--format", "jsonl", "-o", s)
            shards.append(s)
        p = lib.run(["merge"] + shards + ["--format", "jsonl"])
        assert_eq(p.returncode, 1, "merge exit")
        assert_eq(fingerprints(lines_of(p.stdout)), fingerprints(lines_of(one)),
                  "merged shards = one run")
        rc, rep = lib.run_json(["merge"] + shards)
        assert_eq((rc, len(rep["findings"]), rep["summary"]["repositories"]),
                  (1, 5, 10), "merged JSON")
        assert all(f["repository"] in specs for f in rep["findings"])
        # a plain JSON report merges too
        rc, single = lib.run_json(["audit", specs[0]])
        p0 = os.path.join(d, "single.json")
        lib.write(p0, json.dumps(single))
        rc, rep = lib.run_json(["merge", p0])
        assert_eq([f["fingerprint"] for f in rep["findings"]],
                  [f["fingerprint"] for f in single["findings"]], "JSON input")
        # SARIF: one run per repository, with its provenance
        sarif = os.path.join(d, "org.sarif")
        p = lib.run(["merge"] + shards + ["--format", "sarif", "-o", sarif])
        assert_eq(p.returncode, 1, "sarif exit")
        with open(sarif) as f:
            doc = json.load(f)
        runs = doc["runs"]
        assert_eq(len(runs), 10, "runs")
        uris = sorted(r["versionControlProvenance"][0]["repositoryUri"]
                      for r in runs)
        assert_eq(uris, sorted(s if s.startswith("file://") else "file://" + s
                               for s in specs), "repositoryUri")
        assert_eq(sum(len(r["results"]) for r in runs), 5, "results")
        assert all(r["versionControlProvenance"][0].get("revisionId")
                   for r in runs), "revisionId"
        text = lib.run(["merge"] + shards + ["--no-color"])
        assert b"10 repositories, 5 with findings, 5 findings" in text.stdout
        no_secret(p.stdout, text.stdout, open(sarif).read(), open(one).read())
        lib.validate_sarif(sarif)


def findings_view(lines):
    """What a finding is, including its provenance (not the timing)."""
    out = []
    for l in lines:
        if l["type"] != "finding":
            continue
        p = l["provenance"] or {}
        out.append((l["repository_id"], l["fingerprint"], l["path"], l["line"],
                    l["count"], p.get("commit"), p.get("in_head"),
                    p.get("removed_in"), tuple(p.get("commits") or ())))
    return sorted(out)


@test
def incremental_equals_full_after_commits_force_push_and_new_rules():
    with lib.TempDir() as d:
        lst, specs = make_org(d, 4)
        work = specs[0]          # a path: changed in place
        upstream = os.path.join(d, "r01")  # pushes into the mirrored r01.git
        state = os.path.join(d, "state")

        def both(*extra):
            inc = audit(d, lst, "--format", "jsonl", "--state-dir", state,
                        *extra)
            full = audit(d, lst, "--format", "jsonl", *extra)
            assert_eq(inc.returncode, full.returncode, "exit")
            a, b = lines_of(inc.stdout), lines_of(full.stdout)
            assert_eq(findings_view(a), findings_view(b), "incremental = full")
            no_secret(inc.stdout)
            fb = {s["repository"]: s for s in summaries(b)}
            for s in summaries(a):
                s["full"] = fb[s["repository"]]
            return summaries(a)

        first = both()
        assert all(s["state"] == "new" for s in first), first
        for i in range(5):
            lib.commit_file(work, "f%d.txt" % i, "plain %d\n" % i, "c%d" % i)
        lib.commit_file(work, "conf.py", "KEY = os.environ['K']\n", "rm key")
        lib.commit_file(work, "new.py", 'T = "%s"\n' % key(300), "new key")
        lib.commit_file(upstream, "up.py", 'U = "%s"\n' % key(301), "up")
        git(upstream, "push", "-q", os.path.join(d, "r01.git"), "main")
        second = both()
        by = {s["repository"]: s for s in second}
        assert_eq(by[work]["state"], "used", "state used")
        assert by[work]["carried_blobs"] >= 1, by[work]
        for s in second:
            assert_eq(s["summary"]["files_scanned"] + s["carried_blobs"],
                      s["full"]["summary"]["files_scanned"], "scanned less")
            if s["repository"] == specs[3]:   # a mirror nobody pushed to
                assert_eq(s["state"], "unchanged", "last result reused")
            elif s["repository"] not in (work, specs[1]):
                assert s["carried_blobs"] >= 1, s
        # force-push: the last commits vanish from the path repository
        git(work, "reset", "-q", "--hard", "HEAD~3")
        git(work, "reflog", "expire", "--expire=now", "--all")
        git(work, "gc", "-q", "--prune=now")
        lib.commit_file(work, "other.py", 'O = "%s"\n' % key(302), "other")
        third = both()
        assert_eq({s["repository"]: s["findings"] for s in third}[work], 2,
                  "the removed key's finding is gone, the new one is there")
        # a changed ruleset invalidates every state
        rules = os.path.join(d, "extra.json")
        lib.write(rules, json.dumps({"provider": "Example Corp", "rules": [{
            "id": "examplecorp-token", "name": "Example Corp token",
            "description": "a token", "remediation": "rotate it",
            "severity": "high", "regex": "\\bxct_[a-z]{24}\\b",
            "keywords": ["xct_"], "references": ["https://example.org"],
            "examples": ["xct_{24:lower}"],
            "negative_examples": ["xct_short"]}]}))
        lib.commit_file(work, "x.txt", "xct_" + "qwertyuiopasdfghjklzxcvb\n",
                        "custom")
        for name in os.listdir(state):   # the state keeps no secret
            with open(os.path.join(state, name), "rb") as f:
                no_secret(f.read())
        fourth = both("--rules", rules)
        w = {s["repository"]: s for s in fourth}[work]
        assert w["state"].startswith("invalidated"), w["state"]
        assert_eq(w["findings"], 3, "custom rule finds its token")


@test
def org_options_are_checked():
    with lib.TempDir() as d:
        lst, _ = make_org(d, 1, urls=False)
        for args, what in (
                (["audit", "--repos", lst, "--resume"], "--resume needs"),
                (["audit", ".", "--shard", "0/2"], "go with audit --repos"),
                (["audit", "--repos", lst, "--shard", "2/2"], "--shard"),
                (["audit", "--repos", lst, "--state-dir", d, "--show-secrets"],
                 "keeps no secrets"),
                (["merge"], "name the JSON Lines"),
                (["audit", "--repos", os.path.join(d, "nope.txt")], "nope.txt")):
            p = lib.run(args)
            assert_eq(p.returncode, 2, " ".join(args))
            assert what.encode() in p.stderr, (args, p.stderr)
        bad = os.path.join(d, "bad.txt")
        lib.write(bad, "ok/path\nwith\x1bescape\n")
        p = lib.run(["audit", "--repos", bad])
        assert_eq(p.returncode, 2, "control character")
        assert b"bad.txt:2" in p.stderr, p.stderr
        # JSON Lines work for a single repository too
        p = lib.run(["audit", os.path.join(d, "r00"), "--format", "jsonl"])
        ls = lines_of(p.stdout)
        assert_eq([l["type"] for l in ls], ["finding", "repository"], "jsonl")
        no_secret(p.stdout)


@test
def ci_templates_parse_and_the_shell_one_runs():
    try:
        import yaml
    except ImportError:
        if os.environ.get("CI"):
            raise
        raise lib.Skip("python3-yaml not installed")
    ci = os.path.join(lib.ROOT, "ci")
    gh = yaml.safe_load(open(os.path.join(ci, "org-audit-github.yml")))
    assert_eq(len(gh["jobs"]["audit"]["strategy"]["matrix"]["shard"]),
              int(gh["env"]["SHARDS"]), "matrix = SHARDS")
    assert "merge" in gh["jobs"]
    # a plan job lists the organisation once; every shard reads its list
    assert "keyleak repos" in json.dumps(gh["jobs"]["plan"])
    assert_eq(gh["jobs"]["audit"]["needs"], "plan", "shards after the plan")
    gl = yaml.safe_load(open(os.path.join(ci, "org-audit-gitlab.yml")))
    assert_eq(gl["keyleak-audit"]["parallel"], 4, "gitlab parallel")
    assert "CI_NODE_INDEX - 1" in "".join(gl["keyleak-audit"]["script"][-1:])
    assert "keyleak repos" in json.dumps(gl["keyleak-plan"])
    assert_eq(gl["keyleak-audit"]["needs"], ["keyleak-plan"], "gitlab plan")
    docs = list(yaml.safe_load_all(open(os.path.join(ci, "org-audit-k8s.yml"))))
    jobs = {x["metadata"]["name"]: x for x in docs if x["kind"] == "Job"}
    job = jobs["keyleak-audit"]
    assert "keyleak repos" in json.dumps(jobs["keyleak-plan"])
    assert all(x["metadata"]["labels"]["keyleak-step"] for x in docs)
    assert_eq(job["spec"]["completionMode"], "Indexed", "indexed job")
    assert "JOB_COMPLETION_INDEX" in json.dumps(job)
    with lib.TempDir() as d:
        lst, specs = make_org(d, 9)
        out = os.path.join(d, "org")
        env = dict(os.environ, KEYLEAK=lib.KEYLEAK, PATH="/usr/bin:/bin")
        p = subprocess.run(["sh", os.path.join(ci, "org-audit-parallel.sh"),
                            lst, "3", out], env=env, capture_output=True,
                           timeout=300)
        assert_eq(p.returncode, 1, "merge status: findings (%s)" % p.stderr)
        assert_eq(sorted(f for f in os.listdir(out) if f.endswith(".jsonl")),
                  ["shard-0.jsonl", "shard-1.jsonl", "shard-2.jsonl"], "shards")
        with open(os.path.join(out, "keyleak.json")) as f:
            rep = json.load(f)
        assert_eq((rep["summary"]["repositories"], rep["summary"]["ok"],
                   len(rep["findings"])), (9, 9, 5), "merged")
        with open(os.path.join(out, "keyleak.sarif")) as f:
            assert_eq(len(json.load(f)["runs"]), 9, "sarif runs")


if __name__ == "__main__":
    lib.main()
