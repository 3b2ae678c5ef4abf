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
tree,history,threads,range,staged,large,peers,scale,push,unpack; each is a group_*
function listed in GROUPS; push alone needs only the history repository and
writes BENCH_DIR/results-push.json, see bench/push.py; org alone: bench/org.py,
BENCH_ORG_REPOS, BENCH_ORG_RUNS; server alone: pushes through nginx +
fcgiwrap + git http-backend under load, bench/server.py), BENCH_RANGE_COMMITS (1000), BENCH_LARGE_BYTES
(1 GiB), BENCH_SCALE (commit counts of the scale repositories, 250000;
e.g. 250000,1000000).
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
ONLY = set(os.environ.get(
    "BENCH_ONLY",
    "tree,history,threads,range,staged,large,peers,scale,push,unpack")
    .split(","))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
PEER_RUNS = int(os.environ.get("BENCH_PEER_RUNS", "3"))
HISTORY_RUNS = int(os.environ.get("BENCH_HISTORY_RUNS", "2"))
PEER_TIMEOUT = float(os.environ.get("BENCH_PEER_TIMEOUT", "900"))
# Commits in the range scan rows, the large file's size, the scale sizes.
RANGE_COMMITS = int(os.environ.get("BENCH_RANGE_COMMITS", "1000"))
LARGE_BYTES = int(os.environ.get("BENCH_LARGE_BYTES", str(1 << 30)))
SCALE = os.environ.get("BENCH_SCALE", "250000")
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
    secrets = {s for _, s in found if s}

    # A pair's secret holds the planted id and its partner; a URL may be
    # reported from its host on (the Teams webhook's "https://" is not in
    # the secret).
    def seen(secret):
        return any(secret in s or s in secret for s in secrets)

    missing = [p for p in planted
               if (p["rule"], p["secret"]) not in found and
               not seen(p["secret"])]
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


def ratio(a, b, field="wall_s"):
    if a.get("available") and b.get("available") and b[field]:
        return round(a[field] / b[field], 3)
    return None


def set_ratio(b, name, x, y):
    """Wall-time ratio of rows x and y, and their CPU-time ratio (name_cpu):
    on a shared machine CPU time is the steadier of the two."""
    b.ratios[name] = ratio(b.rows[x], b.rows[y])
    b.ratios[name + "_cpu"] = ratio(b.rows[x], b.rows[y], "cpu_s")


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


# ------------------------------------------------------------ groups
#
# Each group is a function of the bench state: it measures its commands
# (interleaved, so load drift hits them alike) and fills rows, ratios and
# targets. BENCH_ONLY selects groups by name; new groups append to GROUPS.

class Bench:
    def __init__(self):
        self.results = {"machine": machine(), "versions": tool_versions(),
                        "runs": RUNS, "bench_dir": BENCH_DIR, "rows": {},
                        "ratios": {}, "checks": {}, "corpora": {},
                        "targets": {}, "scaling": {}, "notes": {}}
        self.rows = self.results["rows"]
        self.ratios = self.results["ratios"]
        self.targets = self.results["targets"]
        self.checks = self.results["checks"]
        self.threads = os.cpu_count() or 1


def rule_keywords():
    """Every prefilter keyword of the built-in rules, lower case."""
    kw = set()
    for rule in corpus.lib.RULES.values():
        for k in rule.get("keywords", []):
            kw.add(k.lower())
    path = os.path.join(BENCH_DIR, "keywords.txt")
    with open(path, "w") as f:
        f.write("\n".join(sorted(kw)) + "\n")
    return path, len(kw)


