#!/usr/bin/env python3
"""Write keyleak's labelled precision/recall corpus into a directory.

usage: make_corpus.py OUTDIR [--seed N]

Deterministic for a seed. True keys of every rule family (synthetic, from
the rules' own example templates via tests/e2e/lib.py, so no key-like
literal is committed) are planted in many contexts: source files of several
languages, YAML, JSON, TOML, notebooks (JSON-escaped source), shell,
Dockerfile, Terraform, minified one-line JS, URLs and query strings, quoted
and unquoted, CRLF, markdown. Around them is bait that must not be
reported: placeholders copied from providers' setup guides, environment
lookups, prose naming the prefixes, identifiers that start like a prefix,
git SHAs, SHA-256 hashes, UUIDs, base64 blobs, npm integrity hashes, lorem
ipsum, sk- look-alikes (task-, disk-, risk-, sk-learn) and placeholders in
credential contexts, hex ids (cache keys, request ids, commits) next to
the names of providers whose keys are hex. Rules with a "context" (a
family, a credential context before the key, a provider named nearby) get
files of their own, with the provider's line above the key. OUTDIR/labels.json lists every true key as {file, line, rule}; the
corpus files are under OUTDIR/tree/.
"""
import base64
import hashlib
import json
import os
import random
import re
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import lib  # noqa: E402

# --------------------------------------------------------------- keys

_TEMPLATE_RUN = re.compile(r"\{\d+(?::\w+)?\}")


# Rules whose shape the generic template extraction below cannot read
# (URLs, tokens with ':' or '.', connection strings): their bare secrets.
SECRET_TEMPLATES = {
    "connection-string-password": [
        "postgres://app:{16}@db.internal:5432", "mongodb+srv://ann:{12}@cluster0.{5:lowernum}.mongodb.net",
        "rediss://:{32:hex}@cache.{6:lower}.cloud:6380", "amqp://worker:{14}@mq.{5:lower}.net:5672",
        "mysql://root:{10}@mysql-primary:3306", "postgresql://svc_{4:lower}:{20:alnum}@10.0.3.7"],
    "slack-webhook-url": ["https://hooks.slack.com/services/T{10:uppernum}/B{10:uppernum}/{24}"],
    "discord-webhook-url": ["https://discord.com/api/webhooks/1{18:digit}/{68:b64url}"],
    "telegram-bot-token": ["{10:digit}:AA{33:b64url}"],
    "discord-bot-token": ["{24:b64url}.{6:b64url}.{38:b64url}", "{26:b64url}.{6:b64url}.{27:b64url}"],
    "vectara-api-key": ["zwt_{46:b64url}", "zqt_{40:b64url}"],
    "fireworks-api-key": ["fw_{12}{2:digit}{2:upper}{2:lower}{12}"],  # the rule wants mixed case and a digit
    # keys with '.', ':' or '|' inside: JWTs, <id>.<secret>, <uuid>:<secret>
    "hyperbolic-api-key": ["eyJ{30:b64url}.eyJ{60:b64url}.{43:b64url}"],
    "nebius-api-key": ["eyJ{30:b64url}.eyJ{60:b64url}.{43:b64url}"],
    "edenai-api-key": ["eyJ{30:b64url}.eyJ{60:b64url}.{43:b64url}"],
    "aleph-alpha-token": ["eyJ{30:b64url}.eyJ{60:b64url}.{43:b64url}"],
    "zep-api-key": ["z_{40:b64url}.{60:b64url}.{43:b64url}"],
    "lambda-cloud-api-key": ["secret_{8:lower}_{32:hex}.{32}"],
    "baseten-api-key": ["{8}.{32}"],
    "fal-api-key": ["{8:hex}-{4:hex}-{4:hex}-{4:hex}-{12:hex}:{32:hex}"],
    "qdrant-api-key": ["{8:hex}-{4:hex}-{4:hex}-{4:hex}-{12:hex}|{43:b64url}", "{52:b64url}"],
}
# Not a provider name before the secret, whatever its lookaheads say.
NOT_CONTEXTUAL = {"connection-string-password"}
# Planted by Corpus.credentials, not in the generic contexts: multi-line
# blocks, pairs (an AWS secret next to any AWS key id is part of its pair)
# and rules reported only with a partner.
SPECIAL = {"private-key", "private-key-encrypted", "twilio-api-key", "aws-secret-access-key",
           "kaggle-json-key"}  # a whole kaggle.json
