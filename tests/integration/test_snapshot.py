#!/usr/bin/python3
"""The engine snapshot (<home>/engine.snap, issue #22; docs/trust-engine.md "Snapshot").

A web of 8 homes: one (M) holds everything, the others issue trust, blocks,
revocations and expiring edges that are exported and imported into M, while
the clock (MESH_NOW) moves so that expiries pass. After every change and
every time step, `trust list --json` and `trust path --json` from several
viewpoints, scopes and depths must be byte-identical: (a) as first asked
(the snapshot stale: rebuilt and rewritten), (b) asked again (the snapshot
must be used: MESH_SNAP_DEBUG says "hit") and (c) with the snapshot deleted.
Then: a `mesh log import` writer killed with SIGKILL between the snapshot
and its changes; `mesh store compact` killed mid-write; a torn, a
bit-flipped, a re-versioned, a stale (older) and a foreign (another home's)
snapshot: each is refused (with its reason) and the answer equals the
rebuilt engine's.

usage: test_snapshot.py MESH BENCH_INGEST   (MESH_SNAPSHOT_SEED=<n> replays)
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402

h = Harness(sys.argv)
seed = int(os.environ.get("MESH_SNAPSHOT_SEED", random.randrange(1 << 30)))
print("seed %d (MESH_SNAPSHOT_SEED=%d replays)" % (seed, seed))
rng = random.Random(seed)
NOW = [1767225600]  # 2026-01-01T00:00:00Z, moved by the test
SCOPES = ["global", "coop:food"]


def env():
    return {"MESH_NOW": str(NOW[0]), "MESH_SNAP_DEBUG": "1"}


def run(args, home, **kw):
    return h.run(args, home=home, env=env(), **kw)


homes = {}
ids = {}
for k in range(8):
    name = "h%d" % k
    homes[name] = h.path(name)
    ids[name] = h.init(homes[name], env={"MESH_NOW": str(NOW[0])})
M = homes["h0"]
snap = os.path.join(M, "engine.snap")
edges = set()  # (issuer home, target id, scope) that may exist


def snap_state(r):
    for line in r.stderr.decode(errors="replace").splitlines():
        if line.startswith("mesh: engine snapshot: "):
            return line[len("mesh: engine snapshot: "):]
    return None


def answers(viewpoints):
    """Every query's output bytes, and the snapshot states seen."""
    out, states = [], []
    for v in viewpoints:
        for scope in SCOPES:
            for depth in ("2", "4"):
                r = run(["trust", "list", "--from", v, "--scope", scope, "--depth", depth, "--json"], M)
                out.append((r.returncode, r.stdout))
                states.append(snap_state(r))
        target = ids[rng.choice(sorted(ids))]
        if target != v:
            r = run(["trust", "path", target, "--from", v, "--json"], M)
            out.append((r.returncode, r.stdout))
            states.append(snap_state(r))
    return out, states


def compare(label, viewpoints=None):
    """(a) as is, (b) again: must hit, (c) without the snapshot: equal."""
    vps = viewpoints or [ids["h0"]] + [ids[n] for n in rng.sample(sorted(ids), 3)]
    st = rng.getstate()
    a, _ = answers(vps)
    rng.setstate(st)
    b, sb = answers(vps)
    if os.path.exists(snap):
        os.unlink(snap)
    rng.setstate(st)
    c, sc = answers(vps)
    ok = a == b == c and all(x == "hit" for x in sb)
    h.check("%s: answers with the snapshot equal the rebuilt engine's (%d queries)" % (label, len(a)),
            ok, "states %s / %s" % (sorted(set(map(str, sb))), sorted(set(map(str, sc)))))
    return a


def feed_to_main(name):
    r = run(["log", "export", "--iss", ids[name]], homes[name])
    f = h.path("feed-%s.ndjson" % name)
    with open(f, "wb") as fh:
        fh.write(r.stdout)
    r = run(["log", "import", f], M)
    return r.returncode == 0


def random_change():
    name = rng.choice(sorted(homes))
    home = homes[name]
    others = [n for n in sorted(ids) if n != name]
    target = ids[rng.choice(others)]
    scope = rng.choice(SCOPES)
    kind = rng.random()
    mine = [e for e in sorted(edges) if e[0] == name]
    if kind < 0.15 and mine:
        _, target, scope = rng.choice(mine)
        r = run(["trust", "remove", target, "--scope", scope], home)
        edges.discard((name, target, scope))
        what = "revoke"
    elif kind < 0.25:
        r = run(["trust", "block", target, "--scope", scope], home)
        what = "block"
    else:
        args = ["trust", "add", target, "--level", rng.choice(["full", "limited"]),
                "--score", "%.3f" % rng.uniform(0.05, 1), "--scope", scope]
        if rng.random() < 0.4:
            args += ["--expires", "%dm" % rng.randint(10, 240)]
        r = run(args, home)
        edges.add((name, target, scope))
        what = "trust"
    if r.returncode != 0:
        return "%s by %s refused: %s" % (what, name, r.stderr.decode(errors="replace").strip())
    if name != "h0" and not feed_to_main(name):
        return "import of %s's feed failed" % name
    return None


