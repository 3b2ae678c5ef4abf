#!/usr/bin/env python3
"""`make bench`: keyleak against the byte-reading floor and its peers.

Builds (or reuses) the corpora in BENCH_DIR (see corpus.py), then runs every
command of a group in turn, BENCH_RUNS times after one warm-up, so drift on
a shared machine hits all of them alike. For each it keeps the median wall
time, CPU time (user+sys, from wait4) and peak RSS, and derives MB/s from
the bytes of the corpus. Checks that keyleak finds every planted key. The
table goes to stdout, everything to bench/results.json.

Environment: BENCH_DIR (/tmp/keyleak-bench), BENCH_TREE, BENCH_REPO,
BENCH_RUNS (5), BENCH_PEER_RUNS (3), BENCH_HISTORY_RUNS (2), KEYLEAK
(./keyleak), BENCH_PEER_TIMEOUT (seconds, 900), BENCH_ONLY (groups to run:
tree,history,staged,peers,push; push alone needs only the history
repository and writes BENCH_DIR/results-push.json, see bench/push.py; or org
alone: bench/org.py, BENCH_ORG_REPOS, BENCH_ORG_RUNS).
"""
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import corpus  # noqa: E402
import push as push_bench  # noqa: E402

BENCH_DIR = os.environ.get("BENCH_DIR", "/tmp/keyleak-bench")
# Groups to run (comma-separated): tree, history, staged, peers.
ONLY = set(os.environ.get("BENCH_ONLY", "tree,history,staged,peers,push")
           .split(","))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
PEER_RUNS = int(os.environ.get("BENCH_PEER_RUNS", "3"))
HISTORY_RUNS = int(os.environ.get("BENCH_HISTORY_RUNS", "2"))
PEER_TIMEOUT = float(os.environ.get("BENCH_PEER_TIMEOUT", "900"))
KEYLEAK = os.path.abspath(os.environ.get("KEYLEAK",
                                         os.path.join(ROOT, "keyleak")))
TIME = "/usr/bin/time"  # GNU time (Debian package time)
GREP_PATTERN = "sk-|sk-ant-|AIza|gsk_|hf_"
# git-secrets patterns for the same prefixes (it has none for them).
GIT_SECRETS_PATTERNS = [
    r"sk-ant-(api03|admin01|oat01)-[A-Za-z0-9_-]{93,95}",
    r"sk-[A-Za-z0-9_-]{20,}",
    r"AIza[0-9A-Za-z_-]{35}",
    r"gsk_[A-Za-z0-9]{52}",
    r"hf_[A-Za-z0-9]{34}",
]


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------ measuring

class Cmd:
    def __init__(self, name, argv, cwd=None, env=None, ok=(0, 1),
                 timeout=None, prepare=None, cleanup=None):
        self.name, self.argv, self.cwd = name, argv, cwd
        self.env, self.ok, self.timeout = env, ok, timeout
        self.prepare, self.cleanup = prepare, cleanup
        self.runs = []
        self.error = None


