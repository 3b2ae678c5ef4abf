#!/usr/bin/env python3
"""--verify end to end: real repositories, the real ./keyleak, and a local
HTTP server on 127.0.0.1 (reached through KEYLEAK_VERIFY_BASE_URL) that plays
the provider. Each generated key tells the server how to answer: live,
revoked, rate limited then live, hanging, garbage, ... The server records
every request, so the tests can count them (one per distinct secret, none
without --verify). No test uses the network beyond loopback."""
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402

RULE = "groq-api-key"  # Bearer auth, "data" in a live answer


def key(seed):
    return lib.make_key(RULE, "verify-%s" % seed)


class Provider:
    """A fake provider: behaviour per secret, a log of requests."""

    def __init__(self):
        self.behaviour = {}   # secret -> name
        self.requests = []    # (path, secret or None)
        self.targets = []     # X-Keyleak-Target headers
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.barrier = threading.Barrier(2, timeout=20)
        self.tries = {}
        self.by_path = {}     # path -> (code, body), whatever the key
        self.auth = []        # (path, Authorization or PRIVATE-TOKEN)
        self.http = lib.LoopbackHTTP(self.answer)
        self.url = self.http.url

    def __enter__(self):
        self.http.__enter__()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.http.__exit__(*exc)

    def add(self, secret, behaviour):
        self.behaviour[secret] = behaviour
        return secret

    def count(self, secret=None):
        with self.lock:
            return sum(1 for _, s in self.requests if secret is None or s == secret)

    def answer(self, h):
        auth = h.headers.get("Authorization", "")
        secret = auth[7:] if auth.startswith("Bearer ") else None
        with self.lock:
            self.requests.append((h.path, secret))
            self.targets.append(h.headers.get("X-Keyleak-Target"))
            self.auth.append((h.command, h.path, h.headers.get("Authorization")
                              or h.headers.get("PRIVATE-TOKEN")))
            n = self.tries[secret] = self.tries.get(secret, 0) + 1
        if h.path in self.by_path:
            return self.send(h, *self.by_path[h.path])
        what = self.behaviour.get(secret, "revoked")
        if what == "hang":
            self.release.wait(30)
            return
        if what == "garbage":
            h.wfile.write(b"\x00\x17garbage, not HTTP\r\n\r\n")
            h.close_connection = True
            return
        if what == "barrier":
            try:
                self.barrier.wait()
            except threading.BrokenBarrierError:
                return self.send(h, 503, b"{}")
            return self.send(h, 200, b'{"data": []}')
        codes = {
            "live": (200, b'{"object": "list", "data": []}'),
            "revoked": (401, b'{"error": {"message": "Invalid API Key"}}'),
            "html200": (200, b"<html>captive portal</html>"),
            "teapot": (418, b"{}"),
            "always429": (429, b"{}"),
            "slow429": (429, b"{}"),
            "server500": (500, b"{}"),
            "slack_ok": (200, b'{"ok":true,"user":"u"}'),
            "slack_revoked": (200, b'{"ok":false,"error":"token_revoked"}'),
            "slack_other": (200, b'{"ok":false,"error":"not_allowed_token_type"}'),
        }
        if h.command == "POST" and h.headers.get("Content-Length") not in ("0", None):
            return self.send(h, 400, b"{}")
        if what == "429then_live":
            code, body = (429, b"{}") if n == 1 else codes["live"]
        else:
            code, body = codes[what]
        extra = {}
        if code == 429:
            extra["Retry-After"] = ("99999999999999999999" if what == "slow429"
                                    else "0")
        self.send(h, code, body, extra)

    @staticmethod
    def send(h, code, body, extra=None):
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)


def closed_port_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "http://127.0.0.1:%d" % port


def env_for(url):
    env = {"KEYLEAK_VERIFY_BASE_URL": url}
    # A proxy in the environment must not carry loopback traffic.
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                "all_proxy", "ALL_PROXY"):
        env[var] = ""
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"
    return env


def repo_with(base, secrets, name="repo"):
    repo = lib.new_repo(base, name)
    body = "".join("KEY_%d=%s\n" % (i, s) for i, s in enumerate(secrets))
    lib.commit_file(repo, "config.env.txt", body)
    return repo


def by_secret(report, secrets, shown=True):
    """Map each secret to its finding, via the redacted form (full secrets
    are never printed)."""
    out = {}
    for f in report["findings"]:
        for s in secrets:
            if f["secret_redacted"][:6] == s[:6] and f["secret_redacted"].endswith(s[-4:]):
                out[s] = f
    return out


