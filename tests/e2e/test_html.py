"""End-to-end tests of `--format html` in a real browser (headless
Chromium over the DevTools protocol, tests/e2e/browser.py): the page
against the JSON report of the same scan (rows, counts, links), filters,
search and sorting, no request leaving the page, no script from
repository text, never a full secret; screenshots at desktop and narrow
widths and the timings of a 10,000-finding report go to
build/test-artifacts/. Chromium is required: CI installs it."""
import html
import json
import os
import re
import time

import browser
import lib
from lib import assert_eq, git, test

ARTIFACTS = os.path.join(lib.ROOT, os.environ.get("BUILD", "build"),
                         "test-artifacts")
SECRETS = []
DATES = {"GIT_AUTHOR_DATE": "2024-01-05T10:00:00Z",
         "GIT_COMMITTER_DATE": "2024-01-05T10:00:00Z"}


def key(rule, seed):
    k = lib.make_key(rule, seed)
    SECRETS.append(k)
    return k


def at(date):
    return {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}


def project(d, name="widgets", remote="https://github.com/acme/widgets.git"):
    """A repository with keys of three providers over a year: one removed,
    two still in HEAD, and a committed .env (a policy finding)."""
    repo = lib.new_repo(d, name)
    if remote:
        git(repo, "remote", "add", "origin", remote)
    lib.commit_file(repo, "README.md", "widgets\n", "init", env=at("2024-01-02T09:00:00Z"))
    lib.commit_file(repo, "src/config.py", 'OPENAI_API_KEY = "%s"\n'
                    % key("openai-project-key", 1), "add config",
                    env=at("2024-02-05T10:00:00Z"))
    lib.commit_file(repo, "deploy/ci sh/run.sh", "export ANTHROPIC_API_KEY=%s\n"
                    % key("anthropic-api-key", 2), "ci",
                    env=at("2024-04-05T10:00:00Z"))
    lib.commit_file(repo, "deploy/ci sh/run.sh", "export ANTHROPIC_API_KEY=$K\n",
                    "read the key from the environment",
                    env=at("2024-06-05T10:00:00Z"))
    lib.commit_file(repo, "app/settings.py", 'HF = "%s"\n'
                    % key("huggingface-access-token", 3), "settings",
                    env=at("2024-09-01T10:00:00Z"))
    lib.commit_file(repo, ".env", "DEBUG=1\n", "env", env=at("2024-10-01T10:00:00Z"))
    return repo


def report_pair(args, d, name="r"):
    """(JSON report, path of the HTML report) of the same command."""
    code, rep = lib.run_json(args)
    out = os.path.join(d, name + ".html")
    p = lib.run(args + ["--format", "html", "--output", out])
    assert_eq(p.returncode, code, "html exit code (%s)" % p.stderr.decode())
    return rep, out


def keys_of(rep):
    return [f for f in rep["findings"] if f["kind"] == "key"]


def check_clean_page(b, path):
    """The page fetched nothing, opened no dialog, broke no CSP rule, and
    its script ran (it shows the controls)."""
    url = "file://" + os.path.abspath(path)
    assert_eq([u for u in b.requests() if u != url], [], "requests")
    assert_eq(b.dialogs(), [], "dialogs")
    csp = [e["text"] for e in b.log_entries()
           if "Content Security Policy" in e.get("text", "")]
    assert_eq(csp, [], "CSP violations")
    assert_eq(b.eval("getComputedStyle(document.body).maxWidth"), "1600px",
              "stylesheet applied")
    assert_eq(b.eval("!!document.getElementById('controls') && "
                     "!document.getElementById('controls').hidden"),
              True, "script ran")


def no_secret_in(b, path, secrets):
    with open(path, encoding="utf-8") as f:
        lib.assert_no_secret(f.read(), secrets, path)
    lib.assert_no_secret(b.eval("document.documentElement.outerHTML"),
                         secrets, "DOM")


ROWS_JS = """Array.from(document.querySelectorAll('#ftb tr'))
  .filter(r => !r.hidden).map(r => ({
    sev: r.dataset.sev,
    loc: r.querySelector('td.path').textContent,
    href: (r.querySelector('td.path a') || {}).href || null,
    secret: r.querySelector('td.secret').textContent,
    head: r.cells[r.cells.length - 4].textContent}))"""


