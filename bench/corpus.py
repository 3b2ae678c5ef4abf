"""Corpus builders for `make bench`: deterministic, cached in BENCH_DIR.

- tree:    the Debian linux-source tarball unpacked, with one synthetic key
           per content rule planted in existing files (or BENCH_TREE as is);
- subset:  a fixed ~20 MB sample of the tree for the slow peers;
- history: a repository of >= 10,000 commits touching >= 20,000 distinct
           files, made from the tree by small edits with `git fast-import`,
           with keys planted on main and on four branches (or BENCH_REPO).

Keys come from tests/e2e/lib.py (the rules' own example templates, seeded),
so no key-like literal is ever written into the source tree. Each builder
records what it planted in a JSON file beside the corpus; a marker file
with CORPUS_VERSION makes a rebuild happen only when the recipe changes.
"""
import glob
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import lib  # noqa: E402  (make_key, RULES)

CORPUS_VERSION = "3"
SUBSET_BYTES = 20 * 1024 * 1024
HISTORY_POOL = 24000          # files the history edits
HISTORY_COMMITS = 10000       # on main, after the import commit
BRANCHES = 4
BRANCH_COMMITS = 150
EDITS_PER_COMMIT = 3
MAX_POOL_FILE = 24 * 1024
# Placeholder words the engine rejects inside a secret (src/engine/checks.c);
# a generated key containing one by chance is re-drawn.
PLACEHOLDER = re.compile(r"example|sample|dummy|test|placeholder|your|fake|"
                         r"redacted|changeme|xxxx|here|insert|replace|secret|"
                         r"mykey|apikey|token", re.I)


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def _done(path):
    try:
        with open(path + ".done") as f:
            return f.read().strip() == CORPUS_VERSION
    except OSError:
        return False


def _mark_done(path):
    with open(path + ".done", "w") as f:
        f.write(CORPUS_VERSION + "\n")


# ------------------------------------------------------------------ keys

def _pcre_to_py(regex):
    # The rules use PCRE syntax that Python's re shares, except possessive
    # and atomic forms, which they do not use, and branch reset groups
    # ((?|a(x)|b(y)): one group number for each branch's secret), read as
    # plain groups: the secret is then the first group that matched.
    return re.compile(regex.replace("(?|", "(?:"))


def planted_key(rule_id, seed):
    """(line text, expected secret) for rule_id, independent of keyleak."""
    rule = lib.RULES[rule_id]
    rx = _pcre_to_py(rule["regex"])
    group = rule.get("secret_group", 0)
    for attempt in range(100):
        text = lib.make_key(rule_id, "%s-%d" % (seed, attempt))
        if "=" in text:
            line = text                      # NAME=value, as in a .env file
        else:
            line = 'static const char api_key[] = "%s";' % text
        m = rx.search(line)
        if not m:
            continue
        secret = m.group(group)
        if secret is None and "(?|" in rule["regex"]:
            secret = next(g for g in m.groups() if g is not None)
        # a prefix such as esecret_, sb_secret_ or secret_ is no placeholder
        body = re.sub(r"^(?:[a-z0-9]+_)+", "", secret)
        for kw in rule.get("keywords", []):
            body = re.sub(re.escape(kw), "", body, flags=re.I)
        if PLACEHOLDER.search(body) or re.search(r"(.)\1{5}", secret):
            continue
        return line, secret
    raise RuntimeError("cannot make a key for %s" % rule_id)


def _insert_line(content, line, rng):
    lines = content.split(b"\n")
    at = rng.randrange(len(lines) + 1)
    lines.insert(at, line.encode())
    return b"\n".join(lines)


def _is_text(data):
    return b"\0" not in data[:8192]


# ------------------------------------------------------------------ tree

def linux_tarball():
    found = sorted(glob.glob("/usr/src/linux-source-*.tar.xz"))
    if not found:
        raise SystemExit("bench: no /usr/src/linux-source-*.tar.xz; "
                         "run bench/setup.sh (apt-get install linux-source)")
    return found[-1]


def list_files(root):
    out = []
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p):
                out.append(os.path.relpath(p, root))
    return out