def verify_json(repo, url, *args, secrets=(), command="scan"):
    p = lib.run([command, repo, "--verify", "--format", "json"] + list(args),
                env=env_for(url), timeout=120)
    lib.assert_no_secret(p.stdout, secrets, "stdout")
    lib.assert_no_secret(p.stderr, secrets, "stderr")
    try:
        report = json.loads(p.stdout.decode("utf-8"))
    except ValueError:
        raise AssertionError("not JSON (exit %d): %r %r" % (p.returncode, p.stdout[:500], p.stderr[:500]))
    return p.returncode, report


def status(f):
    return f["verification"]["status"], f["verification"]["detail"]


@lib.test
def live_and_revoked_keys_get_their_status():
    with lib.TempDir() as base, Provider() as prov:
        live = prov.add(key("live"), "live")
        dead = prov.add(key("dead"), "revoked")
        repo = repo_with(base, [live, dead])
        rc, rep = verify_json(repo, prov.url, secrets=[live, dead], command="audit")
        lib.assert_eq(rc, 1, "exit code")
        f = by_secret(rep, [live, dead])
        lib.assert_eq(status(f[live]), ("live", "HTTP 200"), "live key")
        lib.assert_eq(status(f[dead]), ("revoked", "HTTP 401"), "revoked key")
        when = f[live]["verification"]["checked_at"]
        if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", when or ""):
            raise AssertionError("checked_at %r" % when)
        v = rep["summary"]["verification"]
        lib.assert_eq((v["live"], v["revoked"], v["unknown"], v["requests"]),
                      (1, 1, 0, 2), "summary counts")
        # Only the path the rule names, with the key in the header.
        paths = sorted(p for p, _ in prov.requests)
        lib.assert_eq(paths, ["/openai/v1/models"] * 2, "request paths")
        # The host the rule names, for egress gateways.
        lib.assert_eq(prov.targets, ["https://api.groq.com"] * 2, "target header")


@lib.test
def rate_limited_then_live_is_retried():
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(key("429"), "429then_live")
        repo = repo_with(base, [k])
        rc, rep = verify_json(repo, prov.url, secrets=[k])
        lib.assert_eq(status(rep["findings"][0]), ("live", "HTTP 200"), "status")
        lib.assert_eq(prov.count(k), 2, "requests (one retry)")


@lib.test
def rate_limit_that_never_ends_is_unknown_after_the_attempts():
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(key("always429"), "always429")
        repo = repo_with(base, [k])
        rc, rep = verify_json(repo, prov.url, secrets=[k])
        lib.assert_eq(status(rep["findings"][0]),
                      ("unknown", "rate limited (HTTP 429) after 3 attempts"), "status")
        lib.assert_eq(prov.count(k), 3, "requests")


@lib.test
def retry_after_beyond_the_budget_is_not_waited_for():
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(key("slow429"), "slow429")
        repo = repo_with(base, [k])
        rc, rep = verify_json(repo, prov.url, secrets=[k])
        lib.assert_eq(status(rep["findings"][0]),
                      ("unknown", "rate limited (HTTP 429)"), "status")
        lib.assert_eq(prov.count(k), 1, "requests")


@lib.test
def server_errors_are_retried_then_unknown():
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(key("500"), "server500")
        repo = repo_with(base, [k])
        rc, rep = verify_json(repo, prov.url, secrets=[k])
        lib.assert_eq(status(rep["findings"][0]),
                      ("unknown", "server error (HTTP 500) after 3 attempts"), "status")
        lib.assert_eq(prov.count(k), 3, "requests")


@lib.test
def hanging_server_times_out_as_unknown():
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(key("hang"), "hang")
        repo = repo_with(base, [k])
        rc, rep = verify_json(repo, prov.url, "--verify-timeout", "1", secrets=[k])
        lib.assert_eq(rc, 1, "exit code")
        lib.assert_eq(status(rep["findings"][0]), ("unknown", "timeout after 1 s"), "status")


