"""The man page and the shell completions against `keyleak --help`, and
the Markdown guides: README.md and doc/*.md.

doc/keyleak.1 is written by hand: every command and option --help shows
must have a .TP entry there, and the failure names exactly what is
missing. The completions read --help at completion time; these tests run
real bash, zsh (in a pseudo-terminal) and fish completion and compare what
they offer with --help. `make install` must put the man page and the
completions where man and the shells look. Every relative link of the
Markdown files must reach a file and, with a #fragment, a heading of it
(GitHub's anchors); every table must have a delimiter row and as many
cells in each row as in its header, or GitHub shows it as plain text."""
import glob
import os
import re
import shutil
import subprocess

import lib
from lib import Skip, assert_eq, test

MAN = os.path.join(lib.ROOT, "doc", "keyleak.1")
COMPLETIONS = os.path.join(lib.ROOT, "completions")
ZSH_HARNESS = os.path.join(lib.ROOT, "tests", "e2e", "zsh_complete.zsh")


def help_text():
    p = lib.run(["--help"])
    assert_eq(p.returncode, 0, "keyleak --help")
    return p.stdout.decode()


def help_commands(text):
    out, on = [], False
    for line in text.splitlines():
        if line == "commands:":
            on = True
        elif not line or not line.startswith(" "):
            on = False
        elif on and re.match(r"  [a-z]", line):
            out.append(line.split()[0])
    return set(out)


def format_values():
    """The lowercase words on the --format line, as the completions read
    them: "text (default), json, sarif or jsonl (JSON Lines)"."""
    line = [l for l in help_text().splitlines() if ", --format FMT" in l][0]
    words = set(re.findall(r"\b[a-z]+\b", line.split("FMT", 1)[1]))
    return words - {"default", "or"}


def help_options(text):
    longs = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
    shorts = set(re.findall(r"(?m)^ +(-[a-zA-Z]), --", text))
    return longs | shorts


def man_source():
    with open(MAN, encoding="utf-8") as f:
        return f.read()


def man_tags():
    """The tag line of every .TP entry, roff escapes removed."""
    lines = man_source().splitlines()
    tags = [lines[i + 1] for i, l in enumerate(lines[:-1]) if l == ".TP"]
    return [re.sub(r"\\f[BIRP]", "", t).replace("\\-", "-") for t in tags]


def man_options():
    found = set()
    for tag in man_tags():
        found |= set(re.findall(r"(?<![\w-])--?[a-zA-Z][a-z-]*", tag))
    return found


def man_commands():
    section, found = None, set()
    lines = man_source().splitlines()
    for i, l in enumerate(lines):
        if l.startswith(".SH "):
            section = l[4:].strip()
        elif section == "COMMANDS" and l == ".TP" and i + 1 < len(lines):
            m = re.match(r"\.B ([a-z][a-z\\-]*)", lines[i + 1])
            if m:
                found.add(m.group(1).replace("\\-", "-"))
    return found


@test
def man_page_lists_every_option_of_help():
    missing = sorted(help_options(help_text()) - man_options())
    assert not missing, ("doc/keyleak.1 lacks options that `keyleak --help` "
                         "shows (add a .TP entry for each): %s"
                         % ", ".join(missing))


@test
def man_page_lists_every_command_of_help():
    missing = sorted(help_commands(help_text()) - man_commands())
    assert not missing, ("doc/keyleak.1 lacks commands that `keyleak --help` "
                         "shows (add a .TP entry under COMMANDS): %s"
                         % ", ".join(missing))


@test
def man_page_documents_nothing_help_lacks():
    text = help_text()
    extra = sorted(man_options() - help_options(text) - {"--version"})
    extra += sorted(man_commands() - help_commands(text))
    assert not extra, ("doc/keyleak.1 documents what `keyleak --help` does "
                       "not show (stale, or missing from --help): %s"
                       % ", ".join(extra))


@test
def man_page_has_the_sections_and_renders_cleanly():
    src = man_source()
    for sec in ("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS",
                "EXIT STATUS", "CONFIGURATION", "ENVIRONMENT", "FILES",
                "EXAMPLES", "SEE ALSO"):
        assert re.search(r"(?m)^\.SH %s$" % sec, src), "no section %s" % sec
    with open(os.path.join(lib.ROOT, "include", "keyleak.h")) as f:
        version = re.search(r'KL_VERSION "([^"]+)"', f.read()).group(1)
    assert '"keyleak %s"' % version in src, "the .TH line names another version"
    if not shutil.which("groff"):
        raise Skip("groff is not installed")
    p = subprocess.run(["groff", "-man", "-ww", "-z", MAN], capture_output=True)
    assert_eq((p.returncode, p.stderr.decode()), (0, ""), "groff warnings")


# ------------------------------------------------------------ completions

