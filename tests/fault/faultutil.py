"""Helpers shared by the fault-injection tests (tests/fault/): the integration
harness (tests/integration/mtharness.py, nodeutil.py), store checks, a run
under RLIMIT_FSIZE and a tiny fault-injecting TCP proxy on 127.0.0.1."""
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from mtharness import Harness, stmt_id  # noqa: E402,F401
from nodeutil import Node, stop_all  # noqa: E402,F401


def integrity(db):
    """PRAGMA integrity_check of a store file (read-only)."""
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return c.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        c.close()


def store_ok(h, home, label):
    """`mesh log verify` clean and SQLite integrity_check "ok"."""
    r = h.run(["log", "verify"], home=home, timeout=300)
    h.check("%s: mesh log verify is clean" % label, r.returncode == 0,
            (r.stdout[-300:], r.stderr[-300:]))
    ic = integrity(os.path.join(home, "trust.db"))
    h.check("%s: integrity_check ok" % label, ic == "ok", ic)


def run_fsize(h, args, home, limit, timeout=300):
    """Run mesh with RLIMIT_FSIZE=limit bytes and SIGXFSZ ignored (writes past
    the limit fail with EFBIG, as on a full disk)."""
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    cmd = [h.mesh, "--home", home] + list(args)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=h.env,
                          timeout=timeout, preexec_fn=pre)


def acked_ids(stdout):
    """Statement ids printed as "ok <id>" / "duplicate <id>" by --ack."""
    out = set()
    for l in stdout.decode(errors="replace").splitlines():
        p = l.split()
        if len(p) == 2 and p[0] in ("ok", "duplicate"):
            out.add(p[1])
    return out


class Proxy:
    """TCP proxy 127.0.0.1:<port> -> 127.0.0.1:<target_port>.

    Faults, changeable at any time: `delay` seconds before each chunk relayed
    from the server; `cut_after` bytes of server->client data (counted over
    all connections since the last reset()) after which the connection is
    reset (RST) mid-response and every later connection is refused at once,
    until heal()."""

    def __init__(self, target_port):
        self.target = target_port
        self.delay = 0.0
        self.cut_after = None
        self.relayed = 0
        self.cuts = 0
        self.lock = threading.Lock()
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(64)
        self.port = self.srv.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def heal(self):
        with self.lock:
            self.delay, self.cut_after, self.relayed = 0.0, None, 0

    def fault(self, cut_after, delay=0.0):
        with self.lock:
            self.delay, self.cut_after, self.relayed = delay, cut_after, 0

    def close(self):
        self.stopped = True
        try:
            self.srv.close()
        except OSError:
            pass

    @staticmethod
    def _reset(s):
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        except OSError:
            pass
        try:  # wakes a thread blocked in recv() on s, so the close is real
            s.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass

    def _tripped(self):
        with self.lock:
            return self.cut_after is not None and self.relayed >= self.cut_after

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            if self._tripped():
                self._reset(c)
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=10)
            except OSError:
                self._reset(c)
                continue
            threading.Thread(target=self._pipe, args=(c, u, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, True), daemon=True).start()

    def _pipe(self, src, dst, from_server):
        try:
            while True:
                data = src.recv(16384)
                if not data:
                    break
                if from_server:
                    with self.lock:
                        delay, cut = self.delay, self.cut_after
                        if cut is not None:
                            room = max(0, cut - self.relayed)
                            data = data[:room]
                        self.relayed += len(data)
                    if delay:
                        time.sleep(delay)
                    if data:
                        dst.sendall(data)
                    if cut is not None and self._tripped():
                        with self.lock:
                            self.cuts += 1
                        break
                else:
                    dst.sendall(data)
        except OSError:
            pass
        self._reset(src)
        self._reset(dst)