@lib.test
def garbage_answer_is_unknown():
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(key("garbage"), "garbage")
        html = prov.add(key("html"), "html200")
        odd = prov.add(key("teapot"), "teapot")
        repo = repo_with(base, [k, html, odd])
        rc, rep = verify_json(repo, prov.url, secrets=[k, html, odd])
        f = by_secret(rep, [k, html, odd])
        st, detail = status(f[k])
        lib.assert_eq(st, "unknown", "not HTTP")
        if not detail.startswith("no answer: "):
            raise AssertionError("detail %r" % detail)
        # 200 without the provider's answer shape (a captive portal).
        lib.assert_eq(status(f[html]), ("unknown", "HTTP 200: not an answer this "
                                        "rule's verifier knows"), "html 200")
        lib.assert_eq(status(f[odd])[0], "unknown", "418")


@lib.test
def connection_refused_is_unknown():
    with lib.TempDir() as base:
        k = key("refused")
        repo = repo_with(base, [k])
        rc, rep = verify_json(repo, closed_port_url(), secrets=[k])
        lib.assert_eq(rc, 1, "exit code")
        st, detail = status(rep["findings"][0])
        lib.assert_eq(st, "unknown", "status")
        if not detail.startswith("no answer: ") or "onnect" not in detail:
            raise AssertionError("detail %r" % detail)
        lib.assert_eq(rep["summary"]["verification"]["unknown"], 1, "count")


@lib.test
def same_secret_in_30_commits_is_verified_once():
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(key("thirty"), "live")
        repo = lib.new_repo(base)
        for i in range(30):
            lib.commit_file(repo, "svc%02d/settings.txt" % i,
                            "# service %d\nGROQ=%s\n" % (i, k),
                            message="add service %d" % i)
        rc, rep = verify_json(repo, prov.url, secrets=[k], command="history")
        lib.assert_eq(len(rep["findings"]), 30, "findings")
        for f in rep["findings"]:
            lib.assert_eq(status(f), ("live", "HTTP 200"), f["path"])
        lib.assert_eq(prov.count(), 1, "requests")
        lib.assert_eq(rep["summary"]["verification"]["live"], 30, "live count")


@lib.test
def only_live_reports_only_live_keys():
    with lib.TempDir() as base, Provider() as prov:
        live = prov.add(key("ol-live"), "live")
        dead = prov.add(key("ol-dead"), "revoked")
        repo = repo_with(base, [live, dead])
        rc, rep = verify_json(repo, prov.url, "--only-live", secrets=[live, dead])
        lib.assert_eq(rc, 1, "exit code")
        lib.assert_eq(len(rep["findings"]), 1, "findings")
        lib.assert_eq(status(rep["findings"][0]), ("live", "HTTP 200"), "kept")
        v = rep["summary"]["verification"]
        lib.assert_eq((v["only_live"], v["hidden"], v["revoked"]), (True, 1, 1), "summary")
        # Nothing live: nothing reported, exit 0.
        repo2 = repo_with(base, [dead], "repo2")
        rc, rep = verify_json(repo2, prov.url, "--only-live", secrets=[dead])
        lib.assert_eq((rc, len(rep["findings"])), (0, 0), "only revoked")


@lib.test
def without_verify_no_request_is_made():
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(key("quiet"), "live")
        repo = repo_with(base, [k])
        for cmd in ("scan", "history", "audit", "staged"):
            p = lib.run([cmd, repo, "--format", "json"], env=env_for(prov.url))
            rep = json.loads(p.stdout.decode("utf-8"))
            for f in rep["findings"]:
                lib.assert_eq(f["verification"], None, cmd + " verification")
            lib.assert_eq(rep["summary"]["verification"], None, cmd + " summary")
        lib.assert_eq(prov.count(), 0, "requests without --verify")


@lib.test
def staged_verify_gives_the_status():
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(key("staged"), "live")
        repo = lib.new_repo(base, "repo")
        lib.commit_file(repo, "README", "hello\n")
        lib.write(os.path.join(repo, "app.env.txt"), "KEY=%s\n" % k)
        lib.git(repo, "add", "app.env.txt")
        rc, rep = verify_json(repo, prov.url, secrets=[k], command="staged")
        lib.assert_eq(rc, 1, "exit")
        lib.assert_eq([status(f) for f in rep["findings"]], [("live", "HTTP 200")], "status")
        lib.assert_eq(prov.count(k), 1, "requests")


def hook_repo(base, name, hook, args):
    """A repository whose hooks/HOOK runs `keyleak HOOK ARGS` (as an admin
    edits the installed hook's last line)."""
    path = os.path.join(base, name)
    lib.write(os.path.join(path, "hooks", hook),
              "#!/bin/sh\nexec '%s' %s %s\n" % (lib.KEYLEAK, hook, " ".join(args)))
    os.chmod(os.path.join(path, "hooks", hook), 0o755)
    return path