def shell_env(d):
    """PATH whose first `keyleak` is the binary under test."""
    env = dict(os.environ)
    env["PATH"] = lib.keyleak_on_path(d)
    env["HOME"] = d
    env["XDG_CONFIG_HOME"] = os.path.join(d, "config")
    env["XDG_DATA_HOME"] = os.path.join(d, "data")
    return env


def need(shell):
    if not shutil.which(shell):
        raise Skip("%s is not installed" % shell)


def bash_complete(d, words, script=None):
    need("bash")
    script = script or os.path.join(COMPLETIONS, "keyleak.bash")
    cword = len(words) - 1
    prog = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=%d; _keyleak; '
            'printf "%%s\\n" "${COMPREPLY[@]}"' % cword)
    p = subprocess.run(["bash", "--norc", "-c", prog, "bash", script] + words,
                       capture_output=True, env=shell_env(d), timeout=60)
    assert_eq(p.stderr.decode(), "", "bash completion stderr")
    return set(l for l in p.stdout.decode().splitlines() if l)


def fish_complete(d, line):
    need("fish")
    script = os.path.join(COMPLETIONS, "keyleak.fish")
    p = subprocess.run(["fish", "--no-config", "-c",
                        'source $argv[1]; complete -C $argv[2]', script, line],
                       capture_output=True, env=shell_env(d), timeout=60)
    assert_eq(p.stderr.decode(), "", "fish completion stderr")
    return set(l.split("\t")[0] for l in p.stdout.decode().splitlines() if l)


def zsh_complete(d, line):
    need("zsh")
    p = subprocess.run(["zsh", "-f", ZSH_HARNESS, COMPLETIONS, line],
                       capture_output=True, env=shell_env(d), timeout=60)
    return set(l.strip() for l in p.stdout.decode().splitlines() if l.strip())


def check_shell(name, complete):
    text = help_text()
    with lib.TempDir() as d:
        got = complete(d, ["keyleak", ""])
        want = help_commands(text)
        assert want <= got, "%s: commands not offered: %s" % (
            name, ", ".join(sorted(want - got)))
        got = {o for o in complete(d, ["keyleak", "scan", "-"])
               if o.startswith("-")}
        want = help_options(text)
        assert_eq(sorted(want - got), [], "%s: options --help shows but "
                  "completion does not offer" % name)
        assert_eq(sorted(got - want), [], "%s: options offered that --help "
                  "does not show" % name)
        assert_eq(complete(d, ["keyleak", "scan", "--format", ""]),
                  format_values(), "%s: --format values" % name)


def line_of(words):
    return " ".join(words)


@test
def bash_completion_follows_help():
    check_shell("bash", bash_complete)


@test
def fish_completion_follows_help():
    check_shell("fish", lambda d, w: fish_complete(d, line_of(w)))


@test
def zsh_completion_follows_help():
    check_shell("zsh", lambda d, w: zsh_complete(d, line_of(w)))


@test
def format_values_are_the_ones_help_names():
    assert_eq(format_values(), {"text", "compact", "json", "sarif", "jsonl", "html"},
              "values on the --format line of --help")


# ------------------------------------------------------------ make install

@test
def make_install_puts_man_page_and_completions_in_place():
    with lib.TempDir() as d:
        dest = os.path.join(d, "root")
        p = subprocess.run(["make", "-s", "install", "DESTDIR=" + dest,
                            "PREFIX=/usr/local", "INSTALL_BIN=" + lib.KEYLEAK],
                           cwd=lib.ROOT, capture_output=True, timeout=300)
        assert_eq(p.returncode, 0, "make install: %s" % p.stderr.decode())
        share = os.path.join(dest, "usr", "local", "share")
        for rel in ("man/man1/keyleak.1",
                    "bash-completion/completions/keyleak",
                    "zsh/site-functions/_keyleak",
                    "fish/vendor_completions.d/keyleak.fish",
                    "keyleak/hooks/pre-commit",
                    "keyleak/hooks/pre-push",
                    "keyleak/ci/github-actions.yml"):
            assert os.path.isfile(os.path.join(share, rel)), rel + " missing"
        assert os.access(os.path.join(dest, "usr", "local", "bin", "keyleak"),
                         os.X_OK), "binary not installed"
        if shutil.which("man"):
            env = dict(os.environ, MANPATH=os.path.join(share, "man"),
                       MANWIDTH="80")
            p = subprocess.run(["man", "-w", "keyleak"], capture_output=True,
                               env=env)
            assert_eq(p.stdout.decode().strip(),
                      os.path.join(share, "man", "man1", "keyleak.1"), "man -w")
            p = subprocess.run(["man", "keyleak"], capture_output=True, env=env)
            assert_eq(p.returncode, 0, "man keyleak")
            assert b"--fetch-missing" in p.stdout.replace(b"\xe2\x80\x90", b"-"), \
                "man keyleak does not show the page"
        got = bash_complete(d, ["keyleak", "scan", "--form"], script=os.path.join(
            share, "bash-completion", "completions", "keyleak"))
        assert_eq(got, {"--format"}, "installed bash completion")
        p = subprocess.run(["make", "-s", "uninstall", "DESTDIR=" + dest,
                            "PREFIX=/usr/local"], cwd=lib.ROOT,
                           capture_output=True)
        assert_eq(p.returncode, 0, "make uninstall")
        left = [os.path.join(r, f) for r, _, fs in os.walk(dest) for f in fs]
        assert_eq(left, [], "files left by make uninstall")


