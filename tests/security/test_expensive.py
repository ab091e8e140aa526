"""Issue #14 item 3 / SPEC §9.4 "per-peer caps on ... concurrent expensive
requests", and the cache that makes repeated expensive answers cheap.

The expensive endpoints are `GET /v1/metrics?per_node=1` (every node's figures)
and `GET /v1/graph?depth=8`. The old node recomputed them on every call and let
one peer run as many at once as the node had threads: a handful of peers could
keep every CPU busy. The node's home holds the SNAP Bitcoin Alpha network
(3783 nodes, 22650 edges: `mesh graph import-edgelist`) so each answer costs
real work.

Checks:
  - /metrics (bearer) exposes mesh_expensive_cache_total{result="hit"} and
    {result="miss"};
  - per_node metrics, twice (bearer): 200, identical bodies, the second call
    is a cache hit; the same for /v1/graph?depth=8; a limited peer calling
    per_node twice: identical bodies, second a hit;
  - after a new statement (`mesh trust add` while the node runs; the node
    refreshes its view within ~0.5 s) the next call of each is a miss and
    carries the new digest;
  - a limited peer firing 10 concurrent uncached expensive requests
    (/v1/graph?depth=8&from=<10 distinct viewpoints>) gets some 429 whose body
    names "expensive", nothing but 200/429, and is served again afterwards.
"""
import collections
import gzip
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed  # noqa: E402
from secutil import prom, prom_get, run_main  # noqa: E402

h = Harness(sys.argv)
nodes = []
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# MT_SHARED_DIR (CTest) is the shared/ folder, the data under data/; by hand it
# may be given as the data folder itself; default ../shared beside the repository.
_SHARED = os.environ.get("MT_SHARED_DIR") or os.path.join(REPO, "..", "shared")
_CANDIDATES = [os.path.join(d, "soc-sign-bitcoinalpha.csv.gz")
               for d in (os.path.join(_SHARED, "data"), _SHARED,
                         os.path.join(REPO, "..", "shared", "data"))]
NET = next((c for c in _CANDIDATES if os.path.exists(c)), _CANDIDATES[0])
CONCURRENT = 10


def counters(node):
    st, body, _ = node.get("/metrics")
    m = prom(body.decode(errors="replace")) if st == 200 else {}
    return (prom_get(m, "mesh_expensive_cache_total", result="hit"),
            prom_get(m, "mesh_expensive_cache_total", result="miss"),
            body.decode(errors="replace"))


def digest_of(body):
    try:
        return json.loads(body.decode())["digest"]
    except (ValueError, KeyError, UnicodeDecodeError):
        return None


def top_sources(k):
    """The k node numbers with the most positive out-edges."""
    deg = collections.Counter()
    with gzip.open(NET, "rt") as f:
        for line in f:
            parts = line.strip().split(",")
            if len(parts) >= 3 and int(parts[2]) > 0 and parts[0] != parts[1]:
                deg[parts[0]] += 1
    return [n for n, _ in deg.most_common(k)]


def cache_pair(node, path, label, caller=None):
    """Call `path` twice; check identical bodies and that the second is a hit."""
    def get():
        if caller is None:
            st, body, _ = node.get(path, timeout=60)
            return st, body
        st, text = signed(h, caller, "GET", node.url + path)
        return st, (text or "").encode()
    t0 = time.monotonic()
    st1, b1 = get()
    t1 = time.monotonic()
    hit1, miss1, _ = counters(node)
    st2, b2 = get()
    t2 = time.monotonic()
    hit2, miss2, text = counters(node)
    print("  %s: first %.3f s, second %.3f s, %d bytes; hit %s->%s miss %s->%s" % (
        label, t1 - t0, t2 - t1, len(b1), hit1, hit2, miss1, miss2))
    h.check("%s twice: 200, identical bodies" % label, st1 == 200 and st2 == 200 and b1 == b2,
            (st1, st2, b1[:200], b2[:200]))
    h.check("%s: the second call is a cache hit (hit +1, miss +0)" % label,
            None not in (hit1, hit2, miss1, miss2) and hit2 == hit1 + 1 and miss2 == miss1,
            "hit %s->%s miss %s->%s%s" % (hit1, hit2, miss1, miss2, "" if hit1 is not None else
                                          " (no mesh_expensive_cache_total in /metrics)"))
    return b1