def git_push(repo, url, *args):
    env = dict(os.environ, GIT_CONFIG_GLOBAL="/dev/null", GIT_CONFIG_NOSYSTEM="1",
               **env_for(url))
    env.pop("NO_COLOR", None)
    return subprocess.run(["git", "-C", repo, "push"] + list(args),
                          capture_output=True, env=env, timeout=120)


@lib.test
def push_hooks_verify_when_asked():
    # A real git push into bare repositories whose pre-receive hook runs
    # with --verify, then with --verify --only-live; a client's pre-push
    # with --verify. The pusher sees each key's status, never the key.
    with lib.TempDir() as base, Provider() as prov:
        live = prov.add(key("push-live"), "live")
        dead = prov.add(key("push-dead"), "revoked")
        for name in ("srv.git", "lax.git"):
            subprocess.run(["git", "init", "-q", "--bare", os.path.join(base, name)],
                           check=True, capture_output=True)
        hook_repo(base, "srv.git", "pre-receive", ["--verify"])
        hook_repo(base, "lax.git", "pre-receive", ["--verify", "--only-live"])
        cl = lib.new_repo(base, "cl")
        lib.commit_file(cl, "README", "hello\n", "init")
        lib.commit_file(cl, "old.env.txt", "KEY=%s\n" % dead, "old key")

        # --only-live: a revoked key alone passes, and is said to.
        p = git_push(cl, prov.url, "file://" + os.path.join(base, "lax.git"), "HEAD:refs/heads/main")
        e = p.stderr.decode(errors="replace")
        lib.assert_no_secret(p.stdout + p.stderr, [live, dead], "lax push")
        lib.assert_eq(p.returncode, 0, "lax push: " + e)
        if "no live secrets" not in e or "1 finding not live" not in e:
            raise AssertionError(e)

        lib.commit_file(cl, "new.env.txt", "KEY=%s\n" % live, "new key")
        for srv in ("srv.git", "lax.git"):
            p = git_push(cl, prov.url, "file://" + os.path.join(base, srv), "HEAD:refs/heads/main")
            e = p.stderr.decode(errors="replace")
            lib.assert_no_secret(p.stdout + p.stderr, [live, dead], srv)
            if p.returncode == 0 or "pre-receive hook declined" not in e:
                raise AssertionError("%s accepted: %s" % (srv, e))
            if "status  verified live (HTTP 200)" not in e:
                raise AssertionError(e)
            want_dead = srv == "srv.git"
            if ("status  revoked (HTTP 401)" in e) != want_dead:
                raise AssertionError(e)
        lib.assert_eq(prov.count(live), 2, "live key: once per push")

        # pre-push on the client, with --verify.
        hook_repo(cl, ".git", "pre-push", ["--verify"])
        subprocess.run(["git", "init", "-q", "--bare", os.path.join(base, "plain.git")],
                       check=True, capture_output=True)
        p = git_push(cl, prov.url, "file://" + os.path.join(base, "plain.git"), "HEAD:refs/heads/main")
        e = p.stderr.decode(errors="replace")
        lib.assert_no_secret(p.stdout + p.stderr, [live, dead], "pre-push")
        if p.returncode == 0 or "status  verified live (HTTP 200)" not in e or \
                "status  revoked (HTTP 401)" not in e:
            raise AssertionError("pre-push: " + e)

        # The verification options need --verify, as for the other commands.
        p = lib.run(["pre-receive", "--only-live"], input=b"")
        lib.assert_eq(p.returncode, 2, "--only-live alone")
        if b"needs --verify" not in p.stderr:
            raise AssertionError(p.stderr)


@lib.test
def text_and_sarif_carry_the_status_without_the_secret():
    with lib.TempDir() as base, Provider() as prov:
        live = prov.add(key("t-live"), "live")
        dead = prov.add(key("t-dead"), "revoked")
        repo = repo_with(base, [live, dead])
        p = lib.run(["scan", repo, "--verify", "--no-color"], env=env_for(prov.url))
        text = p.stdout.decode("utf-8")
        for want in ("status  verified live (HTTP 200)", "status  revoked (HTTP 401)",
                     "verification: 1 live, 1 revoked, 0 unknown (2 requests)"):
            if want not in text:
                raise AssertionError("text lacks %r:\n%s" % (want, text))
        lib.assert_no_secret(p.stdout + p.stderr, [live, dead], "text")
        out = os.path.join(base, "r.sarif")
        p = lib.run(["scan", repo, "--verify", "--format", "sarif", "-o", out],
                    env=env_for(prov.url))
        lib.assert_eq(p.returncode, 1, "sarif exit")
        raw = open(out, encoding="utf-8").read()
        lib.assert_no_secret(raw, [live, dead], "sarif")
        results = json.loads(raw)["runs"][0]["results"]
        got = sorted((r["properties"]["verification"]["status"], r["level"]) for r in results)
        lib.assert_eq(got, [("live", "error"), ("revoked", "error")], "sarif results")
        lib.validate_sarif(out)


