"""Issue #14 item 3 / SPEC §9.4 "a peer's nonce is stored only once its key is
within the trust horizon", and replays across a restart.

Attack 1: a fresh key (any attacker can make one) floods validly signed
requests, each with a new nonce. The old node stored every nonce before it
asked whether the key is trusted at all: 3000 requests, 3000 cache entries
(up to the 2^20 cap, after which every peer, trusted or not, got 503).
Attack 2: a request captured on the wire is replayed after the node restarts:
the old node kept nonces in memory only, so the replay was served again.

Checks:
  - /metrics (bearer) exposes the gauge mesh_nonce_cache_entries;
  - a trusted peer's request (full, 0.9) is served and its nonce counted
    (the gauge grows by 1);
  - the untrusted flood (`mesh node request --count 3000`) is all 403, and
    the gauge does not grow by it (only the trusted peer's own requests,
    which keep getting 200 throughout the flood, may add to it);
  - black box, gauge or not: the untrusted key's saved request replayed
    answers 403 again — not 401 "replayed" (its nonce was never stored);
  - a trusted peer's request saved with --save-auth, used once (200), then
    replayed verbatim after the node restarted on the same home (new port;
    the signature covers the request-target and the Node ID, not host:port)
    → 401; a fresh request of that peer after the restart → 200.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, signed  # noqa: E402
from secutil import prom, prom_get, run_main, trusted_peer  # noqa: E402

h = Harness(sys.argv)
nodes = []
FLOOD = 3000
GAUGE = "mesh_nonce_cache_entries"


def gauge(node):
    st, body, _ = node.get("/metrics")
    if st != 200:
        return None, "GET /metrics (bearer): %s %r" % (st, body[:200])
    v = prom_get(prom(body.decode(errors="replace")), GAUGE)
    return v, body.decode(errors="replace")


def main():
    a, t, s, ida, idt = trusted_peer(h, "t", "a trusts t full (0.9)")
    node = Node(h, a, "a").start()
    nodes.append(node)
    target = "/v1/trust?target=" + idt

    g0, text = gauge(node)
    h.check("/metrics has the gauge %s" % GAUGE, g0 is not None,
            "no %s line in /metrics: %s" % (GAUGE, text[:600]))

    st, body = signed(h, t, "GET", node.url + target)
    h.check("the trusted peer is served", st == 200, (st, body))
    g1, _ = gauge(node)
    h.check("the trusted peer's nonce is stored (gauge +1)",
            g0 is not None and g1 is not None and g1 == g0 + 1, (g0, g1))

    # The flood, with the trusted peer served alongside it.
    flood = subprocess.Popen([h.mesh, "--home", s, "node", "request", "GET", node.url + target,
                              "--count", str(FLOOD), "--server-id", ida],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=h.env)
    t_statuses = []
    t0 = time.monotonic()
    try:
        while flood.poll() is None and time.monotonic() - t0 < 60:
            st, body = signed(h, t, "GET", node.url + target, ["--server-id", ida])
            t_statuses.append(st)
            time.sleep(0.05)
        out, err = flood.communicate(timeout=60)
    finally:
        if flood.poll() is None:
            flood.kill()
            flood.wait()
    try:
        fj = json.loads(out.decode())
    except ValueError:
        fj = {"stdout": out.decode(errors="replace"), "stderr": err.decode(errors="replace")}
    h.check("the untrusted key's %d signed requests are all 403" % FLOOD,
            fj.get("statuses") == {"403": FLOOD}, fj)
    h.check("the trusted peer got 200 throughout the flood (%d requests)" % len(t_statuses),
            t_statuses and all(x == 200 for x in t_statuses), t_statuses)
    g2, text = gauge(node)
    grew = None if g1 is None or g2 is None else g2 - g1
    h.check("the flood stored no nonce: %s grew only by the trusted peer's %d requests" %
            (GAUGE, len(t_statuses)),
            grew is not None and grew <= len(t_statuses),
            "gauge before %s, after %s (grew %s)" % (g1, g2, grew))

    # Black box: replay one of the stranger's requests.
    sauth = h.path("stranger.auth")
    st1, b1 = signed(h, s, "GET", node.url + target, ["--save-auth", sauth])
    st2, b2 = signed(h, s, "GET", node.url + target, ["--auth-from", sauth])
    h.check("the untrusted key is refused 403", st1 == 403, (st1, b1))
    h.check("its replayed request is refused 403 again, not 401 replayed (its nonce was "
            "never stored)", st2 == 403 and "replayed" not in b2, (st2, b2))

    # Replay after a restart.
    tauth = h.path("t.auth")
    st, body = signed(h, t, "GET", node.url + target, ["--save-auth", tauth])
    h.check("the trusted peer's request (saved) is served", st == 200, (st, body))
    st, body = signed(h, t, "GET", node.url + target, ["--auth-from", tauth])
    h.check("replayed at once: 401", st == 401, (st, body))
    # A node that refuses any ts older than its own start must see a later
    # start second than the saved request's ts: wait past that second.
    time.sleep(1.2)
    old_url = node.url
    node.stop()
    node.start()
    h.check("the node restarted on a new port", node.url != old_url, (old_url, node.url))
    st, body = signed(h, t, "GET", node.url + target, ["--auth-from", tauth])
    h.check("the saved request replayed after the restart is refused 401",
            st == 401, (st, body))
    time.sleep(1.1)
    st, body = signed(h, t, "GET", node.url + target)
    h.check("a fresh request of the trusted peer after the restart: 200", st == 200, (st, body))
    g3, _ = gauge(node)
    h.check("after the restart the gauge counts the trusted peer's new nonce", g3 is not None and
            g3 >= 1, g3)


run_main(h, "nonce flood", main, nodes)
