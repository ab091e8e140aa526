#!/usr/bin/python3
"""Governance across three real homes (SPEC §9.3): a proposal passes (quorum and
threshold met), another fails (quorum missed); a non-member's vote and a vote
after `closes` (both hand-signed with mt-sign, since `mesh` refuses to make
them) have no effect; every home shows the same tally and the same policy in
force; `mesh policy eval` then refuses a peer for the community's new Gini
limit, naming the proposal; an approved bridge keeps its tier, an undeclared
one is lowered. Usage: test_gov_homes.py MESH_BINARY MT_SIGN_BINARY.
Prints "N passed, N failed"."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

MESH = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else None
MT_SIGN = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else os.environ.get("MT_SIGN")
T0 = 1800000000
DAY = 86400
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


def run(home, args, now, stdin=None, exe=None):
    env = dict(os.environ)
    env.pop("MESH_PASSPHRASE_FILE", None)
    env["MESH_NOW"] = str(now)
    env["HOME"] = TMP
    env["LC_ALL"] = "C"
    cmd = [exe or MESH] + (["--home", home] if home else []) + args
    return subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env, timeout=120)


def ok(home, args, now, stdin=None):
    r = run(home, args, now, stdin)
    if r.returncode != 0:
        raise RuntimeError("mesh %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                         r.stderr.decode(errors="replace")))
    return r.stdout


def exchange(homes, now):
    dumps = [ok(h, ["log", "export"], now) for h in homes]
    for h in homes:
        for d in dumps:
            ok(h, ["log", "import", "-"], now, stdin=d)


def same_everywhere(name, homes, args, now):
    outs = [run(h, args, now) for h in homes]
    codes = [o.returncode for o in outs]
    check(name + ": exit 0 everywhere", codes == [0] * len(homes), codes)
    texts = [o.stdout for o in outs]
    check(name + ": byte-identical", all(t == texts[0] for t in texts),
          "\n".join(t.decode(errors="replace") for t in texts))
    return json.loads(texts[0]) if texts[0] else None


def hand_signed(home, node_id, body, ts, now):
    """A statement of `home`'s identity that mesh refuses to make: signed by
    mt-sign after the feed's head, as `home`'s next statement."""
    lines = [l for l in ok(home, ["log", "export", "--iss", node_id], now).splitlines() if l]
    args = ["--home", home, "--seq", str(len(lines) + 1), "--ts", str(ts)]
    if lines:
        args += ["--prev", hashlib.blake2b(lines[-1], digest_size=32).hexdigest()]
    r = subprocess.run([MT_SIGN] + args + [json.dumps(body)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("mt-sign: %s" % r.stderr.decode(errors="replace"))
    line = r.stdout.strip()
    return line, hashlib.blake2b(line, digest_size=32).hexdigest()


def main():
    homes = [os.path.join(TMP, n) for n in ("a", "b", "c")]
    ids = []
    for h in homes:
        ok(h, ["init"], T0)
        ids.append(json.loads(ok(h, ["id", "--json"], T0))["node_id"])
    a, b, c = homes
    ida, idb, idc = ids
    d = os.path.join(TMP, "d")  # not a member
    ok(d, ["init"], T0)
    idd = json.loads(ok(d, ["id", "--json"], T0))["node_id"]
    every = homes + [d]

    t = T0 + 10
    g = json.loads(ok(a, ["community", "create", "coop:g", "--founders", "%s,%s" % (idb, idc),
                          "--json"], t))["genesis"]
    # Trust in coop:g, the same edges seen from every home: inbound b 1, c 2, d 1.
    ok(a, ["trust", "add", idb, "--level", "full", "--scope", "coop:g"], t)
    ok(a, ["trust", "add", idc, "--level", "full", "--scope", "coop:g"], t)
    ok(b, ["trust", "add", idc, "--level", "full", "--scope", "coop:g"], t)
    ok(c, ["trust", "add", idd, "--level", "full", "--scope", "coop:g"], t)
    ok(a, ["trust", "add", idd, "--level", "full", "--scope", "global"], t)  # d: 2 scopes
    exchange(every, t)
    m = json.loads(ok(a, ["metrics", "--scope", "coop:g", "--json"], t))
    gini = m["gini"]
    check("coop:g gini is moderate (under the default 0.7)", 0.05 < gini < 0.7, gini)
    ev = json.loads(ok(a, ["policy", "eval", "--peer", idc, "--scope", "coop:g", "--json"], t))
    check("before any proposal: allowed", ev["allow"] is True, ev)

    # Proposal 1 (A): a Gini limit under the scope's gini, enforced. A and B vote yes.
    t = T0 + 100
    p1 = json.loads(ok(a, ["propose", "--scope", "coop:g", "--set", "max_gini=0.1",
                           "--set", "enforce_gini=on", "--set", "bridges=" + idb,
                           "--closes", "2d", "--json"], t))
    check("propose prints the proposal id", len(p1["proposal"]) == 64, p1)
    check("the CLI writes shares as permille", p1["policy"]["max_gini"] == 100, p1)
    r = run(a, ["propose", "--scope", "coop:g", "--set", "max_gini=0.2"], t + 1)
    check("a second open proposal of A is refused", r.returncode == 1 and
          b"open proposal" in r.stderr, r.stderr)
    r = run(d, ["propose", "--scope", "coop:g", "--set", "max_gini=0.9"], t + 1)
    check("a non-member may not propose", r.returncode == 1 and b"not a member" in r.stderr,
          r.stderr)
    exchange(every, t + 2)
    ok(a, ["vote", p1["proposal"], "yes"], t + 10)
    ok(b, ["vote", p1["proposal"][:12], "yes"], t + 20)  # a unique prefix
    r = run(d, ["vote", p1["proposal"], "yes"], t + 30)
    check("mesh refuses a non-member's vote", r.returncode == 1 and b"not a voter" in r.stderr,
          r.stderr)
    # … so D signs one by hand: it reaches every home and has no effect.
    line, dvote = hand_signed(d, idd, {"type": "vote", "proposal": p1["proposal"],
                                        "choice": "no"}, t + 30, t + 30)
    for h in every:
        ok(h, ["log", "import", "-"], t + 31, stdin=line + b"\n")

    # Proposal 2 (C): only C votes; quorum missed.
    p2 = json.loads(ok(c, ["propose", "--scope", "coop:g", "--set", "max_top10_share=0.2",
                           "--closes", "1d", "--json"], t + 40))
    exchange(every, t + 41)
    ok(c, ["vote", p2["proposal"], "yes"], t + 50)
    exchange(every, t + 60)
    cur = json.loads(ok(a, ["proposal", "show", p1["proposal"], "--json"], t + 60))
    check("p1 open before closes", cur["outcome"] == "open" and cur["tally"]["yes"] == 2, cur)

    # C votes after p1 closes: mesh refuses; a hand-signed one has no effect.
    closes = p1["closes"]
    late_at = closes + 3600
    r = run(c, ["vote", p1["proposal"], "no"], late_at)
    check("mesh refuses a vote after closes", r.returncode == 1 and b"closed" in r.stderr,
          r.stderr)
    line, cvote = hand_signed(c, idc, {"type": "vote", "proposal": p1["proposal"],
                                        "choice": "no"}, late_at, late_at)
    ok(c, ["log", "import", "-"], late_at, stdin=line + b"\n")
    exchange(every, late_at + 1)

    now = late_at + 10
    s1 = same_everywhere("proposal show p1", every, ["proposal", "show", p1["proposal"],
                                                       "--json"], now)
    check("p1 passed", s1["outcome"] == "passed", s1)
    check("p1 tally 2 yes, 0 no, 3 voters",
          s1["tally"] == {"yes": 2, "no": 0, "voters": 3}, s1["tally"])
    check("p1 quorum and threshold from the genesis", s1["quorum"] == 500 and
          s1["threshold"] == 666, s1)
    refused = {v["statement"]: v for v in s1["refused_votes"]}
    check("the non-member's vote had no effect", dvote in refused and
          "not a voter" in refused[dvote]["reason"], s1["refused_votes"])
    check("the vote after closes had no effect", cvote in refused and
          "closed" in refused[cvote]["reason"], s1["refused_votes"])
    check("the late vote is flagged late (by ts: the store keeps no first-seen time)",
          refused.get(cvote, {}).get("late") is True, refused.get(cvote))
    check("policy after p1", s1["policy_after"].get("max_gini") == 100 and
          s1["policy_after"]["sources"]["max_gini"] == p1["proposal"], s1["policy_after"])
    s2 = same_everywhere("proposal show p2", every, ["proposal", "show", p2["proposal"],
                                                       "--json"], now)
    check("p2 failed (quorum missed: 1 of 3)", s2["outcome"] == "failed" and
          s2["tally"]["yes"] == 1, s2)
    lst = same_everywhere("proposal list", every, ["proposal", "list", "--json"], now)
    check("list holds both", sorted(x["proposal"] for x in lst["proposals"]) ==
          sorted([p1["proposal"], p2["proposal"]]), lst)
    text = ok(a, ["proposal", "show", p1["proposal"]], now).decode()
    check("text show: outcome and quorum", "outcome   passed" in text and "quorum" in text, text)

    # The policy in force for coop:g, the same on every home.
    pols = []
    for h in every:
        j = json.loads(ok(h, ["policy", "show", "--scope", "coop:g", "--json"], now))
        pols.append({k: j[k] for k in ("values", "community", "max_gini", "enforce_gini")})
    check("policy in force identical on every home", all(p == pols[0] for p in pols), pols)
    check("max_gini 0.1 from the proposal", pols[0]["max_gini"] == 0.1 and
          p1["proposal"][:16] in pols[0]["values"]["max_gini"]["source"], pols[0])
    check("enforce_gini on", pols[0]["enforce_gini"] is True, pols[0])
    check("failed proposal sets nothing",
          pols[0]["values"]["max_top10_share"]["community"] is None, pols[0])

    # policy eval refuses a peer for the new limit, naming the proposal.
    r = run(a, ["policy", "eval", "--peer", idc, "--scope", "coop:g", "--json"], now)
    ev = json.loads(r.stdout) if r.returncode == 0 else {}
    check("policy eval denies in coop:g", ev.get("allow") is False, ev)
    check("the reason is the Gini limit and names the proposal",
          "gini" in ev.get("reason", "") and p1["proposal"][:16] in ev.get("reason", ""), ev)
    r = run(b, ["policy", "eval", "--peer", idc, "--scope", "global"], now)
    check("global is untouched (no community)", b"too centralised" not in r.stdout, r.stdout)
    # metrics reads the same limit
    m = json.loads(ok(a, ["metrics", "--scope", "coop:g", "--json"], now))
    check("metrics alert at the same max_gini", m["max_gini"] == 0.1 and m["alert"], m)

    # Loosening is refused unless policy.acceptLooser: a local limit of 0.05 is
    # tighter, so it stays and is an override.
    ok(b, ["config", "set", "policy.maxGini", "0.05"], now)
    j = json.loads(ok(b, ["policy", "show", "--scope", "coop:g", "--json"], now))
    check("a tighter local max_gini is kept, shown as an override",
          j["max_gini"] == 0.05 and "max_gini" in j["overrides"], j)
    ok(b, ["config", "set", "policy.acceptLooser", "on"], now)
    j = json.loads(ok(b, ["policy", "show", "--scope", "coop:g", "--json"], now))
    check("with acceptLooser the community value applies", j["max_gini"] == 0.1, j)

    # Bridges: with enforcement off (a later proposal), b is approved and
    # keeps its tier; d, trusted in two scopes without a declaration, drops one.
    p3 = json.loads(ok(b, ["propose", "--scope", "coop:g", "--set", "enforce_gini=off",
                           "--json"], now))
    exchange(every, now + 1)
    for h in homes:
        ok(h, ["vote", p3["proposal"], "yes"], now + 10)
    exchange(every, now + 20)
    after = p3["closes"] + 10
    s3 = json.loads(ok(a, ["proposal", "show", p3["proposal"], "--json"], after))
    check("p3 passed", s3["outcome"] == "passed", s3)
    evb = json.loads(ok(a, ["policy", "eval", "--peer", idb, "--scope", "coop:g", "--json"],
                        after))
    evd = json.loads(ok(a, ["policy", "eval", "--peer", idd, "--scope", "coop:g", "--json"],
                        after))
    check("approved bridge keeps its tier", evb["allow"] and evb["tier"] == 1 and
          evb["approved_bridge"] is True, evb)
    check("undeclared bridge (2 scopes) lowered one tier", evd["allow"] and
          evd["undeclared_bridge"] is True and "one tier lower" in evd["reason"], evd)

    for args in (["propose", "--help"], ["vote", "--help"], ["proposal", "show", "--help"]):
        check("%s exits 0" % " ".join(args), run(a, args, now).returncode == 0)
    r = run(a, ["vote", p1["proposal"], "maybe"], now)
    check("bad choice is a usage error", r.returncode == 2, r.returncode)


if __name__ == "__main__":
    if not MESH or not MT_SIGN:
        sys.exit("usage: test_gov_homes.py MESH MT_SIGN")
    TMP = tempfile.mkdtemp(prefix="mesh-gov-")
    try:
        main()
    except Exception as e:  # report, do not hide
        failed += 1
        print("FAIL exception: %s" % e)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
