"""End-to-end tests of the decoding and archive stages: keys base64-, hex-,
percent- or escape-encoded, and inside archives and compressed files, found
by default in scan, staged, history, audit and pre-receive; bait that must
stay quiet; hostile inputs that must stay bounded. Archives are made here
with Python's zipfile/tarfile/gzip/bz2/lzma (zstd and 7z with Debian's
tools when installed)."""
import base64
import binascii
import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import random
import shutil
import subprocess
import tarfile
import time
import zipfile
import zlib

import lib
from lib import assert_eq, git, test

RULE = "anthropic-api-key"


def key(seed=1, rule=RULE):
    return lib.make_key(rule, seed)


def b64(s, alt=False, pad=True):
    raw = s.encode() if isinstance(s, str) else s
    out = (base64.urlsafe_b64encode(raw) if alt else base64.b64encode(raw)).decode()
    return out if pad else out.rstrip("=")


def escapes_u(s):
    return "".join("\\u%04x" % ord(c) for c in s)


def escapes_x(s):
    return "".join("\\x%02x" % ord(c) for c in s)


def hex32_key(seed):
    rng = random.Random("hex32/%d" % seed)
    return "sk-" + "".join(rng.choice("0123456789abcdef") for _ in range(32))


def findings(rep, rule=None):
    return [f for f in rep["findings"] if rule is None or f["rule_id"] == rule]


def scan_dir(files, *extra):
    """Write files (name -> str or bytes) into a fresh dir; scan it."""
    with lib.TempDir() as d:
        for name, content in files.items():
            lib.write(os.path.join(d, name), content,
                      "wb" if isinstance(content, bytes) else "w")
        return lib.run_json(["scan", d] + list(extra))


def zip_bytes(members, compression=zipfile.ZIP_DEFLATED):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return bio.getvalue()


def tar_bytes(members, mode="w"):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode=mode) as t:
        for name, data in members.items():
            raw = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(raw)
            t.addfile(info, io.BytesIO(raw))
    return bio.getvalue()


# ------------------------------------------------------------ encodings


@test
def every_encoding_is_found_with_its_span_and_chain():
    k = key(1)
    line = 'ANTHROPIC = "%s"' % k
    files = {
        "std.txt": "x: 1\nvalue: %s\n" % b64(line),
        "url.txt": "token=%s\n" % b64(line + "??>>", alt=True, pad=False),
        "hex.txt": "blob = %s\n" % line.encode().hex(),
        "pct.txt": "u = https://h/?q=%s\n" % "".join(
            "%%%02X" % c for c in line.encode()),
        "uesc.js": 'var a = "%s";\n' % escapes_u(k),
        "xesc.py": 'a = "%s"\n' % escapes_x(k),
        "nested.txt": "n: %s\n" % b64(b64(line)),
    }
    rc, rep = scan_dir(files)
    assert_eq(rc, 1, "exit")
    got = {f["path"]: (f["decoded"], f["line"], f["column"])
           for f in findings(rep, RULE)}
    assert_eq(got, {
        "std.txt": (["base64"], 2, 8),
        "url.txt": (["base64"], 1, 7),
        "hex.txt": (["hex"], 1, 8),
        "pct.txt": (["percent"], 1, 5),
        "uesc.js": (["escape"], 1, 10),
        "xesc.py": (["escape"], 1, 6),
        "nested.txt": (["base64", "base64"], 1, 4),
    }, "decoded findings")
    for f in findings(rep):
        assert f["member"] is None, f
        assert k not in json.dumps(rep), "no full secret in the report"


@test
def wrapped_base64_over_lines():
    env = "".join("VAR_%d=some ordinary value number %d\n" % (i, i)
                  for i in range(8)) + "ANTHROPIC_API_KEY=%s\n" % key(2)
    wrapped = base64.encodebytes(env.encode()).decode()  # 76 columns
    assert wrapped.count("\n") > 3
    rc, rep = scan_dir({"ci/env.b64": "ENV_B64: |\n" + "".join(
        "  " + l + "\n" for l in wrapped.splitlines())})
    assert_eq([(f["path"], f["line"], f["decoded"]) for f in findings(rep)],
              [("ci/env.b64", 2, ["base64"])], "wrapped run")


