#!/usr/bin/env python3
"""Precision and recall of the key rules on the labelled corpus.

tests/corpus/make_corpus.py writes true keys of every family in many
contexts plus placeholder and look-alike bait, and a label per true key.
This runs the real ./keyleak over it in `scan`, `staged` and `history`
modes and requires 100% precision and recall (findings are matched to
labels by file, line and rule). Also checks the precision mechanism's
smaller promises: word boundaries and the set of checks each rule records.
"""
import collections
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "corpus"))
import lib  # noqa: E402
import make_corpus  # noqa: E402

SEEDS = (1, 2)


def score(report, labels, what):
    got = collections.Counter((f["path"], f["line"], f["rule_id"])
                              for f in report["findings"] if f["kind"] == "key")
    want = collections.Counter((l["file"], l["line"], l["rule"]) for l in labels)
    tp = sum((got & want).values())
    fp, fn = got - want, want - got
    precision = tp / max(1, sum(got.values()))
    recall = tp / max(1, sum(want.values()))
    print("# %s: %d labelled keys, precision %.4f, recall %.4f" %
          (what, len(labels), precision, recall))
    if fp or fn:
        lines = ["false positive %s:%d %s" % k for k in sorted(fp)]
        lines += ["missed %s:%d %s" % k for k in sorted(fn)]
        raise AssertionError("%s: precision %.4f recall %.4f\n%s" %
                             (what, precision, recall, "\n".join(lines[:40])))
    return report


def corpus(base, seed):
    tree, labels = make_corpus.generate(os.path.join(base, "corpus"), seed)
    assert len({l["rule"] for l in labels}) == len(lib.key_rule_ids()), \
        "every rule family is planted"
    return tree, labels


@lib.test
def corpus_is_deterministic():
    with lib.TempDir() as base:
        _, a = make_corpus.generate(os.path.join(base, "a"), 7)
        _, b = make_corpus.generate(os.path.join(base, "b"), 7)
        lib.assert_eq(a, b, "labels for one seed")
        assert len(a) > 1000, len(a)


@lib.test
def scan_mode_precision_and_recall():
    for seed in SEEDS:
        with lib.TempDir() as base:
            tree, labels = corpus(base, seed)
            code, rep = lib.run_json(["scan", tree, "--no-repo-config"])
            lib.assert_eq(code, 1, "exit code")
            score(rep, labels, "scan (seed %d)" % seed)


@lib.test
def staged_mode_precision_and_recall():
    with lib.TempDir() as base:
        tree, labels = corpus(base, 3)
        lib.git(tree, "init", "-q", "-b", "main")
        lib.git(tree, "add", "-A")
        code, rep = lib.run_json(["staged", tree, "--no-repo-config"])
        lib.assert_eq(code, 1, "exit code")
        score(rep, labels, "staged")


@lib.test
def history_mode_precision_and_recall():
    with lib.TempDir() as base:
        tree, labels = corpus(base, 4)
        lib.git(tree, "init", "-q", "-b", "main")
        for n, top in enumerate(sorted(os.listdir(tree))):
            if top == ".git":
                continue
            lib.git(tree, "add", "-A", "--", top)
            lib.git(tree, "commit", "-q", "-m", "add %s (%d)" % (top, n))
        code, rep = lib.run_json(["history", tree, "--no-repo-config"])
        lib.assert_eq(code, 1, "exit code")
        score(rep, labels, "history")


@lib.test
def word_boundaries():
    words = ["task-manager", "desk-lamp", "hf_model_dir", "gsk_config",
             "risk-assessment", "mask-rcnn", "ask-question", "sk_learn"]
    with lib.TempDir() as base:
        path = os.path.join(base, "words.txt")
        # a real key's body glued to a word is not a key either
        glued = ["x" + lib.make_key(r, 3) for r in ("groq-api-key", "huggingface-access-token")]
        glued += [lib.make_key("groq-api-key", 4) + "x"]
        lib.write(path, "\n".join(words + glued) + "\n")
        code, rep = lib.run_json(["scan", path, "--no-repo-config"])
        lib.assert_eq((code, rep["findings"]), (0, []), "no findings")


@lib.test
def every_rule_records_its_checks():
    p = lib.run(["rules"])
    lib.assert_eq(p.returncode, 0, "rules exit")
    listing = {line.split()[0]: line for line in p.stdout.decode().splitlines()
               if line.strip()}
    for rule_id in lib.key_rule_ids():
        line = listing[rule_id]
        rule = lib.RULES[rule_id]
        # a key-encoding check replaces the placeholder words (a long key
        # body holds "test" by chance); every other rule applies them
        structural = rule.get("check", "").startswith("private-key")
        for check in ("keyword", "regex") + (() if structural else ("placeholder",)):
            assert check in line, (rule_id, check, line)
        if rule.get("check"):
            assert "%s]" % rule["check"] in line or "%s," % rule["check"] in line, line
        if rule.get("marker"):
            assert "marker" in line, line
        if rule.get("min_entropy"):
            assert "entropy" in line, line


if __name__ == "__main__":
    lib.main()
