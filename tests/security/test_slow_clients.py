"""Issue #14 item 3 / SPEC §9.4 "an absolute deadline for request headers" and
"per-peer caps on connections"; local clients are never locked out.

Attack (slowloris): from 127.0.0.2 (loopback, but not the local client's
127.0.0.1) open 300 connections that send "GET /v1/id HTTP/1.1\\r\\nHost: x\\r\\n"
and then one more header byte every second. The old node's 10 s timeout was an
inactivity timeout: a byte a second kept every connection open for ever, and
it accepted up to 512 connections per address.

Checks (node started with --header-timeout 3; --max-conns-per-ip left at its
default of 64):
  - `mesh node start --help` lists --header-timeout and --max-conns-per-ip;
  - at most 64 of the 300 connections from 127.0.0.2 are held past 1 s; the
    others are closed at once;
  - every held connection is closed by the server within header-timeout + 2 s
    of its opening although it keeps sending bytes;
  - throughout, a bearer client on 127.0.0.1 gets 200 within 1 s;
  - afterwards 127.0.0.2 is served again (the slots were given back).
Then with --max-conns-per-ip 5: of 10 idle connections from 127.0.0.2 at most
5 stay open, while 10 from 127.0.0.1 are not capped and the bearer client is
served.
"""
import os
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mtharness import Harness  # noqa: E402
from nodeutil import Node  # noqa: E402
from secutil import check_serving, host_port, node_help, raw, request_bytes, run_main  # noqa: E402

h = Harness(sys.argv)
nodes = []
SLOW = 300
HEADER_TIMEOUT = 3
DEFAULT_CAP = 64
ATTACKER = "127.0.0.2"
PREFIX = b"GET /v1/id HTTP/1.1\r\nHost: x\r\n"
TRICKLE = b"X-Slow: " + b"a" * 200


class Prober(threading.Thread):
    """A bearer client on 127.0.0.1 polling every 0.25 s."""

    def __init__(self, node):
        super().__init__(daemon=True)
        self.node, self.results, self.stop_flag = node, [], False

    def run(self):
        while not self.stop_flag:
            t0 = time.monotonic()
            try:
                st, _, _ = self.node.get("/v1/feeds", timeout=5)
            except Exception as e:  # noqa: BLE001 - a timeout is a result
                st = repr(e)
            self.results.append((st, time.monotonic() - t0))
            time.sleep(0.25)


def open_conn(node, src, data):
    host, port = host_port(node.url)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(3)
    try:
        s.connect((host, port))
        s.sendall(data)
    except OSError:
        s.close()
        return None
    s.setblocking(False)
    return s


def watch(conns, until, trickle):
    """conns: list of dicts {sock, opened, closed}. Poll for the server closing
    them (EOF, reset or any answer); with `trickle`, send one more header byte
    per connection every second. Returns when all are closed or at `until`."""
    poller = select.poll()
    by_fd = {}
    for c in conns:
        if c["closed"] is None:
            poller.register(c["sock"], select.POLLIN | select.POLLERR | select.POLLHUP)
            by_fd[c["sock"].fileno()] = c
    next_byte = time.monotonic() + 1.0
    while by_fd and time.monotonic() < until:
        for fd, _ in poller.poll(100):
            c = by_fd.get(fd)
            if not c:
                continue
            try:
                k = c["sock"].recv(4096)
                c["got"] += k
                if k and b"\r\n\r\n" not in c["got"]:
                    continue  # part of an answer: wait for the end
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                pass
            c["closed"] = time.monotonic()
            poller.unregister(fd)
            del by_fd[fd]
        if trickle and time.monotonic() >= next_byte:
            next_byte += 1.0
            for fd, c in list(by_fd.items()):
                b = TRICKLE[c["sent"] % len(TRICKLE):c["sent"] % len(TRICKLE) + 1]
                try:
                    c["sock"].send(b)
                    c["sent"] += 1
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    c["closed"] = time.monotonic()
                    poller.unregister(fd)
                    del by_fd[fd]


def close_all(conns):
    for c in conns:
        try:
            c["sock"].close()
        except OSError:
            pass


