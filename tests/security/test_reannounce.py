"""Issue #14 item 2, SPEC §9.4 (seed 002) re-announce: a node passes on to
peers only the feeds of issuers whose level in its own global `trust list` is
`full` (direct or transitive), plus its own; `limited` issuers' statements are
accepted and used locally, not re-served.

The attack: the node served every feed in its trust horizon (level >= limited
in any scope) to any full peer, so an issuer this node only trusts `limited`
was re-announced by it: a second node B syncing from A got L's feed through A.

Setup: A trusts F full, L limited 0.5, B full (all global); F trusts G full
(G is full at 2 hops from A). L and G publish lessons; F's, L's and G's feeds
reach A by `log export` / `log import`.

Run: PYTHONPATH=tests/integration python3 tests/security/test_reannounce.py MESH BENCH_INGEST
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed  # noqa: E402
from secutil import carry, feed_list, ok_run, publish, run_main  # noqa: E402

h = Harness(sys.argv)
nodes = []


def main():
    names = ["a", "f", "l", "g", "b"]
    home = {n: h.path(n) for n in names}
    ids = {n: h.init(home[n]) for n in names}
    A, F, L, G, B = (ids[n] for n in names)
    ok_run(h, ["trust", "add", F, "--level", "full"], home["a"], "A trusts F full")
    ok_run(h, ["trust", "add", L, "--level", "limited", "--score", "0.5"], home["a"],
           "A trusts L limited 0.5")
    ok_run(h, ["trust", "add", B, "--level", "full"], home["a"], "A trusts B full")
    ok_run(h, ["trust", "add", G, "--level", "full"], home["f"], "F trusts G full")
    publish(h, home["l"], "limited lesson", "the quokka recipe")
    publish(h, home["g"], "transitive lesson", "the wombat recipe")
    for n in ("f", "l", "g"):
        carry(h, home[n], ids[n], home["a"])

    r, tl = h.run_json(["trust", "list", "--json"], home=home["a"])
    levels = {x["node_id"]: x["level"] for x in (tl or {}).get("results", [])}
    print("A's global trust list: %s" % {k[-6:]: v for k, v in levels.items()})
    h.check("A's trust list: F full, L limited", levels.get(F) == "full" and
            levels.get(L) == "limited", levels)
    g_full = levels.get(G) == "full"
    print("G is %s in A's global trust list (2 hops via F)" % levels.get(G, "absent"))

    # L's content is used locally.
    r, sj = h.run_json(["search", "quokka", "--json"], home=home["a"])
    h.check("L's lesson is used locally: `mesh search quokka` on A finds it (author L)",
            sj and any(x.get("author") == L for x in sj.get("results", [])), sj or r.stderr)

    node = Node(h, home["a"], "a").start()
    nodes.append(node)
    base = node.url

    # -- what A re-announces to a full peer ---------------------------------------
    st, text = signed(h, home["f"], "GET", base + "/v1/feeds")
    fl = feed_list(text) if st == 200 else None
    h.check("F (full) gets 200 on GET /v1/feeds", st == 200, "status %s body %s" % (st, text[:300]))
    fl = fl or {}
    h.check("A's /v1/feeds to F lists A and F", A in fl and F in fl, fl)
    h.check("A's /v1/feeds to F does not list L (limited: not re-announced)", L not in fl,
            "listed: %s (L = %s)" % (sorted(fl), L))
    if g_full:
        h.check("A's /v1/feeds to F lists G (full transitively)", G in fl, fl)
    else:
        h.check("A's /v1/feeds to F does not list G (not full in A's list)", G not in fl, fl)
    st, text = signed(h, home["f"], "GET", base + "/v1/feeds/%s?from=1" % L)
    h.check("GET /v1/feeds/<L>?from=1 by F is refused (404: not shared)",
            st in (403, 404) and "quokka" not in text,
            "status %s body %s" % (st, text[:300]))
    st, text = signed(h, home["f"], "GET", base + "/v1/feeds/%s?from=1" % G)
    if g_full:
        h.check("GET /v1/feeds/<G>?from=1 by F: 200 with G's lesson (G full transitively)",
                st == 200 and "wombat" in text, "status %s body %s" % (st, text[:300]))
    else:
        h.check("GET /v1/feeds/<G>?from=1 by F refused (G not full)", st in (403, 404),
                "status %s body %s" % (st, text[:300]))
    st, text = signed(h, home["f"], "GET", base + "/v1/feeds/%s?from=1" % A)
    h.check("GET /v1/feeds/<A>?from=1 by F: 200 (own feed)", st == 200 and A in text,
            "status %s body %s" % (st, text[:200]))

    # -- the local client still sees everything -----------------------------------
    st, j, _ = node.get_json("/v1/feeds")
    local = {x["iss"] for x in (j or [])}
    h.check("a local client (bearer token) still gets L's feed listed in GET /v1/feeds",
            st == 200 and L in local and A in local and F in local, (st, j))

    # -- statements of a limited issuer are still accepted over the network -------
    publish(h, home["l"], "second limited lesson", "the numbat recipe")
    _, llines = h.export_lines(home["l"], L)
    fresh = h.path("l-fresh.ndjson")
    with open(fresh, "wb") as fh:
        fh.write(llines[-1] + b"\n")
    st, text = signed(h, home["f"], "POST", base + "/v1/statements", ["--body", fresh])
    h.check("F pushes a fresh statement of L (limited, in A's horizon): accepted",
            st == 200 and text.strip() == "accepted", "status %s body %s" % (st, text[:300]))
    ok = node.wait_for(lambda: any(x.get("author") == L for x in
                                   (node.get_json("/v1/search?q=numbat")[1] or {})
                                   .get("results", [])), timeout=10)
    h.check("the pushed L statement is used locally (GET /v1/search?q=numbat by the local "
            "client finds it)", ok, node.get_json("/v1/search?q=numbat")[1])

    # -- B syncs from A: L's feed does not travel through A -----------------------
    ok_run(h, ["trust", "add", A, "--level", "full"], home["b"], "B trusts A full")
    ok_run(h, ["trust", "add", L, "--level", "limited", "--score", "0.5"], home["b"],
           "B trusts L limited (L in B's horizon)")
    ok_run(h, ["peer", "add", node.url], home["b"], "B peer add A")
    r = h.run(["sync", "--json"], home=home["b"], timeout=60)
    print("B sync: exit %d %s %s" % (r.returncode, r.stdout.decode(errors="replace")[:400],
                                       r.stderr.decode(errors="replace")[:300]))
    has = {n: len(h.export_lines(home["b"], ids[n])[1]) for n in ("a", "f", "l", "g")}
    print("B holds statements per issuer: %s" % has)
    h.check("B got A's feed from A", has["a"] >= 3, has)
    h.check("B got F's feed from A (F is full in A's list)", has["f"] >= 1, has)
    h.check("B did not get L's feed from A (A does not re-serve a limited issuer, although L "
            "is in B's own horizon)", has["l"] == 0, has)


run_main(h, "re-announce", main, nodes)
