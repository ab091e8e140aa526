"""SPEC §9.4: "a peer trusted `full` in the scope of a community this node is
bound to may sync that community's members' feeds, and only those".

Node A founds coop:x with M (`mesh community create coop:x --founders A,M`);
A trusts P full in coop:x but only limited in global. A also holds the feed of
an outsider O whom it trusts full in global (so O's feed *is* re-announced to
global full peers -- just not to a coop:x-only peer). M is trusted full in
global as well, so M's feed is shareable under either reading of how the
community right combines with re-announce.

The attack reproduced against the old node: P added `?scope=coop:x` to its
requests and so synced every feed in A's horizon, O's included, and pushed
statements. The missing feature: without the parameter, P could not sync the
community at all (403).

Run: PYTHONPATH=tests/integration python3 tests/security/test_community_sync.py MESH BENCH_INGEST
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed  # noqa: E402
from secutil import carry, feed_list, ok_run, publish, run_main  # noqa: E402

h = Harness(sys.argv)
nodes = []


def main():
    names = ["a", "m", "o", "p", "y"]
    home = {n: h.path(n) for n in names}
    ids = {n: h.init(home[n]) for n in names}
    A, M, O, P, Y = (ids[n] for n in names)
    r, cj = h.run_json(["community", "create", "coop:x", "--founders", "%s,%s" % (A, M),
                        "--json"], home=home["a"])
    h.check("A founds coop:x with M", r.returncode == 0 and cj and cj.get("genesis"),
            r.stderr.decode(errors="replace"))
    r, mj = h.run_json(["community", "members", "coop:x", "--json"], home=home["a"])
    h.check("coop:x is bound on A, members A and M",
            mj and sorted(mj.get("members", [])) == sorted([A, M]), mj or r.stderr)
    ok_run(h, ["trust", "add", P, "--level", "full", "--score", "0.9", "--scope", "coop:x"],
           home["a"], "A trusts P full in coop:x")
    ok_run(h, ["trust", "add", P, "--level", "limited", "--score", "0.5"], home["a"],
           "A trusts P limited in global")
    ok_run(h, ["trust", "add", M, "--level", "full"], home["a"], "A trusts M full (global)")
    ok_run(h, ["trust", "add", O, "--level", "full"], home["a"], "A trusts O full (global)")
    # Y: full in coop:y, a scope no community of A's is bound to (control).
    ok_run(h, ["trust", "add", Y, "--level", "full", "--scope", "coop:y"], home["a"],
           "A trusts Y full in coop:y")
    publish(h, home["m"], "member lesson", "the kiwi recipe")
    publish(h, home["o"], "outsider lesson", "the emu recipe")
    carry(h, home["m"], M, home["a"])
    carry(h, home["o"], O, home["a"])
    publish(h, home["p"], "p lesson", "the dingo recipe")
    _, plines = h.export_lines(home["p"], P)
    pbody = h.path("p.ndjson")
    with open(pbody, "wb") as fh:
        fh.write(b"\n".join(plines) + b"\n")

    node = Node(h, home["a"], "a").start()
    nodes.append(node)
    base = node.url

    def req(who, method, path, extra=()):
        st, text = signed(h, home[who], method, base + path, list(extra))
        time.sleep(0.15)  # P is 0.5 in global (100/s burst 25): never near the bucket's end
        return st, text

    st, j, _ = node.get_json("/v1/feeds")
    local = {x["iss"] for x in (j or [])}
    h.check("A holds the feeds of A, M and O (local view)", {A, M, O} <= local, j)

    # -- P: the community right -------------------------------------------------
    st, text = req("p", "GET", "/v1/feeds")
    fl = feed_list(text) if st == 200 else None
    h.check("P (full in coop:x, bound community) gets 200 on GET /v1/feeds", st == 200,
            "status %s body %s" % (st, text[:300]))
    fl = fl or {}
    h.check("P's /v1/feeds lists the members' feeds A and M", A in fl and M in fl,
            "listed %s; A=%s M=%s" % (sorted(fl), A, M))
    h.check("P's /v1/feeds lists only members (not O, nor anyone else)",
            st == 200 and set(fl) <= {A, M},
            "status %s listed %s; O=%s" % (st, sorted(fl), O))
    st, text = req("p", "GET", "/v1/feeds/%s?from=1" % M)
    h.check("P: GET /v1/feeds/<M>?from=1 -> 200 with M's lesson",
            st == 200 and "kiwi" in text, "status %s body %s" % (st, text[:300]))
    st, text = req("p", "GET", "/v1/feeds/%s?from=1" % A)
    h.check("P: GET /v1/feeds/<A>?from=1 -> 200 (A is a founder)", st == 200 and A in text,
            "status %s body %s" % (st, text[:300]))
    st, text = req("p", "GET", "/v1/feeds/%s?from=1" % O)
    h.check("P: GET /v1/feeds/<O>?from=1 -> 403/404 (O is no member)",
            st in (403, 404) and "emu" not in text, "status %s body %s" % (st, text[:300]))
    st, text = req("p", "POST", "/v1/statements", ["--body", pbody])
    h.check("P: POST /v1/statements -> 403 (global decides pushes; P is limited there)",
            st == 403, "status %s body %s" % (st, text[:300]))

    # -- the query parameter does not widen it ------------------------------------
    st, text = req("p", "GET", "/v1/feeds?scope=coop:x")
    fl = feed_list(text) if st == 200 else {}
    h.check("P: GET /v1/feeds?scope=coop:x lists no feed beyond the members (no O)",
            st in (200, 403) and set(fl or {}) <= {A, M},
            "status %s body %s" % (st, text[:400]))
    st, text = req("p", "GET", "/v1/feeds/%s?from=1&scope=coop:x" % O)
    h.check("P: GET /v1/feeds/<O>?from=1&scope=coop:x -> 403/404",
            st in (403, 404) and "emu" not in text, "status %s body %s" % (st, text[:300]))
    st, text = req("p", "POST", "/v1/statements?scope=coop:x", ["--body", pbody])
    h.check("P: POST /v1/statements?scope=coop:x -> 403", st == 403,
            "status %s body %s" % (st, text[:300]))
    st, j, _ = node.get_json("/v1/feeds")
    h.check("A took no statement pushed by P",
            st == 200 and not any(x.get("iss") == P for x in (j or [])), j)

    # -- controls ------------------------------------------------------------------
    st, text = req("y", "GET", "/v1/feeds")
    h.check("control: Y, full only in coop:y (no community bound there), gets 403 on "
            "GET /v1/feeds", st == 403, "status %s body %s" % (st, text[:300]))
    st, text = req("m", "GET", "/v1/feeds")
    fl = feed_list(text) if st == 200 else {}
    h.check("control: M (full in global) gets 200 on GET /v1/feeds with O listed",
            st == 200 and O in (fl or {}), "status %s body %s" % (st, text[:300]))


run_main(h, "community sync", main, nodes)