def rows(b):
    return b.eval(ROWS_JS)


def shots(b, name):
    for width, height in ((1280, 900), (390, 844)):
        b.size(width, height)
        b.screenshot(os.path.join(ARTIFACTS, "%s-summary-%d.png" % (name, width)),
                     full=False)
        b.eval("document.getElementById('findings').scrollIntoView()")
        b.screenshot(os.path.join(ARTIFACTS, "%s-table-%d.png" % (name, width)),
                     full=False)
        b.eval("window.scrollTo(0, 0)")


@test
def history_page_matches_the_json_report():
    with lib.TempDir() as d:
        repo = project(d)
        rep, out = report_pair(["history", repo, "--all"], d)
        keys = keys_of(rep)
        assert_eq(len(keys), 3, "keys in JSON")
        with browser.Browser() as b:
            b.open(out)
            check_clean_page(b, out)
            got = rows(b)
            assert_eq(len(got), len(keys), "rows")
            want = {}
            for f in keys:
                p = f["provenance"]
                path = f["path"].replace(" ", "%20")
                want["%s:%d" % (f["path"], f["line"])] = (
                    f["severity"], f["secret_redacted"],
                    "https://github.com/acme/widgets/blob/%s/%s#L%d"
                    % (p["commit"], path, f["line"]),
                    "yes" if p["in_head"] else "no")
            assert_eq({r["loc"]: (r["sev"], r["secret"], r["href"], r["head"])
                       for r in got}, want, "rows against JSON")
            # worst first
            order = ["critical", "high", "medium", "low"]
            sevs = [order.index(r["sev"]) for r in got]
            assert_eq(sevs, sorted(sevs), "severity order")
            cards = b.eval("Object.fromEntries(Array.from(document.querySelectorAll"
                           "('.card')).map(c => [c.classList[1], +c.querySelector"
                           "('b').textContent]))")
            assert_eq((cards["total"], cards["head"], cards["hist"]),
                      (3, sum(f["provenance"]["in_head"] for f in keys),
                       sum(not f["provenance"]["in_head"] for f in keys)),
                      "summary cards")
            policy = b.eval("document.querySelectorAll('#policy tbody tr').length")
            assert_eq(policy, len(rep["findings"]) - len(keys), "policy rows")
            assert_eq(b.eval("document.querySelectorAll('svg.timeline rect').length > 0"),
                      True, "timeline drawn")
            header = b.eval("document.querySelector('dl.meta').textContent")
            assert "acme/widgets" in header and rep["tool"]["version"] in header, header
            no_secret_in(b, out, SECRETS)
            shots(b, "history")
            # printing: no controls, every row, and a PDF comes out
            b.call("Emulation.setEmulatedMedia", {"media": "print"})
            assert_eq(b.eval("getComputedStyle(document.getElementById("
                             "'controls')).display"), "none", "controls printed")
            pdf = b.call("Page.printToPDF", {"printBackground": True})["data"]
            assert len(pdf) > 1000, "no PDF"


