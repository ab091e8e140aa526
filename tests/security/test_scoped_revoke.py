"""A revoke acts in its own scope only (SPEC §2 revoke: "removes that edge",
the edge being (iss, target, scope); §3.1 scope isolation). A trusts B in
coop:food and in topic:cooking, B trusts C in both, then A revokes B in
coop:food only. In coop:food, B and C (reached through B) are gone; in
topic:cooking both stay. The same holds for the live edges, for the `--at`
replay before and after the revoke, and after `mesh store rebuild`.
CLI only; MESH_NOW fixes the clock of each command.
Usage: test_scoped_revoke.py MESH BENCH_INGEST"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from mtharness import Harness  # noqa: E402

h = Harness(sys.argv)
T0 = 1700000000
FOOD, COOK = "coop:food", "topic:cooking"


def at(t):
    return {"MESH_NOW": str(t)}


def ok(home, args, t, what):
    r = h.run(args, home=home, env=at(t))
    h.check(what, r.returncode == 0, r.stderr.decode(errors="replace")[-300:])
    return r


def listed(home, scope, t=None, when=None):
    """Node IDs in `mesh trust list --scope S [--at T] --json` (None on error)."""
    args = ["trust", "list", "--scope", scope, "--json"] + (["--at", str(t)] if t else [])
    r, j = h.run_json(args, home=home, env=at(when or T0 + 100))
    if r.returncode != 0 or not j:
        h.check("trust list %s %s" % (scope, t), False, r.stderr.decode(errors="replace"))
        return None
    h.check("trust list answers for scope %s" % scope, j.get("scope") == scope, j)
    return {e["node_id"]: e for e in j["results"]}


def path(home, target, scope, t=None):
    args = ["trust", "path", target, "--scope", scope, "--json"] + (["--at", str(t)] if t else [])
    r, j = h.run_json(args, home=home, env=at(T0 + 100))
    # exit 0 when a path is found, 1 when not (with the reason in the JSON)
    h.check("trust path %s answers" % scope,
            j is not None and r.returncode == (0 if j.get("found") else 1),
            (r.returncode, r.stderr.decode(errors="replace")))
    return j or {}


def check_state(a, idb, idc, label, t=None):
    """After the revoke: coop:food has neither B nor C, topic:cooking both."""
    food, cook = listed(a, FOOD, t), listed(a, COOK, t)
    if food is None or cook is None:
        return
    h.check("%s: B is gone from coop:food" % label, idb not in food, sorted(food))
    h.check("%s: C (through B) is gone from coop:food" % label, idc not in food, sorted(food))
    h.check("%s: B is still trusted in topic:cooking" % label,
            idb in cook and cook[idb]["level"] == "full" and cook[idb]["hops"] == 1
            and abs(cook[idb]["score"] - 0.8) < 1e-9, cook.get(idb))
    h.check("%s: C is still reached through B in topic:cooking" % label,
            idc in cook and cook[idc]["hops"] == 2 and cook[idc]["via"] == idb, cook.get(idc))
    p = path(a, idc, COOK, t)
    h.check("%s: the topic:cooking path A->B->C is found" % label,
            p.get("found") is True and [e["to"] for e in p.get("path", [])] == [idb, idc]
            and all(e["scope"] == COOK for e in p["path"]), p)
    p = path(a, idb, COOK, t)
    h.check("%s: trust path B --scope topic:cooking found" % label, p.get("found") is True, p)
    p = path(a, idb, FOOD, t)
    h.check("%s: no coop:food path to B" % label, p.get("found") is False, p)


def main():
    a, b, c = h.path("a"), h.path("b"), h.path("c")
    h.init(a)
    idb, idc = h.init(b), h.init(c)
    # B trusts C in both scopes; A holds B's feed (a local import takes any issuer).
    ok(b, ["trust", "add", idc, "--level", "full", "--score", "0.9", "--scope", FOOD], T0,
       "B trusts C in coop:food")
    ok(b, ["trust", "add", idc, "--level", "full", "--score", "0.9", "--scope", COOK], T0 + 1,
       "B trusts C in topic:cooking")
    _, lines = h.export_lines(b)
    r = h.run(["log", "import", "-"], home=a, stdin=b"\n".join(lines) + b"\n", env=at(T0 + 2))
    h.check("A imports B's feed", r.returncode == 0, r.stderr.decode(errors="replace"))
    # A trusts B in both scopes, then revokes coop:food only.
    ok(a, ["trust", "add", idb, "--level", "full", "--score", "0.8", "--scope", FOOD], T0,
       "A trusts B in coop:food at t0")
    ok(a, ["trust", "add", idb, "--level", "full", "--score", "0.8", "--scope", COOK], T0 + 10,
       "A trusts B in topic:cooking at t0+10")
    before = listed(a, FOOD)
    h.check("before the revoke: B and C in coop:food",
            before is not None and idb in before and idc in before, before)
    ok(a, ["trust", "remove", idb, "--scope", FOOD], T0 + 20,
       "A revokes B in coop:food at t0+20")
    r = h.run(["trust", "remove", idb, "--scope", FOOD], home=a, env=at(T0 + 21))
    h.check("a second revoke in coop:food is refused: the edge is gone", r.returncode == 1,
            r.stderr.decode(errors="replace"))

    # live edges
    check_state(a, idb, idc, "live")
    # --at replay: between the adds and the revoke both scopes hold B
    t_mid = T0 + 15
    food, cook = listed(a, FOOD, t_mid), listed(a, COOK, t_mid)
    h.check("--at t0+15: B and C in coop:food (revoke not yet issued)",
            food is not None and idb in food and idc in food, food)
    h.check("--at t0+15: B and C in topic:cooking",
            cook is not None and idb in cook and idc in cook, cook)
    p = path(a, idb, FOOD, t_mid)
    h.check("--at t0+15: trust path B --scope coop:food found", p.get("found") is True, p)
    # --at between the two adds: only coop:food existed
    food, cook = listed(a, FOOD, T0 + 5), listed(a, COOK, T0 + 5)
    h.check("--at t0+5: B in coop:food, not yet in topic:cooking",
            food is not None and cook is not None and idb in food and idb not in cook,
            (food, cook))
    # --at after the revoke: same as live
    check_state(a, idb, idc, "--at t0+20", T0 + 20)
    check_state(a, idb, idc, "--at t0+50", T0 + 50)
    # global never held B
    g = listed(a, "global")
    h.check("global holds neither B nor C", g is not None and idb not in g and idc not in g, g)
    # derived tables rebuilt from the statements come out the same
    r = h.run(["store", "rebuild"], home=a, env=at(T0 + 100))
    h.check("mesh store rebuild", r.returncode == 0, r.stderr.decode(errors="replace"))
    check_state(a, idb, idc, "after rebuild")
    check_state(a, idb, idc, "after rebuild, --at t0+30", T0 + 30)


h.guard("scoped revoke", main)
h.finish()
