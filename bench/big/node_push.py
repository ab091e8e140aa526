#!/usr/bin/python3
"""Issue #22 item 2: a node holding a big web while statements are pushed to it.

A web of EDGES trust statements among ISSUERS generated identities
(bench_ingest gen; the home is issuer 0, so the whole web is within its
horizon) is imported into a home; a node serves it on 127.0.0.1. Then, in the
same run:
  idle    wrk on GET /v1/trust (1 thread, 4 connections each pausing 1 ms
          between requests, 10 s): p50/p99;
  push    RATE statements/s more of the same generator POSTed in batches of
          RATE/10 every 100 ms for SECONDS s, while wrk runs again: p50/p99;
          and per batch, the time from the POST's answer until GET /v1/trust
          from the issuer of the batch's last statement that takes effect to
          its new target answers hops 1 (follow latency);
  cpu     the node's CPU spent on views (mesh_view_cpu_seconds_total, the
          maintenance thread's own clock) over the push window, as a share of
          one core, and the renewals by kind (rebuilt / patched / renewed).
Goals (issue #22): view CPU <= 10% of a core, p99 under push <= 1.5x idle,
every batch followed within 1 s.
usage: node_push.py MESH BENCH_INGEST [EDGES] [RATE] [SECONDS]
environment: PUSH_CACHE=DIR keeps the generated web and imported home for
the next run; PUSH_PERF=FILE records `perf record -g` of the node during the
push."""
import hashlib
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

