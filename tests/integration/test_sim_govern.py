#!/usr/bin/python3
"""`mesh sim govern` (issue #17 point 4): determinism for a seed, grids computed
by hand from the SPEC §9.3 rule and the SPEC §6 bound, and the cross-check of
the model against the real derivation (--verify: signed statements judged by
mt_pot_derive and mt_gov_derive) for small communities.
Usage: test_sim_govern.py MESH_BINARY. Prints "N passed, N failed"."""
import json
import os
import subprocess
import sys

MESH = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
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


def run(args):
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    return subprocess.run([MESH, "sim", "govern"] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=300)


def jrun(args):
    r = run(args + ["--json"])
    try:
        return r, json.loads(r.stdout)
    except ValueError:
        return r, None


def grid(run_obj):
    """{(quorum, threshold): [periods per turnout]}"""
    return {(c["quorum"], c["threshold"]): c["periods"] for c in run_obj["grid"]}


def main():
    # --- determinism -------------------------------------------------------
    args = ["--members", "100", "--honest-rate", "150", "--periods", "24"]
    a = run(args + ["--seed", "7", "--json"])
    b = run(args + ["--seed", "7", "--json"])
    check("same seed: same bytes (json)", a.returncode == 0 and a.stdout == b.stdout and a.stdout,
          a.stderr)
    a = run(args + ["--seed", "7"])
    b = run(args + ["--seed", "7"])
    check("same seed: same bytes (text)", a.returncode == 0 and a.stdout == b.stdout)
    outs = {run(args + ["--seed", str(s), "--json"]).stdout for s in range(1, 6)}
    check("the seed matters (honest admissions' fractions drawn from it)", len(outs) > 1)

    # --- by hand: 10 founders, 2 colluders, honest admit nobody, credits 2 ---
    # colluders 2,4,8,16,32,…: one pair D/C → 2 claims per pair; honest stay 8.
    # honest vote no: pass iff c*1000 >= thr*(c+8): thr 500 → c=8 (period 2),
    # 666 → c=16 (period 3; 8 gives 8000 < 10656), 1000 → never.
    # honest abstain: pass iff c*1000 >= q*(c+8): q 100 → c=2 (period 0),
    # 500 → c=8 (period 2), 1000 → never.
    r, j = jrun(["--members", "10", "--minority", "200", "--honest-rate", "0", "--periods", "6",
                 "--quorum", "100,500,1000", "--threshold", "500,666,1000",
                 "--turnout", "1000,0"])
    check("hand case runs", r.returncode == 0 and j, r.stderr)
    run0 = j["runs"][0]
    check("hand case: 2 colluders, 8 honest", run0["colluders"] == 2 and run0["honest"] == 8)
    check("hand case: colluders double, honest stay",
          [g["colluders"] for g in run0["growth"]] == [2, 4, 8, 16, 32, 64, 128]
          and {g["honest"] for g in run0["growth"]} == {8}, run0["growth"])
    want = {}
    for q, ab in ((100, 0), (500, 2), (1000, None)):
        for t, no in ((500, 2), (666, 3), (1000, None)):
            want[(q, t)] = [no, ab]
    check("hand case: the grid", grid(run0) == want, grid(run0))
    check("threshold 1000: never while the honest vote no",
          all(v[0] is None for (q, t), v in grid(run0).items() if t == 1000))
    check("quorum 1000: never while the honest abstain",
          all(v[1] is None for (q, t), v in grid(run0).items() if q == 1000))

    # half the honest vote no: no = 4, cast = c+4, voters c+8; quorum 750 needs
    # c >= 8, threshold 666 needs 334c >= 2664, c >= 8 → period 2.
    r, j = jrun(["--members", "10", "--minority", "200", "--honest-rate", "0", "--periods", "6",
                 "--quorum", "750", "--threshold", "666", "--turnout", "500"])
    check("half turnout, quorum 750, threshold 666: period 2",
          r.returncode == 0 and grid(j["runs"][0]) == {(750, 666): [2]}, r.stdout)

    # credits 1: both cooperate, one Sybil per pair: 3,4,6,9,13,19; honest
    # rate 1000: every honest pair admits one: 6,9,13,19,28,42.
    r, j = jrun(["--members", "9", "--minority", "333", "--credits", "1", "--honest-rate",
                 "1000", "--periods", "5"])
    g = j["runs"][0]["growth"] if j else []
    check("credits 1: one Sybil per colluding pair",
          [x["colluders"] for x in g] == [3, 4, 6, 9, 13, 19], g)
    check("honest rate 1000: every honest pair admits one",
          [x["honest"] for x in g] == [6, 9, 13, 19, 28, 42], g)

    # a lone colluder cannot pair: it never grows
    r, j = jrun(["--members", "20", "--minority", "50", "--honest-rate", "0", "--periods", "5",
                 "--quorum", "500", "--threshold", "666"])
    g = j["runs"][0]["growth"] if j else []
    check("a lone colluder admits nobody and never passes with honest voting no",
          {x["colluders"] for x in g} == {1} and grid(j["runs"][0])[(500, 666)][0] is None, g)

    # --- cross-check against the real derivation ---------------------------
    cases = [
        ["--members", "10", "--minority", "200", "--honest-rate", "0", "--periods", "6"],
        ["--members", "10", "--minority", "200", "--honest-rate", "0", "--periods", "5",
         "--verify-threshold", "1000"],
        # ties: 4 yes of 8 cast, 8 of 16 — passes at threshold 500 (>=, not >)
        ["--members", "10", "--minority", "200", "--honest-rate", "0", "--periods", "3",
         "--verify-threshold", "500"],
        ["--members", "12", "--minority", "250,500", "--honest-rate", "500", "--periods", "5",
         "--seed", "3"],
        ["--members", "9", "--minority", "333", "--credits", "1", "--honest-rate", "1000",
         "--periods", "5"],
        ["--members", "15", "--minority", "200", "--credits", "3", "--honest-rate", "300",
         "--periods", "4", "--verify-quorum", "250", "--verify-threshold", "500"],
        ["--members", "7", "--minority", "400", "--periods", "5", "--verify-quorum", "1000",
         "--turnout", "1000,0,300"],
    ]
    for c in cases:
        r, j = jrun(c + ["--verify"])
        ok = r.returncode == 0 and j is not None
        detail = r.stderr.decode(errors="replace")
        for ru in (j["runs"] if j else []):
            v = ru.get("verify", {})
            nprop = (ru["periods_simulated"] + 1) * len(j["turnouts"])
            if v.get("mismatches") != 0 or v.get("proposals") != nprop:
                ok = False
                detail = v
        check("--verify: the real derivation gives the model's voters, tallies, outcomes (%s)"
              % " ".join(c), ok, detail)
    # the outcomes the derivation checked include passes and failures
    r, j = jrun(cases[0] + ["--verify", "--quorum", "500", "--threshold", "666"])
    per = grid(j["runs"][0])[(500, 666)] if j else None
    check("--verify case has both outcomes (passes from period 3 with honest no)",
          per == [3, 2, 2], per)

    # --- interface ---------------------------------------------------------
    r = run(["--help"])
    check("--help", r.returncode == 0 and b"usage: mesh sim govern" in r.stdout)
    r = run(["--quorum", "0"])
    check("--quorum 0: usage error naming it", r.returncode == 2 and b"--quorum" in r.stderr)
    r = run(["--threshold", "400"])
    check("--threshold below 500: usage error", r.returncode == 2 and b"--threshold" in r.stderr)
    r = run(["--members", "1000", "--periods", "12", "--verify"])
    check("--verify on a large community: usage error naming the limit",
          r.returncode == 2 and b"--verify" in r.stderr, r.stderr)
    r = run(["--members", "10", "--minority", "200", "--honest-rate", "0", "--periods", "6",
             "--quorum", "100,500,1000", "--threshold", "500,666,1000", "--turnout", "1000,0"])
    t = r.stdout.decode()
    check("text: a grid per minority with '-' for never",
          r.returncode == 0 and "quorum\\threshold" in t and "minority 20.0%" in t
          and " -/-" in t and "3/2" in t, t)


if __name__ == "__main__":
    if not MESH:
        print("usage: test_sim_govern.py MESH_BINARY", file=sys.stderr)
        sys.exit(2)
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any error is a failure
        import traceback
        traceback.print_exc(file=sys.stdout)
        check("test raised", False, "%s: %s" % (type(e).__name__, e))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)
