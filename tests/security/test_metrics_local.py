"""Issue #14 item 3 / SPEC §9.4: "`/metrics` refused to peers with 403
(local-only unless `node.metricsPublic`)".

The old node served the Prometheus text to any peer it trusted at all —
request counts, refusal counts, sync rounds and, per peer, its Node ID and URL
(`mesh_sync_lag_statements{peer=…,url=…}`): an inventory of the operator's
network for whoever holds a limited edge.

Checks:
  - the bearer token gets 200 and the Prometheus text;
  - a peer trusted full (0.9), a limited peer and an untrusted key each get
    403 with a JSON error, none of which carries the peer URL; no
    credentials → 401 or 403;
  - `mesh config set node.metricsPublic on` is accepted; after a restart a
    full peer gets 200 with the Prometheus text, which holds no peer URL.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed  # noqa: E402
from secutil import run_main  # noqa: E402

h = Harness(sys.argv)
nodes = []


def is_json_error(text):
    try:
        return "error" in json.loads(text)
    except (ValueError, TypeError):
        return False


def main():
    a, b, f, lim, s = (h.path(x) for x in ("a", "b", "f", "l", "stranger"))
    ida, idb, idf, idl = h.init(a), h.init(b), h.init(f), h.init(lim)
    h.init(s)
    h.run(["trust", "add", idf, "--level", "full", "--score", "0.9"], home=a)
    h.run(["trust", "add", idl, "--level", "limited", "--score", "0.5"], home=a)
    h.run(["trust", "add", idb, "--level", "full"], home=a)
    nb = Node(h, b, "b").start()
    nodes.append(nb)
    r = h.run(["peer", "add", nb.url], home=a)
    h.check("a adds b as a peer (its URL is in a's peer table)", r.returncode == 0, r.stderr)
    peer_hostport = nb.url[len("http://"):]
    node = Node(h, a, "a").start()
    nodes.append(node)

    st, body, hd = node.get("/metrics")
    text = body.decode(errors="replace")
    h.check("bearer: GET /metrics 200 Prometheus text",
            st == 200 and "# TYPE mesh_http_requests_total counter" in text, (st, text[:300]))
    for label, home in [("peer trusted full (0.9)", f), ("limited peer", lim),
                        ("untrusted key", s)]:
        st, out = signed(h, home, "GET", node.url + "/metrics")
        h.check("%s: GET /metrics refused 403 with a JSON error" % label,
                st == 403 and is_json_error(out), (st, (out or "")[:300]))
        h.check("%s: the answer carries no peer URL" % label, peer_hostport not in (out or ""),
                [l for l in (out or "").splitlines() if peer_hostport in l][:3])
    st, body, _ = node.get("/metrics", token=False)
    h.check("no credentials: GET /metrics 401 or 403", st in (401, 403), (st, body[:200]))

    node.stop()
    r = h.run(["config", "set", "node.metricsPublic", "on"], home=a)
    h.check("`mesh config set node.metricsPublic on` is accepted", r.returncode == 0,
            r.stderr.decode(errors="replace"))
    node.start()
    st, out = signed(h, f, "GET", node.url + "/metrics")
    out = out or ""
    h.check("node.metricsPublic on: a full peer gets 200 and the Prometheus text",
            st == 200 and "# TYPE mesh_http_requests_total counter" in out, (st, out[:300]))
    h.check("node.metricsPublic on: the peer's /metrics holds no peer URL",
            st == 200 and peer_hostport not in out,
            [l for l in out.splitlines() if peer_hostport in l][:3])
    st, body, _ = node.get("/metrics")
    h.check("node.metricsPublic on: bearer still 200", st == 200, st)


run_main(h, "metrics local", main, nodes)
