"""Headless Chromium for the HTML report's tests, driven over the DevTools
protocol on a pipe (--remote-debugging-pipe: the browser reads commands
on fd 3 and writes answers on fd 4, NUL-separated JSON), so only the
standard library is needed. Every request the page makes and every
dialog it opens is recorded, to prove a report fetches nothing and runs
no script from repository text.
"""
import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium():
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless browser with one page (a CDP session)."""

    def __init__(self, timeout=60):
        exe = find_chromium()
        if not exe:
            raise AssertionError("chromium is not installed (CI installs it: "
                                 "apt-get install chromium)")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="keyleak-chromium-")
        to_child_r, self._w = os.pipe()
        self._r, from_child_w = os.pipe()

        def fds():
            # after fork, before exec: the pipes become fds 3 and 4 (the
            # rest of Python's fds are close-on-exec)
            r, w = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(r, 3)
            os.dup2(w, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-default-apps", "--mute-audio",
             "--user-data-dir=" + self.profile, "--remote-debugging-pipe",
             "about:blank"],
            close_fds=False, preexec_fn=fds,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events = []
        self.session = None
        target = self.call("Target.createTarget", {"url": "about:blank"})
        attached = self.call("Target.attachToTarget",
                             {"targetId": target["targetId"], "flatten": True})
        self.session = attached["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(domain + ".enable")

    # ------------------------------------------------------------ protocol
    def _send(self, msg):
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._w, data)
            data = data[n:]

    def _read_message(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("chromium did not answer in time")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise AssertionError("chromium exited")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            msg["sessionId"] = self.session
        self._send(msg)
        deadline = time.time() + self.timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise AssertionError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self._event(m)

    def _event(self, m):
        self.events.append(m)
        if m["method"] == "Page.javascriptDialogOpening":
            # never leave a page stuck on a dialog; the test sees the event
            self._send({"id": 0, "method": "Page.handleJavaScriptDialog",
                        "params": {"accept": False}, "sessionId": self.session})

    def wait_event(self, method, timeout=None):
        deadline = time.time() + (timeout or self.timeout)
        for m in self.events:
            if m["method"] == method:
                return m
        while True:
            m = self._read_message(deadline)
            if "method" in m:
                self._event(m)
                if m["method"] == method:
                    return m

    # ----------------------------------------------------------------- page
    def open(self, path, width=1280, height=900):
        """Load a file; returns seconds from navigation to the load event."""
        self.size(width, height)
        self.events = []
        t0 = time.time()
        self.call("Page.navigate", {"url": "file://" + os.path.abspath(path)})
        self.wait_event("Page.loadEventFired")
        return time.time() - t0

    def size(self, width, height):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1,
                   "mobile": width < 700})

    def eval(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression,
                                            "returnByValue": True,
                                            "awaitPromise": True})
        if "exceptionDetails" in r:
            raise AssertionError("script failed: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def requests(self):
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]

    def dialogs(self):
        return [e for e in self.events
                if e["method"] == "Page.javascriptDialogOpening"]

    def log_entries(self):
        return [e["params"]["entry"] for e in self.events
                if e["method"] == "Log.entryAdded"]

    def screenshot(self, path, full=True):
        params = {"format": "png", "captureBeyondViewport": full}
        if full:
            m = self.call("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m["contentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"],
                              "height": min(size["height"], 6000), "scale": 1}
        data = self.call("Page.captureScreenshot", params)["data"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self._send({"id": 999999, "method": "Browser.close"})
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        os.close(self._w)
        os.close(self._r)
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
