#!/usr/bin/python3
"""Writes tests/vectors/governance.json (format: docs/governance.md) from real
homes: `mesh` makes the statements, mt-sign the ones mesh refuses (a
non-member's vote, a vote after closes). The expectations are written here by
hand from SPEC §9.3 and checked against `mesh proposal show` before the file
is written. Usage: gen_governance.py MESH MT_SIGN [OUT]."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

MESH, MT_SIGN = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
OUT = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__),
                                                        "governance.json")
T0 = 1800000000
DAY = 86400
TMP = tempfile.mkdtemp(prefix="mesh-govvec-")


def ok(home, args, now, stdin=None):
    env = dict(os.environ, MESH_NOW=str(now), HOME=TMP, LC_ALL="C")
    env.pop("MESH_PASSPHRASE_FILE", None)
    r = subprocess.run([MESH, "--home", home] + args, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=120)
    if r.returncode != 0:
        raise SystemExit("mesh %s: %s" % (args, r.stderr.decode()))
    return r.stdout


def hand(home, nid, body, ts):
    lines = [l for l in ok(home, ["log", "export", "--iss", nid], ts).splitlines() if l]
    args = ["--home", home, "--seq", str(len(lines) + 1), "--ts", str(ts)]
    if lines:
        args += ["--prev", hashlib.blake2b(lines[-1], digest_size=32).hexdigest()]
    line = subprocess.run([MT_SIGN] + args + [json.dumps(body)], check=True,
                          stdout=subprocess.PIPE).stdout.strip()
    ok(home, ["log", "import", "-"], ts, stdin=line + b"\n")
    return hashlib.blake2b(line, digest_size=32).hexdigest()


def case(same_second):
    homes = [os.path.join(TMP, "%s%d" % (n, same_second)) for n in "abcd"]
    ids = []
    for h in homes:
        ok(h, ["init"], T0)
        ids.append(json.loads(ok(h, ["id", "--json"], T0))["node_id"])
    a, b, c, d = homes
    t = T0 + 10
    ok(a, ["community", "create", "coop:v", "--founders", "%s,%s" % (ids[1], ids[2])], t)

    def sync(now):
        dumps = [ok(h, ["log", "export"], now) for h in homes]
        for h in homes:
            for x in dumps:
                ok(h, ["log", "import", "-"], now, stdin=x)
    sync(t)
    s = T0 + 100  # every move in one second when same_second
    step = (lambda k: s) if same_second else (lambda k: s + k)
    p1 = json.loads(ok(a, ["propose", "--scope", "coop:v", "--set", "max_gini=0.4", "--set",
                           "enforce_gini=on", "--closes", "2d", "--json"], step(0)))["proposal"]
    p2 = json.loads(ok(b, ["propose", "--scope", "coop:v", "--set", "max_gini=0.2",
                           "--closes", "1d", "--json"], step(1)))["proposal"]
    sync(step(2))
    ok(a, ["vote", p1, "yes"], step(3))
    ok(b, ["vote", p1, "no"], step(4))
    ok(b, ["vote", p1, "yes"], step(5))  # b's last vote counts
    ok(c, ["vote", p1, "no"], step(6))
    ok(b, ["vote", p2, "yes"], step(7))  # alone: quorum missed
    outsider = hand(d, ids[3], {"type": "vote", "proposal": p1, "choice": "yes"}, step(8))
    late = hand(c, ids[2], {"type": "vote", "proposal": p1, "choice": "yes"},
                s + 2 * DAY + 60)
    sync(s + 2 * DAY + 100)
    stmts = sorted(l.decode() for l in ok(a, ["log", "export"], s + 2 * DAY + 100).splitlines()
                   if l)
    at = s + 3 * DAY
    expect = {
        "proposals": {
            p1: {"outcome": "passed", "yes": 2, "no": 1, "voters": 3},
            p2: {"outcome": "failed", "yes": 1, "no": 0, "voters": 3},
        },
        "refused": {outsider: "not a voter", late: "closed"},
        "policy": {"max_gini": 400, "enforce_gini": True},
    }
    show = json.loads(ok(a, ["proposal", "show", p1, "--json"], at))
    assert show["outcome"] == "passed" and show["tally"] == {"yes": 2, "no": 1, "voters": 3}, show
    show2 = json.loads(ok(a, ["proposal", "show", p2, "--json"], at))
    assert show2["outcome"] == "failed", show2
    assert show["policy_after"]["max_gini"] == 400, show
    return {"name": "one second apart" if not same_second else "every move in one second",
            "at": at, "statements": stmts, "expect": expect}


try:
    doc = {"about": "SPEC §9.3 governance vectors; format in docs/governance.md",
           "cases": [case(0), case(1)]}
finally:
    shutil.rmtree(TMP, ignore_errors=True)
with open(OUT, "w") as f:
    json.dump(doc, f, indent=1, sort_keys=True)
    f.write("\n")
print("wrote %s" % OUT)
