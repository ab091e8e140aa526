"""Issue #14 item 1, SPEC §4 / §9.3: "Declared bridges get the next lower
tier ... in `policy eval` and at the node alike."

The attack: a peer that declared itself a bridge (`mesh bridge declare`) kept
its full tier at the node (the node never told the oracle about bridges), while
`mesh policy eval` on the same home said one tier lower.

P and Q are both trusted full 0.8 in global (tier 1: 200/s burst 50); P has a
bridge statement in A's store, Q has not. A fast burst of 100 from P must be cut at
tier 2 (100/s burst 25), Q's not; and the node must agree with `policy eval`.

Run: PYTHONPATH=tests/integration python3 tests/security/test_bridge_tier.py MESH BENCH_INGEST
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed  # noqa: E402
from secutil import burst, ok_run, run_main  # noqa: E402

h = Harness(sys.argv)
nodes = []
N = 100


def main():
    a, p, q = h.path("a"), h.path("p"), h.path("q")
    ida, idp, idq = h.init(a), h.init(p), h.init(q)
    ok_run(h, ["trust", "add", idp, "--level", "full", "--score", "0.8"], a, "trust P")
    ok_run(h, ["trust", "add", idq, "--level", "full", "--score", "0.8"], a, "trust Q")
    ok_run(h, ["bridge", "declare", "--scopes", "coop:a,coop:b"], p, "P declares a bridge")
    feed = h.path("p.ndjson")
    with open(feed, "wb") as fh:
        fh.write(h.run(["log", "export", "--iss", idp], home=p).stdout)
    r, j = h.run_json(["log", "import", feed, "--json"], home=a)
    h.check("A imports P's feed with the bridge statement", r.returncode == 0 and j and
            j["accepted"] >= 1, (r.stderr, j))

    r, ep = h.run_json(["policy", "eval", "--peer", idp, "--json"], home=a)
    h.check("policy eval: P is a declared bridge, tier 2 (100/s burst 25)",
            ep and ep.get("bridge") is True and ep.get("tier") == 2 and
            ep["rate_limit"]["burst"] == 25, ep or r.stderr)
    r, eq = h.run_json(["policy", "eval", "--peer", idq, "--json"], home=a)
    h.check("policy eval: Q (no bridge) is tier 1 (200/s burst 50)",
            eq and eq.get("bridge") is False and eq.get("tier") == 1, eq or r.stderr)

    node = Node(h, a, "a").start()
    nodes.append(node)
    url = node.url + "/v1/trust?target=" + ida
    st, body = signed(h, p, "GET", url)
    h.check("P is admitted (limited+ trust)", st == 200, "status %s body %s" % (st, body[:300]))
    st, body = signed(h, q, "GET", url)
    h.check("Q is admitted", st == 200, "status %s body %s" % (st, body[:300]))
    time.sleep(1.5)  # both buckets full again

    hq, sq = burst(h, q, url, N)
    print("Q (tier 1): %d requests in %.3f s -> %s" % (N, sq, hq))
    hp, sp = burst(h, p, url, N)
    print("P (bridge): %d requests in %.3f s -> %s" % (N, sp, hp))
    okq, okp = hq.get("200", 0), hp.get("200", 0)
    h.check("control: Q (0.8, no bridge) gets >= 45 of %d admitted (tier 1, burst 50)" % N,
            okq >= 45, "statuses %s in %.3f s" % (hq, sq))
    # Tier 2: 25 at once plus 100/s refill while the burst runs (+2 slack).
    cap = int(25 + 100 * sp) + 2
    h.check("P (0.8, declared bridge) is cut at tier 2: 20..%d of %d admitted, the rest 429"
            % (cap, N), 20 <= okp <= cap and okp + hp.get("429", 0) == N,
            "statuses %s in %.3f s: the node must lower a declared bridge one tier "
            "(burst 25), as `policy eval` does" % (hp, sp))


run_main(h, "bridge tier", main, nodes)
