#!/usr/bin/python3
"""Approximate betweenness (`--approx EPS`, Riondato–Kornaropoulos) against
the exact values on the real trust datasets (issue #22, item 4).

    /usr/bin/python3 tests/crosscheck/approx_crosscheck.py TOOL DATA_DIR [--runs N] [--eps E]

TOOL is mt-metrics-tool. The exact values come from the same tool without
--approx (metrics_crosscheck.py checks those against igraph on the same
graphs). Per dataset (Advogato, Bitcoin OTC, Bitcoin Alpha, the graph
convention of DATA_DIR/README.md):
  * N runs (seeds 1..N) with eps E, delta 0.1: the stated guarantee is that
    every node's normalised estimate is within E of the exact normalised
    betweenness in at least 1 - delta of the runs; we require
    ceil((1 - delta) * N) runs with every node within E;
  * the samples drawn equal the formula r = ceil(0.5 / E^2 (floor(log2(VD -
    2)) + 1 + ln(1 / delta))) with VD = the largest weakly connected
    component, computed here independently;
  * a check the guarantee alone cannot fail on: the sum of the estimates is
    within 5% of the exact sum (an all-zero answer is within E of these small
    normalised values, but not of their sum);
  * the same seed with 1 and 2 threads gives byte-identical JSON.
Prints each check, then "N passed, N failed"; exits 1 on any failure.
"""

import argparse
import json
import math
import os
import sys
import tempfile

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from metrics_crosscheck import Checks, load_advogato, load_signed, run_tool  # noqa: E402


def largest_wcc(edges):
    parent = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for src, dst, _ in edges:
        a, b = find(src), find(dst)
        if a != b:
            parent[max(a, b)] = min(a, b)
    sizes = {}
    for x in list(parent):
        r = find(x)
        sizes[r] = sizes.get(r, 0) + 1
    return max(sizes.values()) if sizes else 0


def expected_samples(eps, delta, vd):
    if vd < 3:
        return 0
    return math.ceil(0.5 / (eps * eps) * (math.floor(math.log2(vd - 2)) + 1 + math.log(1 / delta)))


def check_dataset(checks, tool, name, edges, runs, eps, delta):
    print(f"{name}:")
    with tempfile.NamedTemporaryFile("w", suffix=".edges", delete=False) as f:
        for src, dst, score in edges:
            f.write(f"{src} {dst} {score}\n")
        edge_file = f.name
    try:
        exact = json.loads(run_tool(tool, edge_file, "--threads", "2")[0])
        n = exact["node_count"]
        pairs = n * (n - 1)
        truth = {x["node_id"]: x["betweenness"] / pairs for x in exact["nodes"]}
        exact_sum = math.fsum(truth.values())
        vd = largest_wcc(edges)
        good, worst, sums_ok = 0, 0.0, 0
        first = None
        for seed in range(1, runs + 1):
            text, elapsed = run_tool(tool, edge_file, "--threads", "2", "--approx", str(eps),
                                     "--approx-delta", str(delta), "--seed", str(seed))
            res = json.loads(text)
            if first is None:
                first = (seed, text, res, elapsed)
            est = {x["node_id"]: x["betweenness"] / pairs for x in res["nodes"]}
            err = max(abs(est[k] - truth[k]) for k in truth)
            worst = max(worst, err)
            good += err <= eps
            s = math.fsum(est.values())
            sums_ok += abs(s - exact_sum) <= 0.05 * exact_sum
        need = math.ceil((1 - delta) * runs)
        checks.check(good >= need,
                     f"{good}/{runs} runs with every node within eps {eps} "
                     f"(need {need}; worst error {worst:.5f})")
        checks.check(sums_ok == runs, f"{sums_ok}/{runs} runs: sum of estimates within 5% "
                     f"of the exact sum {exact_sum:.4f}")
        seed, text, res, elapsed = first
        ap = res["betweenness"].get("approx", {})
        want = expected_samples(eps, delta, vd)
        checks.check(ap.get("samples") == want and ap.get("vertex_diameter_bound") == vd
                     and res["betweenness"]["sources"] == want and res["betweenness"]["sampled"],
                     f"samples {ap.get('samples')} = formula {want} (VD bound {vd}); "
                     f"{elapsed:.2f} s per run", ap)
        one = run_tool(tool, edge_file, "--threads", "1", "--approx", str(eps),
                       "--approx-delta", str(delta), "--seed", str(seed))[0]
        checks.check(one == text, "threads 1 and 2: identical JSON")
    finally:
        os.unlink(edge_file)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool")
    parser.add_argument("data_dir")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--eps", type=float, default=0.02)
    parser.add_argument("--delta", type=float, default=0.1)
    args = parser.parse_args()
    checks = Checks()
    datasets = [
        ("advogato", lambda: load_advogato(args.data_dir)),
        ("bitcoin-otc",
         lambda: load_signed(os.path.join(args.data_dir, "soc-sign-bitcoinotc.csv.gz"))),
        ("bitcoin-alpha",
         lambda: load_signed(os.path.join(args.data_dir, "soc-sign-bitcoinalpha.csv.gz"))),
    ]
    for name, loader in datasets:
        try:
            _, edges = loader()
            check_dataset(checks, args.tool, name, edges, args.runs, args.eps, args.delta)
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            checks.check(False, f"{name}: could not run", str(exc))
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