# Issue 20's credential families: bare secrets the template extraction
# cannot read (a keyword inside the token, dots, '=' padding), and rules
# whose secret needs its surroundings (connection strings, URLs, a JSON
# key file, netrc and WireGuard syntax): tests/e2e/test_families.py plants
# those in files of their own.
SECRET_TEMPLATES.update({
    "azure-devops-pat": ["{76}AZDO{4}"], "azure-entra-client-secret": ["{3}{1:digit}Q~{34}"],
    "terraform-cloud-api-token": ["{14}.atlasv1.{67}"], "mailchimp-api-key": ["{32:hex}-us21"],
    "maxmind-license-key": ["{6}_{29}_mmk"], "newrelic-license-key": ["{6:lowernum}{30:hex}NRAL"],
    "slack-legacy-token": ["xoxs-{10:digit}-{10:digit}-{12:digit}-{64:hex}", "xoxa-2-{48}"],
    "vault-token-legacy": ["s.{24}"], "airtable-token": ["pat{14}.{64:hex}", "key{14}"],
    "atlassian-api-token": ["ATATT3xFfGF0{174}={8:HEX}"], "salesforce-access-token": ["00D{12}!{96}"],
    "asana-client-secret": ["2/{16:digit}/{16:digit}:{32:hex}"], "dropbox-access-token": ["sl.{140:b64url}"], "settlemint-token": ["sm_pat_{16}"], "kagi-api-key": ["{11:b64url}.{43:b64url}"],
})
SPECIAL |= {"azure-storage-account-key", "azure-shared-access-key", "azure-sas-token",
            "azure-app-configuration-connection-string", "google-service-account-key",
            "microsoft-teams-webhook-url", "netrc-password", "sidekiq-enterprise-credentials",
            "wireguard-private-key"}
# ... and the text on the line of their secret.
FAMILY_LINE = {"azure-storage-account-key": "AccountKey=", "azure-shared-access-key": "SharedAccessKey=",
               "azure-sas-token": "sig=", "azure-app-configuration-connection-string": "Secret=",
               "google-service-account-key": '"private_key"', "microsoft-teams-webhook-url": "IncomingWebhook",
               "netrc-password": "password ", "sidekiq-enterprise-credentials": "",
               "wireguard-private-key": "Key"}
# Rule files of the credentials beside AI keys: their negative examples
# (wrong checksums, documented examples, public keys, local URLs) are bait.
CREDENTIAL_RULE_FILES = ("aws", "connection-string", "discord", "docker", "github", "gitlab",
                         "mailgun", "npm", "private-key", "pypi", "sendgrid", "slack",
                         "stripe", "telegram", "twilio")


def _is_contextual(rule):
    """A rule whose secret group follows a provider name (NAME=secret)."""
    if rule in NOT_CONTEXTUAL:
        return False
    return "(?i:" in lib.RULES[rule]["regex"].split("(?:[A-Za-z0-9_.(-]")[0]


def _secret_templates(rule):
    """Templates of the bare secret, from every example of the rule."""
    if rule in SECRET_TEMPLATES:
        return SECRET_TEMPLATES[rule]
    out = []
    for ex in lib.RULES[rule]["examples"]:
        if _is_contextual(rule):
            m = re.search(r"[=:]\s*[\"']?((?:[A-Za-z0-9_-]*\{\d+(?::\w+)?\})+)", ex)
        else:
            kw = re.escape(lib.RULES[rule]["keywords"][0])
            m = re.search(r"(%s(?:[A-Za-z0-9_.-]|\{\d+(?::\w+)?\})+)" % kw, ex)
        if m and _TEMPLATE_RUN.search(m.group(1)) and m.group(1) not in out:
            out.append(m.group(1))
    return out


def _var_name(rule):
    """The variable name a project would keep this key in."""
    if _needs_before(rule):
        return "LLM_API_KEY"  # a generic credential name: the rule's point
    if "near" in _ctx_field(rule):
        return "OPENAI_API_KEY"  # the provider is named elsewhere in the file
    for ex in lib.RULES[rule]["examples"]:
        m = re.search(r"([A-Za-z][A-Za-z0-9_]*)[\"']?\s*[:=]", ex)
        if m and (not _is_contextual(rule) or
                  any(k.lower() in m.group(1).lower()
                      for k in lib.RULES[rule]["keywords"])):
            return m.group(1).upper()
    return re.sub(r"[^A-Z0-9]+", "_", rule.upper().replace("-API-KEY", "")) + "_API_KEY"


def _ctx_field(rule):
    return lib.RULES[rule].get("context") or {}


def _needs_before(rule):
    """sk- keys of OpenAI-compatible providers: only in a credential context."""
    return "before" in _ctx_field(rule)


def _own_files(rule):
    """Rules planted in files of their own: a family (one finding per
    secret, named by the nearest context) or a provider named elsewhere in
    the file would otherwise claim each other's keys."""
    return bool(_ctx_field(rule))


# A line naming the provider, planted above keys of rules with "near".
NEAR_LINE = {
    "deepseek-api-key-context": "base_url = https://api.deepseek.com/v1",
    "dashscope-api-key": "base_url: https://dashscope.aliyuncs.com/compatible-mode/v1",
    "moonshot-api-key": "OPENAI_BASE_URL=https://api.moonshot.cn/v1",
    "siliconflow-api-key": "endpoint https://api.siliconflow.cn/v1",
    "azure-openai-api-key-context": "azure_endpoint = https://contoso-eastus.openai.azure.com/",
}

# Contexts without the variable name in front that are still a credential
# context (Bearer, api_key=, key=, Client("..."), ENV NAME value, k8s).
CREDENTIAL_UNNAMED = {"py_client", "js_header", "shell_curl", "url_query", "log", "csharp"}


