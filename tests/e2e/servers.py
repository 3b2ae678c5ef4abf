"""Real git servers for the push-protection tests and the server benchmark,
started on 127.0.0.1 from Debian's packages in a temporary directory, each
on its own free high port, each in its own process group so that stop()
ends it and every child it forked. The configurations are the ones
doc/server-deployments.md documents, with paths under the temp dir.

    git daemon --enable=receive-pack           GitDaemon
    nginx + fcgiwrap + git http-backend, basic SmartHttp   (REMOTE_USER)
    OpenSSH sshd + git-shell, ExposeAuthInfo   SshGitShell (key comment)
    OpenSSH sshd + gitolite3                   Gitolite    (GL_USER)

Every server runs with a PATH that holds no keyleak: the hooks find the
binary by the absolute path install-hook wrote."""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import lib

SERVER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"
GITOLITE_SHELL = "/usr/share/gitolite3/gitolite-shell"
GIT_ENV = {"GIT_AUTHOR_NAME": "Ann Author", "GIT_AUTHOR_EMAIL": "ann@x",
           "GIT_COMMITTER_NAME": "Ann Author", "GIT_COMMITTER_EMAIL": "ann@x",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}


class Missing(Exception):
    """A program a server needs is not installed."""


def need(*programs):
    for p in programs:
        if not (os.path.isabs(p) and os.access(p, os.X_OK)) and \
                not shutil.which(p, path=SERVER_PATH):
            raise Missing("%s is not installed (see .ci/run)" % p)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(home, **extra):
    env = {"PATH": SERVER_PATH, "HOME": home, "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def installed_keyleak(base):
    """A copy of the binary under test in base/opt/bin (readable by all),
    as a package would install it: the hooks run it by this path, and a
    test can remove it to see the hooks fail closed."""
    bindir = os.path.join(base, "opt", "bin")
    os.makedirs(bindir, exist_ok=True)
    for d in (base, os.path.join(base, "opt"), bindir):
        os.chmod(d, 0o755)
    exe = os.path.join(bindir, "keyleak")
    shutil.copy(lib.KEYLEAK, exe)
    os.chmod(exe, 0o755)
    return exe


def protect(repo, keyleak, config_dir, hook_dir=None, timeout=None):
    """keyleak's pre-receive hook in repo (or its text in hook_dir), the
    server config in config_dir/keyleak.json: bypass allowed, an audit
    log, and push options advertised."""
    if hook_dir is None:
        p = subprocess.run([keyleak, "install-hook", "--pre-receive", repo],
                           capture_output=True)
    else:
        os.makedirs(hook_dir, exist_ok=True)
        p = subprocess.run([keyleak, "install-hook", "--pre-receive",
                            "--print"], capture_output=True)
        path = os.path.join(hook_dir, "pre-receive")
        with open(path, "wb") as f:
            f.write(p.stdout)
        os.chmod(path, 0o755)
    assert p.returncode == 0, p.stderr
    cfg = os.path.join(config_dir, "keyleak.json")
    write_config(cfg, timeout)
    git_server(repo, "config", "keyleak.config", cfg)
    git_server(repo, "config", "receive.advertisePushOptions", "true")
    return cfg


def write_config(cfg, timeout=None):
    push = {"allow_bypass": True, "audit_log": "audit.log"}
    if timeout is not None:
        push["timeout"] = timeout
    lib.write(cfg, json.dumps({"version": 1, "push": push}))


def git_server(repo, *args):
    subprocess.run(["git", "-C", repo] + list(args), check=True,
                   env=dict(os.environ, **GIT_ENV), capture_output=True)


def bare(path):
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", path],
                   check=True, env=dict(os.environ, **GIT_ENV))
    return path


class Server:
    """A process group started by start(), ended by stop()."""
    name = "server"

    def __init__(self, base):
        self.base = os.path.join(base, self.name)
        os.makedirs(self.base)
        self.procs = []
        self.port = free_port()

    def spawn(self, args, env, log):
        out = open(os.path.join(self.base, log), "ab")
        p = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                             stdout=out, stderr=subprocess.STDOUT,
                             start_new_session=True)
        out.close()
        self.procs.append(p)
        return p

    def wait_listening(self, port=None, timeout=30):
        port = port or self.port
        end = time.time() + timeout
        while time.time() < end:
            for p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError("%s exited: %s" % (self.name,
                                                          self.logs()))
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("%s not listening: %s" % (self.name, self.logs()))

    def logs(self):
        text = []
        for f in sorted(os.listdir(self.base)):
            if f.endswith(".log") and f != "audit.log":
                with open(os.path.join(self.base, f), errors="replace") as h:
                    text.append("%s: %s" % (f, h.read()[-2000:]))
        return "\n".join(text)

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            # Children that left the group (none expected): by pid only.
        self.procs = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # What a test needs from each server.
    audit_log = property(lambda self: os.path.join(self.base, "audit.log"))

    def client_env(self, user="alice"):
        return {}


