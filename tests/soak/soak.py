"""Bounded load and soak test of one node on 127.0.0.1.

usage: soak.py DURATION_S MESH_BINARY BENCH_INGEST_BINARY [--threads N] [--json FILE]

A node holds a few thousand statements (bench_ingest gen). For DURATION_S
seconds, N client threads with the bearer token drive a mix of GET /v1/trust,
GET /v1/search, GET /v1/metrics and POST /v1/statements (fresh signed
statements generated beforehand, then re-pushed as duplicates), while a peer
trusted at 0.3 (the 20/s tier of the default policy) is driven at 60/s with
`mesh node request --count/--rate` to produce the intended 429s. The node's
RSS (/proc/PID/status VmRSS) and open fds (/proc/PID/fd) are sampled every
2 s. Checks: no errors besides the peer's 429s, RSS flat within 10% after the
warm-up (first 20% of the run, at least 10 s), no fd growth. Prints the
figures (requests, errors by kind, RSS/fds start and end) and the usual
"N passed, N failed" line.
"""
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, stop_all  # noqa: E402

if len(sys.argv) < 4:
    print(__doc__, file=sys.stderr)
    sys.exit(2)
DURATION = float(sys.argv[1])
h = Harness(sys.argv[1:])  # (argv[0] of the harness is the duration; ignored)
THREADS = 4
JSON_OUT = None
rest = sys.argv[4:]
while rest:
    if rest[0] == "--threads":
        THREADS = int(rest[1])
    elif rest[0] == "--json":
        JSON_OUT = rest[1]
    rest = rest[2:]
BASE_N, PUSH_N, ISSUERS, PUSH_LINES = 4000, 4000, 20, 4
PEER_RATE, PEER_CHUNK_S = 60, 10
nodes = []


def proc_sample(pid):
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = {}
        self.errors = {}
        self.push = {"accepted": 0, "duplicate": 0, "rejected": 0}

    def add(self, kind, err=None):
        with self.lock:
            self.requests[kind] = self.requests.get(kind, 0) + 1
            if err:
                k = "%s %s" % (kind, err)
                self.errors[k] = self.errors.get(k, 0) + 1


def client(node, targets, pushes, stop, st, seed):
    rnd = random.Random(seed)
    host, port = node.url.split("//")[1].split(":")
    conn = None
    hdr = {"Authorization": "Bearer " + node.token}
    words = ["deps", "pin", "security", "review", "trust", "build"]
    while not stop.is_set():
        x = rnd.random()
        body = None
        if x < 0.40:
            kind, method = "trust", "GET"
            path = "/v1/trust?target=" + urllib.parse.quote(rnd.choice(targets))
        elif x < 0.65:
            kind, method = "search", "GET"
            path = "/v1/search?q=" + rnd.choice(words) + "&limit=10"
        elif x < 0.80:
            kind, method = "metrics", "GET"
            path = "/v1/metrics"
        else:
            kind, method, path = "push", "POST", "/v1/statements"
            with st.lock:
                i = pushes["next"]
                pushes["next"] = (i + 1) % len(pushes["chunks"])
            body = pushes["chunks"][i]
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request(method, path, body=body,
                         headers=dict(hdr, **({"Content-Type": "application/x-ndjson"}
                                              if body else {})))
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                st.add(kind, "HTTP %d" % r.status)
                continue
            if kind == "push":
                for line in data.decode(errors="replace").splitlines():
                    w = line.split(":")[0].strip()
                    with st.lock:
                        if w in st.push:
                            st.push[w] += 1
                if "rejected" in data.decode(errors="replace"):
                    st.add(kind, "statement rejected")
                    continue
            st.add(kind)
        except (OSError, http.client.HTTPException) as e:
            st.add(kind, type(e).__name__)
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
            conn = None
    if conn:
        conn.close()


def peer_driver(home, url, stop, st):
    while not stop.is_set():
        n = PEER_RATE * PEER_CHUNK_S
        r = h.run(["node", "request", "GET", url, "--count", str(n), "--rate", str(PEER_RATE)],
                  home=home, timeout=PEER_CHUNK_S * 10)
        try:
            j = json.loads(r.stdout.decode())
        except ValueError:
            st.add("peer", "mesh node request failed: %s" % r.stderr.decode()[-100:])
            continue
        for code, cnt in j["statuses"].items():
            with st.lock:
                st.requests["peer"] = st.requests.get("peer", 0) + cnt
                if code != "200":
                    k = "peer HTTP %s" % code
                    st.errors[k] = st.errors.get(k, 0) + cnt


