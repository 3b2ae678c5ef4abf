#!/usr/bin/env python3
"""End-to-end tests of issue 11: sk- keys of OpenAI-compatible providers
(named by the file's context or reported as the family), named OpenAI
service-account keys, hex keys in a provider's context, the context forms
(Dockerfile ENV, Kubernetes name/value and stringData, positional
constructors, CLI flags), the bait that must stay silent, in `scan` and
`history`; and tests/accuracy/check.py (the real-repository regression
list) against a repository built here."""
import hashlib
import json
import os
import random
import subprocess
import sys

import lib
from lib import assert_eq, test

RNG = random.Random("keyleak-issue-11")


def k(template):
    return lib.expand(template, RNG)


FILL = "".join("x%d = %d\n" % (i, i) for i in range(10))

# path -> (content, {rule id of each expected finding})
CASES = {
    "generic/bearer.py": ('headers = {"Authorization": "Bearer %s"}\n' % k("sk-{32:hex}"),
                          ["openai-compatible-hex32-key"]),
    "generic/main.rs": ('const API_KEY: &str = "%s";\n' % k("sk-{48}"), ["openai-compatible-alnum48-key"]),
    "generic/cfg.json": ('{"apiKey": "%s"}\n' % k("sk-{48}"), ["openai-compatible-alnum48-key"]),
    "generic/run.sh": ("python3 app.py --api-key %s\n" % k("sk-{32:hex}"), ["openai-compatible-hex32-key"]),
    "generic/secret.yaml": ("kind: Secret\nstringData:\n  api-key: %s\n" % k("sk-{48}"),
                            ["openai-compatible-alnum48-key"]),
    "generic/k8s.yaml": ('env:\n  - name: LLM_API_KEY\n    value: "%s"\n' % k("sk-{32:hex}"),
                         ["openai-compatible-hex32-key"]),
    "generic/default.py": ('key = os.getenv("LLM_API_KEY", "%s")\n' % k("sk-{48}"), ["openai-compatible-alnum48-key"]),
    "generic/Dockerfile": ("FROM python:3.12\nENV LLM_TOKEN %s\n" % k("sk-{48}"), ["openai-compatible-alnum48-key"]),
    "qwen.py": ('client = OpenAI(api_key="%s", base_url="https://dashscope.aliyuncs.com/compatible-mode/v1")\n'
                % k("sk-{32:hex}"), ["dashscope-api-key"]),
    "window.py": ('BASE_URL = "https://api.deepseek.com"\n' + FILL + 'API_KEY = "%s"\n' % k("sk-{32:hex}"),
                  ["deepseek-api-key-context"]),
    "far.py": ('BASE_URL = "https://api.deepseek.com"\n' + FILL * 3 + 'API_KEY = "%s"\n' % k("sk-{32:hex}"),
               ["openai-compatible-hex32-key"]),
    "nearest.yaml": ("qwen: https://dashscope.aliyuncs.com/compatible-mode/v1\n" + "# -\n" * 12 +
                     "deepseek: https://api.deepseek.com\napi_key: %s\n" % k("sk-{32:hex}"),
                     ["deepseek-api-key-context"]),
    "kimi.env": ("MOONSHOT_API_KEY=%s\n" % k("sk-{48}"), ["moonshot-api-key"]),
    "sf.ts": ("const c = new OpenAI({ baseURL: 'https://api.siliconflow.cn/v1', apiKey: '%s' });\n"
              % k("sk-{48:lower}"), ["siliconflow-api-key"]),
    "svc.py": ('OPENAI_API_KEY = "%s"\n' % k("sk-batch-runner-{40:b64url}T3BlbkFJ{46:b64url}"),
               ["openai-named-service-account-key"]),
    "azure.sh": ('curl https://contoso.openai.azure.com/openai/deployments/x/chat/completions \\\n'
                 '  -H "api-key: %s"\n' % k("{32:hex}"), ["azure-openai-api-key-context"]),
    "azure_client.py": ('client = AzureOpenAI(\n    api_key="%s",\n    azure_endpoint="https://x.openai.azure.com/",\n)\n'
                        % k("{32:hex}"), ["azure-openai-api-key-context"]),
    "xi.sh": ('curl https://api.elevenlabs.io/v1/voices -H "xi-api-key: %s"\n' % k("{32:hex}"),
              ["elevenlabs-legacy-api-key"]),
    "aai.py": ('import assemblyai as aai\naai.settings.api_key = "%s"\n' % k("{32:hex}"), ["assemblyai-api-key"]),
    "dg.py": ('deepgram = DeepgramClient("%s")\n' % k("{40:hex}"), ["deepgram-api-key"]),
    "mistral/Dockerfile": ("FROM node:20\nENV MISTRAL_API_KEY %s\n" % k("{32}"), ["mistral-api-key"]),
    "wandb.yaml": ('env:\n- name: WANDB_API_KEY\n  value: "%s"\n' % k("{40:hex}"), ["wandb-api-key"]),
    # a provider's own variable name beats a provider named nearby
    "named.py": ('BASE = "https://dashscope.aliyuncs.com/compatible-mode/v1"\nDEEPSEEK_API_KEY = "%s"\n'
                 % k("sk-{32:hex}"), ["deepseek-api-key"]),
}

