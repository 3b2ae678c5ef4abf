"""`make valgrind`: the end-to-end suite's main cases under valgrind
(memcheck, full leak check). Each keyleak run must keep its exit status
and valgrind must report no invalid access and no leak (definite, indirect
or possible); any report turns the run's status into 3. Prints TAP lines
like the other tests. KEYLEAK names the binary (default ./keyleak)."""
import base64
import http.server
import io
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e"))
import lib  # noqa: E402
import test_parallel  # noqa: E402

VALGRIND = ["valgrind", "--quiet", "--leak-check=full", "--error-exitcode=3",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--show-leak-kinds=definite,indirect,possible",
            "--track-fds=no", "--num-callers=30",
            "--suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                             "valgrind.supp")]
KEY_RULE = "groq-api-key"


def setup(tmp):
    """A repository with history, a staged key, a work-tree key, a .env
    and a hostile file name; returns (repo, keys)."""
    keys = [lib.make_key(KEY_RULE, 200 + n) for n in range(4)]
    repo = lib.new_repo(tmp)
    lib.commit_file(repo, "config.py", "k = '%s'\n" % keys[0], "add config")
    lib.commit_file(repo, "config.py", "k = os.environ['K']\n", "remove key")
    lib.commit_file(repo, ".env", "OPENAI_API_KEY=unset\n", "env")
    lib.write(os.path.join(repo, "staged.txt"), "k = %s\n" % keys[1])
    lib.git(repo, "add", "staged.txt")
    lib.write(os.path.join(repo, "new\nline\xe9.txt"), "k = %s\n" % keys[2])
    with open(os.path.join(repo, "utf16.txt"), "wb") as f:
        f.write(b"\xff\xfe" + ("k = %s\n" % keys[3]).encode("utf-16-le"))
    # the decoding and archive stages: a base64 value and a zipped .env
    # in history and in the work tree
    env = "GROQ_API_KEY=%s\n" % keys[0]
    lib.write(os.path.join(repo, "k8s.yaml"), "data:\n  K: %s\n" %
              base64.b64encode(env.encode()).decode())
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("app/.env", env)
    lib.write(os.path.join(repo, "release.zip"), bio.getvalue(), "wb")
    lib.git(repo, "add", "k8s.yaml", "release.zip")
    return repo, keys


def push_lines(repo):
    """A pre-receive update adding a commit no ref has, which brings the
    first commit's key back."""
    head = lib.git(repo, "rev-parse", "HEAD")
    new = lib.git(repo, "commit-tree", "HEAD~2^{tree}", "-p", head, "-m",
                  "bring the key back")
    return ("%s %s refs/heads/main\n" % (head, new)).encode()


def cases(repo):
    out = os.path.join(os.path.dirname(repo), "report.sarif")
    return [
        (["scan", repo, "--format", "json"], 1),
        (["scan", repo, "--format", "sarif", "--output", out], 1),
        (["scan", repo, "--format", "text", "-j", "2"], 1),
        (["scan", "-", "--format", "json"], 1),
        (["staged", repo, "--format", "json"], 1),
        (["history", repo, "--format", "sarif"], 1),
        (["history", "--all", repo, "--format", "json"], 1),
        (["audit", repo, "--format", "json"], 1),
        (["scan", "/nonexistent/path"], 2),
        (["rules", "--check"], 0),
        (["pre-receive", "--repo", repo, "--format", "json"], 1),
    ]


class _Provider(http.server.BaseHTTPRequestHandler):
    """--verify's provider on loopback: the first key live, others 401."""
    live = None

    def log_message(self, *args):
        pass

    def do_GET(self):
        ok = self.headers.get("Authorization", "") == "Bearer %s" % _Provider.live
        body = b'{"data": []}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def verify_case(repo, keys, n):
    """audit --verify against a loopback server: libcurl's and OpenSSL's
    set-up and clean-up must leak nothing either."""
    _Provider.live = keys[1]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Provider)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = dict(os.environ, KEYLEAK_VERIFY_BASE_URL="http://127.0.0.1:%d" %
               srv.server_address[1], NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    try:
        p = subprocess.run(VALGRIND + [lib.KEYLEAK, "audit", repo, "--verify",
                                       "--verify-jobs", "2", "--format", "json"],
                           capture_output=True, timeout=900, env=env)
    finally:
        srv.shutdown()
        srv.server_close()
    if p.returncode == 1:
        print("ok %d - valgrind keyleak audit --verify" % n)
        return 0
    print("not ok %d - valgrind keyleak audit --verify: exit %d, want 1" % (n, p.returncode))
    for line in p.stderr.decode(errors="replace").splitlines()[-60:]:
        print("#   " + line)
    return 1
def worker_cases(tmp):
    """history and audit on a repository long enough that the walk, the
    blob scan and provenance run in worker processes (which valgrind
    follows: their reports reach stderr, see run_case)."""
    repo = lib.new_repo(tmp, "long")
    test_parallel.build(repo)
    return [(["history", "--all", "-j", "2", repo, "--format", "json"], 1),
            (["audit", "-j", "2", repo, "--format", "json"], 1)]


def org_cases(repo):
    """audit --repos over the repository and a mirrored bare clone of it,
    twice with --state-dir (the second run reuses the state), then a
    merge into SARIF."""
    d = os.path.dirname(repo)
    bare = os.path.join(d, "bare.git")
    lib.git(repo, "clone", "-q", "--bare", repo, bare)
    lst = os.path.join(d, "repos.txt")
    lib.write(lst, "%s\nfile://%s\n" % (repo, bare))
    out = os.path.join(d, "org.jsonl")
    org = ["audit", "--repos", lst, "--mirror-dir", os.path.join(d, "mirrors"),
           "--state-dir", os.path.join(d, "state"), "--format", "jsonl",
           "--output", out, "--jobs", "2"]
    return [(org, 1), (org, 1), (["merge", out, "--format", "sarif"], 1)]


def main():
    if not shutil.which("valgrind"):
        print("ok 1 - valgrind # SKIP valgrind is not installed")
        return 0
    failed = 0
    with lib.TempDir() as tmp:
        repo, keys = setup(tmp)
        all_cases = cases(repo) + org_cases(repo) + worker_cases(tmp)
        for n, (args, want) in enumerate(all_cases, 1):
            stdin = ("k = %s\n" % keys[0]).encode() if "-" in args else None
            if args[0] == "pre-receive":
                stdin = push_lines(repo)
            p = subprocess.run(VALGRIND + [lib.KEYLEAK] + args, input=stdin,
                               capture_output=True, timeout=900)
            name = "valgrind keyleak " + " ".join(a.replace(tmp, "TMP") for a in args)
            # A worker process's exit status does not reach ours (the
            # parent reads its records, not its status): with --quiet,
            # any "==PID==" line is a report, whichever process made it.
            reported = re.search(rb"^==\d+== ", p.stderr, re.M)
            if p.returncode == want and not reported:
                print("ok %d - %s" % (n, name))
                continue
            failed += 1
            print("not ok %d - %s: exit %d, want %d" % (n, name, p.returncode, want))
            for line in p.stderr.decode(errors="replace").splitlines()[-60:]:
                print("#   " + line)
            sys.stdout.flush()
        failed += verify_case(repo, keys, len(all_cases) + 1)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
