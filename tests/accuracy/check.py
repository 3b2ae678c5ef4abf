#!/usr/bin/env python3
"""Re-check keyleak's hand-labelled findings on real repositories.

usage: check.py --repos DIR [--keyleak PATH] [--write] [--only NAME]
                [--labels-dir DIR]

tests/accuracy/repos.json lists public repositories (AI SDKs, cookbooks,
awesome-lists, gateways, and the peers' own test suites) at the commit
they were labelled at. labels.tsv holds one row per finding of
`keyleak history --all` over each: repository, introducing commit, path,
line, rule, SHA-256 of the secret (never the secret), TP/FP, and a note.

A repository is looked for under DIR as owner+name/repo (the layout of a
mirror), owner/name, name or name.git; one that is absent is skipped (so
CI, which has no network, passes). For each present one this runs keyleak
and fails when a labelled finding is gone or an unlabelled one appears,
then prints the table doc/accuracy.md carries. Peer suites (TruffleHog's
detector tests, gitleaks' rule tests) are also scored as cases found and
missed. --write rewrites labels.tsv from the scans, keeping existing
labels and marking new findings "??" for review. Exit 0 when everything
present matches, 1 when something differs, 2 on bad usage.
"""
import argparse
import collections
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIELDS = ["repo", "commit", "path", "line", "rule", "sha256", "label", "note"]


DATA = HERE  # where repos.json and labels.tsv live (--labels-dir)


def load_repos():
    with open(os.path.join(DATA, "repos.json"), encoding="utf-8") as f:
        return json.load(f)