def prepare(b):
    """Corpora (built once, cached) and correctness checks."""
    res = b.results
    if os.environ.get("BENCH_TREE"):
        b.tree, b.tree_planted = os.path.abspath(os.environ["BENCH_TREE"]), []
    else:
        b.tree, b.tree_planted = corpus.build_tree(BENCH_DIR)
    b.subset = corpus.build_subset(BENCH_DIR, b.tree, b.tree_planted)
    if os.environ.get("BENCH_REPO"):
        b.repo, b.repo_planted = os.path.abspath(os.environ["BENCH_REPO"]), []
    else:
        b.repo, b.repo_planted = corpus.build_history(BENCH_DIR, b.tree)
    # Correctness first: a fast wrong answer must not pass.
    tree_report = keyleak_findings(["scan", b.tree])
    subset_report = keyleak_findings(["scan", b.subset])
    b.tree_bytes = bytes_scanned(tree_report)
    b.subset_bytes = bytes_scanned(subset_report)
    res["corpora"]["tree"] = {"path": b.tree, "bytes": b.tree_bytes,
                              "files": tree_report["summary"].get(
                                  "files_scanned")}
    res["corpora"]["subset"] = {"path": b.subset, "bytes": b.subset_bytes,
                                "files": subset_report["summary"].get(
                                    "files_scanned")}
    b.checks["tree"] = check_planted(tree_report, b.tree_planted)
    b.subset_planted = [p for p in b.tree_planted
                        if os.path.exists(os.path.join(b.subset, p["path"]))]
    b.checks["subset"] = check_planted(subset_report, b.subset_planted)
    log("repository statistics")
    b.stats = corpus.repo_stats(b.repo)
    b.stats["path"] = b.repo
    res["corpora"]["history"] = b.stats
    b.have_history = keyleak_has("history")
    if b.have_history and ONLY & {"history", "threads"}:
        hist_report = keyleak_findings(["history", "--all", b.repo])
        b.checks["history"] = check_planted(hist_report, b.repo_planted)
        b.stats["keyleak_bytes_scanned"] = bytes_scanned(hist_report)


def group_tree(b):
    """Work tree: keyleak scan against grep and ripgrep (every keyword)."""
    log("work tree: %s (%.0f MB)" % (b.tree, b.tree_bytes / 1e6))
    kw, n_kw = rule_keywords()
    kscan = Cmd("keyleak scan (tree)", [KEYLEAK, "scan", "-q", "--format",
                                        "json", b.tree])
    grep = Cmd("grep -rIE (tree)", ["grep", "-rIE", GREP_PATTERN, b.tree])
    rg = Cmd("rg -uu -F -i, %d keywords (tree)" % n_kw,
             ["rg", "-uu", "-F", "-i", "-f", kw, b.tree])
    cmds = [kscan, grep] + ([rg] if shutil.which("rg") else [])
    if not shutil.which("rg"):
        rg.error = "ripgrep not installed (bench/setup.sh installs it)"
    measure(cmds, RUNS)
    b.rows["scan_tree"] = summary(kscan, b.tree_bytes)
    b.rows["grep_tree"] = summary(grep, b.tree_bytes)
    b.rows["rg_tree"] = summary(rg, b.tree_bytes)
    set_ratio(b, "scan_vs_grep", "scan_tree", "grep_tree")
    set_ratio(b, "scan_vs_rg", "scan_tree", "rg_tree")
    b.targets["scan_le_rg"] = _le(b.ratios["scan_vs_rg"], 1.0)


def _le(v, limit):
    return v is not None and v <= limit


def history_cmd(b, name, extra, repo=None):
    return Cmd(name, [KEYLEAK, "history", "-q", "--format", "json"] + extra +
               [repo or b.repo])


def group_history(b):
    """History: keyleak history --all against the inflate floor."""
    blob_bytes = b.stats["blob_bytes"]
    log("history: %s (%d commits, %.0f MB of blobs)" %
        (b.repo, b.stats["commits"], blob_bytes / 1e6))
    khist = history_cmd(b, "keyleak history --all", ["--all"])
    if not b.have_history:
        khist.error = "keyleak has no history command yet"
    catf = Cmd("git cat-file --batch-all-objects", [
        "git", "-C", b.repo, "cat-file", "--batch-all-objects", "--batch"],
        ok=(0,))
    glog = Cmd("git log -p --all", ["git", "-C", b.repo, "log", "-p",
                                    "--all"], ok=(0,))
    # No warm-up: the correctness run already read the repository.
    measure([khist, catf, glog], HISTORY_RUNS, warmup=False)
    b.rows["history"] = summary(khist, blob_bytes)
    b.rows["cat_file"] = summary(catf, blob_bytes)
    b.rows["git_log_p"] = summary(glog, blob_bytes)
    set_ratio(b, "history_vs_cat_file", "history", "cat_file")
    set_ratio(b, "history_vs_git_log_p", "history", "git_log_p")
    b.targets["history_le_0.6_cat_file"] = _le(
        b.ratios["history_vs_cat_file"], 0.6)
    b.targets["history_rss_lt_256mib"] = b.rows["history"].get(
        "available", False) and b.rows["history"]["peak_rss_kib"] < 256 * 1024