class GitDaemon(Server):
    """git daemon: no authentication, so no pusher name."""
    name = "daemon"

    def __init__(self, base, keyleak):
        super().__init__(base)
        self.root = os.path.join(self.base, "repos")
        self.repo = bare(os.path.join(self.root, "project.git"))
        self.config = protect(self.repo, keyleak, self.base)

    def start(self):
        need("git")
        self.spawn(["git", "daemon", "--reuseaddr", "--listen=127.0.0.1",
                    "--port=%d" % self.port, "--base-path=" + self.root,
                    "--export-all", "--enable=receive-pack",
                    "--informative-errors", self.root],
                   server_env(self.base), "daemon.log")
        self.wait_listening()

    def url(self, user=None):
        return "git://127.0.0.1:%d/project.git" % self.port


NGINX_CONF = """\
# keyleak's test server: nginx in front of fcgiwrap and git http-backend.
{user}worker_processes 2;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/nginx-access.log;
    client_body_temp_path {d}/tmp/body;
    fastcgi_temp_path {d}/tmp/fastcgi;
    proxy_temp_path {d}/tmp/proxy;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    server {{
        listen 127.0.0.1:{port};
        # Pushes of any size; the hook may take its time.
        client_max_body_size 0;
        fastcgi_read_timeout 600s;
        location ~ ^/git(/.*)$ {{
            auth_basic "git";
            auth_basic_user_file {d}/htpasswd;
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME {backend};
            fastcgi_param GIT_PROJECT_ROOT {root};
            fastcgi_param GIT_HTTP_EXPORT_ALL "";
            fastcgi_param PATH_INFO $1;
            # receive-pack needs an authenticated user; keyleak logs it.
            fastcgi_param REMOTE_USER $remote_user;
            fastcgi_pass unix:{d}/fcgiwrap.sock;
        }}
    }}
}}
"""

USERS = {"alice": "alice-pw", "bob": "bob-pw"}


class SmartHttp(Server):
    """nginx + fcgiwrap + git http-backend with HTTP basic auth."""
    name = "http"

    def __init__(self, base, keyleak, children=8, hook=True):
        super().__init__(base)
        self.root = os.path.join(self.base, "repos")
        self.repo = bare(os.path.join(self.root, "project.git"))
        self.children = children
        self.config = protect(self.repo, keyleak, self.base) if hook else None

    def start(self):
        need("nginx", "fcgiwrap", "htpasswd", HTTP_BACKEND)
        d = self.base
        for sub in ("body", "fastcgi", "proxy", "uwsgi", "scgi"):
            os.makedirs(os.path.join(d, "tmp", sub), exist_ok=True)
        pw = os.path.join(d, "htpasswd")
        for i, (user, password) in enumerate(sorted(USERS.items())):
            subprocess.run(["htpasswd", "-b"] + (["-c"] if i == 0 else []) +
                           [pw, user, password], check=True,
                           capture_output=True)
        # Root's workers would run as nobody and not reach the temp dir.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        conf = os.path.join(d, "nginx.conf")
        lib.write(conf, NGINX_CONF.format(user=user, d=d, port=self.port,
                                          backend=HTTP_BACKEND,
                                          root=self.root))
        sock = os.path.join(d, "fcgiwrap.sock")
        self.spawn(["fcgiwrap", "-c", str(self.children), "-s",
                    "unix:" + sock], server_env(d), "fcgiwrap.log")
        end = time.time() + 20
        while not os.path.exists(sock) and time.time() < end:
            time.sleep(0.05)
        self.spawn(["nginx", "-p", d, "-e", os.path.join(d, "nginx-error.log"),
                    "-c", conf], server_env(d), "nginx.log")
        self.wait_listening()

    def url(self, user="alice", repo="project.git"):
        return "http://%s:%s@127.0.0.1:%d/git/%s" % (
            user, USERS[user], self.port, repo)


def keypair(d, name, comment):
    path = os.path.join(d, name)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                    comment, "-f", path], check=True)
    with open(path + ".pub") as f:
        return path, f.read().strip()


SSHD_CONF = """\
# keyleak's test sshd: one high port on 127.0.0.1, keys only.
Port {port}
ListenAddress 127.0.0.1
HostKey {d}/ssh_host_ed25519_key
PidFile {d}/sshd.pid
AuthorizedKeysFile {keys}
AllowUsers {user}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
# The keys live in a temp dir below /tmp (world-writable): not checked.
StrictModes no
# SSH_USER_AUTH names the key that logged in: keyleak's pusher.
ExposeAuthInfo yes
SetEnv HOME={home}
AllowTcpForwarding no
X11Forwarding no
LogLevel VERBOSE
"""