@test
def fingerprint_and_redaction_match_the_plain_form():
    k = key(3)
    _, plain = scan_dir({"a.txt": 'K = "%s"\n' % k})
    _, enc = scan_dir({"a.txt": "K: %s\n" % b64(k)})
    p, e = plain["findings"][0], enc["findings"][0]
    assert_eq(e["fingerprint"], p["fingerprint"], "fingerprint")
    assert_eq(e["secret_redacted"], p["secret_redacted"], "redaction")


@test
def a_key_matched_percent_encoded_is_one_finding():
    # the SAS rule matches the signature as written (%2B, %2F, %3D); the
    # percent-decoded view must not report it a second time
    rng = random.Random("sas/1")
    sig = base64.b64encode(bytes(rng.randrange(256) for _ in range(32))).decode()
    while "+" not in sig and "/" not in sig:
        sig = base64.b64encode(bytes(rng.randrange(256) for _ in range(32))).decode()
    enc = sig.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    url = ("https://acct.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=co&sp=r"
           "&se=2030-01-01T00%3A00%3A00Z&sig=" + enc)
    _, rep = scan_dir({"app.ts": "const u = `%s`;\n" % url})
    got = [(f["rule_id"], f["decoded"]) for f in rep["findings"]]
    assert_eq(got, [("azure-sas-token", [])], "one finding, as written")


@test
def names_around_encoded_values_are_context():
    # A key that needs a name before it is found when the value is
    # base64 (Kubernetes data:, kind after data), as in the plain form.
    hk, other = hex32_key(1), hex32_key(2)
    manifest = ("apiVersion: v1\ndata:\n  OPENAI_API_KEY: %s\n"
                "  COLOR: %s\nmetadata:\n  name: app\nkind: Secret\n"
                % (b64(hk), b64(other)))
    rc, rep = scan_dir({"k8s/secret.yaml": manifest})
    got = [(f["rule_id"], f["line"]) for f in findings(rep)]
    assert_eq(got, [("openai-compatible-hex32-key", 3)], "named value only")


@test
def docker_npmrc_and_basic_auth():
    gh, npm, ant = (key(4, "github-personal-access-token"),
                    key(5, "npm-access-token"), key(6))
    docker = json.dumps({"auths": {"ghcr.io": {"auth": b64("ci:" + gh)}}},
                        indent=2)
    rc, rep = scan_dir({
        ".docker/config.json": docker,
        ".npmrc": "registry=https://r/\n_auth=%s\n" % b64("me:" + npm),
        "deploy.sh": 'curl -H "Authorization: Basic %s" https://h/\n'
                     % b64("u:" + ant),
    })
    got = sorted((f["path"], f["rule_id"], f["decoded"])
                 for f in findings(rep))
    assert_eq(got, [(".docker/config.json", "github-personal-access-token",
                     ["base64"]),
                    (".npmrc", "npm-access-token", ["base64"]),
                    ("deploy.sh", RULE, ["base64"])], "findings")


@test
def encoded_bait_stays_quiet():
    rng = random.Random(7)
    aws_doc = "AKIA" + "IOSFODNN7" + "EXAMPLE"
    aws_doc_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    png = (b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(3000)))
    nb = json.dumps({"cells": [{"outputs": [{"data": {
        "image/png": b64(png)}}]} for _ in range(20)]})
    files = {
        "placeholder.txt": "K: %s\n" % b64("ANTHROPIC_API_KEY=sk-ant-api03-" +
                                           "x" * 93 + "AA"),
        "aws.txt": "A: %s\nB: %s\n" % (b64("aws_access_key_id=" + aws_doc),
                                       b64("aws_secret_access_key=" +
                                           aws_doc_secret)),
        "nb.ipynb": nb,
        "random.txt": "\n".join(b64(bytes(rng.randrange(256)
                                          for _ in range(48)))
                                for _ in range(200)) + "\n",
        "hashes.txt": "\n".join(hashlib.sha256(b"%d" % i).hexdigest()
                                for i in range(200)) + "\n",
        "bundle.min.js": "var " + ",".join(
            "aVeryLongIdentifierName%dWithMoreWords=%d" % (i, i)
            for i in range(2000)) + ";\n",
        "example.zip": zip_bytes({".env.example":
                                  "ANTHROPIC_API_KEY=your-key-here\n"}),
    }
    rc, rep = scan_dir(files)
    assert_eq((rc, findings(rep)), (0, []), "bait")
    assert_eq(rep["notices"], [], "no notices")


