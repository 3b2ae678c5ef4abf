"""End-to-end tests of `keyleak repos` and `audit --repos-from` against a
local fake of each platform's API (tests/e2e/fake_hosting.py, on
127.0.0.1: nothing reaches the network): paging, forks, archived and
private repositories, name patterns, rate limits, a 5xx that recovers,
401/404, a page that is not JSON, an organisation of 1,000 repositories,
and the audit through cloning (file:// URLs, and git over HTTP behind
the token) to the merged report. The token never shows in any output."""
import json
import os
import secrets
import time

import lib
import tempfile
from fake_hosting import Fake, repo
from lib import assert_eq, git, test

TOKEN = "kltok" + secrets.token_hex(20)
TOKEN_VARS = ["KEYLEAK_GITHUB_TOKEN", "GITHUB_TOKEN", "GH_TOKEN",
              "KEYLEAK_GITLAB_TOKEN", "GITLAB_TOKEN", "KEYLEAK_GITEA_TOKEN",
              "GITEA_TOKEN", "FORGEJO_TOKEN", "KEYLEAK_GIT_TOKEN",
              "KEYLEAK_GITHUB_API_URL", "KEYLEAK_GITLAB_API_URL",
              "KEYLEAK_GITEA_API_URL"]
RULE = "anthropic-api-key"


def env_with(**kw):
    """Every token variable blank (CI may set GITHUB_TOKEN), then kw."""
    env = {k: "" for k in TOKEN_VARS}
    env.update(kw)
    return env


def run_repos(fake, *args, env=None):
    return lib.run(["repos"] + list(args) + ["--api-url", fake.api_url],
                   env=env if env is not None else env_with(), timeout=120)


def no_token(*texts):
    for t in texts:
        if isinstance(t, bytes):
            t = t.decode(errors="replace")
        assert TOKEN not in t, "the token leaked"


def no_token_in_tree(d):
    for root, _, files in os.walk(d):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                assert TOKEN.encode() not in fh.read(), \
                    "the token is in %s" % os.path.join(root, f)


def org(base, owner, n, private_every=3):
    """n repositories: every 10th a fork, every 7th archived, every
    private_every-th private. Clone URLs under the fake's /git/."""
    out = []
    for i in range(n):
        name = "%s/r%04d" % (owner, i)
        out.append(repo(name, "%s/git/%s.git" % (base, name),
                        fork=i % 10 == 9, archived=i % 7 == 6,
                        private=i % private_every == 0))
    return out


def expect(repos, forks=False, archived=False, vis="all", keep=None):
    out = []
    for r in repos:
        if (r["fork"] and not forks) or (r["archived"] and not archived):
            continue
        if (vis == "public" and r["private"]) or (vis == "private" and
                                                   not r["private"]):
            continue
        if keep and not keep(r["name"]):
            continue
        out.append(r["clone_url"])
    return sorted(out)


def lines(p):
    assert p.returncode == 0, "exit %d: %s" % (p.returncode,
                                                p.stderr.decode(errors="replace"))
    return p.stdout.decode().splitlines()


def started(platform, owners_fn, **kw):
    """A fake whose owners are built once its address is known."""
    f = Fake(platform, {}, **kw)
    f.owners.update(owners_fn(f.base))
    return f


