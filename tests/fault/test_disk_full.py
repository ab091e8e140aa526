"""Disk full (RLIMIT_FSIZE, SIGXFSZ ignored: writes past the limit fail with
EFBIG) during `mesh log import` and during `mesh trust add`: a clear error,
nothing half-written, the store intact (verify + integrity_check), every
acknowledged statement present, and it works again once there is room."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultutil import Harness, acked_ids, run_fsize, stmt_id, store_ok  # noqa: E402

h = Harness(sys.argv)


def store_bytes(home):
    db = os.path.join(home, "trust.db")
    return max(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))


def import_full():
    home = h.path("imp")
    h.init(home)
    gen = h.path("gen.ndjson")
    lines = h.gen(16000, gen, 16)
    # a first slice goes in normally
    first = h.path("first.ndjson")
    with open(first, "wb") as f:
        f.write(b"\n".join(lines[:2000]) + b"\n")
    r = h.run(["log", "import", first], home=home, timeout=300)
    h.check("import: first 2000 statements", r.returncode == 0, r.stderr[-300:])
    base = store_bytes(home)
    # the size the whole file needs, measured in a scratch home
    ref = h.path("ref")
    h.init(ref)
    h.run(["log", "import", gen], home=ref, timeout=300)
    full = store_bytes(ref)
    # room for about half of the rest (a few of the 4096-statement batches)
    limit = base + (full - base) // 2
    r = run_fsize(h, ["log", "import", "--ack", gen], home, limit)
    err = r.stderr.decode(errors="replace")
    acked = acked_ids(r.stdout)
    print("import under RLIMIT_FSIZE=%d: rc=%d, %d acknowledged; stderr: %s"
          % (limit, r.returncode, len(acked), err.strip()[-200:]))
    h.check("import: fails when the disk is full", r.returncode != 0, r.returncode)
    h.check("import: the error says the import stopped and what was committed",
            "import stopped" in err and "committed before" in err, err[-300:])
    h.check("import: some batches were acknowledged before the disk filled",
            0 < len(acked) < len(lines), len(acked))
    store_ok(h, home, "import disk full")
    held = h.export_ids(home)
    first_ids = set(stmt_id(l) for l in lines[:2000])
    h.check("import: every acknowledged statement is stored", acked <= held,
            len(acked - held))
    h.check("import: the statements stored before are still there", first_ids <= held)
    all_ids = set(stmt_id(l) for l in lines)
    h.check("import: nothing else half-written (stored = before + acknowledged)",
            held == first_ids | acked, (len(held), len(first_ids | acked)))
    h.check("import: nothing foreign stored", held <= all_ids)
    r = h.run(["log", "import", gen], home=home, timeout=300)
    h.check("import: with room again the rest goes in", r.returncode == 0, r.stderr[-300:])
    h.check("import: now everything is stored", h.export_ids(home) == all_ids)
    store_ok(h, home, "import after room")


def trust_full():
    home = h.path("tr")
    h.init(home)
    peers = [h.init(h.path("p%d" % i)) for i in range(3)]
    r = h.run(["trust", "add", peers[0], "--level", "full"], home=home)
    h.check("trust add: first one works", r.returncode == 0, r.stderr)
    ids0 = h.export_ids(home)
    head0 = h.head(home)
    # the store was closed cleanly (WAL checkpointed); any new page write fails
    limit = 4096
    r = run_fsize(h, ["trust", "add", peers[1], "--level", "full"], home, limit)
    err = r.stderr.decode(errors="replace")
    print("trust add under RLIMIT_FSIZE=%d: rc=%d stderr: %s" % (limit, r.returncode,
                                                                  err.strip()))
    h.check("trust add: fails when the disk is full", r.returncode != 0, r.returncode)
    h.check("trust add: a clear one-line error from mesh",
            err.startswith("mesh: ") and len(err.strip().splitlines()) == 1, err)
    h.check("trust add: nothing issued (same head, same statements)",
            h.head(home) == head0 and h.export_ids(home) == ids0)
    r, j = h.run_json(["trust", "list", "--json"], home=home)
    txt = r.stdout.decode(errors="replace")
    h.check("trust add: the refused edge is not listed", peers[1] not in txt
            and peers[0] in txt, txt[-300:])
    store_ok(h, home, "trust add disk full")
    r = h.run(["trust", "add", peers[1], "--level", "full"], home=home)
    h.check("trust add: works again with room", r.returncode == 0, r.stderr)
    r = h.run(["trust", "list", "--json"], home=home)
    txt = r.stdout.decode(errors="replace")
    h.check("trust add: both edges listed now", peers[0] in txt and peers[1] in txt, txt[-300:])
    store_ok(h, home, "trust add after room")


h.guard("import disk full", import_full)
h.guard("trust add disk full", trust_full)
h.finish()
