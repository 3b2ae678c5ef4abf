#!/usr/bin/env python3
"""End-to-end tests of issue 20 (AI ecosystem, forms, precision): a true
key for every AI-ecosystem rule added in issue 20, planted in a real git
repository in the files such keys live in (.env, settings.py, config.yaml,
a notebook, docker-compose.yml, JavaScript) and found by `history` with the
right rule id; keys written as defaults in code and private keys written as
joined string literals; documentation placeholders that stay silent
(connection-URL users and passwords, hosts reserved for documentation
matched by label, hand-typed AWS ids, placeholder keys of the new
families) and a random password whose host merely contains "example"."""
import json
import os
import random

import lib
from lib import assert_eq, test

RNG = random.Random("keyleak-issue-20b")

# Rules added for issue 20 (AI ecosystem). Rules tagged "context" are
# written NAME=KEY in their first example; the others are bare keys.
NEW_AI_RULES = [
    "agentops-api-key", "ai21-api-key", "aleph-alpha-token", "anyscale-api-key", "apify-api-token",
    "arize-api-key", "aws-bedrock-api-key", "aws-bedrock-short-term-api-key", "azure-ai-search-api-key",
    "baseten-api-key", "braintrust-api-key", "brave-search-api-key", "browserbase-api-key", "cartesia-api-key",
    "chroma-api-key", "composio-api-key", "deepinfra-api-key", "e2b-api-key", "edenai-api-key", "exa-api-key",
    "fal-api-key", "featherless-api-key", "fireworks-api-key", "friendli-token", "gladia-api-key",
    "helicone-api-key", "humanloop-api-key", "hyperbolic-api-key", "ideogram-api-key", "kaggle-api-key",
    "kaggle-api-token", "kaggle-json-key", "lambda-cloud-api-key", "langsmith-legacy-api-key",
    "leonardo-api-key", "llamacloud-api-key", "luma-api-key", "mem0-api-key", "mixedbread-api-key",
    "modal-token-secret", "nebius-api-key", "neon-api-key", "nomic-api-key", "novita-api-key",
    "pinecone-legacy-api-key", "portkey-api-key", "predibase-api-token", "promptlayer-api-key",
    "qdrant-api-key", "reka-api-key", "runway-api-key", "sambanova-api-key", "scale-ai-api-key",
    "serpapi-api-key", "serper-api-key", "speechmatics-api-key", "supabase-personal-access-token",
    "supabase-secret-key", "turbopuffer-api-key", "unstructured-api-key", "upstage-api-key", "upstash-token",
    "vectara-api-key", "voyage-api-key", "weaviate-api-key", "writer-api-key", "zep-api-key", "zilliz-api-key",
]


def k(template):
    return lib.expand(template, RNG)


def name_and_key(rid):
    """(variable name, key) for rule rid, from its first example."""
    text = lib.make_key(rid, seed=7)
    if "context" in lib.RULES[rid].get("tags", []):
        name, key = text.split("=", 1)
        return name, key
    return rid.upper().replace("-", "_"), text


# One writer per kind of file: (path, header, line for NAME and KEY, footer).
KINDS = [
    (".env", "", "{n}={k}\n", ""),
    ("app/settings.py", "import os\n", '{n} = "{k}"\n', ""),
    ("config.yaml", "providers:\n", "  {n}: {k}\n", ""),
    ("notebooks/setup.ipynb", '{"cells": [{"cell_type": "code", "source": [\n',
     '    "os.environ[\\"{n}\\"] = \\"{k}\\"\\n",\n', '    "print(1)\\n"\n]}]}\n'),
    ("docker-compose.yml", "services:\n  app:\n    image: app\n    environment:\n", "      - {n}={k}\n", ""),
    ("web/client.js", "", "const v{i} = process.env.{n} || '{k}';\n", ""),
]