HEX = k("{32:hex}")
BAIT = "\n".join([
    'API_KEY = "task-%s"' % HEX, "token: disk-%s" % HEX, "secret=risk-%s" % k("{48}"),
    "pip install scikit-learn  # sk-learn", 'api_key = "sk-learn"',
    'OPENAI_API_KEY="sk-' + "x" * 48 + '"', 'api_key = "sk-0123456789abcdef0123456789abcdef"',
    "LLM_API_KEY=sk-" + "0" * 32, "API_KEY=sk-YOUR_KEY", "api_key: <your-key>", "API_KEY=${DEEPSEEK_API_KEY}",
    'api_key = f"sk-{suffix}"', "base_url = https://api.deepseek.com", "endpoint: https://x.openai.azure.com/",
    'cache_key = "%s"' % k("{32:hex}"), "x-request-id: %s" % k("{32:hex}"), "commit %s" % k("{40:hex}"),
    "checksum: %s" % k("{32:hex}"), 'request_id = "%s"' % k("sk-{32:hex}"), "XFYUN_API_KEY = %s" % k("{32:hex}"),
    "api-key: %s" % ("a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6"), 'api_key = "%s"' % (k("{16}") * 3)[:48],
]) + "\n"


def plant(repo):
    for path, (content, _) in CASES.items():
        lib.write(os.path.join(repo, path), content)
    lib.write(os.path.join(repo, "bait/all.txt"), BAIT)


def check_report(report, what):
    got = {}
    for f in report["findings"]:
        if f["kind"] == "key":
            got.setdefault(f["path"], []).append(f["rule_id"])
    want = {p: sorted(r) for p, (_, r) in CASES.items()}
    for p in sorted(set(got) | set(want)):
        assert_eq(sorted(got.get(p, [])), want.get(p, []), "%s: %s" % (what, p))


@test
def forms_and_providers_in_scan():
    with lib.TempDir() as tmp:
        repo = os.path.join(tmp, "tree")
        plant(repo)
        code, report = lib.run_json(["scan", repo, "--no-repo-config"])
        assert_eq(code, 1, "exit status")
        check_report(report, "scan")
        by_rule = {f["rule_id"]: f for f in report["findings"]}
        for rid, issuer in (("openai-compatible-hex32-key", "DashScope"), ("openai-compatible-alnum48-key", "Moonshot")):
            generic = by_rule[rid]
            assert "DeepSeek" in generic["provider"] and "Moonshot" in generic["provider"], generic["provider"]
            assert "base_url" in generic["remediation"] and issuer in generic["remediation"], generic["remediation"]
        assert_eq(by_rule["dashscope-api-key"]["provider"], "Alibaba Cloud Model Studio (DashScope, Qwen)",
                  "provider named by the context")


