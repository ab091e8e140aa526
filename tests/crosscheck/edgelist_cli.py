#!/usr/bin/python3
"""`mesh graph import-edgelist` and `mesh graph export` on small crafted files.

    /usr/bin/python3 tests/crosscheck/edgelist_cli.py MESH

Checks the three formats (plain and gzip, CRLF, comments, self-loops,
non-positive edges), that a bad line refuses the whole file naming FILE:LINE
and changes nothing, that two lines for one pair leave the later one in force,
that csv-signed takes its TIME column as the statement time (seen through
`trust list --at`), --limited-below, --scope, idempotence, that Node IDs
depend only on the file's base name and node number, usage errors (exit 2),
and the dot / JSON export. Prints "N passed, N failed"; exits 1 on failure.
"""

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile

MESH_NOW = "1750000000"
EMPTY_DIGEST = hashlib.blake2b(b"", digest_size=32).hexdigest()

passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, flush=True)
    return ok


def main():
    mesh = os.path.abspath(sys.argv[1])
    env = dict(os.environ, MESH_NOW=MESH_NOW)
    env.pop("MESH_HOME", None)
    tmp = tempfile.TemporaryDirectory(prefix="mesh-edgelist-")
    root = tmp.name
    homes = iter(range(1000))

    def mesh_run(home, *args):
        r = subprocess.run([mesh, "--home", home] + list(args), env=env, capture_output=True, text=True)
        return r.returncode, r.stdout, r.stderr

    def fresh_home():
        # Only `mesh init` creates a home (SPEC §9.4); it issues no statement.
        home = os.path.join(root, "home%d" % next(homes))
        rc, out, err = mesh_run(home, "init")
        if rc != 0:
            raise RuntimeError("mesh init failed: " + err)
        return home

    def write(name, text, gz=False):
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if gz:
            with gzip.open(path, "wt", newline="") as f:
                f.write(text)
        else:
            with open(path, "w", newline="") as f:
                f.write(text)
        return path

    def import_json(home, path, fmt, *extra):
        rc, out, err = mesh_run(home, "graph", "import-edgelist", path, "--format", fmt, "--json", *extra)
        return rc, (json.loads(out) if rc == 0 and out else None), err

    def read_map(path):
        with open(path) as f:
            return {int(a): b for a, b in (line.split() for line in f)}

    def export(home, *extra):
        rc, out, err = mesh_run(home, "graph", "export", "--format", "json", *extra)
        check(rc == 0, "export exit %d: %s" % (rc, err))
        return json.loads(out) if rc == 0 else {"edges": []}

    # ---- snap: comments, tabs, CRLF, a self-loop, a sign column; gzip ----
    snap = "# a comment\r\n0\t1\r\n1 2\r\n2 2\r\n\r\n3 0 -1\r\n0 3 1\r\n"
    h = fresh_home()
    p = write("snap/net.txt.gz", snap, gz=True)
    mp = os.path.join(root, "snap.map")
    rc, rep, err = import_json(h, p, "snap", "--map", mp)
    if check(rc == 0, "snap import exit %d: %s" % (rc, err)):
        check(
            (rep["nodes"], rep["edges"], rep["self_loops"], rep["not_positive"], rep["accepted"], rep["sources"])
            == (4, 3, 1, 1, 3, 2),
            "snap counts %r" % rep,
        )
    ids = read_map(mp)
    check(sorted(ids) == [0, 1, 2, 3], "snap map nodes %r" % sorted(ids))
    got = {(e["src"], e["dst"], e["score_permille"], e["level"]) for e in export(h)["edges"]}
    want = {(ids[0], ids[1], 1000, "full"), (ids[1], ids[2], 1000, "full"), (ids[0], ids[3], 1000, "full")}
    check(got == want, "snap edges %r" % got)

    # Node IDs depend on the base name and number only: same name elsewhere.
    p2 = write("other/net.txt.gz", "1 0\n", gz=True)
    mp2 = os.path.join(root, "snap2.map")
    rc, rep, err = import_json(fresh_home(), p2, "snap", "--map", mp2)
    ids2 = read_map(mp2) if rc == 0 else {}
    check(ids2 == {0: ids[0], 1: ids[1]}, "same base name, same Node IDs: %r" % ids2)
    p3 = write("other/net2.txt", "1 0\n")
    mp3 = os.path.join(root, "snap3.map")
    rc, rep, err = import_json(fresh_home(), p3, "snap", "--map", mp3)
    ids3 = read_map(mp3) if rc == 0 else {}
    check(rc == 0 and ids3[0] != ids[0] and ids3[1] != ids[1], "another base name gives other Node IDs")

    # ---- konect: header, weights, duplicate pair (later line wins) ----
    konect = "source_id target_id trust_value\n% asym\n1 2 .6\n1 3 1\n2 3 0.8\n1 2 0.8\n3 1 -1\n"
    h = fresh_home()
    p = write("k/out.test", konect)
    mp = os.path.join(root, "k.map")
    rc, rep, err = import_json(h, p, "konect", "--map", mp, "--limited-below", "0.7")
    if check(rc == 0, "konect import exit %d: %s" % (rc, err)):
        check((rep["nodes"], rep["edges"], rep["not_positive"]) == (3, 4, 1), "konect counts %r" % rep)
    ids = read_map(mp)
    got = {(e["src"], e["dst"]): (e["score_permille"], e["level"]) for e in export(h)["edges"]}
    want = {
        (ids[1], ids[2]): (800, "full"),  # the later line for 1->2 wins
        (ids[1], ids[3]): (1000, "full"),
        (ids[2], ids[3]): (800, "full"),
    }
    check(got == want, "konect edges %r" % got)
    rc, out, err = mesh_run(h, "log", "show", "--iss", ids[1], "--json")
    feed = json.loads(out)["statements"] if rc == 0 else []
    check(
        [s["statement"]["seq"] for s in feed] == [1, 2, 3]
        and [s["statement"].get("score") for s in feed] == [600, 800, 1000],
        "node 1's feed holds both lines for 1->2, then 1->3: %r" % [s["statement"] for s in feed],
    )
    # --limited-below with a weight under it.
    h = fresh_home()
    p = write("k2/out.test", "1 2 0.6\n1 3 0.8\n")
    rc, rep, err = import_json(h, p, "konect", "--limited-below", "0.7", "--scope", "coop:research")
    levels = sorted((e["score_permille"], e["level"], e["scope"]) for e in export(h)["edges"])
    check(levels == [(600, "limited", "coop:research"), (800, "full", "coop:research")], "levels %r" % levels)
    check(export(h, "--scope", "global")["edges"] == [], "export --scope global is empty")

    # ---- csv-signed: ratings, TIME as ts ----
    csv = "1,2,5,1000\n2,3,10,2000\n3,1,-4,3000\n1,4,0,4000\n4,1,2,9999999999\n"
    h = fresh_home()
    p = write("c/bitcoin.csv", csv)
    mp = os.path.join(root, "c.map")
    rc, rep, err = import_json(h, p, "csv-signed", "--map", mp)
    if check(rc == 0, "csv import exit %d: %s" % (rc, err)):
        check((rep["nodes"], rep["edges"], rep["not_positive"], rep["accepted"]) == (4, 3, 2, 3), "csv counts %r" % rep)
    ids = read_map(mp)
    got = {(e["src"], e["dst"]): e["score_permille"] for e in export(h)["edges"]}
    check(got == {(ids[1], ids[2]): 500, (ids[2], ids[3]): 1000, (ids[4], ids[1]): 200}, "csv edges %r" % got)

    def listed(at):
        rc, out, err = mesh_run(h, "trust", "list", "--from", ids[1], "--depth", "3", "--at", str(at), "--json")
        return {r["node_id"]: r["score"] for r in json.loads(out)["results"]} if rc == 0 else None

    check(listed(1500) == {ids[2]: 0.5}, "at 1500 only 1->2 exists: %r" % listed(1500))
    check(listed(2500) == {ids[2]: 0.5, ids[3]: 0.25}, "at 2500 1->2->3 (decay[2] = 0.5): %r" % listed(2500))
    # A TIME in the future falls back to the fixed 1700000000.
    def direct(at):
        rc, out, err = mesh_run(h, "trust", "list", "--from", ids[4], "--depth", "1", "--at", at, "--json")
        return [r["node_id"] for r in json.loads(out)["results"]] if rc == 0 else None

    check(direct("1699999999") == [] and direct("1700000000") == [ids[1]], "future TIME -> fixed ts 1700000000")
    rc, out, err = mesh_run(h, "log", "head")
    digest = out.strip()
    rc, rep, err = import_json(h, p, "csv-signed")
    check(rc == 0 and rep["accepted"] == 0 and rep["duplicate"] == 3, "second import: duplicates only %r" % rep)
    rc, out, err = mesh_run(h, "log", "head")
    check(out.strip() == digest, "second import leaves the digest alone")
    rc, out, err = mesh_run(h, "log", "verify")
    check(rc == 0, "log verify after import: %s %s" % (out, err))

    # ---- bad lines: whole file refused with FILE:LINE, nothing stored ----
    bad = [
        ("konect", "1 2 0.6\n1 3 abc\n", 2, "weight"),
        ("konect", "1 2 0.6\n1 3 1.5\n", 2, "outside"),
        ("konect", "1 2\n", 1, "field"),
        ("csv-signed", "1,2,5,10\n1,3,11,10\n", 2, "rating"),
        ("csv-signed", "1,2,5\n", 1, "field"),
        ("csv-signed", "1,x,5,10\n", 1, "node"),
        ("csv-signed", "1,2,5,yesterday\n", 1, "time"),
        ("snap", "1 2\n-1 2\n", 2, "node"),
        ("snap", "1 2 3 4\n", 1, "field"),
        ("snap", "1 2\n1\x003\n4 5\n", 2, "NUL"),
    ]
    for fmt, text, line, word in bad:
        h = fresh_home()
        p = write("bad/%s-%d.txt" % (fmt, line), text)
        mp = os.path.join(root, "bad.map")
        if os.path.exists(mp):
            os.remove(mp)
        rc, out, err = mesh_run(h, "graph", "import-edgelist", p, "--format", fmt, "--map", mp)
        check(
            rc == 1 and ("%s:%d:" % (p, line)) in err and word in err and "nothing imported" in err,
            "bad %s line %d: exit %d, %r" % (fmt, line, rc, err),
        )
        rc2, out2, _ = mesh_run(h, "log", "head")
        check(not os.path.exists(mp) and out2.strip() == EMPTY_DIGEST, "bad %s line %d changed something" % (fmt, line))
    # A truncated gzip file is refused too.
    data = gzip.compress(("1 2\n" * 20000).encode())
    p = os.path.join(root, "trunc.gz")
    with open(p, "wb") as f:
        f.write(data[: len(data) // 2])
    h = fresh_home()
    rc, out, err = mesh_run(h, "graph", "import-edgelist", p, "--format", "snap")
    check(rc == 1 and "nothing imported" in err, "truncated gzip: exit %d %r" % (rc, err))
    check(mesh_run(h, "log", "head")[1].strip() == EMPTY_DIGEST, "truncated gzip stored nothing")
    rc, out, err = mesh_run(fresh_home(), "graph", "import-edgelist", os.path.join(root, "missing"), "--format", "snap")
    check(rc == 1 and "missing" in err, "missing file: exit %d %r" % (rc, err))

    # ---- usage ----
    h = fresh_home()
    for args, code in [
        (["graph", "--help"], 0),
        (["graph", "import-edgelist", "--help"], 0),
        (["graph", "export", "--help"], 0),
        (["graph", "import-edgelist", p3], 2),
        (["graph", "import-edgelist", p3, "--format", "tsv"], 2),
        (["graph", "import-edgelist", "--format", "snap"], 2),
        (["graph", "import-edgelist", p3, "--format", "snap", "--scope", "Nope"], 2),
        (["graph", "import-edgelist", p3, "--format", "snap", "--limited-below", "2"], 2),
        (["graph", "export"], 2),
        (["graph", "export", "--format", "png"], 2),
        (["graph", "frobnicate"], 2),
    ]:
        rc, out, err = mesh_run(h, *args)
        check(rc == code, "%s: exit %d, want %d (%s)" % (" ".join(args), rc, code, err.strip()))

    # ---- dot export ----
    h = fresh_home()
    p = write("d/out.dot-test", "1 2 0.6\n2 3 1\n")
    mp = os.path.join(root, "d.map")
    rc, rep, err = import_json(h, p, "konect", "--map", mp, "--limited-below", "0.7")
    ids = read_map(mp)
    rc, out, err = mesh_run(h, "graph", "export", "--format", "dot")
    digest = mesh_run(h, "log", "head")[1].strip()
    lines = [l.strip() for l in out.splitlines()]
    check(rc == 0 and digest in lines[0] and lines[1] == "digraph mesh {" and lines[-1] == "}", "dot frame %r" % lines[:2])
    arrows = sorted(l for l in lines if "->" in l)
    check(
        len(arrows) == 2
        and any(('"%s" -> "%s"' % (ids[1], ids[2])) in l and 'label="0.600"' in l and "dashed" in l for l in arrows)
        and any(('"%s" -> "%s"' % (ids[2], ids[3])) in l and 'label="1.000"' in l and "dashed" not in l for l in arrows),
        "dot edges %r" % arrows,
    )
    js = export(h)
    check(js["digest"] == digest and len(js["edges"]) == 2, "json export digest/edges")

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
