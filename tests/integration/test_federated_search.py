"""Federated search (`mesh search --peers`) with real nodes on 127.0.0.1.

A asks its peers B (trusts A limited: answers), C (does not trust A: refuses)
and F (a fake peer, a tiny HTTP server in this process, that serves forged
and genuine lessons). A verifies every remote result, drops the forged ones
and says so, re-ranks the rest with its own trust (authors it does not trust
are left out), de-duplicates by statement id and names the sources."""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness, stmt_id  # noqa: E402
from nodeutil import Node, signed, stop_all  # noqa: E402

h = Harness(sys.argv)
names = ["a", "b", "c", "x", "y", "f"]
homes = {n: h.path(n) for n in names}
ids = {n: h.init(homes[n], legacy=True) for n in names}
nodes = {}
fake = {"answer": None, "server": None}


def ok(r):
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r


def trust(src, dst, level="full", score=None):
    args = ["trust", "add", ids[dst], "--level", level] + (["--score", score] if score else [])
    ok(h.run(args, home=homes[src]))


def publish(who, title, body):
    ok(h.run(["lesson", "publish", "--topic", "garden", "--title", title, "-"], home=homes[who],
             stdin=body.encode()))


def import_lines(home, lines, name):
    p = h.path(name + ".ndjson")
    with open(p, "wb") as f:
        f.write(b"\n".join(lines) + b"\n")
    ok(h.run(["log", "import", p], home=home))