mesh, gen = sys.argv[1], sys.argv[2]
EDGES = int(sys.argv[3]) if len(sys.argv) > 3 else 500000
RATE = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
SECONDS = int(sys.argv[5]) if len(sys.argv) > 5 else 30
ISSUERS = max(100, EDGES // 50)
T = tempfile.mkdtemp(prefix="mt-bench-push-")
home = os.path.join(T, "home")
env = dict(os.environ, MESH_HOME=home)
procs = []


def run(args, **kw):
    return subprocess.run([mesh] + args, env=env, check=True, stdout=subprocess.PIPE, **kw)


def prom(url, tok):
    rq = urllib.request.Request(url + "/metrics", headers={"Authorization": "Bearer " + tok})
    text = urllib.request.urlopen(rq, timeout=30).read().decode()
    out = {}
    for m in re.finditer(r"^(mesh_view_\w+|mesh_statements)(\{kind=\"(\w+)\"\})? (\S+)$", text,
                         re.M):
        out[m.group(3) or m.group(1)] = float(m.group(4))
    return out


def wrk(url, tok, target, seconds):
    # paced: each connection waits 1 ms between requests, so the load does
    # not saturate the two cores by itself and the latency is the node's
    lua = os.path.join(T, "pace.lua")
    with open(lua, "w") as f:
        f.write("function delay()\n  return 1\nend\n")
    r = subprocess.run(["wrk", "-t1", "-c4", "-d%ds" % seconds, "--latency", "-s", lua, "-H",
                        "Authorization: Bearer " + tok, url + "/v1/trust?target=" + target],
                       stdout=subprocess.PIPE, check=True)
    text = r.stdout.decode()

    def ms(v):
        n, u = re.match(r"([\d.]+)(\w+)", v).groups()
        return float(n) * {"us": 1e-3, "ms": 1, "s": 1e3}[u]
    p50 = ms(re.search(r"^\s*50%\s+(\S+)", text, re.M).group(1))
    p99 = ms(re.search(r"^\s*99%\s+(\S+)", text, re.M).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    return p50, p99, rps


try:
    total = EDGES + RATE * SECONDS
    path = os.path.join(T, "gen.ndjson")
    # PUSH_CACHE=DIR keeps the generated statements and the imported home
    # there for the next run with the same sizes (a 500k import takes minutes)
    cache = os.environ.get("PUSH_CACHE")
    tag = "%d-%d-%d" % (EDGES, total, ISSUERS)
    if cache and os.path.isdir(os.path.join(cache, tag, "home")):
        shutil.copytree(os.path.join(cache, tag, "home"), home)
        shutil.copy(os.path.join(cache, tag, "gen.ndjson"), path)
    else:
        seed = os.path.join(T, "seed")
        with open(seed, "w") as f:
            f.write(hashlib.blake2b(b"\0" * 8, digest_size=32).hexdigest() + "\n")
        run(["init", "--seed-file", seed])
        print("generating %d statements from %d issuers…" % (total, ISSUERS), file=sys.stderr)
        subprocess.run([gen, "gen", str(total), path, str(ISSUERS)], check=True,
                       stderr=subprocess.DEVNULL)
        with open(path, "rb") as f:
            web = f.read().split(b"\n")[:EDGES]
        with open(os.path.join(T, "web.ndjson"), "wb") as f:
            f.write(b"\n".join(web) + b"\n")
        print("importing the web…", file=sys.stderr)
        run(["log", "import", os.path.join(T, "web.ndjson")])
        if cache:
            os.makedirs(os.path.join(cache, tag), exist_ok=True)
            shutil.copytree(home, os.path.join(cache, tag, "home"))
            shutil.copy(path, os.path.join(cache, tag, "gen.ndjson"))
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")[:total]
    web, later = lines[:EDGES], lines[EDGES:]
    run(["config", "set", "node.maxStatementsPerIssuerPerDay", "100000000"])
    out = open(os.path.join(T, "node.out"), "w")
    err = open(os.path.join(T, "node.err"), "w")
    extra = ["--threads", os.environ["PUSH_THREADS"]] if os.environ.get("PUSH_THREADS") else []
    node = subprocess.Popen([mesh, "node", "start", "--listen", "127.0.0.1:0", "--sync-interval",
                             "0", "--log-level", "warn"] + extra, env=env, stdout=out, stderr=err)
    procs.append(node)
    url = None
    for _ in range(600):
        time.sleep(0.1)
        m = re.search(r"listening on (http://[^/]*)/", open(os.path.join(T, "node.out")).read())
        if m:
            url = m.group(1)
            break
    if not url:
        sys.exit("the node did not start: " + open(os.path.join(T, "node.err")).read()[-500:])
    tok = open(os.path.join(home, "api.cookie")).read().strip()
    target = json.loads(web[0])["target"]
    time.sleep(1)

    idle = wrk(url, tok, target, 10)

    batches = [later[i:i + RATE // 10] for i in range(0, len(later), RATE // 10)]
    # per batch, the last statement that takes effect with it (a statement
    # waits for the seqs of its feed before it)
    have, top, probes = {}, {}, {}
    for bi, b in enumerate([web] + batches):
        for l in b:
            j = json.loads(l)
            have.setdefault(j["iss"], set()).add(j["seq"])
            t = top.get(j["iss"], 0)
            while t + 1 in have[j["iss"]]:
                t += 1
            if t > top.get(j["iss"], 0) and bi > 0 and j["seq"] <= t:
                probes[bi - 1] = (j["iss"], j["target"], j.get("scope", "global"))
            top[j["iss"]] = t
    follow, refused, work = [], [], []
    stop = threading.Event()
    ready = threading.Event()

    def pusher():
        t_next = time.monotonic()
        for bi, b in enumerate(batches):
            if stop.is_set():
                return
            body = b"\n".join(b) + b"\n"
            rq = urllib.request.Request(url + "/v1/statements", data=body, method="POST",
                                        headers={"Authorization": "Bearer " + tok,
                                                 "Content-Type": "application/x-ndjson"})
            ans = urllib.request.urlopen(rq, timeout=60).read().decode().split("\n")
            refused.extend(a for a in ans if a and a not in ("accepted", "duplicate"))
            work.append((bi, time.monotonic()))
            ready.set()
            t_next += 0.1
            time.sleep(max(0.0, t_next - time.monotonic()))

    def prober():
        # apart from the pusher, so that the rate holds whatever the follow
        # latency: each batch's probe, in order
        done = 0
        while done < len(batches):
            if done >= len(work):
                ready.wait(0.05)
                ready.clear()
                if stop.is_set() and done >= len(work):
                    return
                continue
            bi, t_ack = work[done]
            done += 1
            # followed: the new edge of the batch's last statement that takes
            # effect now (its feed has every seq before it) answers hops 1
            probe = probes.get(bi)
            if probe:
                q = "%s/v1/trust?from=%s&target=%s&scope=%s" % (url, *probe)
                rq = urllib.request.Request(q, headers={"Authorization": "Bearer " + tok})
                while time.monotonic() - t_ack < 5:
                    j = json.loads(urllib.request.urlopen(rq, timeout=30).read())
                    if j.get("hops") == 1:
                        follow.append(time.monotonic() - t_ack)
                        break
                    time.sleep(0.005)
                else:
                    follow.append(float("inf"))
                    if os.environ.get("PUSH_DEBUG"):
                        print("not followed: batch %d probe %s answer %s" % (bi, probe, j),
                              file=sys.stderr)
                        r = subprocess.run([mesh, "trust", "list", "--from", probe[0], "--depth",
                                            "1", "--json"], env=env, stdout=subprocess.PIPE)
                        print("store says: %s" % (probe[1] in r.stdout.decode()), file=sys.stderr)


    before = prom(url, tok)
    t0 = time.monotonic()
    th = threading.Thread(target=pusher)
    tp = threading.Thread(target=prober)
    th.start()
    tp.start()
    perf = None
    if os.environ.get("PUSH_PERF"):
        perf = subprocess.Popen(["perf", "record"] + (["--call-graph", "dwarf", "-F", "200"] if os.environ.get("PUSH_DWARF") else ["-g"]) + ["-o", os.environ["PUSH_PERF"], "-p",
                                 str(node.pid)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    busy = wrk(url, tok, target, max(5, SECONDS - 2))
    th.join()
    t1 = time.monotonic()
    if perf:
        perf.send_signal(2)
        perf.wait(timeout=60)
    after = prom(url, tok)
    stop.set()
    ready.set()
    tp.join()

    cpu = after["mesh_view_cpu_seconds_total"] - before["mesh_view_cpu_seconds_total"]
    kinds = {k: int(after.get(k, 0) - before.get(k, 0)) for k in ("rebuilt", "patched", "renewed")}
    share = cpu / (t1 - t0)
    fin = [f for f in follow if f != float("inf")]
    print("node under push: %d-edge web (%d identities), %d statements/s for %.1f s, "
          "%d pushed, %d refused" % (EDGES, ISSUERS, RATE, t1 - t0, len(later), len(refused)))
    print("%-46s %10s %10s %10s" % ("", "p50 ms", "p99 ms", "req/s"))
    print("%-46s %10.2f %10.2f %10.0f" % ("GET /v1/trust idle (wrk 1t/4c paced, 10 s)", *idle))
    print("%-46s %10.2f %10.2f %10.0f" % ("GET /v1/trust under push", *busy))
    print("%-46s %10.2f   (goal <= 1.5)" % ("p99 under push / idle", busy[1] / idle[1]))
    print("%-46s %9.1f%%   (goal <= 10%%; %.2f s CPU)" % ("view CPU, share of one core", 100 * share,
                                                         cpu))
    print("%-46s %s" % ("views made", " ".join("%s %d" % kv for kv in kinds.items())))
    print("%-46s median %.0f ms, max %.0f ms, %d/%d within 1 s (goal: all)" % (
        "follow latency (POST answered -> hops 1)", 1000 * statistics.median(fin) if fin else -1,
        1000 * max(follow) if follow else -1, sum(1 for f in follow if f <= 1), len(follow)))
    if refused:
        print("refused (first 3): %s" % refused[:3])
finally:
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
    shutil.rmtree(T, ignore_errors=True)
