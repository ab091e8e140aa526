#!/usr/bin/python3
"""Cross-check `mesh trust list` on the real trust datasets against an
independent reference computed here with python3-networkx.

    /usr/bin/python3 tests/crosscheck/trust_crosscheck.py MESH DATA_DIR [--quick]

MESH is the `mesh` binary, DATA_DIR the shared data folder (advogato/out.advogato.gz
and the two SNAP Bitcoin files). --quick uses 10 viewpoints instead of 50.

For each dataset (Advogato as konect, Bitcoin OTC and Bitcoin Alpha as
csv-signed) the script:
  * imports it into a fresh temporary home with
    `mesh graph import-edgelist --map`, and checks the report against the graph
    it reads itself ("Benchmark graph convention" of DATA_DIR/README.md: n, m,
    self-loops and non-positive edges dropped);
  * checks the map (every node of the file, distinct Node IDs) and the key
    derivation of docs/edgelist.md for a sample of nodes (BLAKE2b-256 seed and
    Ed25519 computed here in pure Python, Node ID = base58btc of the libp2p
    prefix + public key);
  * checks `mesh graph export --format json` holds exactly the file's positive
    edges with their scores, and that a second import only finds duplicates;
  * for 50 fixed viewpoints (seeded random choice among nodes with out-degree
    > 0) and depths 1..4, runs `mesh trust list --from V --depth d --json` and
    compares every result with the reference: the same set of nodes, hops
    (networkx single_source_shortest_path_length with cutoff d), level, score
    (to 1e-9) and via; and that `digest` equals `mesh log head`.
Then Bitcoin Alpha once more with `--limited-below 0.5` (ratings 1..4 become
limited edges) for 10 viewpoints, to check levels: a node is full exactly when
networkx finds it within d hops over the full edges alone.

Prints progress, then "N passed, N failed"; exits 1 on any failure.
"""

import argparse
import concurrent.futures
import gzip
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import networkx as nx

MESH_NOW = "1750000000"
DECAY = [1.0, 1.0, 0.5, 0.25, 0.125]  # SPEC §3 default trust.decay
DEPTHS = (1, 2, 3, 4)
SEED = 20240601
# README.md "Benchmark graph convention": (n, m) after dropping self-loops and
# non-positive ratings.
EXPECTED = {"advogato": (6539, 47135), "bitcoin-otc": (5881, 32029), "bitcoin-alpha": (3783, 22650)}

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("  FAIL:", what, flush=True)
    return ok


# ---- datasets, read here (not through mesh) ---------------------------------


def load_konect(path):
    """Advogato: FROM TO WEIGHT; lines not starting with a digit are skipped."""
    nodes, edges = set(), {}
    with gzip.open(path, "rt") as f:
        for line in f:
            if not line[:1].isdigit():
                continue
            a, b, w = line.split()[:3]
            a, b = int(a), int(b)
            nodes.update((a, b))
            if a != b and float(w) > 0:
                edges[(a, b)] = int(round(float(w) * 1000))
    return nodes, edges


def load_csv_signed(path):
    """SNAP Bitcoin: SOURCE,TARGET,RATING,TIME; keeps RATING > 0 as RATING/10."""
    nodes, edges = set(), {}
    with gzip.open(path, "rt") as f:
        for line in f:
            a, b, r, _ = line.strip().split(",")
            a, b, r = int(a), int(b), int(r)
            nodes.update((a, b))
            if a != b and r > 0:
                edges[(a, b)] = r * 100
    return nodes, edges


# ---- key derivation of docs/edgelist.md, in pure Python ---------------------

P = 2**255 - 19
D_CURVE = -121665 * pow(121666, P - 2, P) % P
BASE = (
    15112221349535400772501151409588531511454012693041857206046113283949847762202,
    46316835694926478169428394003475163141307993866256225615783033603165251855960,
)