class Keys:
    """Hands out fresh synthetic keys, cycling through each rule's shapes."""

    def __init__(self, seed):
        self.rng = random.Random("keyleak-corpus/%s" % seed)
        self.n = {}

    def make(self, rule):
        tmpls = _secret_templates(rule)
        i = self.n.get(rule, 0)
        self.n[rule] = i + 1
        return lib.complete(rule, lib.expand(tmpls[i % len(tmpls)], self.rng))

    def expand(self, rule, template):
        """A template of rule expanded and completed (checksums valid)."""
        return lib.complete(rule, lib.expand(template, self.rng))


# ------------------------------------------------------------ contexts
# Each context renders (var, key) into a snippet. "named" contexts put the
# variable name right before the key, so rules that need the provider's
# name in front of the key (contextual rules) can be planted there too.

def _ctx(named, ext, fn):
    return {"named": named, "ext": ext, "fn": fn}


CONTEXTS = {
    "py_assign": _ctx(True, "py", lambda v, k: '%s = "%s"\n' % (v, k)),
    "py_environ": _ctx(True, "py", lambda v, k: 'os.environ["%s"] = "%s"\n' % (v, k)),
    "py_setdefault": _ctx(True, "py", lambda v, k: "os.environ['%s']='%s'\n" % (v, k)),
    "py_client": _ctx(False, "py", lambda v, k: 'client = Client(api_key="%s", timeout=30)\n' % k),
    "py_dict": _ctx(True, "py", lambda v, k: 'CONFIG = {\n    "%s": "%s",\n}\n' % (v.lower(), k)),
    "js_const": _ctx(True, "js", lambda v, k: "const %s = '%s';\n" % (v, k)),
    "js_env": _ctx(True, "js", lambda v, k: 'process.env.%s = "%s";\n' % (v, k)),
    "ts_object": _ctx(True, "ts", lambda v, k: "export const cfg: Cfg = {\n  %s: `%s`,\n};\n" % (_camel(v), k)),
    "js_header": _ctx(False, "js", lambda v, k: "fetch(url, { headers: { Authorization: `Bearer %s` } });\n" % k),
    "go_const": _ctx(True, "go", lambda v, k: 'const %s = "%s"\n' % (_camel(v), k)),
    "go_short": _ctx(True, "go", lambda v, k: '\t%s := "%s"\n' % (_camel(v), k)),
    "java": _ctx(True, "java", lambda v, k: '    private static final String %s = "%s";\n' % (v, k)),
    "kotlin": _ctx(True, "kt", lambda v, k: 'val %s = "%s"\n' % (_camel(v), k)),
    "csharp": _ctx(False, "cs", lambda v, k: 'var client = new Client("%s");\n' % k),
    "ruby": _ctx(True, "rb", lambda v, k: "ENV['%s'] ||= '%s'\n" % (v, k)),
    "php": _ctx(True, "php", lambda v, k: "$%s = '%s';\n" % (v.lower(), k)),
    "rust": _ctx(False, "rs", lambda v, k: 'let client = Client::new("%s");\n' % k),
    "yaml": _ctx(True, "yaml", lambda v, k: "%s: %s\n" % (v.lower(), k)),
    "yaml_quoted": _ctx(True, "yml", lambda v, k: "env:\n  %s: \"%s\"\n" % (v, k)),
    "json": _ctx(True, "json", lambda v, k: '{\n  "%s": "%s"\n}\n' % (v, k)),
    "toml": _ctx(True, "toml", lambda v, k: '%s = "%s"\n' % (v.lower(), k)),
    "ini": _ctx(True, "ini", lambda v, k: "%s = %s\n" % (v.lower(), k)),
    "properties": _ctx(True, "properties", lambda v, k: "%s=%s\n" % (v.lower().replace("_", "."), k)),
    "dotenv": _ctx(True, "env", lambda v, k: "%s=%s\n" % (v, k)),
    "dotenv_quoted": _ctx(True, "env", lambda v, k: '%s="%s"\n' % (v, k)),
    "shell_export": _ctx(True, "sh", lambda v, k: "export %s=%s\n" % (v, k)),
    "shell_inline": _ctx(True, "sh", lambda v, k: "%s='%s' python3 app.py\n" % (v, k)),
    "shell_curl": _ctx(False, "sh", lambda v, k: 'curl -s https://api.example.com/v1/models \\\n  -H "Authorization: Bearer %s"\n' % k),
    "powershell": _ctx(True, "ps1", lambda v, k: '$env:%s = "%s"\n' % (v, k)),
    "dockerfile": _ctx(True, "Dockerfile", lambda v, k: "FROM python:3.12-slim\nENV %s=%s\n" % (v, k)),
    "terraform": _ctx(True, "tf", lambda v, k: 'resource "x" "y" {\n  %s = "%s"\n}\n' % (v.lower(), k)),
    "url_query": _ctx(False, "txt", lambda v, k: "GET https://api.example.com/v1/search?q=cats&key=%s&page=2\n" % k),
    "url_param": _ctx(True, "txt", lambda v, k: "https://example.com/hook?%s=%s&x=1\n" % (v.lower(), k)),
    "markdown": _ctx(True, "md", lambda v, k: "Set it up:\n\n```bash\nexport %s=\"%s\"\n```\n" % (v, k)),
    "markdown_inline": _ctx(False, "md", lambda v, k: "Our staging key is `%s` (rotate monthly).\n" % k),
    "xml": _ctx(False, "xml", lambda v, k: '<setting name="apiKey" value="%s"/>\n' % k),
    "sql": _ctx(False, "sql", lambda v, k: "INSERT INTO creds (name, value) VALUES ('llm', '%s');\n" % k),
    "csv": _ctx(False, "csv", lambda v, k: "llm,prod,%s,2024-01-01\n" % k),
    "log": _ctx(False, "log", lambda v, k: "2024-05-01T10:00:00Z DEBUG using key=%s for request\n" % k),
    "bare": _ctx(False, "txt", lambda v, k: "%s\n" % k),
    "py_kwarg": _ctx(True, "py", lambda v, k: 'client = %s(api_key="%s")\n' % (_cls(v), k)),
    "py_module": _ctx(True, "py", lambda v, k: '%s.Client(api_key="%s")\n' % (_cls(v).lower(), k)),
    "dockerfile_space": _ctx(True, "Dockerfile", lambda v, k: "FROM node:20\nENV %s %s\n" % (v, k)),
    "k8s_env": _ctx(True, "yaml", lambda v, k: "env:\n  - name: %s\n    value: \"%s\"\n" % (v, k)),
    "json_escaped_env": _ctx(True, "json", lambda v, k: '{"files": {".env": "DEBUG=1\\n%s=%s\\nPORT=80\\n"}}\n' % (v, k)),
    "json_escaped_line": _ctx(False, "json", lambda v, k: '{"keys": "first line\\n%s\\n\\tnext"}\n' % k),
    "url_encoded": _ctx(False, "txt", lambda v, k: "https://example.com/cb?state=%%7B%%22key%%22%%3A%%22%s%%22%%7D\n" % k),
    "github_actions": _ctx(True, "yml", lambda v, k: "jobs:\n  t:\n    env:\n      %s: %s\n" % (v, k)),
    "compose": _ctx(True, "yml", lambda v, k: "services:\n  app:\n    environment:\n      - %s=%s\n" % (v, k)),
    "makefile": _ctx(True, "mk", lambda v, k: "%s ?= %s\n" % (v, k)),
    "ruby_hash": _ctx(True, "rb", lambda v, k: "config = { %s: '%s' }\n" % (v.lower(), k)),
    "php_array": _ctx(True, "php", lambda v, k: "'%s' => '%s',\n" % (v.lower(), k)),
    "rust_const": _ctx(True, "rs", lambda v, k: 'const %s: &str = "%s";\n' % (v, k)),
    "cli_flag": _ctx(False, "sh", lambda v, k: "python3 chat.py --api-key %s --model m\n" % k),
    "py_getenv_default": _ctx(False, "py", lambda v, k: 'key = os.getenv("%s", "%s")\n' % (v, k)),
    "k8s_secret": _ctx(True, "yaml", lambda v, k: "kind: Secret\nstringData:\n  %s: %s\n" % (v.lower().replace("_", "-"), k)),
}
CREDENTIAL_UNNAMED.update(("cli_flag", "py_getenv_default"))