class FakePeer(BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        if self.path == "/v1/id":
            body = {"node_id": ids["f"], "did": "", "version": "fake", "public_key": ""}
        elif self.path.startswith("/v1/search"):
            body = fake["answer"]
        else:
            self.send_response(404)
            self.end_headers()
            return
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def result_of(stmt_line, relevance=1e9):
    """A search result claiming exactly what the statement says."""
    s = json.loads(stmt_line)
    return {"id": stmt_id(stmt_line), "author": s["iss"], "title": s.get("title", "compost"),
            "topics": s.get("topics", ["garden"]), "hops": 1, "level": "full", "trust": 1.0,
            "relevance": relevance, "freshness": 1.0, "rank": relevance, "ts": s["ts"],
            "statement": stmt_line.decode()}


def search(home, query, peers=True, as_json=True):
    args = ["search", query] + (["--peers", "--timeout", "5"] if peers else []) + \
        (["--json"] if as_json else [])
    r = h.run(args, home=home, timeout=60)
    j = None
    if as_json:
        try:
            j = json.loads(r.stdout.decode())
        except ValueError:
            pass
    return r, j


def main():
    # X writes three lessons, Y one; all match "compost".
    publish("x", "Compost heat", "Turn the compost pile weekly so it heats up.")
    publish("x", "Compost layering", "Layer greens and browns in the compost.")
    publish("x", "Compost worms", "Worms make compost faster in small bins.")
    publish("y", "Compost tea", "Steep compost in water for a liquid feed.")
    _, xl = h.export_lines(homes["x"], ids["x"])
    _, yl = h.export_lines(homes["y"], ids["y"])
    titles = {json.loads(l)["title"]: l for l in xl}
    l1, l2, l3 = titles["Compost heat"], titles["Compost layering"], titles["Compost worms"]
    ly = yl[0]
    # A holds L1 itself; B holds L1, L2 and Y's lesson; L3 is only at F.
    import_lines(homes["a"], [l1], "a_x")
    import_lines(homes["b"], [l1, l2], "b_x")
    import_lines(homes["b"], [ly], "b_y")
    trust("a", "b")
    trust("a", "x", "full", "0.8")
    trust("b", "x", "full", "0.5")
    trust("b", "y")
    trust("b", "a", "limited", "0.5")
    trust("c", "b")  # C knows B, not A
    for n in ("b", "c"):
        nodes[n] = Node(h, homes[n], n).start()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakePeer)
    fake["server"] = srv
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    furl = "http://127.0.0.1:%d" % srv.server_address[1]
    # F serves: L2 with a tampered title (signature breaks), L1 under a wrong
    # id, Y's lesson with a claimed author X, a trust statement, and the
    # genuine L3 with an absurd claimed relevance.
    forged = l2.replace(b"Compost layering", b"Compost layering secrets")
    bad_id = dict(result_of(l1), id="00" * 32)
    wrong_author = dict(result_of(ly), author=ids["x"])
    _, a_own = h.export_lines(homes["a"], ids["a"])
    not_lesson = result_of(a_own[0])
    fake["answer"] = {"digest": "0" * 64, "viewpoint": ids["f"], "scope": "global",
                      "results": [result_of(forged), bad_id, wrong_author, not_lesson,
                                  result_of(l3), "junk"]}
    for url in (nodes["b"].url, nodes["c"].url, furl):
        ok(h.run(["peer", "add", url], home=homes["a"]))

    # Local only: L1, nothing else.
    r, loc = search(homes["a"], "compost", peers=False)
    h.check("local search: only A's own copy of L1",
            r.returncode == 0 and loc and [x["id"] for x in loc["results"]] == [stmt_id(l1)],
            r.stderr)
    head_before = h.head(homes["a"])

    # B answers A (signed request): it holds X's and Y's lessons.
    st, body = signed(h, homes["a"], "GET", nodes["b"].url + "/v1/search?q=compost")
    bj = json.loads(body) if st == 200 else {}
    b_ids = {x["id"]: x for x in bj.get("results", [])}
    h.check("B answers A's signed search with X's and Y's lessons (B's trust in X: 0.5)",
            st == 200 and set(b_ids) == {stmt_id(l1), stmt_id(l2), stmt_id(ly)} and
            abs(b_ids[stmt_id(l1)]["trust"] - 0.5) < 1e-9, (st, body[:300]))

    r, j = search(homes["a"], "compost")
    h.check("federated search exits 0 with JSON", r.returncode == 0 and j is not None,
            r.stderr)
    res = {x["id"]: x for x in j["results"]}
    h.check("results: L1, L2 (from B) and L3 (from F); Y's lesson left out (A does not "
            "trust Y)", set(res) == {stmt_id(l1), stmt_id(l2), stmt_id(l3)}, list(res))
    h.check("no result by Y", all(x["author"] != ids["y"] for x in j["results"]))
    h.check("L1 appears once, from local and B",
            [x["id"] for x in j["results"]].count(stmt_id(l1)) == 1 and
            res[stmt_id(l1)]["sources"] == ["local", ids["b"]], res.get(stmt_id(l1)))
    h.check("L2 comes from B only", res[stmt_id(l2)]["sources"] == [ids["b"]],
            res.get(stmt_id(l2)))
    h.check("L3 comes from F only", res[stmt_id(l3)]["sources"] == [ids["f"]],
            res.get(stmt_id(l3)))
    x_trust = loc["results"][0]["trust"]
    h.check("remote results carry A's trust in X (0.8), not B's (0.5) or F's (1.0)",
            abs(x_trust - 0.8) < 1e-9 and
            all(abs(res[i]["trust"] - x_trust) < 1e-12 and res[i]["level"] == "full"
                for i in res), [(res[i]["trust"], res[i]["level"]) for i in res])
    h.check("relevance is computed locally (F's claimed 1e9 ignored), rank = rel x trust x "
            "fresh", all(0 < x["relevance"] < 100 and
                         abs(x["rank"] - x["relevance"] * x["trust"] * x["freshness"]) < 1e-9
                         for x in j["results"]), j["results"])
    ranks = [x["rank"] for x in j["results"]]
    h.check("results sorted by A's rank", ranks == sorted(ranks, reverse=True), ranks)
    drops = {(d["peer"], d["id"]): d["reason"] for d in j["dropped"]}
    h.check("the forged lesson (tampered title) is dropped: bad signature",
            "signature" in drops.get((ids["f"], stmt_id(forged)), ""), j["dropped"])
    h.check("the result under a wrong id is dropped",
            "id mismatch" in drops.get((ids["f"], "00" * 32), ""), j["dropped"])
    h.check("the result with a false author is dropped",
            "author mismatch" in drops.get((ids["f"], stmt_id(ly)), ""), j["dropped"])
    h.check("a non-lesson statement is dropped",
            "not a lesson" in drops.get((ids["f"], stmt_id(a_own[0])), ""), j["dropped"])
    h.check("a junk result is dropped", ("%s" % ids["f"], "") in drops, j["dropped"])
    h.check("nothing from B is dropped", all(d["peer"] != ids["b"] for d in j["dropped"]))
    peers = {p["id"]: p for p in j["peers"]}
    h.check("B answered with 3 results, all verified",
            peers[ids["b"]]["status"] == "ok" and peers[ids["b"]]["results"] == 3 and
            peers[ids["b"]]["verified"] == 3, peers.get(ids["b"]))
    h.check("C refused A (403: does not trust A)",
            peers[ids["c"]]["status"] == "refused" and "403" in peers[ids["c"]]["error"],
            peers.get(ids["c"]))
    h.check("F answered; 1 of its 6 results verified",
            peers[ids["f"]]["status"] == "ok" and peers[ids["f"]]["verified"] == 1,
            peers.get(ids["f"]))
    h.check("A's store is unchanged by the federated search", h.head(homes["a"]) == head_before)
    r, loc2 = search(homes["a"], "compost", peers=False)
    h.check("remote lessons were not kept", loc2 == loc or
            [x["id"] for x in loc2["results"]] == [stmt_id(l1)])

    # Text output: the drop is a warning on stderr, sources on stdout.
    r, _ = search(homes["a"], "compost", as_json=False)
    err, out = r.stderr.decode(), r.stdout.decode()
    h.check("text mode: forged lesson reported on stderr",
            r.returncode == 0 and "dropped result %s" % stmt_id(forged) in err and
            "bad signature" in err, err)
    h.check("text mode: C's refusal reported on stderr", "%s" % ids["c"] in err and
            "refused" in err, err)
    h.check("text mode: sources shown", "from: local %s" % ids["b"] in out, out)

    # A peer that is down is reported, not fatal.
    nodes["c"].stop()
    r, j = search(homes["a"], "compost")
    peers = {p["id"]: p for p in (j or {}).get("peers", [])}
    h.check("C down: reported as failed, search still answers",
            r.returncode == 0 and peers.get(ids["c"], {}).get("status") == "failed" and
            len(j["results"]) == 3, (r.stderr, peers))


try:
    h.guard("federated search", main)
finally:
    stop_all(nodes.values())
    if fake["server"]:
        fake["server"].shutdown()
h.finish()