@test
def no_decode_and_config_switch_decoding_off():
    k = key(8)
    files = {"a.txt": "K: %s\n" % b64(k)}
    rc, rep = scan_dir(files, "--no-decode")
    assert_eq((rc, findings(rep)), (0, []), "--no-decode")
    with lib.TempDir() as d:
        lib.write(os.path.join(d, "a.txt"), files["a.txt"])
        lib.write(os.path.join(d, ".keyleak.json"),
                  json.dumps({"decode": {"enabled": False}}))
        rc, rep = lib.run_json(["scan", d])
        assert_eq((rc, findings(rep)), (0, []), "config decode off")
        lib.write(os.path.join(d, ".keyleak.json"),
                  json.dumps({"decode": {"max_depth": 0}}))
        p = lib.run(["scan", d])
        assert_eq(p.returncode, 2, "bad config value")
        assert b"decode.max_depth" in p.stderr, p.stderr


# ------------------------------------------------------------- archives


def archive_kinds(k):
    env = "ANTHROPIC_API_KEY=%s\n" % k
    kinds = {
        "release/app.zip": (zip_bytes({"app/.env": env}), "app/.env"),
        "lib/app.jar": (zip_bytes({"META-INF/x": "y", "conf/app.properties":
                                   env}), "conf/app.properties"),
        "dist/pkg.whl": (zip_bytes({"pkg/settings.py": env}),
                         "pkg/settings.py"),
        "dist/app.apk": (zip_bytes({"assets/config.txt": env}),
                         "assets/config.txt"),
        "dist/pkg.nupkg": (zip_bytes({"content/app.config": env}),
                           "content/app.config"),
        "stored.zip": (zip_bytes({"s.env": env}, zipfile.ZIP_STORED), "s.env"),
        "b.tar": (tar_bytes({"etc/app.env": env}), "etc/app.env"),
        "b.tar.gz": (tar_bytes({"etc/app.env": env}, "w:gz"), "etc/app.env"),
        "b.tar.bz2": (tar_bytes({"etc/app.env": env}, "w:bz2"), "etc/app.env"),
        "b.tar.xz": (tar_bytes({"etc/app.env": env}, "w:xz"), "etc/app.env"),
        "dump.sql.gz": (gzip.compress(env.encode()), "dump.sql"),
        "dump.sql.bz2": (bz2.compress(env.encode()), "dump.sql"),
        "dump.sql.xz": (lzma.compress(env.encode()), "dump.sql"),
        "outer.zip": (zip_bytes({"inner/in.tar.gz": tar_bytes(
            {"x/.env": env}, "w:gz")}), "inner/in.tar.gz!x/.env"),
        "doc/report.docx": (zip_bytes({
            "[Content_Types].xml": "<Types/>",
            "word/document.xml": "<w:document><w:body><w:p><w:r><w:t>key: "
                                 "%s</w:t></w:r></w:p></w:body></w:document>" % k}),
            "word/document.xml"),
        "doc/sheet.xlsx": (zip_bytes({
            "xl/sharedStrings.xml": "<sst><si><t>%s</t></si></sst>" % k}),
            "xl/sharedStrings.xml"),
        "enc.zip": (zip_bytes({"a/b64.txt": "V: %s\n" % b64(env)}),
                    "a/b64.txt"),
    }
    if shutil.which("zstd"):
        p = subprocess.run(["zstd", "-q", "-c"], input=env.encode(),
                           capture_output=True, check=True)
        kinds["dump.sql.zst"] = (p.stdout, "dump.sql")
    return kinds