def run_once(cmd):
    """One run: (wall s, cpu s, peak RSS KiB) or raises. GNU time reports
    the child's CPU and peak RSS: wait4 on a child forked from this (large)
    Python process would report Python's RSS, which survives exec."""
    if cmd.prepare:
        cmd.prepare()
    env = dict(os.environ)
    env.update(cmd.env or {})
    with tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r") as tf:
        argv = [TIME, "-f", "%U %S %M %x", "-o", tf.name] + cmd.argv
        t0 = time.monotonic()
        p = subprocess.Popen(argv, cwd=cmd.cwd, env=env,
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
        try:
            p.wait(timeout=cmd.timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise TimeoutError("%s: over %d s" % (cmd.name, cmd.timeout))
        wall = time.monotonic() - t0
        if cmd.cleanup:
            cmd.cleanup()
        fields = tf.read().split()
        if len(fields) < 4 or not fields[-1].lstrip("-").isdigit():
            raise RuntimeError("%s: killed or no timing (%r)" %
                               (cmd.name, fields))
        user, sys_, rss, code = fields[-4:]
        if int(code) not in cmd.ok:
            err.seek(0)
            raise RuntimeError("%s: exit %s: %s" % (
                cmd.name, code, err.read()[-500:].decode(errors="replace")))
    return wall, float(user) + float(sys_), int(rss)


def measure(cmds, runs, warmup=True):
    """Interleave the commands: warm-up, then runs rounds."""
    for rnd in range(runs + (1 if warmup else 0)):
        for c in cmds:
            if c.error:
                continue
            try:
                r = run_once(c)
            except (RuntimeError, TimeoutError, OSError) as e:
                c.error = str(e)
                log("%s failed: %s" % (c.name, c.error))
                continue
            if rnd > 0 or not warmup:
                c.runs.append(r)
            log("%-34s %8.3f s wall %8.3f s cpu %8d KiB" %
                (c.name, r[0], r[1], r[2]))


def summary(c, nbytes):
    if not c.runs:
        return {"name": c.name, "available": False,
                "error": c.error or "not run", "argv": c.argv}
    wall = statistics.median(r[0] for r in c.runs)
    cpu = statistics.median(r[1] for r in c.runs)
    rss = max(r[2] for r in c.runs)
    return {"name": c.name, "available": True, "argv": c.argv,
            "runs": len(c.runs), "wall_s": round(wall, 4),
            "cpu_s": round(cpu, 4), "peak_rss_kib": rss,
            "bytes": nbytes,
            "mb_per_s": round(nbytes / 1e6 / wall, 1) if wall else None,
            "all_runs": [[round(x, 4) for x in r[:2]] + [r[2]]
                         for r in c.runs]}


# ------------------------------------------------------------ keyleak

def keyleak_has(command):
    p = subprocess.run([KEYLEAK, "--help"], capture_output=True)
    text = (p.stdout + p.stderr).decode(errors="replace")
    return ("\n  %s " % command) in text


def keyleak_findings(args, cwd=None):
    p = subprocess.run([KEYLEAK] + args + ["--format", "json",
                                           "--show-secrets", "-q"],
                       cwd=cwd, capture_output=True)
    if p.returncode not in (0, 1):
        raise RuntimeError("keyleak %s: exit %d: %s" % (
            " ".join(args), p.returncode, p.stderr.decode(errors="replace")))
    return json.loads(p.stdout)


def check_planted(report, planted):
    found = {(f["rule"] if isinstance(f.get("rule"), str) else
              f.get("rule_id") or f.get("ruleId"), f.get("secret"))
             for f in report["findings"]}
    secrets = {s for _, s in found}
    missing = [p for p in planted
               if (p["rule"], p["secret"]) not in found and
               p["secret"] not in secrets]
    return {"planted": len(planted), "found": len(planted) - len(missing),
            "missing": [{"rule": m["rule"], "where": m.get("branch", "") +
                         ":" + m.get("path", "")} for m in missing]}


def bytes_scanned(report):
    return report.get("summary", {}).get("bytes_scanned", 0)


# ------------------------------------------------------------ peers

def secretlint_cmd(subset):
    bin_ = os.path.join(BENCH_DIR, "npm", "node_modules", ".bin", "secretlint")
    rc = os.path.join(BENCH_DIR, "secretlintrc.json")
    with open(rc, "w") as f:
        json.dump({"rules": [{"id":
                              "@secretlint/secretlint-rule-preset-recommend"}]},
                  f)
    if not os.access(bin_, os.X_OK):
        return None
    return Cmd("secretlint (subset)", [bin_, "--secretlintrc", rc, "**/*"],
               cwd=subset, timeout=PEER_TIMEOUT)


def git_secrets_env():
    cfg = os.path.join(BENCH_DIR, "git-secrets.gitconfig")
    with open(cfg, "w") as f:
        f.write("[secrets]\n")
        for p in GIT_SECRETS_PATTERNS:
            f.write("\tpatterns = %s\n" % p.replace("\\", "\\\\"))
    return {"GIT_CONFIG_GLOBAL": cfg, "GIT_CONFIG_NOSYSTEM": "1"}


def peer_found(argv, cwd, env, planted):
    """How many planted secrets a peer prints (unmasked peers only)."""
    e = dict(os.environ)
    e.update(env or {})
    try:
        p = subprocess.run(argv, cwd=cwd, env=e, capture_output=True,
                           timeout=PEER_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    out = (p.stdout + p.stderr).decode(errors="replace")
    return sum(1 for k in planted if k["secret"] in out)


# ------------------------------------------------------------ the table

def fmt_row(s):
    if not s["available"]:
        return "%-40s %s" % (s["name"], "not available (%s)" %
                             s.get("error", "")[:60])
    return "%-40s %9.3f %9.3f %9.1f %10s" % (
        s["name"], s["wall_s"], s["cpu_s"], s["peak_rss_kib"] / 1024,
        "%.1f" % s["mb_per_s"] if s["mb_per_s"] else "-")


def ratio(a, b):
    if a.get("available") and b.get("available") and b["wall_s"]:
        return round(a["wall_s"] / b["wall_s"], 3)
    return None


def machine():
    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_mib": mem,
            "kernel": platform.release(), "python": platform.python_version()}


def tool_versions():
    def first_line(argv):
        try:
            p = subprocess.run(argv, capture_output=True, timeout=60)
            return (p.stdout or p.stderr).decode().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return None
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                             "HEAD"], capture_output=True).stdout.decode()
    return {"keyleak_commit": commit.strip(),
            "grep": first_line(["grep", "--version"]),
            "git": first_line(["git", "--version"]),
            "secretlint": first_line([os.path.join(
                BENCH_DIR, "npm", "node_modules", ".bin", "secretlint"),
                "--version"]),
            "git-secrets": "Debian package " + (first_line(
                ["dpkg-query", "-W", "-f=${Version}", "git-secrets"]) or "?")}