def slowloris(node, has_ht):
    prober = Prober(node)
    prober.start()
    conns = []
    try:
        t_start = time.monotonic()
        refused_connect = 0
        for _ in range(SLOW):
            s = open_conn(node, ATTACKER, PREFIX)
            if s is None:
                refused_connect += 1
                continue
            conns.append({"sock": s, "opened": time.monotonic(), "closed": None, "got": b"",
                          "sent": 0})
        print("  opened %d slow connections from %s in %.2f s (%d refused at connect)" % (
            len(conns), ATTACKER, time.monotonic() - t_start, refused_connect))
        # Long enough to see an old node keep them past its 10 s timeout.
        watch(conns, time.monotonic() + 16.0, trickle=True)
    finally:
        end = time.monotonic()
        close_all(conns)
        prober.stop_flag = True
        prober.join()
    life = [((c["closed"] if c["closed"] is not None else end) - c["opened"], c) for c in conns]
    held = [(t, c) for t, c in life if t > 1.0]
    still_open = [c for c in conns if c["closed"] is None]
    limit = HEADER_TIMEOUT + 2
    late = [t for t, c in held if t > limit]
    print("  %d held past 1 s, %d closed within 1 s, %d still open after 16 s; longest %.1f s" % (
        len(held), len(conns) - len(held), len(still_open), max([t for t, _ in life] or [0])))
    h.check("at most %d of %d connections from %s held past 1 s (the rest closed at once)" % (
        DEFAULT_CAP, SLOW, ATTACKER), len(held) <= DEFAULT_CAP,
        "%d held; %d refused at connect" % (len(held), refused_connect))
    h.check("each trickling connection closed within header-timeout + 2 = %d s" % limit
            + ("" if has_ht else " (node without --header-timeout: its default applies)"),
            not late and not still_open,
            "%d closed late (%s), %d never closed while trickling" % (
                len(late), ", ".join("%.1f s" % t for t in sorted(late)[-5:]), len(still_open)))
    answered = [c["got"][:80] for c in conns if c["got"].startswith(b"HTTP/1.1 200")]
    h.check("no slow connection got a 200 (its headers never ended)", not answered, answered[:3])
    bad = [r for r in prober.results if r[0] != 200 or r[1] > 1.0]
    h.check("the bearer client on 127.0.0.1 got 200 within 1 s throughout (%d requests)" %
            len(prober.results), prober.results and not bad,
            "%d bad: %s" % (len(bad), bad[:5]))
    # The slots come back (give the node a moment to see the closes).
    time.sleep(0.5)
    r = raw(node.url, request_bytes("GET", "/v1/id"), timeout=5, src=ATTACKER)
    h.check("afterwards %s is served again" % ATTACKER, r.status == 200, r)


def per_ip_cap(node):
    pre = b"GET /v1/id HTTP/1.1\r\nHost: x\r\n"
    other, local = [], []
    try:
        for _ in range(10):
            s = open_conn(node, ATTACKER, pre)
            if s is not None:
                other.append({"sock": s, "opened": time.monotonic(), "closed": None, "got": b"",
                              "sent": 0})
            s = open_conn(node, "127.0.0.1", pre)
            if s is not None:
                local.append({"sock": s, "opened": time.monotonic(), "closed": None, "got": b"",
                              "sent": 0})
        watch(other + local, time.monotonic() + 1.5, trickle=False)
        open_other = sum(1 for c in other if c["closed"] is None)
        open_local = sum(1 for c in local if c["closed"] is None)
        h.check("--max-conns-per-ip 5: at most 5 of 10 connections from %s stay open" % ATTACKER,
                open_other <= 5, "%d open" % open_other)
        h.check("--max-conns-per-ip 5: connections from 127.0.0.1 are not capped (10 open)",
                open_local == 10, "%d of 10 open" % open_local)
        t0 = time.monotonic()
        st, _, _ = node.get("/v1/feeds", timeout=5)
        h.check("the bearer client is served meanwhile", st == 200 and time.monotonic() - t0 < 1.0,
                (st, time.monotonic() - t0))
    finally:
        close_all(other + local)


def main():
    a = h.path("a")
    h.init(a)
    text = node_help(h)
    has_ht = "--header-timeout" in text
    has_mc = "--max-conns-per-ip" in text
    usage = text.split("\n")[0]
    h.check("`mesh node start --help` lists --header-timeout", has_ht, usage)
    h.check("`mesh node start --help` lists --max-conns-per-ip", has_mc, usage)
    extra = ["--header-timeout", str(HEADER_TIMEOUT)] if has_ht else []
    node = Node(h, a, "a", extra).start()
    nodes.append(node)
    slowloris(node, has_ht)
    if has_mc:
        node.stop()
        node = Node(h, a, "a2", extra + ["--max-conns-per-ip", "5"]).start()
        nodes.append(node)
        per_ip_cap(node)
    check_serving(h, node)


run_main(h, "slow clients", main, nodes)
