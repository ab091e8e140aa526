"""kill -9 of a node in the middle of a sync; restart; it converges with
nothing lost (the store is left consistent: `mesh log verify` passes)."""
import hashlib
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, stop_all  # noqa: E402

h = Harness(sys.argv)
nodes = []
N, ISSUERS = 40000, 20


def main():
    a, b = h.path("a"), h.path("b")
    # a is issuer 0 of the generator (its seed is BLAKE2b-256 of 8 zero bytes),
    # so the generated web hangs off a and lies in b's trust horizon.
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
    r = h.run(["peer", "add", na.url], home=b)
    h.check("b adds a", r.returncode == 0, r.stderr)
    nb = Node(h, b, "b", ["--sync-interval", "1"]).start()
    nodes.append(nb)
    # wait until b is in the middle of pulling, then kill -9
    deadline = time.monotonic() + 60
    mid = 0
    while time.monotonic() < deadline:
        mid = h.head(b)[1]
        if 2000 < mid:
            break
        time.sleep(0.05)
    nb.proc.send_signal(signal.SIGKILL)
    nb.proc.wait()
    nb.proc = None
    held = h.head(b)[1]
    h.check("killed in the middle of the sync (%d of %d held)" % (held, N + 2),
            0 < held < N + 2, held)
    before = h.export_ids(b)
    r = h.run(["log", "verify"], home=b, timeout=300)
    h.check("b's store verifies after kill -9", r.returncode == 0, r.stdout[-300:])
    nb.start()
    ok = nb.wait_for(lambda: h.head(b) == h.head(a), timeout=120)
    h.check("b converges on a's digest after the restart", ok, (h.head(a), h.head(b)))
    h.check("nothing b held before the crash was lost", before <= h.export_ids(b))
    r = h.run(["log", "verify"], home=b, timeout=300)
    h.check("b's store verifies after convergence", r.returncode == 0, r.stdout[-300:])


try:
    h.guard("crash", main)
finally:
    stop_all(nodes)
h.finish()
