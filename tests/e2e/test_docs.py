"""The man page and the shell completions against `keyleak --help`.

doc/keyleak.1 is written by hand: every command and option --help shows
must have a .TP entry there, and the failure names exactly what is
missing. The completions read --help at completion time; these tests run
real bash, zsh (in a pseudo-terminal) and fish completion and compare what
they offer with --help. `make install` must put the man page and the
completions where man and the shells look."""
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
    assert_eq(format_values(), {"text", "json", "sarif", "jsonl", "html"},
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


if __name__ == "__main__":
    lib.main()
