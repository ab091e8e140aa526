#!/usr/bin/python3
"""Several nodes, one database (issue #19, point 3), on a real throw-away
PostgreSQL cluster (run under tests/pg/with-cluster.sh: MESH_TEST_STORE is the
admin URL, MESH_PG_DIR the cluster's directory).

Two `mesh node start` processes with the same identity (two homes restored
from one seed, both `--store` the same PostgreSQL URL, different ports):

- the same generated statements pushed through both at once (local bearer
  token, in chunks that overlap): every statement accepted exactly once over
  the two nodes, `mesh log head` counts each once;
- both nodes' views follow each other's writes (the change clock is polled):
  GET /v1/trust/list and GET /v1/trust answers and digests are identical
  once they settle, and equal to `log head`;
- quotas are exact across processes: a peer pushes its feed (over the
  per-issuer quota) to both nodes at once; exactly the quota is accepted in
  all, and the quota table's per-issuer and per-peer counters equal it;
- the database crashes mid-ingest (pg_ctl stop -m immediate: no shutdown,
  WAL recovery at the restart) and returns: the requests that need it are
  answered 503 with the reason and Retry-After meanwhile (never 500, the
  nodes keep running and the views keep answering); afterwards both serve
  again without a restart and every statement acked is there;
- the server hangs (SIGSTOP to the postmaster and every backend: the
  connections stay open, nothing answers): a request that needs the store is
  answered 503 within the bound the nodes' statement_timeout sets, and both
  serve again once it continues (SIGCONT);
- how long a view takes to follow another process's write is printed.

MESH_PG_NODES_N sets how many statements are generated (default 20000; the
acceptance's 100000 is run by hand).

usage: test_pg_nodes.py MESH BENCH_INGEST
"""
import json
import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))
from mtharness import Harness  # noqa: E402
from nodeutil import Node, stop_all  # noqa: E402

