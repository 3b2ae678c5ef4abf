"""`keyleak version` names keyleak's version and the libraries it runs
with; the versions must be the installed ones (pkg-config), not made up."""
import re
import subprocess

import lib
from lib import assert_eq, test


def version_lines(*args):
    p = lib.run(list(args))
    assert_eq(p.returncode, 0, "exit status of %s" % " ".join(args))
    assert_eq(p.stderr, b"", "stderr")
    lines = p.stdout.decode().splitlines()
    return {l.split(" ", 1)[0]: l for l in lines}, lines


def pkg_version(name):
    p = subprocess.run(["pkg-config", "--modversion", name],
                       capture_output=True)
    if p.returncode != 0:
        raise lib.Skip("pkg-config does not know %s" % name)
    return p.stdout.decode().strip()


@test
def version_names_every_library():
    by_name, lines = version_lines("version")
    with open(lib.ROOT + "/include/keyleak.h") as f:
        want = re.search(r'#define KL_VERSION "([^"]+)"', f.read()).group(1)
    assert_eq(lines[0], "keyleak " + want, "first line")
    for name in ("libgit2", "PCRE2", "cJSON", "zlib"):
        assert name in by_name, "no %s line in %r" % (name, lines)
    assert re.search(r"JIT: (yes|no)", by_name["PCRE2"]), by_name["PCRE2"]


@test
def versions_match_the_installed_libraries():
    by_name, _ = version_lines("version")
    for name, pkg in (("libgit2", "libgit2"), ("PCRE2", "libpcre2-8"),
                      ("cJSON", "libcjson"), ("zlib", "zlib")):
        got = by_name[name].split(" ")[1]
        assert_eq(got, pkg_version(pkg), "%s version" % name)


@test
def dash_dash_version_is_the_same():
    _, a = version_lines("version")
    _, b = version_lines("--version")
    assert_eq(b, a, "--version output")


if __name__ == "__main__":
    lib.main()
