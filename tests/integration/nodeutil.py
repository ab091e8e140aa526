"""Helpers for the node integration tests: start real nodes on 127.0.0.1 with a
free port, talk to them with the bearer token, always stop them."""
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request


class Node:
    def __init__(self, h, home, name, extra=()):
        self.h, self.home, self.name = h, home, name
        self.extra = list(extra)
        self.proc = None
        self.url = None
        self.token = None
        self.log = h.path(name + ".log")

    def start(self, timeout=15):
        cmd = [self.h.mesh, "--home", self.home, "node", "start", "--listen", "127.0.0.1:0",
               "--sync-interval", "0", "--threads", "2"] + self.extra
        errf = open(self.log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, env=self.h.env)
        errf.close()
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if line or self.proc.poll() is not None:
                break
        text = line.decode()
        if not text.startswith("listening on http://"):
            self.stop()
            raise RuntimeError("%s did not start: %r" % (self.name, text))
        url = text.split()[2]
        self.url = url.split("/#token=")[0]
        self.token = url.split("/#token=")[1]
        with open(os.path.join(self.home, "api.cookie")) as f:
            if f.read() != self.token:
                raise RuntimeError("api.cookie differs from the printed token")
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def get(self, path, token=True, headers=None, method="GET", body=None, timeout=10):
        """(status, body bytes, headers) of one request."""
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + self.token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)

    def get_json(self, path, **kw):
        st, body, hd = self.get(path, **kw)
        try:
            return st, json.loads(body.decode()), hd
        except ValueError:
            return st, None, hd

    def wait_for(self, pred, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        return pred()


def signed(h, home, method, url, extra=(), timeout=60):
    """`mesh node request`: (status, body text) of one peer-signed request."""
    r = h.run(["node", "request", method, url] + list(extra), home=home, timeout=timeout)
    if r.returncode != 0:
        return None, r.stderr.decode(errors="replace")
    out = r.stdout.decode(errors="replace")
    first, _, rest = out.partition("\n")
    return int(first), rest


def stop_all(nodes):
    if isinstance(nodes, dict):  # its keys are names: stop the nodes, not them
        nodes = list(nodes.values())
    for n in nodes:
        try:
            n.stop()
        except Exception:  # noqa: BLE001 - stopping must never mask a result
            pass
