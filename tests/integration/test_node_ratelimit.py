"""Enforcement: a peer in the 20/s tier driven at 200 req/s for 10 s gets
20/s ± 10% admitted; the rest get 429 with Retry-After."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed, stop_all  # noqa: E402

h = Harness(sys.argv)
nodes = []


def main():
    a, p = h.path("a"), h.path("p")
    ida, idp = h.init(a), h.init(p)
    # score 0.3: > 0 and < 0.4 -> the 20/s burst 5 tier of the default policy
    r = h.run(["trust", "add", idp, "--level", "limited", "--score", "0.3"], home=a)
    h.check("trust the peer at 0.3", r.returncode == 0, r.stderr)
    node = Node(h, a, "a").start()
    nodes.append(node)
    url = node.url + "/v1/trust?target=" + ida
    st, body = signed(h, p, "GET", url)
    h.check("the peer is admitted", st == 200, body)
    # one 429 and its Retry-After
    r = h.run(["node", "request", "GET", url, "--count", "40"], home=p, timeout=60)
    j = json.loads(r.stdout.decode())
    h.check("a burst over the bucket gets 429s", j["statuses"].get("429", 0) > 0, j)
    st, body, hd = node.get("/metrics")
    h.check("kernel rate limiting is counted in /metrics",
            'mesh_kernel_denials_total{verdict="rate_limited"} 0' not in body.decode())
    import time
    time.sleep(1.0)  # let the bucket refill
    r = h.run(["node", "request", "GET", url, "--count", "2000", "--rate", "200"], home=p,
              timeout=120)
    j = json.loads(r.stdout.decode())
    secs = j["seconds"]
    ok = j["statuses"].get("200", 0)
    rate = ok / secs
    print("driven %d requests in %.2f s: %s -> %.2f admitted/s" % (2000, secs, j["statuses"], rate))
    h.check("driven at ~200 req/s for ~10 s", 9.5 <= secs <= 12.5, secs)
    h.check("20/s ± 10%% admitted (got %.2f/s)" % rate, 18.0 <= rate <= 22.0, j)
    h.check("everything else is 429", ok + j["statuses"].get("429", 0) == 2000, j)


try:
    h.guard("rate limit", main)
finally:
    stop_all(nodes)
h.finish()
