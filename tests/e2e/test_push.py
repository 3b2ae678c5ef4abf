"""End-to-end tests of push protection: real `git push` over file:// into
real bare repositories whose hooks `keyleak install-hook` wrote
(pre-receive on the server, pre-push on the client)."""
import json
import os
import random
import subprocess

import lib
from lib import assert_eq, git, test

ZERO = "0" * 40
ENV = {"GIT_AUTHOR_NAME": "Ann Author", "GIT_AUTHOR_EMAIL": "ann@example.org",
       "GIT_COMMITTER_NAME": "Ann Author",
       "GIT_COMMITTER_EMAIL": "ann@example.org",
       "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
       "KEYLEAK": lib.KEYLEAK}


def key(seed, rule="anthropic-api-key"):
    return lib.make_key(rule, seed)


def server(base, name="srv.git", config=None, hook=True):
    """A bare repository with keyleak's pre-receive hook (and, given a
    dict, keyleak.json in its directory)."""
    path = os.path.join(base, name)
    subprocess.run(["git", "init", "-q", "--bare", path], check=True,
                   env=dict(os.environ, **ENV))
    if hook:
        p = lib.run(["install-hook", "--pre-receive", path])
        assert_eq(p.returncode, 0, "install: %s" % p.stderr)
    if config is not None:
        lib.write(os.path.join(path, "keyleak.json"), json.dumps(config))
    return path


def client(base, srv, name="cl", branch="main"):
    """A clone-like repository with one clean commit already on srv (as
    branch)."""
    path = lib.new_repo(base, name)
    lib.commit_file(path, "README", "hello\n", "init")
    git(path, "remote", "add", "origin", "file://" + srv)
    p = push(path, "origin", "main:refs/heads/" + branch)
    assert_eq(p.returncode, 0, "first clean push: %s" % p.stderr)
    return path


def push(repo, *args, env=None):
    full = dict(os.environ, **ENV)
    full.pop("NO_COLOR", None)
    if env:
        full.update(env)
    return subprocess.run(["git", "-C", repo, "push"] + list(args),
                          capture_output=True, env=full, timeout=120)


def ref(srv, name):
    p = subprocess.run(["git", "-C", srv, "rev-parse", "-q", "--verify",
                        name], capture_output=True, env=dict(os.environ, **ENV))
    return p.stdout.decode().strip() or None


def err(p):
    return p.stderr.decode(errors="replace")


def refused_for_key(p, path, secret, what):
    """git refused the push because of a finding at path."""
    e = err(p)
    assert p.returncode != 0, "%s: push accepted: %s" % (what, e)
    assert "pre-receive hook declined" in e or "pre-push" in e, e
    assert "push refused" in e and path in e, "%s: %s" % (what, e)
    lib.assert_no_secret(p.stdout + p.stderr, [secret], what)


