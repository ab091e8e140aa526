"""Peer connections delayed, then cut mid-response during `mesh sync`: a
python TCP proxy on 127.0.0.1 sits between b and node a. The faulty sync
reports the failure; b's store stays intact (verify, integrity_check) and
keeps everything it held; a later sync through a healthy path converges (same
`mesh log head` as a)."""
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultutil import Harness, Node, Proxy, stop_all, store_ok  # noqa: E402

h = Harness(sys.argv)
nodes = []
N, ISSUERS = 12000, 12


def main():
    a, b = h.path("a"), h.path("b")
    # a is issuer 0 of the generator (seed = BLAKE2b-256 of 8 zero bytes), so
    # the generated web hangs off a and lies in b's trust horizon.
    seed = h.path("seed")
    with open(seed, "w") as f:
        f.write(hashlib.blake2b(b"\0" * 8, digest_size=32).hexdigest())
    ida = h.init(a, ["--seed-file", seed])
    idb = h.init(b)
    gen = h.path("gen.ndjson")
    h.gen(N, gen, ISSUERS)
    r = h.run(["log", "import", gen], home=a, timeout=300)
    h.check("a imports the generated web", r.returncode == 0, r.stderr[-300:])
    h.run(["trust", "add", idb, "--level", "full"], home=a)
    h.run(["trust", "add", ida, "--level", "full"], home=b)
    h.run(["config", "set", "node.maxStatementsPerIssuerPerDay", "1000000"], home=b)
    na = Node(h, a, "a").start()
    nodes.append(na)
    px = Proxy(int(na.url.rsplit(":", 1)[1]))
    r = h.run(["peer", "add", px.url], home=b)
    h.check("b adds a through the proxy", r.returncode == 0, r.stderr)

    # 1. delayed and then cut after ~1.5 MB of responses (several pages)
    held_before = h.export_ids(b)
    px.fault(cut_after=1500 * 1024, delay=0.002)
    r = h.run(["sync", "--page", "1000"], home=b, timeout=300)
    out = (r.stdout + r.stderr).decode(errors="replace")
    print("sync through the cutting proxy: rc=%d cuts=%d\n%s" % (r.returncode, px.cuts,
                                                                 out.strip()[-400:]))
    h.check("the proxy cut a response mid-way", px.cuts >= 1, px.cuts)
    h.check("the faulty sync reports the failure", r.returncode != 0 and "failed" in out, out)
    mid = h.export_ids(b)
    h.check("b kept everything it held", held_before <= mid)
    h.check("b pulled part of a's feed before the cut (%d statements)" % len(mid),
            len(mid) < N + 2, len(mid))
    store_ok(h, b, "after the cut")
    r = h.run(["peer", "list", "--json"], home=b)
    h.check("the failure is recorded on the peer", b"last_error" in r.stdout
            and b'"last_error":""' not in r.stdout.replace(b" ", b""), r.stdout[-300:])

    # 2. a healthy path
    px.heal()
    r = h.run(["sync", "--page", "1000"], home=b, timeout=300)
    h.check("sync through the healed path succeeds", r.returncode == 0,
            (r.stdout + r.stderr)[-400:])
    h.check("b converges on a's digest", h.head(b) == h.head(a), (h.head(a), h.head(b)))
    h.check("nothing b held before was lost", mid <= h.export_ids(b))
    store_ok(h, b, "after convergence")
    store_ok(h, a, "a after the faults")
    px.close()


try:
    h.guard("net drop", main)
finally:
    stop_all(nodes)
h.finish()