def build_tree(bench_dir):
    """Unpack linux-source and plant one key per content rule."""
    tarball = linux_tarball()
    name = os.path.basename(tarball)[:-len(".tar.xz")]
    dest = os.path.join(bench_dir, "tree-" + name)
    meta = dest + ".planted.json"
    if _done(dest):
        return dest, json.load(open(meta))
    shutil.rmtree(dest, ignore_errors=True)
    log("unpacking %s into %s" % (tarball, dest))
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    subprocess.run(["tar", "-xJf", tarball, "-C", tmp], check=True)
    (top,) = os.listdir(tmp)
    os.rename(os.path.join(tmp, top), dest)
    os.rmdir(tmp)
    rng = random.Random("tree")
    files = [f for f in list_files(dest) if f.endswith((".c", ".h", ".py",
                                                       ".sh", ".rst"))]
    planted = []
    for i, rule_id in enumerate(lib.key_rule_ids()):
        rel = files[rng.randrange(len(files))]
        path = os.path.join(dest, rel)
        line, secret = planted_key(rule_id, "tree-%d" % i)
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(_insert_line(data, line, rng))
        planted.append({"rule": rule_id, "secret": secret, "path": rel})
    json.dump(planted, open(meta, "w"), indent=1)
    _mark_done(dest)
    return dest, planted


def build_subset(bench_dir, tree, planted):
    """A fixed ~20 MB sample of the tree: every planted file, then files
    spread evenly over the sorted list."""
    dest = os.path.join(bench_dir, "subset-%s" % os.path.basename(tree))
    if _done(dest):
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    files = list_files(tree)
    sizes = {f: os.path.getsize(os.path.join(tree, f)) for f in files}
    total = sum(sizes.values())
    step = max(1, int(total / SUBSET_BYTES))
    chosen = [p["path"] for p in planted if p.get("path") in sizes]
    chosen += files[::step]
    picked, size = [], 0
    for f in dict.fromkeys(chosen):
        if size >= SUBSET_BYTES:
            break
        picked.append(f)
        size += sizes[f]
    for f in picked:
        os.makedirs(os.path.dirname(os.path.join(dest, f)), exist_ok=True)
        shutil.copyfile(os.path.join(tree, f), os.path.join(dest, f))
    _mark_done(dest)
    return dest


# --------------------------------------------------------------- history

class FastImport:
    """Writes a git fast-import stream to a running `git fast-import`."""

    def __init__(self, repo):
        self.p = subprocess.Popen(["git", "-C", repo, "fast-import",
                                   "--quiet", "--done"],
                                  stdin=subprocess.PIPE)
        self.out = self.p.stdin
        self.mark = 0
        self.time = 1600000000

    def data(self, b):
        self.out.write(b"data %d\n" % len(b))
        self.out.write(b)
        self.out.write(b"\n")

    def commit(self, ref, message, changes, parent=None, merge=None):
        """changes: list of (path, bytes or None to delete); merge: the
        mark of a second parent."""
        self.mark += 1
        self.time += 600
        who = b"Bench Author <bench@example.org> %d +0000" % self.time
        self.out.write(b"commit refs/heads/%s\nmark :%d\n" %
                       (ref.encode(), self.mark))
        self.out.write(b"author " + who + b"\ncommitter " + who + b"\n")
        self.data(message.encode())
        if parent:
            self.out.write(b"from :%d\n" % parent)
        if merge:
            self.out.write(b"merge :%d\n" % merge)
        for path, content in changes:
            if content is None:
                self.out.write(b"D %s\n" % path.encode())
            else:
                self.out.write(b"M 100644 inline %s\n" % path.encode())
                self.data(content)
        self.out.write(b"\n")
        return self.mark

    def close(self):
        self.out.write(b"done\n")
        self.out.close()
        if self.p.wait() != 0:
            raise RuntimeError("git fast-import failed")


_WORDS = [b"fix", b"tidy", b"rename", b"refactor", b"document", b"check",
          b"handle", b"update", b"clarify", b"simplify"]


def edit(content, rng, n):
    """A small realistic change: add a comment line, tweak or drop a line."""
    lines = content.split(b"\n")
    at = rng.randrange(len(lines))
    op = rng.random()
    indent = re.match(rb"[ \t]*", lines[at]).group(0)
    if op < 0.5 or len(lines) < 3:
        lines.insert(at, indent + b"/* %s: %s (rev %d) */" %
                     (rng.choice(_WORDS), rng.choice(_WORDS), n))
    elif op < 0.8:
        lines[at] = lines[at].rstrip() + b" /* %d */" % n
    else:
        del lines[at]
    return b"\n".join(lines)


def _history_pool(tree, rng):
    files = []
    for f in list_files(tree):
        size = os.path.getsize(os.path.join(tree, f))
        if 200 <= size <= MAX_POOL_FILE and " " not in f and "\n" not in f:
            files.append(f)
    step = len(files) / HISTORY_POOL
    if step < 1:
        raise SystemExit("bench: the tree has fewer than %d suitable files"
                         % HISTORY_POOL)
    return [files[int(i * step)] for i in range(HISTORY_POOL)]


