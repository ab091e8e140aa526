#!/usr/bin/python3
"""End-to-end behaviour of the `mesh` command (SPEC §1, §2, §3, §7, §8).

usage: test_cli.py MESH BENCH_INGEST
"""
import json
import os
import stat
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness, digest_of_ids, stmt_id  # noqa: E402

h = Harness(sys.argv)
NOW = 1750000000
h.env["MESH_NOW"] = str(NOW)  # every statement and query at the same clock


def shared_dir():
    d = os.environ.get("MT_SHARED_DIR")
    if d and os.path.isdir(d):
        return d
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.normpath(os.path.join(here, "..", "..", "..", "shared"))


VECTORS = json.load(open(os.path.join(shared_dir(), "vectors", "identity.json")))["cases"]
VEC = {c["name"]: c for c in VECTORS}


def err_text(r):
    return r.stderr.decode(errors="replace")


def write(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def drop_next_key(home):
    """An identity without a key commitment (as before SPEC §9.2): its first
    statement is seq 1 (test_key_cli.py covers next.key and the commitment)."""
    nk = os.path.join(home, "next.key")
    if os.path.exists(nk):
        os.unlink(nk)


def seeded_home(name, vec):
    """A home for a test vector's identity, starting its feed here (--new-feed:
    a home restored with --seed-file alone waits for its feed, SPEC §9.2)."""
    home = h.path(name)
    seed = write(h.path(name + ".seed"), vec["seed"].encode() + b"\n")
    r = h.run(["init", "--seed-file", seed, "--new-feed"], home=home)
    assert r.returncode == 0, err_text(r)
    drop_next_key(home)
    return home


def viewer_home(name):
    """A home made by `mesh init` (only init creates one, SPEC §9.4) that will
    hold others' statements; its own identity issues nothing."""
    home = h.path(name)
    r = h.run(["init"], home=home)
    assert r.returncode == 0, err_text(r)
    return home


def results(j):
    return {x["node_id"]: x for x in (j or {}).get("results", [])}


def trust_list(home, *extra):
    r, j = h.run_json(["trust", "list", "--json"] + list(extra), home=home)
    assert r.returncode == 0 and j is not None, (r.returncode, err_text(r))
    return j


# --------------------------------------------------------------------------
def test_init_modes():
    home = h.path("fresh")
    old = os.umask(0)  # mesh must set the modes itself, whatever the umask
    try:
        r = h.run(["init"], home=home)
    finally:
        os.umask(old)
    h.check("init: exit 0", r.returncode == 0, err_text(r))
    h.check("init: home created 0700", stat.S_IMODE(os.stat(home).st_mode) == 0o700,
            oct(stat.S_IMODE(os.stat(home).st_mode)))
    key = os.path.join(home, "identity.key")
    h.check("init: identity.key is 0600", stat.S_IMODE(os.stat(key).st_mode) == 0o600,
            oct(stat.S_IMODE(os.stat(key).st_mode)))
    r2, j = h.run_json(["id", "--json"], home=home)
    h.check("id --json: node_id/did/public_key shapes",
            j and j["node_id"].startswith("12D3KooW") and len(j["node_id"]) == 52
            and j["did"].startswith("did:key:z6Mk") and len(j["public_key"]) == 64, j)
    h.check("init output names the new Node ID", j and j["node_id"].encode() in r.stdout,
            r.stdout[:200])
    r3 = h.run(["id"], home=home)
    h.check("id (text): Node ID then DID", j and r3.stdout.decode().split() == [j["node_id"],
                                                                               j["did"]])
    h.check("init issues no statement", h.head(home)[1] == 0)
    h.check("empty store digest is BLAKE2b-256 of the empty input",
            h.head(home)[0] == digest_of_ids([]))


def test_seed_vectors():
    for c in VECTORS:
        home = seeded_home("vec-" + c["name"], c)
        r, j = h.run_json(["id", "--json"], home=home)
        h.check("seed vector %s: node_id, did, public_key reproduced" % c["name"],
                j == {"node_id": c["node_id"], "did": c["did"], "public_key": c["public_key"]}
                or (j and j.get("node_id") == c["node_id"] and j.get("did") == c["did"]
                    and j.get("public_key") == c["public_key"]), (j, c))


def test_encrypted_key():
    pp = write(h.path("pass.txt"), b"correct horse battery staple\n")
    wrong = write(h.path("wrong.txt"), b"Tr0ub4dor&3\n")
    vec = VEC["Mallory"]
    seed = write(h.path("enc.seed"), vec["seed"].encode())
    home = h.path("enc")
    r = h.run(["init", "--seed-file", seed, "--new-feed", "--passphrase-file", pp], home=home)
    drop_next_key(home)
    h.check("encrypted init: exit 0, says encrypted",
            r.returncode == 0 and b"encrypted" in r.stdout, (r.returncode, err_text(r)))
    with open(os.path.join(home, "identity.key"), "rb") as f:
        text = f.read()
    h.check("encrypted key file does not contain the seed", vec["seed"].encode() not in text
            and bytes.fromhex(vec["seed"]) not in text)
    h.check("encrypted key: `mesh id` (public part) works without the passphrase",
            h.node_id(home) == vec["node_id"])
    target = VEC["A"]["node_id"]
    before = h.head(home)
    r = h.run(["trust", "add", target, "--level", "full"], home=home)
    e = err_text(r)
    h.check("encrypted key, no passphrase: exit 1, says encrypted and how to give it",
            r.returncode == 1 and "encrypted" in e and "--passphrase-file" in e, (r.returncode, e))
    r = h.run(["trust", "add", target, "--level", "full"], home=home,
              global_opts=["--passphrase-file", wrong])
    e = err_text(r)
    h.check("encrypted key, wrong passphrase: exit 1, says wrong passphrase",
            r.returncode == 1 and "wrong passphrase" in e, (r.returncode, e))
    r = h.run(["trust", "add", target, "--level", "full"], home=home,
              global_opts=["--passphrase-file", h.path("missing.txt")])
    h.check("encrypted key, missing passphrase file: exit 1 naming the file",
            r.returncode == 1 and "missing.txt" in err_text(r), err_text(r))
    h.check("encrypted key: failures issued nothing", h.head(home) == before)
    r = h.run(["trust", "add", target, "--level", "full", "--json"], home=home,
              global_opts=["--passphrase-file", pp])
    ok = r.returncode == 0
    h.check("encrypted key, right passphrase (--passphrase-file): trust add works", ok, err_text(r))
    if ok:
        st = json.loads(r.stdout)["statement"]
        h.check("statement issued by the encrypted key's identity",
                st["iss"] == vec["node_id"] and st["target"] == target and st["seq"] == 1, st)
    r = h.run(["trust", "add", VEC["B"]["node_id"], "--level", "limited"], home=home,
              env={"MESH_PASSPHRASE_FILE": pp})
    h.check("encrypted key, MESH_PASSPHRASE_FILE: trust add works", r.returncode == 0, err_text(r))
    h.check("encrypted key: 2 statements issued", h.head(home)[1] == before[1] + 2)
    r = h.run(["log", "verify"], home=home)
    h.check("encrypted key: the statements verify", r.returncode == 0, r.stdout)


def test_graph():
    A = seeded_home("A", VEC["Alice"])
    B = seeded_home("B", VEC["Bob"])
    C = seeded_home("C", VEC["Carol"])
    a, b, c = VEC["Alice"]["node_id"], VEC["Bob"]["node_id"], VEC["Carol"]["node_id"]
    note = "met at the coop \u00e9t\u00e9"
    r = h.run(["trust", "add", b, "--level", "full", "--score", "0.8", "--note", note], home=A)
    h.check("A trusts B (full, 0.8)", r.returncode == 0, err_text(r))
    r = h.run(["trust", "add", VEC["Carol"]["did"], "--level", "full"], home=B)
    h.check("B trusts C given as did:key", r.returncode == 0, err_text(r))
    r, j = h.run_json(["log", "import", "--json", "-"], home=A,
                      stdin=h.export_lines(B)[0].stdout)
    h.check("import B's log export into A", r.returncode == 0 and j == {
        "accepted": 1, "duplicate": 0, "rejected": []}, (j, err_text(r)))
    decay = [1, 1, 0.5, 0.25, 0.125]

    def expect_both(label, listing):
        res = results(listing)
        h.check(label + ": exactly B and C listed", set(res) == {b, c}, list(res))
        if set(res) != {b, c}:
            return
        h.check(label + ": B hops 1 score 0.8 full via B",
                res[b]["hops"] == 1 and res[b]["score"] == decay[1] * (1 * (800 / 1000.0))
                and res[b]["level"] == "full" and res[b]["via"] == b, res[b])
        want_c = decay[2] * (1 * (800 / 1000.0) * (1000 / 1000.0))
        h.check(label + ": C hops 2 score 0.8*1.0*0.5=0.4 via B",
                res[c]["hops"] == 2 and res[c]["score"] == want_c and want_c == 0.4
                and res[c]["level"] == "full" and res[c]["via"] == b, res[c])
        h.check(label + ": B's private note shown, C has none",
                res[b]["note"] == note and res[c]["note"] is None, (res[b]["note"], res[c]["note"]))
        h.check(label + ": sorted by hops", [x["node_id"] for x in listing["results"]] == [b, c])

    j = trust_list(A)
    expect_both("trust list", j)
    head = h.run(["log", "head"], home=A).stdout.decode().strip()
    h.check("trust list digest equals `mesh log head`", j.get("digest") == head and len(head) == 64,
            (j.get("digest"), head))
    h.check("trust list fields: viewpoint A, scope global, at NOW, max_depth 2",
            j.get("viewpoint") == a and j.get("scope") == "global" and j.get("at") == NOW
            and j.get("max_depth") == 2, {k: j.get(k) for k in ("viewpoint", "scope", "at")})
    h.check("trust list --from B (B's view): C only", set(results(trust_list(A, "--from", b)))
            == {c})
    h.check("trust list --scope coop:x is empty (scope isolation)",
            results(trust_list(A, "--scope", "coop:x")) == {})
    h.check("trust list --depth 1: only B", set(results(trust_list(A, "--depth", "1"))) == {b})
    text = h.run(["trust", "list"], home=A).stdout.decode()
    h.check("trust list (text): header NODE ID LEVEL HOPS SCORE NOTE",
            text.split("\n")[0].split() == ["NODE", "ID", "LEVEL", "HOPS", "SCORE", "NOTE"], text)

    # path
    r, p = h.run_json(["trust", "path", c, "--json"], home=A)
    h.check("trust path C: found, 2 edges", r.returncode == 0 and p and p.get("found") is True
            and len(p.get("path", [])) == 2, (r.returncode, p))
    all_lines = h.export_lines(A)[1]
    by_id = {stmt_id(l): json.loads(l) for l in all_lines}
    if p and len(p.get("path", [])) == 2:
        e1, e2 = p["path"]
        h.check("path edges A->B->C with levels, scores, scope",
                (e1["from"], e1["to"], e2["from"], e2["to"]) == (a, b, b, c)
                and e1["score"] == 0.8 and e2["score"] == 1.0 and e1["level"] == "full"
                and e1["scope"] == "global" and e2["scope"] == "global", p["path"])
        s1, s2 = by_id.get(e1["statement"]), by_id.get(e2["statement"])
        h.check("path edge statements exist in the store and are those edges",
                s1 and s2 and (s1["iss"], s1["target"], s2["iss"], s2["target"]) == (a, b, b, c),
                (e1["statement"], e2["statement"]))
        h.check("trust path: score 0.4, hops 2, digest = head",
                p.get("score") == 0.4 and p.get("hops") == 2 and p.get("digest") == head, p)

    # revocation
    r = h.run(["trust", "remove", b], home=A)
    h.check("trust remove B: exit 0", r.returncode == 0, err_text(r))
    h.check("after remove: B and C vanish from trust list", results(trust_list(A)) == {})
    r, p = h.run_json(["trust", "path", c, "--json"], home=A)
    h.check("after remove: trust path C not found (exit 1) with a reason",
            r.returncode == 1 and p and p.get("found") is False and p.get("reason"), p)
    r = h.run(["trust", "remove", b], home=A)
    h.check("trust remove B again: exit 1, no edge",
            r.returncode == 1 and "no trust edge" in err_text(r), err_text(r))
    r = h.run(["trust", "add", b, "--level", "full", "--score", "0.8"], home=A)
    h.check("trust add B again: exit 0", r.returncode == 0, err_text(r))
    expect_both("after re-add", trust_list(A))

    # block
    r = h.run(["trust", "block", c], home=A)
    h.check("trust block C: exit 0", r.returncode == 0, err_text(r))
    h.check("after block: C gone though reachable, B stays",
            set(results(trust_list(A))) == {b})
    r, p = h.run_json(["trust", "path", c, "--json"], home=A)
    h.check("after block: trust path C says blocked",
            r.returncode == 1 and p and p.get("found") is False
            and "block" in (p.get("reason", "") + p.get("why", "")).lower(), p)
    h.check("C still trusted from B's view (a block is A's alone)",
            set(results(trust_list(A, "--from", b))) == {c})

    r = h.run(["store", "rebuild", "--check"], home=A)
    h.check("store rebuild --check: exit 0, identical",
            r.returncode == 0 and b"identical" in r.stdout, (r.stdout, err_text(r)))
    r = h.run(["log", "verify"], home=A)
    h.check("log verify on A: exit 0, OK", r.returncode == 0 and b"OK" in r.stdout, r.stdout)
    return A, a, b, c, note


def test_export_import(A, a, b, c, note):
    r = h.run(["trust", "export"], home=A)
    plain = json.loads(r.stdout)
    h.check("trust export without --with-notes: no notes", r.returncode == 0
            and plain.get("version") == 1 and plain.get("notes") == {}, plain.get("notes"))
    r = h.run(["trust", "export", "--with-notes"], home=A)
    doc = json.loads(r.stdout)
    own = h.export_lines(A, iss=a)[1]
    h.check("trust export --with-notes: version 1, A's own feed, B's note",
            doc.get("version") == 1 and doc.get("notes") == {b: note}
            and len(doc.get("statements", [])) == len(own) == 4
            and all(s["iss"] == a for s in doc["statements"]), (len(own), doc.get("notes")))
    f = write(h.path("a-trust.json"), r.stdout)
    D = viewer_home("D")
    r, j = h.run_json(["trust", "import", "--json", f], home=D)
    h.check("trust import into fresh D: 4 accepted", r.returncode == 0
            and j == {"accepted": 4, "duplicate": 0, "rejected": []}, (j, err_text(r)))
    own_ids = [stmt_id(l) for l in own]
    dd = h.head(D)
    h.check("D's log head digest = digest of A's own statements",
            dd == (digest_of_ids(own_ids), 4), (dd, digest_of_ids(own_ids)))
    h.check("D's export of A's feed is byte-identical to A's",
            h.export_lines(D, iss=a)[0].stdout == h.export_lines(A, iss=a)[0].stdout)
    res = results(trust_list(D, "--from", a))
    h.check("D sees A's view: B (1 hop, 0.8) with the imported note",
            set(res) == {b} and res[b]["score"] == 0.8 and res[b]["note"] == note, res)
    r, j = h.run_json(["trust", "import", "--json", f], home=D)
    h.check("trust import again: all duplicate",
            j == {"accepted": 0, "duplicate": 4, "rejected": []}, j)
    # a note already held is not overwritten by an import
    other = dict(doc, notes={b: "something else"})
    f2 = write(h.path("a-trust2.json"), json.dumps(other).encode())
    h.run(["trust", "import", f2], home=D)
    res = results(trust_list(D, "--from", a))
    h.check("trust import keeps an existing note", res.get(b, {}).get("note") == note, res)
    # trust import with a bad statement: index + reason
    bad = dict(doc)
    bad["statements"] = list(doc["statements"])
    s0 = dict(bad["statements"][0])
    s0["score"] = 1 if s0.get("score") != 1 else 2
    bad["statements"][0] = s0
    f3 = write(h.path("a-bad.json"), json.dumps(bad).encode())
    E = viewer_home("Dbad")
    r, j = h.run_json(["trust", "import", "--json", f3], home=E)
    h.check("trust import with one tampered statement: exit 1, index 0 bad signature",
            r.returncode == 1 and j and j.get("accepted") == 3 and len(j["rejected"]) == 1
            and j["rejected"][0].get("index") == 0
            and "bad signature" in j["rejected"][0].get("reason", ""), j)


def test_ndjson_roundtrip(A):
    full = h.export_lines(A)[0].stdout
    n = len([l for l in full.split(b"\n") if l])
    E = viewer_home("E")
    r, j = h.run_json(["log", "import", "--json", "-"], home=E, stdin=full)
    h.check("log export | log import -: report shape and counts",
            r.returncode == 0 and j == {"accepted": n, "duplicate": 0, "rejected": []}, j)
    h.check("report keys are exactly accepted, duplicate, rejected",
            j is not None and list(j.keys()) == ["accepted", "duplicate", "rejected"], j)
    again = h.export_lines(E)[0].stdout
    h.check("round trip is byte-exact (export of importer == original export)", again == full,
            (len(again), len(full)))
    h.check("round trip: same log head", h.head(E) == h.head(A))
    r, j = h.run_json(["log", "import", "--json", "-"], home=E, stdin=full)
    h.check("import again: all duplicate", j == {"accepted": 0, "duplicate": n, "rejected": []}, j)
    # a rejected line: {"line": i, "reason": "..."}, 1-based, blank lines counted
    lines = [l for l in full.split(b"\n") if l]
    d = json.loads(lines[0])
    d["ts"] += 1
    tampered = json.dumps(d, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    data = b"\n" + tampered + b"\n" + lines[0] + b"\n"
    r, j = h.run_json(["log", "import", "--json", "-"], home=viewer_home("E2"), stdin=data)
    ok = j is not None and j.get("rejected") and len(j["rejected"]) == 1
    h.check("rejected entry is {line, reason} with the file's line number",
            r.returncode == 1 and ok and set(j["rejected"][0]) == {"line", "reason"}
            and j["rejected"][0]["line"] == 2 and isinstance(j["rejected"][0]["reason"], str)
            and j["accepted"] == 1, j)
    r = h.run(["log", "show", "--json"], home=E)
    shown = json.loads(r.stdout).get("statements", []) if r.returncode == 0 else []
    h.check("log show --json lists every statement with its id",
            sorted(x["id"] for x in shown) == sorted(stmt_id(l) for l in lines), len(shown))


def test_config(A, b, c):
    def cfg(*args):
        return h.run(["config"] + list(args), home=A)

    r = cfg("get", "trust.maxDepth")
    h.check("config get trust.maxDepth default 2", r.returncode == 0 and r.stdout == b"2\n",
            r.stdout)
    r = cfg("get", "trust.decay")
    h.check("config get trust.decay default", r.stdout == b"1 1 0.5 0.25 0.125\n", r.stdout)
    for args in (("set", "trust.maxDepth", "9"), ("set", "trust.maxDepth", "0"),
                 ("set", "trust.maxDepth", "two"), ("set", "trust.decay", "1 0.5 0.7"),
                 ("set", "trust.decay", "1 1.5"), ("set", "trust.decay", "0 0"),
                 ("set", "trust.decay", ""), ("set", "no.such.key", "1"),
                 ("get", "no.such.key"), ("set", "trust.maxDepth"), ("frob",)):
        r = cfg(*args)
        h.check("config %s: exit 2" % " ".join(repr(x) for x in args), r.returncode == 2,
                (r.returncode, err_text(r)))
    h.check("rejected sets changed nothing",
            cfg("get", "trust.maxDepth").stdout == b"2\n"
            and cfg("get", "trust.decay").stdout == b"1 1 0.5 0.25 0.125\n")
    r = cfg("set", "trust.maxDepth", "9")
    h.check("config set trust.maxDepth 9 names the key", "trust.maxDepth" in err_text(r),
            err_text(r))
    r = cfg("set", "trust.decay", "1 0.5 0.7")
    h.check("non-increasing decay: message says so", "non-increasing" in err_text(r), err_text(r))
    r = cfg("set", "trust.decay", "1 1 0.5")
    h.check("config set trust.decay \"1 1 0.5\": exit 0", r.returncode == 0, err_text(r))
    r = cfg("get", "trust.decay")
    h.check("config get trust.decay returns \"1 1 0.5\"", r.stdout == b"1 1 0.5\n", r.stdout)
    cfg("set", "trust.maxDepth", "1")
    r2 = trust_list(A)
    h.check("config trust.maxDepth 1 is used by trust list",
            r2.get("max_depth") == 1 and set(results(r2)) == {b}, r2)
    r = cfg("list")
    h.check("config list shows the stored values",
            r.returncode == 0 and b"trust.maxDepth = 1" in r.stdout
            and b"trust.decay = 1 1 0.5" in r.stdout, r.stdout)


def test_config_decay_effect():
    """Decay and depth from config change scores (fresh chain X->Y->Z)."""
    X = seeded_home("cX", VEC["V"])
    Y = seeded_home("cY", VEC["D"])
    y, z = VEC["D"]["node_id"], VEC["E"]["node_id"]
    assert h.run(["trust", "add", y, "--level", "full", "--score", "0.8"], home=X).returncode == 0
    assert h.run(["trust", "add", z, "--level", "limited"], home=Y).returncode == 0
    assert h.run(["log", "import", "-"], home=X, stdin=h.export_lines(Y)[0].stdout).returncode == 0
    res = results(trust_list(X))
    h.check("chain: Z 0.4 limited (level = weakest edge) with default decay",
            res.get(z, {}).get("score") == 0.4 and res[z]["level"] == "limited", res)
    h.run(["config", "set", "trust.decay", "1 1 0.25"], home=X)
    res = results(trust_list(X))
    h.check("chain: decay \"1 1 0.25\" gives Z 0.8*0.25", res.get(z, {}).get("score")
            == 0.25 * (1 * 0.8 * 1.0), res.get(z))
    h.run(["config", "set", "trust.maxDepth", "1"], home=X)
    res = results(trust_list(X))
    h.check("chain: maxDepth 1 drops Z", set(res) == {y}, list(res))


def test_verify_problems():
    """log verify: exit 1 and names the problem (fork; tampered database)."""
    import sqlite3
    F1 = seeded_home("F1", VEC["P"])
    F2 = seeded_home("F2", VEC["P"])  # same key on two machines: equivocation
    t1, t2 = VEC["A"]["node_id"], VEC["B"]["node_id"]
    assert h.run(["trust", "add", t1, "--level", "full"], home=F1).returncode == 0
    assert h.run(["trust", "add", t2, "--level", "full"], home=F2).returncode == 0
    r = h.run(["log", "verify"], home=F1)
    h.check("verify before the fork: exit 0", r.returncode == 0, r.stdout)
    # F1's own identity: a fork of it is imported only on purpose (SPEC §9.2).
    r, j = h.run_json(["log", "import", "--json", "--accept-fork", "-"], home=F1,
                      stdin=h.export_lines(F2)[0].stdout)
    h.check("the forking statement is held as evidence (accepted)",
            j == {"accepted": 1, "duplicate": 0, "rejected": []} and h.head(F1)[1] == 2, j)
    r, j = h.run_json(["log", "verify", "--json"], home=F1)
    kinds = [x.get("kind") for x in (j or {}).get("issues", [])]
    h.check("verify after the fork: exit 1, ok false, a fork at seq 1 of the issuer",
            r.returncode == 1 and j and j.get("ok") is False and "fork" in kinds
            and any(x.get("iss") == VEC["P"]["node_id"] and x.get("seq") == 1
                    for x in j["issues"]), j)
    r = h.run(["log", "verify"], home=F1)
    h.check("verify (text) after the fork: exit 1, says equivocation",
            r.returncode == 1 and b"equivocation" in r.stdout, r.stdout)
    h.check("a forked feed takes no effect from the forked seq",
            results(trust_list(F1)) == {})
    r = h.run(["store", "rebuild", "--check"], home=F1)
    h.check("rebuild --check with a fork: identical", r.returncode == 0, (r.stdout, err_text(r)))
    # Tamper with the stored bytes behind mesh's back.
    db = sqlite3.connect(os.path.join(F2, "trust.db"), timeout=30)
    try:
        n = db.execute("UPDATE statements SET canon = CAST(replace(CAST(canon AS TEXT),"
                       " '\"level\":\"full\"', '\"level\":\"limited\"') AS BLOB)").rowcount
        db.commit()
    finally:
        db.close()
    h.check("tamper: one row changed", n == 1, n)
    r, j = h.run_json(["log", "verify", "--json"], home=F2)
    kinds = [x.get("kind") for x in (j or {}).get("issues", [])]
    h.check("verify after tampering: exit 1, ok false, problem reported",
            r.returncode == 1 and j and j.get("ok") is False and j.get("problems", 0) >= 1
            and kinds, j)


HELP = [[], ["init"], ["id"], ["trust"], ["config"], ["refer"], ["log"], ["store"],
        ["trust", "add"], ["trust", "block"], ["trust", "remove"], ["trust", "list"],
        ["trust", "path"], ["trust", "export"], ["trust", "import"],
        ["config", "get"], ["config", "set"], ["config", "list"],
        ["log", "import"], ["log", "export"], ["log", "verify"], ["log", "show"], ["log", "head"],
        ["store", "rebuild"]]


def test_help_and_usage():
    home = h.path("never-created")
    for cmd in HELP:
        r = h.run(cmd + ["--help"], home=home)
        out = r.stdout.decode(errors="replace")
        h.check("`mesh %s --help`: exit 0 with usage on stdout" % " ".join(cmd),
                r.returncode == 0 and "usage" in out.lower(), (r.returncode, err_text(r)[:200]))
    h.check("--help created no home", not os.path.exists(home))
    r = h.run(["version"], home=home)
    h.check("mesh version: exit 0", r.returncode == 0 and r.stdout.startswith(b"mesh "), r.stdout)
    A = h.path("A")
    other = VEC["X"]["node_id"]
    usage_errors = [[], ["frobnicate"], ["--bogus", "id"], ["trust"], ["trust", "frob"],
                    ["log"], ["log", "frob"], ["store"], ["store", "frob"], ["config"],
                    ["trust", "add", other, "--level", "full", "--bogus"],
                    ["trust", "add"], ["trust", "add", other, other, "--level", "full"],
                    ["trust", "list", "--depth", "9"], ["trust", "list", "--depth", "0"],
                    ["trust", "list", "extra"], ["trust", "list", "--scope", "nope"],
                    ["trust", "list", "--at", "yesterday"], ["trust", "path"],
                    ["trust", "export", "--bogus"], ["trust", "import"],
                    ["log", "import"], ["log", "import", "--bogus", "f"], ["log", "import", "a", "b"],
                    ["log", "export", "extra"], ["log", "verify", "--bogus"],
                    ["log", "head", "extra"], ["log", "show", "--bogus"],
                    ["store", "rebuild", "--bogus"], ["id", "extra"], ["id", "--bogus"],
                    ["init", "extra"], ["init", "--bogus"], ["refer", other],
                    ["refer", "--note", "x"]]
    for cmd in usage_errors:
        r = h.run(cmd, home=A)
        h.check("`mesh %s`: exit 2 (usage)" % " ".join(cmd), r.returncode == 2,
                (r.returncode, err_text(r)[:200]))
    r = h.run(["frobnicate"], home=A)
    h.check("unknown command is named", "frobnicate" in err_text(r), err_text(r)[:200])
    r = h.run(["--bogus", "id"], home=A)
    h.check("unknown option is named", "--bogus" in err_text(r), err_text(r)[:200])


def main():
    h.guard("init modes", test_init_modes)
    h.guard("seed vectors", test_seed_vectors)
    h.guard("encrypted key", test_encrypted_key)
    ctx = {}

    def graph():
        ctx["g"] = test_graph()
    h.guard("graph", graph)
    if "g" in ctx:
        A, a, b, c, note = ctx["g"]
        h.guard("export/import", lambda: test_export_import(A, a, b, c, note))
        h.guard("ndjson round trip", lambda: test_ndjson_roundtrip(A))
        h.guard("config", lambda: test_config(A, b, c))
    h.guard("config effect", test_config_decay_effect)
    h.guard("verify problems", test_verify_problems)
    h.guard("help and usage", test_help_and_usage)


main()
h.finish()