def add_7z(d, rel, env):
    if not shutil.which("7z"):
        return None
    src = os.path.join(d, "_7z_src")
    lib.write(os.path.join(src, "cfg", ".env"), env)
    subprocess.run(["7z", "a", "-bd", "-y", os.path.join(d, rel), "cfg"],
                   cwd=src, capture_output=True, check=True)
    shutil.rmtree(src)
    return "cfg/.env"


@test
def every_archive_kind_in_the_work_tree():
    k = key(9)
    kinds = archive_kinds(k)
    with lib.TempDir() as d:
        for rel, (data, _) in kinds.items():
            lib.write(os.path.join(d, rel), data, "wb")
        want = {rel: m for rel, (_, m) in kinds.items()}
        m7 = add_7z(d, "bundle.7z", "ANTHROPIC_API_KEY=%s\n" % k)
        if m7:
            want["bundle.7z"] = m7
        rc, rep = lib.run_json(["scan", d])
        assert_eq(rc, 1, "exit")
        got = {f["path"]: f["member"] for f in findings(rep, RULE)}
        assert_eq(got, want, "members")
        enc = [f for f in findings(rep) if f["path"] == "enc.zip"][0]
        assert_eq(enc["decoded"], ["base64"], "decoded inside a member")
        p = lib.run(["scan", d, "--format", "text", "--no-color"])
        assert b"release/app.zip!app/.env:1:" in p.stdout, p.stdout[:400]
        rc, rep = lib.run_json(["scan", d, "--no-archives"])
        assert_eq((rc, findings(rep)), (0, []), "--no-archives")


@test
def sarif_and_jsonl_name_the_archive_and_member():
    k = key(10)
    with lib.TempDir() as d:
        lib.write(os.path.join(d, "release", "app.zip"),
                  zip_bytes({"app/.env": "ANTHROPIC_API_KEY=%s\n" % k}), "wb")
        out = os.path.join(d, "r.sarif")
        p = lib.run(["scan", d, "--format", "sarif", "--output", out])
        assert_eq(p.returncode, 1, "exit")
        with open(out) as f:
            res = json.load(f)["runs"][0]["results"][0]
        loc = res["locations"][0]["physicalLocation"]
        assert_eq(loc["artifactLocation"]["uri"], "release/app.zip", "artifact")
        assert_eq(res["properties"]["member"], "app/.env", "member")
        assert "app/.env" in res["message"]["text"], res["message"]
        lib.validate_sarif(out)
        p = lib.run(["scan", d, "--format", "jsonl"])
        first = json.loads(p.stdout.decode().splitlines()[0])
        assert_eq((first["path"], first["member"]),
                  ("release/app.zip", "app/.env"), "jsonl")


# ----------------------------------------------------------- git modes


