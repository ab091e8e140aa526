#!/usr/bin/python3
"""Three homes exchange the statements of a community; `mesh community members`
and `mesh pot status` agree byte for byte (--json). Also checks that refused
moves issue nothing and name their rule, and that `mesh sim pot` holds the
SPEC §6 bound. Usage: test_pot_homes.py MESH_BINARY. Prints "N passed, N failed"."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

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


def run(home, args, now, stdin=None):
    env = dict(os.environ)
    env.pop("MESH_PASSPHRASE_FILE", None)
    env["MESH_NOW"] = str(now)
    env["HOME"] = TMP
    env["LC_ALL"] = "C"
    cmd = [MESH] + (["--home", home] if home else []) + args
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, timeout=120)


def ok(home, args, now):
    r = run(home, args, now)
    if r.returncode != 0:
        raise RuntimeError("mesh %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                         r.stderr.decode(errors="replace")))
    return r.stdout


def exchange(homes, now):
    dumps = [ok(h, ["log", "export"], now) for h in homes]
    for h in homes:
        for d in dumps:
            r = run(h, ["log", "import", "-"], now, stdin=d)
            if r.returncode != 0:
                raise RuntimeError("import failed: %s" % r.stderr.decode(errors="replace"))


def count(home, now):
    return json.loads(ok(home, ["log", "head", "--json"], now))["statements"]


def same_everywhere(name, homes, args, now):
    outs = [run(h, args, now) for h in homes]
    codes = [o.returncode for o in outs]
    check(name + " exit 0 everywhere", codes == [0, 0, 0], codes)
    texts = [o.stdout for o in outs]
    check(name + " byte-identical", texts[0] == texts[1] == texts[2],
          "\n".join(t.decode(errors="replace") for t in texts))
    return json.loads(texts[0]) if texts[0] else None


def main():
    homes = [os.path.join(TMP, n) for n in ("a", "b", "c")]
    ids = []
    for h in homes:
        ok(h, ["init"], T0)
        ids.append(json.loads(ok(h, ["id", "--json"], T0))["node_id"])
    a, b, c = homes
    ida, idb, idc = ids
    cand_home = os.path.join(TMP, "d")
    ok(cand_home, ["init"], T0)
    idd = json.loads(ok(cand_home, ["id", "--json"], T0))["node_id"]
    cand2 = os.path.join(TMP, "e")
    ok(cand2, ["init"], T0)
    ide = json.loads(ok(cand2, ["id", "--json"], T0))["node_id"]

    t = T0 + 10
    g = json.loads(ok(a, ["community", "create", "coop:x", "--founders", "%s,%s" % (idb, idc),
                          "--period", "30d", "--credits", "2", "--json"], t))
    check("genesis id printed", len(g["genesis"]) == 64)
    exchange(homes, t)
    m = same_everywhere("members after genesis", homes,
                        ["community", "members", "coop:x", "--json"], t)
    check("founders are the members", m["members"] == sorted([ida, idb, idc]), m)
    check("members json names the genesis", m["genesis"] == g["genesis"] and m["scope"] == "coop:x")

    # A opens for D with B; both cooperate.
    t += 10
    op = json.loads(ok(a, ["pot", "open", "--scope", "coop:x", "--candidate", idd, "--with", idb,
                           "--deadline", "3d", "--json"], t))
    rnd = op["round"]
    check("open prints a round id", len(rnd) == 64)
    # a second open by A in the same period is refused and issues nothing
    before = count(a, t)
    r = run(a, ["pot", "open", "--scope", "coop:x", "--candidate", ide, "--with", idc], t + 1)
    check("second stake refused (exit 1)", r.returncode == 1, r.returncode)
    check("second stake names the rule", b"one stake per member per period" in r.stderr, r.stderr)
    check("refused move issued nothing", count(a, t + 1) == before)
    # a candidate already a member is refused
    r = run(c, ["pot", "open", "--scope", "coop:x", "--candidate", ida, "--with", idb], t + 1)
    check("member candidate refused", r.returncode == 1 and b"already a member" in r.stderr,
          r.stderr)
    exchange(homes, t + 2)
    ok(b, ["pot", "commit", rnd, "cooperate"], t + 20)
    nonce_file = os.path.join(b, "pot", rnd + ".nonce")
    check("nonce kept 0600", os.path.exists(nonce_file) and
          (os.stat(nonce_file).st_mode & 0o777) == 0o600)
    ok(a, ["pot", "commit", rnd, "cooperate"], t + 21)
    r = run(a, ["pot", "reveal", rnd], t + 22)
    check("reveal before both commits held is refused", r.returncode == 1 and
          b"both commits" in r.stderr, r.stderr)
    exchange(homes, t + 30)
    st = same_everywhere("status mid-round", homes, ["pot", "status", rnd, "--json"], t + 30)
    check("stage is reveal", st["stage"] == "reveal", st)
    ok(a, ["pot", "reveal", rnd], t + 40)
    ok(b, ["pot", "reveal", rnd], t + 41)
    check("nonce removed after reveal", not os.path.exists(nonce_file))
    exchange(homes, t + 50)
    st = same_everywhere("status resolved", homes, ["pot", "status", rnd, "--json"], t + 50)
    for k in ("round", "stage", "outcome", "penalties", "credits"):
        check("status has %s" % k, k in st, st)
    check("both cooperated -> admitted", st["outcome"] == "admitted" and st["stage"] == "resolved",
          st)
    m = same_everywhere("members after admission", homes,
                        ["community", "members", "coop:x", "--json"], t + 50)
    check("candidate admitted", idd in m["members"] and m["members"] == sorted(m["members"]), m)

    # Next round: C opens for E with B after B's stake ended; C defects, B cooperates.
    t2 = T0 + 31 * 86400
    op = json.loads(ok(c, ["pot", "open", "--scope", "coop:x", "--candidate", ide, "--with",
                           idb, "--json"], t2))
    r2 = op["round"]
    exchange(homes, t2 + 1)
    ok(c, ["pot", "commit", r2, "defect"], t2 + 2)
    ok(b, ["pot", "commit", r2, "cooperate"], t2 + 3)
    exchange(homes, t2 + 4)
    ok(c, ["pot", "reveal", r2], t2 + 5)
    ok(b, ["pot", "reveal", r2], t2 + 6)
    exchange(homes, t2 + 7)
    st = same_everywhere("status after defection", homes, ["pot", "status", r2, "--json"], t2 + 7)
    check("opener defected", st["outcome"] == "opener-defected", st)
    check("cooperator penalised with the rule", any(
        p["member"] == idb and "cooperated while" in p["reason"] for p in st["penalties"]), st)
    check("defector holds 2 credits", st["credits"].get(idc, [{}])[0].get("remaining") == 2, st)
    # B, penalised, cannot open
    r = run(b, ["pot", "open", "--scope", "coop:x", "--candidate", ide, "--with", ida],
            t2 + 15)
    check("penalised member refused with reason",
          r.returncode == 1 and b"is penalised until" in r.stderr and b"cooperated while" in
          r.stderr, r.stderr)
    # C claims E, then tries beyond its credits
    ok(c, ["pot", "claim", r2, "--candidate", ide], t2 + 10)
    r = run(b, ["pot", "claim", r2, "--candidate", ide], t2 + 11)
    check("cooperator cannot claim", r.returncode == 1 and b"earned no credits" in r.stderr,
          r.stderr)
    exchange(homes, t2 + 20)
    m = same_everywhere("members after claim", homes,
                        ["community", "members", "coop:x", "--json"], t2 + 20)
    check("claimed candidate admitted", ide in m["members"], m)
    same_everywhere("status of all rounds", homes, ["pot", "status", "--json"], t2 + 20)

    # A conflicting genesis for the same label is reported, not merged.
    ok(b, ["community", "create", "coop:x", "--founders", idb], t2 + 30)
    exchange(homes, t2 + 31)
    lst = json.loads(ok(a, ["community", "list", "--json"], t2 + 31))["communities"]
    check("two geneses listed for coop:x", len([x for x in lst if x["scope"] == "coop:x"]) == 2,
          lst)
    check("conflicts reported", all(x["conflicts"] == 1 for x in lst), lst)
    m = same_everywhere("members with a conflict", homes,
                        ["community", "members", "coop:x", "--json"], t2 + 31)
    check("label stays on the first genesis", m["genesis"] == g["genesis"] and
          len(m["conflicts"]) == 1, m)

    # help and usage
    for fam in (["community", "create"], ["pot", "open"], ["pot", "status"], ["sim", "pot"]):
        r = run(a, fam + ["--help"], t2)
        check("%s --help exits 0" % " ".join(fam), r.returncode == 0, r.returncode)
    r = run(a, ["pot", "commit", r2, "maybe"], t2)
    check("bad choice is a usage error", r.returncode == 2, r.returncode)

    # the simulation holds the bound
    r = run(None, ["sim", "pot", "--members", "8", "--periods", "5", "--strategy", "mixed",
                   "--seed", "3", "--json"], T0)
    check("sim exits 0", r.returncode == 0, r.stderr)
    if r.returncode == 0:
        j = json.loads(r.stdout)
        check("sim reports every period", len(j["periods"]) == 5, j)
        check("sim bound ok", all(p["ok"] and p["created"] <= p["bound"] for p in j["periods"]), j)


if __name__ == "__main__":
    if not MESH:
        print("usage: test_pot_homes.py MESH_BINARY", file=sys.stderr)
        sys.exit(2)
    TMP = tempfile.mkdtemp(prefix="mesh-pot-")
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any error is a failure
        import traceback
        traceback.print_exc(file=sys.stdout)
        check("test raised", False, "%s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)