def _ed_add(p1, p2):
    # Extended coordinates on -x^2 + y^2 = 1 + d x^2 y^2 (RFC 8032 §5.1.4).
    x1, y1, z1, t1 = p1
    x2, y2, z2, t2 = p2
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = t1 * 2 * D_CURVE * t2 % P
    d = z1 * 2 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def ed25519_public(seed):
    h = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(h[:32], "little")
    scalar &= (1 << 254) - 8
    scalar |= 1 << 254
    acc = (0, 1, 1, 0)
    pt = (BASE[0], BASE[1], 1, BASE[0] * BASE[1] % P)
    while scalar:
        if scalar & 1:
            acc = _ed_add(acc, pt)
        pt = _ed_add(pt, pt)
        scalar >>= 1
    zinv = pow(acc[2], P - 2, P)
    x, y = acc[0] * zinv % P, acc[1] * zinv % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(data):
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def edgelist_node_id(file_base, number):
    seed = hashlib.blake2b(
        b"mesh/v1/edgelist\n" + file_base.encode() + b"\n" + str(number).encode(), digest_size=32
    ).digest()
    return base58(bytes([0x00, 0x24, 0x08, 0x01, 0x12, 0x20]) + ed25519_public(seed))


# ---- the reference ----------------------------------------------------------


def reference_layers(G, v, dmax):
    """Best path products from v, layer by layer (h = 1..dmax hops).

    layer[h][x] maps a first hop (via) to the largest product p of the edge
    factors (score/1000.0, multiplied from v outward starting at p = 1.0, as
    SPEC §3 orders it) over walks of exactly h hops v -> ... -> x starting with
    that via.

    Walks instead of simple paths: a walk with a repeated node contains a
    cycle; cutting it out leaves a simple path with fewer hops whose factors
    are a subset, in the same order. Every factor is <= 1, and IEEE-754
    multiplication by a factor <= 1 never increases a value and is monotone,
    so the shorter path's product is >= the walk's; decay is non-increasing in
    hops, so its score is >= too, and on a tie it wins by having fewer hops.
    Hence the best walk (score, then fewer hops, then smaller via) is always a
    simple path, and the maximum over walks of <= d hops equals SPEC's maximum
    over simple paths.

    Per (h, x) only near-maximal products are kept (relative 1e-12): a product
    that is smaller by more than that stays strictly smaller after at most 8
    more roundings (each changes a value by at most 2^-53 relatively), so it
    can neither win nor tie; keeping the near-maximal ones per via keeps exact
    ties between different vias, which the tie rule needs.
    """
    cur = {}
    for w, attrs in G[v].items():
        p = 1.0 * (attrs["score"] / 1000.0)
        best = cur.setdefault(w, {})
        if p > best.get(w, -1.0):
            best[w] = p
    layers = [None, cur]
    for _ in range(2, dmax + 1):
        nxt = {}
        for u, vias in cur.items():
            for w, attrs in G[u].items():
                f = attrs["score"] / 1000.0
                best = nxt.setdefault(w, {})
                for via, p in vias.items():
                    q = p * f
                    if q > best.get(via, -1.0):
                        best[via] = q
        for w, vias in nxt.items():
            top = max(vias.values())
            floor = top * (1.0 - 1e-12)
            nxt[w] = {via: p for via, p in vias.items() if p >= floor}
        layers.append(nxt)
        cur = nxt
    return layers


def reference_result(G, G_full, v, d, layers, ids):
    """{node_id: (level, hops, score, via)} for viewpoint v at depth d."""
    hops = nx.single_source_shortest_path_length(G, v, cutoff=d)
    full_hops = nx.single_source_shortest_path_length(G_full, v, cutoff=d) if v in G_full else {v: 0}
    out = {}
    for x, h in hops.items():
        if x == v:
            continue
        best = None  # (score, -hops, via) compared with the tie rule
        for layer in range(1, d + 1):
            for via, p in layers[layer].get(x, {}).items():
                score = DECAY[min(layer, len(DECAY) - 1)] * p
                key = (score, layer, ids[via])
                if best is None or score > best[0] or (
                    score == best[0] and (layer, ids[via]) < (best[1], best[2])
                ):
                    best = key
        level = "full" if x in full_hops else "limited"
        out[ids[x]] = (level, h, best[0], best[2])
    return out


# ---- running mesh -----------------------------------------------------------


def run(cmd, env):
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return r.returncode, r.stdout, r.stderr


