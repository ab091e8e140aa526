"""One views layer (issue #15): every read that both front ends offer — trust
list, trust path, flow (list and path), search, metrics (with and without
per-node figures), proof-of-trust round status — gives the same JSON document
through the CLI (`--json`) and over HTTP (bearer token) on the same store, for
the same question (the same evaluation time: MESH_NOW for the CLI, `at=` for
the node)."""
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, stop_all  # noqa: E402

h = Harness(sys.argv)
nodes = []


def ok(home, args, now=None):
    env = dict(h.env)
    if now is not None:
        env["MESH_NOW"] = str(now)
    r = h.run(args, home=home, env=env)
    if r.returncode not in (0, 1):  # trust path exits 1 when there is no path
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args), r.returncode,
                                               r.stderr.decode(errors="replace")))
    return r


def cli_json(home, args, now):
    r = ok(home, args + ["--json"], now)
    return json.loads(r.stdout.decode())


def same(name, cli_doc, node, path):
    st, doc, _ = node.get_json(path)
    h.check(name + ": HTTP 200", st == 200, (st, doc))
    h.check(name + ": the same document", cli_doc == doc,
            "\ncli : %s\nhttp: %s" % (json.dumps(cli_doc, sort_keys=True),
                                      json.dumps(doc, sort_keys=True)))


def q(**kw):
    return urllib.parse.urlencode(kw)


def main():
    t0 = int(time.time()) - 3600
    homes = {n: h.path(n) for n in "abcde"}
    ids = {}
    for n, home in homes.items():
        ok(home, ["init"], t0)
        ids[n] = cli_json(home, ["id"], t0)["node_id"]
    a = homes["a"]
    # a small web in a's store: a -> b, c (full); b -> d (limited); c -> d (full), scoped edges
    ok(a, ["trust", "add", ids["b"], "--level", "full", "--score", "0.9", "--note", "bee"], t0 + 1)
    ok(a, ["trust", "add", ids["c"], "--level", "full", "--score", "0.6"], t0 + 2)
    ok(a, ["trust", "add", ids["c"], "--level", "full", "--score", "0.7", "--scope",
           "coop:x"], t0 + 3)
    for n, dst, lvl, sc in (("b", "d", "limited", "0.8"), ("c", "d", "full", "0.5"),
                            ("d", "e", "full", "0.9")):
        ok(homes[n], ["trust", "add", ids[dst], "--level", lvl, "--score", sc], t0 + 4)
    notes = h.path("lesson.md")
    with open(notes, "w") as f:
        f.write("Pin your dependencies and review every update.\n")
    ok(homes["b"], ["lesson", "publish", "--topic", "rust", "--title", "Pin your deps", notes],
       t0 + 5)
    ok(homes["c"], ["lesson", "publish", "--topic", "rust", "--title", "Review deps", notes],
       t0 + 6)
    for n in "bcd":
        exp = h.path(n + ".ndjson")
        r = ok(homes[n], ["log", "export"], t0 + 7)
        with open(exp, "wb") as f:
            f.write(r.stdout)
        ok(a, ["log", "import", exp], t0 + 7)
    # a community and an open proof-of-trust round
    ok(a, ["community", "create", "coop:x", "--founders", ids["b"]], t0 + 8)
    rnd = cli_json(a, ["pot", "open", "--scope", "coop:x", "--candidate", ids["e"], "--with",
                       ids["b"], "--deadline", "3d"], t0 + 9)["round"]

    node = Node(h, a, "a").start()
    nodes.append(node)
    T = t0 + 60

    same("trust list", cli_json(a, ["trust", "list"], T), node,
         "/v1/trust/list?" + q(at=T))
    same("trust list, scope coop:x, depth 3",
         cli_json(a, ["trust", "list", "--scope", "coop:x", "--depth", "3"], T), node,
         "/v1/trust/list?" + q(scope="coop:x", depth=3, at=T))
    same("trust list, flow", cli_json(a, ["trust", "list", "--mode", "flow"], T), node,
         "/v1/trust/list?" + q(mode="flow", at=T))
    for who in "de":
        same("trust path to " + who, cli_json(a, ["trust", "path", ids[who]], T), node,
             "/v1/trust/path?" + q(target=ids[who], at=T))
        same("trust path to %s, flow" % who,
             cli_json(a, ["trust", "path", ids[who], "--mode", "flow"], T), node,
             "/v1/trust/path?" + q(target=ids[who], mode="flow", at=T))
    for who in ("c", "e"):
        same("trust explain of " + who, cli_json(a, ["trust", "explain", ids[who]], T), node,
             "/v1/trust/explain?" + q(target=ids[who], at=T))
        same("trust explain of %s, flow" % who,
             cli_json(a, ["trust", "explain", ids[who], "--mode", "flow"], T), node,
             "/v1/trust/explain?" + q(target=ids[who], mode="flow", at=T))
    same("trust path beyond the depth",
         cli_json(a, ["trust", "path", ids["e"], "--depth", "2"], T), node,
         "/v1/trust/path?" + q(target=ids["e"], depth=2, at=T))
    same("search", cli_json(a, ["search", "deps"], T), node,
         "/v1/search?" + q(q="deps", at=T, statements=0))
    same("search with a topic", cli_json(a, ["search", "deps", "--topic", "rust"], T), node,
         "/v1/search?" + q(q="deps", topic="rust", at=T, statements=0))
    same("metrics", cli_json(a, ["metrics"], T), node, "/v1/metrics?" + q(at=T))
    same("metrics per node, coop:x",
         cli_json(a, ["metrics", "--scope", "coop:x", "--per-node"], T), node,
         "/v1/metrics?" + q(scope="coop:x", per_node=1, at=T))
    same("pot status", cli_json(a, ["pot", "status", rnd], T), node,
         "/v1/pot?" + q(round=rnd, at=T))
    # the documents are not trivially equal: they carry the web built above
    st, lst, _ = node.get_json("/v1/trust/list?" + q(at=T))
    h.check("the trust list names b, c and d", st == 200 and
            {r["node_id"] for r in lst["results"]} >= {ids["b"], ids["c"], ids["d"]}, lst)
    st, srch, _ = node.get_json("/v1/search?" + q(q="deps", at=T))
    h.check("the search finds both lessons, each with its signed statement",
            st == 200 and len(srch["results"]) == 2 and
            all(r.get("statement") for r in srch["results"]), srch)


try:
    h.guard("views", main)
finally:
    stop_all(nodes)
h.finish()
