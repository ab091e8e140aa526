#!/usr/bin/env python3
"""Write tests/vectors/flow-adaptive.json: small graphs with the answer of
trust.mode flow-adaptive (docs/flow.md), computed here by a plain Python
reference (BFS, the canonical tree by rendezvous weight, the capped-subtree
schedule, and a greedy over a fresh max flow per candidate), independent of
the C engine. tests/unit/test_graph_flow_adaptive.c
checks the engine against the file.

Run: python3 tests/vectors/gen_flow_adaptive.py > tests/vectors/flow-adaptive.json
"""
import json
import random
from collections import deque

AT = 1800000000
SLACK = 3  # MT_FLOW_ADAPTIVE_SLACK
RANK = 3   # MT_FLOW_ADAPTIVE_RANK
M64 = (1 << 64) - 1


def mix(x):
    x = ((x ^ (x >> 33)) * 0xff51afd7ed558ccd) & M64
    x = ((x ^ (x >> 33)) * 0xc4ceb9fe1a85ec53) & M64
    return x ^ (x >> 33)


def id_hash(node_id):
    h = 0xcbf29ce484222325
    for b in node_id.encode():
        h = ((h ^ b) * 0x100000001b3) & M64
    return mix(h)


def weight(parent, child):
    """The rendezvous weight of the tree edge parent -> child (docs/flow.md)."""
    return mix(id_hash(parent) ^ ((id_hash(child) * 0x9e3779b97f4a7c15) & M64))


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
    # canonical tree: the lightest predecessor one hop nearer (ties: smaller Node ID)
    parent = {}
    for e in live:
        a, b = e[0], e[1]
        if a in dist and b in dist and dist[b] == dist[a] + 1:
            key = (weight(a, b), a)
            if b not in parent or key < parent[b]:
                parent[b] = key
    desc = {x: 0 for x in dist}
    for x in sorted(dist, key=lambda y: -dist[y]):
        if x != v:
            desc[parent[x][1]] += desc[x] + 1
    caps = [1 + len(dist) - 1]
    for d in range(1, depth + 1):
        vals = sorted((desc[x] for x in dist if dist[x] == d), reverse=True)
        want = 0
        if vals and d < depth:
            top = vals[min(RANK, len(vals)) - 1]
            capped = sum(min(x, top) for x in vals)
            want = min(capped, -(-SLACK * capped // len(vals)))
        caps.append(min(1 + want, caps[-1]))
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
        case("chain", "one node per layer, its own cap: c(d) = 1 + nodes beyond",
             [full("V", "A"), full("A", "B"), full("B", "C"), full("C", "D")], depth=3),
        case("hub-limit", "one of 4 nodes holds all 4 beyond: capped at the third largest (0), c(1) = 1",
             [full("V", x) for x in "ABCD"] + [full("A", x) for x in "WXYZ"]),
        case("capped", "subtrees 4, 2, 1, 1: cap 1, c(1) = 4, A passes 3 of its 4",
             [full("V", x) for x in "ABCD"] + [full("A", x) for x in "WXYZ"]
             + [full("B", "P"), full("B", "Q"), full("C", "R"), full("D", "T")]),
        case("sybil-example", "V trusts a, b, c; a trusts 40 Sybils: c(1) = 7 whatever their number",
             [full("V", x) for x in "abc"] + [full("b", "b1"), full("b", "b2"), full("c", "c1"),
                                              full("c", "c2")]
             + [full("a", "s%02d" % i) for i in range(40)]
             + [full("s%02d" % i, "s%02d" % ((i + 1) % 40)) for i in range(40)]),
        case("rules", "limited edges count, expired and none edges do not, blocks and other scopes stay out",
             [full("V", "A"), ["V", "B", "global", "limited", 500, 0],
              ["V", "C", "global", "full", 1000, AT - 1], ["V", "D", "global", "none", 0, 0],
              full("A", "D"), full("A", "S", "coop"), full("B", "E"), full("E", "F"),
              full("A", "G")], depth=3),
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
           "slack": SLACK, "rank": RANK, "cases": cases}
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
