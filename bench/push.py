"""The "push" group of `make bench` (BENCH_ONLY=push): what push protection
costs on the history repository.

- A push of one commit changing one file: `git push` into a mirror with
  keyleak's pre-receive hook against one without it (the hook's added
  time), and the hook command alone (`keyleak pre-receive` fed the same
  ref-update line).
- The whole history pushed into an empty repository: `keyleak
  pre-receive` with every ref as a new ref, against `keyleak history
  --all` on the same objects.

Everything lives in BENCH_DIR/push-<repo name>/, built once per run from
the history repository with local (hard-linked) clones.
"""
import os
import shutil
import subprocess

ZERO = "0" * 40
CHANGE = b"\n/* push benchmark change */\n"


def git(*args, env=None, input=None):
    full = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null",
                GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Bench",
                GIT_AUTHOR_EMAIL="bench@localhost", GIT_COMMITTER_NAME="Bench",
                GIT_COMMITTER_EMAIL="bench@localhost")
    full.update(env or {})
    p = subprocess.run(["git"] + list(args), capture_output=True, env=full,
                       input=input, check=True)
    return p.stdout.decode().strip()


def one_commit(client):
    """A commit on top of main changing one file (the middle one), made
    with plumbing so the client needs no work tree. Returns (old, new)."""
    old = git("-C", client, "rev-parse", "main")
    files = git("-C", client, "ls-tree", "-r", "--name-only", "main").split("\n")
    path = files[len(files) // 2]
    content = subprocess.run(["git", "-C", client, "cat-file", "blob",
                              "main:" + path], capture_output=True,
                             check=True).stdout
    blob = git("-C", client, "hash-object", "-w", "--stdin",
               input=content + CHANGE)
    index = {"GIT_INDEX_FILE": os.path.join(client, "bench-index")}
    git("-C", client, "read-tree", "main", env=index)
    git("-C", client, "update-index", "--cacheinfo",
        "100644,%s,%s" % (blob, path), env=index)
    tree = git("-C", client, "write-tree", env=index)
    new = git("-C", client, "commit-tree", tree, "-p", old, "-m",
              "push benchmark: one file", env=index)
    return old, new


def setup(repo, keyleak, work):
    """Mirrors with and without the hook, a client holding one new commit,
    and an object store with every object of repo but no refs."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    paths = {k: os.path.join(work, k) for k in (
        "hook.git", "plain.git", "client.git", "empty.git")}
    for k in ("hook.git", "plain.git", "empty.git"):
        git("clone", "-q", "--mirror", repo, paths[k])
    git("clone", "-q", "--bare", "--shared", repo, paths["client.git"])
    subprocess.run([keyleak, "install-hook", "--pre-receive",
                    paths["hook.git"]], check=True, capture_output=True)
    old, new = one_commit(paths["client.git"])
    # The new objects reach plain.git once, so the direct hook run has them.
    git("-C", paths["client.git"], "push", "-q", paths["plain.git"],
        new + ":refs/heads/bench-tmp")
    git("-C", paths["plain.git"], "update-ref", "-d", "refs/heads/bench-tmp")
    one = os.path.join(work, "one-commit.txt")
    with open(one, "w") as f:
        f.write("%s %s refs/heads/main\n" % (old, new))
    # Every ref of repo as a new ref of an empty repository.
    refs = git("-C", paths["empty.git"], "for-each-ref",
               "--format=%(objectname) %(refname)").split("\n")
    whole = os.path.join(work, "whole-history.txt")
    with open(whole, "w") as f:
        for line in refs:
            f.write("%s %s\n" % (ZERO, line))
    git("-C", paths["empty.git"], "update-ref", "--stdin",
        input="".join("delete %s\n" % l.split(" ")[1] for l in refs).encode())
    return paths, old, new, one, whole


def run(repo, keyleak, bench_dir, runs, measure, Cmd, summary, log):
    """Measure the push group; returns (rows, ratios, targets, info)."""
    work = os.path.join(bench_dir, "push-" + os.path.basename(
        os.path.normpath(repo)))
    log("push: preparing mirrors of %s in %s" % (repo, work))
    paths, old, new, one, whole = setup(repo, keyleak, work)
    env = {"KEYLEAK": keyleak, "GIT_CONFIG_GLOBAL": "/dev/null",
           "GIT_CONFIG_NOSYSTEM": "1"}

    def reset(srv):
        return lambda: git("-C", srv, "update-ref", "refs/heads/main", old)

    push_hook = Cmd("git push, 1 commit (pre-receive)", [
        "git", "-C", paths["client.git"], "push", "-q", paths["hook.git"],
        new + ":refs/heads/main"], env=env, ok=(0,),
        prepare=reset(paths["hook.git"]))
    push_plain = Cmd("git push, 1 commit (no hook)", [
        "git", "-C", paths["client.git"], "push", "-q", paths["plain.git"],
        new + ":refs/heads/main"], env=env, ok=(0,),
        prepare=reset(paths["plain.git"]))
    hook_one = Cmd("keyleak pre-receive (1 commit)", [
        "sh", "-c", '"$0" pre-receive -q --repo "$1" < "$2"', keyleak,
        paths["plain.git"], one], ok=(0,), prepare=reset(paths["plain.git"]))
    measure([push_hook, push_plain, hook_one], runs)
    hook_all = Cmd("keyleak pre-receive (whole history)", [
        "sh", "-c", '"$0" pre-receive -q --repo "$1" < "$2"', keyleak,
        paths["empty.git"], whole], ok=(0, 1))
    hist_all = Cmd("keyleak history --all (same repo)", [
        keyleak, "history", "--all", "-q", "--format", "json", repo],
        ok=(0, 1))
    hist_runs = max(1, min(runs, 2))
    measure([hook_all, hist_all], hist_runs)
    rows = {"push_hook": summary(push_hook, 0),
            "push_plain": summary(push_plain, 0),
            "pre_receive_one": summary(hook_one, 0),
            "pre_receive_whole": summary(hook_all, 0),
            "history_all_push": summary(hist_all, 0)}
    ratios, targets = {}, {}
    if rows["push_hook"].get("available") and \
            rows["push_plain"].get("available"):
        added = rows["push_hook"]["wall_s"] - rows["push_plain"]["wall_s"]
        ratios["push_hook_added_s"] = round(added, 4)
        targets["push_hook_lt_100ms"] = added < 0.1
    if rows["pre_receive_whole"].get("available") and \
            rows["history_all_push"].get("available"):
        ratios["whole_push_vs_history"] = round(
            rows["pre_receive_whole"]["wall_s"] /
            rows["history_all_push"]["wall_s"], 3)
        targets["whole_push_le_history"] = \
            ratios["whole_push_vs_history"] <= 1.0
    return rows, ratios, targets, {"work": work, "old": old, "new": new}


ROW_ORDER = ("push_hook", "push_plain", "pre_receive_one",
             "pre_receive_whole", "history_all_push")