def main():
    a, p = h.path("a"), h.path("p")
    h.init(a)
    idp = h.init(p)
    gen = h.path("gen.ndjson")
    lines = h.gen(BASE_N + PUSH_N, gen, ISSUERS)
    base = h.path("base.ndjson")
    with open(base, "wb") as f:
        f.write(b"\n".join(lines[:BASE_N]) + b"\n")
    r = h.run(["log", "import", base], home=a, timeout=600)
    h.check("the node holds %d statements" % BASE_N, r.returncode == 0, r.stderr[-300:])
    push = lines[BASE_N:]
    chunks = [b"\n".join(push[i:i + PUSH_LINES]) + b"\n" for i in range(0, len(push), PUSH_LINES)]
    targets = sorted(set(json.loads(l)["target"] for l in lines[:BASE_N] if b'"target"' in l))
    r = h.run(["trust", "add", idp, "--level", "limited", "--score", "0.3"], home=a)
    h.check("a peer in the 20/s tier", r.returncode == 0, r.stderr)
    node = Node(h, a, "a").start()
    nodes.append(node)
    pid = node.proc.pid
    st = Stats()
    pushes = {"next": 0, "chunks": chunks}
    stop = threading.Event()
    samples = []
    ths = [threading.Thread(target=client, args=(node, targets, pushes, stop, st, i))
           for i in range(THREADS)]
    ida = h.node_id(a)
    ths.append(threading.Thread(target=peer_driver,
                                args=(p, node.url + "/v1/trust?target=" + ida, stop, st)))
    t0 = time.monotonic()
    for t in ths:
        t.start()
    while time.monotonic() - t0 < DURATION and node.proc.poll() is None:
        samples.append((time.monotonic() - t0,) + proc_sample(pid))
        time.sleep(2.0)
    stop.set()
    for t in ths:
        t.join(timeout=PEER_CHUNK_S * 12)
    elapsed = time.monotonic() - t0
    alive = node.proc.poll() is None
    h.check("the node is still running", alive)
    time.sleep(1.0)
    quiet = proc_sample(pid) if alive else (0, 0)
    warm = max(10.0, DURATION * 0.2)
    after = [s for s in samples if s[0] >= warm]
    if len(after) < 2:
        after = samples[-2:]
    w = max(1, len(after) // 10)  # start/end: median of the first/last tenth
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    rss0, rss1 = med([s[1] for s in after[:w]]), med([s[1] for s in after[-w:]])
    fd0, fd1 = med([s[2] for s in after[:w]]), med([s[2] for s in after[-w:]])
    fdmax = max(s[2] for s in after)
    total = sum(st.requests.values())
    own_errors = {k: v for k, v in st.errors.items() if k != "peer HTTP 429"}
    report = {
        "duration_s": round(elapsed, 1), "threads": THREADS,
        "requests": st.requests, "requests_total": total,
        "requests_per_s": round(total / elapsed, 1),
        "errors": st.errors, "push_lines": st.push,
        "rss_kb_start_after_warmup": rss0, "rss_kb_end": rss1,
        "rss_kb_max_after_warmup": max(s[1] for s in after),
        "fds_start_after_warmup": fd0, "fds_end": fd1, "fds_max": fdmax,
        "fds_quiescent_after_stop": quiet[1], "rss_kb_quiescent_after_stop": quiet[0],
        "samples": len(samples), "warmup_s": warm,
    }
    print(json.dumps(report, indent=1, sort_keys=True))
    if JSON_OUT:
        with open(JSON_OUT, "w") as f:
            json.dump(dict(report, samples_raw=samples), f, indent=1, sort_keys=True)
    h.check("load was driven (%d requests)" % total, total > DURATION * 5, total)
    for k in ("trust", "search", "metrics", "push", "peer"):
        h.check("some %s requests" % k, st.requests.get(k, 0) > 0, st.requests)
    h.check("no errors besides the intended 429s", not own_errors, own_errors)
    h.check("the over-rate peer got 429s", st.errors.get("peer HTTP 429", 0) > 0, st.errors)
    h.check("fresh statements were accepted by pushes", st.push["accepted"] > 0, st.push)
    h.check("RSS flat within 10%% after warm-up (%d -> %d kB)" % (rss0, rss1),
            abs(rss1 - rss0) <= 0.10 * rss0, (rss0, rss1))
    h.check("no fd growth (%d -> %d, %d after stop)" % (fd0, fd1, quiet[1]),
            fd1 <= fd0 + 2 and quiet[1] <= fd0 + 2, (fd0, fd1, quiet[1]))
    r = h.run(["log", "verify"], home=a, timeout=300)
    h.check("the store verifies after the soak", r.returncode == 0, r.stdout[-300:])


try:
    h.guard("soak", main)
finally:
    stop_all(nodes)
h.finish()
