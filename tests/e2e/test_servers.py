"""Push protection through the servers people run (tests/e2e/servers.py
starts them on 127.0.0.1 from Debian's packages): git daemon, smart HTTP
(nginx + fcgiwrap + git http-backend, basic auth), OpenSSH with git-shell,
and gitolite3. In each: a key push refused with the message the pusher
sees, a clean push accepted, a bypass with a reason, the audit log naming
the right pusher, and the push refused (fail closed) when keyleak is
missing or runs out of time. GitLab and Gitea/Forgejo cannot run here:
their hook directories are laid out as they lay them out, and the pushes
carry the variables they set."""
import json
import os
import subprocess

import lib
import servers
from lib import Skip, assert_eq, git, test

RULE = "anthropic-api-key"
REFUSED = "remote: keyleak: push refused: 1 secret in the pushed commits"


def push(repo, url, *args, env=None):
    full = dict(os.environ, **servers.GIT_ENV)
    full.pop("KEYLEAK", None)  # the hook must find keyleak by itself
    full.update(env or {})
    return subprocess.run(["git", "-C", repo, "push"] + list(args) +
                          [url, "main"], capture_output=True, env=full,
                          timeout=180)


def err(p):
    return p.stderr.decode(errors="replace")


def server_ref(repo):
    p = subprocess.run(["git", "-C", repo, "rev-parse", "-q", "--verify",
                        "refs/heads/main"], capture_output=True)
    return p.stdout.decode().strip() or None


def events(log):
    if not os.path.exists(log):
        return []
    with open(log) as f:
        return [json.loads(line) for line in f]


def refused(p, secret, what):
    e = err(p)
    assert p.returncode != 0, "%s: push accepted: %s" % (what, e)
    assert REFUSED in e, "%s: %s" % (what, e)
    assert "k.py:1" in e or "at      k.py" in e, e
    assert "pre-receive hook declined" in e, e
    lib.assert_no_secret(p.stdout + p.stderr, [secret], what)


def scenario(make, pushers):
    """The whole story on one server; pushers: the audit log's name for
    alice and for bob (None where the server has no names)."""
    with lib.TempDir() as d:
        os.chmod(d, 0o755)
        keyleak = servers.installed_keyleak(d)
        try:
            srv = make(d, keyleak)
            srv.start()
        except servers.Missing as e:
            raise Skip(str(e))
        try:
            run_story(d, srv, keyleak, pushers)
        finally:
            srv.stop()


def run_story(d, srv, keyleak, pushers):
    cl = lib.new_repo(d, "client")
    env = srv.client_env()
    head = lib.commit_file(cl, "README", "hello\n", "init")
    p = push(cl, srv.url(), env=env)
    assert_eq(p.returncode, 0, "clean push: %s" % err(p))
    assert "remote: keyleak: no secrets in 1 new commit" in err(p), err(p)
    assert_eq(server_ref(srv.repo), head, "server main")

    k = lib.make_key(RULE, 41)
    lib.commit_file(cl, "k.py", "K = '%s'\n" % k, "add key")
    p = push(cl, srv.url(), env=env)
    refused(p, k, "key push")
    assert_eq(server_ref(srv.repo), head, "refused push moved main")
    if pushers[1] is not None:
        p = push(cl, srv.url("bob"), env=srv.client_env("bob"))
        refused(p, k, "bob's key push")

    p = push(cl, srv.url(), "-o", "keyleak.bypass=revoked fixture key",
             env=env)
    assert_eq(p.returncode, 0, "bypass: %s" % err(p))
    assert "push accepted with a bypass" in err(p), err(p)
    bypassed = git(cl, "rev-parse", "HEAD")
    assert_eq(server_ref(srv.repo), bypassed, "bypass moved main")
    log = events(srv.audit_log)
    want = [("refused", pushers[0], None)]
    if pushers[1] is not None:
        want.append(("refused", pushers[1], None))
    want.append(("bypass", pushers[0], "revoked fixture key"))
    assert_eq([(x["event"], x["pusher"], x["reason"]) for x in log], want,
              "audit log")
    assert all(x["path"] == "k.py" and x["rule"] == RULE for x in log), log
    lib.assert_no_secret(open(srv.audit_log, "rb").read(), [k], "audit log")

    # keyleak gone from the server: refused, and the pusher is told why.
    lib.commit_file(cl, "b.txt", "clean\n", "clean after bypass")
    os.rename(keyleak, keyleak + ".away")
    p = push(cl, srv.url(), env=env)
    e = err(p)
    assert p.returncode != 0, "accepted without keyleak: %s" % e
    assert "remote: keyleak pre-receive hook: '%s' is not installed" \
        % keyleak in e, e
    assert "install-hook" in e and "man keyleak" in e, e
    remote = "\n".join(x for x in e.splitlines() if x.startswith("remote:"))
    assert "http" not in remote, remote
    assert_eq(server_ref(srv.repo), bypassed, "main moved without keyleak")
    os.rename(keyleak + ".away", keyleak)

    # Out of time: refused as an error, logged with the pusher.
    servers.write_config(srv.config, timeout=1e-9)
    p = push(cl, srv.url(), env=env)
    e = err(p)
    assert p.returncode != 0, "accepted over the time budget: %s" % e
    assert "time budget exceeded" in e and "not a finding" in e, e
    assert_eq(server_ref(srv.repo), bypassed, "main moved over budget")
    last = events(srv.audit_log)[-1]
    assert_eq((last["event"], last["pusher"]), ("error", pushers[0]),
              "error logged")
    servers.write_config(srv.config)
    p = push(cl, srv.url(), env=env)
    assert_eq(p.returncode, 0, "clean push again: %s" % err(p))
    subprocess.run(["git", "-C", srv.repo, "fsck", "--strict"], check=True,
                   capture_output=True)


