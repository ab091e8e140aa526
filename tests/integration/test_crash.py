#!/usr/bin/python3
"""Crash test of `mesh log import --ack` (SPEC §2 store, §8 NDJSON).

100,000 generated statements (1,000 issuers) are imported with --ack; the
importer is killed with SIGKILL in the middle, twice (once right after 20,000
acks, once a random moment into the re-import; MESH_CRASH_SEED=<n> replays the
moment). After each crash every acknowledged statement must be stored, the
database must pass PRAGMA integrity_check and `mesh log verify`; a final
re-import must finish the job (everything stored before reported duplicate,
the rest accepted), and `mesh store rebuild --check` must find the derived
state identical.

usage: test_crash.py MESH BENCH_INGEST
"""
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness, digest_of_ids, stmt_id  # noqa: E402

N = 100000
ISSUERS = 1000
KILL_AFTER = 20000   # acks seen before the kill
PHASE_TIMEOUT = 150  # seconds for the killed import phase

h = Harness(sys.argv)


def killed_import(home, ndjson, kill_after, delay):
    """Start the import, kill -9 it `delay` seconds after kill_after acks.
    Returns (ack lines, returncode, killed)."""
    err = open(h.path("import.stderr"), "wb")
    p = subprocess.Popen([h.mesh, "--home", home, "log", "import", "--ack", ndjson],
                         stdout=subprocess.PIPE, stderr=err, env=h.env)
    fd = p.stdout.fileno()
    buf = b""
    acks = []
    killed = False
    deadline = time.monotonic() + PHASE_TIMEOUT
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("import produced %d acks in %d s and did not reach %d"
                                   % (len(acks), PHASE_TIMEOUT, kill_after))
            r, _, _ = select.select([fd], [], [], min(left, 1.0))
            if not r:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break  # EOF: the process ended (finished, or killed by us)
            buf += chunk
            *lines, buf = buf.split(b"\n")
            acks.extend(lines)
            if not killed and len(acks) >= kill_after:
                if delay:
                    time.sleep(delay)  # let it get into the next batch's commit
                os.kill(p.pid, signal.SIGKILL)
                killed = True
                # keep reading: whatever it wrote before dying was written
                # after its batch committed, so it is an ack too.
        rc = p.wait(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=30)
        p.stdout.close()
        err.close()
    return acks, rc, killed


def parse_acks(lines):
    ok, dup, bad = [], [], []
    for l in lines:
        if l.startswith(b"ok ") and len(l) == 67:
            ok.append(l[3:].decode())
        elif l.startswith(b"duplicate ") and len(l) == 74:
            dup.append(l[10:].decode())
        else:
            bad.append(l)
    return ok, dup, bad


def stored_state(home):
    """(set of stored ids, integrity_check rows), read with sqlite3."""
    db = sqlite3.connect(os.path.join(home, "trust.db"), timeout=30)
    try:
        stored = set(r[0] for r in db.execute("SELECT lower(hex(id)) FROM statements"))
        integrity = db.execute("PRAGMA integrity_check").fetchall()
    finally:
        db.close()
    return stored, integrity


