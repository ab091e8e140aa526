#!/usr/bin/python3
"""Portable proofs (SPEC §9.6, issue 18): a 3-hop path a -> b -> c -> d built in
four real homes (statements exchanged with `mesh log export` / `log import`),
written with `mesh trust path --proof`, verified by `mesh proof verify` in a
fresh HOME with no home or store (and none created); the score equals `trust
path --json`'s. The header is signed by the prover (the home's identity for
the CLI, the node's for the node). Flipping any byte of the header line (every
position) or a byte of a statement, dropping any statement, or adding a later
revocation of a path edge makes it fail with the reason.
Usage: test_proof.py MESH_BINARY. Prints "N passed, N failed"."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodeutil  # noqa: E402

MESH = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
T0 = 1800000000
passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   %s" % name)
    else:
        failed += 1
        print("FAIL %s%s" % (name, (": " + str(detail)) if detail else ""))
    sys.stdout.flush()


def run(home, args, now, stdin=None, env_home=None):
    env = dict(os.environ)
    env.pop("MESH_PASSPHRASE_FILE", None)
    env.pop("MESH_HOME", None)
    env["MESH_NOW"] = str(now)
    env["HOME"] = env_home or TMP
    env["LC_ALL"] = "C"
    cmd = [MESH] + (["--home", home] if home else []) + args
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, timeout=120)


def ok(home, args, now, stdin=None):
    r = run(home, args, now, stdin)
    if r.returncode != 0:
        raise RuntimeError("mesh %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                         r.stderr.decode(errors="replace")))
    return r.stdout


def give(src, dst, now):
    """Import every statement src holds into dst."""
    ok(dst, ["log", "import", "-"], now, stdin=ok(src, ["log", "export"], now))


def verify(path, fresh, as_json=True):
    r = run(None, ["proof", "verify", path] + (["--json"] if as_json else []), T0 + 100,
            env_home=fresh)
    doc = None
    if as_json:
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            doc = None
    return r, doc


def write(path, lines):
    with open(path, "wb") as f:
        f.write(b"".join(l + b"\n" for l in lines))


class NodeHarness:
    """What nodeutil.Node needs: the binary, an environment, a scratch path."""

    def __init__(self):
        self.mesh = MESH
        self.env = dict(os.environ, HOME=TMP, LC_ALL="C")
        self.env.pop("MESH_HOME", None)
        self.env.pop("MESH_PASSPHRASE_FILE", None)

    def path(self, name):
        return os.path.join(TMP, name)


def main():
    names = ("a", "b", "c", "d")
    homes = {n: os.path.join(TMP, n) for n in names}
    ids = {}
    for n in names:
        ok(homes[n], ["init"], T0)
        ids[n] = json.loads(ok(homes[n], ["id", "--json"], T0))["node_id"]
    a, b, c = homes["a"], homes["b"], homes["c"]
    # b and c first trust someone off the path, so each feed has 2 statements
    # and dropping its first one leaves a gap; each feed ends with its path edge.
    ok(b, ["trust", "add", ids["d"], "--level", "limited", "--score", "0.3",
           "--scope", "topic:x"], T0 + 1)
    ok(c, ["trust", "add", ids["a"], "--level", "limited", "--score", "0.5"], T0 + 1)
    ok(a, ["trust", "add", ids["b"], "--level", "full", "--score", "0.9"], T0 + 2)
    ok(b, ["trust", "add", ids["c"], "--level", "full", "--score", "0.8"], T0 + 2)
    ok(c, ["trust", "add", ids["d"], "--level", "limited", "--score", "0.7"], T0 + 2)
    give(b, a, T0 + 3)
    give(c, a, T0 + 3)
    ok(a, ["config", "set", "trust.maxDepth", "3"], T0 + 3)

    proof = os.path.join(TMP, "proof.ndjson")
    now = T0 + 10
    r = run(a, ["trust", "path", ids["d"], "--json", "--proof", proof], now)
    check("trust path --proof exits 0", r.returncode == 0, r.stderr)
    path_doc = json.loads(r.stdout)
    check("the path has 3 hops", len(path_doc.get("path", [])) == 3, path_doc)
    with open(proof, "rb") as f:
        lines = f.read().split(b"\n")
    check("bundle ends with a newline", lines[-1] == b"")
    lines = lines[:-1]
    head = json.loads(lines[0])
    check("header fields", head.get("proof") == 1 and head.get("from") == ids["a"] and
          head.get("to") == ids["d"] and head.get("scope") == "global" and
          head.get("at") == now and head.get("max_depth") == 3 and
          head.get("decay") == ["1", "1", "0.5", "0.25", "0.125"], head)
    check("header signed by the home's identity", head.get("prover") == ids["a"] and
          len(head.get("sig", "")) == 86, head)
    check("header is canonical (sorted keys, no spaces)",
          lines[0] == json.dumps(head, sort_keys=True, separators=(",", ":")).encode(), lines[0])
    # a: its key commitment, a -> b; b and c: key, off-path trust, path edge.
    check("bundle holds the 8 statements of a, b, c", len(lines) == 9, len(lines))

    fresh = tempfile.mkdtemp(prefix="mesh-proof-fresh-")
    try:
        r, doc = verify(proof, fresh)
        check("verify in a fresh HOME exits 0", r.returncode == 0, r.stdout + r.stderr)
        check("verify says valid", doc and doc.get("valid") is True, doc)
        check("score equals trust path's", doc and doc.get("score") == path_doc.get("score"),
              (doc and doc.get("score"), path_doc.get("score")))
        check("claim wording", doc and "later revocations, blocks, rotations or forks are not "
              "excluded" in doc.get("claim", ""), doc)
        check("3 feed heads", doc and [f["iss"] for f in doc.get("feeds", [])] ==
              [ids["a"], ids["b"], ids["c"]], doc)
        check("names the prover", doc and doc.get("prover") == ids["a"], doc)
        check("no warnings without a home", doc and doc.get("warnings") == [], doc)
        check("no home created", not os.path.exists(os.path.join(fresh, ".mesh")),
              os.listdir(fresh))
        r, _ = verify(proof, fresh, as_json=False)
        check("text: valid", r.returncode == 0 and r.stdout.startswith(b"valid: a path of "
                                                                       b"score"), r.stdout)
        check("text: names the prover", ("claimed by %s" % ids["a"]).encode() in r.stdout,
              r.stdout)

        # Flip one byte in each statement line (several places).
        bad = os.path.join(TMP, "bad.ndjson")
        for i in range(1, len(lines)):
            for pos in (len(lines[i]) // 3, len(lines[i]) // 2, len(lines[i]) - 10):
                line = bytearray(lines[i])
                line[pos] = ord("A") if line[pos] != ord("A") else ord("B")
                write(bad, lines[:i] + [bytes(line)] + lines[i + 1:])
                r, doc = verify(bad, fresh)
                check("flip line %d byte %d fails" % (i + 1, pos),
                      r.returncode == 1 and doc and doc.get("valid") is False and
                      doc.get("reason"), (r.returncode, doc))
        # Flip every byte of the header line, each position in turn: all fail,
        # each with a reason about line 1 (the signature covers every claim).
        header_fails = []
        for pos in range(len(lines[0])):
            line = bytearray(lines[0])
            line[pos] = ord("A") if line[pos] != ord("A") else ord("B")
            write(bad, [bytes(line)] + lines[1:])
            r, doc = verify(bad, fresh)
            if not (r.returncode == 1 and doc and doc.get("valid") is False and
                    doc.get("reason", "").startswith("line 1:")):
                header_fails.append((pos, r.returncode, doc))
        check("flip each of the %d header bytes fails with a line-1 reason" % len(lines[0]),
              not header_fails, header_fails[:5])
        # Claims changed after signing (depth, decay, at, scope, prover), written
        # canonically: the signature does not verify.
        for key, val in (("max_depth", 8), ("decay", ["1", "1"]), ("at", now + 86400),
                         ("scope", "topic:x"), ("prover", ids["b"])):
            h2 = dict(head)
            h2[key] = val
            write(bad, [json.dumps(h2, sort_keys=True, separators=(",", ":")).encode()] +
                  lines[1:])
            r, doc = verify(bad, fresh)
            check("changed %s: header signature does not verify" % key,
                  r.returncode == 1 and doc and
                  "header signature does not verify" in doc.get("reason", ""), doc)
        h2 = dict(head)
        del h2["sig"]
        write(bad, [json.dumps(h2, sort_keys=True, separators=(",", ":")).encode()] + lines[1:])
        r, doc = verify(bad, fresh)
        check("no sig: header not signed", r.returncode == 1 and doc and
              "header not signed" in doc.get("reason", ""), doc)
        h2 = dict(head, prover="someone")
        write(bad, [json.dumps(h2, sort_keys=True, separators=(",", ":")).encode()] + lines[1:])
        r, doc = verify(bad, fresh)
        check("prover is not a Node ID", r.returncode == 1 and doc and
              "prover is not a Node ID" in doc.get("reason", ""), doc)
        r, _ = verify(bad, fresh, as_json=False)
        check("text: invalid names the header reason", r.returncode == 1 and
              r.stdout.startswith(b"invalid: line 1: ") and b"prover" in r.stdout, r.stdout)
        # Drop each statement in turn.
        for i in range(1, len(lines)):
            write(bad, lines[:i] + lines[i + 1:])
            r, doc = verify(bad, fresh)
            check("drop line %d fails with a reason" % (i + 1),
                  r.returncode == 1 and doc and doc.get("valid") is False and
                  doc.get("reason"), (r.returncode, doc))
        # Dropping b's first statement is a gap named by issuer and seq.
        write(bad, lines[:3] + lines[4:])
        r, doc = verify(bad, fresh)
        check("gap reason names issuer and seq", doc and ids["b"] in doc.get("reason", "") and
              "seq 2" in doc.get("reason", ""), doc)

        # A later revocation of the path edge c -> d, appended to c's feed.
        ok(c, ["trust", "remove", ids["d"]], T0 + 20)
        dump = ok(c, ["log", "export"], T0 + 21).split(b"\n")
        revoke = [l for l in dump if b'"type":"revoke"' in l]
        check("c issued a revoke", len(revoke) == 1, dump)
        write(bad, lines + revoke[:1])
        r, doc = verify(bad, fresh)
        reason = doc.get("reason", "") if doc else ""
        check("later revocation fails", r.returncode == 1 and doc and doc.get("valid") is False,
              (r.returncode, doc))
        check("its reason names the revocation", "no path" in reason and "revoked" in reason and
              ids["c"] in reason, reason)
        r, _ = verify(bad, fresh, as_json=False)
        check("text: invalid with the reason", r.returncode == 1 and
              r.stdout.startswith(b"invalid: no path"), r.stdout)

        # Two copies of a feed (a fork/duplicate) and garbage.
        write(bad, lines + lines[1:2])
        r, doc = verify(bad, fresh)
        check("a feed in two places fails", r.returncode == 1 and doc and
              doc.get("valid") is False, doc)
        write(bad, [b"not json"])
        r, doc = verify(bad, fresh)
        check("garbage fails", r.returncode == 1 and doc and doc.get("valid") is False, doc)
        check("still no home created", not os.path.exists(os.path.join(fresh, ".mesh")))
    finally:
        shutil.rmtree(fresh, ignore_errors=True)

    # The node offers the same bundle: GET /v1/trust/path?...&proof=1.
    node = nodeutil.Node(NodeHarness(), a, "node-a")
    try:
        node.start()
        st, body, hd = node.get("/v1/trust/path?target=%s&proof=1" % ids["d"])
        check("node proof=1: 200 NDJSON", st == 200 and
              hd.get("Content-Type", "").startswith("application/x-ndjson"), (st, hd, body))
        nproof = os.path.join(TMP, "node-proof.ndjson")
        with open(nproof, "wb") as f:
            f.write(body)
        fresh2 = tempfile.mkdtemp(prefix="mesh-proof-fresh-")
        try:
            r, doc = verify(nproof, fresh2)
            check("node's proof verifies, same score", r.returncode == 0 and doc and
                  doc.get("score") == path_doc.get("score"), (r.returncode, doc))
            node_id = json.loads(ok(a, ["id", "--json"], T0 + 100))["node_id"]
            nhead = json.loads(body.split(b"\n", 1)[0])
            check("node's bundle is signed by the node's ID", nhead.get("prover") == node_id and
                  doc and doc.get("prover") == node_id, (nhead, doc))
        finally:
            shutil.rmtree(fresh2, ignore_errors=True)
        st, body, _ = node.get("/v1/trust/path?target=%s&proof=1" % ids["a"])
        check("node proof=1 without a path: 404 with the reason", st == 404 and
              b"no proof" in body, (st, body))
        st, body, _ = node.get("/v1/trust/path?target=%s&proof=1" % ids["d"], token=False)
        check("node proof=1 keeps the route's auth", st in (401, 403), (st, body))
    finally:
        node.stop()

    # With a home whose config differs: a warning (depth 2 here vs 3 in the bundle).
    r = run(homes["d"], ["proof", "verify", proof, "--json"], T0 + 100)
    doc = json.loads(r.stdout) if r.returncode == 0 else None
    check("warns on a differing max_depth", doc and any("max_depth" in w for w in
                                                        doc.get("warnings", [])), (r, doc))
    # No path: refused, exit 1, no file.
    nop = os.path.join(TMP, "nop.ndjson")
    r = run(homes["d"], ["trust", "path", ids["a"], "--proof", nop], T0 + 100)
    check("no path: exit 1 and no proof", r.returncode == 1 and not os.path.exists(nop) and
          b"no proof" in r.stderr, (r.returncode, r.stderr))


if __name__ == "__main__":
    if not MESH:
        sys.exit("usage: test_proof.py MESH_BINARY")
    TMP = tempfile.mkdtemp(prefix="mesh-proof-")
    try:
        main()
    except Exception as e:  # report, count as a failure
        check("unexpected error", False, repr(e))
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