def load_labels():
    rows = []
    with open(os.path.join(DATA, "labels.tsv"), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if n == 1 or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != len(FIELDS):
                sys.exit("labels.tsv:%d: expected %d fields" % (n, len(FIELDS)))
            row = dict(zip(FIELDS, parts))
            row["line"] = int(row["line"])
            rows.append(row)
    return rows


def write_labels(rows):
    rows = sorted(rows, key=lambda r: (r["repo"], r["path"], r["line"], r["rule"], r["sha256"]))
    with open(os.path.join(DATA, "labels.tsv"), "w", encoding="utf-8") as f:
        f.write("\t".join(FIELDS) + "\n")
        for r in rows:
            f.write("\t".join(str(r[k]) for k in FIELDS) + "\n")


def find_repo(base, name):
    owner, short = name.split("/")
    for cand in (os.path.join(base, owner + "+" + short, "repo"), os.path.join(base, owner, short),
                 os.path.join(base, short), os.path.join(base, short + ".git")):
        if os.path.isdir(cand):
            return cand
    return None


def git(repo, *args):
    return subprocess.run(["git", "-C", repo] + list(args), check=True,
                          stdout=subprocess.PIPE).stdout


def run_keyleak(keyleak, args):
    p = subprocess.run([keyleak] + args + ["-f", "json", "-q", "--no-repo-config", "--show-secrets",
                                           "--allow-incomplete"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)  # unreadable objects: counted in the table
    if p.returncode not in (0, 1):
        raise RuntimeError("keyleak %s exited %d" % (" ".join(args), p.returncode))
    return json.loads(p.stdout)


def sha(secret):
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def key_rows(name, report):
    out = []
    for f in report["findings"]:
        if f["kind"] != "key":
            continue
        assert "\t" not in f["path"] and "\n" not in f["path"], f["path"]
        out.append({"repo": name, "commit": (f.get("provenance") or {}).get("commit", ""),
                    "path": f["path"], "line": f["line"], "rule": f["rule_id"],
                    "sha256": sha(f["secret"]), "label": "??", "note": ""})
    return out


def ident(r):
    return (r["repo"], r["commit"], r["path"], r["line"], r["rule"], r["sha256"])


# ------------------------------------------------------------ peer suites

_LIT = re.compile(r'"((?:[^"\\\n]|\\.)*)"|`([^`]*)`')


def _literals(block, skip_calls):
    """String literals of a case list; with skip_calls, only whole tokens
    outside calls (gitleaks generates most cases at test time)."""
    for line in block.splitlines():
        for m in _LIT.finditer(line):
            s = m.group(1) if m.group(1) is not None else m.group(2)
            if skip_calls and ("(" in line[:m.start()] or not re.fullmatch(r"[\w.+/=-]{20,}", s)):
                continue
            if len(s) >= 16:
                yield s


def _noseyparker_cases(text):
    """Nosey Parker rule files: each rule's `examples` and
    `negative_examples` are whole cases (often several lines)."""
    import yaml  # python3-yaml: installed by .ci/run
    pos, neg = [], []
    for rule in (yaml.safe_load(text) or {}).get("rules") or []:
        pos += [e for e in rule.get("examples") or [] if isinstance(e, str)]
        neg += [e for e in rule.get("negative_examples") or [] if isinstance(e, str)]
    return pos, neg


def peer_cases(kind, path, text):
    """Positive and negative literal cases of one peer test file."""
    pos, neg = [], []
    if kind == "noseyparker":
        return _noseyparker_cases(text)
    if kind == "trufflehog":
        for m in re.finditer(r"want:\s*\[\]string\{(.*?)\}", text, re.S):
            pos += list(_literals(m.group(1), False))
    else:  # gitleaks: tps / fps blocks of the rule generators
        for var, out in (("tps", pos), ("fps", neg)):
            for m in re.finditer(var + r"\s*:?=\s*\[\]string\{(.*?)\n\t\}", text, re.S):
                out += list(_literals(m.group(1), True))
    return pos, neg


def score_peer(keyleak, repo, spec):
    """Extract the suite's test files at the labelled commit, scan them,
    and count the literal cases keyleak finds; list the pairs it reports
    (each must name its own example's partner)."""
    data = git(repo, "archive", spec["head"], *spec["paths"])
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and
                       re.search(spec["files"], m.name)]
            tar.extractall(tmp, members=members)
        report = run_keyleak(keyleak, ["scan", tmp])
        found = collections.defaultdict(set)
        for f in report["findings"]:
            if f["kind"] == "key":
                # a pair's secret is ID:PARTNER; its id alone names the case
                found[f["path"]].add(f["secret"].split(":", 1)[0] if f.get("paired_line")
                                     else f["secret"])
        res = {"cases": 0, "found": 0, "negatives": 0, "negatives_reported": 0, "missed": [],
               "pairs": ["pair %s:%d with line %d" % (f["path"], f["line"], f["paired_line"])
                         for f in report["findings"] if f.get("paired_line")]}
        for m in members:
            with open(os.path.join(tmp, m.name), encoding="utf-8", errors="replace") as fh:
                pos, neg = peer_cases(spec["peer"], m.name, fh.read())
            secrets = found.get(m.name, set())
            for c in pos:
                res["cases"] += 1
                if any(s in c for s in secrets):
                    res["found"] += 1
                else:
                    res["missed"].append(hashlib.sha256(c.encode()).hexdigest()[:12])
            for c in neg:
                res["negatives"] += 1
                res["negatives_reported"] += any(s in c for s in secrets)
    return res


# ------------------------------------------------------------------ main

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repos", default=os.environ.get("REPOS", ""))
    ap.add_argument("--keyleak", default=os.environ.get("KEYLEAK", os.path.join(ROOT, "keyleak")))
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--labels-dir", default=HERE)
    a = ap.parse_args(argv)
    global DATA
    DATA = a.labels_dir
    if not a.repos or not os.path.isdir(a.repos):
        print("accuracy: skipped: no repository directory (make accuracy REPOS=DIR)")
        return 0
    repos = load_repos()
    labels = load_labels()
    by_repo = collections.defaultdict(list)
    for r in labels:
        by_repo[r["repo"]].append(r)
    table, failures, present, new_labels = [], 0, 0, []
    for spec in repos:
        name = spec["repo"]
        if a.only and a.only not in name:
            new_labels += by_repo[name]
            continue
        repo = find_repo(a.repos, name)
        if not repo:
            print("# %s: skipped (not under %s)" % (name, a.repos))
            new_labels += by_repo[name]
            continue
        present += 1
        head = git(repo, "rev-parse", "HEAD").decode().strip()
        if head != spec["head"]:
            print("# %s: local HEAD %s, labelled at %s: findings may differ" % (name, head[:12], spec["head"][:12]))
        if spec.get("history", True):
            report = run_keyleak(a.keyleak, ["history", "--all", repo])
        else:  # a peer's rule files only: their examples are the cases
            report = {"findings": [], "notices": [],
                      "summary": {"commits_scanned": 0, "files_scanned": 0}}
        got = key_rows(name, report)
        old = {ident(r): r for r in by_repo[name]}
        now = {ident(r): r for r in got}
        gone = [k for k in old if k not in now]
        fresh = [k for k in now if k not in old]
        for k in gone:
            print("not ok - %s: labelled %s finding gone: %s:%d %s sha256 %s" %
                  (name, old[k]["label"], k[2], k[3], k[4], k[5][:12]))
        for k in fresh:
            print("not ok - %s: unlabelled finding: %s:%d %s sha256 %s" % (name, k[2], k[3], k[4], k[5][:12]))
        failures += len(gone) + len(fresh)
        merged = [old.get(k, r) for k, r in now.items()]
        new_labels += merged
        labelled = [old[k] for k in now if k in old]
        fp = collections.Counter(r["rule"] for r in labelled if r["label"] == "FP")
        row = {"repo": name, "commits": report["summary"]["commits_scanned"],
               "blobs": report["summary"]["files_scanned"], "findings": len(now),
               "tp": sum(r["label"] == "TP" for r in labelled),
               "fp": sum(fp.values()), "fp_rules": ", ".join("%s ×%d" % kv for kv in sorted(fp.items())),
               "unread": sum(n["kind"] == "error" for n in report["notices"])}
        if spec.get("peer"):
            row["peer"] = score_peer(a.keyleak, repo, spec)
            want = spec.get("peer_expect")
            for pair in row["peer"]["pairs"]:
                print("# %s: %s" % (name, pair))
            got_p = {k: row["peer"][k] for k in ("cases", "found", "negatives", "negatives_reported")}
            if want and want != got_p:
                print("not ok - %s: peer suite %s, labelled %s" % (name, got_p, want))
                failures += 1
        table.append(row)
    if a.write:
        write_labels(new_labels)
        print("# labels.tsv rewritten: %d rows (%d to review)" %
              (len(new_labels), sum(r["label"] == "??" for r in new_labels)))
    print_table(table)
    if not present:
        print("accuracy: skipped: none of the %d repositories is under %s" % (len(repos), a.repos))
        return 0
    print("accuracy: %d repositories checked, %d differences" % (present, failures))
    return 1 if failures else 0


def print_table(table):
    if not table:
        return
    print("\n| repository | commits | blobs | unreadable | findings | TP | FP | FP rules |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in table:
        print("| %s | %d | %d | %d | %d | %d | %d | %s |" % (r["repo"], r["commits"], r["blobs"], r["unread"],
                                                           r["findings"], r["tp"], r["fp"], r["fp_rules"] or "-"))
    peers = [r for r in table if "peer" in r]
    if peers:
        print("\n| peer suite | literal cases | found | missed | negative cases | reported |")
        print("|---|---:|---:|---:|---:|---:|")
        for r in peers:
            p = r["peer"]
            print("| %s | %d | %d | %d | %d | %d |" % (r["repo"], p["cases"], p["found"], len(p["missed"]),
                                                     p["negatives"], p["negatives_reported"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