def _plant_schedule(rng):
    """Which key goes where: (branch or 'main', commit index) per rule."""
    rules = lib.key_rule_ids()
    plan = {}
    for i, rule_id in enumerate(rules):
        if i % 3 == 2:
            plan[rule_id] = ("feature-%d" % (i % BRANCHES + 1),
                             rng.randrange(1, BRANCH_COMMITS))
        else:
            plan[rule_id] = ("main", rng.randrange(1, HISTORY_COMMITS))
    return plan


def build_history(bench_dir, tree):
    repo = os.path.join(bench_dir, "history-repo")
    meta = repo + ".planted.json"
    if _done(repo):
        return repo, json.load(open(meta))
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    rng = random.Random("history")
    pool = _history_pool(tree, rng)
    content = {}
    for f in pool:
        with open(os.path.join(tree, f), "rb") as fh:
            content[f] = fh.read()
    plan = _plant_schedule(rng)
    by_main = {}
    by_branch = {}
    for rule_id, (branch, at) in sorted(plan.items()):
        if branch == "main":
            by_main.setdefault(at, []).append(rule_id)
        else:
            by_branch.setdefault((branch, at), []).append(rule_id)
    forks = {HISTORY_COMMITS * (k + 1) // (BRANCHES + 1): "feature-%d" % (k + 1)
             for k in range(BRANCHES)}
    order = pool[:]
    rng.shuffle(order)
    log("building the history repository (%d commits) with git fast-import"
        % (HISTORY_COMMITS + 1 + BRANCHES * BRANCH_COMMITS))
    fi = FastImport(repo)
    mark = fi.commit("main", "import %d files" % len(pool),
                     [(f, content[f]) for f in pool])
    planted, branch_state, edits = [], {}, 0
    removed_later = {}
    for n in range(1, HISTORY_COMMITS + 1):
        changes = []
        for _ in range(EDITS_PER_COMMIT):
            f = order[edits % len(order)]
            edits += 1
            content[f] = edit(content[f], rng, n)
            changes.append(f)
        for rule_id in by_main.get(n, []):
            f = changes[0]
            line, secret = planted_key(rule_id, "history-%d" % n)
            content[f] = _insert_line(content[f], line, rng)
            planted.append({"rule": rule_id, "secret": secret,
                            "branch": "main", "commit": n, "path": f})
            if len(planted) % 4 == 0:   # some keys are removed again
                removed_later[n + 7] = (f, line)
        if n in removed_later:
            f, line = removed_later.pop(n)
            content[f] = content[f].replace(line.encode() + b"\n", b"")
            changes.append(f)
        changes = sorted(set(changes))
        mark = fi.commit("main", "edit %d" % n,
                         [(f, content[f]) for f in changes], None)
        if n in forks:
            branch = forks[n]
            files = rng.sample(pool, 200)
            branch_state[branch] = (mark, {f: content[f] for f in files})
    for branch, (fork_mark, files) in sorted(branch_state.items()):
        names = sorted(files)
        parent = fork_mark
        for n in range(1, BRANCH_COMMITS + 1):
            f = names[rng.randrange(len(names))]
            files[f] = edit(files[f], rng, n)
            for rule_id in by_branch.get((branch, n), []):
                line, secret = planted_key(rule_id, "%s-%d" % (branch, n))
                files[f] = _insert_line(files[f], line, rng)
                planted.append({"rule": rule_id, "secret": secret,
                                "branch": branch, "commit": n, "path": f})
            parent = fi.commit(branch, "%s: edit %d" % (branch, n),
                               [(f, files[f])], parent)
    fi.close()
    log("repacking the history repository")
    subprocess.run(["git", "-C", repo, "repack", "-a", "-d", "-q",
                    "--window=10", "--depth=50"], check=True)
    subprocess.run(["git", "-C", repo, "reset", "-q", "--hard", "main"],
                   check=True)
    json.dump(planted, open(meta, "w"), indent=1)
    _mark_done(repo)
    return repo, planted


def repo_stats(repo):
    """Commits, distinct files touched, blob bytes of a repository."""
    commits = int(subprocess.run(["git", "-C", repo, "rev-list", "--all",
                                  "--count"], capture_output=True,
                                 check=True).stdout)
    blob_bytes = 0
    blobs = 0
    p = subprocess.run(["git", "-C", repo, "cat-file", "--batch-all-objects",
                        "--batch-check=%(objecttype) %(objectsize)"],
                       capture_output=True, check=True)
    for line in p.stdout.split(b"\n"):
        if line.startswith(b"blob "):
            blobs += 1
            blob_bytes += int(line[5:])
    p = subprocess.run(["git", "-C", repo, "log", "--all", "--format=",
                        "--name-only"], capture_output=True, check=True)
    touched = len(set(x for x in p.stdout.split(b"\n") if x))
    return {"commits": commits, "distinct_files_touched": touched,
            "blobs": blobs, "blob_bytes": blob_bytes}


