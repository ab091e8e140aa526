#!/usr/bin/python3
"""`trust.mode flow-adaptive` and `mesh sim attack` through the real `mesh`
binary (issue #23):

- sim attack on a small generated graph (konect with weights) and on an
  unweighted two-column konect file with `%` comments: the three modes are
  reported, Levien's bound is checked in every run (0 violations, exit 0), the
  adaptive honest reach is given as a share of best-path's;
- a line the parser refuses is still an error naming the line;
- trust.mode flow-adaptive in `mesh config set`, `trust list --json`, `trust path`,
  `trust explain` and `--mode`; `trust path --proof` refuses it.

Usage: test_sim_attack.py MESH_BINARY. Prints "N passed, N failed"."""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

MESH = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="mesh-sim-attack-")
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + str(detail)[:800]) if detail else ""))
    sys.stdout.flush()


def run(home, args, stdin=None, timeout=300):
    env = dict(os.environ)
    for k in ("MESH_HOME", "MESH_PASSPHRASE_FILE", "MESH_NOW"):
        env.pop(k, None)
    env["HOME"] = TMP
    env["LC_ALL"] = "C"
    cmd = [MESH] + (["--home", home] if home else []) + args
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, timeout=timeout)


def jrun(home, args):
    r = run(home, args)
    try:
        return r, json.loads(r.stdout.decode())
    except ValueError:
        return r, None


def gen_graph(path, n, weighted, seed):
    """A small web: a ring plus preferential out-edges, konect style."""
    rnd = random.Random(seed)
    lines = ["% sym " + ("weighted" if weighted else "unweighted"), "%% %d %d" % (n * 4, n)]
    edges = set()
    for i in range(1, n + 1):
        edges.add((i, i % n + 1))
        for _ in range(3):
            j = rnd.randint(1, max(1, min(n, int(abs(rnd.gauss(0, n / 4))) + 1)))
            if j != i:
                edges.add((i, j))
    for a, b in sorted(edges):
        lines.append("%d %d %s" % (a, b, rnd.choice(["0.6", "0.8", "1"])) if weighted
                     else "%d\t%d" % (a, b))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(edges)


def sim(path, extra=()):
    return jrun(None, ["sim", "attack", "--graph", path, "--format", "konect", "--k", "1,5",
                       "--sybils", "10,100", "--viewpoints", "20", "--depths", "2,3",
                       "--json"] + list(extra))


def check_sim(name, path, m):
    r, j = sim(path)
    check(name + ": exit 0", r.returncode == 0, r.stderr)
    if not j:
        check(name + ": JSON", False, r.stdout)
        return
    check(name + ": every edge read", j["edges"] == m, (j["edges"], m))
    check(name + ": 0 violations", j["violations"] == 0, j)
    rows = j["rows"]
    check(name + ": 8 rows", len(rows) == 8, len(rows))
    for row in rows:
        for key in ("best_path_sybils", "flow_sybils", "adaptive_sybils", "adaptive_bound",
                    "adaptive_honest", "adaptive_honest_share"):
            if key not in row:
                check(name + ": row has " + key, False, row)
                return
    check(name + ": adaptive Sybils within the mean bound",
          all(r_["adaptive_sybils"] <= r_["adaptive_bound"] + 1e-9 for r_ in rows), rows)
    check(name + ": share = adaptive honest / best-path honest",
          all(abs(r_["adaptive_honest_share"] * r_["best_path_honest"] - r_["adaptive_honest"])
              < 1e-6 * max(1, r_["best_path_honest"]) for r_ in rows), rows)
    check(name + ": adaptive reaches more honest nodes than flow on this graph",
          sum(r_["adaptive_honest"] for r_ in rows) >= sum(r_["flow_honest"] for r_ in rows), rows)
    t = run(None, ["sim", "attack", "--graph", path, "--format", "konect", "--k", "1",
                   "--sybils", "10", "--viewpoints", "5", "--depths", "3"])
    out = t.stdout.decode()
    check(name + ": table names the three modes", t.returncode == 0 and "bp-sybils" in out
          and "fl-sybils" in out and "ad-sybils" in out and "ad-reach" in out, out)


