"""The "org" group of `make bench` (BENCH_ONLY=org): organisation-wide
audits over ORG_REPOS small generated repositories served as file:// URLs.

Rows: `audit --repos` with --jobs 1 and --jobs <cores> (cold: mirrors cloned
in the run), N shard processes at once plus `keyleak merge` (N = cores), and
the incremental pair: a first run with --state-dir, then, after one new
commit in one repository, a second run (fetch every mirror, scan what is
new). Each is the median of BENCH_ORG_RUNS runs (3); the merged shards and
the one-process run must report the same fingerprints, and every planted
key must be found.
"""
import json
import os
import random
import shutil
import statistics
import subprocess
import time

ORG_REPOS = int(os.environ.get("BENCH_ORG_REPOS", "200"))
ORG_RUNS = int(os.environ.get("BENCH_ORG_RUNS", "3"))
KEY_EVERY = 10  # one repository in 10 holds a planted key


def _git(args, cwd=None, input=None):
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null",
               GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git"] + args, cwd=cwd, input=input, env=env,
                          check=True, capture_output=True).stdout


def _planted_key(rng):
    """An OpenAI project key shape, built at run time (never committed)."""
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    run = lambda n: "".join(rng.choice(alnum) for _ in range(n))  # noqa: E731
    return "sk-proj-" + run(74) + "T3BlbkFJ" + run(74)


def _fast_import(repo, rng, idx, planted):
    """Five commits of a dozen small files; maybe a key in commit 3."""
    out, mark = [], 0
    for c in range(5):
        files = []
        for f in range(12):
            body = "".join("line %d of file %d in repo %d: %s\n" % (
                i, f, idx, rng.random()) for i in range(20))
            files.append(("src/mod%d/f%d.py" % (f % 3, f), body))
        if c == 2 and idx % KEY_EVERY == 0:
            key = _planted_key(rng)
            planted.append({"repo": idx, "key": key})
            files.append(("config/settings.py", 'OPENAI_API_KEY = "%s"\n' % key))
        out.append("commit refs/heads/main\n")
        mark += 1
        out.append("mark :%d\n" % mark)
        out.append("committer Bench <bench@example.org> %d +0000\n"
                   % (1700000000 + c * 60))
        msg = "commit %d\n" % c
        out.append("data %d\n%s" % (len(msg), msg))
        if c:
            out.append("from :%d\n" % (mark - 1))
        for path, body in files:
            data = body.encode()
            out.append("M 100644 inline %s\ndata %d\n" % (path, len(data)))
            out.append(body + "\n")
    _git(["fast-import", "--quiet"], cwd=repo, input="".join(out).encode())


def build(bench_dir):
    """ORG_REPOS bare repositories and a list of their file:// URLs."""
    base = os.path.join(bench_dir, "org-%d" % ORG_REPOS)
    lst = os.path.join(base, "repos.txt")
    meta = os.path.join(base, "planted.json")
    if os.path.exists(meta):
        with open(meta) as f:
            return base, lst, json.load(f)
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(os.path.join(base, "src"))
    rng, planted, urls = random.Random(16), [], []
    for i in range(ORG_REPOS):
        repo = os.path.join(base, "src", "repo%03d.git" % i)
        _git(["init", "-q", "--bare", "-b", "main", repo])
        _fast_import(repo, rng, i, planted)
        urls.append("file://" + repo)
    with open(lst, "w") as f:
        f.write("\n".join(urls) + "\n")
    with open(meta, "w") as f:
        json.dump(planted, f)
    return base, lst, planted


