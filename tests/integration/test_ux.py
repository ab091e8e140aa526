#!/usr/bin/python3
"""The CLI for people (issue #21), each point with the reproduction the issue gives:

- `mesh trust explain`: the path, each edge, the product, trust.decay[hops], the score
  (equal to `trust path`'s), the other last hops and why they lost; flow mode;
- times: --at 2024-01-01 / …T10:00:00Z / "30d ago"; log show and lesson list with a
  header row, local times, ts_iso in --json;
- IDs: lesson show by an 8+ prefix; a warning naming the closest known ID when trusting an
  identity never seen (a Node ID with its last character changed);
- missing commands: config unset, trust scopes, a hint for a mistyped scope, `mesh help
  trust`, "did you mean" for commands and sub-commands;
- small things: floats printed short (0.9), a note given for one scope shown only there,
  `trust.maxDepth:` named once, metrics.capDecay 0 refused, an empty
  MESH_PASSPHRASE_FILE= named.

usage: test_ux.py MESH
"""
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402

h = Harness(sys.argv + ([sys.argv[1]] if len(sys.argv) == 2 else []))
NOW = 1750000000
h.env["MESH_NOW"] = str(NOW)
h.env["TZ"] = "UTC"


def out(r):
    return r.stdout.decode(errors="replace")


def err(r):
    return r.stderr.decode(errors="replace")


homes = {n: h.path(n) for n in "vabcx"}
ids = {n: h.init(p) for n, p in homes.items()}
V, A, B, C, X = (ids[n] for n in "vabcx")


def trust(src, dst, *args):
    r = h.run(["trust", "add", ids[dst]] + list(args), home=homes[src])
    h.check("%s trusts %s %s" % (src, dst, " ".join(args)), r.returncode == 0, err(r))


def web():
    trust("v", "a", "--level", "full")
    trust("v", "b", "--level", "full", "--score", "0.8")
    trust("a", "x", "--level", "full")
    trust("b", "x", "--level", "limited", "--score", "0.9")
    trust("a", "c", "--level", "full")
    trust("c", "x", "--level", "full")
    for n in "abc":
        r = h.run(["log", "export"], home=homes[n])
        f = h.path("%s.ndjson" % n)
        with open(f, "wb") as fh:
            fh.write(r.stdout)
        r = h.run(["log", "import", f], home=homes["v"])
        h.check("v imports %s" % n, r.returncode == 0, err(r))


def explain():
    r, p = h.run_json(["trust", "path", X, "--json"], home=homes["v"])
    r, j = h.run_json(["trust", "explain", X, "--json"], home=homes["v"])
    h.check("trust explain --json", r.returncode == 0 and j and j["found"], out(r) + err(r))
    if not j:
        return
    h.check("the best path: V -> A -> X, product 1, decay[2] 0.5, score 0.5 = trust path's",
            [e["to"] for e in j["path"]] == [A, X] and j["product"] == 1.0 and
            j["decay_index"] == 2 and j["decay_factor"] == 0.5 and j["score"] == 0.5 and
            j["score"] == p["score"], j)
    others = {o["via"]: o for o in j["others"]}
    ob, oc = others.get(B, {}), others.get(C, {})
    h.check("via B: 0.8 × 0.9 = 0.72, × decay 0.5 = 0.36, a lower score",
            abs(ob.get("product", 0) - 0.72) < 1e-12 and abs(ob.get("score", 0) - 0.36) < 1e-12
            and ob.get("outcome") == "lower score", ob)
    h.check("via C: 3 hops, longer than max depth 2",
            oc.get("hops") == 3 and "longer than the maximum depth 2" in oc.get("outcome", ""),
            oc)
    r = h.run(["trust", "explain", X], home=homes["v"])
    o = out(r)
    h.check("trust explain (human): product, decay[2], score, the losers",
            r.returncode == 0 and "trust.decay[2] = 0.5" in o and "score = 0.5 × 1 = 0.5" in o
            and "lower score" in o and "longer than the maximum depth" in o, o)
    r = h.run(["trust", "path", X], home=homes["v"])
    h.check("trust path says × decay[2]", "score 0.5 = 1 (product of the edge scores) × 0.5 "
            "(trust.decay[2])" in out(r), out(r))
    r = h.run(["trust", "list", "--mode", "flow"], home=homes["v"])
    h.check("trust list in flow mode says what the score is",
            "score = flow / capacity" in out(r), out(r))
    r, j = h.run_json(["trust", "explain", X, "--mode", "flow", "--json"], home=homes["v"])
    h.check("trust explain --mode flow: score = flow / capacity",
            r.returncode == 0 and j["mode"] == "flow" and j["found"] and
            abs(j["score"] - j["flow"] / j["capacity"]) < 1e-12, out(r) + err(r))
    r = h.run(["trust", "explain", X, "--mode", "flow"], home=homes["v"])
    h.check("flow mode says why a nearer identity can score less",
            "not a best-path score" in out(r), out(r))
    r = h.run(["trust", "block", ids["c"]], home=homes["v"])
    r, j = h.run_json(["trust", "explain", C, "--json"], home=homes["v"])
    h.check("explain of a blocked identity: why blocked, exit 1",
            r.returncode == 1 and j and j["found"] is False and j["why"] == "blocked", out(r))