@lib.test
def live_key_raises_sarif_level_to_error():
    # A rule of low severity (a user rule with a verifier) still gives an
    # "error" result when its key is live.
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(key("low"), "live")
        rules = os.path.join(base, "low.json")
        lib.write(rules, json.dumps({"provider": "Local", "rules": [{
            "id": "local-low-key", "name": "Local key", "description": "d",
            "remediation": "r", "severity": "low",
            "regex": "LOWKEY=(gsk_[A-Za-z0-9]{52})", "secret_group": 1,
            "keywords": ["LOWKEY="],
            "verify": {"url": "https://api.local.invalid/v1/whoami",
                       "headers": {"Authorization": "Bearer {secret}"},
                       "live": [200], "revoked": [401]}}]}))
        repo = lib.new_repo(base)
        lib.commit_file(repo, "x.txt", "LOWKEY=%s\n" % k)
        out = os.path.join(base, "r.sarif")
        p = lib.run(["scan", repo, "--only-rules", rules, "--verify", "--format",
                     "sarif", "-o", out], env=env_for(prov.url))
        lib.assert_eq(p.returncode, 1, "exit")
        res = json.load(open(out, encoding="utf-8"))["runs"][0]["results"]
        lib.assert_eq([(r["level"], r["properties"]["verification"]["status"]) for r in res],
                      [("error", "live")], "level")
        lib.assert_eq([p for p, _ in prov.requests], ["/v1/whoami"], "path kept")


@lib.test
def post_verifier_with_answers_told_apart_by_body():
    # Slack-like: POST without a body, HTTP 200 either way, the body says.
    with lib.TempDir() as base, Provider() as prov:
        ok = prov.add(key("s-ok"), "slack_ok")
        dead = prov.add(key("s-dead"), "slack_revoked")
        odd = prov.add(key("s-odd"), "slack_other")
        rules = os.path.join(base, "slackish.json")
        lib.write(rules, json.dumps({"provider": "Local", "rules": [{
            "id": "local-token", "name": "Local token", "description": "d",
            "remediation": "r", "severity": "high",
            "regex": "(?<![A-Za-z0-9_])(gsk_[A-Za-z0-9]{52})", "secret_group": 1,
            "keywords": ["gsk_"],
            "verify": {"method": "POST", "url": "https://chat.local.invalid/api/auth.test",
                       "headers": {"Authorization": "Bearer {secret}"},
                       "live": [200], "revoked": [200],
                       "live_body": "\"ok\":true",
                       "revoked_body": ["invalid_auth", "token_revoked"]}}]}))
        repo = repo_with(base, [ok, dead, odd])
        rc, rep = verify_json(repo, prov.url, "--only-rules", rules, secrets=[ok, dead, odd])
        f = by_secret(rep, [ok, dead, odd])
        lib.assert_eq(status(f[ok]), ("live", "HTTP 200"), "ok")
        lib.assert_eq(status(f[dead]), ("revoked", "HTTP 200"), "revoked")
        lib.assert_eq(status(f[odd])[0], "unknown", "other error")
        lib.assert_eq(sorted(p for p, _ in prov.requests), ["/api/auth.test"] * 3, "paths")


@lib.test
def parallel_requests_with_verify_jobs():
    # Two keys the server answers only when both requests are in flight at
    # once: they are live only if keyleak sends them in parallel.
    with lib.TempDir() as base, Provider() as prov:
        a = prov.add(key("par-a"), "barrier")
        b = prov.add(key("par-b"), "barrier")
        repo = repo_with(base, [a, b])
        rc, rep = verify_json(repo, prov.url, "--verify-jobs", "2", secrets=[a, b])
        lib.assert_eq(sorted(status(f)[0] for f in rep["findings"]), ["live", "live"], "both")