def thread_counts(b):
    out, j = [], 1
    while j < b.threads:
        out.append(j)
        j *= 2
    return out + [b.threads]


def scaling_rows(b, key, label, extra, nbytes):
    cmds = [history_cmd(b, "%s -j%d" % (label, j), extra + ["-j", str(j)])
            for j in thread_counts(b)]
    measure(cmds, HISTORY_RUNS, warmup=False)
    table = []
    for j, c in zip(thread_counts(b), cmds):
        row = summary(c, nbytes)
        b.rows["%s_j%d" % (key, j)] = row
        table.append({"threads": j, "wall_s": row.get("wall_s"),
                      "cpu_s": row.get("cpu_s"),
                      "peak_rss_kib": row.get("peak_rss_kib")})
    base = table[0]["wall_s"]
    for t in table:
        t["speedup"] = round(base / t["wall_s"], 2) if base and \
            t["wall_s"] else None
    b.results["scaling"][key] = table
    return table


def group_threads(b):
    """history --all at 1, 2, 4 ... threads (up to the cores)."""
    scaling_rows(b, "history_all", "keyleak history --all", ["--all"],
                 b.stats["blob_bytes"])


def group_range(b):
    """A range scan (what CI and pre-receive run) at 1 ... cores threads."""
    n = min(RANGE_COMMITS, b.stats["commits"] - 1)
    spec = "main~%d..main" % n
    b.results["corpora"]["range"] = {"range": spec, "commits": n}
    table = scaling_rows(b, "range", "keyleak history --range %s" % spec,
                         ["--range", spec], 0)
    b.targets["range_uses_every_core"] = len(table) > 1 and \
        table[-1]["speedup"] is not None and table[-1]["speedup"] > 1.2


def group_staged(b):
    """staged, one-file change in the large repository."""
    st = staged_cmds(b.repo) if keyleak_has("staged") else None
    if st:
        measure([st], RUNS)
        b.rows["staged"] = summary(st, 0)
    else:
        b.rows["staged"] = {"name": "keyleak staged (1 file)",
                            "available": False,
                            "error": "no staged command or no work tree"}
    b.targets["staged_lt_50ms"] = b.rows["staged"].get("available", False) \
        and b.rows["staged"]["wall_s"] < 0.05


def group_large(b):
    """One 1 GiB file with keys at its start, middle, piece boundaries and
    end: every key found, at grep's throughput, in bounded memory."""
    path, planted = corpus.build_large(BENCH_DIR, LARGE_BYTES)
    size = os.path.getsize(path)
    report = keyleak_findings(["scan", path])
    b.checks["large"] = check_planted(report, planted)
    kw, n_kw = rule_keywords()
    k = Cmd("keyleak scan (1 GiB file)", [KEYLEAK, "scan", "-q", "--format",
                                          "json", path])
    # Output to a file: GNU grep stops at the first match when its output
    # is /dev/null, and the file's first key is at offset 0.
    out = os.path.join(BENCH_DIR, "large.out")
    g = Cmd("grep -cE (1 GiB file)", ["sh", "-c", 'grep -cE "$0" "$1" >"$2"',
                                      GREP_PATTERN, path, out])
    r = Cmd("rg -F -i -c, %d keywords (1 GiB file)" % n_kw,
            ["sh", "-c", 'rg -uu -F -i -c -f "$0" "$1" >"$2"', kw, path, out])
    cmds = [k, g] + ([r] if shutil.which("rg") else [])
    measure(cmds, PEER_RUNS)
    b.rows["large_file"] = summary(k, size)
    b.rows["grep_large_file"] = summary(g, size)
    b.rows["rg_large_file"] = summary(r, size)
    set_ratio(b, "large_file_vs_grep", "large_file", "grep_large_file")
    b.targets["large_file_le_grep"] = _le(b.ratios["large_file_vs_grep"], 1.0)
    b.targets["large_file_rss_lt_64mib"] = b.rows["large_file"].get(
        "available", False) and \
        b.rows["large_file"]["peak_rss_kib"] < 64 * 1024


