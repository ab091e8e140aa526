"""Issue #14 item 1, SPEC §4 / §9.4: the kernel's connection and topic limits
are applied by the node (policy defaults: max_connections 8, max_topics 32,
include/meshtrust/policy.h).

The attack reproduced against the old node: the node only ever asked the
kernel for the token bucket, so one trusted peer could hold any number of
slow uploads open at once, and subscribe to any number of search topics.

(1) Connections: P (full 0.9) holds 8 POST /v1/statements in flight -- the
    headers, with a valid `Authorization: Mesh ...` signed in advance, are sent
    and the body trickles. A 9th concurrent request from P gets 429 naming the
    connection limit; another peer Q is still served; once the 8 complete, P
    is served again.
    Signing in advance: `mesh node request ... --server-id <A> --save-auth F`
    against a local sink that is not A (so the nonce is never used at A); the
    signature covers A's Node ID, the method, the request-target and the hash
    of the exact body we later send to A.
(2) Topics: R (full 0.9) searches 32 distinct topics (fine), a 33rd (429 whose
    body names the topic limit), and t1 again (fine: already held).

Run: PYTHONPATH=tests/integration python3 tests/security/test_kernel_limits.py MESH BENCH_INGEST
"""
import http.server
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed, stop_all  # noqa: E402
from secutil import err_text, ok_run  # noqa: E402

h = Harness(sys.argv)
nodes = []
sink = []
socks = []
HOLD = 8


class Sink(http.server.BaseHTTPRequestHandler):
    """Answers 200 to anything: where pre-signed requests are 'sent'."""

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")

    do_GET = do_POST = _answer

    def log_message(self, *a):  # quiet
        pass


def start_sink():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    sink.append(srv)
    return "http://127.0.0.1:%d" % srv.server_address[1]


def presign(home, server_id, sink_url, target, body_file, n):
    """An Authorization value for POST `target` to the node `server_id`."""
    auth = h.path("auth-%d.txt" % n)
    r = h.run(["node", "request", "POST", sink_url + target, "--body", body_file,
               "--server-id", server_id, "--save-auth", auth], home=home)
    if r.returncode != 0:
        raise RuntimeError("pre-signing failed: %s" % r.stderr.decode(errors="replace"))
    with open(auth) as f:
        v = f.read().strip()
    if not v.startswith("Mesh "):
        raise RuntimeError("--save-auth wrote %r" % v)
    return v


def open_slow_post(port, target, auth, body, first):
    """Send the headers and the first `first` body bytes; return the socket."""
    s = socket.create_connection(("127.0.0.1", port), timeout=15)
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: %s\r\n"
            "Content-Type: application/x-ndjson\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (target, port, auth, len(body))).encode()
    s.sendall(head + body[:first])
    socks.append(s)
    return s


def read_reply(s):
    data = b""
    s.settimeout(15)
    try:
        while True:
            k = s.recv(65536)
            if not k:
                break
            data += k
    except socket.timeout:
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    line = head.split(b"\r\n", 1)[0].decode(errors="replace")
    try:
        status = int(line.split()[1])
    except (IndexError, ValueError):
        status = None
    return status, body.decode(errors="replace")