class tp:
    """Push helpers: a bare server with keyleak's pre-receive hook, a
    client that pushed one clean commit to it, git push."""
    ENV = {"GIT_AUTHOR_NAME": "Ann Author",
           "GIT_AUTHOR_EMAIL": "ann@example.org",
           "GIT_COMMITTER_NAME": "Ann Author",
           "GIT_COMMITTER_EMAIL": "ann@example.org",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
           "KEYLEAK": lib.KEYLEAK}

    @staticmethod
    def push(repo, *args, env=None):
        full = dict(os.environ, **tp.ENV)
        full.pop("NO_COLOR", None)
        full.update(env or {})
        return subprocess.run(["git", "-C", repo, "push"] + list(args),
                              capture_output=True, env=full, timeout=300)

    @staticmethod
    def server(base, hook=True):
        path = os.path.join(base, "srv.git")
        subprocess.run(["git", "init", "-q", "--bare", path], check=True,
                       env=dict(os.environ, **tp.ENV))
        if hook:
            p = lib.run(["install-hook", "--pre-receive", path])
            assert_eq(p.returncode, 0, "install: %s" % p.stderr)
        return path

    @staticmethod
    def client(base, srv):
        path = lib.new_repo(base, "cl")
        lib.commit_file(path, "README", "hello\n", "init")
        git(path, "remote", "add", "origin", "file://" + srv)
        p = tp.push(path, "origin", "main")
        assert_eq(p.returncode, 0, "first clean push: %s" % p.stderr)
        return path

    @staticmethod
    def err(p):
        return p.stderr.decode(errors="replace")

    @staticmethod
    def refused_for_key(p, where, secret, what):
        e = tp.err(p)
        assert p.returncode != 0, "%s: push accepted: %s" % (what, e)
        assert "push refused" in e and where in e, "%s: %s" % (what, e)
        lib.assert_no_secret(p.stdout + p.stderr, [secret], what)


def repo_with_archive(d, k):
    repo = lib.new_repo(d)
    lib.commit_file(repo, "README", "hi\n", "init")
    lib.write(os.path.join(repo, "release", "app.zip"),
              zip_bytes({"app/.env": "ANTHROPIC_API_KEY=%s\n" % k}), "wb")
    lib.write(os.path.join(repo, "k8s", "secret.yaml"),
              "kind: Secret\ndata:\n  ANTHROPIC_API_KEY: %s\n" % b64(key(11)))
    git(repo, "add", "-A")
    return repo


@test
def staged_sees_archives_and_encoded_values():
    with lib.TempDir() as d:
        repo = repo_with_archive(d, key(12))
        rc, rep = lib.run_json(["staged", repo])
        assert_eq(rc, 1, "exit")
        got = sorted((f["path"], f["member"], f["decoded"], f["line"])
                     for f in findings(rep))
        assert_eq(got, [("k8s/secret.yaml", None, ["base64"], 3),
                        ("release/app.zip", "app/.env", [], 1)], "staged")
        # an old encoded line is not new again
        git(repo, "commit", "-q", "-m", "add")
        with open(os.path.join(repo, "k8s", "secret.yaml"), "a") as f:
            f.write("  OTHER: %s\n" % b64("plain words only here"))
        git(repo, "add", "-A")
        rc, rep = lib.run_json(["staged", repo])
        assert_eq((rc, findings(rep)), (0, []), "unchanged encoded line")


@test
def history_finds_an_archive_committed_then_deleted():
    with lib.TempDir() as d:
        k = key(13)
        repo = repo_with_archive(d, k)
        git(repo, "commit", "-q", "-m", "release")
        git(repo, "rm", "-q", "-r", "release", "k8s")
        git(repo, "commit", "-q", "-m", "oops, remove")
        rc, rep = lib.run_json(["scan", repo])
        assert_eq((rc, findings(rep)), (0, []), "work tree clean")
        for cmd in (["history", repo], ["history", repo, "--all"],
                    ["audit", repo]):
            rc, rep = lib.run_json(cmd)
            assert_eq(rc, 1, "%s exit" % cmd[0])
            got = sorted((f["path"], f["member"], f["decoded"])
                         for f in findings(rep))
            assert_eq(got, [("k8s/secret.yaml", None, ["base64"]),
                            ("release/app.zip", "app/.env", [])], cmd[0])
            zf = [f for f in findings(rep) if f["member"]][0]
            assert zf["provenance"]["removed_in"], zf["provenance"]
            assert not zf["provenance"]["in_head"], zf["provenance"]


