"""`keyleak version` names keyleak's version and the libraries it runs
with; the versions must be the installed ones (pkg-config), not made up."""
import os
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


def libcurl_installed():
    """--verify loads libcurl.so.4 with dlopen; keyleak never links it."""
    p = subprocess.run(["ldconfig", "-p"], capture_output=True)
    return b"libcurl.so.4 " in p.stdout


@test
def versions_match_the_installed_libraries():
    by_name, _ = version_lines("version")
    libs = [("libgit2", "libgit2"), ("PCRE2", "libpcre2-8"),
            ("cJSON", "libcjson"), ("zlib", "zlib")]
    if libcurl_installed():
        libs.append(("libcurl", "libcurl"))
    else:
        assert_eq(by_name.get("libcurl"),
                  "libcurl not installed (needed by --verify and repos only)",
                  "libcurl line")
    for name, pkg in libs:
        got = by_name[name].split(" ")[1]
        assert_eq(got, pkg_version(pkg), "%s version" % name)


@test
def dash_dash_version_is_the_same():
    _, a = version_lines("version")
    _, b = version_lines("--version")
    assert_eq(b, a, "--version output")


@test
def packaging_names_the_same_version():
    """debian/changelog (the .deb's version) and the man page follow
    KL_VERSION; a release that bumps one must bump all."""
    _, lines = version_lines("version")
    want = lines[0].split(" ")[1]
    with open(lib.ROOT + "/debian/changelog") as f:
        top = f.readline()
    m = re.match(r"keyleak \(([^)]+)\) ", top)
    assert m, "debian/changelog first line: %r" % top
    assert_eq(m.group(1), want, "debian/changelog version")
    with open(lib.ROOT + "/doc/keyleak.1") as f:
        th = [l for l in f if l.startswith(".TH ")][0]
    assert '"keyleak %s"' % want in th, "doc/keyleak.1 .TH: %r" % th
    with open(lib.ROOT + "/debian/control") as f:
        control = f.read()
    assert "debhelper-compat (= 13)" in control, "debhelper compat 13"
    assert "${shlibs:Depends}" in control, "Depends from the shared libraries"
    assert os.access(lib.ROOT + "/debian/rules", os.X_OK), "debian/rules mode"


if __name__ == "__main__":
    lib.main()