def main():
    weighted = os.path.join(TMP, "weighted.konect")
    m = gen_graph(weighted, 300, True, 1)
    check_sim("weighted konect", weighted, m)
    unweighted = os.path.join(TMP, "unweighted.konect")
    m = gen_graph(unweighted, 300, False, 2)
    check_sim("two-column konect", unweighted, m)

    md = os.path.join(TMP, "attack.md")
    r = run(None, ["sim", "attack", "--graph", unweighted, "--format", "konect", "--k", "1",
                   "--sybils", "10,100", "--viewpoints", "5", "--depths", "3", "--markdown", md])
    text = open(md).read() if os.path.exists(md) else ""
    check("markdown: adaptive columns and the bound statement",
          r.returncode == 0 and "adaptive Sybils (max)" in text and "Flow-adaptive:" in text
          and "0 violation(s)" in text, text[:600])

    bad = os.path.join(TMP, "bad.konect")
    with open(bad, "w") as f:
        f.write("% unweighted\n1 2\n2 x\n")
    r = run(None, ["sim", "attack", "--graph", bad, "--format", "konect"])
    check("a refused line names its line", r.returncode != 0 and b"bad.konect:3:" in r.stderr,
          r.stderr)
    r = run(None, ["sim", "attack", "--graph", bad, "--format", "tsv"])
    check("unknown format refused", r.returncode != 0 and b"konect, csv-signed or snap" in r.stderr,
          r.stderr)

    # The mode through config and the trust family.
    homes = {x: os.path.join(TMP, x) for x in "VABCDE"}
    ids = {}
    for x, h in homes.items():
        run(h, ["init"])
        ids[x] = json.loads(run(h, ["id", "--json"]).stdout)["node_id"]
    V = homes["V"]
    run(V, ["trust", "add", ids["A"], "--level", "full"])
    run(V, ["trust", "add", ids["B"], "--level", "full"])
    run(homes["A"], ["trust", "add", ids["C"], "--level", "full"])
    run(homes["A"], ["trust", "add", ids["D"], "--level", "full"])
    run(homes["B"], ["trust", "add", ids["E"], "--level", "full"])
    run(V, ["log", "import", "-"], stdin=run(homes["A"], ["log", "export"]).stdout)
    run(V, ["log", "import", "-"], stdin=run(homes["B"], ["log", "export"]).stdout)
    # layers [V], [A, B], [C, D, E]; subtrees A 2, B 1: M(1) = 1 (fewer than
    # 3 nodes: the smallest), R~(1) = 2, c = [1 + 5, min(6, 1 + min(2, 3)), 1]

    r = run(V, ["config", "set", "trust.mode", "bogus"])
    check("trust.mode bogus refused, naming flow-adaptive",
          r.returncode != 0 and b"flow-adaptive" in r.stderr, r.stderr)
    r = run(V, ["config", "set", "trust.mode", "flow-adaptive"])
    check("trust.mode flow-adaptive accepted", r.returncode == 0, r.stderr)
    r, j = jrun(V, ["trust", "list", "--json"])
    check("list: mode flow-adaptive, 5 accepted, derived capacities",
          r.returncode == 0 and j and j["mode"] == "flow-adaptive" and len(j["results"]) == 5
          and j["capacities"] == [6, 3, 1] and j["layers"] == [1, 2, 3], j)
    r = run(V, ["trust", "list"])
    check("list text names the mode", r.returncode == 0 and b"flow-adaptive mode" in r.stdout,
          r.stdout)
    r, j = jrun(V, ["trust", "path", ids["C"], "--json"])
    check("path: accepted through A", r.returncode == 0 and j and j["mode"] == "flow-adaptive"
          and j["accepted"] and j["path"][0]["to"] == ids["A"], j)
    r, j = jrun(V, ["trust", "explain", ids["D"], "--json"])
    check("explain: flow-adaptive with its capacity", r.returncode == 0 and j
          and j["mode"] == "flow-adaptive" and j["capacity"] == 1 and j["capacities"] == [6, 3, 1],
          j)
    r = run(V, ["trust", "explain", ids["D"]])
    check("explain text says how the capacity was derived",
          r.returncode == 0 and b"derived from the number of nodes" in r.stdout, r.stdout)
    r, j = jrun(V, ["trust", "list", "--json", "--mode", "best-path"])
    check("--mode best-path overrides", r.returncode == 0 and j and j["mode"] == "best-path", j)
    r = run(V, ["trust", "path", ids["C"], "--proof", os.path.join(TMP, "p.ndjson")])
    check("--proof refused in flow-adaptive mode",
          r.returncode != 0 and b"not --mode flow-adaptive" in r.stderr, r.stderr)
    run(V, ["config", "set", "trust.mode", "best-path"])
    r, j = jrun(V, ["trust", "list", "--json", "--mode", "flow-adaptive"])
    check("--mode flow-adaptive overrides", r.returncode == 0 and j
          and j["mode"] == "flow-adaptive", j)

    shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