def compare(name, v, d, got, ref, digest):
    """Compare one `trust list --json` answer with the reference."""
    problems = []
    if got.get("digest") != digest:
        problems.append("digest %s != log head %s" % (got.get("digest"), digest))
    if got.get("max_depth") != d or got.get("scope") != "global":
        problems.append("max_depth/scope %r/%r" % (got.get("max_depth"), got.get("scope")))
    res = {r["node_id"]: r for r in got.get("results", [])}
    if set(res) != set(ref):
        extra = sorted(set(res) - set(ref))[:3]
        missing = sorted(set(ref) - set(res))[:3]
        problems.append("node sets differ (%d vs %d; extra %s missing %s)" % (len(res), len(ref), extra, missing))
    worst = 0.0
    for nid in set(res) & set(ref):
        r, (level, hops, score, via) = res[nid], ref[nid]
        diff = abs(r["score"] - score)
        worst = max(worst, diff)
        if r["level"] != level or r["hops"] != hops or diff > 1e-9 or r["via"] != via:
            problems.append(
                "%s: got level %s hops %s score %r via %s; want %s %s %r %s"
                % (nid, r["level"], r["hops"], r["score"], r["via"], level, hops, score, via)
            )
    ok = check(not problems, "%s from %s depth %d: %s" % (name, v, d, "; ".join(problems[:3])))
    return ok, worst, len(ref)


def crosscheck_dataset(mesh, name, path, fmt, nodes, edges, n_viewpoints, workdir, extra_args=(), idempotence=True):
    t0 = time.time()
    home = os.path.join(workdir, name + ("-" + "-".join(a.strip("-") for a in extra_args) if extra_args else ""))
    map_path = home + ".map"
    env = dict(os.environ, MESH_NOW=MESH_NOW)
    env.pop("MESH_HOME", None)
    base = [mesh, "--home", home]
    # Only `mesh init` creates a home (SPEC §9.4); it issues no statement.
    rc, out, err = run(base + ["init"], env)
    if not check(rc == 0, "%s: init exit %d: %s" % (name, rc, err.strip())):
        return
    rc, out, err = run(base + ["graph", "import-edgelist", path, "--format", fmt, "--map", map_path, "--json"] + list(extra_args), env)
    if not check(rc == 0, "%s: import exit %d: %s" % (name, rc, err.strip())):
        return
    rep = json.loads(out)
    m = len(edges)
    check(rep["nodes"] == len(nodes), "%s: nodes %s != %d" % (name, rep["nodes"], len(nodes)))
    check(rep["edges"] == m, "%s: edges %s != %d" % (name, rep["edges"], m))
    check((len(nodes), m) == EXPECTED[name], "%s: data gives n=%d m=%d, README says %s" % (name, len(nodes), m, EXPECTED[name]))
    check(rep["accepted"] == m and rep["duplicate"] == 0 and rep["rejected"] == [], "%s: first import %s" % (name, out.strip()))
    print("  %s: imported %d nodes, %d edges in %.1f s" % (name, rep["nodes"], rep["edges"], time.time() - t0), flush=True)

    # The map: every node of the file, distinct Node IDs, derived as documented.
    ids = {}
    with open(map_path) as f:
        for line in f:
            num, nid = line.split()
            ids[int(num)] = nid
    check(set(ids) == nodes, "%s: map nodes differ from the file's" % name)
    check(len(set(ids.values())) == len(ids), "%s: map Node IDs not distinct" % name)
    file_base = os.path.basename(path)
    sample = random.Random(SEED).sample(sorted(ids), 5)
    for num in sample:
        check(edgelist_node_id(file_base, num) == ids[num], "%s: node %d Node ID %s is not the documented derivation" % (name, num, ids[num]))

    # The store holds exactly the file's positive edges.
    rc, out, err = run(base + ["graph", "export", "--format", "json"], env)
    if check(rc == 0, "%s: export exit %d: %s" % (name, rc, err.strip())):
        exp = json.loads(out)
        by_id = {nid: num for num, nid in ids.items()}
        got = {(by_id.get(e["src"]), by_id.get(e["dst"])): e["score_permille"] for e in exp["edges"]}
        check(got == edges, "%s: exported edges differ from the file's positive edges" % name)
        check(all(e["scope"] == "global" and e["exp"] is None for e in exp["edges"]), "%s: export scope/exp" % name)
    rc, out, err = run(base + ["log", "head"], env)
    digest = out.strip()
    check(rc == 0 and len(digest) == 64, "%s: log head: %s" % (name, err.strip()))

    if idempotence:
        rc, out, err = run(base + ["graph", "import-edgelist", path, "--format", fmt, "--json"] + list(extra_args), env)
        rep2 = json.loads(out) if rc == 0 else {}
        check(rc == 0 and rep2.get("accepted") == 0 and rep2.get("duplicate") == m, "%s: second import not all duplicates: %s %s" % (name, out.strip(), err.strip()))
        rc, out, err = run(base + ["log", "head"], env)
        check(out.strip() == digest, "%s: digest changed by a second import" % name)

    # The reference graph.
    G = nx.DiGraph()
    G.add_nodes_from(nodes)
    for (a, b), s in edges.items():
        G.add_edge(a, b, score=s)
    limited_below = None
    if "--limited-below" in extra_args:
        limited_below = round(float(extra_args[list(extra_args).index("--limited-below") + 1]) * 1000)
    G_full = nx.DiGraph()
    G_full.add_nodes_from(nodes)
    G_full.add_edges_from((a, b) for (a, b), s in edges.items() if limited_below is None or s >= limited_below)

    candidates = sorted(n for n in G if G.out_degree(n) > 0)
    viewpoints = random.Random(SEED).sample(candidates, n_viewpoints)

    def query(v, d):
        rc, out, err = run(base + ["trust", "list", "--from", ids[v], "--depth", str(d), "--json"], env)
        return v, d, rc, out, err

    t1 = time.time()
    jobs = [(v, d) for v in viewpoints for d in DEPTHS]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda vd: query(*vd), jobs))
    t2 = time.time()
    worst, results, ok_count = 0.0, 0, 0
    layers_of = {}
    for v, d, rc, out, err in answers:
        if not check(rc == 0, "%s: trust list from %d depth %d exit %d: %s" % (name, v, d, rc, err.strip())):
            continue
        if v not in layers_of:
            layers_of[v] = reference_layers(G, v, max(DEPTHS))
        ref = reference_result(G, G_full, v, d, layers_of[v], ids)
        ok, w, n = compare(name, v, d, json.loads(out), ref, digest)
        ok_count += ok
        worst = max(worst, w)
        results += n
    levels = ""
    if limited_below is not None:
        levels = ", levels full and limited both seen" if _levels_seen(answers) == {"full", "limited"} else ""
        check(levels != "", "%s: expected both full and limited results" % name)
    print(
        "  %s: %d/%d queries match (%d viewpoints x depths %s, %d results, max |score diff| %.3g%s); "
        "mesh %.1f s, reference %.1f s"
        % (name, ok_count, len(jobs), n_viewpoints, ",".join(map(str, DEPTHS)), results, worst, levels, t2 - t1, time.time() - t2),
        flush=True,
    )