@test
def filters_search_and_sorting_work():
    with lib.TempDir() as d:
        repo = project(d)
        rep, out = report_pair(["audit", repo], d)
        keys = keys_of(rep)
        with browser.Browser() as b:
            b.open(out)

            def choose(key, value):
                b.eval("(() => { const s = document.querySelector("
                       "'[data-filter=\"%s\"]'); s.value = '%s'; s.dispatchEvent("
                       "new Event('change', {bubbles: true})); })()" % (key, value))

            choose("sev", "critical")
            assert_eq(len(rows(b)), sum(f["severity"] == "critical" for f in keys),
                      "critical only")
            choose("sev", "")
            choose("h", "0")
            assert_eq([r["loc"] for r in rows(b)],
                      ["%s:%d" % (f["path"], f["line"]) for f in keys
                       if not f["provenance"]["in_head"]], "history only")
            choose("h", "")
            providers = b.eval("Array.from(document.querySelector('[data-filter=\"p\"]')"
                               ".options).map(o => [o.value, o.textContent])")
            hf = [v for v, t in providers if t == "Hugging Face"][0]
            choose("p", hf)
            assert_eq([r["loc"] for r in rows(b)], ["app/settings.py:1"], "provider")
            choose("p", "")
            b.eval("(() => { const q = document.getElementById('q'); q.value = 'CONFIG.PY';"
                   " q.dispatchEvent(new Event('input')); })()")
            time.sleep(0.5)
            assert_eq([r["loc"] for r in rows(b)], ["src/config.py:1"], "search")
            assert_eq(b.eval("document.getElementById('shown').textContent"),
                      "1 of %d shown" % len(keys), "count")
            b.eval("(() => { const q = document.getElementById('q'); q.value = '';"
                   " q.dispatchEvent(new Event('input')); })()")
            time.sleep(0.5)
            click = ("Array.from(document.querySelectorAll('#ft th')).find(t => "
                     "t.textContent.startsWith('%s')).click()")
            b.eval(click % "Location")
            locs = [r["loc"] for r in rows(b)]
            assert_eq(locs, sorted(locs, key=str.lower), "sorted by location")
            b.eval(click % "Location")
            assert_eq([r["loc"] for r in rows(b)], sorted(locs, key=str.lower,
                                                          reverse=True), "reversed")
            b.eval(click % "Days")
            days = b.eval("Array.from(document.querySelectorAll('#ftb tr')).map("
                          "r => +r.cells[8].dataset.k)")
            assert_eq(days, sorted(days, reverse=True), "days, longest first")
            check_clean_page(b, out)


HOSTILE = ['<script>window.__pwned=1</script>',
           '"><img src=x onerror="window.__pwned=2;alert(2)">',
           "'><svg onload=alert(3)>"]


@test
def hostile_repository_text_runs_no_script():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        git(repo, "remote", "add", "origin",
            'https://github.com/acme/x"><script>alert(4)</script>.git')
        for i, bad in enumerate(HOSTILE):
            name = bad.replace("/", "_")
            lib.commit_file(repo, "d%d/%s.py" % (i, name), 'K = "%s"\n'
                            % key("anthropic-api-key", 50 + i), bad,
                            env={"GIT_AUTHOR_NAME": bad,
                                 "GIT_AUTHOR_EMAIL": "a@b.c"})
        rules = os.path.join(d, "rules.json")
        lib.write(rules, json.dumps({"provider": HOSTILE[1], "rules": [{
            "id": "custom-evil", "name": HOSTILE[0], "severity": "high",
            "regex": "evil_[a-z0-9]{24}", "keywords": ["evil_"],
            "description": "d", "remediation": "see javascript:alert(5) or "
            "https://x.invalid/\"onmouseover=alert(6)"}]}))
        lib.commit_file(repo, "e.txt", "evil_%s\n" % "k3j9x0m2p7q5w8r1t4y6u2i0", "evil")
        rep, out = report_pair(["audit", repo, "--rules", rules], d)
        assert_eq(len(keys_of(rep)), 4, "keys")
        with open(out, encoding="utf-8") as f:
            page = f.read()
        assert_eq(page.count("<script"), 1, "one script element")
        assert "onerror=" not in page.replace("onerror=&quot;", ""), "raw onerror"
        for href in re.findall(r'href="([^"]*)"', page):
            href = html.unescape(href)
            assert href.startswith("https://") or href.startswith("#"), href
            assert '"' not in href and "<" not in href, href
        with browser.Browser() as b:
            b.open(out)
            b.eval("document.querySelectorAll('#ft th')[3].click()")
            b.eval("(() => { const q = document.getElementById('q'); q.value = 'svg';"
                   " q.dispatchEvent(new Event('input')); })()")
            time.sleep(0.5)
            assert_eq(b.eval("typeof window.__pwned"), "undefined", "sentinel")
            assert_eq(b.eval("document.querySelectorAll('img, iframe, object, embed,"
                             " #ftb svg').length"), 0, "injected elements")
            check_clean_page(b, out)
            # git itself drops < and > from names; what it kept is text
            for cls, field in (("who", "author_name"), ("msg", "summary")):
                got = b.eval("Array.from(document.querySelectorAll('#ftb .%s'))"
                             ".map(e => e.textContent)" % cls)
                assert_eq(sorted(got), sorted(f["provenance"][field]
                                              for f in keys_of(rep)), field)
            assert_eq(set(HOSTILE) <= set(b.eval(
                "Array.from(document.querySelectorAll('#ftb .msg'))"
                ".map(e => e.textContent)")), True, "messages shown as text")