@test
def pre_receive_refuses_an_encoded_key_and_an_archive():
    with lib.TempDir() as d:
        srv = tp.server(d)
        cl = tp.client(d, srv)
        k = key(14)
        lib.write(os.path.join(cl, "dist", "bundle.tar.gz"),
                  tar_bytes({"cfg/.env": "ANTHROPIC_API_KEY=%s\n" % k}, "w:gz"),
                  "wb")
        git(cl, "add", "-A")
        git(cl, "commit", "-q", "-m", "bundle")
        p = tp.push(cl, "origin", "main")
        tp.refused_for_key(p, "dist/bundle.tar.gz!cfg/.env", k, "archive")
        git(cl, "reset", "-q", "--hard", "HEAD~1")
        k2 = key(15)
        lib.commit_file(cl, "deploy.sh", "X=%s\n" % b64("ANTHROPIC=" + k2))
        p = tp.push(cl, "origin", "main")
        tp.refused_for_key(p, "deploy.sh", k2, "base64")
        assert "decoded base64" in tp.err(p), tp.err(p)


@test
def pre_push_refuses_an_archive():
    with lib.TempDir() as d:
        srv = tp.server(d, hook=False)
        cl = tp.client(d, srv)
        assert_eq(lib.run(["install-hook", "--pre-push", cl]).returncode, 0,
                  "install")
        k = key(16)
        lib.commit_file(cl, "app.whl", "")
        lib.write(os.path.join(cl, "app.whl"),
                  zip_bytes({"pkg/conf.py": "K = '%s'\n" % k}), "wb")
        git(cl, "add", "-A")
        git(cl, "commit", "-q", "-m", "wheel")
        p = tp.push(cl, "origin", "main",
                    env={"PATH": lib.keyleak_on_path(d)})
        tp.refused_for_key(p, "app.whl!pkg/conf.py", k, "pre-push")


# -------------------------------------------------------------- hostile


def bounded(args, seconds=60):
    t = time.time()
    p = lib.run(["--format", "json"] if False else args + ["--format", "json"],
                timeout=seconds)
    return p, time.time() - t


@test
def zip_bomb_is_stopped_by_the_ratio():
    with lib.TempDir() as d:
        bio = io.BytesIO()
        with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
            with z.open("zeros.txt", "w") as f:
                chunk = b"\0" * (1 << 20)
                for _ in range(300):
                    f.write(chunk)
        lib.write(os.path.join(d, "bomb.zip"), bio.getvalue(), "wb")
        p, secs = bounded(["scan", d])
        assert_eq(p.returncode, 2, "incomplete")
        rep = json.loads(p.stdout)
        assert any("ratio" in n["message"] for n in rep["notices"]), rep["notices"]
        assert b"ratio" in p.stderr, p.stderr
        assert secs < 30, secs


@test
def deep_nesting_is_bounded():
    k = key(17)
    data = "ANTHROPIC_API_KEY=%s\n" % k
    for _ in range(30):  # base64 grows 4/3 a layer: 30 is 5000 times
        data = "v: " + b64(data) + "\n"
    z = zip_bytes({"leaf/.env": "ANTHROPIC_API_KEY=%s\n" % k})
    for i in range(100):
        z = zip_bytes({"l%d.zip" % i: z})
    with lib.TempDir() as d:
        lib.write(os.path.join(d, "deep.txt"), data)
        lib.write(os.path.join(d, "deep.zip"), z, "wb")
        p, secs = bounded(["scan", d])
        rep = json.loads(p.stdout)
        assert_eq((p.returncode, findings(rep)), (2, []), "too deep to see")
        msgs = " ".join(n["message"] for n in rep["notices"])
        assert "--max-decode-depth" in msgs and "--max-archive-depth" in msgs, msgs
        assert secs < 30, secs
        # the limits can be raised
        rc, rep = lib.run_json(["scan", d, "--max-archive-depth", "64",
                                "--max-decode-depth", "16"])
        assert_eq(rc, 2, "still too deep for the decoder")


@test
def large_base64_is_bounded_by_the_decode_budget():
    line = ("word " * 12 + "\n") * 200000  # 12 MB of text
    with lib.TempDir() as d:
        lib.write(os.path.join(d, "big.b64"), "v: " + b64(line[:6000000]) + "\n")
        p, secs = bounded(["scan", d, "--max-decode-bytes", "1M"])
        rep = json.loads(p.stdout)
        assert_eq(p.returncode, 2, "incomplete")
        assert any("--max-decode-bytes" in n["message"]
                   for n in rep["notices"]), rep["notices"]
        assert secs < 30, secs


