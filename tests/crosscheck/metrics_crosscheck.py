#!/usr/bin/python3
"""Cross-check mt-metrics-tool against python3-igraph and an independent
pure-Python computation on the real trust datasets.

    /usr/bin/python3 tests/crosscheck/metrics_crosscheck.py TOOL DATA_DIR [--threads N]

TOOL is the mt-metrics-tool binary (built from bench/metrics), DATA_DIR the
shared data folder (with advogato/out.advogato.gz and the two SNAP files).

Each graph follows the "Benchmark graph convention" of DATA_DIR/README.md:
directed; the node set is every ID in the file; self-loops dropped; the signed
sets keep RATING > 0 with weight RATING/10; Advogato keeps its weight. Scores go
to the tool in permille (Advogato weight x 1000, ratings x 100).

Checks per dataset:
  * the convention's n and m (as README.md states them);
  * betweenness of every node against igraph Graph.betweenness(directed=True),
    to 1e-9 relative (absolute below 1); nodes without a trust edge are not in
    the tool's output and must have igraph betweenness 0;
  * betweenness max / mean / population std-dev from the igraph values;
  * node_count, edge_count, inbound trust of every node, total, gini and top-10%
    share computed here in plain Python (no numpy), over the SPEC node set
    (nodes with at least one trust edge);
  * the same inbound / gini with the saturation cap (cap 3, decay 0.5);
  * threads 1 and 2 give byte-identical JSON.
Prints each check, then "N passed, N failed"; exits 1 on any failure.
"""

import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import igraph

# README.md "Benchmark graph convention": resulting (n, m).
EXPECTED_SIZES = {
    "advogato": (6539, 47135),
    "bitcoin-otc": (5881, 32029),
    "bitcoin-alpha": (3783, 22650),
}


def load_advogato(data_dir):
    ids, edges = set(), []
    with gzip.open(os.path.join(data_dir, "advogato", "out.advogato.gz"), "rt") as f:
        for line in f:
            if not line[:1].isdigit():
                continue
            src, dst, weight = line.split()[:3]
            src, dst = int(src), int(dst)
            ids.update((src, dst))
            if src != dst:
                edges.append((src, dst, int(round(float(weight) * 1000))))
    return ids, edges


def load_signed(path):
    ids, edges = set(), []
    with gzip.open(path, "rt") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            src, dst, rating = line.split(",")[:3]
            src, dst, rating = int(src), int(dst), int(rating)
            ids.update((src, dst))
            if src != dst and rating > 0:
                edges.append((src, dst, rating * 100))
    return ids, edges


def close(actual, expected, tol=1e-9):
    return abs(actual - expected) <= tol * max(1.0, abs(expected))


def inbound_trust(edges, cap=0, cap_decay=0.5):
    incoming = {}
    for src, dst, score in edges:
        incoming.setdefault(dst, []).append(score)
    inbound = {}
    for node, scores in incoming.items():
        scores.sort(reverse=True)
        total = 0.0
        for i, score in enumerate(scores, start=1):
            weight = 1.0 if cap == 0 or i <= cap else cap_decay ** (i - cap)
            total += score / 1000.0 * weight
        inbound[node] = total
    return inbound


def concentration(values):
    """(total, gini, top-10% share) per SPEC §4, independently of the C code."""
    xs = sorted(values)
    n = len(xs)
    total = math.fsum(xs)
    if n == 0 or total == 0:
        return total, 0.0, 0.0
    weighted = math.fsum((i + 1) * x for i, x in enumerate(xs))
    gini = 2.0 * weighted / (n * total) - (n + 1) / n
    top = -(-n // 10)
    share = math.fsum(xs[n - top:]) / total
    return total, gini, share


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, label, detail=""):
        if ok:
            self.passed += 1
            print(f"  ok    {label}")
        else:
            self.failed += 1
            print(f"  FAIL  {label} {detail}")


