#!/usr/bin/python3
"""mesh node start: SIGHUP reload and sd_notify readiness (issue #20).

A real node on 127.0.0.1 with $NOTIFY_SOCKET pointing at a datagram socket
this test binds (as systemd does for Type=notify):
- READY=1 (with MAINPID = the node's pid) once it serves;
- a keep-alive HTTP connection opened before the reload answers again after
  it on the same socket (nothing dropped);
- `mesh config set` trust.maxDepth 1 -> 2, node.directory off -> on, and a
  policy.toml with max_gini 0.25, then SIGHUP: RELOADING=1 then READY=1; the
  two-hop identity gets a path (/v1/trust), the anonymous /v1/directory
  answers 200 (it was 401), /v1/metrics alerts against 0.25;
- a broken policy.toml and SIGHUP: the log names the file and line, the
  settings in force stay (directory still on, alert still at 0.25), the
  node still serves;
- SIGTERM: STOPPING=1, exit 0.

usage: test_node_reload.py MESH BENCH_INGEST
"""
import http.client
import json
import os
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node  # noqa: E402

h = Harness(sys.argv)


def ok(home, args):
    r = h.run(args, home=home)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.decode()))
    return r


def datagrams(sock, want, timeout=10.0):
    """Datagrams received until one holds `want` (a KEY=VALUE line)."""
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            d = sock.recv(4096).decode()
        except socket.timeout:
            break
        got.append(d)
        if want in d.split("\n"):
            break
    return got


def log_text(node):
    with open(node.log, "rb") as f:
        return f.read().decode(errors="replace")


def main():
    homes = {n: h.path(n) for n in "abc"}
    ids = {n: h.init(home) for n, home in homes.items()}
    a = homes["a"]
    # a -> b -> c: c is two hops away
    ok(a, ["trust", "add", ids["b"], "--level", "full", "--score", "0.9"])
    ok(homes["b"], ["trust", "add", ids["c"], "--level", "full", "--score", "0.9"])
    exp = h.path("b.ndjson")
    with open(exp, "wb") as f:
        f.write(ok(homes["b"], ["log", "export"]).stdout)
    ok(a, ["log", "import", exp])
    ok(a, ["config", "set", "trust.maxDepth", "1"])

    sock_path = h.path("notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    h.env["NOTIFY_SOCKET"] = sock_path
    node = Node(h, a, "a").start()
    del h.env["NOTIFY_SOCKET"]
    try:
        got = datagrams(sock, "READY=1")
        h.check("READY=1 once serving, with MAINPID", any(
            "READY=1" in d.split("\n") and "MAINPID=%d" % node.proc.pid in d.split("\n")
            for d in got), got)
        host, port = node.url.split("//")[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        auth = {"Authorization": "Bearer " + node.token}

        def kept(path):
            conn.request("GET", path, headers=auth)
            r = conn.getresponse()
            return r.status, r.read()

        st, body = kept("/v1/id")
        h.check("keep-alive connection: 200 before the reload", st == 200, st)
        sock_before = conn.sock

        st, doc, _ = node.get_json("/v1/trust?target=" + ids["c"])
        h.check("maxDepth 1: no path to the two-hop identity",
                st == 200 and doc and doc.get("trusted") is False, (st, doc))
        st, _, _ = node.get("/v1/directory", token=False)
        h.check("node.directory off: anonymous /v1/directory 401", st == 401, st)
        st, m, _ = node.get_json("/v1/metrics")
        h.check("default policy: no alert", st == 200 and m and m.get("alert") is None, m)

        ok(a, ["config", "set", "trust.maxDepth", "2"])
        ok(a, ["config", "set", "node.directory", "on"])
        with open(os.path.join(a, "policy.toml"), "w") as f:
            f.write("max_gini = 0.25\n")
        node.proc.send_signal(signal.SIGHUP)
        got = datagrams(sock, "READY=1")
        h.check("SIGHUP: RELOADING=1 then READY=1",
                len(got) >= 2 and "RELOADING=1" in got[0].split("\n")
                and any(x.startswith("MONOTONIC_USEC=") for x in got[0].split("\n"))
                and "READY=1" in got[-1].split("\n"), got)
        h.check("the log says what was reloaded",
                node.wait_for(lambda: "configuration and policy reloaded" in log_text(node)),
                log_text(node)[-2000:])

        def path_now():
            st, doc, _ = node.get_json("/v1/trust?target=" + ids["c"])
            return st == 200 and doc and doc.get("trusted") is True and doc.get("hops") == 2
        h.check("maxDepth 2 in force: a path to the two-hop identity",
                node.wait_for(path_now, timeout=5.0))
        st, _, hd = node.get("/v1/directory", token=False)
        h.check("node.directory on: anonymous /v1/directory 200", st == 200, (st, hd))
        st, m, _ = node.get_json("/v1/metrics")
        h.check("policy.toml's max_gini 0.25 in force (alert names 0.25)",
                st == 200 and m and m.get("gini", 0) > 0.25 and "0.25" in (m.get("alert") or ""),
                m)
        st, body = kept("/v1/id")
        h.check("keep-alive connection: same socket, 200 after the reload",
                st == 200 and conn.sock is sock_before, st)

        with open(os.path.join(a, "policy.toml"), "w") as f:
            f.write("max_gini = 0.25\nburst = 0\nnot_a_key = 1\n")
        node.proc.send_signal(signal.SIGHUP)
        got = datagrams(sock, "READY=1")
        h.check("a refused reload still reports READY=1", any(
            "READY=1" in d.split("\n") for d in got), got)
        h.check("a refused reload: the log names policy.toml and keeps the settings",
                node.wait_for(lambda: "reload refused" in log_text(node)) and
                "policy.toml:" in log_text(node), log_text(node)[-2000:])
        st, _, _ = node.get("/v1/directory", token=False)
        h.check("after the refused reload: directory still on", st == 200, st)
        st, m, _ = node.get_json("/v1/metrics")
        h.check("after the refused reload: max_gini still 0.25",
                st == 200 and "0.25" in (m.get("alert") or ""), m)
        h.check("the node still serves after the refused reload", path_now())
        conn.close()

        rc = node.stop()
        h.check("SIGTERM: exit 0", rc == 0, rc)
        got = datagrams(sock, "STOPPING=1", timeout=3.0)
        h.check("SIGTERM: STOPPING=1", any("STOPPING=1" in d.split("\n") for d in got), got)
    finally:
        node.stop()
        sock.close()


h.guard("node reload", main)
h.finish()