def times():
    r, j = h.run_json(["trust", "list", "--at", "2024-01-01", "--json"], home=homes["v"])
    h.check("--at 2024-01-01", r.returncode == 0 and j["at"] == 1704067200, out(r) + err(r))
    r, j = h.run_json(["trust", "list", "--at", "2026-01-01T10:00:00Z", "--json"],
                      home=homes["v"])
    h.check("--at 2026-01-01T10:00:00Z", r.returncode == 0 and j["at"] == 1767261600, out(r))
    r, j = h.run_json(["trust", "list", "--at", "2026-01-01T12:00:00+02:00", "--json"],
                      home=homes["v"])
    h.check("--at with an offset", r.returncode == 0 and j["at"] == 1767261600, out(r))
    r, j = h.run_json(["trust", "list", "--at", "30d ago", "--json"], home=homes["v"])
    h.check("--at '30d ago'", r.returncode == 0 and j["at"] == NOW - 30 * 86400, out(r))
    r, j = h.run_json(["metrics", "--at", "2 weeks ago", "--json"], home=homes["v"])
    h.check("metrics --at '2 weeks ago'", r.returncode == 0 and j["at"] == NOW - 14 * 86400,
            out(r) + err(r))
    for bad in ["yesterday", "2026-02-31", "2026-13-01", "-5"]:
        r = h.run(["trust", "list", "--at", bad], home=homes["v"])
        h.check("--at %r refused naming the forms" % bad,
                r.returncode == 2 and "30d ago" in err(r), err(r))
    body = h.path("l.md")
    with open(body, "w") as f:
        f.write("text\n")
    r = h.run(["lesson", "publish", "--topic", "t", "--title", "Prefixes", body],
              home=homes["v"])
    lid = out(r).split()[-1]
    r = h.run(["log", "show"], home=homes["v"])
    lines = out(r).splitlines()
    h.check("log show: a header row and local times with the zone",
            lines and lines[0].split()[:4] == ["ID", "ISSUER", "SEQ", "TYPE"] and
            "2025-06-15 15:06:40 UTC" in out(r), out(r)[:400])
    r, j = h.run_json(["log", "show", "--json"], home=homes["v"])
    h.check("log show --json: ts and ts_iso", j and all(
        s["ts_iso"] == "2025-06-15T15:06:40Z" and s["statement"]["ts"] == NOW
        for s in j["statements"]), out(r)[:300])
    r = h.run(["lesson", "list"], home=homes["v"])
    h.check("lesson list: a header row", out(r).splitlines()[0].split() ==
            ["ID", "AUTHOR", "TIME", "TITLE"] and "Prefixes" in out(r), out(r))
    r = h.run(["lesson", "show", lid[:8]], home=homes["v"])
    h.check("lesson show by an 8-character prefix", r.returncode == 0 and "Prefixes" in out(r),
            out(r) + err(r))
    r = h.run(["lesson", "show", lid[:6]], home=homes["v"])
    h.check("a 6-character prefix is refused", r.returncode == 2 and "8 or more" in err(r),
            err(r))
    r = h.run(["lesson", "show", "0" * 12], home=homes["v"])
    h.check("an unknown prefix fails", r.returncode == 1 and "no lesson" in err(r), err(r))