@lib.test
def rules_without_verifier_are_unknown_without_a_request():
    with lib.TempDir() as base, Provider() as prov:
        k = lib.make_key("perplexity-api-key", "verify")
        repo = repo_with(base, [k])
        rc, rep = verify_json(repo, prov.url, secrets=[k])
        lib.assert_eq(status(rep["findings"][0]), ("unknown", "no verifier for this rule"),
                      "status")
        lib.assert_eq(rep["findings"][0]["verification"]["checked_at"], None, "checked_at")
        lib.assert_eq(prov.count(), 0, "requests")


@lib.test
def user_rule_cannot_change_a_builtin_verifier():
    with lib.TempDir() as base, Provider() as prov:
        rules = os.path.join(base, "groq.json")
        rule = dict(lib.RULES[RULE])
        rule["verify"] = {"url": "https://elsewhere.invalid/steal",
                          "headers": {"Authorization": "Bearer {secret}"},
                          "live": [200], "revoked": [401]}
        lib.write(rules, json.dumps({"provider": "Groq", "rules": [rule]}))
        repo = repo_with(base, [key("x")])
        p = lib.run(["scan", repo, "--rules", rules, "--verify"], env=env_for(prov.url))
        lib.assert_eq(p.returncode, 2, "exit")
        if b"cannot change its verifier" not in p.stderr:
            raise AssertionError(p.stderr)
        # Redefined without "verify": the built-in verifier is kept.
        del rule["verify"]
        rule["name"] = "Groq key (local copy)"
        lib.write(rules, json.dumps({"provider": "Groq", "rules": [rule]}))
        k = prov.add(key("x"), "live")
        rc, rep = verify_json(repo, prov.url, "--rules", rules, secrets=[k])
        lib.assert_eq(rep["findings"][0]["rule_name"], "Groq key (local copy)", "redefined")
        lib.assert_eq(status(rep["findings"][0]), ("live", "HTTP 200"), "kept verifier")
        lib.assert_eq([p for p, _ in prov.requests], ["/openai/v1/models"], "built-in path")


@lib.test
def repository_config_cannot_bring_a_verifier():
    with lib.TempDir() as base, Provider() as prov:
        k = prov.add(lib.expand("rk_{30:lower}", random.Random(7)), "live")
        repo = lib.new_repo(base)
        lib.write(os.path.join(repo, "tools", "r.json"), json.dumps({"provider": "X", "rules": [{
            "id": "repo-key", "name": "Repo key", "description": "d",
            "remediation": "r", "severity": "high",
            "regex": "REPOKEY=(rk_[a-z]{30})", "secret_group": 1,
            "keywords": ["REPOKEY="],
            "verify": {"url": "https://collector.invalid/c",
                       "headers": {"Authorization": "Bearer {secret}"},
                       "live": [200], "revoked": [401]}}]}))
        lib.write(os.path.join(repo, ".keyleak.json"),
                  json.dumps({"rule_files": ["tools/r.json"]}))
        lib.write(os.path.join(repo, "local.txt"), "REPOKEY=%s\n" % k)
        rc, rep = verify_json(repo, prov.url, secrets=[k])
        f = [f for f in rep["findings"] if f["rule_id"] == "repo-key"]
        lib.assert_eq(len(f), 1, "finding")
        st, detail = status(f[0])
        lib.assert_eq(st, "unknown", "status")
        if "repository's own configuration" not in detail:
            raise AssertionError(detail)
        lib.assert_eq(prov.count(), 0, "requests")


