#!/usr/bin/env python3
"""End-to-end tests of issue 20's credential families (the non-AI families
of gitleaks and Nosey Parker): every rule cited in rules/SOURCES.md's issue
20 section finds a generated key (checksums and structures computed here)
committed to a real repository in .env, YAML, JSON, Python and JS files,
with its own rule id; each rule's negative examples and the usual bait
stay silent; a Google service account key file is one critical finding;
JSON Web Tokens are decoded (a Supabase service_role key is critical, an
anon key, an expired token or an unsigned one is nothing); doc/providers.md
names every provider."""
import base64
import collections
import hashlib
import hmac
import json
import os
import random
import re
import sys
import time

import lib
from lib import assert_eq, test

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "corpus"))
import make_corpus  # noqa: E402

RNG = random.Random("keyleak-issue-20")


def family_rules():
    """Rule ids of SOURCES.md's issue 20 table."""
    with open(os.path.join(lib.ROOT, "rules", "SOURCES.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("## Credential families (issue 20)", 1)[1].split("\n### ", 1)[0]
    ids = [i for i in re.findall(r"(?m)^\| ([a-z0-9-]+) \| ", section) if i != "id"]
    assert len(ids) > 150, len(ids)
    return ids


RULES = family_rules()

# The line forms a key is committed in: (file name, text for VAR and key).
FORMS = {
    ".env": lambda v, k: "%s=%s\n" % (v, k),
    "config.yaml": lambda v, k: "service:\n  %s: \"%s\"\n" % (v.lower(), k),
    "settings.json": lambda v, k: '{\n  "%s": "%s"\n}\n' % (v, k),
    "settings.py": lambda v, k: 'import os\n\n%s = "%s"\n' % (v, k),
    "client.js": lambda v, k: "const %s = '%s';\nmodule.exports = { %s };\n" % (v, k, v),
}

# Rules whose secret needs its file around it: (file name, example index).
OWN_FILE = {
    "google-service-account-key": ("sa-key.json", 1),
    "netrc-password": (".netrc", 1),
    "wireguard-private-key": ("wg0.conf", 1),
}
# Rules whose secret is part of a one-line connection string or URL: the
# first example is the value planted in each form.
WHOLE_EXAMPLE = {"azure-storage-account-key", "azure-shared-access-key", "azure-sas-token",
                 "azure-app-configuration-connection-string", "microsoft-teams-webhook-url",
                 "sidekiq-enterprise-credentials"}


def seg(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


def jwt(payload, alg="HS256", sig=None):
    """A JSON Web Token built here: header and payload encoded by this test."""
    sig = sig if sig is not None else lib.expand("{43:b64url}", RNG)
    return "%s.%s.%s" % (seg({"alg": alg, "typ": "JWT"}), seg(payload), sig)


def demo_signed(payload):
    """An HS256 token signed with the secret jwt.io's sample uses."""
    head = "%s.%s" % (seg({"alg": "HS256", "typ": "JWT"}), seg(payload))
    mac = hmac.new(b"a-string-secret-at-least-256-bits-long", head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(mac).decode().rstrip("=")


def supabase(role, exp=None):
    ref = lib.expand("{20:lower}", RNG)
    return jwt({"iss": "supabase", "ref": ref, "role": role, "iat": int(time.time()) - 86400,
                "exp": exp if exp is not None else int(time.time()) + 10 * 365 * 86400})


def key_for(rule):
    """(variable, value, secret) for a rule: a fresh key of its shape."""
    if rule == "supabase-service-role-key":
        k = supabase("service_role")
        return "SUPABASE_SERVICE_ROLE_KEY", k, k
    if rule == "jwt":
        k = jwt({"sub": lib.expand("svc-{6:lower}", RNG), "exp": int(time.time()) + 86400 * 400},
                alg="RS256", sig=lib.expand("{342:b64url}", RNG))
        return "SERVICE_JWT", k, k
    if rule in WHOLE_EXAMPLE:
        text = lib.complete(rule, lib.expand(lib.RULES[rule]["examples"][0], RNG))
        return "CONNECTION", text, None
    keys = make_corpus.Keys("issue-20/%s" % rule)
    return make_corpus._var_name(rule), keys.make(rule), None


def plant(repo):
    """Commit every family's key in every form; returns {(path, rule): secret}."""
    want = {}
    for rule in RULES:
        if rule in OWN_FILE:
            name, i = OWN_FILE[rule]
            text = lib.complete(rule, lib.expand(lib.RULES[rule]["examples"][i], RNG))
            path = "own/%s/%s" % (rule, name)
            lib.write(os.path.join(repo, path), text)
            want[(path, rule)] = None
            continue
        for name, form in FORMS.items():
            var, value, secret = key_for(rule)
            path = "keys/%s/%s" % (rule, name)
            lib.write(os.path.join(repo, path), form(var, value))
            want[(path, rule)] = secret or (value if rule not in WHOLE_EXAMPLE else None)
    lib.git(repo, "add", "-A")
    lib.git(repo, "commit", "-qm", "credentials")
    return want


def findings(repo, *args):
    code, rep = lib.run_json(["scan", repo, "--no-repo-config", "--show-secrets"] + list(args))
    return code, [f for f in rep["findings"] if f["kind"] == "key"]


@test
def every_family_is_found_in_every_form():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        want = plant(repo)
        code, found = findings(repo)
        assert_eq(code, 1, "exit code")
        got = collections.defaultdict(list)
        for f in found:
            got[(f["path"], f["rule_id"])].append(f)
        missing = [k for k in want if k not in got]
        assert_eq(missing, [], "families not found")
        extra = sorted({(f["path"], f["rule_id"]) for f in found} - set(want))
        assert_eq(extra, [], "findings of another rule")
        for (path, rule), secret in want.items():
            assert_eq(len(got[(path, rule)]), 1, "one finding in %s" % path)
            if secret is not None and rule not in ("jwt",):
                assert_eq(got[(path, rule)][0]["secret"], secret, path)
        # the same in history, where the keys were committed
        code, rep = lib.run_json(["history", repo, "--no-repo-config"])
        assert_eq(code, 1, "history exit code")
        hist = {(f["path"], f["rule_id"]) for f in rep["findings"] if f["kind"] == "key"}
        assert_eq(sorted(set(want) - hist), [], "history misses")


@test
def negative_examples_and_bait_stay_silent():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        for rule in RULES:
            negs = [lib.expand(n, RNG) for n in lib.RULES[rule]["negative_examples"]]
            lib.write(os.path.join(repo, "bait", rule + ".txt"), "\n\n".join(negs) + "\n")
        bait = [
            "GITLAB_RUNNER_TOKEN=glrt-xxxxxxxxxxxxxxxxxxxx", "SHOPIFY_TOKEN=shpat_<your_token>",
            "DIGITALOCEAN_TOKEN=dop_v1_" + "x" * 64, "VAULT_TOKEN=hvs.<your_token>",
            "AccountKey=<your_key>==", "sig=<your_signature>", "NOTION_TOKEN=ntn_xxxxxxxxxxx" + "x" * 35,
            "SUPABASE_ANON_KEY=" + supabase("anon"), "SUPABASE_KEY=" + supabase("authenticated"),
            "SUPABASE_SERVICE_ROLE_KEY=" + supabase("service_role", exp=int(time.time()) - 3600),
            "TOKEN=" + jwt({"sub": "x", "role": "service_role"}, alg="none"),
            "NOT_A_JWT=%s.%s.%s" % (seg({"alg": "HS256"}), "eyJ" + lib.expand("{40:b64url}", RNG),
                                     lib.expand("{43:b64url}", RNG)),
            "DATADOG_SITE=datadoghq.eu", "ZENDESK_SUBDOMAIN=acme", "OKTA_DOMAIN=dev-123.okta.com",
            "machine github.com login bot password <your_token>",
            '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n"}',
        ]
        lib.write(os.path.join(repo, "bait", "placeholders.env"), "\n".join(bait) + "\n")
        lib.git(repo, "add", "-A")
        lib.git(repo, "commit", "-qm", "bait")
        code, found = findings(repo)
        assert_eq([(f["path"], f["rule_id"]) for f in found], [], "bait reported")
        assert_eq(code, 0, "exit code")


def sa_key_file(rng_seed):
    rule = "google-service-account-key"
    rng = random.Random(rng_seed)
    return lib.complete(rule, lib.expand(lib.RULES[rule]["examples"][1], rng))


@test
def service_account_file_is_one_critical_finding():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        sa = sa_key_file("sa")
        # the same PEM block outside a service account file stays a private key
        plain = sa.replace('"type": "service_account"', '"type": "deploy_key"')
        lib.commit_file(repo, "creds/sa.json", sa)
        lib.commit_file(repo, "creds/other.json", plain)
        code, found = findings(repo)
        assert_eq(code, 1, "exit code")
        by_path = collections.defaultdict(list)
        for f in found:
            by_path[f["path"]].append((f["rule_id"], f["severity"]))
        assert_eq(by_path["creds/sa.json"], [("google-service-account-key", "critical")], "sa.json")
        assert_eq([r for r, _ in by_path["creds/other.json"]], ["private-key"], "other.json")
        # a key body that is not DER is not a key, in a service account file too
        broken = re.sub(r"(PRIVATE KEY-----\\n)(.)", lambda m: m.group(1) + ("B" if m.group(2) != "B" else "C"), sa, 1)
        lib.commit_file(repo, "creds/sa.json", broken)
        code, found = findings(repo)
        assert_eq([f["path"] for f in found], ["creds/other.json"], "broken DER")


@test
def jwt_claims_decide_the_rule():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        cases = {
            "service.env": ("SUPABASE_SERVICE_ROLE_KEY=%s\n" % supabase("service_role"),
                            [("supabase-service-role-key", "critical")]),
            "anon.env": ("NEXT_PUBLIC_SUPABASE_ANON_KEY=%s\n" % supabase("anon"), []),
            "old.env": ("SUPABASE_SERVICE_ROLE_KEY=%s\n" % supabase("service_role", exp=1600000000), []),
            "api.py": ('TOKEN = "%s"\n' % jwt({"sub": "svc", "scope": "admin"}), [("jwt", "medium")]),
            "doc.md": ("    encoded = %s\n" % jwt({"some": "payload"}), []),
            "none.js": ("const t = '%s';\n" % jwt({"sub": "svc"}, alg="none"), []),
            # signed with jwt.io's published sample secret: a sample
            "sample.md": ("    %s\n" % demo_signed({"sub": lib.expand("{10:digit}", RNG), "admin": True}),
                          []),
            # a hand-typed signature, far too short for RS256
            "short.go": ('input := "%s"\n' % jwt({"sub": "u1", "exp": int(time.time()) + 86400},
                                                 alg="RS256", sig=lib.expand("{46:b64url}", RNG)), []),
            # exp written as a string of digits, long past
            "dex.json": ('{"access_token": "%s"}\n' % jwt({"sub": "svc", "exp": "1594600182"}), []),
        }
        for path, (text, _) in cases.items():
            lib.write(os.path.join(repo, path), text)
        lib.git(repo, "add", "-A")
        lib.git(repo, "commit", "-qm", "tokens")
        _, found = findings(repo)
        got = collections.defaultdict(list)
        for f in found:
            got[f["path"]].append((f["rule_id"], f["severity"]))
        for path, (_, want) in cases.items():
            assert_eq(got.get(path, []), want, path)


@test
def providers_doc_names_every_provider():
    section = lib.provider_cells()
    providers = set()
    for path in os.listdir(os.path.join(lib.ROOT, "rules")):
        if path.endswith(".json"):
            with open(os.path.join(lib.ROOT, "rules", path), encoding="utf-8") as f:
                providers.add(json.load(f)["provider"])
    missing = sorted(p for p in providers if p not in section)
    assert_eq(missing, [], "providers missing from doc/providers.md")
    p = lib.run(["rules"])
    out = p.stdout.decode()
    for prov in ("Microsoft Azure", "Google Cloud", "HashiCorp", "JSON Web Tokens", "netrc"):
        assert re.search(r"(?m)^%s \(" % re.escape(prov), out), prov


@test
def claims_are_rule_data_for_any_provider():
    # a user's rule file: the same check, other claims (no provider code)
    rule = {"id": "acme-admin-jwt", "name": "Acme admin token", "description": "d",
            "severity": "high", "remediation": "r", "check": "jwt",
            "claims": ["iss=acme", "scope=admin"],
            "regex": r"(eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,})",
            "secret_group": 1, "keywords": ["eyJ"], "examples": ["x"], "negative_examples": []}
    with lib.TempDir() as base:
        path = os.path.join(base, "acme.json")
        lib.write(path, json.dumps({"provider": "Acme", "rules": [rule]}))
        admin = jwt({"iss": "acme", "scope": "admin"})
        user = jwt({"iss": "acme", "scope": "read"})
        lib.write(os.path.join(base, "t.txt"), "a = %s\nb = %s\n" % (admin, user))
        code, rep = lib.run_json(["scan", os.path.join(base, "t.txt"), "--only-rules", path])
        assert_eq((code, [f["line"] for f in rep["findings"]]), (1, [1]), "only the admin token")
        for bad, why in ((["scope"], "is not name=value or name!=value"),
                         (["=x"], "is not name=value or name!=value")):
            lib.write(path, json.dumps({"provider": "Acme", "rules": [dict(rule, claims=bad)]}))
            p = lib.run(["scan", os.path.join(base, "t.txt"), "--only-rules", path])
            assert_eq(p.returncode, 2, "exit for claims %r" % bad)
            assert why in p.stderr.decode(), p.stderr
        lib.write(path, json.dumps({"provider": "Acme", "rules": [dict(rule, check=None)]}))
        p = lib.run(["scan", os.path.join(base, "t.txt"), "--only-rules", path])
        assert_eq(p.returncode, 2, "claims without the jwt check")


if __name__ == "__main__":
    lib.main()
