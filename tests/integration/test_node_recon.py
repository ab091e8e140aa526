"""Sync by differences (issue #22, item 3): two real nodes on 127.0.0.1 holding
N >= 5,000 issuers' feeds; a counting proxy between them measures the bytes of
the listing/reconcile phase of a sync round (request and response, headers
and bodies) with reconciliation and, the proxy answering the reconcile route
404 as an old node would, with today's full listing. Goals: <= 1% of the
listing's bytes with nothing new, <= 5% with 100 changed feeds; both rounds
converge, the fallback too. Usage: test_node_recon.py MESH BENCH_INGEST."""
import base64
import ctypes
import ctypes.util
import hashlib
import json
import os
import socket
import socketserver
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, stop_all  # noqa: E402

N = int(os.environ.get("RECON_N", "5000"))
h = Harness(sys.argv)
RECON = "/v1/feeds/reconcile"


# ---- a counting HTTP/1.1 proxy (keep-alive, Content-Length bodies) ---------------

class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.old_peer = False
        self.reset()

    def reset(self):
        with self.lock:
            self.by_path = {}  # path -> [requests, bytes up, bytes down]

    def add(self, path, up, down):
        with self.lock:
            c = self.by_path.setdefault(path, [0, 0, 0])
            c[0] += 1
            c[1] += up
            c[2] += down

    def phase(self):
        """Requests and bytes of the listing/reconcile phase."""
        with self.lock:
            n = up = down = 0
            for p in ("/v1/feeds", RECON):
                c = self.by_path.get(p, [0, 0, 0])
                n, up, down = n + c[0], up + c[1], down + c[2]
            return n, up + down


counts = Counts()
backend = None


def read_head(f):
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = f.readline(65536)
        if not line:
            return None
        head += line
    return head


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return int(v.strip())
        if k.strip().lower() == b"transfer-encoding":
            raise RuntimeError("chunked bodies are not handled by this proxy")
    return 0


class Proxy(socketserver.StreamRequestHandler):
    def handle(self):
        up = None
        try:
            while True:
                head = read_head(self.rfile)
                if head is None:
                    return
                body = self.rfile.read(content_length(head))
                method, target = head.split(b" ")[:2]
                path = target.decode().split("?")[0]
                if counts.old_peer and path == RECON:
                    msg = b'{"error":"no such endpoint"}'
                    self.wfile.write(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json"
                                     b"\r\nContent-Length: %d\r\n\r\n" % len(msg) + msg)
                    self.wfile.flush()
                    continue  # an old node's answer: today's client never asks
                if up is None:
                    up = socket.create_connection(backend, timeout=60)
                    upf = up.makefile("rb")
                up.sendall(head + body)
                rhead = read_head(upf)
                if rhead is None:
                    return
                rbody = upf.read(0 if method == b"HEAD" else content_length(rhead))
                self.wfile.write(rhead + rbody)
                self.wfile.flush()
                counts.add(path, len(head) + len(body), len(rhead) + len(rbody))
                if b"connection: close" in rhead.lower():
                    up.close()
                    up = None
        finally:
            if up is not None:
                up.close()


class ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