@test
def github_pages_forks_archived_and_filters():
    with started("github", lambda b: {"acme": org(b, "acme", 250)},
                 token=TOKEN) as f:
        env = env_with(GITHUB_TOKEN=TOKEN)
        all_ = f.owners["acme"]
        p = run_repos(f, "github:acme", env=env)
        assert_eq(lines(p), expect(all_), "default: no forks, no archived")
        pages = [r for r in f.requests if "/orgs/acme/repos" in r[1]]
        assert_eq(len(pages), 3, "250 repositories at 100 a page")
        for _, _, hdrs in pages:
            assert_eq(hdrs.get("authorization"), "Bearer " + TOKEN, "auth")
        no_token(p.stdout, p.stderr)
        assert "250 repositories listed" in p.stderr.decode(), p.stderr
        p = run_repos(f, "github:acme", "--include-forks",
                      "--include-archived", env=env)
        assert_eq(lines(p), expect(all_, True, True), "everything")
        p = run_repos(f, "github:acme", "--visibility", "public", env=env)
        assert_eq(lines(p), expect(all_, vis="public"), "public")
        p = run_repos(f, "github:acme", "--visibility", "private", env=env)
        assert_eq(lines(p), expect(all_, vis="private"), "private")
        p = run_repos(f, "github:acme", "--include-name", "r00*",
                      "--include-name", "acme/r01[0-4]?",
                      "--exclude-name", "r000[0-4]", env=env)
        want = expect(all_, keep=lambda n: (n.split("/")[1].startswith("r00")
                                             or n[:9] in ["acme/r01%d" % i for i in range(5)])
                      and not n.split("/")[1][:5] in ["r000%d" % i for i in range(5)])
        assert_eq(lines(p), want, "name patterns")
        assert len(want) > 20


@test
def github_user_and_enterprise_host():
    owners = lambda b: {"ann": org(b, "ann", 12), "acme": org(b, "acme", 5)}
    with started("github", owners, api_prefix="/api/v3") as f:
        # a bare host gets GitHub Enterprise Server's /api/v3
        p = lib.run(["repos", "github-user:ann", "--api-url", f.base],
                    env=env_with())
        assert_eq(lines(p), expect(f.owners["ann"]), "user")
        assert any(r[1].startswith("/api/v3/users/ann/repos?")
                   for r in f.requests), f.requests
        assert not any("authorization" in r[2] for r in f.requests), \
            "no token set: none sent"
        out = os.path.join(tempfile.mkdtemp(), "list.txt")
        p = lib.run(["repos", "github:acme", "github-user:ann",
                     "--api-url", f.api_url, "-o", out], env=env_with())
        assert_eq(p.returncode, 0, p.stderr)
        with open(out) as fh:
            got = fh.read().splitlines()
        assert_eq(got, sorted(expect(f.owners["ann"]) +
                              expect(f.owners["acme"])), "two specs, one list")


@test
def gitlab_subgroups_and_next_page():
    owners = lambda b: {"grp": org(b, "grp", 130),
                        "grp/sub": org(b, "grp/sub", 40),
                        "grp/sub/deep": org(b, "grp/sub/deep", 7),
                        "grpx": org(b, "grpx", 3)}
    with started("gitlab", owners, token=TOKEN) as f:
        env = env_with(GITLAB_TOKEN=TOKEN)
        p = run_repos(f, "gitlab:grp", "--include-forks", env=env)
        want = expect(f.owners["grp"] + f.owners["grp/sub"] +
                      f.owners["grp/sub/deep"], forks=True)
        assert_eq(lines(p), want, "group with subgroups")
        assert all(r[2].get("private-token") == TOKEN for r in f.requests)
        assert_eq(len(f.requests), 2, "177 projects at 100 a page")
        p = run_repos(f, "gitlab:grp/sub", env=env)
        assert_eq(lines(p), expect(f.owners["grp/sub"] +
                                   f.owners["grp/sub/deep"]), "a subgroup")
        assert any("/groups/grp%2Fsub/projects" in r[1] for r in f.requests)
        # self-managed GitLab: a bare host gets /api/v4
        p = lib.run(["repos", "gitlab:grpx", "--api-url", f.base], env=env)
        assert_eq(lines(p), expect(f.owners["grpx"]), "bare host")
        no_token(p.stdout, p.stderr)
    # keyset pagination: the next page only in the Link header
    with started("gitlab", lambda b: {"big": org(b, "big", 250)},
                 faults={"keyset": True}) as f:
        p = run_repos(f, "gitlab:big", "--include-forks",
                      "--include-archived")
        assert_eq(lines(p), expect(f.owners["big"], True, True), "keyset")
        assert_eq(len(f.requests), 3, "three pages by Link")