def group_peers(b):
    """secretlint and git-secrets on the subset, keyleak and grep alongside."""
    log("peers on the subset: %s (%.1f MB)" % (b.subset,
                                               b.subset_bytes / 1e6))
    ksub = Cmd("keyleak scan (subset)", [KEYLEAK, "scan", "-q", "--format",
                                         "json", b.subset])
    gsub = Cmd("grep -rIE (subset)", ["grep", "-rIE", GREP_PATTERN, b.subset])
    peers = []
    sl = secretlint_cmd(b.subset)
    if sl:
        peers.append(sl)
    gs_env = git_secrets_env()
    if shutil.which("git-secrets"):
        peers.append(Cmd("git-secrets --scan -r (subset)",
                         ["git", "secrets", "--scan", "-r", b.subset],
                         cwd=BENCH_DIR, env=gs_env, timeout=PEER_TIMEOUT))
    measure([ksub, gsub], RUNS)
    measure(peers, PEER_RUNS, warmup=False)
    b.rows["scan_subset"] = summary(ksub, b.subset_bytes)
    b.rows["grep_subset"] = summary(gsub, b.subset_bytes)
    for p in peers:
        key = "secretlint_subset" if "secretlint" in p.name else \
            "git_secrets_subset"
        b.rows[key] = summary(p, b.subset_bytes)
        b.rows[key]["planted_printed"] = peer_found(p.argv, p.cwd, p.env,
                                                    b.subset_planted)
    if not sl:
        b.rows["secretlint_subset"] = {"name": "secretlint (subset)",
                                       "available": False,
                                       "error": "npm install did not run"}
    if shutil.which("git-secrets"):
        gsh = Cmd("git-secrets --scan-history", ["git", "secrets",
                                                  "--scan-history"],
                  cwd=b.repo, env=gs_env, timeout=PEER_TIMEOUT)
        measure([gsh], 1, warmup=False)
        b.rows["git_secrets_history"] = summary(gsh, b.stats["blob_bytes"])
    for k in ("secretlint_subset", "git_secrets_subset"):
        if b.rows.get(k, {}).get("available"):
            set_ratio(b, "keyleak_vs_" + k, "scan_subset", k)
    if b.rows.get("git_secrets_history", {}).get("available") and \
            b.rows.get("history", {}).get("available"):
        set_ratio(b, "history_vs_git_secrets_history", "history", "git_secrets_history")
    b.targets["faster_than_peers"] = all(
        v < 1 for k, v in b.ratios.items() if v is not None and (
            k.startswith("keyleak_vs_") or
            k.startswith("history_vs_git_secrets")) and
        not k.endswith("_cpu"))


