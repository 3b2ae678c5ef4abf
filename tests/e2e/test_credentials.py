#!/usr/bin/env python3
"""The credentials beside AI keys: checksums, private key blocks, pairs.

Drives the real ./keyleak over generated files and repositories: GitHub and
npm tokens are reported only when their CRC32-base62 checksum (computed
here, in lib.py) is right; a private key block is one finding from its
BEGIN to its END line, an encrypted one is medium; an AWS key id and its
secret in one file are one finding; a Twilio SID is reported only with its
secret; connection strings with placeholder passwords are not reported;
`keyleak rules` groups by provider; a structure check is rule data that a
user's rule file can name too.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402


def scan_text(base, name, text, *args):
    path = os.path.join(base, name)
    lib.write(path, text)
    return lib.run_json(["scan", path, "--no-repo-config"] + list(args))


def rule_ids(report):
    return sorted(f["rule_id"] for f in report["findings"])


def wrong_checksum(token):
    """The same token with its last checksum digit changed."""
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


@lib.test
def checksum_tokens_are_verified():
    rules = [r for r in lib.key_rule_ids() if lib.RULES[r].get("check") == "crc32-base62"]
    assert len(rules) >= 4, rules
    with lib.TempDir() as base:
        for n, rule in enumerate(rules):
            good = lib.make_key(rule, seed=n)
            assert lib.crc32_base62(good[-36:-6]) == good[-6:], good[:4]
            code, rep = scan_text(base, "good-%d.env" % n, "TOKEN=%s\n" % good)
            lib.assert_eq((code, rule_ids(rep)), (1, [rule]), rule + " valid checksum")
            code, rep = scan_text(base, "bad-%d.env" % n, "TOKEN=%s\n" % wrong_checksum(good))
            lib.assert_eq((code, rep["findings"]), (0, []), rule + " wrong checksum")


@lib.test
def private_key_block_is_one_finding_spanning_it():
    with lib.TempDir() as base:
        key = lib.make_key("private-key", seed=5)
        text = "# deploy\n" + key + "trailer\n"
        code, rep = scan_text(base, "id_rsa", text, "--show-secrets")
        lib.assert_eq((code, rule_ids(rep)), (1, ["private-key"]), "found")
        f = rep["findings"][0]
        lib.assert_eq((f["line"], f["end_line"], f["severity"]),
                      (2, 1 + key.count("\n"), "critical"), "block lines, severity")
        lib.assert_eq(f["secret"], key.rstrip("\n"), "the secret is the block")
        assert len(f["secret_redacted"]) < 24, f["secret_redacted"]
        # SARIF carries the block's last line as the region's endLine
        p = lib.run(["scan", os.path.join(base, "id_rsa"), "--format", "sarif", "--no-repo-config"])
        region = json.loads(p.stdout)["runs"][0]["results"][0]["locations"][0][
            "physicalLocation"]["region"]
        lib.assert_eq((region["startLine"], region["endLine"]), (2, f["end_line"]), "SARIF region")


@lib.test
def encrypted_private_keys_are_medium():
    with lib.TempDir() as base:
        for i, ex in enumerate(lib.RULES["private-key-encrypted"]["examples"]):
            text = lib.complete("private-key-encrypted", lib.expand(ex, random.Random(i)))
            code, rep = scan_text(base, "enc-%d.pem" % i, text)
            lib.assert_eq((code, rule_ids(rep)), (1, ["private-key-encrypted"]), "example %d" % i)
            lib.assert_eq(rep["findings"][0]["severity"], "medium", "severity")


@lib.test
def public_keys_certificates_and_random_bodies_are_not_keys():
    rng = random.Random(3)
    bait = [lib.expand(n, rng) for n in lib.RULES["private-key"]["negative_examples"]]
    # a real private key's shape with one DER length byte off
    key = lib.make_key("private-key", seed=9)
    lines = key.split("\n")
    lines[1] = ("MIIB" if not lines[1].startswith("MIIB") else "MIIC") + lines[1][4:]
    bait.append("\n".join(lines))
    with lib.TempDir() as base:
        code, rep = scan_text(base, "bait.pem", "\n".join(bait) + "\n")
        lib.assert_eq((code, rep["findings"]), (0, []), "no findings in bait")


@lib.test
def aws_key_id_and_secret_are_one_finding():
    with lib.TempDir() as base:
        akid = lib.make_key("aws-access-key", seed=1)
        secret = lib.expand("{40:b64}", random.Random(8))
        text = "[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n" % (akid, secret)
        code, rep = scan_text(base, "credentials", text, "--show-secrets")
        lib.assert_eq((code, rule_ids(rep)), (1, ["aws-access-key"]), "one finding")
        f = rep["findings"][0]
        lib.assert_eq((f["line"], f["paired_line"], f["secret"]),
                      (2, 3, "%s:%s" % (akid, secret)), "the pair")
        assert "secret access key" in f["message"], f["message"]
        assert secret[-4:] in f["secret_redacted"] and secret[:-4] not in f["secret_redacted"]
        # a positional constructor: the partner is the 40-character string beside it
        code, rep = scan_text(base, "Main.java", 'new BasicAWSCredentials("%s",\n    "%s");\n'
                              % (akid, secret), "--show-secrets")
        lib.assert_eq((code, [f.get("paired_line") for f in rep["findings"]]), (1, [2]), "positional")
        # alone: the id on its own, the secret only in its context
        code, rep = scan_text(base, "id.txt", "key id %s\n" % akid)
        lib.assert_eq((rule_ids(rep), "paired_line" in rep["findings"][0]),
                      (["aws-access-key"], False), "id alone")
        code, rep = scan_text(base, "secret.env", "AWS_SECRET_ACCESS_KEY=%s\n" % secret)
        lib.assert_eq(rule_ids(rep), ["aws-secret-access-key"], "secret in context")
        code, rep = scan_text(base, "bare.txt", "%s\n" % secret)
        lib.assert_eq(rep["findings"], [], "a bare 40-character string")
        # AWS's documented placeholders
        docs = "aws_access_key_id = AKIA%s\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY%s\n" % (
            "IOSFODNN7" + "EXAMPLE", "EXAMPLE" + "KEY")
        code, rep = scan_text(base, "docs.ini", docs)
        lib.assert_eq((code, rep["findings"]), (0, []), "documented example pair")


@lib.test
def twilio_sid_is_reported_only_with_its_secret():
    with lib.TempDir() as base:
        rng = random.Random(4)
        sid = lib.expand("SK{32:hex}", rng)
        code, rep = scan_text(base, "a.env", "TWILIO_API_KEY=%s\n" % sid)
        lib.assert_eq((code, rep["findings"]), (0, []), "SID alone")
        code, rep = scan_text(base, "b.env", "TWILIO_API_KEY=%s\nTWILIO_API_SECRET=%s\n"
                              % (sid, lib.expand("{32}", rng)))
        lib.assert_eq((code, rule_ids(rep), rep["findings"][0]["paired_line"]),
                      (1, ["twilio-api-key"], 2), "SID with its secret")


def pairs_of(rep):
    """{line of each aws-access-key finding: its paired line or None}."""
    return {f["line"]: f.get("paired_line") for f in rep["findings"]
            if f["rule_id"] == "aws-access-key"}


@lib.test
def pairs_claim_only_a_partner_in_their_window():
    """Issue 26: a pair names a partner in the id's block (same line or up
    to 3 lines away, no blank line or section header between) that no
    other id is nearer to; otherwise the id stands alone."""
    rng = random.Random(26)
    ids = [lib.make_key("aws-access-key", seed=260 + i) for i in range(6)]
    secrets = [lib.expand("{40:b64}", rng) for _ in range(6)]
    filler = "".join("  - note %d\n" % i for i in range(12))
    with lib.TempDir() as base:
        # Nosey Parker's aws.yml shape: an id alone, far from a labelled
        # secret of another example, then an id whose secret uses a label
        # the secret rule does not accept, on the next line.
        text = ("examples:\n  - '%s'\n" % ids[0] + filler +
                "  - |\n      export AWS_SECRET_ACCESS_KEY=\"%s\"\n" % secrets[0] + filler +
                "  - |\n      AWS Access Key:%s\n      secret key:%s\n" % (ids[1], secrets[1]))
        code, rep = scan_text(base, "aws.yml", text)
        id0, id1 = 2, text.count("\n", 0, text.index(ids[1])) + 1
        lib.assert_eq(pairs_of(rep), {id0: None, id1: id1 + 1}, "far secret not claimed")
        lib.assert_eq(sorted(f["rule_id"] for f in rep["findings"]),
                      ["aws-access-key", "aws-access-key", "aws-secret-access-key"],
                      "the far labelled secret is its own finding")
        # two ids with one secret between them: the id written before it wins
        code, rep = scan_text(base, "shared.txt", "id: %s\nsecret: %s\nid: %s\n"
                              % (ids[2], secrets[2], ids[3]))
        lib.assert_eq(pairs_of(rep), {1: 2, 3: None}, "one secret, two ids")
        # interleaved examples: each id takes its own, never its neighbour's
        code, rep = scan_text(base, "interleaved.txt", "".join(
            "key_id = %s\nsecret = %s\n" % (ids[i], secrets[i]) for i in range(2, 5)))
        lib.assert_eq(pairs_of(rep), {1: 2, 3: 4, 5: 6}, "interleaved")
        # a profile header ends a block
        code, rep = scan_text(base, "credentials", "[a]\naws_access_key_id = %s\n[b]\n"
                              "aws_secret_access_key = %s\n" % (ids[5], secrets[5]))
        lib.assert_eq(pairs_of(rep), {2: None}, "no pair across a section header")
        # labels people use, beside the id
        labels = ["secret key: %s", '"SecretAccessKey": "%s"', "aws_secret = '%s'",
                  "secret_access_key = %s", "SECRET_ACCESS_KEY: %s"]
        for n, label in enumerate(labels):
            code, rep = scan_text(base, "label-%d.txt" % n, "id %s\n%s\n" % (ids[n], label % secrets[n]))
            lib.assert_eq(pairs_of(rep), {1: 2}, "label " + label)


@lib.test
def connection_strings_with_placeholders_are_not_reported():
    rule = lib.RULES["connection-string-password"]
    with lib.TempDir() as base:
        rng = random.Random(6)
        good = [lib.expand(e, rng) for e in rule["examples"]]
        code, rep = scan_text(base, "good.env", "\n".join(good) + "\n")
        lib.assert_eq((code, len(rep["findings"])), (1, len(good)), "one finding per URL")
        assert all(f["rule_id"] == "connection-string-password" for f in rep["findings"])
        bad = [lib.expand(e, rng) for e in rule["negative_examples"]]
        code, rep = scan_text(base, "bad.env", "\n".join(bad) + "\n")
        lib.assert_eq((code, rep["findings"]), (0, []), "placeholders")


@lib.test
def staged_and_history_see_blocks_and_pairs():
    with lib.TempDir() as base:
        repo = lib.new_repo(base)
        akid = lib.make_key("aws-access-key", seed=2)
        secret = lib.expand("{40:b64}", random.Random(2))
        lib.commit_file(repo, "README.md", "hello\n")
        lib.write(os.path.join(repo, ".aws/credentials"),
                  "[default]\naws_access_key_id=%s\naws_secret_access_key=%s\n" % (akid, secret))
        lib.write(os.path.join(repo, "deploy/key.pem"), lib.make_key("private-key", seed=3))
        lib.git(repo, "add", "-A")
        code, rep = lib.run_json(["staged", repo, "--no-repo-config"])
        lib.assert_eq((code, rule_ids(rep)), (1, ["aws-access-key", "private-key"]), "staged")
        lib.git(repo, "commit", "-q", "-m", "creds")
        code, rep = lib.run_json(["history", repo, "--no-repo-config"])
        lib.assert_eq((code, rule_ids(rep)), (1, ["aws-access-key", "private-key"]), "history")
        pem = [f for f in rep["findings"] if f["rule_id"] == "private-key"][0]
        assert pem["end_line"] > pem["line"], pem


@lib.test
def rules_are_listed_by_provider_with_their_checks():
    p = lib.run(["rules"])
    lib.assert_eq(p.returncode, 0, "exit")
    out = p.stdout.decode()
    groups, current = {}, None
    for line in out.splitlines():
        if line and not line.startswith(" ") and "(" in line and "rules from" not in line:
            current = line.rsplit(" (", 1)[0]
            groups[current] = []
        elif line.startswith("  "):
            groups[current].append(line.split()[0])
    providers = set()
    for path in sorted(os.listdir(os.path.join(lib.ROOT, "rules"))):
        if path.endswith(".json"):
            with open(os.path.join(lib.ROOT, "rules", path)) as f:
                data = json.load(f)
            ids = [r["id"] for r in data["rules"]]
            lib.assert_eq(groups.get(data["provider"]), ids, data["provider"])
            providers.add(data["provider"])
    gh = [l for l in out.splitlines() if l.strip().startswith("github-personal-access-token")][0]
    assert "crc32-base62" in gh, gh
    assert "pair" in [l for l in out.splitlines() if l.strip().startswith("aws-access-key")][0]
    named = lib.provider_cells()
    missing = sorted(p for p in providers if p not in named)
    lib.assert_eq(missing, [], "providers doc/providers.md's tables do not name")


def user_rules(base, rule):
    path = os.path.join(base, "acme.json")
    base_rule = {"id": "acme-token", "name": "Acme token", "description": "d",
                 "severity": "high", "remediation": "r", "regex": "(acme_[A-Za-z0-9]{36})",
                 "secret_group": 1, "keywords": ["acme_"], "examples": ["acme_{36}"],
                 "negative_examples": ["acme_{36}"]}
    base_rule.update(rule)
    lib.write(path, json.dumps({"provider": "Acme", "rules": [base_rule]}))
    return path


@lib.test
def a_checksummed_provider_is_a_rule_file():
    with lib.TempDir() as base:
        path = user_rules(base, {"check": "crc32-base62"})
        # rules --check completes the example's checksum; the negative
        # example, expanded alone, has a wrong one
        p = lib.run(["rules", "--check", path])
        lib.assert_eq(p.returncode, 0, "rules --check: %s" % p.stdout.decode())
        body = lib.expand("{30}", random.Random(1))
        good = "acme_%s%s" % (body, lib.crc32_base62(body))
        lib.write(os.path.join(base, "t.txt"), "%s\n%s\n" % (good, wrong_checksum(good)))
        code, rep = lib.run_json(["scan", os.path.join(base, "t.txt"), "--only-rules", path])
        lib.assert_eq((code, [f["line"] for f in rep["findings"]]), (1, [1]), "only the valid one")


@lib.test
def bad_check_and_pair_fields_are_refused():
    cases = [({"check": "luhn"}, "unknown check \"luhn\""),
             ({"pair": {"name": "x"}}, "needs \"rule\" or \"regex\""),
             ({"pair": {"name": "x", "regex": "(a"}}, "invalid pair regex"),
             ({"pair": {"name": "x", "rule": "y", "color": 1}}, "unknown field \"color\" in \"pair\""),
             ({"window": 1}, "\"window\" must be a number in range")]
    with lib.TempDir() as base:
        for fields, want in cases:
            path = user_rules(base, fields)
            p = lib.run(["scan", base, "--only-rules", path])
            err = p.stderr.decode()
            lib.assert_eq(p.returncode, 2, "exit for %r" % fields)
            assert "acme.json" in err and "acme-token" in err and want in err, err


@lib.test
def hostile_blocks_and_long_lines_stay_linear():
    """Each of these took minutes when every candidate rescanned what the
    previous one had (a lazy PEM body, columns counted from the start of a
    minified line, pairs searched through a whole line); a run killed by
    the timeout is a failure."""
    with lib.TempDir() as base:
        begins = os.path.join(base, "begins.txt")
        lib.write(begins, "-----BEGIN PRIVATE KEY-----\n" * 200000)
        p = lib.run(["scan", begins, "--no-repo-config", "-q"], timeout=120)
        lib.assert_eq(p.returncode, 0, "BEGIN lines without a body")
        rng = random.Random(12)
        ids = [lib.expand("AKIA{16:upper}", rng) for _ in range(50000)]
        line = os.path.join(base, "min.js")
        lib.write(line, " ".join(ids) + "\n")
        code, rep = lib.run_json(["scan", line, "--no-repo-config"], timeout=120)
        lib.assert_eq((code, len(rep["findings"])), (1, len(ids)), "every id on one line")
        last = max(rep["findings"], key=lambda f: f["column"])
        lib.assert_eq(last["column"], 1 + 21 * (len(ids) - 1), "column of the last id")
        lib.write(line, " ".join(ids) + " // keyleak:allow\n")
        code, rep = lib.run_json(["scan", line, "--no-repo-config"], timeout=120)
        lib.assert_eq((code, rep["summary"]["suppressed"]), (0, len(ids)), "one allow, whole line")


if __name__ == "__main__":
    lib.main()