# ------------------------------------------------------------ Markdown

README_MAX_LINES = 320  # the front door (300 today): readable in ten minutes


def markdown_files():
    return [os.path.join(lib.ROOT, "README.md")] + sorted(
        glob.glob(os.path.join(lib.ROOT, "doc", "*.md")))


def prose_lines(text):
    """(line number, line) of the lines outside fenced code blocks."""
    out, fence = [], None
    for n, line in enumerate(text.split("\n"), 1):
        m = re.match(r"\s*(```|~~~)", line)
        if m and (fence is None or m.group(1) == fence):
            fence = None if fence else m.group(1)
            continue
        if fence is None:
            out.append((n, line))
    return out


def github_slug(heading):
    """The anchor GitHub gives a heading: its text, lowercased, without
    punctuation other than - and _, spaces turned into -."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    seen, out = {}, set()
    for _, line in prose_lines(text):
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            slug = github_slug(m.group(1))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else "%s-%d" % (slug, n))
    return out


def links(text):
    """(line, target) of every inline link outside code."""
    lines = prose_lines(text)
    joined = "\n".join(re.sub(r"`[^`]*`", "", l) for _, l in lines)
    out = []
    for m in re.finditer(r"\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)", joined):
        line = lines[joined.count("\n", 0, m.start())][0]
        out.append((line, m.group(1)))
    return out


def broken_links(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    bad = []
    for line, target in links(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # http:, https:, mailto:: not ours to check
        file, _, frag = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file)) \
            if file else path
        where = "%s:%d: %s" % (os.path.relpath(path, lib.ROOT), line, target)
        if not os.path.exists(dest):
            bad.append(where + " (no such file)")
        elif frag and dest.endswith(".md") and frag not in anchors(dest):
            bad.append(where + " (no heading with that anchor)")
    return bad


def cells(row):
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return len(re.split(r"(?<!\\)\|", row))


def broken_tables(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    bad, block = [], []
    rel = os.path.relpath(path, lib.ROOT)
    delim = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
    for n, line in prose_lines(text) + [(0, "")]:
        if line.lstrip().startswith("|"):
            block.append((n, line))
            continue
        if block:
            if len(block) < 2 or not delim.match(block[1][1].strip()):
                bad.append("%s:%d: rows without a header and delimiter row "
                           "(they render as plain text)" % (rel, block[0][0]))
            else:
                want = cells(block[0][1])
                for rn, row in block[1:]:
                    if cells(row) != want:
                        bad.append("%s:%d: %d cells, the header has %d"
                                   % (rel, rn, cells(row), want))
            block = []
    return bad


@test
def markdown_links_resolve():
    bad = [b for p in markdown_files() for b in broken_links(p)]
    assert not bad, "broken links:\n  " + "\n  ".join(bad)


@test
def markdown_tables_are_whole():
    bad = [b for p in markdown_files() for b in broken_tables(p)]
    assert not bad, "broken tables:\n  " + "\n  ".join(bad)


@test
def markdown_checks_can_fail():
    with lib.TempDir() as d:
        path = os.path.join(d, "x.md")
        lib.write(path, "# Top `--x`\n\nSee [a](#top---x), [b](#nope), "
                  "[c](y.md), [d](x.md#top---x).\n\n```\n[e](z.md)\n```\n\n"
                  "| a | b |\n| --- | --- |\n| 1 | 2 |\n| 1 \\| 2 | 3 |\n"
                  "| 1 |\n\ntext\n| stray | row |\n")
        assert_eq([b.split(": ", 1)[1] for b in broken_links(path)],
                  ["#nope (no heading with that anchor)",
                   "y.md (no such file)"], "links")
        assert_eq([b.split(": ", 1)[1] for b in broken_tables(path)],
                  ["1 cells, the header has 2",
                   "rows without a header and delimiter row (they render "
                   "as plain text)"], "tables")


@test
def readme_is_the_front_door():
    with open(os.path.join(lib.ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    n = text.count("\n")
    assert n <= README_MAX_LINES, ("README.md has %d lines: move details to "
                                   "a guide in doc/" % n)
    for must in ("make run", "make test", "## Contents", "## Guides"):
        assert must in text, "README.md lacks %r" % must
    listed = set(re.findall(r"\(doc/([a-z0-9-]+\.md)\)", text))
    guides = {os.path.basename(p) for p in markdown_files()[1:]}
    assert_eq(sorted(guides - listed), [], "guides in doc/ README.md does "
              "not link")


if __name__ == "__main__":
    lib.main()