@test
def show_secrets_never_reaches_the_page():
    with lib.TempDir() as d:
        repo = project(d, remote=None)
        out = os.path.join(d, "s.html")
        p = lib.run(["scan", repo, "--show-secrets", "--format", "html", "-o", out])
        assert_eq(p.returncode, 1, "exit")
        with open(out, encoding="utf-8") as f:
            page = f.read()
        lib.assert_no_secret(page, SECRETS, "scan --show-secrets html")
        code, rep = lib.run_json(["scan", repo])
        with browser.Browser() as b:
            b.open(out)
            got = rows(b)
            assert_eq(sorted(r["loc"] for r in got),
                      sorted("%s:%d" % (f["path"], f["line"])
                             for f in keys_of(rep)), "work-tree rows")
            assert_eq({r["href"] for r in got}, {None}, "no remote, no links")
            assert_eq({r["head"] for r in got}, {"work tree"}, "work tree")
            check_clean_page(b, out)


@test
def shallow_history_shows_the_banner():
    with lib.TempDir() as d:
        repo = project(d)
        clone = os.path.join(d, "shallow")
        git(d, "clone", "-q", "--depth", "2", "file://" + repo, clone)
        rep, out = report_pair(["history", clone], d)
        assert rep["shallow"], "JSON says shallow"
        with browser.Browser() as b:
            b.open(out)
            banner = b.eval("(document.getElementById('incomplete') || {})"
                            ".textContent || ''")
            assert "shallow" in banner, banner
            check_clean_page(b, out)
        _, out = report_pair(["history", repo], d, "whole")
        with open(out, encoding="utf-8") as f:
            assert 'id="incomplete"' not in f.read(), "banner on a whole scan"


class FakeProvider:
    """Loopback HTTP server playing Groq for --verify: 200 with "data" for
    the live key, 401 for every other."""

    def __init__(self, live):
        self.live = live
        self.http = lib.LoopbackHTTP(self.answer)

    def answer(self, req):
        ok = req.headers.get("Authorization", "") == "Bearer " + self.live
        body = b'{"data": []}' if ok else b'{"error": "invalid"}'
        req.send_response(200 if ok else 401)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def __enter__(self):
        return self.http.__enter__().url

    def __exit__(self, *exc):
        self.http.__exit__(*exc)


@test
def verification_statuses_show_and_filter():
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        live, dead = key("groq-api-key", 30), key("groq-api-key", 31)
        lib.commit_file(repo, "a.py", 'G = "%s"\n' % live, "a")
        lib.commit_file(repo, "b.py", 'G = "%s"\n' % dead, "b")
        with FakeProvider(live) as url:
            env = {"KEYLEAK_VERIFY_BASE_URL": url}
            code, rep = lib.run_json(["history", repo, "--verify"], env=env)
            out = os.path.join(d, "v.html")
            lib.run(["history", repo, "--verify", "--format", "html", "-o", out],
                    env=env)
        jpath = os.path.join(d, "v.json")
        lib.write(jpath, json.dumps(rep))
        merged = os.path.join(d, "m.html")
        lib.run(["merge", jpath, "--format", "html", "-o", merged])
        want = {"%s:%d" % (f["path"], f["line"]): f["verification"]["status"]
                for f in keys_of(rep)}
        assert_eq(sorted(want.values()), ["live", "revoked"], "JSON statuses")
        for page in (out, merged):
            with browser.Browser() as b:
                b.open(page)
                check_clean_page(b, page)
                got = b.eval("Object.fromEntries(Array.from(document.querySelectorAll"
                             "('#ftb tr')).map(r => [r.querySelector('td.path')"
                             ".textContent, r.querySelector('td.v').textContent]))")
                assert_eq(got, want, "statuses in " + page)
                b.eval("(() => { const s = document.querySelector('[data-filter=\"v\"]');"
                       " s.value = 'live'; s.dispatchEvent(new Event('change',"
                       " {bubbles: true})); })()")
                assert_eq([r["loc"] for r in rows(b)], ["a.py:1"], "live only")
            with open(page, encoding="utf-8") as f:
                text = f.read()
            lib.assert_no_secret(text, [live, dead], page)
        with open(out, encoding="utf-8") as f:
            assert "--verify" in f.read(), "options in the header"