def _timed(argv_list):
    """Run the commands at once; (wall s, cpu s of all children)."""
    before = os.times()
    t0 = time.monotonic()
    procs = [subprocess.Popen(a, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for a in argv_list]
    for p, a in zip(procs, argv_list):
        err = p.communicate()[1]
        if p.returncode not in (0, 1):
            raise RuntimeError("%s: exit %d: %s" % (" ".join(a[:4]),
                               p.returncode, err[-400:].decode(errors="replace")))
    wall = time.monotonic() - t0
    after = os.times()
    return wall, (after.children_user - before.children_user +
                  after.children_system - before.children_system)


def _fingerprints(path):
    out = set()
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if rec["type"] == "finding":
                out.add((rec["repository_id"], rec["fingerprint"]))
    return out


def main(keyleak, bench_dir, log):
    cores = os.cpu_count() or 1
    base, lst, planted = build(bench_dir)
    work = os.path.join(base, "work")
    log("org: %d repositories (%d planted keys) in %s; %d runs" % (
        ORG_REPOS, len(planted), base, ORG_RUNS))

    def fresh():
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)

    def audit(*extra, out="out.jsonl", mirrors="mirrors"):
        return [keyleak, "audit", "--repos", lst, "-q", "--format", "jsonl",
                "--mirror-dir", os.path.join(work, mirrors),
                "-o", os.path.join(work, out)] + list(extra)

    rows = {}

    def row(name, fn):
        runs = []
        for _ in range(ORG_RUNS):
            runs.append(fn())
            log("%-40s %8.3f s wall %8.3f s cpu" % (name, runs[-1][0],
                                                     runs[-1][1]))
        rows[name] = {"wall_s": round(statistics.median(r[0] for r in runs), 3),
                      "cpu_s": round(statistics.median(r[1] for r in runs), 3),
                      "all_runs": [[round(x, 3) for x in r] for r in runs]}

    def one(jobs):
        fresh()
        return _timed([audit("--repo-jobs", str(jobs))])

    def sharded():
        fresh()
        shards = [audit("--shard", "%d/%d" % (k, cores), "-j", "1",
                        out="shard-%d.jsonl" % k, mirrors="m%d" % k)
                  for k in range(cores)]
        w1, c1 = _timed(shards)
        w2, c2 = _timed([[keyleak, "merge", "-q", "--format", "jsonl", "-o",
                          os.path.join(work, "merged.jsonl")] +
                         [os.path.join(work, "shard-%d.jsonl" % k)
                          for k in range(cores)]])
        return w1 + w2, c1 + c2

    state = {}

    def incremental():
        fresh()
        first = _timed([audit("--state-dir", os.path.join(work, "state"))])
        target = os.path.join(base, "src", "repo%03d.git" % (ORG_REPOS // 2))
        tip = _git(["rev-parse", "refs/heads/main"], cwd=target).decode().strip()
        state.setdefault("tip", tip)
        _fast_import_one(target, tip)
        second = _timed([audit("--state-dir", os.path.join(work, "state"),
                               out="second.jsonl")])
        _git(["update-ref", "refs/heads/main", state["tip"]], cwd=target)
        state.setdefault("pairs", []).append((first, second))
        return second

    row("org --jobs 1 (cold mirrors)", lambda: one(1))
    one_fps = _fingerprints(os.path.join(work, "out.jsonl"))
    row("org --jobs %d (cold mirrors)" % cores, lambda: one(cores))
    row("org %d shards + merge (cold)" % cores, sharded)
    merged_fps = _fingerprints(os.path.join(work, "merged.jsonl"))
    row("org incremental 2nd run (1 new commit)", incremental)
    firsts = [p[0] for p in state["pairs"]]
    rows["org incremental 1st run"] = {
        "wall_s": round(statistics.median(f[0] for f in firsts), 3),
        "cpu_s": round(statistics.median(f[1] for f in firsts), 3)}
    out_text = open(os.path.join(work, "out.jsonl")).read()
    leaked = sum(1 for p in planted if p["key"] in out_text)
    res = {
        "repos": ORG_REPOS, "cores": cores, "rows": rows,
        "planted": len(planted), "found": len(one_fps),
        "shards_equal_one_run": merged_fps == one_fps,
        "full_secret_in_output": leaked,
        "ratios": {
            "jobs_cores_vs_jobs_1": rows["org --jobs %d (cold mirrors)" % cores]
            ["wall_s"] / rows["org --jobs 1 (cold mirrors)"]["wall_s"],
            "shards_merge_vs_one_process":
            rows["org %d shards + merge (cold)" % cores]["wall_s"] /
            rows["org --jobs 1 (cold mirrors)"]["wall_s"],
            "incremental_second_vs_first":
            rows["org incremental 2nd run (1 new commit)"]["wall_s"] /
            rows["org incremental 1st run"]["wall_s"],
        },
    }
    res["targets"] = {
        "incremental_lt_5pct": res["ratios"]["incremental_second_vs_first"] < 0.05,
        "shards_equal_one_run": res["shards_equal_one_run"],
        "all_planted_found": len(one_fps) == len(planted),
        "no_full_secret": leaked == 0,
    }
    return res


def _fast_import_one(repo, parent):
    body = "one more line %f\n" % time.time()
    msg = "nightly change\n"
    stream = ("commit refs/heads/main\ncommitter Bench <bench@example.org> "
              "1800000000 +0000\ndata %d\n%sfrom %s\n"
              "M 100644 inline NEWS\ndata %d\n%s\n" % (
                  len(msg), msg, parent, len(body), body))
    _git(["fast-import", "--quiet"], cwd=repo, input=stream.encode())


def print_table(res):
    print("org: %d repositories as file:// URLs, %d cores; medians of %d runs"
          % (res["repos"], res["cores"], ORG_RUNS))
    print("%-44s %9s %9s" % ("command", "wall s", "cpu s"))
    for k, v in res["rows"].items():
        print("%-44s %9.3f %9.3f" % (k, v["wall_s"], v["cpu_s"]))
    for k, v in res["ratios"].items():
        print("%-44s %.3f" % (k, v))
    print("planted keys found: %d/%d; merged shards = one run: %s; full "
          "secrets in output: %d" % (res["found"], res["planted"],
                                      res["shards_equal_one_run"],
                                      res["full_secret_in_output"]))
    print("targets: " + ", ".join("%s=%s" % (k, "yes" if v else "NO")
                                  for k, v in res["targets"].items()))
