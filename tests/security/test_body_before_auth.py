"""Issue #14 item 3 / SPEC §9.4 "authentication is decided from the headers
before any body is read".

Attack: 64 concurrent connections each announce `POST /v1/statements` with
`Content-Length: 8000000` and no usable credentials, then push the body as fast
as the server takes it. The old node read (and buffered) every body before it
looked at the Authorization header: RSS went from ~18 MB to hundreds of MB.

Checks, for each of three credential-less variants (no Authorization, a wrong
bearer token, the signed header of a fresh key this node does not trust):
  - every connection gets its refusal (401; 401 or 403 for the untrusted key)
    before the client could push 2 MB of its 8 MB body (the client's send
    buffer is 64 KB, so only a server that reads the body lets it push more);
  - the node's VmRSS stays under 64 MB during the flood and after it.
Then the node still serves, and authenticated uploads still work: a bearer POST
and a POST signed by a peer trusted full (its signature covers the body, so the
server must still read that body and verify it).
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed  # noqa: E402
from secutil import check_serving, host_port, rss_kb, run_main, trusted_peer  # noqa: E402

h = Harness(sys.argv)
nodes = []

CONNS = 64
BODY_LEN = 8000000
RSS_LIMIT_KB = 64 * 1024
ABORT_RSS_KB = 320 * 1024     # stop feeding an old node before it eats the machine
EARLY_BYTES = 2 * 1024 * 1024  # "answered before the body was read"
FLOOD_SECONDS = 30.0


class RssSampler(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop_flag = pid, 0, False

    def run(self):
        while not self.stop_flag:
            v = rss_kb(self.pid)
            if v is not None and v > self.peak:
                self.peak = v
            time.sleep(0.02)


def flood(node, auth_header, sampler):
    """Open CONNS connections, each POSTing an 8 MB body as fast as the server
    reads; return a list of per-connection dicts: status, sent (bytes of body
    pushed when the answer's head arrived, or in all), how it ended."""
    host, port = host_port(node.url)
    head = ("POST /v1/statements HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
            "Content-Length: %d\r\n" % BODY_LEN)
    if auth_header:
        head += "Authorization: %s\r\n" % auth_header
    head = (head + "\r\n").encode()
    chunk = (b"{}\n" * 21846)[:65536]
    conns = []
    try:
        for _ in range(CONNS):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
            s.settimeout(10)
            s.connect((host, port))
            s.sendall(head)
            s.setblocking(False)
            conns.append({"sock": s, "sent": 0, "buf": b"", "status": None,
                          "sent_at_reply": None, "sending": True, "open": True, "end": ""})
        deadline = time.monotonic() + FLOOD_SECONDS
        import select
        while any(c["open"] for c in conns):
            if time.monotonic() > deadline:
                for c in conns:
                    if c["open"]:
                        c["end"] = "client timeout"
                break
            if sampler.peak > ABORT_RSS_KB:
                for c in conns:
                    if c["open"]:
                        c["end"] = "aborted: node RSS %d kB" % sampler.peak
                break
            rl = [c["sock"] for c in conns if c["open"]]
            wl = [c["sock"] for c in conns if c["open"] and c["sending"]]
            r, w, _ = select.select(rl, wl, [], 0.2)
            by = {c["sock"]: c for c in conns}
            for s in w:
                c = by[s]
                left = BODY_LEN - c["sent"]
                try:
                    k = s.send(chunk[:min(len(chunk), left)])
                    c["sent"] += k
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    c["sending"] = False
                if c["sent"] >= BODY_LEN:
                    c["sending"] = False
            for s in r:
                c = by[s]
                try:
                    k = s.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    c["open"], c["sending"] = False, False
                    c["end"] = c["end"] or "reset (%s)" % e.__class__.__name__
                    continue
                if not k:
                    c["open"], c["sending"] = False, False
                    c["end"] = c["end"] or "eof"
                    continue
                c["buf"] += k
                if c["status"] is None and b"\r\n" in c["buf"]:
                    line = c["buf"].split(b"\r\n", 1)[0].split(b" ")
                    if len(line) >= 2 and line[1].isdigit():
                        c["status"] = int(line[1])
                        c["sent_at_reply"] = c["sent"]
                        c["sending"] = False
                if c["status"] is not None and b"\r\n\r\n" in c["buf"]:
                    c["open"] = False  # the answer's head is in: done with it
                    c["end"] = "answered"
    finally:
        for c in conns:
            try:
                c["sock"].close()
            except OSError:
                pass
    return conns


def summary(conns):
    st = {}
    for c in conns:
        st[c["status"]] = st.get(c["status"], 0) + 1
    sent = sorted(c["sent_at_reply"] if c["sent_at_reply"] is not None else c["sent"]
                  for c in conns)
    ends = {}
    for c in conns:
        ends[c["end"]] = ends.get(c["end"], 0) + 1
    return "statuses=%s body bytes pushed before the answer: min=%d median=%d max=%d; ends=%s" % (
        st, sent[0], sent[len(sent) // 2], sent[-1], ends)


def run_variant(node, label, auth_header, ok_statuses):
    pid = node.proc.pid
    base = rss_kb(pid)
    sampler = RssSampler(pid)
    sampler.start()
    t0 = time.monotonic()
    try:
        conns = flood(node, auth_header, sampler)
    finally:
        took = time.monotonic() - t0
        time.sleep(0.3)
        sampler.stop_flag = True
        sampler.join()
    desc = summary(conns)
    print("  %s: %s; %.2f s; RSS before %s kB, peak %d kB" % (label, desc, took, base,
                                                               sampler.peak))
    bad = [c for c in conns if c["status"] not in ok_statuses]
    h.check("%s: all %d connections refused with %s" % (label, CONNS, "/".join(
        map(str, ok_statuses))), not bad, desc + "; first bad answer: %r" % (
            bad[0]["buf"][:300] if bad else b""))
    late = [c for c in conns if c["status"] is None or c["sent_at_reply"] >= EARLY_BYTES]
    h.check("%s: answered from the headers, before the client could push %d of the %d body "
            "bytes" % (label, EARLY_BYTES, BODY_LEN), not late,
            "%d connection(s) answered late or never; %s" % (len(late), desc))
    h.check("%s: node RSS stays under %d MB during the flood" % (label, RSS_LIMIT_KB // 1024),
            sampler.peak and sampler.peak < RSS_LIMIT_KB,
            "RSS before %s kB, peak %d kB" % (base, sampler.peak))
    # After: give an old node a moment to free what it buffered.
    after = None
    for _ in range(20):
        after = rss_kb(pid)
        if after is not None and after < RSS_LIMIT_KB:
            break
        time.sleep(0.1)
    h.check("%s: node RSS under %d MB after the flood" % (label, RSS_LIMIT_KB // 1024),
            after is not None and after < RSS_LIMIT_KB, "RSS after %s kB" % after)
    check_serving(h, node, "%s: node still serves GET /v1/id" % label)


def main():
    a, p, stranger, ida, idp = trusted_peer(h, "p", "a trusts p full")
    r = h.run(["trust", "add", ida, "--level", "full"], home=p)
    h.check("p issues a statement of its own", r.returncode == 0, r.stderr)
    node = Node(h, a, "a").start()
    nodes.append(node)

    # The header of a fresh key a does not trust (signed for an empty body:
    # whatever the body, the key alone decides that this caller gets nothing).
    auth_file = h.path("stranger.auth")
    st, body = signed(h, stranger, "POST", node.url + "/v1/statements",
                      ["--save-auth", auth_file])
    h.check("the stranger's signed POST (empty body) is refused", st in (401, 403), (st, body))
    with open(auth_file) as f:
        stranger_auth = f.read().strip()

    # Each variant against a freshly started node: an old node keeps what it
    # buffered, which would blur the next measurement.
    for label, auth, ok in [("no Authorization", None, (401,)),
                            ("wrong bearer token", "Bearer " + "0" * 64, (401,)),
                            ("untrusted key's Mesh header", stranger_auth, (401, 403))]:
        node.stop()
        node.start()
        run_variant(node, label, auth, ok)

    # Authenticated uploads still work (the body is read when the caller may send one).
    _, lines = h.export_lines(p, idp)
    body = b"\n".join(lines) + b"\n"
    st, out, _ = node.get("/v1/statements", method="POST", body=body, timeout=30)
    h.check("bearer POST of a valid statement: 200 with one answer line",
            st == 200 and out.decode().split("\n")[0] in ("accepted", "duplicate"), (st, out[:300]))
    # A fresh statement by p, pushed by p itself (signed over its body).
    r = h.run(["trust", "add", h.node_id(stranger), "--level", "limited", "--score", "0.1"],
              home=p)
    h.check("p issues a second statement", r.returncode == 0, r.stderr)
    _, lines = h.export_lines(p, idp)
    bf = h.path("p.ndjson")
    with open(bf, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    st, out = signed(h, p, "POST", node.url + "/v1/statements", ["--body", bf])
    h.check("a full peer's signed POST with a body is still read, verified and taken",
            st == 200 and "accepted" in out and "rejected" not in out, (st, out[:300]))


run_main(h, "body before auth", main, nodes)