@test
def links_follow_the_hosting_platform():
    cases = [
        ("git@gitlab.com:grp/sub/proj.git", "https://gitlab.com/grp/sub/proj/-/blob/%s/%s#L1"),
        ("https://codeberg.org/o/p", "https://codeberg.org/o/p/src/commit/%s/%s#L1"),
        ("ssh://git@bitbucket.org/o/p.git", "https://bitbucket.org/o/p/src/%s/%s#lines-1"),
        ("https://tok:secret@github.com/o/p.git", "https://github.com/o/p/blob/%s/%s#L1"),
        ("http://github.com/o/p.git", None),
        ("https://git.example.net/o/p.git", None),
    ]
    with lib.TempDir() as d:
        for i, (remote, fmt) in enumerate(cases):
            repo = lib.new_repo(d, "r%d" % i)
            git(repo, "remote", "add", "origin", remote)
            head = lib.commit_file(repo, "a b/k.py", 'K = "%s"\n'
                                   % key("anthropic-api-key", 70 + i), "k")
            out = os.path.join(d, "r%d.html" % i)
            lib.run(["history", repo, "--format", "html", "-o", out])
            with open(out, encoding="utf-8") as f:
                page = f.read()
            links = re.findall(r'<td class="path"><a rel="noreferrer" href="([^"]*)"',
                               page)
            want = [fmt % (head, "a%20b/k.py")] if fmt else []
            assert_eq([html.unescape(x) for x in links], want, remote)
            assert "secret@" not in page and "tok:" not in page, "password shown"


@test
def repositories_table_for_audit_repos_and_merge():
    with lib.TempDir() as d:
        a = project(d, "a")
        b_ = lib.new_repo(d, "b")
        lib.commit_file(b_, "x.py", 'K = "%s"\n' % key("anthropic-api-key", 90), "x")
        c = lib.new_repo(d, "clean")
        lib.commit_file(c, "README", "hi\n", "init")
        lst = os.path.join(d, "repos.txt")
        missing = os.path.join(d, "gone")
        lib.write(lst, "\n".join([a, b_, c, missing]) + "\n")
        mirrors = ["--mirror-dir", os.path.join(d, "m"), "-q"]
        code, rep = lib.run_json(["audit", "--repos", lst] + mirrors)
        out = os.path.join(d, "org.html")
        p = lib.run(["audit", "--repos", lst, "--format", "html", "-o", out] + mirrors)
        assert_eq(p.returncode, code, "exit")
        jl = os.path.join(d, "org.jsonl")
        lib.run(["audit", "--repos", lst, "--format", "jsonl", "-o", jl] + mirrors)
        merged = os.path.join(d, "merged.html")
        lib.run(["merge", jl, "--format", "html", "-o", merged])
        for page in (out, merged):
            with browser.Browser() as b:
                b.open(page)
                check_clean_page(b, page)
                repos = b.eval("Array.from(document.querySelectorAll('table.repos "
                               "tbody tr')).map(r => [r.cells[0].firstChild.textContent,"
                               " r.cells[1].textContent, r.cells[2].textContent,"
                               " r.cells[3].textContent])")
                want = sorted([[r["repository"], r["status"], str(r["findings"]),
                                ""] for r in rep["repositories"]])
                assert_eq(sorted([x[:3] + [""] for x in repos]), want, "repositories")
                got = rows(b)
                assert_eq(len(got), len(keys_of(rep)), "rows")
                # repository a's remote is on GitHub (through the JSON Lines
                # summary line's remote, for merge), b has none
                assert_eq(sorted(bool(r["href"]) and r["href"].startswith(
                    "https://github.com/acme/widgets/blob/") for r in got),
                    [False, True, True, True], "links per repository")
                banner = b.eval("(document.getElementById('incomplete') || {})"
                                ".textContent || ''")
                assert missing in banner, banner
                b.eval("document.querySelector('a[data-repo]').click()")
                first = b.eval("document.querySelector('a[data-repo]').dataset.repo")
                shown = b.eval("Array.from(document.querySelectorAll('#ftb tr'))"
                               ".filter(r => !r.hidden).map(r => r.dataset.r)")
                assert shown and set(shown) == {first}, shown
                no_secret_in(b, page, SECRETS)
                if page == out:
                    shots(b, "org")