def group_random():
    # a base web, so that queries have something to walk
    for _ in range(30):
        err = random_change()
        if err:
            h.check("base change", False, err)
            return
    r = run(["store", "compact", "--json"], M)
    j = json.loads(r.stdout or b"null")
    h.check("store compact writes engine.snap (0600)", r.returncode == 0 and j and j["edges"] > 0 and
            os.stat(snap).st_mode & 0o777 == 0o600, r.stderr)
    compare("after compact")
    for step in range(8):
        for _ in range(rng.randint(1, 3)):
            err = random_change()
            if err:
                h.check("change %d" % step, False, err)
        r = run(["trust", "list", "--json"], M)
        h.check("step %d: a change makes the snapshot stale" % step,
                snap_state(r) in ("stale snapshot (the store changed)", "no snapshot"), snap_state(r))
        compare("step %d (changes)" % step)
        NOW[0] += rng.randint(0, 3) * 1800  # expiries pass: no rewrite needed
        r = run(["trust", "list", "--json"], M)
        h.check("step %d: time passing keeps the snapshot" % step, snap_state(r) == "hit", snap_state(r))
        compare("step %d (time +%ds)" % (step, NOW[0] - 1767225600))
    # --at in the past never uses the snapshot of the current edges
    r1 = run(["trust", "list", "--at", str(NOW[0] - 7200), "--json"], M)
    h.check("--at in the past does not use the snapshot", snap_state(r1) == "no state key", snap_state(r1))


def mutated(label, fn, reason):
    run(["store", "compact"], M)
    fn()
    r = run(["trust", "list", "--json"], M)
    h.check("%s snapshot refused (%s)" % (label, reason), snap_state(r) == reason, snap_state(r))
    r2 = run(["trust", "list", "--json"], M)
    h.check("%s snapshot: rewritten, then used" % label, snap_state(r2) == "hit", snap_state(r2))
    compare(label)


def flip(at_from_end=None, at=None):
    def f():
        data = bytearray(open(snap, "rb").read())
        pos = at if at is not None else len(data) - at_from_end
        data[pos] ^= 0x10
        open(snap, "wb").write(bytes(data))
    return f


def group_damaged():
    def torn():
        data = open(snap, "rb").read()
        open(snap, "wb").write(data[: len(data) // 2])
    mutated("torn", torn, "torn snapshot (length)")
    mutated("bit-flipped (body)", flip(at_from_end=3), "snapshot checksum mismatch")
    mutated("bit-flipped (digest)", flip(at=70), "snapshot checksum mismatch")
    mutated("re-versioned", flip(at=8), "not a snapshot of this version")
    # stale: an older snapshot put back after a change
    run(["store", "compact"], M)
    old = open(snap, "rb").read()
    random_change()
    run(["trust", "list", "--json"], M)
    mutated("older", lambda: open(snap, "wb").write(old), "stale snapshot (the store changed)")
    # foreign: another home's (same statements after an import, other database)
    other = homes["h1"]
    for n in sorted(homes):
        if n != "h1":
            feed_to_main_into(n, other)
    run(["store", "compact"], other)
    mutated("foreign", lambda: shutil.copyfile(os.path.join(other, "engine.snap"), snap),
            "stale snapshot (the store changed)")


def feed_to_main_into(name, dest):
    r = run(["log", "export", "--iss", ids[name]], homes[name])
    f = h.path("feedx-%s.ndjson" % name)
    with open(f, "wb") as fh:
        fh.write(r.stdout)
    run(["log", "import", f], dest)


def killed(args, home, delay):
    e = dict(h.env)
    e.update(env())
    p = subprocess.Popen([h.mesh, "--home", home] + args, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, env=e)
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    p.wait()


def killed_after_acks(args, home, acks):
    """Run a writer with --ack; SIGKILL it once `acks` statements are durable."""
    e = dict(h.env)
    e.update(env())
    p = subprocess.Popen([h.mesh, "--home", home] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=e)
    seen = 0
    deadline = time.monotonic() + 120
    while seen < acks and time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        seen += 1
    p.send_signal(signal.SIGKILL)
    p.wait()
    p.stdout.close()
    return seen


def group_crash():
    for round_ in range(2):
        ndjson = h.path("bulk%d.ndjson" % round_)  # other issuers each round: all new
        h.gen(6000, ndjson, 150 + 7 * round_)
        run(["store", "compact"], M)
        compare("crash %d: before" % round_)
        # a writer killed between the snapshot and its changes
        want = 300 + rng.randint(0, 1500)
        seen = killed_after_acks(["log", "import", "--ack", ndjson], M, want)
        r = run(["trust", "list", "--json"], M)
        h.check("crash %d: import killed after %d acks: the snapshot is stale" % (round_, seen),
                seen >= want and snap_state(r) == "stale snapshot (the store changed)", snap_state(r))
        compare("crash %d: after a killed import" % round_)
        random_change()
        # a compact killed while writing: the old file or the new one, never a torn one
        for _ in range(4):
            killed(["store", "compact"], M, rng.uniform(0.0, 0.03))
            r = run(["trust", "list", "--json"], M)
            h.check("crash %d: compact killed, snapshot %s" % (round_, snap_state(r)),
                    snap_state(r) in ("stale snapshot (the store changed)", "hit", "no snapshot"),
                    snap_state(r))
        compare("crash %d: after killed compacts" % round_)
        # killed writers leave at most their temporary files, never engine.snap torn
        for f in os.listdir(M):
            if f.startswith(".engine.snap."):
                os.unlink(f and os.path.join(M, f))


h.guard("random changes and expiries", group_random)
h.guard("damaged snapshots", group_damaged)
h.guard("crashes", group_crash)
h.finish()
