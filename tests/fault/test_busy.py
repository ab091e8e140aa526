"""SQLITE_BUSY: while another process holds an exclusive lock on trust.db
(python sqlite3, BEGIN EXCLUSIVE), `mesh trust add` waits for the store's busy
timeout (10 s, src/store/store.c), then fails with a clear message and issues
nothing; once the lock is released it works."""
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultutil import Harness, store_ok  # noqa: E402

h = Harness(sys.argv)
BUSY_TIMEOUT = 10.0


def main():
    home = h.path("a")
    h.init(home)
    p1, p2 = h.init(h.path("p1")), h.init(h.path("p2"))
    r = h.run(["trust", "add", p1, "--level", "full"], home=home)
    h.check("trust add before the lock", r.returncode == 0, r.stderr)
    head0, ids0 = h.head(home), h.export_ids(home)
    db = sqlite3.connect(os.path.join(home, "trust.db"), timeout=1, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    try:
        t0 = time.monotonic()
        r = h.run(["trust", "add", p2, "--level", "full"], home=home, timeout=120)
        waited = time.monotonic() - t0
    finally:
        db.execute("ROLLBACK")
        db.close()
    err = r.stderr.decode(errors="replace").strip()
    print("trust add under an exclusive lock: rc=%d after %.1f s: %s"
          % (r.returncode, waited, err))
    h.check("it fails while the store is locked", r.returncode != 0, r.returncode)
    h.check("it waited for the busy timeout (%.1f s)" % waited,
            BUSY_TIMEOUT - 0.5 <= waited <= BUSY_TIMEOUT + 20, waited)
    h.check("a clear one-line message naming the lock",
            err.startswith("mesh: ") and len(err.splitlines()) == 1
            and ("locked" in err or "busy" in err), err)
    h.check("nothing issued while locked", h.head(home) == head0
            and h.export_ids(home) == ids0)
    r = h.run(["trust", "list", "--json"], home=home)
    h.check("the refused edge is not listed", p2 not in r.stdout.decode())
    store_ok(h, home, "after the lock")
    t0 = time.monotonic()
    r = h.run(["trust", "add", p2, "--level", "full"], home=home)
    h.check("once released, trust add works at once", r.returncode == 0
            and time.monotonic() - t0 < BUSY_TIMEOUT / 2, r.stderr)
    r = h.run(["trust", "list", "--json"], home=home)
    h.check("and the edge is listed", p2 in r.stdout.decode())


h.guard("busy", main)
h.finish()
