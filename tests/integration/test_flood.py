"""Flooding (hardening issue): one issuer pushes 10x its per-issuer quota to a
node that trusts it. Exactly the quota is accepted; every other statement is
refused with the reason, one result line each; nothing else changes. Then the
same flood is pulled by another node's `mesh sync`, page by page: the puller
asks for no more than the quota, accepts exactly it, and a second sync fetches
and accepts nothing."""
import json
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
h.init(A, legacy=True)
h.init(X, legacy=True)
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



def start_node(home, name):
    node = subprocess.Popen([h.mesh, "--home", home, "node", "start", "--listen", "127.0.0.1:0",
                             "--sync-interval", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=h.env)
    url = None
    deadline = time.time() + 20
    while time.time() < deadline and url is None:
        line = node.stdout.readline().decode()
        m = re.search(r"(http://127\.0\.0\.1:\d+)/#token=", line)
        if m:
            url = m.group(1)
    h.check(f"node {name} started", url is not None)
    return node, url


def stop_node(node):
    node.send_signal(signal.SIGTERM)
    try:
        node.wait(timeout=20)
    except subprocess.TimeoutExpired:
        node.kill()


node, url = start_node(A, "A")
try:
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
    stop_node(node)
digest, count = h.head(A)
h.check(f"A holds exactly {QUOTA} more statements", count == before[1] + QUOTA, (before, count))
exported = h.run(["log", "export", "--iss", idx], home=A).stdout.splitlines()
h.check(f"A's copy of X's feed is seq 1..{QUOTA}", len(exported) == QUOTA)
r = h.run(["log", "verify"], home=A)
h.check("A's log verifies", r.returncode == 0, r.stdout.decode())

# Pulled: B syncs X's feed from X's own node in pages of 7 (several pages are
# in flight in the pipeline when the quota is reached).
B = h.path("B")
h.init(B, legacy=True)
idb = h.node_id(B)
ok(B, "trust", "add", idx, "--level", "full")
ok(B, "config", "set", "node.maxStatementsPerIssuerPerDay", str(QUOTA))
ok(X, "trust", "add", idb, "--level", "full")
node, url = start_node(X, "X")
try:
    ok(B, "peer", "add", url)
    r = h.run(["sync", "--page", "7", "--json"], home=B, timeout=120)
    h.check("B's sync from X succeeds", r.returncode == 0, r.stderr.decode()[-300:])
    st = json.loads(r.stdout.decode() or "{}")
    h.check(f"sync: exactly the quota ({QUOTA}) accepted", st.get("accepted") == QUOTA, st)
    # X's feed: the flood and X's trust in B; what the quota leaves out is not
    # even fetched: it stays as lag.
    h.check("sync: nothing beyond the quota fetched, the rest is lag",
            st.get("rejected") == 0 and st.get("lag") == 10 * QUOTA + 1 - QUOTA, st)
    r = h.run(["sync", "--page", "7", "--json"], home=B, timeout=120)
    st2 = json.loads(r.stdout.decode() or "{}")
    h.check("second sync accepts nothing", r.returncode == 0 and st2.get("accepted") == 0, st2)
finally:
    stop_node(node)
exported = h.run(["log", "export", "--iss", idx], home=B).stdout.splitlines()
h.check(f"B's copy of X's feed is seq 1..{QUOTA}", len(exported) == QUOTA, len(exported))
r = h.run(["log", "verify"], home=B)
h.check("B's log verifies", r.returncode == 0, r.stdout.decode())
h.finish()