def ids_and_commands():
    # a Node ID with its last character changed
    typo = A[:-1] + ("B" if A[-1] != "B" else "C")
    r = h.run(["trust", "add", typo, "--level", "limited"], home=homes["v"])
    h.check("trusting a never-seen ID warns, naming the closest known one",
            r.returncode == 0 and "never seen" in err(r) and A in err(r), err(r))
    r = h.run(["trust", "add", A, "--level", "full"], home=homes["v"])
    h.check("no warning for a known ID", "never seen" not in err(r), err(r))
    r = h.run(["help", "trust"], home=homes["v"])
    h.check("mesh help trust: the trust family's help",
            r.returncode == 0 and "usage: mesh trust <command>" in out(r) and "explain" in out(r),
            out(r))
    r = h.run(["help", "trust", "explain"], home=homes["v"])
    h.check("mesh help trust explain", r.returncode == 0 and
            "usage: mesh trust explain" in out(r), out(r))
    # on a terminal, `mesh help trust` opens the man page when man knows it
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "man",
                       "mesh-trust.1.scd")
    mandir = h.path("man")
    os.makedirs(os.path.join(mandir, "man1"))
    with open(src, "rb") as f:
        page = subprocess.run(["scdoc"], input=f.read(), stdout=subprocess.PIPE, check=True)
    with open(os.path.join(mandir, "man1", "mesh-trust.1"), "wb") as f:
        f.write(page.stdout)
    env = dict(h.env, MANPATH=mandir, MANPAGER="cat", PAGER="cat", MANWIDTH="80")
    t = subprocess.run(["script", "-qec", "%s --home %s help trust" % (h.mesh, homes["v"]),
                        "/dev/null"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       env=env, timeout=60)
    text = t.stdout.decode(errors="replace").replace("\x08", "")
    h.check("mesh help trust on a terminal opens mesh-trust(1)",
            "mesh-trust(1)" in text and "explain" in text, text[:300])
    r = h.run(["trsut"], home=homes["v"])
    h.check("mesh trsut: did you mean trust", r.returncode == 2 and "did you mean `trust`" in
            err(r), err(r))
    r = h.run(["trust", "lsit"], home=homes["v"])
    h.check("mesh trust lsit: did you mean trust list",
            r.returncode == 2 and "did you mean `trust list`" in err(r), err(r))
    # scopes
    trust("v", "a", "--level", "full", "--scope", "coop:food", "--note", "grows beans")
    r = h.run(["trust", "add", A, "--level", "full", "--note", "an old friend"], home=homes["v"])
    r, j = h.run_json(["trust", "scopes", "--json"], home=homes["v"])
    h.check("trust scopes", r.returncode == 0 and
            [s["scope"] for s in j["scopes"]] == ["coop:food", "global"], out(r))
    r = h.run(["trust", "list", "--scope", "coop:fod"], home=homes["v"])
    h.check("a mistyped scope: a hint naming the closest",
            r.returncode == 0 and "no trust edge names scope coop:fod" in err(r) and
            "did you mean coop:food" in err(r), err(r))
    # notes belong to one scope
    r, j = h.run_json(["trust", "list", "--json"], home=homes["v"])
    na = {x["node_id"]: x["note"] for x in j["results"]}
    r, k = h.run_json(["trust", "list", "--scope", "coop:food", "--json"], home=homes["v"])
    nf = {x["node_id"]: x["note"] for x in k["results"]}
    h.check("a note for one scope is shown in that scope only",
            na.get(A) == "an old friend" and nf.get(A) == "grows beans", (na, nf))
    h.check("floats print short: 0.8 not 0.80000000000000004",
            '"score":0.8,' in out(h.run(["trust", "list", "--json"], home=homes["v"])) or
            "0.8" in out(r), out(r))
    r = h.run(["trust", "list", "--json"], home=homes["v"])
    h.check("no 17-digit floats in --json",
            not re.search(r"[:,\[]-?[0-9]+\.[0-9]{12,}", out(r)), out(r))
    # config
    r = h.run(["config", "set", "trust.maxDepth", "30"], home=homes["v"])
    h.check("config error names the key once", r.returncode == 2 and
            err(r).count("trust.maxDepth") == 1, err(r))
    r = h.run(["config", "set", "metrics.capDecay", "0"], home=homes["v"])
    h.check("metrics.capDecay 0 refused", r.returncode == 2 and "(0, 1]" in err(r), err(r))
    r = h.run(["config", "set", "trust.maxDepth", "3"], home=homes["v"])
    r = h.run(["config", "unset", "trust.maxDepth"], home=homes["v"])
    r2 = h.run(["config", "get", "trust.maxDepth"], home=homes["v"])
    h.check("config unset: back to the default", r.returncode == 0 and out(r2).strip() == "2",
            err(r) + out(r2))
    r = h.run(["config", "unset", "no.such"], home=homes["v"])
    h.check("config unset of an unknown key", r.returncode == 2, err(r))


def sim_output():
    r = h.run(["sim", "--help"])
    h.check("mesh sim --help names attack and govern", r.returncode == 0 and
            "attack" in out(r) and "govern" in out(r), out(r))
    # a tiny konect graph: the table on a terminal is aligned columns, not Markdown
    g = h.path("tiny.konect")
    with open(g, "w") as f:
        f.write("% sym unweighted\n")
        for a in range(1, 30):
            f.write("%d %d 1\n%d %d 1\n" % (a, a + 1, a + 1, (a * 7) % 30 + 1))
    md = h.path("tiny.md")
    r = h.run(["sim", "attack", "--graph", g, "--format", "konect", "--k", "1",
               "--sybils", "10", "--viewpoints", "3", "--depths", "2", "--seed", "1",
               "--markdown", md], timeout=120)
    with open(md) as f:
        text = f.read()
    h.check("sim attack: aligned columns on stdout, Markdown only in --markdown",
            r.returncode == 0 and "|---" not in out(r) and "bp-sybils" in out(r) and
            "|---:|" in text, out(r) + err(r))


def passphrase():
    E = h.path("enc")
    pw = h.path("pw")
    with open(pw, "w") as f:
        f.write("correct horse\n")
    h.init(E, extra=["--passphrase-file", pw])
    r = h.run(["trust", "add", A, "--level", "full"], home=E, env={"MESH_PASSPHRASE_FILE": ""})
    h.check("an empty MESH_PASSPHRASE_FILE is named", r.returncode == 1 and
            "MESH_PASSPHRASE_FILE is set but empty" in err(r) and "mesh: : " not in err(r),
            err(r))


h.guard("web", web)
h.guard("explain", explain)
h.guard("times", times)
h.guard("ids_and_commands", ids_and_commands)
h.guard("sim_output", sim_output)
h.guard("passphrase", passphrase)
h.finish()