class Sshd(Server):
    """An OpenSSH server on a high port for the current user, whose
    sessions get HOME=home (where the authorized_keys live)."""

    def start_sshd(self, keys, home):
        need("/usr/sbin/sshd", "ssh-keygen", "ssh")
        d = self.base
        if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
            # sshd's privilege-separation directory (systemd makes it).
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                        os.path.join(d, "ssh_host_ed25519_key")], check=True)
        conf = os.path.join(d, "sshd_config")
        import pwd
        lib.write(conf, SSHD_CONF.format(port=self.port, d=d, keys=keys,
                                         home=home,
                                         user=pwd.getpwuid(os.geteuid())[0]))
        self.spawn(["/usr/sbin/sshd", "-D", "-e", "-f", conf],
                   server_env(d), "sshd.log")
        self.wait_listening()

    def ssh_command(self, key):
        return ("ssh -F /dev/null -i %s -o IdentitiesOnly=yes "
                "-o BatchMode=yes -o StrictHostKeyChecking=no "
                "-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR" % key)

    def client_env(self, user="alice"):
        return {"GIT_SSH_COMMAND": self.ssh_command(self.keys[user])}

    def login(self):
        import pwd
        return pwd.getpwuid(os.geteuid())[0]


class SshGitShell(Sshd):
    """sshd + git-shell: each key's authorized_keys line forces git-shell
    (as a `git` user whose login shell is git-shell would); the pusher is
    the key's comment (ExposeAuthInfo)."""
    name = "ssh"

    def __init__(self, base, keyleak):
        super().__init__(base)
        self.home = os.path.join(self.base, "home")
        os.makedirs(os.path.join(self.home, ".ssh"))
        self.repo = bare(os.path.join(self.home, "project.git"))
        self.config = protect(self.repo, keyleak, self.base)
        self.keys = {}
        lines = []
        for user, comment in (("alice", "alice@laptop"), ("bob", "bob")):
            path, pub = keypair(self.base, "id_" + user, comment)
            self.keys[user] = path
            lines.append('command="git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"",'
                         'no-port-forwarding,no-X11-forwarding,'
                         'no-agent-forwarding,no-pty ' + pub)
        self.authorized = os.path.join(self.home, ".ssh", "authorized_keys")
        lib.write(self.authorized, "\n".join(lines) + "\n")

    def start(self):
        need("git-shell")
        self.start_sshd(self.authorized, self.home)

    def url(self, user="alice"):
        return "ssh://%s@127.0.0.1:%d%s" % (self.login(), self.port,
                                             self.repo)


class Gitolite(Sshd):
    """sshd + gitolite3: gitolite writes authorized_keys (a forced
    gitolite-shell per key), keyleak is every repository's pre-receive
    hook through gitolite's LOCAL_CODE hooks/common; pusher: GL_USER."""
    name = "gitolite"

    def __init__(self, base, keyleak):
        super().__init__(base)
        need("gitolite", GITOLITE_SHELL)
        self.home = os.path.join(self.base, "home")
        os.makedirs(self.home)
        env = dict(server_env(self.home), **GIT_ENV)
        self.keys = {}
        pubs = {}
        for user in ("admin", "alice", "bob"):
            path, pub = keypair(self.base, "id_" + user, user + "@host")
            self.keys[user] = path
            pubs[user] = pub
        admin_pub = os.path.join(self.base, "admin.pub")
        lib.write(admin_pub, pubs["admin"] + "\n")
        run = lambda *a: subprocess.run(list(a), env=env, check=True,
                                        capture_output=True, cwd=self.home)
        run("gitolite", "setup", "-pk", admin_pub)
        # Local code: keyleak's hook for every repository.
        rc = os.path.join(self.home, ".gitolite.rc")
        with open(rc) as f:
            text = f.read()
        text = text.replace('# LOCAL_CODE                =>  "$ENV{HOME}/local",',
                            'LOCAL_CODE                =>  "$ENV{HOME}/local",')
        assert 'LOCAL_CODE                =>  "$ENV{HOME}/local",' in text
        lib.write(rc, text)
        common = os.path.join(self.home, "local", "hooks", "common")
        # The offline way to administer gitolite: edit ~/.gitolite, then
        # compile and run the post-compile triggers (authorized_keys).
        gl = os.path.join(self.home, ".gitolite")
        for user in ("alice", "bob"):
            lib.write(os.path.join(gl, "keydir", user + ".pub"),
                      pubs[user] + "\n")
        lib.write(os.path.join(gl, "conf", "gitolite.conf"),
                  "repo gitolite-admin\n    RW+ = admin\n"
                  "repo project\n    RW+ = alice bob\n")
        run("gitolite", "compile")
        run("gitolite", "trigger", "POST_COMPILE")
        self.repo = os.path.join(self.home, "repositories", "project.git")
        self.config = protect(self.repo, keyleak, self.base, hook_dir=common)
        run("gitolite", "setup", "--hooks-only")
        self.authorized = os.path.join(self.home, ".ssh", "authorized_keys")

    def start(self):
        self.start_sshd(self.authorized, self.home)

    def url(self, user="alice"):
        return "ssh://%s@127.0.0.1:%d/project" % (self.login(), self.port)