def _cls(v):
    """OPENAI_API_KEY -> Openai, AZURE_OPENAI_API_KEY -> AzureOpenai."""
    base = re.sub(r"(_API)?_(KEY|TOKEN|PAT)$", "", v)
    return "".join(p.title() for p in base.split("_"))


def _camel(v):
    parts = v.lower().split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def _notebook(cells):
    nb = {"cells": [], "metadata": {"kernelspec": {"name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    for src in cells:
        lines = src.splitlines(True)
        nb["cells"].append({"cell_type": "code", "execution_count": None,
                            "metadata": {}, "outputs": [], "source": lines})
    return json.dumps(nb, indent=1) + "\n"


# ---------------------------------------------------------------- bait

PLACEHOLDERS = [
    "sk-proj-YOUR_KEY_HERE", "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "<your_key>", "AIza...", "sk-...", "your-api-key-here", "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "sk-proj-...", "sk-ant-...", "sk-ant-api03-...", "gsk_...", "gsk_YOUR_GROQ_API_KEY",
    "<YOUR_API_KEY>", "YOUR_API_KEY", "$OPENAI_API_KEY", "${GROQ_API_KEY}", "...",
    "sk-ant-api03-" + "X" * 93 + "AA", "AIzaSy" + "X" * 33, "AIza" + "0" * 35,
    "hf_" + "x" * 34, "gsk_" + "x" * 52, "pplx-" + "x" * 48, "csk-" + "x" * 48,
    "sk-proj-" + "x" * 74 + "T3BlbkFJ" + "x" * 74, "sk-" + "x" * 20 + "T3BlbkFJ" + "x" * 20,
    "sk-or-v1-" + "0" * 64, "sk-or-v1-...", "tvly-YOUR_API_KEY", "tvly-" + "x" * 32,
    "fc-YOUR_API_KEY", "fc-" + "0" * 32, "nvapi-" + "x" * 64, "nvapi-...", "xai-...",
    "xai-" + "x" * 80, "r8_" + "x" * 37, "r8_...", "pcsk_...", "jina_" + "x" * 60,
    "sk_" + "0" * 48, "sk-lf-...", "pk-lf-...", "lsv2_pt_...", "lsv2_sk_" + "0" * 32 + "_" + "0" * 10,
    "api_org_" + "x" * 34, "tgp_v1_...", "wandb_v1_...", "rpa_" + "X" * 46,
    "hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZ12345678", "gsk_1234567890abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
    "sk-proj-abc123...xyz", "sk-ant-api03-abc...AA", "hf_...", "<hf_token>", "<GROQ_API_KEY>",
    "sk-proj-EXAMPLEKEY0123456789abcdefT3BlbkFJEXAMPLEKEY0123456789abcdef",
    "sk-" + "1234567890" * 2 + "T3BlbkFJ" + "1234567890" * 2,
    "sk-ant-api03-" + "your-key-goes-here-" * 4 + "abcdefghijklmnopqrstuAA",
    "AIzaSyA-your-google-ai-studio-api-key", "gsk_your_groq_api_key_here_1234567890abcdefghijklm",
    "hf_YOUR_HUGGING_FACE_TOKEN_HERE_1234", "xai-" + "YourXaiApiKeyHere" * 4 + "abcdefghijkl",
    "sk-proj-" + "REDACTED" * 4 + "T3BlbkFJ" + "REDACTED" * 4,
    "sk-svcacct-" + "*" * 40, "sk-ant-api03-****", "AIza" + "*" * 35, "sk-...abcd",
    "sk-proj-" + "ab12" * 10 + "T3BlbkFJ" + "ab12" * 10,
    "pplx-" + "a1b2c3d4" * 6, "csk-" + "abcd1234" * 6, "tvly-dev-" + "abcde" + "-" + "fghij" * 8 + "kl",
]

PLACEHOLDER_LINES = [
    'OPENAI_API_KEY="{p}"', "export GROQ_API_KEY={p}", "api_key: {p}", 'client = OpenAI(api_key="{p}")',
    "HF_TOKEN={p}", "# Replace {p} with your key", 'const key = "{p}";', "ANTHROPIC_API_KEY='{p}'",
    "GEMINI_API_KEY={p}", "| `{p}` | your key from the dashboard |",
]

# Variables for the contextual rules, set to things that are not keys.
CONTEXTUAL_BAIT = [
    "ASSEMBLYAI_API_KEY=your-assemblyai-api-key", "assemblyai_api_key: <YOUR_ASSEMBLYAI_KEY>",
    "MISTRAL_API_KEY=${MISTRAL_API_KEY}", "mistral_api_key = os.environ['MISTRAL_API_KEY']",
    "COHERE_API_KEY=<your-cohere-key>", "co_api_key = getpass()",
    "WANDB_API_KEY=$WANDB_API_KEY", 'wandb.login(key=os.getenv("WANDB_API_KEY"))',
    "DEEPGRAM_API_KEY=\"YOUR_DEEPGRAM_API_KEY\"", "CLARIFAI_PAT=YOUR_PAT_HERE",
    "AZURE_OPENAI_API_KEY=<azure-openai-key>", "AZURE_OPENAI_ENDPOINT=https://my-resource.openai.azure.com/",
    "STABILITY_API_KEY=sk-...", "DEEPSEEK_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "azure_openai_api_version: 2024-02-15-preview", "mistral_model: mistral-large-latest",
    "wandb_project: my-project", "wandb_entity: my-team", "deepgram_model: nova-2",
    "ASSEMBLYAI_API_KEY=" + "0" * 32, "WANDB_API_KEY=" + "a" * 40,
    "MISTRAL_API_KEY=" + "x" * 32, "COHERE_API_KEY=" + "X" * 40,
]

ENV_LOOKUPS = [
    'os.environ["OPENAI_API_KEY"]', 'os.getenv("GROQ_API_KEY")', "process.env.GROQ_API_KEY",
    "process.env.ANTHROPIC_API_KEY", 'ENV["HF_TOKEN"]', "${{ secrets.OPENAI_API_KEY }}",
    'os.Getenv("GEMINI_API_KEY")', 'System.getenv("MISTRAL_API_KEY")', "$env:OPENAI_API_KEY",
    'std::env::var("XAI_API_KEY")', "import.meta.env.VITE_OPENAI_API_KEY",
    'userdata.get("HF_TOKEN")', "getpass.getpass('OpenAI API key: ')",
    "{{ .Values.openai.apiKey }}", "valueFrom: {secretKeyRef: {name: groq, key: api-key}}",
]

PROSE = [
    "OpenAI project keys start with sk-proj- and service accounts with sk-svcacct-.",
    "Anthropic keys begin with sk-ant-api03- and end with AA.",
    "Groq keys look like gsk_ followed by 52 characters.",
    "Hugging Face user access tokens begin with hf_ and organisation tokens with api_org_.",
    "Google AI Studio keys start with AIza; never commit them.",
    "Perplexity keys begin with pplx- and Tavily keys with tvly-.",
    "xAI keys start with xai- and NVIDIA keys with nvapi-.",
    "Replicate tokens begin with r8_ and Together keys with tgp_v1_.",
    "Pinecone keys start with pcsk_, Jina with jina_, Cerebras with csk-.",
    "The task-manager service talks to the desk-lamp controller through risk-assessment.",
    "Set hf_model_dir and gsk_config before running ask-question or mask-rcnn.",
]

IDENTIFIERS = [
    "task-manager", "desk-lamp", "hf_model_dir", "gsk_config", "risk-assessment",
    "ask-question", "mask-rcnn", "sk_learn_model", "disk_usage_bytes", "r8_cache_dir",
    "fc-daygrid-event", "xai-explainability-report", "jina_embeddings_v2_base_en",
    "nvapi-docs-link", "pcsk_config_path", "tvly-search-results", "csk-cluster-id",
    "api_org_name", "wandb_v1_legacy_mode", "tgp_v1_migration", "lsv2_pt_migration",
    "AIzaSolutions", "sk-ant-api03-docs", "rpa_RETRY_LIMIT",
]


# sk- look-alikes and placeholders in credential contexts, and hex ids next
# to the names of providers whose keys are hex (issue 11's bait list).
SK_BAIT = [
    'API_KEY = "task-{h32}"', "token: disk-{h32}", "secret=risk-{a48}", "pip install scikit-learn  # aka sk-learn",
    'api_key = "sk-learn"', 'OPENAI_API_KEY="sk-' + "x" * 48 + '"', "DEEPSEEK_API_KEY=sk-" + "x" * 32,
    'api_key = "sk-0123456789abcdef0123456789abcdef"', "LLM_API_KEY=sk-" + "0" * 32, "LLM_API_KEY=sk-" + "0" * 48,
    "API_KEY=sk-YOUR_KEY", "api_key: <your-key>", "API_KEY=${{DEEPSEEK_API_KEY}}", 'api_key = f"sk-{{suffix}}"',
    "Authorization: Bearer ${{TOKEN}}", "python3 chat.py --api-key $LLM_API_KEY", "ENV LLM_API_KEY=${{LLM_API_KEY}}",
    'client = OpenAI(api_key="sk-...", base_url="https://api.deepseek.com")', "MOONSHOT_API_KEY=sk-your-moonshot-key",
    "- name: LLM_API_KEY\n  valueFrom: {{secretKeyRef: {{name: llm, key: api-key}}}}",
    'cache_key = "{h32}"', "x-request-id: {h32}", "commit {h40}", "checksum: {h32}", 'request_id = "sk-{h32}"',
    'etag: "{h32}"', "trace_id={h32}", "xi-request-id: {h32}",
]
PROVIDER_LINES = [
    "base_url = https://api.deepseek.com/v1", "endpoint: https://contoso.openai.azure.com/",
    "OPENAI_BASE_URL=https://dashscope.aliyuncs.com/compatible-mode/v1", "host api.moonshot.cn",
    "url https://api.siliconflow.cn/v1", "voice via https://api.elevenlabs.io/v1 (xi-api-key header)",
]


def sk_bait(rng):
    def hexs(n):
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return [b.format(h32=hexs(32), h40=hexs(40), a48="".join(rng.choice(alnum) for _ in range(48)))
            for b in SK_BAIT]


def _bait_values(rng):
    """Random-looking non-keys: SHAs, hashes, UUIDs, base64, integrity."""
    out = []
    for i in range(8):
        raw = rng.getrandbits(512).to_bytes(64, "big")
        out.append(hashlib.sha1(raw).hexdigest())
        out.append(hashlib.sha256(raw).hexdigest())
        out.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
        out.append(base64.b64encode(raw).decode())
        out.append("sha512-" + base64.b64encode(hashlib.sha512(raw).digest()).decode())
        out.append(hashlib.md5(raw).hexdigest())
    return out


LOREM = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
         "tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, "
         "quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo.")


def _credential_bait(rng):
    """The credential rules' negative examples, expanded but not completed:
    so their checksums and key encodings are wrong, as bait's should be."""
    out = []
    for name in CREDENTIAL_RULE_FILES:
        with open(os.path.join(lib.ROOT, "rules", name + ".json"), encoding="utf-8") as f:
            for rule in json.load(f)["rules"]:
                out += [lib.expand(n, rng) for n in rule["negative_examples"]]
    # AWS's documented placeholders, and a key id with its documented secret
    akia = "AKIA" + "IOSFODNN7" + "EXAMPLE"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    out += ["aws_access_key_id = %s\naws_secret_access_key = %s" % (akia, secret),
            "AWS_SECRET_ACCESS_KEY=%s" % secret, "sk_test_" + lib.expand("{24}", rng),
            "DATABASE_URL=postgres://postgres:postgres@localhost:5432/postgres",
            "REDIS_URL=redis://localhost:6379/0", "mongodb://root:example@mongo:27017/"]
    return out


def bait_text(rng, ext):
    """Lines of bait for a file of kind ext (comment style aside)."""
    lines = _credential_bait(rng)
    for p in PLACEHOLDERS:
        lines.append(rng.choice(PLACEHOLDER_LINES).format(p=p))
    lines += CONTEXTUAL_BAIT + ENV_LOOKUPS + PROSE + sk_bait(rng) + PROVIDER_LINES
    lines += ["name = \"%s\"" % i for i in IDENTIFIERS]
    vals = _bait_values(rng)
    lines += ["commit: %s" % v for v in vals[:8]]
    lines += ["%s = \"%s\"" % (rng.choice(["checksum", "digest", "id", "blob", "integrity",
                                           "request_id", "etag", "wandb_run_id"]), v)
              for v in vals]
    lines += ['"resolved": "https://registry.npmjs.org/x/-/x-1.0.0.tgz", "integrity": "%s"' % vals[4]]
    lines.append(LOREM)
    rng.shuffle(lines)
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------- corpus

class Corpus:
    def __init__(self, seed):
        self.rng = random.Random("keyleak-corpus-layout/%s" % seed)
        self.keys = Keys(seed)
        self.files = {}   # path -> text
        self.planted = {}  # path -> [(secret, rule)]

    def add(self, path, text, planted=()):
        assert path not in self.files, path
        self.files[path] = text
        self.planted[path] = list(planted)

    def snippets(self, context, rules):
        """One snippet per rule in context; returns (text, planted)."""
        ctx = CONTEXTS[context]
        parts, planted = [], []
        for rule in rules:
            if _is_contextual(rule) and not ctx["named"]:
                continue
            if _needs_before(rule) and not ctx["named"] and context not in CREDENTIAL_UNNAMED:
                continue
            key = self.keys.make(rule)
            parts.append(ctx["fn"](_var_name(rule), key))
            parts.append(self.rng.choice(["\n", "# unrelated line\n", "x = 1\n", ""]))
            planted.append((key, rule))
        return "".join(parts), planted

    def build(self):
        rules = [r for r in lib.key_rule_ids()
                 if not _own_files(r) and r not in SPECIAL]
        for rule in lib.key_rule_ids():
            if _own_files(rule) and rule not in SPECIAL:
                self.own_files(rule)
        for name, ctx in sorted(CONTEXTS.items()):
            text, planted = self.snippets(name, rules)
            ext = ctx["ext"]
            path = "src/%s/%s" % (name, ext if ext == "Dockerfile" else "keys." + ext)
            if ext == "env":
                path = "services/%s/.env" % name
            self.add(path, text, planted)
        self.crlf(rules)
        self.notebook(rules)
        self.minified(rules)
        self.mixed_with_bait(rules)
        self.bait_files()
        self.credentials()

    def credentials(self):
        """Private key blocks, AWS pairs and secrets, Twilio pairs, kaggle.json."""
        k = self.keys
        for rule in ("private-key", "private-key-encrypted"):
            for i, ex in enumerate(lib.RULES[rule]["examples"]):
                text = "# deploy key\n" + k.expand(rule, ex)
                begin = text.index("-----BEGIN")
                self.add("keys/%s-%d.txt" % (rule, i), text, [(text[begin:begin + 90], rule)])
        bundle_bait = [lib.expand(n, self.rng) for n in lib.RULES["private-key"]["negative_examples"][:3]]
        key = k.expand("private-key", lib.RULES["private-key"]["examples"][1])
        text = "\n".join(bundle_bait[:2] + [key] + bundle_bait[2:]) + "\n"
        begin = text.index(key)
        self.add("certs/bundle.pem", text, [(text[begin:begin + 90], "private-key")])
        for n in range(3):
            akid, secret = k.make("aws-access-key"), k.expand("aws-access-key", "{40:b64}")
            self.add("aws/%d/credentials" % n, "[default]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s\nregion = eu-west-1\n" % (akid, secret),
                     [(akid, "aws-access-key")])
            akid, secret = k.make("aws-access-key"), k.expand("aws-access-key", "{40:b64}")
            self.add("aws/%d/Client.java" % n, "AWSCredentials c =\n    new BasicAWSCredentials("
                     "\"%s\", \"%s\");\n" % (akid, secret), [(akid, "aws-access-key")])
            sid, tsecret = k.expand("twilio-api-key", "SK{32:hex}"), k.expand("twilio-api-key", "{32}")
            self.add("services/twilio%d/.env" % n, "TWILIO_ACCOUNT=main\nTWILIO_API_KEY=%s\n"
                     "TWILIO_API_SECRET=%s\n" % (sid, tsecret), [(sid, "twilio-api-key")])
        self.families()
        user, kkey = k.expand("kaggle-json-key", "{8:lower}"), k.expand("kaggle-json-key", "{32:hex}")
        self.add(".kaggle/kaggle.json", '{"username":"%s","key":"%s"}\n' % (user, kkey), [(kkey, "kaggle-json-key")])
        for name in ("dotenv", "yaml", "py_assign", "json", "toml", "shell_export", "terraform", "js_const"):
            text, planted = self.snippets(name, ["aws-secret-access-key"])
            self.add("aws/secret-only/%s.%s" % (name, CONTEXTS[name]["ext"]), text, planted)

    def families(self):
        """Issue 20's rules that need their surroundings: each example in a
        file of its own, labelled on the line that holds the secret."""
        for rule in sorted(FAMILY_LINE):
            for i, ex in enumerate(lib.RULES[rule]["examples"]):
                text = self.keys.expand(rule, ex)
                line = [l for l in text.split("\n") if FAMILY_LINE[rule] in l][0]
                self.add("families/%s-%d.txt" % (rule, i), text.rstrip("\n") + "\n",
                         [(line, rule)])

    def own_files(self, rule):
        """Every context a rule of a family or with a "near" context can be
        found in, one file each, with the provider's line above the key."""
        near = NEAR_LINE.get(rule)
        for name, ctx in sorted(CONTEXTS.items()):
            text, planted = self.snippets(name, [rule])
            if not planted:
                continue
            if near:  # within the 20-line window, not on the same line
                text = near + "\n" + "# --\n" * self.rng.randrange(0, 15) + text
            ext = ctx["ext"]
            path = "ctx/%s/%s" % (rule, name + ("" if ext == "Dockerfile" else "." + ext))
            self.add(path, text, planted)
        text, planted = self.snippets("py_assign", [rule])
        self.add("ctx/%s/windows.py" % rule,
                 ((near + "\n") if near else "") + text.replace("\n", "\r\n"), planted)
        text, planted = self.snippets("py_environ", [rule])
        self.add("ctx/%s/demo.ipynb" % rule,
                 _notebook((["# " + near + "\n"] if near else []) + ["import os\n" + text]), planted)

    def crlf(self, rules):
        text, planted = self.snippets("dotenv_quoted", rules)
        self.add("windows/settings.env.txt", text.replace("\n", "\r\n"), planted)
        text, planted = self.snippets("py_assign", rules)
        self.add("windows/config.py", text.replace("\n", "\r\n"), planted)

    def notebook(self, rules):
        cells, planted = [], []
        for ctx in ("py_environ", "py_assign", "py_client", "shell_export"):
            text, p = self.snippets(ctx, rules)
            if ctx == "shell_export":
                text = text.replace("export ", "%env ")
            cells.append("import os\n" + text)
            planted += p
        self.add("notebooks/demo.ipynb", _notebook(cells), planted)

    def minified(self, rules):
        parts, planted = ["!function(){var e={"], []
        for i, rule in enumerate(rules):
            key = self.keys.make(rule)
            parts.append('%s:"%s",' % (_camel(_var_name(rule)), key))
            planted.append((key, rule))
        parts.append('v:"1.0"};window.__cfg=e}();')
        self.add("web/dist/app.min.js", "".join(parts) + "\n", planted)

    def mixed_with_bait(self, rules):
        """Keys in the middle of bait, so neighbours cannot hide them."""
        for ext in ("py", "md", "yaml"):
            bait = bait_text(self.rng, ext).splitlines(True)
            text, planted = self.snippets({"py": "py_assign", "md": "markdown",
                                           "yaml": "yaml"}[ext], rules)
            chunks = text.splitlines(True)
            out = []
            for i, line in enumerate(bait):
                out.append(line)
                if i % 3 == 0 and chunks:
                    out.append(chunks.pop(0))
            out += chunks
            self.add("mixed/bait.%s" % ext, "".join(out), planted)

    def bait_files(self):
        for ext in ("py", "js", "md", "yaml", "json.txt", "sh", "tf", "env.example"):
            self.add("bait/setup.%s" % ext, bait_text(self.rng, ext))
        self.add("bait/.env.example", bait_text(self.rng, "env"))
        self.add("bait/README.md", "\n".join(PROSE + [LOREM] * 3) + "\n")
        # provider names right next to hex ids and sk- look-alikes
        self.add("bait/providers.py", "\n".join(
            l for pair in zip(PROVIDER_LINES * 5, sk_bait(self.rng)) for l in pair) + "\n")
        self.add("bait/notebook.ipynb",
                 _notebook(["import os\n" + "\n".join(
                     ENV_LOOKUPS + [l.format(p=p) for l, p in
                                    zip(PLACEHOLDER_LINES, PLACEHOLDERS)]) + "\n"]))
        self.add("bait/bundle.min.js", ";".join(
            'var %s="%s"' % (re.sub(r"\W", "_", i), i) for i in IDENTIFIERS) +
            ";" + ";".join('x("%s")' % p.replace('"', "") for p in PLACEHOLDERS) + "\n")

    def labels(self):
        out = []
        for path in sorted(self.files):
            text = self.files[path]
            for secret, rule in self.planted[path]:
                start = 0
                while True:
                    i = text.find(secret, start)
                    if i < 0:
                        break
                    out.append({"file": path, "line": text.count("\n", 0, i) + 1,
                                "rule": rule})
                    start = i + 1
        return out

    def write(self, outdir):
        tree = os.path.join(outdir, "tree")
        for path, text in sorted(self.files.items()):
            full = os.path.join(tree, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w", newline="") as f:
                f.write(text)
        labels = self.labels()
        with open(os.path.join(outdir, "labels.json"), "w") as f:
            json.dump(labels, f, indent=1, sort_keys=True)
        return tree, labels


def generate(outdir, seed=1):
    """Write the corpus; returns (tree directory, labels)."""
    c = Corpus(seed)
    c.build()
    return c.write(outdir)


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--seed"):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    tree, labels = generate(argv[1], int(argv[3]) if len(argv) == 4 else 1)
    print("%s: %d files, %d labelled keys" % (tree, sum(len(f) for _, _, f in os.walk(tree)),
                                            len(labels)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
