"""Identity for a lifetime, on real homes and real nodes on 127.0.0.1 (SPEC §9.2).

Owner O and three others B, C, D trust each other and sync. A thief holds a
copy of O's identity.key: it issues with it, pushes to the others, tries to
rotate O to a key of its own (refused locally, and refused or without effect
on the other nodes when forced in by hand-made statements). The owner sees the
theft alarm, rotates with next.key, voiding what the thief signed after the
last good statement; after one sync round B, C and D show the new ID with the
same level and score as O had, O's own trust still in force as the new ID's,
and all four hold the same digest. Then the new ID's key is lost: a fresh home
holding only the feed and next.key recovers with `mesh key recover` and serves
at the node's address again; the others follow after one sync round. `ts` going back, a second `key` and a
rotate by the wrong key have no effect, each named by `log verify`, on every
node alike.

argv: MESH_BINARY BENCH_INGEST_BINARY; $MT_SIGN: tests/tools/mt-sign."""
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness, stmt_id  # noqa: E402
from nodeutil import Node, signed, stop_all  # noqa: E402

h = Harness(sys.argv)
MT_SIGN = os.environ.get("MT_SIGN", "")
names = ["o", "b", "c", "d"]
homes = {n: h.path(n) for n in names}
ids = {}
nodes = {}


def run_ok(args, home, what):
    r = h.run(args, home=home, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (what, r.stderr.decode(errors="replace")))
    return r