@test
def long_files_are_decoded_piece_by_piece():
    # Past one read piece (8 MiB) a file is scanned window by window; its
    # encoded keys are still decoded, at their line in the whole file.
    k = key(31)
    filler = "lorem ipsum dolor sit amet, consectetur adipiscing\n"
    before = filler * 250000  # 12.75 MB
    text = before + "payload: " + b64("ANTHROPIC_API_KEY=%s\n" % k) + "\n" + filler * 100000
    with lib.TempDir() as d:
        lib.write(os.path.join(d, "big.log"), text)
        rc, rep = lib.run_json(["scan", d, "--show-secrets"])
        fs = findings(rep, RULE)
        assert_eq(rc, 1, "the key is found")
        assert_eq(len(fs), 1, "once")
        assert_eq(fs[0]["decoded"], ["base64"], "decoded")
        assert_eq(fs[0]["line"], 250001, "line in the whole file")
        assert_eq(fs[0]["column"], len("payload: ") + 1, "column of the run")
        assert_eq(fs[0]["secret"], k, "the key")
        rc, rep = lib.run_json(["scan", d, "--no-decode"])
        assert_eq(findings(rep, RULE), [], "--no-decode still switches it off")


@test
def a_long_file_of_base64_is_bounded_once():
    # 40 MB of base64 in one file: read in pieces, decoding stops at the
    # file's budget (not each piece's), said once.
    line = ("word " * 12 + "\n") * 500000  # 30 MB of text
    with lib.TempDir() as d:
        lib.write(os.path.join(d, "big.b64"), "v: " + b64(line) + "\n")
        p, secs = bounded(["scan", d, "--max-decode-bytes", "1M"])
        rep = json.loads(p.stdout)
        assert_eq(p.returncode, 2, "incomplete")
        said = [n for n in rep["notices"] if "--max-decode-bytes" in n["message"]]
        assert_eq(len(said), 1, "one notice for the file")
        assert secs < 30, secs


@test
def corrupt_encrypted_and_odd_names():
    k = key(18)
    env = "ANTHROPIC_API_KEY=%s\n" % k
    good = zip_bytes({"ok/.env": env})
    corrupt = good[:40] + b"\xff" * 30 + good[70:]
    odd = zip_bytes({"../../etc/evil.env": env, "/abs/x.env": env,
                     "we\x1bird.env": env})
    with lib.TempDir() as d:
        lib.write(os.path.join(d, "corrupt.zip"), corrupt, "wb")
        lib.write(os.path.join(d, "trunc.tar.gz"),
                  tar_bytes({"a.env": env}, "w:gz")[:60], "wb")
        lib.write(os.path.join(d, "odd.zip"), odd, "wb")
        if shutil.which("zip"):
            src = os.path.join(d, "_src")
            lib.write(os.path.join(src, "s.env"), env)
            subprocess.run(["zip", "-q", "-P", "pw", os.path.join(d, "enc.zip"),
                            "s.env"], cwd=src, check=True)
            shutil.rmtree(src)
        p, secs = bounded(["scan", d])
        rep = json.loads(p.stdout)
        assert_eq(p.returncode, 2, "incomplete")
        paths = {f["member"] for f in findings(rep)}
        assert "abs/x.env" in paths and "../../etc/evil.env" in paths, paths
        npaths = " ".join("%s:%s" % (n["path"], n["message"])
                          for n in rep["notices"])
        assert "trunc.tar.gz" in npaths, npaths
        if shutil.which("zip"):
            assert "enc.zip!s.env:encrypted" in npaths, npaths
        assert "outside the archive" in npaths, npaths
        text = lib.run(["scan", d, "--no-color"]).stdout
        assert b"\x1b" not in text, "escape byte printed raw"
        assert secs < 30, secs


if __name__ == "__main__":
    lib.main()