@test
def git_daemon():
    scenario(servers.GitDaemon, (None, None))


@test
def smart_http_nginx_fcgiwrap():
    scenario(servers.SmartHttp, ("alice", "bob"))


@test
def ssh_git_shell_pusher_from_key_comment():
    scenario(servers.SshGitShell, ("alice@laptop", "bob"))


@test
def gitolite():
    scenario(servers.Gitolite, ("alice", "bob"))


# GitLab and Gitea/Forgejo: their layouts, their variables, file://.

DISPATCH = """#!/bin/sh
# Stands in for the server's own hook: runs every executable in DIR with
# the same ref updates on stdin; any failure refuses the push.
updates=$(cat)
status=0
for h in "%s"/*; do
	[ -f "$h" ] && [ -x "$h" ] || continue
	printf '%%s\\n' "$updates" | "$h" || status=1
done
exit $status
"""


def platform_repo(d, keyleak, subdir):
    """A bare repository whose hooks/pre-receive runs subdir/* (relative to
    the repository), with keyleak's hook (install-hook --print) there."""
    repo = servers.bare(os.path.join(d, "platform.git"))
    hook_dir = os.path.join(repo, subdir)
    cfg = servers.protect(repo, keyleak, d, hook_dir=hook_dir)
    os.rename(os.path.join(hook_dir, "pre-receive"),
              os.path.join(hook_dir, "keyleak"))
    dispatch = os.path.join(repo, "hooks", "pre-receive")
    lib.write(dispatch, DISPATCH % hook_dir)
    os.chmod(dispatch, 0o755)
    return repo, cfg


def platform_story(subdir, variables, pusher):
    with lib.TempDir() as d:
        os.chmod(d, 0o755)
        keyleak = servers.installed_keyleak(d)
        repo, _ = platform_repo(d, keyleak, subdir)
        url = "file://" + repo
        cl = lib.new_repo(d, "client")
        lib.commit_file(cl, "README", "hello\n", "init")
        p = push(cl, url, env=variables)
        assert_eq(p.returncode, 0, "clean push: %s" % err(p))
        k = lib.make_key(RULE, 42)
        lib.commit_file(cl, "k.py", "K = '%s'\n" % k, "add key")
        p = push(cl, url, env=variables)
        refused(p, k, subdir)
        log = events(os.path.join(d, "audit.log"))
        assert_eq([(x["event"], x["pusher"]) for x in log],
                  [("refused", pusher)], "audit log")
        os.remove(keyleak)
        p = push(cl, url, env=variables)
        assert p.returncode != 0, "accepted without keyleak"
        assert "is not installed on the server" in err(p), err(p)


@test
def gitea_forgejo_pre_receive_d():
    platform_story("hooks/pre-receive.d", {
        "GITEA_PUSHER_NAME": "carol", "GITEA_PUSHER_ID": "3",
        "GITEA_PUSHER_EMAIL": "carol@x", "GITEA_REPO_USER_NAME": "team",
        "GITEA_REPO_NAME": "platform", "GITEA_REPO_ID": "9",
        "GITEA_IS_INTERNAL": "false", "GITEA_IS_WIKI": "false",
        "SSH_ORIGINAL_COMMAND": "git-receive-pack 'team/platform.git'",
    }, "carol")


@test
def gitlab_custom_hooks_pre_receive_d():
    platform_story("custom_hooks/pre-receive.d", {
        "GL_ID": "user-7", "GL_USERNAME": "dana", "GL_PROTOCOL": "ssh",
        "GL_REPOSITORY": "project-12", "GL_PROJECT_PATH": "group/platform",
        "REMOTE_USER": "not-the-pusher",
    }, "dana")


if __name__ == "__main__":
    lib.main()
