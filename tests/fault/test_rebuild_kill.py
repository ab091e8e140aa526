"""kill -9 of `mesh store rebuild` in the middle of its transaction: after
the restart the store is what it was (same digest and statements), `store
rebuild --check` passes and `mesh log verify` is clean."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultutil import Harness, integrity, store_ok  # noqa: E402

h = Harness(sys.argv)
N, ISSUERS = 20000, 20


def main():
    home = h.path("a")
    h.init(home)
    gen = h.path("gen.ndjson")
    h.gen(N, gen, ISSUERS)
    r = h.run(["log", "import", gen], home=home, timeout=300)
    h.check("import %d statements" % N, r.returncode == 0, r.stderr[-300:])
    head0 = h.head(home)
    ids0 = h.export_ids(home)
    db = os.path.join(home, "trust.db")
    wal = db + "-wal"
    killed = 0
    for attempt, after in enumerate((0.6, 0.3, 1.2)):
        p = subprocess.Popen([h.mesh, "--home", home, "store", "rebuild"], env=h.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # wait until the rebuild is writing (the WAL grows), then a bit more
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and p.poll() is None:
            if os.path.exists(wal) and os.path.getsize(wal) > 64 * 1024:
                break
            time.sleep(0.01)
        time.sleep(after)
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
        p.communicate()
        if p.returncode == -signal.SIGKILL:
            killed += 1
        # "restart": the next command opens the store and recovers the WAL
        h.check("attempt %d: same head after the killed rebuild" % attempt,
                h.head(home) == head0, (h.head(home), head0))
    h.check("rebuild was killed mid-way at least once (%d of 3)" % killed, killed >= 1)
    h.check("every statement is still there", h.export_ids(home) == ids0)
    h.check("integrity_check before any rebuild completes", integrity(db) == "ok")
    r = h.run(["store", "rebuild", "--check"], home=home, timeout=300)
    h.check("store rebuild --check passes after the kills", r.returncode == 0,
            (r.stdout[-300:], r.stderr[-300:]))
    store_ok(h, home, "after kill -9 of rebuild")
    h.check("head unchanged after the completed rebuild", h.head(home) == head0)


h.guard("rebuild kill", main)
h.finish()