def connections(base, port, ida, p, q):
    # A valid statement of P to upload (accepted once, then duplicate).
    lesson = h.path("lesson.txt")
    with open(lesson, "w") as fh:
        fh.write("slow upload\n")
    ok_run(h, ["lesson", "publish", "--topic", "t", "--title", "slow", lesson], p, "P publishes")
    _, lines = h.export_lines(p)
    body = b"\n".join(lines) + b"\n"
    bfile = h.path("p.ndjson")
    with open(bfile, "wb") as fh:
        fh.write(body)
    sink_url = start_sink()
    target = "/v1/statements"
    auths = [presign(p, ida, sink_url, target, bfile, i) for i in range(HOLD)]
    h.check("%d distinct pre-signed Authorization values" % HOLD, len(set(auths)) == HOLD)

    st, text = signed(h, p, "GET", base + "/v1/trust?target=" + ida)
    h.check("P is served before the test (200)", st == 200, "status %s body %s" % (st, text[:300]))

    first = 8
    held = [open_slow_post(port, target, a, body, first) for a in auths]
    stop = threading.Event()
    sent = [first] * HOLD

    def trickle():  # one byte per socket every 0.5 s: never idle, never done
        while not stop.wait(0.5):
            for i, s in enumerate(held):
                if sent[i] < len(body) - 1:
                    try:
                        s.sendall(body[sent[i]:sent[i] + 1])
                        sent[i] += 1
                    except OSError:
                        pass

    tr = threading.Thread(target=trickle, daemon=True)
    tr.start()
    try:
        time.sleep(1.0)  # the node has read all 8 headers
        st9, text9 = signed(h, p, "POST", base + target, ["--body", bfile])
        e9 = err_text(text9, default=text9)
        h.check("a 9th concurrent request from P (POST /v1/statements) gets 429 naming the "
                "connection limit", st9 == 429 and "connection" in e9.lower(),
                "status %s body %s" % (st9, text9[:300]))
        stg, textg = signed(h, p, "GET", base + "/v1/trust?target=" + ida)
        print("info: a GET /v1/trust by P while 8 uploads are held: %s %s" % (stg, textg[:200]))
        stq, textq = signed(h, q, "GET", base + "/v1/trust?target=" + ida)
        h.check("another peer Q is still served (200) meanwhile", stq == 200,
                "status %s body %s" % (stq, textq[:300]))
        stq, textq = signed(h, q, "POST", base + target, ["--body", bfile])
        h.check("Q's POST /v1/statements is served (200) meanwhile", stq == 200,
                "status %s body %s" % (stq, textq[:300]))
    finally:
        stop.set()
        tr.join()
    # Finish the 8 uploads.
    for i, s in enumerate(held):
        try:
            s.sendall(body[sent[i]:])
        except OSError as e:
            print("upload %d: send failed: %s" % (i, e))
    replies = [read_reply(s) for s in held]
    for s in held:
        s.close()
    print("the 8 held uploads answered: %s" % [(st, b.strip()[:40]) for st, b in replies])
    h.check("the %d held uploads complete with 200 (accepted/duplicate)" % HOLD,
            all(st == 200 and b.strip() in ("accepted", "duplicate") for st, b in replies),
            replies)
    time.sleep(0.3)
    st, text = signed(h, p, "POST", base + target, ["--body", bfile])
    h.check("after the 8 finish, P is served again (POST 200)", st == 200,
            "status %s body %s" % (st, text[:300]))
    st, text = signed(h, p, "GET", base + "/v1/trust?target=" + ida)
    h.check("after the 8 finish, P is served again (GET 200)", st == 200,
            "status %s body %s" % (st, text[:300]))


def topics(base, r_home):
    refused = []
    for i in range(1, 33):
        st, text = signed(h, r_home, "GET", base + "/v1/search?q=x&topic=t%d" % i)
        if st != 200:
            refused.append((i, st, text[:200]))
        time.sleep(0.02)
    h.check("R's searches in 32 distinct topics t1..t32 are all served (200)", not refused,
            refused)
    st, text = signed(h, r_home, "GET", base + "/v1/search?q=x&topic=t33")
    e = err_text(text, default=text)
    h.check("the 33rd distinct topic gets 429 whose body names the topic limit",
            st == 429 and "topic" in e.lower(), "status %s body %s" % (st, text[:300]))
    st, text = signed(h, r_home, "GET", base + "/v1/search?q=x&topic=t1")
    h.check("t1 again (already held) is not refused for topics (200)", st == 200,
            "status %s body %s" % (st, text[:300]))
    st, text = signed(h, r_home, "GET", base + "/v1/search?q=x")
    h.check("a search without a topic is not refused for topics (200)", st == 200,
            "status %s body %s" % (st, text[:300]))


def main():
    a, p, q, r = h.path("a"), h.path("p"), h.path("q"), h.path("r")
    ida, idp, idq, idr = (h.init(x, legacy=True) for x in (a, p, q, r))
    for pid in (idp, idq, idr):
        ok_run(h, ["trust", "add", pid, "--level", "full", "--score", "0.9"], a, "A trusts a peer")
    node = Node(h, a, "a").start()
    nodes.append(node)
    port = int(node.url.rsplit(":", 1)[1])
    h.guard("connection limit", lambda: connections(node.url, port, ida, p, q))
    h.guard("topic limit", lambda: topics(node.url, r))


try:
    h.guard("kernel limits", main)
finally:
    for s in socks:
        try:
            s.close()
        except OSError:
            pass
    for srv in sink:
        srv.shutdown()
    stop_all(nodes)
h.finish()