@lib.test
def verifier_schema_is_strict():
    bad = [
        ({"url": "http://api.example.invalid/x", "headers": {"A": "{secret}"}}, "https://"),
        ({"url": "https://{secret}.example.invalid/x"}, "host"),
        ({"url": "https://api.example.invalid/{secret}"}, "query"),
        ({"url": "https://api.example.invalid/x?key={secret}"}, "secret_in_query"),
        ({"url": "https://user@api.example.invalid/x", "headers": {"A": "{secret}"}}, "host"),
        ({"url": "https://api.example.invalid/x", "headers": {"A": "no secret"}}, "{secret}"),
        ({"url": "https://api.example.invalid/x", "headers": {"A": "{secret}"},
          "method": "DELETE"}, "method"),
        ({"url": "https://api.example.invalid/x", "headers": {"A": "{secret}"},
          "live": [200], "revoked": [200]}, "both live and revoked"),
        ({"url": "https://api.example.invalid/x", "headers": {"A": "{secret}"},
          "surprise": 1}, "unknown field"),
    ]
    with lib.TempDir() as base:
        for i, (verify, want) in enumerate(bad):
            v = {"live": [200], "revoked": [401]}
            v.update(verify)
            path = os.path.join(base, "r%d.json" % i)
            lib.write(path, json.dumps({"provider": "X", "rules": [{
                "id": "x-key", "name": "X", "description": "d", "remediation": "r",
                "severity": "high", "regex": "(xk_[a-z]{20})", "secret_group": 1,
                "keywords": ["xk_"], "verify": v}]}))
            p = lib.run(["rules", "--only-rules", path])
            lib.assert_eq(p.returncode, 2, "exit for %r" % verify)
            err = p.stderr.decode()
            if "rule x-key: verify" not in err or want not in err:
                raise AssertionError("error for %r: %s" % (verify, err))
        # The query form is accepted when the rule says so.
        path = os.path.join(base, "ok.json")
        lib.write(path, json.dumps({"provider": "X", "rules": [{
            "id": "x-key", "name": "X", "description": "d", "remediation": "r",
            "severity": "high", "regex": "(xk_[a-z]{20})", "secret_group": 1,
            "keywords": ["xk_"], "verify": {
                "url": "https://api.example.invalid/x?key={secret}",
                "secret_in_query": True, "live": [200], "revoked": [401]}}]}))
        lib.assert_eq(lib.run(["rules", "--only-rules", path]).returncode, 0, "query ok")


@lib.test
def option_errors_are_refused_before_scanning():
    with lib.TempDir() as base:
        repo = repo_with(base, [key("opt")])
        cases = [
            (["--only-live"], {}, "needs --verify"),
            (["--verify-jobs", "3"], {}, "needs --verify"),
            (["--verify", "--verify-jobs", "0"], {}, "--verify-jobs"),
            (["--verify", "--verify-timeout", "x"], {}, "--verify-timeout"),
            (["--verify"], {"KEYLEAK_VERIFY_BASE_URL": "ftp://127.0.0.1:1"},
             "KEYLEAK_VERIFY_BASE_URL"),
            (["--verify"], {"KEYLEAK_VERIFY_BASE_URL": "http://127.0.0.1:1/path"},
             "KEYLEAK_VERIFY_BASE_URL"),
        ]
        for args, env, want in cases:
            p = lib.run(["scan", repo] + args, env=env)
            lib.assert_eq(p.returncode, 2, "exit for %r" % args)
            if want.encode() not in p.stderr:
                raise AssertionError("%r: %s" % (args, p.stderr))


@lib.test
def a_broken_libcurl_makes_every_key_unknown():
    # libcurl is loaded only for --verify; a library that is not libcurl
    # (here a stand-in found first through LD_LIBRARY_PATH) is said, and
    # the keys are unknown, not an error of the scan.
    import shutil
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise lib.Skip("no C compiler to build a stand-in library")
    with lib.TempDir() as base, Provider() as prov:
        src = os.path.join(base, "fake.c")
        lib.write(src, "int keyleak_fake_libcurl;\n")
        libdir = os.path.join(base, "lib")
        os.makedirs(libdir)
        subprocess.run([cc, "-shared", "-fPIC", "-o",
                        os.path.join(libdir, "libcurl.so.4"), src], check=True)
        k = prov.add(key("nocurl"), "live")
        repo = repo_with(base, [k])
        env = env_for(prov.url)
        env["LD_LIBRARY_PATH"] = libdir
        p = lib.run(["scan", repo, "--verify", "--format", "json"], env=env)
        lib.assert_eq(p.returncode, 1, "exit code")
        rep = json.loads(p.stdout.decode("utf-8"))
        st, detail = status(rep["findings"][0])
        lib.assert_eq(st, "unknown", "status")
        if "libcurl.so.4" not in detail:
            raise AssertionError(detail)
        if b"no key was verified" not in p.stderr:
            raise AssertionError(p.stderr)
        lib.assert_eq(prov.count(), 0, "requests")