# ----------------------------------------------------------------- scale

SCALE_DIRS = (20, 15)   # top-level dirs x subdirs: 300 leaf dirs
SCALE_FILES = 10        # files per leaf dir: 3,000 files
SCALE_BRANCH_EVERY = 1000   # a side branch of SCALE_BRANCH_LEN commits,
SCALE_BRANCH_LEN = 20       # merged back, every this many commits
SCALE_KEYS = 12


def _scale_paths():
    return ["d%02d/s%02d/f%d.c" % (a, b, c) for a in range(SCALE_DIRS[0])
            for b in range(SCALE_DIRS[1]) for c in range(SCALE_FILES)]


def build_scale(bench_dir, commits):
    """A synthetic repository of `commits` commits for the scale rows:
    3,000 small files in 300 directories, one or two files changed per
    commit, a side branch merged back every 1,000 commits, and a few keys
    planted along the way. Written straight into git fast-import (no
    repack: its pack is what a long-lived clone's would be, roughly)."""
    repo = os.path.join(bench_dir, "scale-%d" % commits)
    meta = repo + ".planted.json"
    if _done(repo):
        return repo, json.load(open(meta))
    shutil.rmtree(repo, ignore_errors=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", repo],
                   check=True)
    rng = random.Random("scale-%d" % commits)
    paths = _scale_paths()
    content = {p: [b"/* %s */" % p.encode()] +
               [b"int v%d = %d;" % (i, rng.randrange(1000))
                for i in range(rng.randrange(10, 40))] for p in paths}
    rules = lib.key_rule_ids()
    plant_at = {commits * (k + 1) // (SCALE_KEYS + 1): rules[k % len(rules)]
                for k in range(SCALE_KEYS)}
    log("building a %d-commit repository with git fast-import" % commits)
    fi = FastImport(repo)
    fi.time = 1500000000
    mark = fi.commit("main", "import", [(p, b"\n".join(content[p]) + b"\n")
                                        for p in paths])
    planted = []
    n = 1
    while n < commits:
        if n % SCALE_BRANCH_EVERY == 0 and n + SCALE_BRANCH_LEN + 1 < commits:
            side = mark
            for k in range(SCALE_BRANCH_LEN):
                p = "feature/%d/notes-%d.txt" % (n, k % 3)
                side = fi.commit("side", "side %d.%d" % (n, k),
                                 [(p, b"note %d\n" % k)], side)
            mark = fi.commit("main", "merge side %d" % n, [], mark, side)
            n += SCALE_BRANCH_LEN + 1
            continue
        p = paths[rng.randrange(len(paths))]
        lines = content[p]
        at = rng.randrange(1, len(lines) + 1)
        if rng.random() < 0.7 or len(lines) < 8:
            lines.insert(at, b"int w%d = %d;" % (n, rng.randrange(1000)))
        else:
            del lines[at - 1 if at > 1 else 1]
        if n in plant_at:
            line, secret = planted_key(plant_at[n], "scale-%d" % n)
            lines.insert(at, line.encode())
            planted.append({"rule": plant_at[n], "secret": secret,
                            "commit": n, "path": p})
        mark = fi.commit("main", "edit %d" % n,
                         [(p, b"\n".join(lines) + b"\n")], mark)
        n += 1
    fi.close()
    json.dump(planted, open(meta, "w"), indent=1)
    _mark_done(repo)
    return repo, planted


# ------------------------------------------------------------ large file

LARGE_PIECE = 8 << 20        # src/findings/stream.c
LARGE_STEP = LARGE_PIECE - 4608 - 256   # where windows 2, 3 ... start