def log_lines(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text.endswith("\n") or not text, "log ends mid-line: %r" % text[-80:]
    return [json.loads(line) for line in text.splitlines()]


@test
def key_refused_on_first_push():
    with lib.TempDir() as d:
        srv = server(d)
        cl = client(d, srv)
        before = ref(srv, "main")
        k = key(1)
        lib.commit_file(cl, "app/cfg.py", "x = 1\nKEY = '%s'\n" % k, "add cfg")
        p = push(cl, "origin", "main")
        refused_for_key(p, "app/cfg.py:2", k, "first push of a key")
        e = err(p)
        assert "anthropic-api-key" in e and k[:14] in e, e
        assert "add cfg" in e, "commit subject shown: " + e
        assert "git commit --amend" in e and "git rebase -i" in e, e
        assert_eq(ref(srv, "main"), before, "server ref did not move")
        # No line of the message is wider than a terminal (prefix included).
        for line in e.splitlines():
            if "app/cfg.py" not in line:
                assert len(line.rstrip()) <= 88, "long line: %r" % line


@test
def whole_history_into_empty_repository():
    with lib.TempDir() as d:
        srv = server(d)
        cl = lib.new_repo(d, "cl")
        git(cl, "remote", "add", "origin", "file://" + srv)
        lib.commit_file(cl, "README", "hello\n", "init")
        k = key(14, "huggingface-access-token")
        lib.commit_file(cl, "conf/hf.py", "T = '%s'\n" % k, "add token")
        os.remove(os.path.join(cl, "conf", "hf.py"))
        git(cl, "commit", "-q", "-am", "drop token", env=ENV)
        git(cl, "branch", "second")
        p = push(cl, "origin", "main", "second")
        refused_for_key(p, "conf/hf.py:1", k, "history into an empty repo")
        e = err(p)
        assert "refs/heads/main, refs/heads/second" in e, e
        assert_eq(ref(srv, "main"), None, "nothing created")
        git(cl, "checkout", "-q", "--orphan", "fresh")
        lib.commit_file(cl, "README", "clean\n", "fresh start")
        p = push(cl, "origin", "fresh")
        assert_eq(p.returncode, 0, "clean history: %s" % err(p))


@test
def clean_push_and_branch_deletion_accepted():
    with lib.TempDir() as d:
        srv = server(d)
        cl = client(d, srv)
        head = lib.commit_file(cl, "a.txt", "nothing secret\n", "clean")
        p = push(cl, "origin", "main")
        assert_eq(p.returncode, 0, "clean push: %s" % err(p))
        assert_eq(ref(srv, "main"), head, "server main")
        assert "no secrets in 1 new commit" in err(p), err(p)
        p = push(cl, "origin", "main:refs/heads/topic")
        assert_eq(p.returncode, 0, "branch on a known commit: %s" % err(p))
        assert "no secrets in 0 new commits" in err(p), err(p)
        p = push(cl, "origin", ":refs/heads/topic")
        assert_eq(p.returncode, 0, "deletion: %s" % err(p))
        assert_eq(ref(srv, "refs/heads/topic"), None, "topic deleted")


@test
def new_branch_scans_only_new_commits():
    with lib.TempDir() as d:
        srv = server(d, hook=False)
        cl = client(d, srv)
        old = key(2)
        lib.commit_file(cl, "old.py", "K = '%s'\n" % old, "old key")
        for i in range(5):
            lib.commit_file(cl, "n%d.txt" % i, "n\n", "more %d" % i)
        assert_eq(push(cl, "origin", "main").returncode, 0, "unprotected push")
        assert_eq(lib.run(["install-hook", "--pre-receive", srv]).returncode,
                  0, "install")
        git(cl, "checkout", "-q", "-b", "topic")
        lib.commit_file(cl, "new.txt", "clean\n", "topic work")
        p = push(cl, "origin", "topic")
        assert_eq(p.returncode, 0, "old key on the server blocks nothing: %s"
                  % err(p))
        assert "no secrets in 1 new commit" in err(p), err(p)
        # A branch from an old commit: still only its own commit.
        git(cl, "checkout", "-q", "-b", "side", "main~3")
        k = key(3, "openai-project-key")
        lib.commit_file(cl, "side.py", "K = '%s'\n" % k, "side key")
        p = push(cl, "origin", "side")
        refused_for_key(p, "side.py:1", k, "new key on a new branch")
        assert "old.py" not in err(p), err(p)


@test
def force_push_scans_only_unreached_commits():
    with lib.TempDir() as d:
        srv = server(d, hook=False)
        cl = client(d, srv)
        old = key(16)
        lib.commit_file(cl, "kept.py", "K = '%s'\n" % old, "old key, kept")
        git(cl, "branch", "keep")
        lib.commit_file(cl, "c.txt", "c\n", "to be rewritten")
        assert_eq(push(cl, "origin", "main", "keep").returncode, 0, "setup")
        assert_eq(lib.run(["install-hook", "--pre-receive", srv]).returncode,
                  0, "install")
        git(cl, "reset", "-q", "--hard", "HEAD~1")
        lib.commit_file(cl, "d.txt", "d\n", "rewritten")
        p = push(cl, "--force", "origin", "main")
        assert_eq(p.returncode, 0, "rewrite over a known key: %s" % err(p))
        assert "no secrets in 1 new commit" in err(p), err(p)
        git(cl, "reset", "-q", "--hard", "HEAD~1")
        k = key(17)
        lib.commit_file(cl, "e.py", "K = '%s'\n" % k, "rewritten with a key")
        p = push(cl, "--force", "origin", "main")
        refused_for_key(p, "e.py:1", k, "force-push adding a key")
        assert "kept.py" not in err(p), err(p)
        p = push(cl, "--force", "origin", "keep:main")
        assert_eq(p.returncode, 0, "back to a known commit: %s" % err(p))
        assert "no secrets in 0 new commits" in err(p), err(p)


@test
def key_added_then_removed_in_one_push_refused():
    with lib.TempDir() as d:
        srv = server(d)
        # Incoming objects stay a pack in the quarantine directory.
        git(srv, "config", "receive.unpackLimit", "1")
        cl = client(d, srv)
        k = key(4)
        lib.commit_file(cl, "tmp.env.py", "K = '%s'\n" % k, "oops")
        os.remove(os.path.join(cl, "tmp.env.py"))
        git(cl, "commit", "-q", "-am", "remove it again", env=ENV)
        lib.commit_file(cl, "c.txt", "c\n", "later")
        p = push(cl, "origin", "main")
        refused_for_key(p, "tmp.env.py:1", k, "added then removed")
        assert "oops" in err(p), err(p)


@test
def several_refs_share_commits():
    with lib.TempDir() as d:
        log = os.path.join(d, "audit.log")
        srv = server(d, config={"push": {"audit_log": log}})
        cl = client(d, srv)
        k = key(5)
        lib.commit_file(cl, "shared.py", "K = '%s'\n" % k, "shared key")
        git(cl, "branch", "b1")
        git(cl, "branch", "b2")
        p = push(cl, "origin", "b1", "b2")
        refused_for_key(p, "shared.py:1", k, "two refs")
        assert "refs/heads/b1" in err(p) and "refs/heads/b2" in err(p), err(p)
        lines = log_lines(log)
        assert_eq(sorted(x["ref"] for x in lines),
                  ["refs/heads/b1", "refs/heads/b2"], "one line per ref")
        assert_eq(len({x["fingerprint"] for x in lines}), 1, "one finding")
        # The same ref updates given to the command directly: one commit
        # scanned once, one finding naming both refs.
        git(srv, "fetch", "-q", cl, "b1:refs/keep/x")
        tip = git(cl, "rev-parse", "b1")
        git(srv, "update-ref", "-d", "refs/keep/x")
        lines_in = "%s %s refs/heads/b1\n%s %s refs/heads/b2\n" % (
            ZERO, tip, ZERO, tip)
        code, rep = lib.run_json(["pre-receive", "--repo", srv],
                                 input=lines_in.encode())
        assert_eq(code, 1, "exit status")
        assert_eq(rep["summary"]["commits_scanned"], 1, "commits scanned")
        assert_eq(len(rep["findings"]), 1, "findings")
        assert_eq(rep["findings"][0]["refs"], ["refs/heads/b1", "refs/heads/b2"],
                  "refs named")


@test
def annotated_tag_message_with_key_refused():
    with lib.TempDir() as d:
        srv = server(d)
        cl = client(d, srv)
        k = key(6, "groq-api-key")
        git(cl, "tag", "-a", "v1", "-m", "release\n\nkey %s\n" % k, env=ENV)
        p = push(cl, "origin", "v1")
        refused_for_key(p, "refs/tags/v1 (tag message):3", k, "tag message")
        assert_eq(ref(srv, "refs/tags/v1"), None, "tag not created")
        git(cl, "tag", "-a", "v2", "-m", "clean release", env=ENV)
        git(cl, "tag", "v3")
        p = push(cl, "origin", "v2", "v3")
        assert_eq(p.returncode, 0, "clean tags: %s" % err(p))


@test
def pushed_config_cannot_relax_the_scan():
    with lib.TempDir() as d:
        srv = server(d)
        cl = client(d, srv)
        k = key(7)
        lib.write(os.path.join(cl, ".keyleak.json"), json.dumps({
            "skip_paths": ["*"], "allow_regexes": [".*"],
            "disable_rules": ["anthropic-api-key"]}))
        lib.write(os.path.join(cl, "k.py"), "K = '%s'\n" % k)
        git(cl, "add", ".")
        git(cl, "commit", "-q", "-m", "allow everything", env=ENV)
        p = push(cl, "origin", "main")
        refused_for_key(p, "k.py:1", k, "pushed allow-all config")
        # The server's own config does apply, from git config too.
        cfg = os.path.join(d, "server.json")
        lib.write(cfg, json.dumps({"skip_paths": ["k.py"]}))
        git(srv, "config", "keyleak.config", cfg)
        p = push(cl, "origin", "main")
        assert_eq(p.returncode, 0, "server config skips k.py: %s" % err(p))


@test
def inline_allow_comment_applies():
    with lib.TempDir() as d:
        srv = server(d)
        cl = client(d, srv)
        lib.commit_file(cl, "f.py", "K = '%s'  # keyleak:allow\n" % key(8),
                        "fixture")
        p = push(cl, "origin", "main")
        assert_eq(p.returncode, 0, "keyleak:allow: %s" % err(p))


def bypass_server(d, allow):
    log = os.path.join(d, "audit.log")
    srv = server(d, config={"push": {"allow_bypass": allow,
                                     "audit_log": "audit.log"}})
    os.rename(os.path.join(srv, "keyleak.json"), os.path.join(d, "k.json"))
    git(srv, "config", "keyleak.config", os.path.join(d, "k.json"))
    git(srv, "config", "receive.advertisePushOptions", "true")
    return srv, log


@test
def bypass_allowed_is_accepted_and_logged():
    with lib.TempDir() as d:
        srv, log = bypass_server(d, True)
        cl = client(d, srv)
        k = key(9)
        head = lib.commit_file(cl, "fx.py", "K = '%s'\n" % k, "fixture key")
        p = push(cl, "origin", "main")
        refused_for_key(p, "fx.py:1", k, "no bypass option")
        assert "keyleak.bypass" in err(p), "bypass offered: " + err(p)
        p = push(cl, "-o", "keyleak.bypass", "origin", "main")
        assert p.returncode != 0, "a bypass needs a reason"
        assert "needs a reason" in err(p), err(p)
        p = push(cl, "-o", "keyleak.bypass=revoked test key", "origin", "main",
                 env={"REMOTE_USER": "ann"})
        assert_eq(p.returncode, 0, "bypass: %s" % err(p))
        assert_eq(ref(srv, "main"), head, "server main moved")
        lines = log_lines(log)
        assert_eq([x["event"] for x in lines],
                  ["refused", "refused", "bypass"], "events")
        last = lines[-1]
        assert_eq(last["reason"], "revoked test key", "reason")
        assert_eq(last["pusher"], "ann", "pusher")
        assert_eq((last["ref"], last["new"], last["path"], last["line"],
                   last["rule"]),
                  ("refs/heads/main", head, "fx.py", 1, "anthropic-api-key"),
                  "logged finding")
        assert last["fingerprint"] and last["old"] != ZERO, last
        lib.assert_no_secret(open(log, "rb").read(), [k], "audit log")


@test
def bypass_not_allowed_is_refused():
    with lib.TempDir() as d:
        srv, log = bypass_server(d, False)
        cl = client(d, srv)
        k = key(10)
        lib.commit_file(cl, "fx.py", "K = '%s'\n" % k, "key")
        # Over SSH with ExposeAuthInfo the pusher is their key's comment.
        rng = random.Random(10)
        pub = ["AAAAC3NzaC1lZDI1NTE5" + "".join(
            rng.choice(lib._CLASSES["b64"]) for _ in range(48))
            for _ in range(2)]
        home = os.path.join(d, "home")
        lib.write(os.path.join(home, ".ssh", "authorized_keys"),
                  "ssh-ed25519 %s bob@desk\nno-pty,command=\"x y\" "
                  "ssh-ed25519 %s Ann Author <ann@laptop>\n" % tuple(pub))
        auth = os.path.join(d, "ssh-user-auth")
        lib.write(auth, "publickey ssh-ed25519 %s\n" % pub[1])
        p = push(cl, "-o", "keyleak.bypass=please", "origin", "main",
                 env={"SSH_USER_AUTH": auth, "HOME": home})
        refused_for_key(p, "fx.py:1", k, "bypass not allowed")
        assert "does not allow" in err(p), err(p)
        lines = log_lines(log)
        assert_eq([x["event"] for x in lines], ["refused"], "log")
        assert_eq(lines[0]["pusher"], "Ann Author <ann@laptop>", "pusher")
        lib.assert_no_secret(open(log, "rb").read(), [k], "audit log")


def push_corrupt_commit(cl):
    """A commit git accepts (no fsck on receive) that keyleak cannot
    parse: it has no author line."""
    tree = git(cl, "rev-parse", "HEAD^{tree}")
    body = "tree %s\nparent %s\n\nno author\n" % (tree, git(cl, "rev-parse",
                                                           "HEAD"))
    p = subprocess.run(["git", "-C", cl, "hash-object", "-t", "commit",
                        "--literally", "-w", "--stdin"], input=body.encode(),
                       capture_output=True, check=True)
    git(cl, "update-ref", "refs/heads/bad", p.stdout.decode().strip())
    return push(cl, "origin", "bad")


@test
def corrupt_object_fails_closed():
    with lib.TempDir() as d:
        log = os.path.join(d, "audit.log")
        srv = server(d, config={"push": {"audit_log": log}})
        cl = client(d, srv)
        p = push_corrupt_commit(cl)
        assert p.returncode != 0, "corrupt commit accepted: %s" % err(p)
        assert "could not complete" in err(p), err(p)
        assert "not a finding" in err(p), err(p)
        assert_eq(ref(srv, "refs/heads/bad"), None, "ref not created")
        lines = log_lines(log)
        assert_eq([x["event"] for x in lines], ["error"], "error logged")
        assert "cannot read" in lines[0]["message"], lines[0]


@test
def corrupt_object_accepted_by_policy():
    with lib.TempDir() as d:
        log = os.path.join(d, "audit.log")
        srv = server(d, config={"push": {"audit_log": log,
                                         "on_error": "accept"}})
        cl = client(d, srv)
        p = push_corrupt_commit(cl)
        assert_eq(p.returncode, 0, "on_error accept: %s" % err(p))
        assert "on_error" in err(p), err(p)
        assert ref(srv, "refs/heads/bad"), "ref created"
        lines = log_lines(log)
        assert_eq([x["event"] for x in lines], ["error"], "logged")
        assert_eq(lines[0]["refs"], ["refs/heads/bad"], "refs")


@test
def time_budget_exceeded_fails_closed():
    with lib.TempDir() as d:
        # A budget no scan can meet: both scan modes give up at once.
        srv = server(d, config={"push": {"timeout": 1e-9}})
        cl = lib.new_repo(d, "cl")
        git(cl, "remote", "add", "origin", "file://" + srv)
        lib.commit_file(cl, "README", "hello\n", "init")
        p = push(cl, "origin", "main")
        assert p.returncode != 0, "first push within budget?"
        assert "time budget exceeded" in err(p), err(p)
        os.remove(os.path.join(srv, "keyleak.json"))
        assert_eq(push(cl, "origin", "main").returncode, 0, "no budget")
        lib.write(os.path.join(srv, "keyleak.json"),
                  json.dumps({"push": {"timeout": 1e-9}}))
        lib.commit_file(cl, "b.txt", "b\n", "second")
        p = push(cl, "origin", "main")
        assert p.returncode != 0, "second push within budget?"
        assert "time budget exceeded after 0 of 1 commits" in err(p), err(p)
        assert "not a finding" in err(p), err(p)


@test
def concurrent_pushes_decided_and_logged_whole():
    with lib.TempDir() as d:
        log = os.path.join(d, "audit.log")
        srv = server(d, config={"push": {"audit_log": log}})
        procs, keys = [], []
        for i in range(4):
            cl = client(d, srv, "cl%d" % i, "c%d" % i)
            git(cl, "checkout", "-q", "-b", "b%d" % i)
            body = "".join("K%d = '%s'\n" % (j, key(100 + 10 * i + j))
                           for j in range(3))
            keys += [key(100 + 10 * i + j) for j in range(3)]
            lib.commit_file(cl, "k%d.py" % i, body, "keys %d" % i)
            full = dict(os.environ, **ENV)
            procs.append(subprocess.Popen(
                ["git", "-C", cl, "push", "origin", "b%d" % i],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full))
        clean = client(d, srv, "clean", "c9")
        lib.commit_file(clean, "ok.txt", "ok\n", "clean")
        ok = push(clean, "origin", "main:refs/heads/c9")
        for i, pr in enumerate(procs):
            out, e = pr.communicate(timeout=120)
            assert pr.returncode != 0, "push %d accepted" % i
            assert "k%d.py" % i in e.decode(), e.decode()
            assert_eq(ref(srv, "refs/heads/b%d" % i), None, "b%d" % i)
        assert_eq(ok.returncode, 0, "clean push: %s" % err(ok))
        lines = log_lines(log)
        assert_eq(len(lines), 12, "4 pushes x 3 findings")
        assert_eq(sorted({x["ref"] for x in lines}),
                  ["refs/heads/b%d" % i for i in range(4)], "refs")
        lib.assert_no_secret(open(log, "rb").read(), keys, "audit log")


def pre_receive_as_installed():
    """hooks/pre-receive with the installing keyleak's absolute path."""
    with open(os.path.join(lib.ROOT, "hooks", "pre-receive"), "rb") as g:
        text = g.read()
    return text.replace(b"\nKEYLEAK=${KEYLEAK:-keyleak}\n",
                        b"\nKEYLEAK=${KEYLEAK:-'%s'}\n"
                        % os.path.realpath(lib.KEYLEAK).encode())


@test
def install_pre_receive_keeps_foreign_hook():
    with lib.TempDir() as d:
        srv = server(d, hook=False)
        hook = os.path.join(srv, "hooks", "pre-receive")
        marker = os.path.join(d, "ran")
        lib.write(hook, "#!/bin/sh\ncat >/dev/null\ntouch '%s'\n" % marker)
        os.chmod(hook, 0o755)
        p = lib.run(["install-hook", "--pre-receive", srv])
        assert_eq(p.returncode, 2, "refuses to replace a foreign hook")
        assert b"--chain" in p.stderr, p.stderr
        p = lib.run(["install-hook", "--pre-receive", srv, "--chain"])
        assert_eq(p.returncode, 0, "chain: %s" % p.stderr)
        with open(hook, "rb") as f:
            assert f.read() == pre_receive_as_installed(), \
                "installed hook is hooks/pre-receive"
        cl = client(d, srv)
        assert os.path.exists(marker), "chained hook ran"
        k = key(11)
        lib.commit_file(cl, "k.py", "K = '%s'\n" % k, "key")
        refused_for_key(push(cl, "origin", "main"), "k.py:1", k, "chained")
        # No scanner on the server: refused, not waved through.
        p = push(cl, "origin", "main", env={"KEYLEAK": "/nonexistent/keyleak"})
        assert p.returncode != 0, "accepted without keyleak"
        assert "not installed" in err(p), err(p)
        # --print gives the same script for other hook directories.
        p = lib.run(["install-hook", "--pre-receive", "--print"])
        assert_eq(p.returncode, 0, "--print")
        assert_eq(p.stdout, pre_receive_as_installed(), "--print output")


@test
def pre_push_hook_blocks_new_branch_with_key():
    with lib.TempDir() as d:
        srv = server(d, hook=False)
        cl = client(d, srv)
        old = key(12)
        lib.commit_file(cl, "old.py", "K = '%s'\n" % old, "old key")
        assert_eq(push(cl, "origin", "main").returncode, 0, "before hook")
        marker = os.path.join(d, "chained-ran")
        hook = os.path.join(cl, ".git", "hooks", "pre-push")
        lib.write(hook, "#!/bin/sh\ngrep -q refs/heads/ && touch '%s'\n"
                  % marker)
        os.chmod(hook, 0o755)
        p = lib.run(["install-hook", "--pre-push", "--chain", cl])
        assert_eq(p.returncode, 0, "install: %s" % p.stderr)
        git(cl, "checkout", "-q", "-b", "topic")
        lib.commit_file(cl, "clean.txt", "fine\n", "clean work")
        p = push(cl, "origin", "topic")
        assert_eq(p.returncode, 0, "old key already on the remote: %s" % err(p))
        assert os.path.exists(marker), "chained hook got the ref lines"
        k = key(13, "openai-project-key")
        lib.commit_file(cl, "new.py", "K = '%s'\n" % k, "new key")
        p = push(cl, "origin", "topic:refs/heads/other")
        assert p.returncode != 0, "pushed a key: %s" % err(p)
        e = err(p)
        assert "new.py:1" in e and "refs/heads/other" in e, e
        assert "old.py" not in e, e
        lib.assert_no_secret(p.stdout + p.stderr, [k], "pre-push output")
        assert_eq(ref(srv, "refs/heads/other"), None, "not pushed")
        # Pushing to the remote's URL: its tracking refs still count.
        p = push(cl, "file://" + srv, "topic:refs/heads/third")
        assert p.returncode != 0, "pushed a key by URL: %s" % err(p)
        assert "new.py:1" in err(p) and "old.py" not in err(p), err(p)
        p = push(cl, "--no-verify", "origin", "topic:refs/heads/other")
        assert_eq(p.returncode, 0, "--no-verify")
        p = push(cl, "origin", ":refs/heads/other")
        assert_eq(p.returncode, 0, "deleting a branch: %s" % err(p))


@test
def pre_push_under_the_pre_commit_framework():
    """pre-commit's pre-push stage gives hooks no stdin, only PRE_COMMIT_*
    variables; keyleak pre-push reads those."""
    with lib.TempDir() as d:
        srv = server(d, hook=False)
        cl = client(d, srv)
        base = git(cl, "rev-parse", "HEAD")
        k = key(15)
        lib.commit_file(cl, "p.py", "K = '%s'\n" % k, "key")
        lib.commit_file(cl, "q.txt", "q\n", "after")
        env = {"PRE_COMMIT_REMOTE_NAME": "origin",
               "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
               "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
               "PRE_COMMIT_FROM_REF": base,
               "PRE_COMMIT_TO_REF": git(cl, "rev-parse", "HEAD")}
        p = lib.run(["pre-push"], cwd=cl, input=b"", env=env)
        assert_eq(p.returncode, 1, "key found: %s" % p.stderr)
        assert b"p.py:1" in p.stderr, p.stderr
        env["PRE_COMMIT_FROM_REF"] = git(cl, "rev-parse", "HEAD~1")
        p = lib.run(["pre-push"], cwd=cl, input=b"", env=env)
        assert_eq(p.returncode, 0, "only the last commit: %s" % p.stderr)
        # A new history: only the branch names are set.
        del env["PRE_COMMIT_FROM_REF"], env["PRE_COMMIT_TO_REF"]
        p = lib.run(["pre-push"], cwd=cl, input=b"", env=env)
        assert_eq(p.returncode, 1, "whole new history: %s" % p.stderr)


@test
def bad_stdin_is_an_error():
    with lib.TempDir() as d:
        srv = server(d, hook=False)
        p = lib.run(["pre-receive", "--repo", srv], input=b"garbage\n")
        assert_eq(p.returncode, 2, "exit status")
        assert b"stdin line 1" in p.stderr, p.stderr
        p = lib.run(["pre-receive", "--repo", srv], input=b"")
        assert_eq(p.returncode, 0, "nothing pushed: %s" % p.stderr)
        for bad, field in (({"on_error": "maybe"}, "push.on_error"),
                           ({"allow_bypass": "yes"}, "push.allow_bypass"),
                           ({"timeout": -1}, "push.timeout"),
                           ({"audit": "x"}, "push.audit")):
            lib.write(os.path.join(srv, "keyleak.json"),
                      json.dumps({"push": bad}))
            p = lib.run(["pre-receive", "--repo", srv], input=b"")
            assert_eq(p.returncode, 2, "bad config %r" % bad)
            assert ("\"%s\"" % field).encode() in p.stderr, p.stderr
            assert b"keyleak.json" in p.stderr, p.stderr


if __name__ == "__main__":
    lib.main()