def sign(*args):
    import subprocess
    r = subprocess.run([MT_SIGN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    if r.returncode != 0:
        raise RuntimeError("mt-sign failed: %s" % r.stderr.decode(errors="replace"))
    return r.stdout.decode().strip()


def sync(n):
    r = h.run(["sync", "--json"], home=homes[n], timeout=120)
    try:
        return json.loads(r.stdout.decode() or "{}")
    except ValueError:
        return {}


def trust_list(n):
    r, j = h.run_json(["trust", "list", "--json", "--depth", "3"], home=homes[n])
    if r.returncode != 0 or j is None:
        raise RuntimeError("trust list on %s: %s" % (n, r.stderr.decode(errors="replace")))
    return {e["node_id"]: e for e in j["results"]}


def verify_kinds(home):
    r, j = h.run_json(["log", "verify", "--json"], home=home)
    kinds = set()
    if j:
        for p in j.get("issues", []):
            kinds.add(p.get("kind"))
    return r, j, kinds


def feed_lines(home, iss):
    return h.export_lines(home, iss)[1]


def seed_file(name):
    p = h.path(name + ".seed")
    with open(p, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(p, 0o600)
    return p


def main():
    if not MT_SIGN or not os.access(MT_SIGN, os.X_OK):
        h.check("mt-sign is available ($MT_SIGN)", False, MT_SIGN)
        return
    for n in names:
        ids[n] = h.init(homes[n])
        run_ok(["config", "set", "trust.maxDepth", "4"], homes[n], "config")
    O = ids["o"]
    h.check("mesh init wrote next.key (0600) beside identity.key",
            os.path.exists(os.path.join(homes["o"], "next.key")) and
            (os.stat(os.path.join(homes["o"], "next.key")).st_mode & 0o777) == 0o600)
    # The web: O trusts B, C, D full; B, C trust O full; D trusts O at 0.8, and
    # reaches C only through O.
    for d in "bcd":
        run_ok(["trust", "add", ids[d], "--level", "full"], homes["o"], "trust add")
    run_ok(["trust", "add", O, "--level", "full", "--score", "0.9"], homes["b"], "trust add")
    run_ok(["trust", "add", O, "--level", "full"], homes["c"], "trust add")
    run_ok(["trust", "add", O, "--level", "full", "--score", "0.8"], homes["d"], "trust add")
    run_ok(["trust", "add", ids["b"], "--level", "full"], homes["c"], "trust add")
    run_ok(["trust", "add", ids["c"], "--level", "full"], homes["b"], "trust add")
    lines = feed_lines(homes["o"], O)
    first = json.loads(lines[0])
    h.check("O's feed begins with its key commitment (seq 1)",
            first["type"] == "key" and first["seq"] == 1 and len(lines) == 4, lines[:1])

    for n in names:
        nodes[n] = Node(h, homes[n], n).start()
    for s in "bcd":
        run_ok(["peer", "add", nodes["o"].url], homes[s], "peer add")
    for d in "bcd":
        run_ok(["peer", "add", nodes[d].url], homes["o"], "peer add")
    for _ in range(2):
        for n in ["b", "c", "d", "o"]:
            sync(n)
    before = {n: trust_list(n) for n in "bcd"}
    h.check("before: B, C, D trust O", all(O in before[n] for n in "bcd"),
            {n: list(before[n]) for n in "bcd"})
    h.check("before: D reaches C only through O", before["d"].get(ids["c"], {}).get("via") == O,
            before["d"].get(ids["c"]))

    # ---- the thief: a copy of identity.key, nothing else -----------------------------
    t = h.path("thief")
    os.makedirs(t, mode=0o700)
    shutil.copy2(os.path.join(homes["o"], "identity.key"), os.path.join(t, "identity.key"))
    os.chmod(os.path.join(t, "identity.key"), 0o600)
    exp = h.path("o-feed.ndjson")
    with open(exp, "wb") as f:
        f.write(b"\n".join(feed_lines(homes["o"], O)) + b"\n")
    run_ok(["log", "import", exp], t, "thief's import of O's feed")
    thief_seed = seed_file("thief")
    thief_new = sign("id", "--seed-file", thief_seed)
    r = h.run(["key", "rotate", "--next-key", thief_seed], home=t)
    h.check("stolen key: rotating to the thief's own key is refused locally",
            r.returncode != 0 and b"commit" in r.stderr, r.stderr)
    r = h.run(["key", "rotate"], home=t)
    h.check("stolen key: no next.key, no rotate", r.returncode != 0, r.stderr)
    sybil = sign("id", "--seed-file", seed_file("sybil"))
    run_ok(["trust", "add", sybil, "--level", "full"], t, "thief's trust add")
    tl = feed_lines(t, O)
    stolen = json.loads(tl[-1])
    h.check("the thief's statement is O's seq 5", stolen["seq"] == 5, stolen)
    # Hand-made: a pre-rotation rotate signed by the thief's key (no commitment
    # matches it) and a legacy rotate signed by O's key with newsig.
    sid5 = stmt_id(tl[-1])
    now = int(time.time())
    pre = sign("--seed-file", thief_seed, "--iss", O, "--seq", "6", "--prev", sid5, "--ts",
               str(now), json.dumps({"type": "rotate", "new": thief_new}))
    legacy = sign("--home", t, "--seq", "6", "--prev", sid5, "--ts", str(now),
                  "--newsig-seed", thief_seed, json.dumps({"type": "rotate", "new": thief_new}))
    body = h.path("thief-push.ndjson")
    with open(body, "w") as f:
        f.write(tl[-1].decode() + "\n" + pre + "\n" + legacy + "\n")
    for d in "bcd":
        st, text = signed(h, t, "POST", nodes[d].url + "/v1/statements", ["--body", body])
        h.check("%s: the thief's push is taken (O's key), its own rotate refused" % d.upper(),
                st == 200 and "no matching commitment held" in text and
                text.count("accepted") >= 2, (st, text))

    # ---- the owner notices and rotates ------------------------------------------------
    sync("o")
    r = h.run(["trust", "list"], home=homes["o"])
    h.check("theft alarm: O's commands warn about statements it did not sign",
            b"not signed by this home" in r.stderr, r.stderr)
    st, text, _ = nodes["o"].get("/metrics")
    h.check("theft alarm in O's /metrics",
            st == 200 and "mesh_own_feed_foreign_statements 2" in text.decode(), text[-400:])
    o_listen = nodes["o"].url.split("://")[1]  # the same address after the restart
    nodes["o"].stop()
    r, j = h.run_json(["key", "rotate", "--last-good", "4", "--json"], home=homes["o"])
    N = h.node_id(homes["o"])
    h.check("the owner rotates with next.key", r.returncode == 0 and N != O, r.stderr)
    r, ks = h.run_json(["key", "status", "--json"], home=homes["o"])
    h.check("key status names the chain", ks is not None and O in json.dumps(ks), ks)
    nodes["o"] = Node(h, homes["o"], "o2", ["--listen", o_listen]).start()
    st, _, _ = nodes["o"].get("/v1/id")
    for n in "bcd":
        j = sync(n)  # one round
        h.check("%s syncs with O's node after the rotation" % n.upper(),
                j.get("failed") == 0 and j.get("peers") == 1, j)
    after = {n: trust_list(n) for n in "bcd"}
    for n in "bcd":
        e0, e1 = before[n].get(O), after[n].get(N)
        h.check("%s shows the new ID with O's level and score" % n.upper(),
                e1 is not None and e0 is not None and e1["level"] == e0["level"] and
                abs(e1["score"] - e0["score"]) < 1e-9 and e1.get("rotated_from") == [O] and
                O not in after[n], (e0, e1))
    h.check("O's trust is still in force as the new ID's (D reaches C through N)",
            after["d"].get(ids["c"], {}).get("via") == N and
            abs(after["d"][ids["c"]]["score"] - before["d"][ids["c"]]["score"]) < 1e-9,
            after["d"].get(ids["c"]))
    heads = {n: h.head(homes[n])[0] for n in names}
    h.check("O, B, C, D hold the same digest after one round", len(set(heads.values())) == 1,
            heads)
    for n in names:
        r, j, kinds = verify_kinds(homes[n])
        h.check("%s: log verify names the thief's statements void" % n.upper(),
                "void" in kinds and "contested" not in kinds, (kinds, j))
    st, text = signed(h, t, "GET", nodes["b"].url + "/v1/feeds")
    h.check("the old key is refused as a peer after its rotate",
            st == 403 and "rotated" in text, (st, text))
    r = h.run(["trust", "list"], home=homes["o"])
    h.check("after the rotate, the new ID's commands raise no alarm",
            b"not signed by this home" not in r.stderr, r.stderr)

    # ---- lost key: recover in a fresh home from next.key and the feed --------------------
    saved_next = h.path("n-next.key")
    shutil.copy2(os.path.join(homes["o"], "next.key"), saved_next)
    nodes["o"].stop()
    L = h.path("l")
    h.init(L)
    everything = h.path("all.ndjson")
    with open(everything, "wb") as f:
        f.write(b"\n".join(h.export_lines(homes["b"])[1]) + b"\n")
    r = run_ok(["log", "import", everything, "--json"], L, "import into the fresh home")
    h.check("the fresh home holds N's feed", len(feed_lines(L, N)) >= 1,
            (r.stdout[-300:], len(feed_lines(homes["b"], N))))
    r = h.run(["key", "recover", "--old", N, "--next-key", saved_next], home=L)
    N2 = h.node_id(L)
    h.check("mesh key recover rotates N to its committed key", r.returncode == 0 and N2 != N,
            r.stderr)
    # The owner brings the node back at its address, from the fresh home.
    nodes["l"] = Node(h, L, "l", ["--listen", o_listen]).start()
    for n in "bcd":
        j = sync(n)
        h.check("%s syncs with the recovered node" % n.upper(),
                any(x["url"] == nodes["l"].url and not x["summary"].startswith("failed")
                    for x in j.get("results", [])), j)
    final = {n: trust_list(n) for n in "bcd"}
    for n in "bcd":
        e0, e2 = before[n].get(O), final[n].get(N2)
        h.check("%s follows the recovery: N2 with O's level and score" % n.upper(),
                e2 is not None and e2["level"] == e0["level"] and
                abs(e2["score"] - e0["score"]) < 1e-9 and e2.get("rotated_from") == [O, N],
                (e2, sorted(final[n])))

    # ---- feed time, a second key, a rotate by the wrong key: no effect, everywhere ------
    X = seed_file("x")
    xid = sign("id", "--seed-file", X)
    xnext = sign("next", "--seed-file", seed_file("xnext"))
    k1 = sign("--seed-file", X, "--seq", "1", "--ts", str(now - 100),
              json.dumps({"type": "key", "next": xnext}))
    k2 = sign("--seed-file", X, "--seq", "2", "--prev", stmt_id(k1.encode()),
              "--ts", str(now - 50), json.dumps({"type": "key", "next": "00" * 32}))
    back = sign("--seed-file", X, "--seq", "3", "--prev", stmt_id(k2.encode()),
                "--ts", str(now - 1000), json.dumps({"type": "trust", "target": ids["b"],
                                                      "level": "full"}))
    wrong = sign("--seed-file", thief_seed, "--iss", xid, "--seq", "3", "--prev",
                 stmt_id(k2.encode()), "--ts", str(now),
                 json.dumps({"type": "rotate", "new": thief_new}))
    # and a rotate by Y's old key (two-signature form) once Y has a commitment
    Y = seed_file("y")
    y1 = sign("--seed-file", Y, "--seq", "1", "--ts", str(now - 100),
              json.dumps({"type": "key", "next": xnext}))
    yrot = sign("--seed-file", Y, "--seq", "2", "--prev", stmt_id(y1.encode()), "--ts",
                str(now - 90), "--newsig-seed", thief_seed,
                json.dumps({"type": "rotate", "new": thief_new}))
    xf = h.path("x.ndjson")
    with open(xf, "w") as f:
        f.write("\n".join([k1, k2, back, wrong, y1, yrot]) + "\n")
    for n in "bcd":
        r = h.run(["log", "import", xf, "--json"], home=homes[n])
        r2, j, kinds = verify_kinds(homes[n])
        h.check("%s: ts going back, a second key and a rotate by the old key are named by "
                "log verify; the wrong key's rotate is refused" % n.upper(),
                {"ts-back", "second-key", "rotate-legacy"} <= kinds and
                b"no matching commitment held" in r.stdout + r.stderr, (kinds, r.stdout[-300:]))


if __name__ == "__main__":
    try:
        h.guard("identity for a lifetime", main)
    finally:
        stop_all(nodes.values())
    h.finish()