def build_large(bench_dir, size):
    """One log-like text file of `size` bytes with keys at offset 0, in
    the middle, across the first piece boundaries and on the last byte."""
    path = os.path.join(bench_dir, "large-%d.log" % size)
    meta = path + ".planted.json"
    if _done(path):
        return path, json.load(open(meta))
    rng = random.Random("large")
    lines = []
    while sum(len(x) for x in lines) < (1 << 20):
        lines.append(b"2026-01-%02dT%02d:%02d:%02dZ INFO req=%08x path=/api/"
                     b"v1/items/%d status=%d bytes=%d\n" % (
                         rng.randrange(1, 29), rng.randrange(24),
                         rng.randrange(60), rng.randrange(60),
                         rng.getrandbits(32), rng.randrange(100000),
                         rng.choice((200, 200, 200, 404, 500)),
                         rng.randrange(1 << 16)))
    block = b"".join(lines)
    log("writing a %d-byte file with keys" % size)
    with open(path + ".tmp", "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n
    offsets = [0, size // 2]
    for k in (1, 2, 3):
        for edge in (k * LARGE_STEP + 4608 + 256, k * LARGE_STEP + 256,
                     k * LARGE_STEP):
            offsets.append(edge - 40)
    rules = lib.key_rule_ids()
    planted = []
    with open(path + ".tmp", "r+b") as f:
        for i, off in enumerate(offsets + [None]):
            rule = rules[i % len(rules)]
            line, secret = planted_key(rule, "large-%d" % i)
            text = ("\n" + line + "\n").encode()
            if off is None:         # the key ends on the last byte
                text = ("\n" + line).encode()
                off = size - len(text)
            elif off == 0:
                text = text[1:]
            else:
                off -= 1
            f.seek(off)
            f.write(text)
            planted.append({"rule": rule, "secret": secret, "offset": off})
    os.rename(path + ".tmp", path)
    json.dump(planted, open(meta, "w"), indent=1)
    _mark_done(path)
    return path, planted


# ------------------------------------------------- decoding and archives

UNPACK_VERSION = "1"


def build_unpack(bench_dir):
    """A tree for the cost of decoding and archives: notebooks full of
    base64 PNG images, minified bundles, a few archives (zip, tar.gz, gz)
    of ordinary text, and some encoded and packed keys to find. Returns
    (path, planted)."""
    import base64
    import gzip
    import io
    import zipfile
    path = os.path.join(bench_dir, "unpack-tree")
    meta = path + ".json"
    try:
        with open(path + ".done") as f:
            if f.read().strip() == UNPACK_VERSION:
                with open(meta) as g:
                    return path, json.load(g)
    except OSError:
        pass
    log("building the decoding/archive tree in %s" % path)
    shutil.rmtree(path, ignore_errors=True)
    rng = random.Random(21)
    planted = []

    def put(rel, data):
        full = os.path.join(path, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)

    def blob(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    for i in range(60):  # notebooks: 20 images of 24 KiB each
        cells = []
        for j in range(20):
            png = b"\x89PNG\r\n\x1a\n" + blob(24 * 1024)
            cells.append({"cell_type": "code", "source": ["plot(%d)\n" % j],
                          "outputs": [{"data": {
                              "image/png": base64.b64encode(png).decode(),
                              "text/plain": ["<Figure>"]}}]})
        put("notebooks/nb%02d.ipynb" % i, json.dumps({"cells": cells},
                                                      indent=1))
    words = ["render", "state", "props", "value", "handler", "index",
             "module", "export", "default", "function", "return", "const"]
    for i in range(30):  # minified bundles of about 600 KB
        parts = []
        n = 0
        while n < 600 * 1024:
            w = "".join(rng.choice(words).capitalize() for _ in range(4))
            s = "function %s%d(a,b){return a.%s(b)+\"\\u00e9%s\"}" % (
                w, n, w, rng.choice(words))
            parts.append(s)
            n += len(s) + 1
        put("dist/bundle%02d.min.js" % i, ";".join(parts) + "\n")
    text = "".join("line %d of an ordinary text file, %s\n" % (
        k, rng.choice(words)) for k in range(20000))
    for i in range(4):
        bio = io.BytesIO()
        with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
            for j in range(20):
                z.writestr("src/file%02d.txt" % j, text)
        put("releases/r%d.zip" % i, bio.getvalue())
    put("releases/logs.txt.gz", gzip.compress(text.encode() * 4))
    for n, rule in enumerate(("anthropic-api-key", "groq-api-key",
                              "huggingface-access-token")):
        line, k = planted_key(rule, 100 + n)
        line += "\n"
        put("k8s/secret%d.yaml" % n, "kind: Secret\ndata:\n  TOKEN: %s\n" %
            base64.b64encode(line.encode()).decode())
        planted.append({"rule": rule, "secret": k,
                        "path": "k8s/secret%d.yaml" % n})
        bio = io.BytesIO()
        with zipfile.ZipFile(bio, "w") as z:
            z.writestr("app/.env", line)
        put("releases/app%d.zip" % n, bio.getvalue())
        planted.append({"rule": rule, "secret": k,
                        "path": "releases/app%d.zip" % n})
    with open(meta, "w") as f:
        json.dump(planted, f)
    with open(path + ".done", "w") as f:
        f.write(UNPACK_VERSION + "\n")
    return path, planted
