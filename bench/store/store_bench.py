#!/usr/bin/python3
"""The body of bench/store/run (read its header for the method): run beside
a throw-away PostgreSQL cluster (MESH_TEST_STORE, MESH_PG_DIR).

usage: store_bench.py BUILD_DIR N"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BUILD, N = sys.argv[1], int(sys.argv[2])
MESH = os.path.join(BUILD, "mesh")
GEN = os.path.join(BUILD, "bench", "bench_ingest")
ADMIN = os.environ["MESH_TEST_STORE"]
PGDIR = os.environ["MESH_PG_DIR"]
PGBIN = "/usr/lib/postgresql/%s/bin" % sorted(os.listdir("/usr/lib/postgresql"))[-1]
ISSUERS = max(10, N // 200)
CHUNK = 2000
RUNS, SECS = 3, 5
T = tempfile.mkdtemp(prefix="mt-bench-store-")
ENV = dict(os.environ, HOME=T, LC_ALL="C")
for k in ("MESH_HOME", "MESH_PASSPHRASE_FILE", "MESH_NOW", "MESH_STORE"):
    ENV.pop(k, None)
procs = []


def mesh(home, *args, check=True):
    r = subprocess.run([MESH, "--home", home] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=ENV)
    if check and r.returncode != 0:
        raise RuntimeError("mesh %s: %s" % (" ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout.decode()


def psql(query, db="postgres"):
    url = ADMIN.replace("/postgres?", "/%s?" % db)
    subprocess.run([os.path.join(PGBIN, "psql"), url, "-qAt", "-c", query], check=True,
                   stdout=subprocess.DEVNULL)


def start(home, cpu, name):
    cmd = ["taskset", "-c", str(cpu), MESH, "--home", home, "node", "start", "--listen",
           "127.0.0.1:0", "--sync-interval", "0", "--threads", "2", "--log-level", "warn"]
    err = open(os.path.join(T, name + ".log"), "ab")
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=ENV)
    procs.append(p)
    line = p.stdout.readline().decode()
    if not line.startswith("listening on http://"):
        raise RuntimeError("%s did not start: %r" % (name, line))
    url = line.split()[2]
    return {"name": name, "proc": p, "cpu": cpu, "url": url.split("/#token=")[0],
            "token": url.split("/#token=")[1]}


def stop(nodes):
    for nd in nodes:
        nd["proc"].terminate()
        try:
            nd["proc"].wait(timeout=20)
        except subprocess.TimeoutExpired:
            nd["proc"].kill()
            nd["proc"].wait()
        nd["proc"].stdout.close()


def post(nd, lines):
    """POST lines in chunks; the number accepted."""
    acc = 0
    for i in range(0, len(lines), CHUNK):
        body = b"\n".join(lines[i:i + CHUNK]) + b"\n"
        req = urllib.request.Request(nd["url"] + "/v1/statements", data=body, method="POST")
        req.add_header("Authorization", "Bearer " + nd["token"])
        req.add_header("Content-Type", "application/x-ndjson")
        with urllib.request.urlopen(req, timeout=600) as r:
            acc += sum(1 for l in r.read().decode().splitlines() if l == "accepted")
    return acc


def ingest(nodes, parts):
    """Push parts[i] through nodes[i] at once: (statements/s, accepted)."""
    out = [0] * len(nodes)

    def one(i):
        out[i] = post(nodes[i], parts[i])
    th = [threading.Thread(target=one, args=(i,)) for i in range(len(nodes))]
    t0 = time.monotonic()
    for t in th:
        t.start()
    for t in th:
        t.join()
    dt = time.monotonic() - t0
    return sum(out) / dt, sum(out)


def wait_view(nd, digest):
    """Until the node's view holds the store's digest (the view followed)."""
    path = "/v1/trust?from=%s&target=%s" % (ROOT, TARGET)
    for _ in range(600):
        req = urllib.request.Request(nd["url"] + path)
        req.add_header("Authorization", "Bearer " + nd["token"])
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                if json.loads(r.read()).get("digest") == digest:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def wrk(nodes):
    """req/s of GET /v1/trust over the nodes at once (one wrk each): median of RUNS."""
    path = "/v1/trust?from=%s&target=%s" % (ROOT, TARGET)
    t, c = (2, 32) if len(nodes) == 1 else (1, 32 // len(nodes))
    totals = []
    for _ in range(RUNS):
        ws = [subprocess.Popen(["wrk", "-t%d" % t, "-c%d" % c, "-d%ds" % SECS, "-H",
                                "Authorization: Bearer " + nd["token"], nd["url"] + path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE) for nd in nodes]
        total = 0.0
        for w in ws:
            out = w.communicate()[0].decode()
            m = re.search(r"Requests/sec:\s+([\d.]+)", out)
            bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
            if not m or bad:
                raise RuntimeError("wrk: %s" % out)
            total += float(m.group(1))
        totals.append(total)
    return statistics.median(totals), totals


def where(nodes):
    rows = []
    for nd in nodes:
        pid = nd["proc"].pid
        aff = subprocess.run(["taskset", "-p", str(pid)], stdout=subprocess.PIPE).stdout
        psr = subprocess.run(["ps", "-o", "psr=", "-p", str(pid)], stdout=subprocess.PIPE).stdout
        rows.append("%s pid %d: %s, last ran on cpu %s" % (
            nd["name"], pid, aff.decode().strip().split(": ")[-1].join(["affinity mask ", ""]),
            psr.decode().strip()))
    return rows


def pg_where():
    with open(os.path.join(PGDIR, "data", "postmaster.pid")) as f:
        pm = int(f.readline())
    aff = subprocess.run(["taskset", "-p", str(pm)], stdout=subprocess.PIPE).stdout.decode()
    ps = subprocess.run(["ps", "-o", "psr=", "--ppid", str(pm)], stdout=subprocess.PIPE)
    cpus = sorted(set(ps.stdout.decode().split()))
    return "postgres pid %d (and its backends): affinity mask %s, backends last on cpus %s" % (
        pm, aff.strip().split(": ")[-1], ",".join(cpus))


try:
    gen = os.path.join(T, "gen.ndjson")
    subprocess.run([GEN, "gen", str(N), gen, str(ISSUERS)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(gen, "rb") as f:
        lines = [l for l in f.read().split(b"\n") if l]
    first = json.loads(lines[0])
    ROOT, TARGET = first["iss"], first.get("target", first["iss"])
    iss = sorted(set(json.loads(l)["iss"] for l in lines))
    half = set(iss[:len(iss) // 2])
    g1 = [l for l in lines if json.loads(l)["iss"] in half]
    g2 = [l for l in lines if json.loads(l)["iss"] not in half]
    seed = os.path.join(T, "seed")
    with open(seed, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(seed, 0o600)
    print("machine: %d cores; %d statements from %d issuers; wrk %d x %d s per figure" % (
        os.cpu_count(), len(lines), len(iss), RUNS, SECS))
    results, placement = {}, []

    # (a) SQLite, one node on core 0
    ha = os.path.join(T, "sqlite")
    mesh(ha, "init", "--seed-file", seed)
    na = start(ha, 0, "sqlite")
    rate, acc = ingest([na], [lines])
    digest = json.loads(mesh(ha, "log", "head", "--json"))["digest"]
    wait_view(na, digest)
    results["a"] = (rate, acc) + wrk([na])
    placement += where([na])
    stop([na])

    # (b) PostgreSQL, one node on core 0
    psql("CREATE DATABASE b1")
    url = "postgresql://mesh@/b1?host=%s" % PGDIR
    hb = os.path.join(T, "pg1")
    mesh(hb, "init", "--seed-file", seed, "--store", url)
    nb = start(hb, 0, "pg-one")
    rate, acc = ingest([nb], [lines])
    digest = json.loads(mesh(hb, "log", "head", "--json"))["digest"]
    wait_view(nb, digest)
    results["b"] = (rate, acc) + wrk([nb])
    placement += where([nb])
    placement.append(pg_where())
    stop([nb])

    # (c) PostgreSQL, two nodes (one identity) on cores 0 and 1
    psql("CREATE DATABASE b2")
    url = "postgresql://mesh@/b2?host=%s" % PGDIR
    h1, h2 = os.path.join(T, "pg2a"), os.path.join(T, "pg2b")
    mesh(h1, "init", "--seed-file", seed, "--store", url)
    mesh(h2, "init", "--seed-file", seed, "--store", url)
    n1, n2 = start(h1, 0, "pg-two-a"), start(h2, 1, "pg-two-b")
    rate, acc = ingest([n1, n2], [g1 + g2, g2 + g1])
    digest = json.loads(mesh(h1, "log", "head", "--json"))["digest"]
    wait_view(n1, digest)
    wait_view(n2, digest)
    results["c"] = (rate, acc) + wrk([n1, n2])
    placement += where([n1, n2])
    placement.append(pg_where())
    stop([n1, n2])

    print()
    print("%-44s %12s %10s %14s  %s" % ("configuration", "ingest st/s", "accepted",
                                         "GET /v1/trust", "(runs)"))
    names = {"a": "(a) SQLite, 1 node on core 0",
             "b": "(b) PostgreSQL, 1 node on core 0",
             "c": "(c) PostgreSQL, 2 nodes on cores 0 and 1"}
    for k in "abc":
        rate, acc, rps, runs = results[k]
        print("%-44s %12.0f %10d %14.0f  %s" % (names[k], rate, acc, rps,
                                                 " ".join("%.0f" % x for x in runs)))
    ratio = results["c"][2] / results["b"][2]
    print("%-44s %12s %10s %14.2f  (goal >= 1.60)" % ("reads, two nodes / one node (PostgreSQL)",
                                                       "", "", ratio))
    print("%-44s %12s %10s %14.2f" % ("reads, PostgreSQL / SQLite (one node)", "", "",
                                       results["b"][2] / results["a"][2]))
    print()
    print("where the processes ran:")
    for p in placement:
        print("  " + p)
    print("  wrk: unpinned (one wrk -t2 -c32 on one node; two wrk -t1 -c16, one per node,"
          " at once)")
    print("  load at end: %s" % open("/proc/loadavg").read().strip())
finally:
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
    shutil.rmtree(T, ignore_errors=True)
