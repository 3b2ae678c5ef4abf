"""A local fake of the GitHub, GitLab and Gitea/Forgejo listing APIs for
the `keyleak repos` / `audit --repos-from` tests: an http.server on
127.0.0.1 that pages the way each platform does (GitHub Link headers,
GitLab X-Next-Page, Gitea page/limit with X-Total-Count), can answer
with a rate limit, a 5xx, a 401 or a page that is not JSON, checks the
token header, records every request, and serves git's smart HTTP
(git http-backend) behind Basic authentication for clones with a token."""
import base64
import json
import os
import subprocess
import threading
import time
import urllib.parse

import lib

API_PATH = {"github": "/api/v3", "gitlab": "/api/v4", "gitea": "/api/v1"}


def repo(name, clone_url, fork=False, archived=False, private=False):
    return {"name": name, "clone_url": clone_url, "fork": fork,
            "archived": archived, "private": private}


class Fake:
    """owners: {"ORG": [repo(...), ...]} (GitLab: "GROUP/SUB" keys are
    subgroups). faults: {"rate_limit": {page: kind}, "error": {page: n},
    "not_json": {page}, "unauthorized": bool}, each page failing once."""

    def __init__(self, platform, owners, token=None, faults=None,
                 api_prefix=None, git_root=None, page_cap=None):
        self.platform = platform
        self.owners = owners
        self.token = token
        self.faults = faults or {}
        self.prefix = API_PATH[platform] if api_prefix is None else api_prefix
        self.git_root = git_root
        self.page_cap = page_cap
        self.requests = []      # (method, path, {lowercase name: value})
        self.failed = set()     # faults already served
        self.lock = threading.Lock()
        self.http = lib.LoopbackHTTP(self.handle, keep_alive=True)
        self.base = self.http.url

    def __enter__(self):
        self.http.__enter__()
        return self

    def __exit__(self, *exc):
        self.http.__exit__(*exc)

    @property
    def api_url(self):
        return self.base + self.prefix

    # ------------------------------------------------------------ replies

    def send(self, h, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def once(self, key):
        with self.lock:
            if key in self.failed:
                return False
            self.failed.add(key)
            return True

    def authorised(self, h):
        if not self.token:
            return True
        want = {"github": ("Authorization", "Bearer " + self.token),
                "gitlab": ("PRIVATE-TOKEN", self.token),
                "gitea": ("Authorization", "token " + self.token)}
        k, v = want[self.platform]
        return h.headers.get(k) == v

    def handle(self, h):
        with self.lock:
            self.requests.append((h.command, h.path,
                                  {k.lower(): v for k, v in h.headers.items()}))
        url = urllib.parse.urlsplit(h.path)
        if url.path.startswith("/git/"):
            return self.git(h, url)
        if not url.path.startswith(self.prefix + "/"):
            return self.send(h, 404, {"message": "Not Found"})
        parts = url.path[len(self.prefix) + 1:].split("/")
        q = dict(urllib.parse.parse_qsl(url.query))
        if len(parts) != 3 or parts[2] not in ("repos", "projects"):
            return self.send(h, 404, {"message": "Not Found"})
        owner = urllib.parse.unquote(parts[1])
        if self.faults.get("unauthorized") or not self.authorised(h):
            return self.send(h, 401, {"message": "Bad credentials"})
        if owner not in self.owners:
            return self.send(h, 404, {"message": "Not Found"})
        items = list(self.owners[owner])
        if self.platform == "gitlab" and q.get("include_subgroups") == "true":
            for k in sorted(self.owners):
                if k.startswith(owner + "/"):
                    items += self.owners[k]
        page = int(q.get("page", "1"))
        if self.fault(h, page):
            return
        getattr(self, self.platform)(h, url, q, items, page)

    def fault(self, h, page):
        kind = self.faults.get("rate_limit", {}).get(page)
        if kind and self.once(("rate", page)):
            if kind == "reset":   # GitHub's hourly budget, spent
                hdrs = [("X-RateLimit-Remaining", "0"),
                        ("X-RateLimit-Reset", str(int(time.time()) + 1))]
                status = 403
            elif kind == "gitlab-reset":
                hdrs = [("RateLimit-Remaining", "0"),
                        ("RateLimit-Reset", str(int(time.time()) + 1))]
                status = 429
            else:                 # "403", "429": Retry-After 1; "long"
                hdrs = [("Retry-After", "3600" if kind == "long" else "1")]
                status = 403 if kind == "403" else 429
            self.send(h, status, {"message": "rate limit exceeded"}, hdrs)
            return True
        if page in self.faults.get("error", {}) and self.once(("err", page)):
            self.send(h, self.faults["error"][page], b"<html>busy</html>")
            return True
        if page in self.faults.get("not_json", ()):
            self.send(h, 200, b"<!DOCTYPE html><html>sign in</html>",
                      [("Content-Type", "text/html")])
            return True
        return False

    def page_of(self, items, page, per):
        return items[(page - 1) * per:page * per]

    def github(self, h, url, q, items, page):
        per = int(q.get("per_page", "30"))
        chunk = self.page_of(items, page, per)
        body = [{"full_name": r["name"], "clone_url": r["clone_url"],
                 "fork": r["fork"], "archived": r["archived"],
                 "private": r["private"],
                 "visibility": "private" if r["private"] else "public"}
                for r in chunk]
        last = max(1, (len(items) + per - 1) // per)
        links = []

        base = self.base
        if self.faults.get("foreign_next"):   # a next page elsewhere
            base = base.replace("127.0.0.1", "localhost")

        def link(p, rel):
            qq = dict(q, page=str(p))
            return '<%s%s?%s>; rel="%s"' % (base, url.path,
                                            urllib.parse.urlencode(qq), rel)
        if page < last:
            links.append(link(page + 1, "next"))
            links.append(link(last, "last"))
        if page > 1:
            links.insert(0, link(1, "first"))
        self.send(h, 200, body, [("Link", ", ".join(links))] if links else [])

    def gitlab(self, h, url, q, items, page):
        per = int(q.get("per_page", "20"))
        if self.faults.get("keyset"):   # Link only, by the last id seen
            return self.gitlab_keyset(h, url, q, items, per)
        chunk = self.page_of(items, page, per)
        body = []
        for r in chunk:
            e = {"path_with_namespace": r["name"],
                 "http_url_to_repo": r["clone_url"],
                 "archived": r["archived"],
                 "visibility": "private" if r["private"] else "public"}
            if r["fork"]:
                e["forked_from_project"] = {"id": 1}
            body.append(e)
        more = page * per < len(items)
        self.send(h, 200, body, [("X-Page", str(page)),
                                 ("X-Next-Page", str(page + 1) if more else ""),
                                 ("X-Per-Page", str(per))])

    def gitlab_keyset(self, h, url, q, items, per):
        start = int(q.get("id_after", "0"))
        chunk = items[start:start + per]
        body = [{"path_with_namespace": r["name"],
                 "http_url_to_repo": r["clone_url"],
                 "archived": r["archived"], "visibility": "public"}
                for r in chunk]
        hdrs = []
        if start + per < len(items):
            qq = dict(q, id_after=str(start + per))
            hdrs.append(("Link", '<%s%s?%s>; rel="next"' % (
                self.base, url.path, urllib.parse.urlencode(qq))))
        self.send(h, 200, body, hdrs)

    def gitea(self, h, url, q, items, page):
        per = int(q.get("limit", "30"))
        if self.page_cap:
            per = min(per, self.page_cap)
        chunk = self.page_of(items, page, per)
        body = [{"full_name": r["name"], "clone_url": r["clone_url"],
                 "fork": r["fork"], "archived": r["archived"],
                 "private": r["private"], "internal": False} for r in chunk]
        self.send(h, 200, body, [("X-Total-Count", str(len(items)))])

    # ------------------------------------------------- git over HTTP

    def git(self, h, url):
        """git http-backend for /git/NAME.git/..., Basic auth with the
        token as password (any user) required."""
        auth = h.headers.get("Authorization", "")
        ok = False
        if auth.startswith("Basic "):
            user, _, pw = base64.b64decode(auth[6:]).decode().partition(":")
            ok = pw == self.token
        if not ok:
            return self.send(h, 401, b"", [("WWW-Authenticate",
                                                'Basic realm="git"')])
        n = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(n) if n else b""
        env = dict(os.environ, GIT_PROJECT_ROOT=self.git_root,
                   GIT_HTTP_EXPORT_ALL="1", PATH_INFO=url.path[4:],
                   QUERY_STRING=url.query, REQUEST_METHOD=h.command,
                   CONTENT_TYPE=h.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(body)), REMOTE_USER="user")
        if h.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = h.headers["Content-Encoding"]
        p = subprocess.run(["git", "http-backend"], input=body, env=env,
                           capture_output=True)
        head, _, rest = p.stdout.partition(b"\r\n\r\n")
        status, hdrs = 200, []
        for line in head.decode().split("\r\n"):
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.split()[0])
            elif k:
                hdrs.append((k, v.strip()))
        self.send(h, status, rest, hdrs)
