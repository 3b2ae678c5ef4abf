"""The code's layers point one way (include/keyleak.h's overview says why).

Each directory of src/ is a layer; a file may include the headers of, and
call, its own layer and the layers below it, never one above. Two checks:
the `#include "..."` lines of every file in src/, and the calls between
the built objects (`nm`: a symbol one object uses and another defines),
where no two files may also reach each other in a cycle."""
import glob
import os
import re
import shutil
import subprocess

import lib
from lib import Skip, assert_eq, test

SRC = os.path.join(lib.ROOT, "src")
BUILD = os.path.join(lib.ROOT, os.environ.get("BUILD", "build"))

# Top to bottom. A path belongs to the longest prefix that names it;
# prefixes in one tuple are one layer.
LAYERS = [
    ("cli/main.c",),
    ("cli/", "embedded_hook"),
    ("hosting/",),
    ("sources/",),
    ("policy/",),
    ("sources/git/",),
    ("verify/",),
    ("report/", "embedded_html"),
    ("findings/",),
    ("rules/", "engine/", "embedded_rules"),
    ("decode/", "archive/"),
    ("util/",),
]
# Declarations every layer shares; they hold no code.
SHARED = {"keyleak.h", "internal.h"}


def layer_of(rel):
    best, rank = None, None
    for i, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if rel.startswith(p) and (best is None or len(p) > len(best)):
                best, rank = p, i
    return rank


def layer_name(rank):
    return " ".join(LAYERS[rank])


def source_files():
    out = []
    for path in glob.glob(os.path.join(SRC, "**", "*.[ch]"), recursive=True):
        rel = os.path.relpath(path, SRC)
        if not rel.startswith("build/") and rel not in SHARED:
            out.append(rel)
    return sorted(out)


def includes(rel):
    """The src/-relative paths of the quoted includes of src/rel."""
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        names = re.findall(r'(?m)^\s*#\s*include\s+"([^"]+)"', f.read())
    out = []
    for name in names:
        if name in SHARED:
            continue
        here = os.path.normpath(os.path.join(os.path.dirname(rel), name))
        out.append(here if os.path.exists(os.path.join(SRC, here)) else name)
    return out


def upward(edges):
    """Edges (a, b, why) where b's layer is above a's."""
    bad = []
    for a, b, why in edges:
        la, lb = layer_of(a), layer_of(b)
        if la is None or lb is None:
            bad.append("%s -> %s: not in any layer of LAYERS" % (a, b))
        elif lb < la:
            bad.append("%s (%s) -> %s (%s): %s" % (
                a, layer_name(la), b, layer_name(lb), why))
    return bad


@test
def every_file_is_in_a_layer():
    lost = [rel for rel in source_files() if layer_of(rel) is None]
    assert_eq(lost, [], "files of src/ in no layer (add the directory to "
              "LAYERS and to include/keyleak.h's overview)")


@test
def includes_point_down():
    edges = [(rel, inc, "#include \"%s\"" % inc)
             for rel in source_files() for inc in includes(rel)]
    assert edges, "no include between modules found: the parser is broken"
    bad = upward(edges)
    assert not bad, "includes that point up a layer:\n  " + "\n  ".join(bad)


def object_symbols():
    if not shutil.which("nm"):
        raise Skip("nm is not installed")
    objs = glob.glob(os.path.join(BUILD, "src", "**", "*.o"), recursive=True)
    objs += glob.glob(os.path.join(BUILD, "embedded_*.o"))
    live = set(source_files())
    defs, uses = {}, {}
    for o in objs:
        rel = os.path.relpath(o, BUILD)
        rel = rel[4:] if rel.startswith("src/") else rel
        name = rel[:-2] + ".c" if "/" in rel else rel[:-2]
        if "/" in rel and name not in live:
            continue  # an object left from a file that moved
        p = subprocess.run(["nm", o], capture_output=True, text=True)
        assert_eq(p.returncode, 0, "nm %s" % o)
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRC":
                defs[f[2]] = name
            elif len(f) == 2 and f[0] == "U":
                uses.setdefault(name, set()).add(f[1])
    if len(defs) < 100:
        raise Skip("no build in %s (run make first)" % BUILD)
    calls = {}
    for a, syms in uses.items():
        for s in syms:
            b = defs.get(s)
            if b and b != a:
                calls.setdefault((a, b), set()).add(s)
    return calls


@test
def calls_point_down():
    calls = object_symbols()
    bad = upward([(a, b, ", ".join(sorted(s)))
                  for (a, b), s in sorted(calls.items())])
    assert not bad, "calls that point up a layer:\n  " + "\n  ".join(bad)


@test
def no_two_files_call_each_other():
    graph = {}
    for a, b in object_symbols():
        graph.setdefault(a, set()).add(b)
    cycles, done, path = [], set(), []

    def visit(v):
        if v in path:
            cycles.append(" -> ".join(path[path.index(v):] + [v]))
            return
        if v in done:
            return
        path.append(v)
        for w in sorted(graph.get(v, ())):
            visit(w)
        path.pop()
        done.add(v)

    for v in sorted(graph):
        visit(v)
    assert not cycles, ("files that call each other (give the shared piece "
                        "one home below both):\n  " + "\n  ".join(cycles))


@test
def the_layers_are_the_ones_keyleak_h_describes():
    with open(os.path.join(lib.ROOT, "include", "keyleak.h")) as f:
        head = f.read().split("#ifndef KEYLEAK_H")[0]
    named = re.findall(r"(?m)^ \*\s+\d+\.\s+(\S+)", head)
    want = [p[0].rstrip("/") for p in LAYERS]
    assert_eq(named, want, "numbered layers in include/keyleak.h's overview")


if __name__ == "__main__":
    lib.main()