def crash_round(label, home, ndjson, all_ids, stored_before, kill_after, delay):
    """One import killed mid-way; checks the store afterwards. Returns the
    stored ids."""
    t0 = time.monotonic()
    acks, rc, killed = killed_import(home, ndjson, kill_after, delay)
    print("# %s: import ran %.1f s, %d ack lines, kill %.2f s after %d, rc %s"
          % (label, time.monotonic() - t0, len(acks), delay, kill_after, rc))
    h.check("%s: import was still running when killed" % label,
            killed and rc == -signal.SIGKILL,
            "killed=%s rc=%s acks=%d: the import ended on its own; the crash point was missed"
            % (killed, rc, len(acks)))
    h.check("%s: kill landed mid-way (%d ack lines < %d)" % (label, len(acks), N), len(acks) < N)
    ok, dup, bad = parse_acks(acks)
    h.check("%s: every ack line is `ok|duplicate <64 hex>`" % label, not bad, bad[:3])
    acked = set(ok) | set(dup)
    h.check("%s: acked ids are ids of the input, each once" % label,
            acked <= all_ids and len(acked) == len(acks))
    h.check("%s: `duplicate` only for statements stored before" % label,
            set(dup) <= stored_before and not (set(ok) & stored_before))

    stored, integrity = stored_state(home)
    missing = acked - stored
    h.check("%s: every acked id is in the statements table (sqlite)" % label, not missing,
            "%d acked ids missing, e.g. %s" % (len(missing), sorted(missing)[:2]))
    h.check("%s: store holds a strict subset (%d < %d)" % (label, len(stored), N),
            stored_before <= stored and len(stored) < N and stored <= all_ids, len(stored))
    h.check("%s: PRAGMA integrity_check is ok" % label, integrity == [("ok",)], integrity[:3])

    exported = h.export_ids(home)
    h.check("%s: every acked id is in `mesh log export` (blake2b of each line)" % label,
            acked <= exported, len(acked - exported))
    h.check("%s: export equals the statements table" % label, exported == stored)
    r = h.run(["log", "verify"], home=home, timeout=120)
    out = r.stdout.decode(errors="replace")
    h.check("%s: log verify exits 0" % label, r.returncode == 0,
            "rc %d: %s %s" % (r.returncode, out[-300:], r.stderr.decode(errors="replace")[-300:]))
    h.check("%s: log verify says OK for all %d held" % (label, len(stored)),
            ("%d statements checked: OK" % len(stored)) in out, out[-200:])
    return stored


def main():
    home = h.path("H")
    h.init(home)  # only `mesh init` creates a home (SPEC §9.4); it issues nothing
    ndjson = h.path("stmts.ndjson")
    t0 = time.monotonic()
    lines = h.gen(N, ndjson, ISSUERS, timeout=180)
    print("# generated %d statements in %.1f s" % (len(lines), time.monotonic() - t0))
    h.check("generator wrote %d lines" % N, len(lines) == N, len(lines))
    all_ids = set(stmt_id(l) for l in lines)
    h.check("generated ids are distinct", len(all_ids) == N)

    seed = int(os.environ.get("MESH_CRASH_SEED", str(int(time.time()))))
    rnd = random.Random(seed)
    print("# MESH_CRASH_SEED=%d" % seed)
    # Round 1: killed as soon as KILL_AFTER acks are seen.
    stored = crash_round("crash 1", home, ndjson, all_ids, set(), KILL_AFTER, 0)
    # Round 2: the re-import killed again, a random moment after 12,000 more
    # (so the kill tends to land inside a batch's verification or commit).
    stored = crash_round("crash 2", home, ndjson, all_ids, stored, len(stored) + 12000,
                         rnd.uniform(0.0, 0.4))

    # Final run: finishes, everything stored before is duplicate, the rest accepted.
    t0 = time.monotonic()
    r = h.run(["log", "import", "--ack", ndjson], home=home, timeout=180)
    print("# final import ran %.1f s" % (time.monotonic() - t0))
    h.check("final import exits 0", r.returncode == 0, r.stderr.decode(errors="replace")[-300:])
    ok, dup, bad = parse_acks([l for l in r.stdout.split(b"\n") if l])
    ok, dup = set(ok), set(dup)
    h.check("final import reports every statement once (ok + duplicate = %d)" % N,
            not bad and len(ok) + len(dup) == N and (ok | dup) == all_ids, (len(ok), len(dup)))
    h.check("final import: duplicates are exactly what was stored before", dup == stored,
            (len(dup), len(stored)))
    h.check("final import: the rest is accepted", ok == all_ids - stored,
            (len(ok), N - len(stored)))

    digest, count = h.head(home)
    h.check("log head counts %d statements" % N, count == N, count)
    h.check("log head digest equals the digest of all input ids",
            digest == digest_of_ids(all_ids))

    r = h.run(["store", "rebuild", "--check"], home=home, timeout=120)
    h.check("store rebuild --check exits 0 and says identical",
            r.returncode == 0 and b"identical" in r.stdout,
            (r.returncode, r.stdout[-200:], r.stderr[-200:]))

    r = h.run(["log", "verify", "--json"], home=home, timeout=120)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        j = {}
    h.check("final log verify --json: ok, %d checked, 0 problems" % N,
            r.returncode == 0 and j.get("ok") is True and j.get("checked") == N
            and j.get("problems") == 0, (r.returncode, str(j)[:200]))


h.guard("crash", main)
h.finish()