# ---- statements signed here: node a trusts every generated issuer full -----------

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def canon(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def ed25519_signer(seed):
    """Sign with libsodium (the node's own dependency) through ctypes."""
    lib = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    assert lib.sodium_init() >= 0
    pk, sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
    assert lib.crypto_sign_seed_keypair(pk, sk, seed) == 0

    def sign(msg):
        sig = ctypes.create_string_buffer(64)
        assert lib.crypto_sign_detached(sig, None, msg, ctypes.c_ulonglong(len(msg)), sk) == 0
        return sig.raw
    return sign


def sign_feed(seed, iss, bodies, ts):
    sign = ed25519_signer(seed)
    out, prev = [], None
    for seq, body in enumerate(bodies, 1):
        st = dict(body, v=1, iss=iss, seq=seq, ts=ts)
        if prev:
            st["prev"] = prev
        sig = sign(b"mesh/v1/stmt\n" + canon(st))
        st["sig"] = base64.urlsafe_b64encode(sig).rstrip(b"=").decode()
        line = canon(st)
        prev = hashlib.blake2b(line, digest_size=32).hexdigest()
        out.append(line)
    return out


def write_lines(path, lines):
    with open(path, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")


def import_file(home, path):
    r = h.run(["log", "import", path, "--json"], home=home, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def sync_b():
    r = h.run(["sync", "--json"], home=homes["b"], timeout=300)
    return r.returncode, json.loads(r.stdout.decode() or "{}")


homes = {n: h.path(n) for n in "ab"}
nodes = {}


def measured_round(old_peer):
    counts.old_peer = old_peer
    counts.reset()
    rc, j = sync_b()
    n, nbytes = counts.phase()
    return rc, j, n, nbytes


def main():
    global backend
    seed = hashlib.blake2b(b"recon test node a", digest_size=32).digest()
    seed_file = h.path("a.seed")
    with open(seed_file, "w") as f:
        f.write(seed.hex() + "\n")
    r = h.run(["init", "--seed-file", seed_file], home=homes["a"])
    assert r.returncode == 0, r.stderr
    if os.path.exists(os.path.join(homes["a"], "next.key")):
        os.unlink(os.path.join(homes["a"], "next.key"))  # a legacy feed: seq 1 is ours
    ida = h.node_id(homes["a"])
    idb = h.init(homes["b"], legacy=True)

    # N issuers with 2 statements each; then 100 more issuers' feeds move
    # (statements are deterministic: the longer files extend the same feeds)
    gen1 = h.gen(2 * N, h.path("gen1.ndjson"), N)
    h.gen(2 * N + 100, h.path("gen2.ndjson"), N)
    h.gen(2 * N + 200, h.path("gen3.ndjson"), N)
    issuers = sorted(set(json.loads(l)["iss"] for l in gen1))
    h.check("the generated web has N issuers", len(issuers) == N, len(issuers))
    trust = sign_feed(seed, ida, [{"type": "trust", "target": t, "level": "full"}
                                  for t in issuers], int(time.time()) - 60)
    write_lines(h.path("a-trust.ndjson"), trust)
    j = import_file(homes["a"], h.path("a-trust.ndjson"))
    h.check("a's %d trust statements signed here are accepted" % N, j["accepted"] == N, j)
    import_file(homes["a"], h.path("gen1.ndjson"))
    for s, d in (("a", idb), ("b", ida)):
        r = h.run(["trust", "add", d, "--level", "full"], home=homes[s])
        assert r.returncode == 0, r.stderr
    # b starts where a is (offline), so every round below is a steady-state round
    r = h.run(["log", "export"], home=homes["a"], timeout=120)
    with open(h.path("a-all.ndjson"), "wb") as f:
        f.write(r.stdout)
    import_file(homes["b"], h.path("a-all.ndjson"))
    for k, v in (("node.maxStatementsPerIssuerPerDay", "100000000"),
                 ("node.maxStatementsPerPeerPerDay", "100000000"), ("trust.maxDepth", "3")):
        h.run(["config", "set", k, v], home=homes["b"])
    with open(os.path.join(homes["a"], "policy.toml"), "w") as f:
        f.write("[[tier]]\nmin_score = 0\nper_second = 100000\nburst = 100000\n")

    nodes["a"] = Node(h, homes["a"], "a").start()
    host, port = nodes["a"].url.split("//")[1].split(":")
    backend = (host, int(port))
    proxy = ProxyServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    purl = "http://127.0.0.1:%d" % proxy.server_address[1]
    try:
        r = h.run(["peer", "add", purl], home=homes["b"])
        h.check("b peers with a through the counting proxy", r.returncode == 0, r.stderr)
        # the first round pushes b's own statement to a
        rc, j = sync_b()
        h.check("first round: ok", rc == 0 and j.get("peers") == 1, j)

        rc, j, n_rec0, rec0 = measured_round(False)
        h.check("nothing new, reconciling: ok, nothing pulled",
                rc == 0 and j.get("accepted") == 0 and j.get("failed") == 0, j)
        rc, j, n_list0, list0 = measured_round(True)
        h.check("nothing new, an old peer (listing): ok, nothing pulled",
                rc == 0 and j.get("accepted") == 0 and j.get("failed") == 0, j)

        import_file(homes["a"], h.path("gen2.ndjson"))
        rc, j, n_rec100, rec100 = measured_round(False)
        h.check("100 changed feeds, reconciling: the 100 statements pulled",
                rc == 0 and j.get("accepted") == 100, j)
        ha, hb = h.head(homes["a"]), h.head(homes["b"])
        h.check("a and b converge (reconciling)", ha == hb, (ha, hb))

        import_file(homes["a"], h.path("gen3.ndjson"))
        rc, j, n_list100, list100 = measured_round(True)
        h.check("100 changed feeds, an old peer: the listing pulls the 100",
                rc == 0 and j.get("accepted") == 100, j)
        ha, hb = h.head(homes["a"]), h.head(homes["b"])
        h.check("a and b converge (listing)", ha == hb, (ha, hb))

        print("N = %d issuers; bytes of the listing/reconcile phase of one sync round "
              "(requests + answers, headers + bodies):" % N)
        print("  nothing new:  reconcile %8d (%d requests)  listing %9d (%d requests)  "
              "ratio %.4f%%" % (rec0, n_rec0, list0, n_list0, 100.0 * rec0 / list0))
        print("  100 changed:  reconcile %8d (%d requests)  listing %9d (%d requests)  "
              "ratio %.3f%%" % (rec100, n_rec100, list100, n_list100, 100.0 * rec100 / list100))
        h.check("nothing new: <= 1% of the listing's bytes", rec0 * 100 <= list0, (rec0, list0))
        h.check("100 changed feeds: <= 5% of the listing's bytes", rec100 * 20 <= list100,
                (rec100, list100))

        # the endpoint itself: malformed input is refused naming the problem
        st, body, _ = nodes["a"].get(RECON, method="POST", body=b"\x02\xff\x00")
        h.check("a malformed message: 400 naming the problem",
                st == 400 and "version" in json.loads(body)["error"], (st, body))
        st, body, _ = nodes["a"].get(RECON, method="POST", body=b"\x01\xff\x01\x00")
        h.check("a truncated message: 400", st == 400 and "truncated" in body.decode(),
                (st, body))
        st, body, _ = nodes["a"].get(RECON, method="POST", body=b"\x01\xff\x01\x00" + b"\0" * 16)
        h.check("the token holder's empty set: answered", st == 200 and body[:1] == b"\x01",
                (st, body[:40]))
        req = urllib.request.Request(nodes["a"].url + RECON, data=b"\x01\xff\x00", method="POST")
        try:
            st = urllib.request.urlopen(req, timeout=10).status
        except urllib.error.HTTPError as e:
            st = e.code
        h.check("an anonymous caller is refused (401)", st == 401, st)
    finally:
        proxy.shutdown()
        proxy.server_close()
        stop_all(list(nodes.values()))


h.guard("main", main)
sys.exit(h.finish())