h = Harness(sys.argv)
admin = os.environ["MESH_TEST_STORE"]
pgdir = os.environ["MESH_PG_DIR"]
pgbin = "/usr/lib/postgresql/%s/bin" % sorted(os.listdir("/usr/lib/postgresql"))[-1]
psql = os.path.join(pgbin, "psql")
N = int(os.environ.get("MESH_PG_NODES_N", "20000"))
ISSUERS = max(10, N // 200)
QUOTA = 10


def err(r):
    return r.stderr.decode(errors="replace")


def sql(url, query):
    r = subprocess.run([psql, url, "-qAt", "-c", query], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=True)
    return r.stdout.decode().strip()


sql(admin, "CREATE DATABASE nodes")
# Acknowledged means durable across a server crash (the cluster runs with
# synchronous_commit off for speed; a crash would lose the last commits).
sql(admin, "ALTER DATABASE nodes SET synchronous_commit = on")
# The nodes' statement_timeout (5 s) bounds how long they wait for a server
# that stops answering: 5 s + the backend's 5 s margin.
HUNG_BOUND = 10
url = "postgresql://mesh@/nodes?host=%s&options=-cstatement_timeout%%3D5000" % pgdir

# ---- two homes, one identity, one database ---------------------------------
seed = h.path("seed.hex")
with open(seed, "w") as f:
    f.write(os.urandom(32).hex() + "\n")
os.chmod(seed, 0o600)
A, B, X = h.path("a"), h.path("b"), h.path("x")
# A starts the identity's feed in the store; B is restored from the same seed
# onto the same store (it signs nothing: the CLI writes go through A).
ida = h.init(A, extra=["--seed-file", seed, "--new-feed", "--store", url])
idb = h.init(B, extra=["--seed-file", seed, "--store", url])
h.check("both homes hold the same identity", ida == idb, (ida, idb))
idx = h.init(X, legacy=True)  # a peer, on SQLite

# A peer within the horizon, with a small per-issuer quota (read at start).
for args in (["trust", "add", idx, "--level", "full"],
             ["config", "set", "node.maxStatementsPerIssuerPerDay", str(QUOTA)]):
    r = h.run(args, home=A)
    h.check("A: %s" % " ".join(args[:2]), r.returncode == 0, err(r))
for i in range(3 * QUOTA):
    r = h.run(["lesson", "publish", "--topic", "quota", "--title", "q %d" % i, "-"], home=X,
              stdin=("statement %d" % i).encode())
    if r.returncode != 0:
        h.check("X publishes", False, err(r))
        break
xfeed = h.path("x.ndjson")
with open(xfeed, "wb") as f:
    f.write(h.run(["log", "export", "--iss", idx], home=X).stdout)

gen = h.path("gen.ndjson")
allg = h.gen(N, gen, ISSUERS, timeout=600)
h.check("generated %d statements" % N, len(allg) == N, len(allg))
# The feeds of a few issuers are held back for the outage (whole feeds: no
# statement needs another issuer's).
_iss = sorted(set(json.loads(l)["iss"] for l in allg))
held = set(_iss[-max(2, len(_iss) // 8):])
lines = [l for l in allg if json.loads(l)["iss"] not in held]
later = [l for l in allg if json.loads(l)["iss"] in held]
N = len(lines)
root = json.loads(lines[0])["iss"]
_, base = h.head(A)

na = Node(h, A, "na")
nb = Node(h, B, "nb")
nodes = [na, nb]


def push(node, order, chunk, results, timeout=300):
    """POST `order` in chunks; results gets (accepted, duplicate, other lines)."""
    acc = dup = 0
    other = []
    for i in range(0, len(order), chunk):
        body = b"\n".join(order[i:i + chunk]) + b"\n"
        st, text, _ = node.get("/v1/statements", method="POST", body=body,
                               headers={"Content-Type": "application/x-ndjson"},
                               timeout=timeout)
        if st != 200:
            other.append("HTTP %d: %s" % (st, text[:300]))
            break
        for l in text.decode().splitlines():
            if l == "accepted":
                acc += 1
            elif l == "duplicate":
                dup += 1
            else:
                other.append(l)
    results.append((acc, dup, other))


def peer_push(node, out):
    r = h.run(["node", "request", "POST", node.url + "/v1/statements", "--body", xfeed],
              home=X, timeout=120)
    body = r.stdout.decode(errors="replace").splitlines()
    out.append((r.returncode, sum(1 for l in body if l == "accepted"), body[:3] + [err(r)]))


def state(node):
    """(digest, trust list, one trust answer) of a node's view, from `root`."""
    st, tl, hd = node.get_json("/v1/trust/list?from=%s" % root)
    st2, t1, _ = node.get_json("/v1/trust?from=%s&target=%s" % (root, last_target))
    if st != 200 or st2 != 200 or not tl or not t1:
        return None
    tl.pop("at", None)
    t1.pop("at", None)
    return tl.get("digest"), tl, t1


last_target = json.loads(lines[-1]).get("target", root)

try:
    na.start()
    nb.start()
    h.check("two nodes on one database, different ports", na.url != nb.url, (na.url, nb.url))

    # ---- concurrent ingest through both ------------------------------------
    ra, rb = [], []
    t0 = time.monotonic()
    # Issuers split in two halves, each in feed order: a pushes the first
    # half then the second, b the second then the first; they overlap.
    iss = sorted(set(json.loads(l)["iss"] for l in lines))
    first = set(iss[:len(iss) // 2])
    g1 = [l for l in lines if json.loads(l)["iss"] in first]
    g2 = [l for l in lines if json.loads(l)["iss"] not in first]
    ta = threading.Thread(target=push, args=(na, g1 + g2, 2000, ra))
    tb = threading.Thread(target=push, args=(nb, g2 + g1, 1500, rb))
    ta.start()
    tb.start()
    ta.join()
    tb.join()
    dt = time.monotonic() - t0
    print("# pushed %d statements through both nodes in %.1f s" % (N, dt))
    h.check("node a: every line accepted or duplicate", ra and not ra[0][2],
             ra and ra[0][2][:3])
    h.check("node b: every line accepted or duplicate", rb and not rb[0][2],
             rb and rb[0][2][:3])
    if ra and rb:
        h.check("each statement accepted exactly once over the two nodes",
                ra[0][0] + rb[0][0] == N and ra[0][1] + rb[0][1] == N,
                (ra[0][:2], rb[0][:2]))
        h.check("both nodes accepted some (the pushes overlapped)",
                ra[0][0] > 0 and rb[0][0] > 0, (ra[0][:2], rb[0][:2]))
    digest, count = h.head(A)
    h.check("log head counts every statement once", count == base + N, (count, base, N))
    h.check("B's home reads the same head", h.head(B) == (digest, count))
    h.check("no statement stored twice",
            sql(url, "SELECT count(*) - count(DISTINCT id) FROM statements") == "0")

    # ---- both views follow the other's writes ------------------------------
    settled = na.wait_for(lambda: (lambda a, b: a is not None and a == b and
                                   a[0] == digest)(state(na), state(nb)), timeout=60)
    sa, sb = state(na), state(nb)
    h.check("both nodes' views settle on the store's digest", settled,
            (sa and sa[0], sb and sb[0], digest))
    h.check("GET /v1/trust/list and /v1/trust identical on both", sa == sb and sa is not None)
    h.check("the view holds the pushed web", sa is not None and
            any(isinstance(v, list) and v for v in sa[1].values()), sa and str(sa[1])[:300])

    # ---- one node's write shows on the other -------------------------------
    r = h.run(["trust", "add", root, "--level", "full"], home=A)
    h.check("A trusts the generated web's root (written through the store)",
            r.returncode == 0, err(r))
    d2, c2 = h.head(A)

    def sees(node):
        st, j, _ = node.get_json("/v1/trust?target=%s" % root)
        return st == 200 and j and j.get("digest") == d2 and j.get("trusted")
    h.check("node a's view follows a write made outside it", na.wait_for(lambda: sees(na), 10))
    h.check("node b's view follows it too", nb.wait_for(lambda: sees(nb), 10))

    # ---- how fast a view follows another process's write -------------------
    # A CLI write (another process) alternates the root's level; from its
    # return, both nodes are polled (1 ms) until their /v1/trust digest moves.
    def digest_of(node):
        st, j, _ = node.get_json("/v1/trust?target=%s" % root)
        return j.get("digest") if st == 200 and j else None

    lat = {"na": [], "nb": []}
    for i in range(12):
        prev = {nd.name: digest_of(nd) for nd in nodes}
        r = h.run(["trust", "add", root, "--level", "limited" if i % 2 == 0 else "full"],
                  home=A)
        t0 = time.monotonic()
        if r.returncode != 0:
            h.check("A writes for the latency sample", False, err(r))
            break
        todo = set(nd.name for nd in nodes)
        while todo and time.monotonic() - t0 < 10:
            for nd in nodes:
                if nd.name in todo and digest_of(nd) not in (None, prev[nd.name]):
                    lat[nd.name].append((time.monotonic() - t0) * 1000)
                    todo.discard(nd.name)
            time.sleep(0.001)
    for name, v in sorted(lat.items()):
        v.sort()
        print("# view-follow latency %s: median %.1f ms, max %.1f ms (n=%d)" %
              (name, v[len(v) // 2] if v else -1, v[-1] if v else -1, len(v)))
    h.check("both views followed every write (latency samples)",
            len(lat["na"]) == 12 and len(lat["nb"]) == 12, lat)
    d2, c2 = h.head(A)

    # ---- quotas exact across the two processes -----------------------------
    pa, pb = [], []
    ta = threading.Thread(target=peer_push, args=(na, pa))
    tb = threading.Thread(target=peer_push, args=(nb, pb))
    ta.start()
    tb.start()
    ta.join()
    tb.join()
    h.check("the peer's pushes answered", pa and pb and pa[0][0] == 0 and pb[0][0] == 0,
            (pa, pb))
    if pa and pb:
        h.check("exactly the quota (%d) accepted over both nodes" % QUOTA,
                pa[0][1] + pb[0][1] == QUOTA, (pa[0][1], pb[0][1]))
    h.check("the store holds exactly the quota of X's feed",
            sql(url, "SELECT count(*) FROM statements WHERE iss = '%s'" % idx) == str(QUOTA))
    rows = sql(url, "SELECT kind, sum(n) FROM node_quota WHERE key = '%s' GROUP BY kind "
                    "ORDER BY kind" % idx).splitlines()
    h.check("quota table: the issuer and the peer counted exactly the quota",
            len(rows) == 2 and all(r.split("|")[1] == str(QUOTA) for r in rows), rows)
    h.check("quota table: nothing counted for local pushes",
            sql(url, "SELECT count(*) FROM node_quota WHERE key <> '%s'" % idx) == "0",
            sql(url, "SELECT kind, key, n FROM node_quota"))

    # ---- the database goes away mid-ingest and returns ---------------------
    pids = (na.proc.pid, nb.proc.pid)
    _, before = h.head(A)
    statuses, acked, bodies = [], [], []
    stop_at = time.monotonic() + 120

    def outage_push(node, part):
        """POST `part` in chunks, each until it is answered 200 (503: wait
        Retry-After, as a client would); acked gets what was answered."""
        for i in range(0, len(part), 50):
            time.sleep(0.1)  # spread over the outage
            chunk = part[i:i + 50]
            body = b"\n".join(chunk) + b"\n"
            while time.monotonic() < stop_at:
                try:
                    st, text, hd = node.get("/v1/statements", method="POST", body=body,
                                            headers={"Content-Type": "application/x-ndjson"},
                                            timeout=30)
                except OSError as e:  # noqa: PERF203 - a refused connection is a failure
                    st, text, hd = -1, str(e).encode(), {}
                statuses.append(st)
                if st == 200:
                    res = text.decode().splitlines()
                    if all(l in ("accepted", "duplicate") for l in res) and \
                            len(res) == len(chunk):
                        acked.extend(chunk)
                    else:
                        bodies.append(("200", res[:3]))
                    break
                bodies.append((st, text[:300], hd.get("Retry-After")))
                time.sleep(float(hd.get("Retry-After") or 1) / 4)

    hl = sorted(set(json.loads(l)["iss"] for l in later))
    la = [l for l in later if json.loads(l)["iss"] in set(hl[:len(hl) // 2])]
    lb = [l for l in later if json.loads(l)["iss"] not in set(hl[:len(hl) // 2])]
    ta = threading.Thread(target=outage_push, args=(na, la))
    tb = threading.Thread(target=outage_push, args=(nb, lb))
    ta.start()
    tb.start()
    as_owner = []
    if os.getuid() == 0:
        import pwd  # noqa: PLC0415
        pw = pwd.getpwnam("postgres")
        as_owner = ["setpriv", "--reuid=postgres", "--regid=%d" % pw.pw_gid, "--init-groups",
                    "--"]
    pgdata = os.path.join(pgdir, "data")
    time.sleep(0.5)  # some chunks in
    r = subprocess.run(as_owner + [os.path.join(pgbin, "pg_ctl"), "-D", pgdata, "-m",
                                   "immediate", "-w", "stop"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    h.check("the cluster crashed (pg_ctl stop -m immediate)", r.returncode == 0, err(r))
    n_before_down = len(acked)
    time.sleep(1.5)
    st, j, hd = na.get_json("/v1/statements", method="POST", body=later[0] + b"\n")
    h.check("while it is down: POST /v1/statements is 503 with the reason and Retry-After",
            st == 503 and j and "store unavailable" in j.get("error", "") and
            hd.get("Retry-After"), (st, j, hd.get("Retry-After")))
    for path in ("/v1/feeds/%s" % root, "/v1/trust?target=%s" % root):
        st, j, hd = nb.get_json(path)
        h.check("while it is down: GET %s on node b is 503 with the reason" % path[:12],
                st == 503 and j and "store unavailable" in j.get("error", "") and
                hd.get("Retry-After"), (st, j))
    h.check("while it is down: both nodes still run",
            na.proc.poll() is None and nb.proc.poll() is None)
    r = subprocess.run(as_owner + [os.path.join(pgbin, "pg_ctl"), "-D", pgdata, "-l",
                                   os.path.join(pgdir, "server.log"), "-w", "-t", "30", "-o",
                                   "-c listen_addresses='' -k %s -c fsync=off "
                                   "-c synchronous_commit=off -c full_page_writes=off "
                                   "-c max_connections=200" % pgdir, "start"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    h.check("the cluster started again (crash recovery)", r.returncode == 0, err(r))
    with open(os.path.join(pgdir, "server.log"), errors="replace") as f:
        log = f.read()
    h.check("the server recovered from the crash (redo)",
            "was not properly shut down" in log or "redo" in log, log[-500:])
    ta.join()
    tb.join()
    h.check("answers meanwhile were 200 or 503 only (no 500, no dropped connection)",
            set(statuses) <= {200, 503}, sorted(set(statuses)))
    h.check("some requests were refused 503 while it was down", 503 in statuses)
    h.check("the pushes were answered before, and all after it returned",
            n_before_down >= 0 and len(acked) == len(later), (n_before_down, len(acked),
                                                              len(later), bodies[-3:]))
    h.check("both nodes serve again without a restart",
            (na.proc and na.proc.pid, nb.proc and nb.proc.pid) == pids and
            na.proc.poll() is None and nb.proc.poll() is None)
    d3, c3 = h.head(A)
    h.check("nothing acked lost: every statement there once",
            c3 == before + len(later) and
            sql(url, "SELECT count(*) - count(DISTINCT id) FROM statements") == "0",
            (c3, before, len(later)))
    h.check("both views settle on the store's digest again",
            na.wait_for(lambda: (lambda a, b: a is not None and a == b and a[0] == d3)(
                state(na), state(nb)), timeout=60))
    st, j, _ = na.get_json("/v1/statements", method="POST", body=later[0] + b"\n")
    h.check("POST answers 200 again", st == 200, (st, j))

    # ---- the server hangs: nothing answers, nothing is closed --------------
    with open(os.path.join(pgdata, "postmaster.pid")) as f:
        pm = int(f.readline())

    def server_pids():
        out = [pm]
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == pm:
                    out.append(int(d))
        return out

    import signal  # noqa: PLC0415
    frozen = server_pids()
    hung = {}
    try:
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        # a write on each node (the store's error reaches the reply: 503 by
        # its code), then a read whose handler drops the store's error (503
        # because the maintenance thread has found the server unavailable
        # by then: its clock read every 5 s is bounded too)
        for nd in nodes:
            t0 = time.monotonic()
            st, j, hd = nd.get_json("/v1/statements", method="POST",
                                    body=later[0] + b"\n", timeout=HUNG_BOUND * 3)
            hung["POST " + nd.name] = (st, j, hd.get("Retry-After"), time.monotonic() - t0)
        t0 = time.monotonic()
        st, j, hd = nb.get_json("/v1/feeds/%s" % root, timeout=HUNG_BOUND * 3)
        hung["GET nb"] = (st, j, hd.get("Retry-After"), time.monotonic() - t0)
    finally:
        for pid in frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
    print("# hung server (SIGSTOP of %d processes): %s" % (
        len(frozen), ", ".join("%s %s after %.1f s" % (k, v[0], v[3])
                               for k, v in hung.items())))
    for k, v in hung.items():
        h.check("hung server: %s answered 503 with the reason and Retry-After" % k,
                v[0] == 503 and v[1] and "store unavailable" in v[1].get("error", "") and
                v[2], v)
    h.check("hung server: each 503 came within the bound (%d s, +5 s to connect)" %
            HUNG_BOUND, all(v[3] < HUNG_BOUND + 5 + 2 for v in hung.values()),
            {k: v[3] for k, v in hung.items()})
    h.check("hung server: both nodes still run",
            na.proc.poll() is None and nb.proc.poll() is None)
    t1 = time.monotonic()
    back = all(nd.wait_for(lambda nd=nd: nd.get("/v1/feeds/%s" % root, timeout=30)[0] == 200,
                           timeout=60) for nd in nodes)
    print("# after SIGCONT both nodes served again in %.1f s" % (time.monotonic() - t1))
    h.check("after SIGCONT both nodes serve again without a restart", back and
            (na.proc and na.proc.pid, nb.proc and nb.proc.pid) == pids)
    st, j, _ = nb.get_json("/v1/statements", method="POST", body=later[1] + b"\n",
                           timeout=30)
    h.check("after SIGCONT POST answers 200 again", st == 200, (st, j))
finally:
    stop_all(nodes)
for nd in nodes:
    with open(nd.log, "rb") as f:
        bad = [l for l in f.read().decode(errors="replace").splitlines()
               if "level=error" in l or "Assertion" in l or "sanitizer" in l.lower()]
    h.check("%s logged no error" % nd.name, not bad, bad[:3])
h.finish()