@test
def forms_and_providers_in_history():
    with lib.TempDir() as tmp:
        repo = lib.new_repo(tmp)
        plant(repo)
        lib.git(repo, "add", "-A")
        lib.git(repo, "commit", "-q", "-m", "all")
        code, report = lib.run_json(["history", repo, "--no-repo-config"])
        assert_eq(code, 1, "exit status")
        check_report(report, "history")


@test
def bait_is_silent():
    with lib.TempDir() as tmp:
        path = os.path.join(tmp, "bait.txt")
        lib.write(path, BAIT)
        code, report = lib.run_json(["scan", path, "--no-repo-config"])
        assert_eq((code, [(f["rule_id"], f["line"]) for f in report["findings"]]), (0, []), "bait")


@test
def rules_list_the_context_check():
    p = lib.run(["rules"])
    listing = {l.split()[0]: l for l in p.stdout.decode().splitlines() if l.strip()}
    for rid in ("openai-compatible-hex32-key", "openai-compatible-alnum48-key", "deepseek-api-key-context",
                "azure-openai-api-key-context"):
        assert "context" in listing[rid], listing[rid]


# ------------------------------------------------------------ accuracy

CHECK = os.path.join(lib.ROOT, "tests", "accuracy", "check.py")


def checker(args):
    p = subprocess.run([sys.executable, CHECK, "--keyleak", lib.KEYLEAK] + args, capture_output=True)
    return p.returncode, p.stdout.decode()


def accuracy_fixture(tmp):
    """A mirror-layout repository with one key, and labels for it."""
    repo = os.path.join(tmp, "mirror", "acme+demo", "repo")
    os.makedirs(repo)
    lib.git(repo, "init", "-q", "-b", "main")
    secret = lib.make_key("groq-api-key", 5)
    commit = lib.commit_file(repo, "app/settings.py", 'GROQ_API_KEY = "%s"\n' % secret, "add")
    labels = os.path.join(tmp, "labels")
    os.makedirs(labels)
    lib.write(os.path.join(labels, "repos.json"), json.dumps([{"repo": "acme/demo", "head": commit, "why": "t"}]))
    row = ["acme/demo", commit, "app/settings.py", "1", "groq-api-key",
           hashlib.sha256(secret.encode()).hexdigest(), "TP", "fixture"]
    header = "repo\tcommit\tpath\tline\trule\tsha256\tlabel\tnote\n"
    return os.path.join(tmp, "mirror"), labels, header, row, secret


@test
def accuracy_checker_passes_fails_and_skips():
    with lib.TempDir() as tmp:
        mirror, labels, header, row, secret = accuracy_fixture(tmp)
        tsv = os.path.join(labels, "labels.tsv")
        lib.write(tsv, header + "\t".join(row) + "\n")
        code, out = checker(["--repos", mirror, "--labels-dir", labels])
        assert_eq(code, 0, "labels match: " + out)
        assert "| acme/demo | 1 | 1 | 0 | 1 | 1 | 0 | - |" in out, out
        lib.assert_no_secret(out, [secret], "checker output")
        # a labelled finding that is gone, and the real one unlabelled
        lib.write(tsv, header + "\t".join(row[:5] + ["0" * 64] + row[6:]) + "\n")
        code, out = checker(["--repos", mirror, "--labels-dir", labels])
        assert_eq(code, 1, "differences fail")
        assert "finding gone" in out and "unlabelled finding" in out, out
        # --write records the new finding for review, never the secret
        code, out = checker(["--repos", mirror, "--labels-dir", labels, "--write"])
        with open(tsv) as f:
            text = f.read()
        assert "??" in text and secret not in text, text
        # no repositories here: a clean skip
        code, out = checker(["--repos", os.path.join(tmp, "nothing"), "--labels-dir", labels])
        assert_eq(code, 0, "absent directory skips")
        assert "skipped" in out, out
        os.makedirs(os.path.join(tmp, "empty"))
        code, out = checker(["--repos", os.path.join(tmp, "empty"), "--labels-dir", labels])
        assert_eq(code, 0, "absent repositories skip")
        assert "skipped: none of the 1 repositories" in out, out


if __name__ == "__main__":
    lib.main()