@test
def gitea_and_forgejo_page_counting():
    owners = lambda b: {"org": org(b, "org", 95)}
    with started("gitea", owners, token=TOKEN, page_cap=20) as f:
        env = env_with(GITEA_TOKEN=TOKEN)
        p = run_repos(f, "gitea:org", "--include-archived", env=env)
        assert_eq(lines(p), expect(f.owners["org"], archived=True), "gitea")
        assert_eq(len(f.requests), 5, "95 at 20 a page (the server's cap)")
        assert all(r[2].get("authorization") == "token " + TOKEN
                   for r in f.requests)
        p = run_repos(f, "forgejo:org", env=env)
        assert_eq(lines(p), expect(f.owners["org"]), "forgejo")
    p = lib.run(["repos", "gitea:org"], env=env_with())
    assert_eq(p.returncode, 2, "gitea needs --api-url")
    assert "--api-url" in p.stderr.decode(), p.stderr


@test
def rate_limits_are_waited_out_or_refused():
    owners = lambda b: {"acme": org(b, "acme", 230)}
    for platform, spec, kind in [("github", "github:acme", "403"),
                                 ("github", "github:acme", "reset"),
                                 ("gitlab", "gitlab:acme", "429"),
                                 ("gitlab", "gitlab:acme", "gitlab-reset"),
                                 ("gitea", "gitea:acme", "429")]:
        with started(platform, owners,
                     faults={"rate_limit": {2: kind}}) as f:
            t0 = time.time()
            p = run_repos(f, spec, "--include-forks", "--include-archived")
            assert_eq(lines(p), expect(f.owners["acme"], True, True),
                      "%s %s" % (platform, kind))
            err = p.stderr.decode()
            assert "rate limited; waiting" in err and "acme" in err, err
            assert time.time() - t0 < 30
    with started("github", owners, faults={"rate_limit": {1: "long"}}) as f:
        t0 = time.time()
        p = run_repos(f, "github:acme", "--rate-limit-wait", "60")
        assert_eq(p.returncode, 2, "an hour's wait is past the bound")
        err = p.stderr.decode()
        assert "rate limited" in err and "--rate-limit-wait" in err, err
        assert "GITHUB_TOKEN" in err, "says a token raises the limit"
        assert time.time() - t0 < 10, "refused at once, not waited"


@test
def server_errors_are_retried():
    owners = lambda b: {"acme": org(b, "acme", 150)}
    for platform in ["github", "gitlab", "gitea"]:
        with started(platform, owners, faults={"error": {2: 502}}) as f:
            p = run_repos(f, "%s:acme" % platform)
            assert_eq(lines(p), expect(f.owners["acme"]), platform)
            assert "HTTP 502 on page 2; retrying" in p.stderr.decode(), \
                p.stderr


@test
def refusals_name_platform_owner_and_cause():
    owners = lambda b: {"acme": org(b, "acme", 3)}
    for platform, var in [("github", "GITHUB_TOKEN"), ("gitlab", "GITLAB_TOKEN"),
                          ("gitea", "GITEA_TOKEN")]:
        with started(platform, owners, token="the-right-one") as f:
            p = run_repos(f, "%s:acme" % platform, env=env_with(**{var: TOKEN}))
            assert_eq(p.returncode, 2, "401")
            err = p.stderr.decode()
            for word in [platform, "acme", "401", var, "127.0.0.1"]:
                assert word in err, (word, err)
            no_token(p.stdout, err)
            assert_eq(p.stdout, b"", "nothing listed")
            p = run_repos(f, "%s:acme" % platform)
            assert_eq(p.returncode, 2, "401 without a token")
            assert "wants a token: set %s" % var in p.stderr.decode(), \
                p.stderr
        with started(platform, owners) as f:
            p = run_repos(f, "%s:nobody" % platform)
            assert_eq(p.returncode, 2, "404")
            err = p.stderr.decode()
            assert "404" in err and "nobody" in err and "private" in err, err