@test
def ten_thousand_findings_stay_fast():
    n = 10000
    with lib.TempDir() as d:
        repo = lib.new_repo(d)
        git(repo, "remote", "add", "origin", "https://github.com/acme/big.git")
        rules = ["anthropic-api-key", "openai-project-key", "huggingface-access-token",
                 "groq-api-key"]
        for part in range(10):
            lines = ['K%d = "%s"' % (i, lib.make_key(rules[i % 4], 1000 + part * n + i))
                     for i in range(n // 10)]
            lib.write(os.path.join(repo, "cfg/part%02d.py" % part),
                      "\n".join(lines) + "\n")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "many keys")
        out = os.path.join(d, "big.html")
        t0 = time.time()
        p = lib.run(["history", repo, "--format", "html", "-o", out])
        render = time.time() - t0
        assert_eq(p.returncode, 1, "exit")
        size = os.path.getsize(out)
        with browser.Browser(timeout=180) as b:
            load = b.open(out)
            count = b.eval("document.querySelectorAll('#ftb tr').length")
            assert_eq(count, n, "rows")
            timing = b.eval("""(async () => {
              const frame = () => new Promise(r => requestAnimationFrame(() => r()));
              const t = {};
              const s = document.querySelector('[data-filter="p"]');
              let t0 = performance.now();
              s.value = s.options[1].value;
              s.dispatchEvent(new Event('change', {bubbles: true}));
              document.body.offsetHeight; await frame();
              t.filter = performance.now() - t0;
              t.shown = document.getElementById('shown').textContent;
              s.value = ''; s.dispatchEvent(new Event('change', {bubbles: true}));
              const q = document.getElementById('q');
              t0 = performance.now();
              q.value = 'part07'; q.dispatchEvent(new Event('input'));
              await new Promise(r => setTimeout(r, 200));
              document.body.offsetHeight; await frame();
              t.search = performance.now() - t0 - 120;
              t.found = document.getElementById('shown').textContent;
              q.value = ''; q.dispatchEvent(new Event('input'));
              await new Promise(r => setTimeout(r, 200));
              t0 = performance.now();
              Array.from(document.querySelectorAll('#ft th')).find(x =>
                x.textContent.startsWith('Location')).click();
              document.body.offsetHeight; await frame();
              t.sort = performance.now() - t0;
              const nav = performance.getEntriesByType('navigation')[0];
              t.dcl = nav.domContentLoadedEventEnd; t.load = nav.loadEventEnd;
              return t; })()""")
            check_clean_page(b, out)
        assert_eq(timing["found"], "%d of %d shown" % (n // 10, n), "search")
        figures = ("html 10k: %d findings, %.1f MB, keyleak %.2f s (history scan "
                   "and render), browser load %.2f s (DOMContentLoaded %.0f ms, "
                   "load %.0f ms), filter %.0f ms, search %.0f ms, sort %.0f ms; "
                   "load average %.1f on %d cores"
                   % (n, size / 1e6, render, load, timing["dcl"], timing["load"],
                      timing["filter"], timing["search"], timing["sort"],
                      os.getloadavg()[0], os.cpu_count()))
        print("# " + figures)
        os.makedirs(ARTIFACTS, exist_ok=True)
        with open(os.path.join(ARTIFACTS, "html-10k.txt"), "w") as f:
            f.write(figures + "\n")
        # generous bounds: the machine running the tests may be loaded
        assert size < 40e6, figures
        assert timing["filter"] < 3000 and timing["sort"] < 5000, figures


if __name__ == "__main__":
    lib.main()