def run_tool(tool, edge_file, *extra):
    start = time.monotonic()
    proc = subprocess.run([tool, *extra, edge_file], capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout, elapsed


def check_dataset(checks, tool, name, ids, edges, threads):
    print(f"{name}:")
    n_expected, m_expected = EXPECTED_SIZES[name]
    checks.check((len(ids), len(edges)) == (n_expected, m_expected),
                 f"convention size n={len(ids)} m={len(edges)}",
                 f"(README says n={n_expected} m={m_expected})")

    with tempfile.NamedTemporaryFile("w", suffix=".edges", delete=False) as f:
        for src, dst, score in edges:
            f.write(f"{src} {dst} {score}\n")
        edge_file = f.name
    try:
        text, elapsed = run_tool(tool, edge_file, "--threads", str(threads))
        result = json.loads(text)
        text_one, _ = run_tool(tool, edge_file, "--threads", "1")
        capped = json.loads(run_tool(tool, edge_file, "--cap", "3", "--cap-decay", "0.5")[0])
    finally:
        os.unlink(edge_file)
    checks.check(text == text_one, "threads 1 and 2 give identical output")

    # igraph on the convention's graph: IDs ascending -> 0..n-1.
    order = sorted(ids)
    index = {node: i for i, node in enumerate(order)}
    graph = igraph.Graph(n=len(order), edges=[(index[s], index[d]) for s, d, _ in edges],
                         directed=True)
    start = time.monotonic()
    reference = graph.betweenness(directed=True)
    igraph_time = time.monotonic() - start
    print(f"  (tool {elapsed:.2f} s incl. I/O, igraph {igraph_time:.2f} s)")

    with_edges = {s for s, _, _ in edges} | {d for _, d, _ in edges}
    nodes = {int(node["node_id"]): node for node in result["nodes"]}
    checks.check(set(nodes) == with_edges, f"node set = the {len(with_edges)} nodes with a trust edge")
    checks.check(result["node_count"] == len(with_edges), "node_count")
    checks.check(result["edge_count"] == len(edges), "edge_count")

    bad = [(node, nodes[node]["betweenness"], reference[index[node]])
           for node in nodes
           if not close(nodes[node]["betweenness"], reference[index[node]])]
    checks.check(not bad, f"betweenness of all {len(nodes)} nodes vs igraph",
                 f"{len(bad)} differ, e.g. {bad[:3]}")
    isolated_bad = [node for node in ids - with_edges if reference[index[node]] != 0]
    checks.check(not isolated_bad, f"{len(ids - with_edges)} nodes without trust edges have igraph betweenness 0")

    values = [reference[index[node]] for node in sorted(with_edges)]
    mean = math.fsum(values) / len(values)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
    summary = result["betweenness"]
    checks.check(close(summary["max"], max(values)) and close(summary["mean"], mean)
                 and close(summary["std_dev"], std, 1e-8),
                 "betweenness max/mean/std_dev",
                 f"got {summary}, igraph gives max={max(values)} mean={mean} std={std}")

    for label, res, cap in (("", result, 0), (" (cap 3, decay 0.5)", capped, 3)):
        inbound = inbound_trust(edges, cap)
        got = {int(node["node_id"]): node["inbound_trust"] for node in res["nodes"]}
        bad = [node for node in with_edges if not close(got[node], inbound.get(node, 0.0))]
        checks.check(not bad, f"inbound trust of every node{label}", f"{len(bad)} differ, e.g. {bad[:3]}")
        total, gini, share = concentration([inbound.get(node, 0.0) for node in with_edges])
        checks.check(close(res["total_inbound_trust"], total), f"total_inbound_trust{label}",
                     f"{res['total_inbound_trust']} vs {total}")
        checks.check(close(res["gini"], gini), f"gini {gini:.6f}{label}", f"tool says {res['gini']}")
        checks.check(close(res["top_10_percent_share"], share),
                     f"top_10_percent_share {share:.6f}{label}",
                     f"tool says {res['top_10_percent_share']}")
        alert = res["alert"]
        checks.check((alert is not None) == (res["gini"] > 0.7), f"alert matches gini > 0.7{label}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tool", help="path of mt-metrics-tool")
    parser.add_argument("data_dir", help="shared data folder")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    checks = Checks()
    datasets = [
        ("advogato", lambda: load_advogato(args.data_dir)),
        ("bitcoin-otc", lambda: load_signed(os.path.join(args.data_dir, "soc-sign-bitcoinotc.csv.gz"))),
        ("bitcoin-alpha", lambda: load_signed(os.path.join(args.data_dir, "soc-sign-bitcoinalpha.csv.gz"))),
    ]
    for name, loader in datasets:
        try:
            ids, edges = loader()
            check_dataset(checks, args.tool, name, ids, edges, args.threads)
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            checks.check(False, f"{name}: could not run", str(exc))
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
