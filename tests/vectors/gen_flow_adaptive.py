#!/usr/bin/env python3
"""Write tests/vectors/flow-adaptive.json: small graphs with the answer of
trust.mode flow-adaptive (docs/flow.md), computed here by a plain Python
reference (BFS, the schedule formula, and a greedy over a fresh max flow per
candidate), independent of the C engine. tests/unit/test_graph_flow_adaptive.c
checks the engine against the file.

Run: python3 tests/vectors/gen_flow_adaptive.py > tests/vectors/flow-adaptive.json
"""
import json
import random
from collections import deque

AT = 1800000000
SLACK = 2  # MT_FLOW_ADAPTIVE_SLACK


def alive(e, at):
    return e[3] != "none" and (e[5] == 0 or e[5] > at)


def max_flow(cap, n, s, t):
    flow = 0
    while True:
        prev = {s: s}
        q = deque([s])
        while q and t not in prev:
            u = q.popleft()
            for w, c in cap[u].items():
                if c > 0 and w not in prev:
                    prev[w] = u
                    q.append(w)
        if t not in prev:
            return flow
        w = t
        while w != s:
            u = prev[w]
            cap[u][w] -= 1
            cap[w][u] = cap[w].get(u, 0) + 1
            w = u
        flow += 1


def answer(edges, v, scope, depth, at):
    blocked = {e[1] for e in edges if e[0] == v and e[3] == "none"
               and (e[5] == 0 or e[5] > at) and e[2] in (scope, "global")}
    live = [e for e in edges if e[2] == scope and alive(e, at)]
    dist = {v: 0}
    frontier = [v]
    for d in range(1, depth + 1):
        nxt = []
        for e in live:
            if e[0] in frontier and e[1] not in dist and e[1] not in blocked:
                dist[e[1]] = d
                nxt.append(e[1])
        frontier = nxt
    layer = [sum(1 for x in dist.values() if x == d) for d in range(depth + 1)]
    caps = []
    for d in range(depth + 1):
        beyond = sum(layer[d + 1:])
        share = beyond if d == 0 or layer[d] == 0 else -(-SLACK * beyond // layer[d])
        caps.append(1 + min(share, beyond))
    order = sorted((x for x in dist if x != v), key=lambda x: (dist[x], x))
    accepted = []
    for cand in order:
        want = accepted + [cand]
        cap = {}
        for x in dist:
            cap.setdefault(("in", x), {})[("out", x)] = caps[dist[x]] - 1
            cap.setdefault(("out", x), {})
        cap["sink"] = {}
        for x in want + [v]:
            cap[("in", x)]["sink"] = 1
        for e in live:
            if e[0] in dist and e[1] in dist and e[1] != v:
                cap[("out", e[0])][("in", e[1])] = 10 ** 6
        if max_flow(cap, None, ("in", v), "sink") == len(want) + 1:
            accepted.append(cand)
    known_v = any(v in (e[0], e[1]) for e in edges)
    known_s = any(e[2] == scope for e in edges)
    if not (known_v and known_s):
        return {"capacities": [], "region": 0, "accepted": [], "not_accepted": []}
    return {
        "capacities": caps,
        "region": len(dist) - 1,
        "accepted": [{"id": x, "hops": dist[x], "capacity": caps[dist[x]]} for x in accepted],
        "not_accepted": [{"id": x, "why": "not-accepted"} for x in order if x not in accepted],
    }


def full(a, b, scope="global"):
    return [a, b, scope, "full", 1000, 0]


def case(name, note, edges, v="V", scope="global", depth=2, at=AT):
    return {"name": name, "note": note, "viewpoint": v, "scope": scope, "depth": depth, "at": at,
            "edges": edges, "expect": answer(edges, v, scope, depth, at)}


def main():
    cases = [
        case("chain", "one node per layer: c(d) = 1 + nodes beyond",
             [full("V", "A"), full("A", "B"), full("B", "C"), full("C", "D")], depth=3),
        case("hub-limit", "layer 1 has 4 nodes for 4 beyond: c(1) = 3; the smallest IDs win",
             [full("V", x) for x in "ABCD"] + [full("A", x) for x in "WXYZ"]),
        case("reroute", "Q is accepted by moving P's unit from A to B",
             [full("V", x) for x in "ABCD"] + [full("A", "P"), full("A", "Q"), full("B", "P")]),
        case("rules", "limited edges count, expired and none edges do not, blocks and other scopes stay out",
             [full("V", "A"), ["V", "B", "global", "limited", 500, 0],
              ["V", "C", "global", "full", 1000, AT - 1], ["V", "D", "global", "none", 0, 0],
              full("A", "D"), full("A", "S", "coop"), full("B", "E"), full("E", "F")], depth=3),
    ]
    rnd = random.Random(23)
    for g in range(8):
        names = ["n%02d" % i for i in range(10)]
        edges = []
        for a in names:
            hub = a in ("n01", "n05")
            for b in names:
                p = 0.3 if a == "n00" else (0.7 if hub else 0.05)
                if a != b and rnd.random() < p:
                    edges.append(full(a, b))
        cases.append(case("random-%d" % g, "seeded random graph with two hubs", edges, v="n00",
                          depth=2 + g % 3))
    doc = {"about": "trust.mode flow-adaptive (docs/flow.md); edges are [src, dst, scope, level, "
                    "score permille, exp]; generated by tests/vectors/gen_flow_adaptive.py",
           "slack": SLACK, "cases": cases}
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