def plant_ai_keys(repo):
    """Write every new rule's key; returns {(path, line): rule id}."""
    files = {kind[0]: [kind[1]] for kind in KINDS}
    want = {}
    for i, rid in enumerate(NEW_AI_RULES):
        if rid == "kaggle-json-key":
            lib.write(os.path.join(repo, "kaggle.json"), lib.make_key(rid, seed=7) + "\"}\n")
            want[("kaggle.json", 1)] = rid
            continue
        path, _, line, _ = KINDS[i % len(KINDS)]
        name, key = name_and_key(rid)
        parts = files[path]
        lineno = "".join(parts).count("\n") + 1
        parts.append(line.format(n=name, k=key, i=i))
        want[(path, lineno)] = rid
    for path, header, _, footer in KINDS:
        lib.write(os.path.join(repo, path), "".join(files[path]) + footer)
    return want


@test
def every_new_ai_rule_is_found_in_history():
    assert len(NEW_AI_RULES) >= 60, len(NEW_AI_RULES)
    for rid in NEW_AI_RULES:
        assert "ai" in lib.RULES[rid]["tags"], rid
    with lib.TempDir() as tmp:
        repo = lib.new_repo(tmp)
        want = plant_ai_keys(repo)
        lib.git(repo, "add", "-A")
        lib.git(repo, "commit", "-q", "-m", "keys")
        code, report = lib.run_json(["history", repo, "--no-repo-config"])
        assert_eq(code, 1, "exit status")
        got = {}
        for f in report["findings"]:
            if f["kind"] == "key" and f["rule_id"] in NEW_AI_RULES:
                got[(f["path"], f["line"])] = f["rule_id"]
        missing = {k: v for k, v in want.items() if got.get(k) != v}
        extra = {k: v for k, v in got.items() if want.get(k) != v}
        assert_eq((missing, extra), ({}, {}), "AI keys found with their rule ids")
        lib.assert_no_secret(json.dumps(report), [lib.make_key(r, seed=7) for r in ("neon-api-key", "e2b-api-key")])


def scan_text(tmp, name, text):
    path = os.path.join(tmp, name)
    lib.write(path, text)
    code, report = lib.run_json(["scan", path, "--no-repo-config"])
    return code, sorted((f["rule_id"], f["line"]) for f in report["findings"] if f["kind"] == "key")


@test
def defaults_in_code_are_read():
    uuid = k("{8:hex}-{4:hex}-{4:hex}-{4:hex}-{12:hex}")
    cases = [
        ("laravel.php", "$sid = env('TWILIO_API', 'SK%s');\nTWILIO_API_SECRET=%s\n" % (k("{32:hex}"), k("{32}")),
         [("twilio-api-key", 1)]),
        ("mail.js", "const key = process.env.MAILGUN_API || 'key-%s';\n" % k("{32:hex}"), [("mailgun-api-key", 1)]),
        ("getenv.py", 'PINECONE = os.getenv("PINECONE_API_KEY", "%s")\n' % uuid, [("pinecone-legacy-api-key", 1)]),
        ("get.py", 'key = os.environ.get("SERPER_API_KEY", "%s")\n' % k("{40:hex}"), [("serper-api-key", 1)]),
        ("or.py", 'key = os.environ.get("SERPAPI_API_KEY") or "%s"\n' % k("{64:hex}"), [("serpapi-api-key", 1)]),
        ("fetch.rb", 'KEY = ENV.fetch("EXA_API_KEY", "%s")\n' % uuid, [("exa-api-key", 1)]),
        ("run.sh", "curl -H \"x-api-key: ${KAGGLE_KEY:-%s}\" https://host.invalid\n" % k("{32:hex}"),
         [("kaggle-api-key", 1)]),
        ("old.py", 'mistral_key = os.getenv("MISTRAL_API_KEY", "%s")\n' % k("{32}"), [("mistral-api-key", 1)]),
        ("sk.js", "const key = process.env.LLM_API_KEY || 'sk-%s';\n" % k("{32:hex}"),
         [("openai-compatible-hex32-key", 1)]),
        ("sk.sh", "python run.py --key ${LLM_API_KEY:-sk-%s}\n" % k("{48}"), [("openai-compatible-alnum48-key", 1)]),
        ("section.yaml", "pinecone:\n  api_key: %s\n  environment: us-west1-gcp\n" % uuid,
         [("pinecone-legacy-api-key", 2)]),
        ("section.toml", "[qdrant]\nurl = \"https://q.cloud.qdrant.io\"\napi_key = \"%s\"\n" % k("{52:b64url}"),
         [("qdrant-api-key", 3)]),
    ]
    with lib.TempDir() as tmp:
        for name, text, want in cases:
            code, got = scan_text(tmp, name, text)
            assert_eq((code, got), (1, want), name)