@test
def a_page_that_is_not_json():
    owners = lambda b: {"acme": org(b, "acme", 150)}
    for platform in ["github", "gitlab", "gitea"]:
        with started(platform, owners, faults={"not_json": {2}}) as f:
            p = run_repos(f, "%s:acme" % platform)
            assert_eq(p.returncode, 2, platform)
            err = p.stderr.decode()
            assert "page 2 is not a JSON list" in err and "<!DOCTYPE" in err, err
            assert_eq(p.stdout, b"", "no partial list")


@test
def an_organisation_of_1000_repositories():
    owners = lambda b: {"big": org(b, "big", 1000)}
    for platform, pages in [("github", 10), ("gitlab", 10), ("gitea", 20)]:
        with started(platform, owners) as f:
            t0 = time.time()
            p = run_repos(f, "%s:big" % platform, "--include-forks",
                          "--include-archived")
            got = lines(p)
            assert_eq(len(got), 1000, platform)
            assert_eq(got, sorted(got), "sorted")
            assert_eq(len(set(got)), 1000, "no repeats")
            assert_eq(len(f.requests), pages, "%s pages" % platform)
            print("# %s: 1000 repositories in %.2f s" % (platform,
                                                         time.time() - t0))


@test
def the_token_stays_with_the_api_host():
    owners = lambda b: {"acme": org(b, "acme", 150)}
    with started("github", owners, token=TOKEN,
                 faults={"foreign_next": True}) as f:
        p = run_repos(f, "github:acme", env=env_with(GITHUB_TOKEN=TOKEN))
        assert_eq(p.returncode, 2, "a next page on another host")
        assert "another host" in p.stderr.decode(), p.stderr
        assert_eq(len(f.requests), 1, "not followed")
        no_token(p.stdout, p.stderr)
    for url in ["http://10.0.0.1/api/v3", "ftp://127.0.0.1/",
                "https://user:pw@h.invalid/"]:
        p = lib.run(["repos", "github:acme", "--api-url", url],
                    env=env_with(GITHUB_TOKEN=TOKEN))
        assert_eq(p.returncode, 2, url)
        assert "--api-url" in p.stderr.decode(), p.stderr
    p = lib.run(["scan", "--include-forks"])
    assert_eq(p.returncode, 2, "listing options only with repos")


def planted_org(d, base, owner, n):
    """n bare repositories under d/git/OWNER; even ones hold a key; one
    more is a fork with a key (skipped by default). Returns the fake's
    entries with clone URLs made by url(name) and the keyed names."""
    keyed, entries = [], []
    for i in range(n + 1):
        name = "%s/r%02d" % (owner, i)
        work = lib.new_repo(d, "work-%s-%d" % (owner, i))
        lib.commit_file(work, "README", "repo %d\n" % i, "init")
        if i % 2 == 0:
            k = lib.make_key(RULE, 300 + i)
            lib.commit_file(work, "conf.py", 'KEY = "%s"\n' % k, "config")
            if i < n:
                keyed.append(name)
        bare = os.path.join(d, "git", name + ".git")
        os.makedirs(os.path.dirname(bare), exist_ok=True)
        git(work, "clone", "-q", "--bare", work, bare)
        entries.append(repo(name, base(bare, name), fork=i == n))
    return entries, keyed


def jsonl(path):
    with open(path) as fh:
        return [json.loads(l) for l in fh if l.strip()]


