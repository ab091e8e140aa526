"""Flooding (hardening issue): one issuer pushes 10x its per-issuer quota to a
node that trusts it. Exactly the quota is accepted; every other statement is
refused with the reason, one result line each; nothing else changes."""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402

QUOTA = 20
h = Harness(sys.argv)
A, X = h.path("A"), h.path("X")
h.init(A)
h.init(X)
ida, idx = h.node_id(A), h.node_id(X)


def ok(home, *args, stdin=None):
    r = h.run(list(args), home=home, stdin=stdin)
    h.check(f"mesh {' '.join(args)[:50]}", r.returncode == 0, r.stderr.decode()[-300:])
    return r


ok(A, "trust", "add", idx, "--level", "full")
ok(A, "config", "set", "node.maxStatementsPerIssuerPerDay", str(QUOTA))
for i in range(10 * QUOTA):
    r = h.run(["lesson", "publish", "--topic", "flood", "--title", f"flood {i}", "-"], home=X,
              stdin=f"statement {i}".encode())
    if r.returncode != 0:
        h.check("X publishes", False, r.stderr.decode())
        break
feed = h.path("flood.ndjson")
with open(feed, "wb") as f:
    f.write(h.run(["log", "export", "--iss", idx], home=X).stdout)
h.check(f"X's feed holds {10 * QUOTA} statements", sum(1 for _ in open(feed)) == 10 * QUOTA)
before = h.head(A)

node = subprocess.Popen([h.mesh, "--home", A, "node", "start", "--listen", "127.0.0.1:0",
                         "--sync-interval", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                        env=h.env)
try:
    url = None
    deadline = time.time() + 20
    while time.time() < deadline and url is None:
        line = node.stdout.readline().decode()
        m = re.search(r"(http://127\.0\.0\.1:\d+)/#token=", line)
        if m:
            url = m.group(1)
    h.check("node A started", url is not None)
    r = h.run(["node", "request", "POST", f"{url}/v1/statements", "--body", feed], home=X, timeout=120)
    out = r.stdout.decode().splitlines()
    results = [l for l in out if l.startswith(("accepted", "duplicate", "rejected"))]
    accepted = [l for l in results if l == "accepted"]
    refused = [l for l in results if l.startswith("rejected")]
    h.check("one result line per statement", len(results) == 10 * QUOTA, out[:3])
    h.check(f"exactly the quota ({QUOTA}) accepted", len(accepted) == QUOTA, len(accepted))
    h.check(f"the other {9 * QUOTA} refused", len(refused) == 9 * QUOTA, len(refused))
    h.check("every refusal names the quota and the issuer",
            all("over quota" in l and idx in l for l in refused), refused[:1])
    h.check("the accepted ones are the first of the feed",
            results[:QUOTA] == ["accepted"] * QUOTA, results[:QUOTA + 1])
    print("sample refusal:", refused[0] if refused else None)
    # A second push changes nothing: duplicates cost no quota, the rest stay refused.
    r2 = h.run(["node", "request", "POST", f"{url}/v1/statements", "--body", feed], home=X, timeout=120)
    out2 = [l for l in r2.stdout.decode().splitlines() if l.startswith(("accepted", "duplicate", "rejected"))]
    h.check("second push: the quota's statements are duplicates, none newly accepted",
            out2.count("duplicate") == QUOTA and "accepted" not in out2, out2[:3])
finally:
    node.send_signal(signal.SIGTERM)
    try:
        node.wait(timeout=20)
    except subprocess.TimeoutExpired:
        node.kill()
digest, count = h.head(A)
h.check(f"A holds exactly {QUOTA} more statements", count == before[1] + QUOTA, (before, count))
exported = h.run(["log", "export", "--iss", idx], home=A).stdout.splitlines()
h.check(f"A's copy of X's feed is seq 1..{QUOTA}", len(exported) == QUOTA)
r = h.run(["log", "verify"], home=A)
h.check("A's log verifies", r.returncode == 0, r.stdout.decode())
h.finish()