def group_scale(b):
    """history --all on synthetic repositories of BENCH_SCALE commits: wall
    time and peak RSS, once each (they are long)."""
    sizes = [int(x) for x in SCALE.split(",") if x.strip()]
    table = []
    for n in sizes:
        repo, planted = corpus.build_scale(BENCH_DIR, n)
        report = keyleak_findings(["history", "--all", repo])
        b.checks["scale_%d" % n] = check_planted(report, planted)
        c = history_cmd(b, "keyleak history --all (%d commits)" % n,
                        ["--all"], repo)
        measure([c], 1, warmup=False)
        nbytes = bytes_scanned(report)
        row = summary(c, nbytes)
        b.rows["scale_%d" % n] = row
        # The files grow along the history (more lines added than
        # removed), so the bytes to scan grow faster than the commits:
        # time per commit and per MB scanned are both given.
        table.append({"commits": n, "wall_s": row.get("wall_s"),
                      "cpu_s": row.get("cpu_s"),
                      "peak_rss_kib": row.get("peak_rss_kib"),
                      "mb_scanned": round(nbytes / 1e6, 1),
                      "us_per_commit": round(row["wall_s"] / n * 1e6, 1)
                      if row.get("wall_s") else None,
                      "ms_per_mb": round(row["wall_s"] / nbytes * 1e9, 2)
                      if row.get("wall_s") and nbytes else None})
    b.results["scaling"]["scale"] = table
    done = [t for t in table if t.get("peak_rss_kib")]
    at_1m = [t for t in done if t["commits"] >= 1000000]
    if at_1m:
        b.targets["scale_rss_lt_1gib_at_1m"] = \
            at_1m[0]["peak_rss_kib"] < 1024 * 1024
    elif len(done) >= 2:
        # Peak RSS is a fixed part (libgit2 caches, pack windows) plus a
        # part per commit: extrapolate the line through the two largest.
        a, c = done[-2], done[-1]
        slope = (c["peak_rss_kib"] - a["peak_rss_kib"]) / \
            (c["commits"] - a["commits"])
        est = c["peak_rss_kib"] + slope * (1000000 - c["commits"])
        b.results["scaling"]["scale_extrapolated_1m_rss_mib"] = \
            round(est / 1024)
        b.targets["scale_rss_lt_1gib_at_1m"] = est < 1024 * 1024


def group_push(b):
    """Push protection: the pre-receive hook on the history repository
    (bench/push.py)."""
    if not keyleak_has("pre-receive"):
        return
    rows, ratios, targets, _ = push_bench.run(
        b.repo, KEYLEAK, BENCH_DIR, RUNS, measure, Cmd, summary, log)
    b.rows.update(rows)
    b.ratios.update(ratios)
    b.targets.update(targets)


def group_unpack(b):
    """Decoding and archives: keyleak scan with both stages (the default)
    against --no-decode --no-archives and ripgrep, on a tree of notebooks
    with base64 images, minified bundles and a few archives."""
    tree, planted = corpus.build_unpack(BENCH_DIR)
    report = keyleak_findings(["scan", tree])
    b.checks["unpack"] = check_planted(report, planted)
    nbytes = sum(os.path.getsize(os.path.join(d, f))
                 for d, _, fs in os.walk(tree) for f in fs)
    kw, n_kw = rule_keywords()
    on = Cmd("keyleak scan (unpack tree)", [KEYLEAK, "scan", "-q",
                                            "--format", "json", tree])
    off = Cmd("keyleak scan --no-decode --no-archives",
              [KEYLEAK, "scan", "-q", "--format", "json", "--no-decode",
               "--no-archives", tree])
    nodec = Cmd("keyleak scan --no-decode (unpack)",
                [KEYLEAK, "scan", "-q", "--format", "json", "--no-decode",
                 tree])
    rg = Cmd("rg -uu -F -i, %d keywords (unpack)" % n_kw,
             ["rg", "-uu", "-F", "-i", "-f", kw, tree])
    # rg -z also reads compressed files (not zip members): the nearer peer
    rgz = Cmd("rg -uu -z -F -i, %d keywords (unpack)" % n_kw,
              ["rg", "-uu", "-z", "-F", "-i", "-f", kw, tree])
    cmds = [on, off, nodec] + ([rg, rgz] if shutil.which("rg") else [])
    if not shutil.which("rg"):
        rg.error = "ripgrep not installed"
    measure(cmds, RUNS)
    b.rows["unpack_on"] = summary(on, nbytes)
    b.rows["unpack_off"] = summary(off, nbytes)
    b.rows["unpack_no_decode"] = summary(nodec, nbytes)
    b.rows["rg_unpack"] = summary(rg, nbytes)
    b.rows["rgz_unpack"] = summary(rgz, nbytes)
    set_ratio(b, "unpack_on_vs_off", "unpack_on", "unpack_off")
    set_ratio(b, "unpack_no_decode_vs_off", "unpack_no_decode", "unpack_off")
    set_ratio(b, "unpack_on_vs_rg", "unpack_on", "rg_unpack")
    set_ratio(b, "unpack_on_vs_rg_z", "unpack_on", "rgz_unpack")
    b.targets["unpack_on_le_rg_z"] = _le(b.ratios["unpack_on_vs_rg_z"], 1.0)