@test
def audit_repos_from_through_shards_to_the_merged_report():
    with lib.TempDir() as d:
        f = Fake("github", {}, token=TOKEN)
        entries, keyed = planted_org(d, lambda bare, name: "file://" + bare,
                                     "acme", 9)
        f.owners["acme"] = entries
        env = env_with(GITHUB_TOKEN=TOKEN)
        with f:
            lst = os.path.join(d, "list.txt")
            p = lib.run(["repos", "github:acme", "--api-url", f.api_url,
                         "-o", lst], env=env)
            assert_eq(p.returncode, 0, p.stderr)
            with open(lst) as fh:
                listed = fh.read().splitlines()
            assert_eq(len(listed), 9, "the fork is left out")
            outs, by_list = [], []
            for k in range(3):
                out = os.path.join(d, "shard%d.jsonl" % k)
                p = lib.run(["audit", "--repos-from", "github:acme",
                             "--api-url", f.api_url, "--shard", "%d/3" % k,
                             "--jobs", "2", "--format", "jsonl", "-o", out,
                             "--state-dir", os.path.join(d, "state"),
                             "--mirror-dir", os.path.join(d, "mirrors")],
                            env=env)
                assert p.returncode in (0, 1), p.stderr
                no_token(p.stdout, p.stderr)
                outs.append(out)
                # the same shard from the list file: the same repositories
                q = lib.run(["audit", "--repos", lst, "--shard", "%d/3" % k,
                             "--format", "jsonl", "-q", "--mirror-dir",
                             os.path.join(d, "mirrors2")])
                ids = sorted(r["repository_id"] for r in
                             (json.loads(l) for l in q.stdout.decode().splitlines())
                             if r.get("type") == "repository")
                by_list.append(ids)
            seen = []
            for k, out in enumerate(outs):
                ids = sorted(r["repository_id"] for r in jsonl(out)
                             if r.get("type") == "repository")
                assert_eq(ids, by_list[k], "shard %d: same as --repos" % k)
                seen += ids
            assert_eq(len(seen), 9, "every listed repository in one shard")
            merged = os.path.join(d, "merged.json")
            p = lib.run(["merge"] + outs + ["--repos", lst, "--format",
                                            "json", "-o", merged])
            assert_eq(p.returncode, 1, p.stderr)
            with open(merged) as fh:
                report = json.load(fh)
            files = {fi["repository"] for fi in report["findings"]}
            assert_eq(len(files), len(keyed), "a finding per keyed repository")
            assert not any("r09" in r for r in files), "the fork not audited"
        no_token_in_tree(d)


@test
def clones_reuse_the_token_on_the_platforms_host_only():
    with lib.TempDir() as d:
        f = Fake("gitea", {}, token=TOKEN, git_root=os.path.join(d, "git"))
        # one repository on the API's host, one on another name for it
        mk = lambda bare, name: "%s/git/%s.git" % (
            f.base if not name.endswith("r02") else
            f.base.replace("127.0.0.1", "localhost"), name)
        entries, keyed = planted_org(d, mk, "acme", 3)
        f.owners["acme"] = entries
        with f:
            out = os.path.join(d, "out.jsonl")
            p = lib.run(["audit", "--repos-from", "gitea:acme", "--api-url",
                         f.api_url, "--format", "jsonl", "-o", out,
                         "--mirror-dir", os.path.join(d, "mirrors")],
                        env=env_with(GITEA_TOKEN=TOKEN))
            no_token(p.stdout, p.stderr)
            status = {r["repository"].rsplit("/", 1)[-1]: r["status"]
                      for r in jsonl(out) if r.get("type") == "repository"}
            assert_eq(status, {"r00.git": "ok", "r01.git": "ok",
                               "r02.git": "error"}, "cloned with the token "
                      "on the API's host only")
            assert_eq(p.returncode, 2, "one repository failed")
            sent = [r for r in f.requests if r[1].startswith("/git/")
                    and "authorization" in r[2]]
            assert sent and all("/r02.git" not in r[1] for r in sent), sent
        no_token_in_tree(d)


if __name__ == "__main__":
    lib.main()
