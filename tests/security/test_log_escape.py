"""Issue #14 item 3 / SPEC §9.4 "control characters escaped in logs".

The node logs one logfmt line per event on stderr. The old node copied request
paths (percent-decoded by libmicrohttpd) and the error texts of peers into its
log verbatim: a request for /v1/x%0Amsg=forged… wrote a second, forged log
line; %1B wrote a raw ESC (terminal escape sequences in whatever shows the
log); a peer's error body did the same through the sync log line.

Checks (node started with --log-level debug):
  - requests for /v1/x%0Amsg=forged%20level=error%22, /v1/y%1B%5B2J%5C and
    /v1/z%0Dmsg=forgedcr: the log has no line starting with `msg=forged`, no
    raw ESC, no raw CR, and shows the escaped forms `\\n`, `\\x1b` (or
    `\\u001b`), `\\"` and `\\\\`;
  - a fake peer (a tiny HTTP server that answers /v1/id with a Node ID and
    everything else with 500 and a hostile error text — JSON
    {"error":"x\\nmsg=forged2 \\u001b[31m\\r"}, or a plain-text body with CR,
    ESC and BEL) added with `mesh peer add`, trusted full, synced by the node
    (--sync-interval 1): its error text reaches the log (escaped), and the log
    has no line starting with `msg=forged2`/`msg=forged3` and no raw ESC, CR
    or BEL.
"""
import http.server
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, stop_all  # noqa: E402
from secutil import raw, request_bytes  # noqa: E402

h = Harness(sys.argv)
nodes = []
servers = []

ESC_FORMS = re.compile(rb"\\(x1b|u001b)", re.I)


def read_log(node):
    with open(node.log, "rb") as f:
        return f.read()


def line_starts(log, prefix):
    return [l for l in log.split(b"\n") if l.lstrip().startswith(prefix)]


def control_problems(log):
    bad = []
    for name, byte in [("ESC", b"\x1b"), ("CR", b"\r"), ("BEL", b"\x07")]:
        if byte in log:
            i = log.index(byte)
            bad.append("raw %s at %d: %r" % (name, i, log[max(0, i - 80):i + 40]))
    return bad


class FakePeer(http.server.BaseHTTPRequestHandler):
    node_id = None
    served = 0

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/v1/id":
            body = json.dumps({"node_id": FakePeer.node_id, "did": "did:key:x",
                               "version": "0.1.0"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        else:
            FakePeer.served += 1
            if FakePeer.served % 2 == 1:
                body = b'{"error":"x\\nmsg=forged2 \\u001b[31m\\r"}'
                ctype = "application/json"
            else:
                body = b"y\r\nmsg=forged3 \x1b]0;pwned\x07 \x1b[2J\n"
                ctype = "text/plain"
            self.send_response(500)
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.path.startswith("/v1/feeds/reconcile"):
            # an old peer without reconciliation: the puller lists (GET
            # /v1/feeds), whose error texts alternate as above
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.do_GET()


def request_paths():
    a = h.path("a")
    h.init(a)
    node = Node(h, a, "a", ["--log-level", "debug"]).start()
    nodes.append(node)
    paths = ["/v1/x%0Amsg=forged%20level=error%22", "/v1/y%1B%5B2J%5C", "/v1/z%0Dmsg=forgedcr"]
    for p in paths:
        for auth in (None, "Bearer " + node.token):
            hdrs = [("Authorization", auth)] if auth else []
            r = raw(node.url, request_bytes("GET", p, hdrs), timeout=5)
            h.check("GET %s (%s) answered" % (p, "bearer" if auth else "anonymous"),
                    r.status in (400, 401, 404), r)
    st, _, _ = node.get("/v1/id", token=False)
    node.stop()
    log = read_log(node)
    forged = line_starts(log, b"msg=forged")
    h.check("request paths: no log line starts with msg=forged", not forged, forged[:3])
    bad = control_problems(log)
    h.check("request paths: no raw ESC or CR in the log", not bad, bad)
    reqs = [l for l in log.split(b"\n") if b"/v1/x" in l or b"/v1/y" in l or b"/v1/z" in l]
    print("  request lines:\n    " + "\n    ".join(repr(l) for l in reqs[:6]))
    h.check("the requests are logged (debug)", len(reqs) >= 3, reqs)
    def about(marker):
        return [l for l in reqs if marker in l][:2]
    h.check("newline shown as \\n", b"/v1/x\\nmsg=forged" in log, about(b"/v1/x"))
    h.check("ESC shown as \\x1b (or \\u001b)", ESC_FORMS.search(log) is not None,
            about(b"/v1/y"))
    h.check('a double quote inside the quoted path shown as \\"', b'level=error\\"' in log,
            about(b"/v1/x") + line_starts(log, b"msg=forged")[:1])
    h.check("a backslash shown as \\\\", b"[2J\\\\" in log, about(b"/v1/y"))
    h.check("CR shown as \\r (or \\x0d)",
            re.search(rb"/v1/z\\(r|x0d)msg=forgedcr", log, re.I) is not None, about(b"/v1/z"))


def peer_errors():
    a, f = h.path("pa"), h.path("pf")
    h.init(a)
    idf = h.init(f)
    FakePeer.node_id = idf
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakePeer)
    servers.append(srv)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d" % srv.server_address[1]
    r = h.run(["peer", "add", url], home=a)
    h.check("mesh peer add of the fake peer", r.returncode == 0, r.stderr)
    r = h.run(["trust", "add", idf, "--level", "full"], home=a)
    h.check("a trusts the fake peer full", r.returncode == 0, r.stderr)
    node = Node(h, a, "pa", ["--log-level", "debug", "--sync-interval", "1"]).start()
    nodes.append(node)
    deadline = time.monotonic() + 15
    while FakePeer.served < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    node.stop()
    h.check("the node synced with the fake peer at least 3 times", FakePeer.served >= 3,
            FakePeer.served)
    log = read_log(node)
    lines = [l for l in log.split(b"\n") if b"forged2" in l or b"forged3" in l]
    print("  sync lines:\n    " + "\n    ".join(repr(l) for l in lines[:4]))
    h.check("the peer's error texts reach the log", any(b"forged2" in l for l in lines) and
            any(b"forged3" in l for l in lines), lines[:4])
    forged = line_starts(log, b"msg=forged2") + line_starts(log, b"msg=forged3")
    h.check("peer error text: no log line starts with msg=forged2/3", not forged, forged[:3])
    bad = control_problems(log)
    h.check("peer error text: no raw ESC, CR or BEL in the log", not bad, bad)


try:
    h.guard("log escape: request paths", request_paths)
    h.guard("log escape: peer error text", peer_errors)
finally:
    stop_all(nodes)
    for s in servers:
        s.shutdown()
        s.server_close()
h.finish()