# ------------------------------------------------------------ main

def staged_cmds(repo):
    """keyleak staged on a one-file change in the large repository."""
    if not os.path.isdir(os.path.join(repo, ".git")):
        return None
    files = subprocess.run(["git", "-C", repo, "ls-files"],
                           capture_output=True).stdout.split(b"\n")
    target = files[len(files) // 2].decode()
    path = os.path.join(repo, target)
    original = open(path, "rb").read()

    def prepare():
        with open(path, "ab") as f:
            f.write(b"\n/* staged benchmark change */\n")
        subprocess.run(["git", "-C", repo, "add", "--", target], check=True)

    def cleanup():
        with open(path, "wb") as f:
            f.write(original)
        subprocess.run(["git", "-C", repo, "reset", "-q", "--", target],
                       check=True)

    return Cmd("keyleak staged (1 file)", [KEYLEAK, "staged", "-q", repo],
               prepare=prepare, cleanup=cleanup)


def push_only():
    """BENCH_ONLY=push: the push group on BENCH_REPO or the history
    repository already built in BENCH_DIR, without the other corpora."""
    repo = os.environ.get("BENCH_REPO") or os.path.join(BENCH_DIR,
                                                        "history-repo")
    if not os.path.isdir(repo):
        raise SystemExit("bench: push: no repository at %s (set BENCH_REPO "
                         "or run make bench once)" % repo)
    repo = os.path.abspath(repo)
    stats = corpus.repo_stats(repo)
    rows, ratios, targets, info = push_bench.run(
        repo, KEYLEAK, BENCH_DIR, RUNS, measure, Cmd, summary, log)
    res = {"machine": machine(), "versions": tool_versions(), "runs": RUNS,
           "repo": repo, "corpus": stats, "rows": rows, "ratios": ratios,
           "targets": targets, "push": info}
    print("keyleak push benchmark: %s, %d cores; keyleak %s" % (
        res["machine"]["cpu"], res["machine"]["cores"],
        res["versions"]["keyleak_commit"]))
    print("history: %s, %d commits, %d blobs, %.1f MB" % (
        repo, stats["commits"], stats["blobs"], stats["blob_bytes"] / 1e6))
    print("medians of %d runs (whole-history rows: %d)" % (
        RUNS, max(1, min(RUNS, 2))))
    print()
    print("%-40s %9s %9s %9s %10s" % ("command", "wall s", "cpu s",
                                     "RSS MiB", "MB/s"))
    for key in push_bench.ROW_ORDER:
        print(fmt_row(rows[key]))
    print()
    for k, v in ratios.items():
        print("%-40s %.3f" % (k, v))
    print("targets: " + ", ".join("%s=%s" % (k, "yes" if v else "NO")
                                  for k, v in targets.items()))
    out = os.path.join(BENCH_DIR, "results-push.json")
    with open(out, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    log("wrote " + out)
    return 0
def org_group():
    """BENCH_ONLY=org: organisation-wide audits (bench/org.py), on their
    own corpus; results go to bench/results-org.json."""
    import org
    res = org.main(KEYLEAK, BENCH_DIR, log)
    res["machine"] = machine()
    org.print_table(res)
    with open(os.path.join(HERE, "results-org.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0 if res["targets"]["all_planted_found"] else 1


def main():
    os.makedirs(BENCH_DIR, exist_ok=True)
    if not os.access(KEYLEAK, os.X_OK):
        raise SystemExit("bench: %s is not built (run make)" % KEYLEAK)
    if ONLY == {"push"}:
        return push_only()
    if ONLY == {"org"}:
        return org_group()
    results = {"machine": machine(), "versions": tool_versions(),
               "runs": RUNS, "bench_dir": BENCH_DIR, "rows": {},
               "ratios": {}, "checks": {}, "corpora": {}}
    rows = results["rows"]

    # Corpora.
    if os.environ.get("BENCH_TREE"):
        tree, tree_planted = os.path.abspath(os.environ["BENCH_TREE"]), []
    else:
        tree, tree_planted = corpus.build_tree(BENCH_DIR)
    subset = corpus.build_subset(BENCH_DIR, tree, tree_planted)
    if os.environ.get("BENCH_REPO"):
        repo, repo_planted = os.path.abspath(os.environ["BENCH_REPO"]), []
    else:
        repo, repo_planted = corpus.build_history(BENCH_DIR, tree)

    # Correctness first: a fast wrong answer must not pass.
    tree_report = keyleak_findings(["scan", tree])
    subset_report = keyleak_findings(["scan", subset])
    tree_bytes, subset_bytes = bytes_scanned(tree_report), bytes_scanned(
        subset_report)
    results["corpora"]["tree"] = {"path": tree, "bytes": tree_bytes,
                                  "files": tree_report["summary"].get(
                                      "files_scanned")}
    results["corpora"]["subset"] = {"path": subset, "bytes": subset_bytes,
                                    "files": subset_report["summary"].get(
                                        "files_scanned")}
    results["checks"]["tree"] = check_planted(tree_report, tree_planted)
    subset_planted = [p for p in tree_planted
                      if os.path.exists(os.path.join(subset, p["path"]))]
    results["checks"]["subset"] = check_planted(subset_report, subset_planted)
    log("repository statistics")
    stats = corpus.repo_stats(repo)
    stats["path"] = repo
    results["corpora"]["history"] = stats
    have_history = keyleak_has("history")
    if have_history and "history" in ONLY:
        hist_report = keyleak_findings(["history", "--all", repo])
        results["checks"]["history"] = check_planted(hist_report,
                                                     repo_planted)
        results["corpora"]["history"]["keyleak_bytes_scanned"] = \
            bytes_scanned(hist_report)
    else:
        results["checks"]["history"] = {
            "planted": len(repo_planted), "found": None,
            "missing": "history not available" if not have_history
            else "history group not run (BENCH_ONLY)"}

    # Work tree against grep.
    log("work tree: %s (%.0f MB)" % (tree, tree_bytes / 1e6))
    kscan = Cmd("keyleak scan (tree)", [KEYLEAK, "scan", "-q", "--format",
                                        "json", tree])
    grep = Cmd("grep -rIE (tree)", ["grep", "-rIE", GREP_PATTERN, tree])
    if "tree" in ONLY:
        measure([kscan, grep], RUNS)
    rows["scan_tree"] = summary(kscan, tree_bytes)
    rows["grep_tree"] = summary(grep, tree_bytes)

    # History against the inflate floor and git log -p.
    blob_bytes = stats["blob_bytes"]
    log("history: %s (%d commits, %.0f MB of blobs)" %
        (repo, stats["commits"], blob_bytes / 1e6))
    khist = Cmd("keyleak history --all", [KEYLEAK, "history", "--all", "-q",
                                          "--format", "json", repo])
    if not have_history:
        khist.error = "keyleak has no history command yet"
    catf = Cmd("git cat-file --batch-all-objects", [
        "git", "-C", repo, "cat-file", "--batch-all-objects", "--batch"],
        ok=(0,))
    glog = Cmd("git log -p --all", ["git", "-C", repo, "log", "-p", "--all"],
               ok=(0,))
    if "history" in ONLY:
        # No warm-up: the correctness run above already read the repository.
        measure([khist, catf, glog], HISTORY_RUNS, warmup=False)
    rows["history"] = summary(khist, blob_bytes)
    rows["cat_file"] = summary(catf, blob_bytes)
    rows["git_log_p"] = summary(glog, blob_bytes)

    # Staged, one-file change.
    st = staged_cmds(repo) if keyleak_has("staged") else None
    if st and "staged" in ONLY:
        measure([st], RUNS)
        rows["staged"] = summary(st, 0)
    else:
        rows["staged"] = {"name": "keyleak staged (1 file)",
                          "available": False,
                          "error": "no staged command or no work tree"}

    # Push protection: the pre-receive hook on the history repository.
    push_targets = {}
    if "push" in ONLY and keyleak_has("pre-receive"):
        push_rows, push_ratios, push_targets, _ = push_bench.run(
            repo, KEYLEAK, BENCH_DIR, RUNS, measure, Cmd, summary, log)
        rows.update(push_rows)
        results["ratios"].update(push_ratios)

    # Peers on the subset, keyleak and grep alongside.
    log("peers on the subset: %s (%.1f MB)" % (subset, subset_bytes / 1e6))
    ksub = Cmd("keyleak scan (subset)", [KEYLEAK, "scan", "-q", "--format",
                                         "json", subset])
    gsub = Cmd("grep -rIE (subset)", ["grep", "-rIE", GREP_PATTERN, subset])
    peers = []
    sl = secretlint_cmd(subset)
    if sl:
        peers.append(sl)
    gs_env = git_secrets_env()
    if shutil.which("git-secrets"):
        peers.append(Cmd("git-secrets --scan -r (subset)",
                         ["git", "secrets", "--scan", "-r", subset],
                         cwd=BENCH_DIR, env=gs_env, timeout=PEER_TIMEOUT))
    if "peers" in ONLY:
        measure([ksub, gsub], RUNS)
        measure(peers, PEER_RUNS, warmup=False)
    rows["scan_subset"] = summary(ksub, subset_bytes)
    rows["grep_subset"] = summary(gsub, subset_bytes)
    for p in peers:
        key = "secretlint_subset" if "secretlint" in p.name else \
            "git_secrets_subset"
        rows[key] = summary(p, subset_bytes)
        rows[key]["planted_printed"] = peer_found(p.argv, p.cwd, p.env,
                                                  subset_planted)
    if not sl:
        rows["secretlint_subset"] = {"name": "secretlint (subset)",
                                     "available": False,
                                     "error": "npm install did not run"}

    # git-secrets on history: once, it is slow.
    if shutil.which("git-secrets") and "peers" in ONLY:
        gsh = Cmd("git-secrets --scan-history", ["git", "secrets",
                                                  "--scan-history"],
                  cwd=repo, env=gs_env, timeout=PEER_TIMEOUT)
        measure([gsh], 1, warmup=False)
        rows["git_secrets_history"] = summary(gsh, blob_bytes)

    r = results["ratios"]
    r["scan_vs_grep"] = ratio(rows["scan_tree"], rows["grep_tree"])
    r["history_vs_cat_file"] = ratio(rows["history"], rows["cat_file"])
    r["history_vs_git_log_p"] = ratio(rows["history"], rows["git_log_p"])
    for k in ("secretlint_subset", "git_secrets_subset"):
        if rows.get(k, {}).get("available"):
            r["keyleak_vs_" + k] = ratio(rows["scan_subset"], rows[k])
    if rows.get("git_secrets_history", {}).get("available"):
        r["history_vs_git_secrets_history"] = ratio(
            rows["history"], rows["git_secrets_history"])
    results["targets"] = {
        "scan_le_grep": r["scan_vs_grep"] is not None and
        r["scan_vs_grep"] <= 1.0,
        "history_le_cat_file": r["history_vs_cat_file"] is not None and
        r["history_vs_cat_file"] <= 1.0,
        "staged_lt_50ms": rows["staged"].get("available", False) and
        rows["staged"]["wall_s"] < 0.05,
        "history_rss_lt_256mib": rows["history"].get("available", False) and
        rows["history"]["peak_rss_kib"] < 256 * 1024,
        "faster_than_peers": all(
            v < 1 for k, v in r.items() if v is not None and (
                k.startswith("keyleak_vs_") or
                k.startswith("history_vs_git_secrets"))),
        "all_planted_found": all(
            c.get("found") == c.get("planted")
            for c in results["checks"].values() if c.get("found") is not None),
    }
    results["targets"].update(push_targets)
    print_table(results)
    with open(os.path.join(HERE, "results.json"), "w") as f:
        json.dump(results, f, indent=1, sort_keys=True)
        f.write("\n")
    log("wrote bench/results.json")
    return 0 if results["targets"]["all_planted_found"] else 1


def print_table(res):
    m = res["machine"]
    c = res["corpora"]
    print("keyleak benchmark: %s, %d cores, %d MiB; keyleak %s" % (
        m["cpu"], m["cores"], m["mem_mib"], res["versions"]["keyleak_commit"]))
    print("tree: %s, %.1f MB in %s files; subset %.1f MB; history: %d "
          "commits, %d files touched, %d blobs, %.1f MB" % (
              c["tree"]["path"], c["tree"]["bytes"] / 1e6,
              c["tree"]["files"], c["subset"]["bytes"] / 1e6,
              c["history"]["commits"], c["history"]["distinct_files_touched"],
              c["history"]["blobs"], c["history"]["blob_bytes"] / 1e6))
    print("medians of %d runs (history rows: %d, peers: %d)" %
          (res["runs"], HISTORY_RUNS, PEER_RUNS))
    print()
    print("%-40s %9s %9s %9s %10s" % ("command", "wall s", "cpu s",
                                     "RSS MiB", "MB/s"))
    for key in ("scan_tree", "grep_tree", "history", "cat_file", "git_log_p",
                "staged", "scan_subset", "grep_subset", "secretlint_subset",
                "git_secrets_subset", "git_secrets_history") + \
            push_bench.ROW_ORDER:
        if key in res["rows"]:
            print(fmt_row(res["rows"][key]))
    print()
    for k, v in res["ratios"].items():
        print("%-40s %s" % (k, "n/a" if v is None else "%.3f" % v))
    print()
    for k, v in res["checks"].items():
        print("planted keys found (%s): %s/%s%s" % (
            k, v["found"], v["planted"],
            "" if not v["missing"] else "  missing: %s" % (v["missing"],)))
    print("targets: " + ", ".join("%s=%s" % (k, "yes" if v else "NO")
                                  for k, v in res["targets"].items()))


if __name__ == "__main__":
    sys.exit(main())