def main():
    a, p = h.path("a"), h.path("p")
    ida, idp = h.init(a), h.init(p)
    if not h.check("the Bitcoin Alpha network is there (%s)" % NET, os.path.exists(NET)):
        return
    mapf = h.path("map.txt")
    r = h.run(["graph", "import-edgelist", NET, "--format", "csv-signed", "--map", mapf], home=a,
              timeout=120)
    h.check("import the network into a's home", r.returncode == 0, r.stderr)
    ids = dict(l.split() for l in open(mapf).read().splitlines() if l.strip())
    tops = [ids[n] for n in top_sources(CONCURRENT + 1)]
    for x in tops[:2]:
        h.run(["trust", "add", x, "--level", "full"], home=a)
    r = h.run(["trust", "add", idp, "--level", "limited", "--score", "0.5"], home=a)
    h.check("a trusts p limited (0.5)", r.returncode == 0, r.stderr)
    node = Node(h, a, "a", ["--threads", "16"]).start(timeout=60)
    nodes.append(node)

    hit, miss, text = counters(node)
    h.check('/metrics has mesh_expensive_cache_total{result="hit"} and {result="miss"}',
            hit is not None and miss is not None,
            "not found in: %s" % "\n".join(l for l in text.splitlines()
                                          if "expensive" in l or "HELP" in l)[:800])

    pn = "/v1/metrics?per_node=1"
    gr = "/v1/graph?depth=8"
    b_pn = cache_pair(node, pn, "bearer " + pn)
    b_gr = cache_pair(node, gr, "bearer " + gr)
    cache_pair(node, pn, "limited peer " + pn, caller=p)

    # A new statement: the next call of each is a miss with the new digest.
    d0 = digest_of(b_pn)
    r = h.run(["trust", "add", tops[2], "--level", "limited", "--score", "0.3"], home=a)
    h.check("a new statement while the node runs", r.returncode == 0, r.stderr)
    changed = node.wait_for(lambda: digest_of(node.get("/v1/trust?target=" + idp)[1]) != d0,
                            timeout=15.0)
    h.check("the node picks the new statement up (digest changes)", changed)
    for path, before in [(pn, b_pn), (gr, b_gr)]:
        hit1, miss1, _ = counters(node)
        st, body, _ = node.get(path, timeout=60)
        hit2, miss2, _ = counters(node)
        h.check("after the new statement %s is a miss (miss +1)" % path,
                None not in (hit1, hit2, miss1, miss2) and miss2 == miss1 + 1 and hit2 == hit1,
                "hit %s->%s miss %s->%s" % (hit1, hit2, miss1, miss2))
        h.check("after the new statement %s carries the new digest" % path,
                st == 200 and digest_of(body) not in (None, digest_of(before)),
                (st, digest_of(before), digest_of(body)))

    # Concurrency: one limited peer, 10 distinct uncached expensive requests at once.
    procs = []
    t0 = time.monotonic()
    for x in tops[:CONCURRENT]:
        url = node.url + "/v1/graph?depth=8&from=" + x
        procs.append(subprocess.Popen(
            [h.mesh, "--home", p, "node", "request", "GET", url, "--server-id", ida],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=h.env))
    results = []
    for pr in procs:
        try:
            out, err = pr.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            pr.kill()
            out, err = pr.communicate()
        first, _, rest = out.decode(errors="replace").partition("\n")
        results.append((int(first) if first.isdigit() else None,
                        rest[:200] if not first.startswith("200") else "",
                        err.decode(errors="replace")[:200]))
    statuses = collections.Counter(r[0] for r in results)
    print("  %d concurrent /v1/graph?depth=8 by the limited peer: %s in %.2f s" % (
        CONCURRENT, dict(statuses), time.monotonic() - t0))
    refused = [r for r in results if r[0] == 429]
    h.check("%d concurrent expensive requests of one peer: some get 429" % CONCURRENT,
            refused, dict(statuses))
    h.check("each such 429 names \"expensive\"",
            refused and all("expensive" in r[1] for r in refused), refused[:3])
    h.check("nothing but 200 and 429", set(statuses) <= {200, 429}, results[:3])
    time.sleep(1.0)
    st, body = signed(h, p, "GET", node.url + "/v1/graph?depth=8&from=" + tops[CONCURRENT])
    h.check("the peer is served again once its requests are done", st == 200, (st, body[:200]))


run_main(h, "expensive requests", main, nodes)