def _levels_seen(answers):
    seen = set()
    for _, _, rc, out, _ in answers:
        if rc == 0:
            seen.update(r["level"] for r in json.loads(out)["results"])
    return seen


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mesh")
    ap.add_argument("data_dir")
    ap.add_argument("--quick", action="store_true", help="10 viewpoints per dataset instead of 50")
    args = ap.parse_args()
    mesh = os.path.abspath(args.mesh)
    n_viewpoints = 10 if args.quick else 50
    start = time.time()
    datasets = [
        ("advogato", os.path.join(args.data_dir, "advogato", "out.advogato.gz"), "konect", load_konect),
        ("bitcoin-otc", os.path.join(args.data_dir, "soc-sign-bitcoinotc.csv.gz"), "csv-signed", load_csv_signed),
        ("bitcoin-alpha", os.path.join(args.data_dir, "soc-sign-bitcoinalpha.csv.gz"), "csv-signed", load_csv_signed),
    ]
    with tempfile.TemporaryDirectory(prefix="mesh-trust-crosscheck-") as workdir:
        for name, path, fmt, loader in datasets:
            print("%s (%s)" % (name, fmt), flush=True)
            nodes, edges = loader(path)
            crosscheck_dataset(mesh, name, path, fmt, nodes, edges, n_viewpoints, workdir)
            if name == "bitcoin-alpha":
                print("%s with --limited-below 0.5 (levels)" % name, flush=True)
                crosscheck_dataset(mesh, name, path, fmt, nodes, edges, 10, workdir, ("--limited-below", "0.5"), idempotence=False)
    print("%d passed, %d failed (%.0f s)" % (passed, failed, time.time() - start))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
