#!/usr/bin/python3
"""A konect-style directed trust web for bench/big/run: N nodes, M distinct
edges (no self-loops), 70% of the targets drawn by preferential attachment
(a heavy-tailed in-degree, like the real webs), weights .6/.8/1.
usage: gen_web.py N M SEED OUT"""
import random
import sys

n, m, seed, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(seed)
seen = set()
targets = list(range(1, 51))
with open(path, "w") as out:
    out.write("% asym weighted\n")
    while len(seen) < m:
        s = rng.randint(1, n)
        t = rng.choice(targets) if rng.random() < 0.7 else rng.randint(1, n)
        if s == t or (s, t) in seen:
            continue
        seen.add((s, t))
        targets.append(t)
        out.write("%d %d %s\n" % (s, t, rng.choice((".6", ".8", "1"))))