@lib.test
def non_ai_verifiers_send_each_providers_request():
    # Each built-in rule's key goes to its provider's endpoint, in the
    # header that provider documents; the answers are told apart per rule.
    answers = {  # path -> (code, body, expected status)
        "/user": (200, b'{"login": "octocat", "id": 1}', "live"),
        "/api/auth.test": (200, b'{"ok":false,"error":"token_revoked"}', "revoked"),
        "/v1/balance": (200, b'{"object": "balance", "available": []}', "live"),
        "/v3/scopes": (401, b'{"errors": [{"message": "authorization required"}]}', "revoked"),
        "/-/whoami": (200, b'{"username": "someone"}', "live"),
        "/api/v10/users/@me": (401, b'{"message": "401: Unauthorized", "code": 0}', "revoked"),
        # gitlab.com refusing a token may mean another GitLab's: unknown.
        "/api/v4/personal_access_tokens/self": (401, b'{"message": "401 Unauthorized"}', "unknown"),
    }
    scheme = {"/user": "Bearer ", "/api/auth.test": "Bearer ", "/v1/balance": "Bearer ",
              "/v3/scopes": "Bearer ", "/-/whoami": "Bearer ",
              "/api/v10/users/@me": "Bot ", "/api/v4/personal_access_tokens/self": ""}
    rules = [r for r in lib.RULES if lib.RULES[r].get("verify") and
             lib.RULES[r]["verify"]["url"].split("/")[2] in
             ("api.github.com", "slack.com", "api.stripe.com", "api.sendgrid.com",
              "registry.npmjs.org", "discord.com", "gitlab.com")]
    if len(rules) != 11:
        raise AssertionError("non-AI verifiers: %r" % rules)
    with lib.TempDir() as base, Provider() as prov:
        prov.by_path = {k: v[:2] for k, v in answers.items()}
        repo = lib.new_repo(base, "repo")
        keys = {}
        for i, rid in enumerate(sorted(rules)):
            keys[rid] = lib.make_key(rid, "non-ai")
            lib.write(os.path.join(repo, "f%02d.txt" % i), keys[rid] + "\n")
        lib.git(repo, "add", "-A")
        lib.git(repo, "commit", "-qm", "keys")
        rc, rep = verify_json(repo, prov.url, secrets=list(keys.values()))
        got = {f["rule_id"]: f for f in rep["findings"]}
        lib.assert_eq(sorted(got), sorted(rules), "rules found")
        for rid in rules:
            path = lib.RULES[rid]["verify"]["url"].split("/", 3)[3]
            path = "/" + path.split("?")[0]
            lib.assert_eq(status(got[rid])[0], answers[path][2], rid)
        sent = {(m, p, a) for m, p, a in prov.auth}
        lib.assert_eq(len(prov.auth), len(rules), "one request per key")
        for m, p, a in sent:
            if not a or not a.startswith(scheme[p]) or \
                    not any(a[len(scheme[p]):] in k for k in keys.values()):
                raise AssertionError("%s %s sent %r" % (m, p, a))
            lib.assert_eq(m, "POST" if p == "/api/auth.test" else "GET", p)


@lib.test
def rules_list_shows_each_verifier():
    p = lib.run(["rules"])
    lib.assert_eq(p.returncode, 0, "exit")
    out = p.stdout.decode()
    listing = {l.split()[0]: l for l in out.splitlines() if l.startswith("  ")}
    n = 0
    for rid, rule in lib.RULES.items():
        v = rule.get("verify")
        host = v["url"].split("/")[2] if v else None
        got = re.search(r"  verify: (\S+)$", listing[rid])
        lib.assert_eq(got.group(1) if got else None, host, rid)
        n += bool(v)
    if ", %d with a verifier (--verify)" % n not in out.splitlines()[-1]:
        raise AssertionError(out.splitlines()[-1])


@lib.test
def builtin_verifiers_are_https_read_only_requests():
    # Every built-in verifier: GET over HTTPS (POST without a body only
    # where the provider's method takes no other, Slack's auth.test, and
    # then the body decides), key in a header.
    n = 0
    for rid, rule in lib.RULES.items():
        v = rule.get("verify")
        if not v:
            continue
        n += 1
        method = v.get("method", "GET")
        if not v["url"].startswith("https://") or method not in ("GET", "POST"):
            raise AssertionError(rid)
        if method == "POST" and not (v.get("live_body") and v.get("revoked_body")):
            raise AssertionError(rid + ": a POST verifier must read the body")
        if "{secret}" in v["url"] or not any("{secret}" in h for h in v["headers"].values()):
            raise AssertionError(rid + ": secret not in a header")
    if n < 15:
        raise AssertionError("only %d verifiers" % n)


if __name__ == "__main__":
    lib.main()
