"""Five nodes with their own homes build a web of trust, sync and converge;
a revocation travels in one round; peer authentication refuses what it must."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed, stop_all  # noqa: E402

h = Harness(sys.argv)
names = ["a", "b", "c", "d", "e"]
homes = {n: h.path(n) for n in names}
ids = {n: h.init(homes[n], legacy=True) for n in names}
nodes = {}


def trust(src, dst, level="full", score=None):
    args = ["trust", "add", ids[dst], "--level", level] + (["--score", score] if score else [])
    r = h.run(args, home=homes[src])
    assert r.returncode == 0, r.stderr


def sync(n):
    r = h.run(["sync", "--json"], home=homes[n], timeout=120)
    return r.returncode, json.loads(r.stdout.decode() or "{}")


def main():
    for n in names:
        h.run(["config", "set", "trust.maxDepth", "4"], home=homes[n])
        nodes[n] = Node(h, homes[n], n).start()
    # The web: a <-> b <-> c <-> d full (a chain); a -> e limited; e -> a full.
    for s, d in [("a", "b"), ("b", "a"), ("b", "c"), ("c", "b"), ("c", "d"), ("d", "c"),
                 ("e", "a")]:
        trust(s, d)
    trust("a", "e", "limited", "0.5")
    for s, d in [("a", "b"), ("a", "e"), ("b", "a"), ("b", "c"), ("c", "b"), ("c", "d"),
                 ("d", "c"), ("e", "a")]:
        r = h.run(["peer", "add", nodes[d].url], home=homes[s])
        h.check("peer add %s -> %s" % (s, d), r.returncode == 0 and ids[d] in r.stdout.decode(),
                r.stderr)
    r, j = h.run_json(["peer", "list", "--json"], home=homes["a"])
    h.check("peer list shows both peers with their Node IDs",
            j and sorted(p["node_id"] for p in j["peers"]) == sorted([ids["b"], ids["e"]]))

    for rnd in range(4):
        for n in names:
            sync(n)
    heads = {n: h.head(homes[n]) for n in names}
    same = [heads[n][0] for n in "abcd"]
    h.check("a, b, c, d converge on one digest", len(set(same)) == 1, heads)
    h.check("they hold the four full members' feeds (7 statements)", heads["a"][1] == 7,
            heads)
    rc, j = sync("e")
    h.check("e's sync with a is refused: a trusts e only limited",
            rc == 1 and j["failed"] == 1 and "full trust" in j["results"][0]["summary"], j)
    h.check("e holds only its own statement", heads["e"][1] == 1, heads)
    h.check("a never took e's feed (e is only limited to a: its pushes are refused)",
            not any(True for _ in h.export_ids(homes["a"], ids["e"])))
    rc, j = sync("a")
    h.check("a skips e when syncing (not trusted full)", j.get("skipped") == 1, j)

    # Trust answers agree across nodes.
    st, j, _ = nodes["d"].get_json("/v1/trust?target=%s&from=%s" % (ids["c"], ids["a"]))
    h.check("d answers a's view of c over HTTP", st == 200 and j["level"] == "full" and
            j["hops"] == 2 and j["digest"] == heads["d"][0], j)

    # Peer authentication and permissions.
    a = nodes["a"]
    st, body = signed(h, homes["e"], "GET", a.url + "/v1/trust?target=" + ids["b"])
    h.check("limited peer e may query trust on a", st == 200, body)
    st, body = signed(h, homes["e"], "GET", a.url + "/v1/search?q=x")
    h.check("limited peer e is not refused search (403/401)", st not in (401, 403), (st, body))
    st, body = signed(h, homes["e"], "GET", a.url + "/v1/feeds")
    h.check("limited peer e may not sync: 403 with the reason",
            st == 403 and "full trust" in json.loads(body)["error"], body)
    st, body = signed(h, homes["e"], "POST", a.url + "/v1/statements")
    h.check("limited peer e may not push statements", st == 403, body)
    stranger = h.path("stranger")
    h.init(stranger, legacy=True)
    st, body = signed(h, stranger, "GET", a.url + "/v1/trust?target=" + ids["b"])
    h.check("untrusted key refused with 403 untrusted", st == 403 and "untrusted" in body, body)
    auth = h.path("auth.txt")
    b = nodes["b"]
    st, _ = signed(h, homes["c"], "GET", b.url + "/v1/feeds", ["--save-auth", auth])
    h.check("full peer c may read b's feeds", st == 200)
    st, body = signed(h, homes["c"], "GET", b.url + "/v1/feeds", ["--auth-from", auth])
    h.check("replayed request refused (401)", st == 401 and "replayed" in body, body)
    st, body = signed(h, stranger, "GET", a.url + "/v1/feeds", ["--claim-id", ids["d"]])
    h.check("request signed by another key refused (401)", st == 401 and "signature" in body,
            body)
    st, body = signed(h, homes["d"], "GET", a.url + "/v1/feeds",
                      ["--server-id", ids["b"]])
    h.check("request signed for another server refused", st == 401, body)
    st, j, _ = a.get_json("/v1/trust?target=" + ids["b"], token=False)
    h.check("no token, no signature: 401 JSON", st == 401 and "error" in j)
    st, j, _ = a.get_json("/v1/id", token=False)
    h.check("GET /v1/id answers anyone", st == 200 and j["node_id"] == ids["a"])
    st, body, _ = a.get("/v1/trust?target=" + ids["b"], token=False,
                        headers={"Authorization": "Bearer " + "0" * 64})
    h.check("wrong bearer token: 401", st == 401)
    st, body, _ = a.get("/metrics")
    text = body.decode()
    h.check("/metrics counts kernel denials and requests",
            st == 200 and 'mesh_kernel_denials_total{verdict="denied"}' in text and
            'mesh_http_requests_total{endpoint="/v1/feeds",status="403"}' in text, text[:400])
    st, j, _ = a.get_json("/v1/metrics?scope=global")
    h.check("/v1/metrics has the §4 fields and digest",
            st == 200 and "gini" in j and "digest" in j and j["node_count"] >= 4, j)
    # Revocation: a revokes its edge to e (not one of a's sync paths: revoking
    # b, a's only full peer, would rightly stop a from serving b at all).
    # After one round (b, c, d sync in order, each pulling from the previous
    # one), every node's answer for a's view of e changes.
    r = h.run(["trust", "remove", ids["e"]], home=homes["a"])
    h.check("a revokes e", r.returncode == 0, r.stderr)
    before = nodes["c"].get_json("/v1/trust?target=%s&from=%s" % (ids["e"], ids["a"]))[1]
    h.check("before the round c still sees a trusting e", before and before["trusted"], before)
    for n in ["b", "c", "d"]:
        sync(n)
    for n in ["b", "c", "d"]:
        # The node picks new statements up asynchronously (seconds when loaded).
        ok = nodes[n].wait_for(lambda n=n: nodes[n].get_json(
            "/v1/trust?target=%s&from=%s" % (ids["e"], ids["a"]))[1]["trusted"] is False,
            timeout=30.0)
        h.check("after one round %s sees a's trust in e revoked" % n, ok)

    # a revokes b too: its only path to c went through b.
    r = h.run(["trust", "remove", ids["b"]], home=homes["a"])
    h.check("a revokes b", r.returncode == 0, r.stderr)
    ok = a.wait_for(lambda: not a.get_json("/v1/trust/path?target=" + ids["c"])[1]["found"],
                    timeout=30.0)
    st, j, _ = a.get_json("/v1/trust/path?target=" + ids["c"])
    h.check("/v1/trust/path: a no longer reaches c (revoked)", ok and st == 200 and not j["found"], j)
    st, j, _ = nodes["b"].get_json("/v1/trust/path?target=" + ids["d"])
    h.check("/v1/trust/path b -> c -> d with statements", st == 200 and j["found"] and
            len(j["path"]) == 2 and all(len(e["statement"]) == 64 for e in j["path"]), j)
    rc = a.stop()
    h.check("SIGTERM stops the node cleanly (exit 0)", rc == 0, rc)


try:
    h.guard("node sync", main)
finally:
    stop_all(nodes.values())
h.finish()
