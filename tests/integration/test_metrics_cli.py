"""mesh metrics / bridge / policy from the command line: SPEC §4 numbers on a
hand-checked web, --members restricted to a community, the gini alert, the
policy decision tiers, declared and undeclared bridges, bad policy files."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402

h = Harness(sys.argv)
NOW = "1800000000"
env = {"MESH_NOW": NOW}
homes = {n: h.path(n) for n in "VABCX"}
ids = {}
for n, home in homes.items():
    h.init(home)
    ids[n] = h.node_id(home)


class Out:
    def __init__(self, r):
        self.returncode = r.returncode
        self.stdout = r.stdout.decode()
        self.stderr = r.stderr.decode()


def run(n, *args, code=0):
    r = Out(h.run(list(args), home=homes[n], env=env))
    h.check(f"{n}: mesh {' '.join(args)[:60]} exits {code}", r.returncode == code,
            r.stderr[-300:] if r.returncode != code else "")
    return r


# Web in coop:x: V, A, B trust C; C trusts V; X (outsider) trusts C too.
for n in "VABX":
    run(n, "trust", "add", ids["C"], "--level", "full", "--scope", "coop:x")
run("C", "trust", "add", ids["V"], "--level", "limited", "--score", "0.5", "--scope", "coop:x")
run("V", "trust", "add", ids["A"], "--level", "full", "--score", "0.8")  # global: V->A 0.8
for n in "ABCX":
    exp = h.run(["log", "export"], home=homes[n]).stdout
    r = h.run(["log", "import", "-"], home=homes["V"], stdin=exp, env=env)
    h.check(f"import {n}'s feed", r.returncode == 0, r.stderr.decode())

m = json.loads(run("V", "metrics", "--scope", "coop:x", "--json", "--per-node").stdout)
# inbound: C = 4 (V,A,B,X), V = 0.5; nodes = V,A,B,C,X
h.check("node_count 5", m["node_count"] == 5, m)
h.check("total inbound 4.5", abs(m["total_inbound_trust"] - 4.5) < 1e-12, m)
xs = sorted([0, 0, 0, 0.5, 4.0])
g = 2 * sum((i + 1) * x for i, x in enumerate(xs)) / (5 * sum(xs)) - 6 / 5
h.check("gini by the SPEC formula", abs(m["gini"] - g) < 1e-12, (m["gini"], g))
h.check("top 10% share = C's share", abs(m["top_10_percent_share"] - 4.0 / 4.5) < 1e-12, m)
h.check("alert present (gini over 0.7)", isinstance(m["alert"], str) and "0.7" in m["alert"], m["alert"])
h.check("digest equals log head", m["digest"] == h.head(homes["V"])[0], m["digest"])
bc = {x["node_id"]: x["betweenness"] for x in m["nodes"]}
# Shortest paths through C: {V,A,B,X} -> C -> V: A->V, B->V, X->V pass through C.
h.check("betweenness of C is 3", bc[ids["C"]] == 3.0, bc)
h.check("human output has an ALERT line",
        "ALERT: scope coop:x is too centralised: gini" in
        run("V", "metrics", "--scope", "coop:x").stdout)

# A community of V, A, C: --members drops B's and X's edges.
run("V", "community", "create", "coop:x", "--founders", f"{ids['V']},{ids['A']},{ids['C']}")
mm = json.loads(run("V", "metrics", "--scope", "coop:x", "--members", "--json", "--per-node").stdout)
h.check("--members: 3 nodes", mm["node_count"] == 3, mm)
h.check("--members: inbound 2.5 (V->C, A->C, C->V)", abs(mm["total_inbound_trust"] - 2.5) < 1e-12, mm)
h.check("--members flagged in JSON", mm.get("members_only") is True, mm)
run("V", "metrics", "--scope", "coop:nope", "--members", code=1)

# Policy: A at 0.8 in global -> tier 1; C untrusted in global -> deny.
p = json.loads(run("V", "policy", "eval", "--peer", ids["A"], "--json").stdout)
h.check("policy: A allowed at 200/s burst 50",
        p["allow"] and p["rate_limit"]["per_second"] == 200 and p["rate_limit"]["burst"] == 50, p)
p = json.loads(run("V", "policy", "eval", "--peer", ids["B"], "--json").stdout)
h.check("policy: B untrusted in global -> deny", not p["allow"] and "untrusted" in p["reason"], p)
p = json.loads(run("V", "policy", "eval", "--peer", ids["C"], "--scope", "coop:x", "--json").stdout)
h.check("policy: C in coop:x tier 1", p["allow"] and p["tier"] == 1, p)
run("V", "config", "set", "policy.enforceGini", "on")
p = json.loads(run("V", "policy", "eval", "--peer", ids["C"], "--scope", "coop:x", "--json").stdout)
h.check("policy: enforceGini denies in a concentrated scope",
        not p["allow"] and "gini" in p["reason"], p)
run("V", "config", "set", "policy.enforceGini", "off")

# Bridge: C declared bridge -> one tier lower.
run("C", "bridge", "declare", "--scopes", "coop:x,global")
r = h.run(["log", "import", "-"], home=homes["V"], stdin=h.run(["log", "export"], home=homes["C"]).stdout, env=env)
p = json.loads(run("V", "policy", "eval", "--peer", ids["C"], "--scope", "coop:x", "--json").stdout)
h.check("policy: declared bridge C lowered to tier 2", p["allow"] and p["tier"] == 2 and p["bridge"], p)
b = json.loads(run("V", "bridge", "list", "--json").stdout)
h.check("bridge list: C declared", b["declared"].get(ids["C"]) == ["coop:x", "global"], b)
h.check("bridge list: A undeclared with trust in coop:x only is not listed", ids["A"] not in b["undeclared"], b)
run("V", "bridge", "declare", "--scopes", "coop:x", code=2)
run("V", "bridge", "declare", "--scopes", "coop:x,Bad Scope", code=2)

# Bad policy files are refused with line and reason; the effective policy stays.
bad = h.path("bad.toml")
with open(bad, "w") as f:
    f.write("max_gini = 0.7\n[[tier]]\nmin_score = 0.2\nper_second = 10\nburst = 2\n"
            "[[tier]]\nmin_score = 0.9\nper_second = -5\nburst = 1\n")
r = run("V", "policy", "check", bad, code=1)
h.check("bad policy names file:line", f"{bad}:" in r.stderr, r.stderr)
with open(os.path.join(homes["V"], "policy.toml"), "w") as f:
    f.write("colour = 1\n")
r = run("V", "policy", "show", code=1)
h.check("unknown key refused with its name", "colour" in r.stderr, r.stderr)
os.unlink(os.path.join(homes["V"], "policy.toml"))
for fam in ("metrics", "bridge", "policy", "lesson", "search", "community", "pot", "graph", "node", "peer", "sync"):
    r = h.run([fam, "--help"], home=homes["V"])
    h.check(f"mesh {fam} --help exits 0", r.returncode == 0, r.stderr)
h.finish()