def pem_lines():
    text = lib.make_key("private-key", seed=3)
    return [l for l in text.strip().split("\n")]


@test
def private_keys_written_as_joined_literals_are_found():
    lines = pem_lines()
    forms = {
        "key.js": "const KEY = " + " +\n  ".join('"%s\\n"' % l for l in lines) + ";\n",
        "key.py": "KEY = (\n" + "".join("    '%s\\n'\n" % l for l in lines) + ")\n",
        "key.php": "$key = " + " .\n  ".join('"%s\\n"' % l for l in lines) + ";\n",
        "key.json": '{"private_key": "' + "\\n".join(lines) + '\\n"}\n',
    }
    with lib.TempDir() as tmp:
        for name, text in forms.items():
            code, got = scan_text(tmp, name, text)
            assert_eq((code, [r for r, _ in got]), (1, ["private-key"]), name)


@test
def placeholders_stay_silent():
    pw = k("{16}")
    bait = "\n".join([
        "DATABASE_URL=postgresql://someuser:somepass@localhost:5432/mydb",
        "postgres://user:pass@localhost/db",
        "postgres://username:password@db:5432/app",
        "mongodb://myuser:mypassword@mongo:27017/app",
        "postgresql://someuser:%s@db:5432/app" % pw,
        "mongodb+srv://app:%s@db.example.com/app" % pw,
        "redis://:%s@cache.example:6379" % pw,
        "amqp://app:%s@mq.example.org:5672" % pw,
        "aws_access_key_id = AKIADEADBEEFDEADBEEF",
        "AWS_ACCESS_KEY_ID=AKIACAFEBABE%s" % k("{8:upper}"),
        "FIREWORKS_API_KEY=fw_...",
        "FIREWORKS_API_KEY=fw_xxxxxxxxxxxxxxxxxxxxxxxx",
        "VOYAGE_API_KEY=pa-your-voyage-key-here",
        "PINECONE_API_KEY=00000000-0000-0000-0000-000000000000",
        "PINECONE_API_KEY=<your-key>",
        "EXA_API_KEY=${EXA_API_KEY}",
        "NOMIC_API_KEY=nk-xxxxxxxxxxxxxxxxxxxx",
        "TURBOPUFFER_API_KEY=tpuf_your_api_key_here",
        "E2B_API_KEY=e2b_" + "0" * 40,
        "LLAMA_CLOUD_API_KEY=llx-your-llama-key-here",
        "pinecone_index_id = \"%s\"" % k("{8:hex}-{4:hex}-{4:hex}-{4:hex}-{12:hex}"),
        "SERPER_MODEL=%s" % k("{40:hex}"),
        "%s" % k("{8:hex}-{4:hex}-{4:hex}-{4:hex}-{12:hex}"),
        "sb_publishable_%s" % k("{31:b64url}"),
    ]) + "\n"
    with lib.TempDir() as tmp:
        code, got = scan_text(tmp, "bait.txt", bait)
        assert_eq((code, got), (0, []), "placeholders")


@test
def a_host_that_contains_example_is_a_host():
    url = "MONGODB_URI=mongodb+srv://app:%s@example-prince.%s.mongodb.net/db\n" % (k("{16}"), k("{5:lowernum}"))
    with lib.TempDir() as tmp:
        code, got = scan_text(tmp, "prod.env", url)
        assert_eq((code, got), (1, [("connection-string-password", 1)]), "example-prince host")


@test
def rules_list_the_new_providers():
    out = lib.run(["rules"]).stdout.decode()
    for provider in ("Voyage AI", "Fireworks AI", "LlamaIndex (LlamaCloud, LlamaParse)", "Amazon Bedrock", "Qdrant",
                     "Weaviate", "Upstash", "Neon", "Supabase", "Kaggle", "E2B", "Mem0", "Exa", "Serper"):
        assert "\n%s (" % provider in "\n" + out, provider


if __name__ == "__main__":
    lib.main()