def unpack_only():
    """BENCH_ONLY=unpack: the decoding/archive rows alone, on their own
    small corpus; results go to BENCH_DIR/results-unpack.json."""
    b = Bench()
    group_unpack(b)
    res = b.results
    print("%-40s %9s %9s %9s %10s" % ("command", "wall s", "cpu s",
                                     "RSS MiB", "MB/s"))
    for key in ("unpack_on", "unpack_off", "unpack_no_decode", "rg_unpack",
                "rgz_unpack"):
        print(fmt_row(res["rows"][key]))
    print()
    for k, v in res["ratios"].items():
        print("%-40s %s" % (k, "n/a" if v is None else "%.3f" % v))
    c = res["checks"]["unpack"]
    print("planted keys found (unpack): %s/%s" % (c["found"], c["planted"]))
    print("targets: " + ", ".join("%s=%s" % (k, "yes" if v else "NO")
                                  for k, v in res["targets"].items()))
    with open(os.path.join(BENCH_DIR, "results-unpack.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0 if c["found"] == c["planted"] else 1


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


def server_group():
    """BENCH_ONLY=server: push protection under load through smart HTTP
    (bench/server.py); results go to bench/results-server.json."""
    import server
    res = server.main(KEYLEAK, BENCH_DIR, log)
    res["machine"] = machine()
    res["versions"] = tool_versions()
    res["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    print("keyleak server benchmark: %s, %d cores; keyleak %s; load average "
          "at the end %s (shared machine: compare ratios, not seconds)" % (
              res["machine"]["cpu"], res["machine"]["cores"],
              res["versions"]["keyleak_commit"], " ".join(res["loadavg_end"])))
    server.print_table(res)
    with open(os.path.join(HERE, "results-server.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0 if all(res["targets"].values()) else 1


GROUPS = [("tree", group_tree), ("history", group_history),
          ("threads", group_threads), ("range", group_range),
          ("staged", group_staged), ("large", group_large),
          ("peers", group_peers), ("scale", group_scale),
          ("push", group_push), ("unpack", group_unpack)]


def main():
    os.makedirs(BENCH_DIR, exist_ok=True)
    if not os.access(KEYLEAK, os.X_OK):
        raise SystemExit("bench: %s is not built (run make)" % KEYLEAK)
    if ONLY == {"push"}:
        return push_only()
    if ONLY == {"org"}:
        return org_group()
    if ONLY == {"server"}:
        return server_group()
    if ONLY == {"unpack"}:
        return unpack_only()
    b = Bench()
    prepare(b)
    for name, fn in GROUPS:
        if name in ONLY:
            fn(b)
    res = b.results
    b.targets["all_planted_found"] = all(
        c.get("found") == c.get("planted")
        for c in res["checks"].values() if c.get("found") is not None)
    print_table(res)
    with open(os.path.join(HERE, "results.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")
    log("wrote bench/results.json")
    return 0 if b.targets["all_planted_found"] else 1


def print_table(res):
    m = res["machine"]
    c = res["corpora"]
    print("keyleak benchmark: %s, %d cores, %d MiB; keyleak %s" % (
        m["cpu"], m["cores"], m["mem_mib"], res["versions"]["keyleak_commit"]))
    print("load average at the end: %s (the machine is shared: compare "
          "ratios, not seconds)" % " ".join(
              open("/proc/loadavg").read().split()[:3]))
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
    for key in ("scan_tree", "grep_tree", "rg_tree", "history", "cat_file",
                "git_log_p", "staged", "large_file", "grep_large_file",
                "rg_large_file", "scan_subset", "grep_subset",
                "secretlint_subset", "git_secrets_subset",
                "git_secrets_history", "unpack_on", "unpack_off",
                "unpack_no_decode", "rg_unpack",
                "rgz_unpack") + push_bench.ROW_ORDER:
        if key in res["rows"]:
            print(fmt_row(res["rows"][key]))
    for key, table in res.get("scaling", {}).items():
        if not isinstance(table, list):
            print("%s: %s" % (key, table))
            continue
        print()
        print("scaling: %s" % key)
        for t in table:
            print("  " + ", ".join("%s=%s" % (k, t[k]) for k in sorted(t)))
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
